"""What the process keeps of the memory it frees: glibc's allocator set for the work at hand.

Two opposite needs, one allocator. **Batch work keeps what it frees**
(:func:`retain_freed_memory`, applied by the CLI's entry point from ``retain_memory_mb``):
glibc gives large freed blocks back to the kernel at once, so the next batch's arrays fault in
again, one 4 KiB page at a time; on the 2-core VMs measured that was ~6,000 faults and 12-16 %
of grouping 200,000 reports (BENCHMARKS.md). Keeping blocks up to ``limit_mb`` in the heap and
never trimming it trades resident memory, which stays at the high-water mark of the largest
batch, for that time.

**A check over a month gives back between its stages** (:func:`give_back`), since its peak, not
its page faults, is what bounds the store it can check. glibc's ``malloc`` keeps what a program
frees for its next allocations, and returns to the system only the top of its heap: a freed
block under one still in use stays resident. A check's stages free hundreds of MB so placed
(the read's pages of record text and columns; fusion's working arrays: glibc raises its
threshold for ``mmap`` to the largest block freed, up to 32 MB, so a month's columns of 7 MB
each come from the heap), and the next stage allocates mostly elsewhere (Python's own arenas),
so the process keeps both. :func:`give_back` returns the heap's free pages between stages
(mapping large blocks apart as well was measured and dropped: every large array then faulted
its pages in anew). Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

# mallopt(3) parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
#: glibc refuses an mmap threshold above half its largest heap (32 MiB on 64-bit).
_MMAP_MAX_MB = 32


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


def retain_freed_memory(limit_mb: int) -> bool:
    """Keep freed blocks of up to ``limit_mb`` MiB (at most 32) in the process and never trim
    the heap; 0 leaves the allocator alone. Returns whether the allocator took the settings
    (False off glibc, e.g. on macOS or musl)."""
    libc = _libc()
    if limit_mb <= 0 or libc is None:
        return False
    mb = min(int(limit_mb), _MMAP_MAX_MB)
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, mb << 20)
                and libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)
                and libc.mallopt(_M_TOP_PAD, mb << 20))


@contextmanager
def collecting() -> Iterator[None]:
    """The cyclic collector on inside the block, whatever the caller set, and off again
    after it if it was off: fusion makes reference cycles that hold its working arrays, and a
    check run without the collector (the CLI's ``check``) kept them to its end, raising its
    peak (907k store: +28 and +59 MiB, BENCHMARKS.md session 17). What is alive on entry is
    settled first (``gc.freeze``: freed by reference counting as before, only not walked
    again), so the block's passes walk what the block makes."""
    was = gc.isenabled()
    gc.freeze()
    gc.enable()
    try:
        yield
    finally:
        if not was:
            gc.disable()
