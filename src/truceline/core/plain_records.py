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
from typing import Any

__all__ = ["plain"]

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
    if is_dataclass(obj) and not isinstance(obj, type):
        out = {}
        for name in _field_names(t):
            v = getattr(obj, name)
            out[name] = v if type(v) in atomic else plain(v)
        return out
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a named tuple
        return t(*[plain(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return t(plain(v) for v in obj)
    if isinstance(obj, dict):
        return t((plain(k), plain(v)) for k, v in obj.items())
    return copy.deepcopy(obj)


#: Each dataclass's field names, in order (``fields`` rebuilds that tuple on every call).
_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(t: type) -> tuple[str, ...]:
    names = _NAMES.get(t)
    if names is None:
        names = _NAMES[t] = tuple(f.name for f in fields(t))
    return names
