"""Composing a YAML layout: the node tree with marks, or an ``InputError`` at the YAML problem's line.

libyaml composes with a resolver that resolves only ``null`` (numbers are read from the node text by
``yaml_values``); the pure-Python loader has the last word on any failure, so the messages are the
same with or without libyaml. Split out of ``yaml_load`` (which reads the tree into a Layout).
"""

from __future__ import annotations

import yaml
from yaml.nodes import Node, ScalarNode, SequenceNode

from gmemtui.core.errors import InputError
from gmemtui.formats.yaml_values import NULL_TAG

# PyYAML's own pattern for an implicit null: empty, ``~``, ``null``, ``Null``, ``NULL``
_NULL_RE = next(rx for tag, rx in yaml.resolver.Resolver.yaml_implicit_resolvers["~"] if tag == NULL_TAG)
# ... which matches exactly these plain scalars (tests/test_yaml_fast.py): a set lookup, not a regex
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_STR_TAG = "tag:yaml.org,2002:str"


class _NullOnly:
    """Resolve only ``null``: every other plain scalar stays a ``str`` node.

    Numbers are parsed from the node's text here (``parse_int_text``), so the int/float/bool/date
    regexes that YAML 1.1 runs on every scalar would be wasted work; only ``null`` (``key:``, ``~``)
    changes what a value means. There are no path resolvers in the safe loaders to honour. libyaml
    calls this once per node (476k times at 32,763 slots): a set lookup and constants keep it cheap.
    """

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            return NULL_TAG if value in _NULLS and implicit[0] else _STR_TAG
        if kind is SequenceNode:
            return self.DEFAULT_SEQUENCE_TAG
        return self.DEFAULT_MAPPING_TAG

    # The composer calls these around every node (607k times in a 32,763-slot block file) to track
    # path resolvers, which the safe loaders have none of: doing nothing saves ~5 % of compose.
    def descend_resolver(self, current_node: Node | None, current_index: object) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass


class _SafeLoader(_NullOnly, yaml.SafeLoader):
    pass


_C_LOADER = getattr(yaml, "CSafeLoader", None)  # libyaml: same nodes and lines, ~4 times faster
_FAST_LOADER = type("_CSafeLoader", (_NullOnly, _C_LOADER), {}) if _C_LOADER is not None else None


def compose(text: str, path: str) -> Node | None:
    """The YAML node tree (with marks), or an InputError at the line of the YAML problem.

    libyaml composes when present; on any failure the pure-Python loader has the last word, so the
    messages (and what is accepted) are the same with or without libyaml.
    """
    if _FAST_LOADER is not None:
        try:
            return yaml.compose(text, Loader=_FAST_LOADER)
        except Exception:  # noqa: BLE001 - judged again below
            pass
    try:
        return yaml.compose(text, Loader=_SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = " ".join(str(x) for x in (e.context, e.problem) if x)
        raise InputError(f"not YAML: {' '.join(what.split())}", path, line) from None
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, max(e.position, 0)) + 1
        raise InputError(f"not YAML: unacceptable character #x{e.character:04x}", path, line) from None
    except yaml.YAMLError as e:
        raise InputError(f"not YAML: {' '.join(str(e).split())}", path, 1) from None
    except RecursionError:
        raise InputError("not YAML this program reads: nested too deeply", path, 1) from None
