"""layout_yaml.compose resolves only null, exactly where PyYAML's SafeLoader resolves null."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gmemtui.formats import yaml_compose as layout_yaml
from gmemtui.formats.yaml_load import compose
from gmemtui.formats.yaml_values import NULL_TAG, is_null

_words = st.sampled_from(
    ["", "~", "null", "Null", "NULL", "nUll", "nul", "0x10", "1", "true", "no", "2G", "a b"]
)
_values = st.one_of(_words, _words.map(lambda w: f'"{w}"'), _words.map(lambda w: f"'{w}'"),
                    _words.map(lambda w: f"!!str {w}"))


def _nodes(node):
    yield node
    if isinstance(node.value, list):
        for item in node.value:
            yield from (_nodes(item) if not isinstance(item, tuple) else (n for x in item for n in _nodes(x)))


@settings(max_examples=100, deadline=None)
@given(st.lists(_values, min_size=1, max_size=6), st.booleans())
def test_null_exactly_where_pyyaml_says(values: list[str], flow: bool) -> None:
    if flow:
        text = "v: [" + ", ".join(v if v else "~" for v in values) + "]\n"
    else:
        text = "v:\n" + "".join(f"  - {v}\n" for v in values)
    ours = list(_nodes(compose(text, "t.yaml")))
    theirs = list(_nodes(yaml.compose(text, Loader=yaml.SafeLoader)))
    assert [(n.value if not isinstance(n.value, list) else None, n.start_mark.line) for n in ours] == [
        (n.value if not isinstance(n.value, list) else None, n.start_mark.line) for n in theirs
    ]
    assert [is_null(n) for n in ours] == [n.tag == NULL_TAG for n in theirs]


def test_c_and_python_loaders_agree() -> None:
    text = "a: ~\nb:\nc: [null, 0x10, 'null', !!str NULL]\nd: {e: 2G}\n"
    python = list(_nodes(yaml.compose(text, Loader=layout_yaml._SafeLoader)))
    if layout_yaml._FAST_LOADER is not None:
        c = list(_nodes(yaml.compose(text, Loader=layout_yaml._FAST_LOADER)))
        assert [(n.tag, n.start_mark.line) for n in c] == [(n.tag, n.start_mark.line) for n in python]
    assert [n.tag == NULL_TAG for n in python].count(True) == 3
