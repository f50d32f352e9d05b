"""The lock around numba's parallel regions, below every module of fusion that enters one.

:data:`PARALLEL` is held around every parallel kernel call: numba's fallback threading layer
(workqueue, used where neither OpenMP nor TBB is installed) aborts the process when two threads
enter parallel code at once, as two requests to a server could.
"""

from __future__ import annotations

import threading

__all__ = ["PARALLEL"]

#: Held around every parallel kernel call (reentrant: a kernel may call another).
PARALLEL = threading.RLock()
