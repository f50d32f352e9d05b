"""Process settings for one-shot commands: keep a command's long-lived objects out of the
cyclic collector's passes (the allocator's settings are :mod:`truceline.services.memory`'s).

The cyclic collector walks every tracked object each time it collects the oldest generation,
and once more as the interpreter exits. A command that imports the whole report stack, builds
a report and then draws a map holds ~170,000 such objects that live to its end: the walks
were ~0.25 s while it ran and ~0.3 s at exit (a 57k store's daily report, 2026-12-03), for
garbage that is not there. :func:`settle` moves what is alive into the permanent generation
(``gc.freeze``), so later passes look only at what is new; :func:`skip_exit_collection` does
the same as the interpreter exits (atexit handlers still run, files and streams are flushed
and closed as usual; only objects in reference cycles are left to the OS, whose finalizers
Python never promises at exit). For one-shot commands only: a long-running server would keep
whatever it froze.

Freezing what is alive does not stop the walks over what a command makes next: a one-day
report of the 907k store reads ~26,000 observations and ~14,000 incidents and findings, whose
objects set off the collector ~1,000 times (6 full passes), 0.45 s of a 4.5 s report for no
garbage (everything made is freed by reference counting or read to the end; the peak memory
was the same without them, 307 / 310 MB). :func:`paused_collection` runs such a command
without the cyclic collector and gives it back after.
"""

from __future__ import annotations

import atexit
import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_collection", "settle", "skip_exit_collection"]

def settle() -> None:
    """Leave every object alive now out of the cyclic collector's later passes (a one-shot
    command's imports and inputs, which live to its end)."""
    gc.freeze()


@contextmanager
def paused_collection() -> Iterator[None]:
    """No cyclic collection inside the block (a one-shot command's work, whose objects are
    freed by reference counting or live to its end); after it, what is alive is settled
    (:func:`settle`: else the first pass would walk all of it) and the collector is as it
    was."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        settle()
        if was:
            gc.enable()


def skip_exit_collection() -> None:
    """Skip the collector's last walk over every object as the interpreter exits (call once
    the command's output is written and its store closed)."""
    atexit.register(gc.freeze)
