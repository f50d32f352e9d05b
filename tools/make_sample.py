"""Make the shipped March 2025 sample observations (src/truceline/examples/march2025_sample.jsonl).

Positions are placed at stated distances from the real 1 April 2025 front line, on the stated
party's side (checked against the DeepStateMap area of control), so that each sample has a known
answer. Run from the repository root: ``python tools/make_sample.py``. Deterministic.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import Point, shape

ROOT = Path(__file__).resolve().parents[1]
GEOM = ROOT / "src/truceline/examples/geometry"
OUT = ROOT / "src/truceline/examples/march2025_sample.jsonl"
FWD = Transformer.from_crs(4326, 32637, always_xy=True)
INV = Transformer.from_crs(32637, 4326, always_xy=True)
GEOD = Geod(ellps="WGS84")

line_ll = shape(
    json.loads((GEOM / "frontline_20250401.geojson").read_text())["features"][0]["geometry"]
)
occupied = shape(
    json.loads((GEOM / "occupied_20250402.geojson").read_text())["features"][0]["geometry"]
)
ukraine = shape(
    json.loads((GEOM / "ukraine_outline.geojson").read_text())["features"][0]["geometry"]
)
line = shapely.transform(line_ll, lambda c: np.column_stack(FWD.transform(c[:, 0], c[:, 1])))


def place(km_along: float, side: str, km_off: float) -> tuple[float, float]:
    """A point km_off from the line (perpendicular near km_along), on `side` ('RU' or 'UA'),
    whose nearest point on the line is really at that distance (checked)."""
    for shift in [x * sgn for x in range(0, 40) for sgn in (1, -1)]:
        got = _place(km_along + shift, side, km_off)
        if got is not None:
            x, y = FWD.transform(*got)
            if abs(line.distance(Point(x, y)) - km_off * 1000) < 0.02 * km_off * 1000:
                return round(got[0], 6), round(got[1], 6)
    raise SystemExit(f"cannot place {km_along} {side} {km_off}")


def _place(km_along: float, side: str, km_off: float) -> tuple[float, float] | None:
    s = km_along * 1000.0
    p0, p1 = line.interpolate(s - 50), line.interpolate(s + 50)
    tx, ty = p1.x - p0.x, p1.y - p0.y
    n = np.hypot(tx, ty)
    nx, ny = -ty / n, tx / n
    base = line.interpolate(s)
    for sign in (1, -1):
        x, y = base.x + sign * nx * km_off * 1000, base.y + sign * ny * km_off * 1000
        lon, lat = INV.transform(x, y)
        pt = Point(lon, lat)
        is_ru = occupied.contains(pt) or not ukraine.contains(pt)
        if is_ru == (side == "RU"):
            return lon, lat
    return None


def observer_for(lon: float, lat: float, bearing: float, dist_m: float) -> tuple[float, float]:
    """The observer position from which the event is at `bearing` (true) and `dist_m`."""
    olon, olat, _ = GEOD.fwd(lon, lat, (bearing + 180.0) % 360.0, dist_m)
    return round(olon, 5), round(olat, 5)


rows: list[dict] = []


def add(**kw: object) -> None:
    kw.setdefault("source_type", "monitor")
    rows.append({k: v for k, v in kw.items() if v is not None})


# -- fire, reporting period 2025-03-27 19:30 -> 2025-03-28 19:30 (EET, +02:00) ----------------
for i, (km, off, wc, et, cnt) in enumerate(
    [
        (520, 9.0, "tube_artillery", "outgoing", 4),
        (540, 6.0, "mortar", "outgoing", 6),
        (610, 12.0, "mlrs", "outgoing", 1),
        (150, 7.5, "tube_artillery", "outgoing", 2),
    ]
):
    lon, lat = place(km, "RU", off)
    olon, olat = observer_for(lon, lat, 110.0 + 10 * i, 6000.0)
    add(
        id=f"m25-fire-ru-{i + 1}",
        kind="fire",
        time=f"2025-03-27T2{i}:15:00+02:00",
        source_id=f"smm-post-{i + 1}",
        observer_lon=olon,
        observer_lat=olat,
        bearing_deg=(110.0 + 10 * i) % 360,
        bearing_sd_deg=3.0,
        distance_min_m=4000,
        distance_max_m=8000,
        lon=lon,
        lat=lat,
        location_uncertainty_m=400,
        fire_type="explosion",
        explosion_type=et,
        weapon_class=wc,
        count=cnt,
    )
for i, (km, off) in enumerate([(525, 3.0), (545, 2.0), (612, 5.0)]):
    lon, lat = place(km, "UA", off)
    add(
        id=f"m25-impact-{i + 1}",
        kind="fire",
        time=f"2025-03-28T0{i + 1}:40:00+02:00",
        source_id=f"smm-patrol-{i + 1}",
        lon=lon,
        lat=lat,
        location_uncertainty_m=200,
        fire_type="explosion",
        explosion_type="impact",
        count=3,
    )
lon, lat = place(700, "UA", 5.0)
add(
    id="m25-flash-ua-1",
    kind="fire",
    time="2025-03-28T03:10:00+02:00",
    source_id="smm-camera-7",
    source_type="camera",
    lon=lon,
    lat=lat,
    location_uncertainty_m=500,
    fire_type="muzzle_flash",
    count=2,
)
lon, lat = place(420, "UA", 0.3)
add(
    id="m25-outgoing-near-line",
    kind="fire",
    time="2025-03-28T04:00:00+02:00",
    source_id="smm-post-9",
    lon=lon,
    lat=lat,
    location_uncertainty_m=800,
    fire_type="explosion",
    explosion_type="outgoing",
    count=1,
)
lon, lat = place(300, "UA", 4.0)
add(
    id="m25-bursts-heard",
    kind="fire",
    time="2025-03-28T05:30:00+02:00",
    source_id="smm-post-4",
    observer_lon=lon,
    observer_lat=lat,
    bearing_deg=95.0,
    distance_min_m=1000,
    distance_max_m=2000,
    fire_type="burst_or_shot",
    weapon_class="small_arms",
    count=12,
)
lon, lat = place(880, "UA", 6.0)
add(
    id="m25-flares",
    kind="fire",
    time="2025-03-28T01:00:00+02:00",
    source_id="smm-post-11",
    observer_lon=lon,
    observer_lat=lat,
    bearing_deg=170.0,
    distance_min_m=2000,
    distance_max_m=4000,
    fire_type="illumination_flare",
    count=3,
)
# -- quiet earlier day, 2025-03-21 -----------------------------------------------------------
lon, lat = place(560, "UA", 2.5)
add(
    id="m25-impact-0321",
    kind="fire",
    time="2025-03-21T09:00:00+02:00",
    source_id="smm-patrol-2",
    lon=lon,
    lat=lat,
    location_uncertainty_m=300,
    fire_type="explosion",
    explosion_type="undetermined",
    count=1,
)
# -- heavy weapons (pull-back: 30 km, deadline 2025-03-27 00:00) ------------------------------
for oid, t, side, km, off, system, wc, cal in [
    ("m25-sight-msta-ru", "2025-03-28T11:20:00+02:00", "RU", 530, 12.0, "2S19 Msta-S", None, None),
    ("m25-sight-d30-ua", "2025-03-28T12:05:00+02:00", "UA", 480, 22.0, "D-30", None, None),
    (
        "m25-sight-grad-ua-far",
        "2025-03-28T13:30:00+02:00",
        "UA",
        640,
        45.0,
        "BM-21 Grad",
        None,
        None,
    ),
    (
        "m25-sight-2a65-ru-31km",
        "2025-03-28T14:00:00+02:00",
        "RU",
        200,
        31.0,
        "2A65 Msta-B",
        None,
        None,
    ),
    (
        "m25-sight-before-deadline",
        "2025-03-22T10:00:00+02:00",
        "UA",
        350,
        10.0,
        None,
        "tube_artillery",
        152.0,
    ),
    ("m25-sight-mortar-ua", "2025-03-28T09:00:00+02:00", "UA", 360, 5.0, "2B11 Sani", None, None),
]:
    lon, lat = place(km, side, off)
    add(
        id=oid,
        kind="weapon_sighting",
        time=t,
        source_id="smm-patrol-5",
        lon=lon,
        lat=lat,
        location_uncertainty_m=50,
        system=system,
        weapon_class=wc,
        calibre_mm=cal,
        count=1,
    )
# -- presence ---------------------------------------------------------------------------------
lon, lat = 35.0462, 48.4647  # Dnipro city (Ukrainian-held)
add(
    id="m25-presence-foreign-ua",
    kind="presence",
    time="2025-03-28T10:00:00+02:00",
    source_id="smm-patrol-8",
    lon=lon,
    lat=lat,
    location_uncertainty_m=100,
    presence_category="troops",
    nationality="United Kingdom",
    unit_label="reassurance force",
    count=40,
)
add(
    id="m25-presence-ua-own",
    kind="presence",
    time="2025-03-28T10:30:00+02:00",
    source_id="smm-patrol-8",
    lon=35.06,
    lat=48.47,
    location_uncertainty_m=100,
    presence_category="troops",
    nationality="Ukraine",
    count=120,
)
# -- restrictions of the monitors -------------------------------------------------------------
lon, lat = place(500, "RU", 15.0)
add(
    id="m25-restr-checkpoint-ru",
    kind="restriction",
    time="2025-03-28T08:15:00+02:00",
    source_id="smm-patrol-3",
    observer_lon=lon,
    observer_lat=lat,
    restriction_type="checkpoint",
    description="Patrol denied passage at a checkpoint; told 'no passage without permission'",
)
lon, lat = place(580, "UA", 8.0)
add(
    id="m25-restr-jamming-ua",
    kind="restriction",
    time="2025-03-28T15:00:00+02:00",
    source_id="smm-uav-1",
    source_type="sensor",
    observer_lon=lon,
    observer_lat=lat,
    restriction_type="uav_jamming",
    description="Mid-range UAV experienced GPS jamming",
)
# -- civilian harm ----------------------------------------------------------------------------
lon, lat = place(545, "UA", 2.0)
add(
    id="m25-harm-1",
    kind="civilian_harm",
    time="2025-03-28T02:00:00+02:00",
    source_id="smm-patrol-1",
    lon=lon,
    lat=lat,
    location_uncertainty_m=200,
    killed=0,
    injured=2,
    description="Two civilians injured by shelling (impact m25-impact-2)",
)
OUT.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
print(f"wrote {len(rows)} observations to {OUT}")
