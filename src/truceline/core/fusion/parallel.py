"""The lock around numba's parallel regions, below every module of fusion that enters one, and
how numba's OpenMP threads wait between regions.

:data:`PARALLEL` is held around every parallel kernel call: numba's fallback threading layer
(workqueue, used where neither OpenMP nor TBB is installed) aborts the process when two threads
enter parallel code at once, as two requests to a server could.

numba's OpenMP layer (libgomp, loaded at the first parallel call, after this module) lets an
idle thread spin ~4 ms after each region on this machine (``GOMP_SPINCOUNT``'s default) before
it sleeps. Grouping's threads then spin on the cores its own other threads need: the sweep's
thread (:mod:`.report_pairs`) and each region's other worker. Measured on the bench's 200k
slice at a 1-minute load of 19 (2026-12-05, session 23): 282 ms of CPU a call with the default
against 187 ms sleeping (the OpenMP worker 67 against 14 ms, the caller 148 against 108 ms),
wall 756 against 494 ms. So fusion asks for ``OMP_WAIT_POLICY=PASSIVE`` unless the environment
already says otherwise; a region then wakes its sleeping worker (tens of microseconds, a few
regions a grouping call).
"""

from __future__ import annotations

import os
import threading

__all__ = ["PARALLEL"]

#: Held around every parallel kernel call (reentrant: a kernel may call another).
PARALLEL = threading.RLock()

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
