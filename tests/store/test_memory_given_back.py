"""Freed memory given back to the system between a check's stages
(:mod:`truceline.services.memory`)."""

from __future__ import annotations

import sys

import pytest

from truceline.services.memory import give_back


def _resident_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_freed_blocks_under_a_live_one_are_given_back() -> None:
    """200 MB of blocks freed below one still in use stay resident until given back."""
    give_back()
    blocks = [bytearray(100_000) for _ in range(2_000)]  # under the mmap threshold: heap
    for b in blocks:
        b[::4096] = b"\x01" * len(b[::4096])  # touched: resident
    top = bytearray(100_000)  # keeps the heap's top in use
    before = _resident_kb()
    del blocks
    kept = _resident_kb()
    assert give_back()
    after = _resident_kb()
    assert kept - after > 100_000 and before - kept < 100_000
    del top


def test_cycles_made_while_collecting_are_freed_inside_a_paused_command() -> None:
    """A command run without the cyclic collector (``check``) turns it on for fusion: a
    reference cycle holding an array made there is freed there, not kept to the end; what
    lived before is settled, and the collector is off again after the block."""
    import gc
    import weakref

    import numpy as np

    from truceline.services.memory import collecting

    class Holder:
        pass

    was = gc.isenabled()
    gc.disable()
    try:
        with collecting():
            assert gc.isenabled()
            h = Holder()
            h.self, h.data = h, np.ones(1_000)  # a cycle holding an array
            alive = weakref.ref(h)
            del h
            for _ in range(20):  # allocations: the collector's own passes, none called here
                junk = [[] for _ in range(1_000)]
            del junk
            assert alive() is None
        assert not gc.isenabled()
        h = Holder()
        h.self = h
        kept = weakref.ref(h)
        del h
        for _ in range(20):
            junk = [[] for _ in range(1_000)]
        del junk
        assert kept() is not None  # outside the block nothing collects it
    finally:
        gc.unfreeze()
        gc.collect()
        if was:
            gc.enable()
