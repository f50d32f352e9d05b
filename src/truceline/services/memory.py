"""What a check's stages free goes back to the operating system, not only to ``malloc``.

glibc's ``malloc`` keeps what a program frees for its next allocations, and returns to the
system only the top of its heap: a freed block under one still in use stays resident. A
check's stages free hundreds of MB so placed (the read's pages of record text and columns;
fusion's working arrays: glibc raises its threshold for ``mmap`` to the largest block freed,
up to 32 MB, so a month's columns of 7 MB each come from the heap), and the next stage
allocates mostly elsewhere (Python's own arenas), so the process keeps both. Blocks of
:data:`APART` or more are mapped apart (returned when freed), and :func:`give_back` returns
the heap's free pages between stages. Elsewhere than glibc both do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import cache
from typing import Any

#: Blocks this large or larger get their own mapping, returned to the system when freed
#: (glibc's ``M_MMAP_THRESHOLD``, fixed: no longer raised by what is freed).
APART = 1 << 20
_M_MMAP_THRESHOLD = -3


@cache
def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim, libc.mallopt  # noqa: B018 (glibc has both; musl neither)
    except (OSError, AttributeError):
        return None
    return libc


def give_back() -> bool:
    """Return the heap's free pages to the system; whether any were returned (False where
    the C library cannot)."""
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False


def large_blocks_apart() -> bool:
    """Map every block of :data:`APART` or more apart from the heap, for the rest of the
    process; whether the C library took it."""
    libc = _libc()
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, APART)) if libc is not None else False
