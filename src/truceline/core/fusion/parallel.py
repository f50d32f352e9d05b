"""The lock around numba's parallel regions and the threading layer they run on, below every
module of fusion that enters one.

:data:`PARALLEL` is held around every parallel kernel call: numba's workqueue threading layer
aborts the process when two threads enter parallel code at once, as two requests to a server
could.

The layer is numba's own workqueue, not OpenMP (unless ``NUMBA_THREADING_LAYER`` says
otherwise): one grouping call enters about 14 short parallel regions, and at each one's end
OpenMP's worker spins until the next. On a machine whose cores are busy with other processes
that spinning took a core's time slice from them and the region waited for a descheduled
worker: on the bench's 200k reports at load 16-18, two OpenMP threads took 2.2x the CPU of
one thread and 1.5-1.9x its wall time, where workqueue's two threads took the CPU of one and
ran faster than one (BENCHMARKS.md, session 17, branch hA). The groups are the same: the
layer runs the same chunks of each loop.
"""

from __future__ import annotations

import os
import threading

import numba

__all__ = ["PARALLEL"]

#: Held around every parallel kernel call (reentrant: a kernel may call another).
PARALLEL = threading.RLock()

if "NUMBA_THREADING_LAYER" not in os.environ:  # chosen by numba at the first parallel call
    numba.config.THREADING_LAYER = "workqueue"  # type: ignore[attr-defined]
