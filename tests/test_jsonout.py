"""jsonout.dumps_indented is json.dumps(indent=2) byte for byte (the C-encoder shortcut of --json)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import layouts

from gmemtui.commands.jsonout import dumps_indented
from gmemtui.commands.report_dict import report_dict

# strings with the characters that escaping must get right: quotes, backslashes, newlines,
# the separators and brackets the shortcut relies on, non-ASCII and surrogates
_text = st.text(alphabet=st.sampled_from('ab"\\\n\t{}[],: é€\U0001f600\ud800'), max_size=8)
_scalars = st.none() | st.booleans() | st.integers() | st.floats() | _text
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(_text, inner, max_size=4)
    | st.lists(st.dictionaries(_text, _scalars, min_size=1, max_size=3), max_size=3),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_same_bytes_as_json_dumps(obj: object) -> None:
    assert dumps_indented(obj) == json.dumps(obj, indent=2)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts())
def test_same_bytes_on_report_documents(layout) -> None:
    doc = report_dict(layout, "random.yaml")
    assert dumps_indented(doc) == json.dumps(doc, indent=2)


@pytest.mark.parametrize(
    "obj",
    [
        [],
        {},
        [{}],
        [{"a": 1}, {}],
        [{"a": 1}, {"b": "},\n    {"}],  # the separator the shortcut replaces, inside a string
        {1: [1.5, float("nan")], None: {"x": [True]}, 2.5: (1, 2), False: []},
        [{"a": [1]}, {"b": 2}],
    ],
)
def test_edge_cases(obj: object) -> None:
    assert dumps_indented(obj) == json.dumps(obj, indent=2)


def test_errors_as_json_dumps() -> None:
    for bad in ({(1, 2): 3}, [object()], {"a": {1j: 0}}):
        with pytest.raises(TypeError):
            json.dumps(bad, indent=2)
        with pytest.raises(TypeError):
            dumps_indented(bad)
