"""The simulated mission's record of its own assets: what coverage is derived from.

Every day each post, camera and acoustic sensor files a ``monitoring`` record "active over the
day" (with its position; a camera its facing, field of view and day range), each patrol one
for its stop and hours, and a camera that is down (``camera_down_prob``, or its post
restricted) a ``down`` record for the day; the day's truth item ``monitoring`` owns them.
Restrictions are filed by :mod:`truceline.simulation.planted`. So the coverage the checks use
comes from signed records in the store, as a real mission's would.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from truceline.simulation.records import ObsBatch, iso_ns, json_str
from truceline.simulation.world import CAMERA, DAY_NS, I64, PATROL, POST, SENSOR, Sources, World

_TYPE = {POST: ("monitor", "post"), PATROL: ("monitor", "patrol"),
         SENSOR: ("sensor", "acoustic_array"), CAMERA: ("camera", "camera")}
_ACTIVE = (',"kind":"monitoring","time":"%s","time_precision":"minute","source_id":%s,'
           '"source_type":"%s","observer_lon":%r,"observer_lat":%r,"count":1,'
           '"asset_type":"%s","asset_status":"%s","end_time":"%s"%s}\n')


def monitoring_records(scn: World, d: int, day_ns: int, src: Sources, act_a: I64,
                       act_b: I64, down: NDArray[np.bool_], batch: ObsBatch,
                       truth: list[dict[str, Any]]) -> None:
    """Add the day's ``monitoring`` records of ``src`` (``down``: cameras down all day), and
    one truth item that owns them and names the cameras that were down."""
    p = scn.p
    item = f"m-{scn.seed}-{d:03d}"
    truth.append({"type": "monitoring", "id": item, "day": d,
                  "cameras_down": [src.ids[i] for i in np.flatnonzero(down).tolist()],
                  "observation_ids": []})
    n = len(src.ids)
    t0 = np.maximum(act_a, day_ns)
    t1 = np.minimum(act_b, day_ns + DAY_NS)
    start, end = iso_ns(t0), iso_ns(t1)
    lon, lat = np.round(src.lon, 6).tolist(), np.round(src.lat, 6).tolist()
    cam_extra = (',"facing_deg":%r,"fov_deg":%r,"range_m":%r')
    rng_m = float(p.camera_range_km[0] * 1000.0)
    for role, (stype, atype) in _TYPE.items():
        rows = np.flatnonzero(src.role[:n] == role).tolist()
        bodies = []
        for i in rows:
            extra = ""
            if role == CAMERA:
                extra = cam_extra % (round(float(src.facing[i]) % 360.0, 2),
                                     float(p.camera_fov_deg), rng_m)
            bodies.append(_ACTIVE % (start[i], json_str(src.ids[i]), stype, lon[i], lat[i],
                                     atype, "down" if down[i] else "active", end[i], extra))
        batch.add("monitoring", stype, t0[rows], [src.ids[i] for i in rows], bodies,
                  [item] * len(rows))
