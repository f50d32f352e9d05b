"""A stored record's text read back by :func:`~truceline.adapters.store.schema.record_value`
(pydantic-core's parser) is what ``json.loads`` gives: the same values, the same key order
(reports and record entries depend on it), floats to the bit, and the standard library's
answer for a text the faster parser refuses."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.adapters.store.schema import json_text, record_value

leaves = (st.none() | st.booleans() | st.integers(-(2**80), 2**80)
          | st.floats(allow_nan=False) | st.text())
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=5)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=5), max_leaves=30)


def shape(v: Any) -> Any:
    """``v`` with its key order, types and float bits made visible to ``==``."""
    if isinstance(v, dict):
        return ("dict", [(k, shape(x)) for k, x in v.items()])
    if isinstance(v, list):
        return ("list", [shape(x) for x in v])
    if isinstance(v, float):
        return ("float", v.hex())
    return (type(v).__name__, v)


@settings(max_examples=300, deadline=None)
@given(values)
def test_a_stored_text_reads_back_as_json_loads_reads_it(value: Any) -> None:
    text = json_text(value)
    assert shape(record_value(text)) == shape(json.loads(text))


def test_key_order_is_the_texts_not_sorted() -> None:
    text = '{"b":1,"a":{"z":[1.5,-0.0],"y":null}}'
    assert list(record_value(text)) == ["b", "a"]
    assert list(record_value(text)["a"]) == ["z", "y"]
    assert math.copysign(1.0, record_value(text)["a"]["z"][1]) == -1.0


def test_a_text_the_fast_parser_refuses_gets_the_standard_answer() -> None:
    text = '{"s":"\\ud800"}'  # a lone surrogate's escape: json.loads reads it
    assert record_value(text) == json.loads(text) == {"s": "\ud800"}


def test_a_text_that_is_not_json_is_refused_as_json_loads_refuses_it() -> None:
    with pytest.raises(json.JSONDecodeError):
        record_value('{"a":')
