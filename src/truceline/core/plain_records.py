"""Dataclass values as plain records: what :func:`dataclasses.asdict` returns, made faster.

``asdict`` deep-copies every leaf through :func:`copy.deepcopy` and checks each value
against every container type; a check writes one record per incident and finding (hundreds of
thousands on a month's store), and that copying was most of writing them. :func:`plain` walks
the same containers the same way and returns immutable leaves as they are (``deepcopy`` returns
them unchanged too), so its records are equal to ``asdict``'s, key order included.
"""

from __future__ import annotations

import copy
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Any

__all__ = ["plain", "plain_view"]

_ATOMIC = frozenset({str, int, float, bool, type(None), bytes, complex})


def plain(obj: Any) -> Any:
    """``dataclasses.asdict(obj)`` for a dataclass instance; for any other value, the copy
    ``asdict`` would make of it as a field."""
    t = type(obj)
    if t in _ATOMIC:
        return obj
    atomic = _ATOMIC  # below, leaves are tested in place: most values are leaves
    if t is dict:
        return {k if type(k) in atomic else plain(k): v if type(v) in atomic else plain(v)
                for k, v in obj.items()}
    if t is list:
        return [v if type(v) in atomic else plain(v) for v in obj]
    if t is tuple:
        return tuple([v if type(v) in atomic else plain(v) for v in obj])
    names = _NAMES.get(t)  # a dataclass seen before: no is_dataclass per record
    if names is None and is_dataclass(obj) and not isinstance(obj, type):
        names = _field_names(t)
    if names is not None:
        out = {}
        for name in names:
            v = getattr(obj, name)
            out[name] = v if type(v) in atomic else plain(v)
        return out
    if t in _SELF_COPIES:  # an enum member: deepcopy returns it
        return obj
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a named tuple
        return t(*[plain(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return t(plain(v) for v in obj)
    if isinstance(obj, dict):
        return t((plain(k), plain(v)) for k, v in obj.items())
    out_copy = copy.deepcopy(obj)
    # read with a default: Debian 12's Python 3.11.2 has no ``Enum.__deepcopy__`` (3.11.7
    # has), and its EnumType raises AttributeError for the dunder
    if out_copy is obj and isinstance(obj, Enum) \
            and getattr(t, "__deepcopy__", None) is getattr(Enum, "__deepcopy__", None):
        _SELF_COPIES.add(t)
    return out_copy


def plain_view(obj: Any) -> dict[str, Any]:
    """:func:`plain` of a dataclass instance without its copies: each field as it is, a
    dataclass field (at any depth through dataclasses) as its own view, and every other
    container the instance's own object, not a copy. Equal to ``plain(obj)`` wherever those
    containers hold no dataclass, and encoded to the same JSON; only for reading at once
    (a check encodes a record per incident and finding, and copying them was a third of
    that): changing the view changes the instance."""
    out = {}
    atomic = _ATOMIC
    for name in _field_names(type(obj)):
        v = getattr(obj, name)
        t = type(v)
        if t in atomic or (t not in _NAMES and not (is_dataclass(v) and not isinstance(v, type))):
            out[name] = v
        else:
            out[name] = plain_view(v)
    return out


#: Enum types whose members ``deepcopy`` returns as they are (learnt from the first copy).
_SELF_COPIES: set[type] = set()

#: Each dataclass's field names, in order (``fields`` rebuilds that tuple on every call).
_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(t: type) -> tuple[str, ...]:
    names = _NAMES.get(t)
    if names is None:
        names = _NAMES[t] = tuple(f.name for f in fields(t))
    return names
