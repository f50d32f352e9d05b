"""Scenario simulator: what a monitoring mission would receive along a real line, with the truth.

Ground truth is drawn on the agreement's own geometry: firing events per sector and side (quiet
and hot sectors, escalation episodes, a daily rhythm), each with an origin behind one side's
part of the line and an impact across it; then the sources (observation posts, patrols,
acoustic sensor arrays, cameras) detect them through their error models
(:mod:`truceline.core.sources`). Provision evidence is planted for every rule kind the
agreement has (heavy weapons inside and beyond a withdrawal distance, foreign contingents,
restrictions of the monitors, declarations over and under a limit), and its truth is computed
from the geometry, not assumed.

Pure and streamed: :class:`Scenario` does the setup once and :meth:`Scenario.day` returns one
day's observation records (exactly what ``Observation.to_record()`` gives, built column-wise
because a pydantic round trip per record would cost ~30 us) and truth records, from a generator
seeded by ``(seed, day)``. Same seed, same records; days are independent partitions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

import numpy as np
from numpy.random import PCG64, Generator
from numpy.typing import NDArray

from truceline.core.agreements import (
    Agreement,
    CeasefireRule,
    LimitRule,
    MovementRule,
    PresenceRule,
    WithdrawalRule,
)
from truceline.core.classify import Classification, CompiledGeometry, classify
from truceline.core.geo import GEOD
from truceline.core.sources import (
    SimulationParams,
    camera_fields,
    detection_probability,
    monitor_fields,
    sensor_fields,
)
from truceline.core.taxonomy import SYSTEMS, RestrictionType, WeaponClass
from truceline.errors import ValidationError

__all__ = ["DayOutput", "Scenario", "SimulationParams"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
DAY_NS = 86_400 * 10**9
S_NS = 10**9
POST, PATROL, SENSOR, CAMERA = 0, 1, 2, 3
_PARTS = ("origin", "impact")


def iso_ns(ns: I64, unit: str = "s") -> list[str]:
    """RFC 3339 UTC strings as ``Observation.to_record()`` writes them (no zero fraction)."""
    t: Any = np.asarray(ns, "int64").astype("datetime64[ns]").astype(f"datetime64[{unit}]")
    s = np.datetime_as_string(t, unit=unit)  # type: ignore[call-overload]
    out = [v + "Z" for v in s.tolist()]
    if unit == "us":
        out = [v.replace(".000000Z", "Z") for v in out]
    return out


def _ns(t: datetime) -> int:
    return int(np.datetime64(t.astimezone(UTC).replace(tzinfo=None), "ns").astype("int64"))


def _r(a: Any, nd: int) -> list[Any]:
    return np.round(np.asarray(a, float), nd).tolist()


@dataclass(frozen=True)
class _Track:
    """A line as planar segments with chainage, to place points by (chainage, side, depth)."""

    ax: F64
    ay: F64
    dx: F64
    dy: F64
    start: F64
    total: float

    @classmethod
    def build(cls, geom: CompiledGeometry, line: str) -> _Track:
        ax, ay, bx, by = [], [], [], []
        for part in geom.lines[line].parts_lonlat:
            x, y = geom.projection.forward(part[:, 0], part[:, 1])
            ax.append(x[:-1])
            ay.append(y[:-1])
            bx.append(x[1:])
            by.append(y[1:])
        a_x, a_y = np.concatenate(ax), np.concatenate(ay)
        dx, dy = np.concatenate(bx) - a_x, np.concatenate(by) - a_y
        length = np.hypot(dx, dy)
        start = np.concatenate([[0.0], np.cumsum(length)[:-1]])
        return cls(a_x, a_y, dx, dy, start, float(length.sum()))

    def point(self, s: F64) -> tuple[F64, F64]:
        s = np.clip(s, 0.0, self.total)
        i = np.clip(np.searchsorted(self.start, s, side="right") - 1, 0, len(self.start) - 1)
        seg = np.hypot(self.dx[i], self.dy[i])
        t = np.divide(s - self.start[i], seg, out=np.zeros_like(s), where=seg > 0)
        t = np.clip(t, 0.0, 1.0)
        return self.ax[i] + t * self.dx[i], self.ay[i] + t * self.dy[i]

    def offset(self, s: F64, left_m: F64) -> tuple[F64, F64]:
        """The point ``left_m`` metres left of the line at chainage ``s`` (negative: right),
        along a normal smoothed over 10 km so that wiggles of the line do not flip it."""
        x, y = self.point(s)
        x1, y1 = self.point(s - 5_000.0)
        x2, y2 = self.point(s + 5_000.0)
        tx, ty = x2 - x1, y2 - y1
        n = np.maximum(np.hypot(tx, ty), 1e-9)
        return x - ty / n * left_m, y + tx / n * left_m


@dataclass
class DayOutput:
    """One day of a scenario: observation records (to_record form) and truth records."""

    day: int
    observations: list[dict[str, Any]]
    truth: list[dict[str, Any]]


@dataclass
class _Sources:
    ids: list[str]
    role: NDArray[np.int8]
    party: NDArray[np.int16]
    x: F64
    y: F64
    lon: F64
    lat: F64
    facing: F64  # cameras: azimuth of the view's centre (deg)
    clock_s: F64  # per-source clock offset
    post_of: NDArray[np.int64]  # cameras: the post they stand at (-1 otherwise)


class Scenario:
    """Set up once (layout, sectors, escalation, planted evidence), then produce day by day.

    Parameters
    ----------
    agreement : the agreement (with geography for fire; without, only declarations).
    geometry : ``compile_geometry(geometry_spec(agreement), agreement.thresholds_km())``.
    days, seed, scale : length, seed, and a multiplier of the fire rate.
    start : first day's start (aware); default the agreement's entry into force.
    """

    def __init__(self, agreement: Agreement, geometry: CompiledGeometry | None, *, days: int,
                 seed: int, scale: float = 1.0, params: SimulationParams | None = None,
                 start: datetime | None = None) -> None:
        if days < 1:
            raise ValidationError("must be at least 1", field="days")
        if not scale > 0:
            raise ValidationError("must be positive", field="scale")
        self.agreement, self.geom, self.days, self.seed, self.scale = (
            agreement, geometry, days, seed, scale)
        self.p = params or SimulationParams()
        self.parties = [p.id for p in agreement.parties]
        t0 = (start or agreement.entry_into_force_at).astimezone(UTC)
        self.start = t0
        self.start_ns = int(np.datetime64(t0.replace(tzinfo=None), "ns").astype("int64"))
        self.rng = Generator(PCG64(seed))
        self.weapons = self.p.weapons
        self.tracks: dict[str, _Track] = {}
        self.sectors: list[tuple[str, float, float]] = []
        self.escalation = np.ones((days, 0))
        self.heat = np.ones(0)
        self.planted: dict[int, list[tuple[str, Any, int, int]]] = {}
        if geometry is not None:
            assert agreement.geography is not None
            self.loc = agreement.geography.line_of_contact
            cl = geometry.lines[self.loc]
            if cl.left_party < 0 or cl.right_party < 0:
                raise ValidationError("needs a line of contact whose two sides are held by two "
                                      "parties (from the areas of control)",
                                      field="geography.areas_of_control")
            self.side_sign = {cl.left_party: 1.0, cl.right_party: -1.0}
            self.side_parties = (cl.left_party, cl.right_party)
            self._setup_sectors()
            self.sources = self._layout()
        self._plan_planted()

    # -- setup ---------------------------------------------------------------------------------
    def track(self, line: str) -> _Track:
        if line not in self.tracks:
            assert self.geom is not None
            self.tracks[line] = _Track.build(self.geom, line)
        return self.tracks[line]

    def _setup_sectors(self) -> None:
        total = self.track(self.loc).total
        assert self.agreement.geography is not None
        secs = [(s.id, s.from_km * 1e3, min(s.to_km * 1e3, total))
                for s in self.agreement.geography.sectors if s.line == self.loc]
        secs = [s for s in secs if s[2] > s[1]]
        if not secs:
            step = self.p.sector_km * 1e3
            edges = np.arange(0.0, total, step)
            secs = [(f"km{a / 1e3:.0f}", a, min(a + step, total)) for a in edges]
        self.sectors = secs
        n = len(secs)
        heat = np.ones(n)
        order = self.rng.permutation(n)
        nq = round(n * self.p.quiet_share)
        nh = round(n * self.p.hot_share)
        heat[order[:nq]] = self.p.quiet_factor
        heat[order[nq:nq + nh]] = self.p.hot_factor
        self.heat = heat
        esc = np.ones((self.days, n))
        self.episodes: list[dict[str, Any]] = []
        for k in range(n):
            d = 0
            while d < self.days:
                if self.rng.random() < self.p.escalation_start_prob:
                    length = int(self.rng.integers(self.p.escalation_days[0],
                                                   self.p.escalation_days[1] + 1))
                    f = float(self.rng.uniform(*self.p.escalation_factor))
                    esc[d:d + length, k] = f
                    self.episodes.append({"type": "escalation", "sector": secs[k][0],
                                          "first_day": d, "days": length, "factor": round(f, 3)})
                    d += length
                else:
                    d += 1
        self.escalation = esc

    def _classify(self, x: F64, y: F64, t_ns: I64) -> tuple[F64, F64, Classification]:
        assert self.geom is not None
        lon, lat = self.geom.projection.inverse(x, y)
        t = np.asarray(t_ns, "int64").astype("datetime64[ns]")
        return lon, lat, classify(self.geom, lon, lat, t)

    def _place(self, rng: Generator, line: str, s: F64, depth_km: tuple[float, float] | F64,
               party: NDArray[Any], t_ns: I64, tries: int = 8
               ) -> tuple[F64, F64, F64, F64, NDArray[np.bool_], Classification]:
        """Points ``depth`` behind ``line`` on ``party``'s side, redrawn until they lie in the
        area of interest and in that party's area of control (truth comes from classify)."""
        n = len(s)
        tr = self.track(line)
        fixed = not isinstance(depth_km, tuple)
        x = np.zeros(n)
        y = np.zeros(n)
        ok = np.zeros(n, bool)
        todo = np.arange(n)
        cl = self.geom.lines[line]  # type: ignore[union-attr]
        sign = np.where(np.asarray(party) == cl.left_party, 1.0, -1.0)
        ss = np.asarray(s, float).copy()
        for attempt in range(tries):
            m = len(todo)
            if fixed:
                d = np.asarray(depth_km, float)[todo] * (1.0 + 0.05 * attempt * rng.random(m))
            else:
                lo, hi = depth_km
                d = rng.uniform(lo, hi, m)
            if attempt:
                ss[todo] = np.clip(ss[todo] + rng.normal(0.0, 3_000.0, m), 0.0, tr.total)
            x[todo], y[todo] = tr.offset(ss[todo], sign[todo] * d * 1e3)
            _, _, c = self._classify(x[todo], y[todo], t_ns[todo])
            good = c.in_aoi & (c.control == party[todo])
            ok[todo[good]] = True
            todo = todo[~good]
            if not len(todo):
                break
        lon, lat, cls = self._classify(x, y, t_ns)
        return x, y, lon, lat, ok & cls.in_aoi & (cls.control == party), cls

    def _layout(self) -> _Sources:
        """Posts every ~``post_spacing_km`` on both sides, cameras at every n-th post, sensor
        arrays every ``sensor_array_spacing_km``; all inside their side's area of control."""
        p, rng = self.p, self.rng
        total = self.track(self.loc).total
        t = np.full(1, self.start_ns, "int64")
        ids: list[str] = []
        cols: dict[str, list[Any]] = {k: [] for k in ("role", "party", "x", "y", "lon", "lat",
                                                      "facing", "post")}

        def add(role: int, prefix: str, party: int, x: F64, y: F64, lon: F64, lat: F64,
                ok: NDArray[np.bool_], facing: F64 | None = None,
                post: I64 | None = None) -> None:
            tag = self.parties[party].lower()
            for i in np.flatnonzero(ok):
                ids.append(f"{prefix}-{tag}-{len(ids):04d}")
                for k, v in (("role", role), ("party", party), ("x", x[i]), ("y", y[i]),
                             ("lon", lon[i]), ("lat", lat[i]),
                             ("facing", 0.0 if facing is None else facing[i]),
                             ("post", -1 if post is None else post[i])):
                    cols[k].append(v)

        for party in self.side_parties:
            n = max(1, int(total // (p.post_spacing_km * 1e3)))
            s = (np.arange(n) + 0.5 + rng.uniform(-0.25, 0.25, n)) * total / n
            x, y, lon, lat, ok, _ = self._place(rng, self.loc, s, p.post_depth_km,
                                                np.full(n, party), np.repeat(t, n))
            first = len(ids)
            add(POST, "op", party, x, y, lon, lat, ok)
            post_ix = np.arange(first, len(ids))
            cam = post_ix[:: max(1, p.camera_every_nth_post)]
            if len(cam):  # face the line: the bearing to the nearest point of it
                cx, cy = np.asarray(cols["x"])[cam], np.asarray(cols["y"])[cam]
                clon, clat = np.asarray(cols["lon"])[cam], np.asarray(cols["lat"])[cam]
                tr = self.track(self.loc)
                _, _, c = self._classify(cx, cy, np.repeat(t, len(cam)))
                lx, ly = tr.point(c.chainage_m[self.loc])
                llon, llat = self.geom.projection.inverse(lx, ly)  # type: ignore[union-attr]
                az = np.asarray(GEOD.inv(clon, clat, llon, llat)[0]) % 360.0
                add(CAMERA, "cam", party, cx, cy, clon, clat, np.ones(len(cam), bool), az,
                    cam.astype(np.int64))
            na = max(1, int(total // (p.sensor_array_spacing_km * 1e3)))
            s = (np.arange(na) + 0.5) * total / na
            x, y, lon, lat, ok, _ = self._place(rng, self.loc, s, np.full(na, p.sensor_depth_km),
                                                np.full(na, party), np.repeat(t, na))
            k = p.sensor_array_size
            ang = np.concatenate([[0.0], np.arange(k - 1) * 2 * np.pi / max(k - 1, 1)])
            rad = np.concatenate([[0.0], np.full(k - 1, p.sensor_array_radius_km * 1e3)])
            for i in np.flatnonzero(ok):
                sx = x[i] + rad * np.cos(ang)
                sy = y[i] + rad * np.sin(ang)
                slon, slat, c = self._classify(sx, sy, np.repeat(t, k))
                add(SENSOR, f"ac{i:03d}", party, sx, sy, slon, slat,
                    c.in_aoi & (c.control == party))
        n = len(ids)
        return _Sources(
            ids, np.array(cols["role"], np.int8), np.array(cols["party"], np.int16),
            np.array(cols["x"]), np.array(cols["y"]), np.array(cols["lon"]),
            np.array(cols["lat"]), np.array(cols["facing"]),
            rng.normal(0.0, self.p.clock_sd_s, n), np.array(cols["post"], np.int64))

    def setup_truth(self) -> list[dict[str, Any]]:
        """Truth records that hold for the whole run: sources, sectors, escalation episodes."""
        out: list[dict[str, Any]] = []
        if self.geom is None:
            return out
        roles = {POST: "post", SENSOR: "sensor", CAMERA: "camera"}
        s = self.sources
        for i, sid in enumerate(s.ids):
            rec: dict[str, Any] = {"type": "source", "id": sid, "role": roles[int(s.role[i])],
                                   "party_side": self.parties[int(s.party[i])],
                                   "lon": round(float(s.lon[i]), 6),
                                   "lat": round(float(s.lat[i]), 6),
                                   "clock_offset_s": round(float(s.clock_s[i]), 3)}
            if s.role[i] == CAMERA:
                rec["facing_deg"] = round(float(s.facing[i]), 2)
            out.append(rec)
        for (sid, a, b), h in zip(self.sectors, self.heat, strict=True):
            out.append({"type": "sector", "id": sid, "from_km": round(a / 1e3, 3),
                        "to_km": round(b / 1e3, 3), "heat": float(h),
                        "events_per_day": round(self._rate(b - a) * float(h), 3)})
        out.extend(self.episodes)
        return out

    def _rate(self, length_m: float) -> float:
        return self.p.events_per_100km_day * self.scale * length_m / 100_000.0

    # -- planted provision evidence --------------------------------------------------------------
    def _plan_planted(self) -> None:
        """Which day each planted item falls on: uniformly over the days the provision is in
        force within the run (none if it is never in force during the run)."""
        a, rng = self.agreement, self.rng
        end_ns = self.start_ns + self.days * DAY_NS
        for prov in a.provisions:
            r = prov.rule
            w0, w1 = a.window(prov)
            lo = max(self.start_ns, _ns(w0))
            hi = min(end_ns, _ns(w1) if w1 is not None else end_ns)
            items: list[tuple[str, int]] = []
            if isinstance(r, WithdrawalRule) and self.geom is not None:
                for party in prov.obligated:
                    pi = self.parties.index(party)
                    items += [("withdrawal_in", pi)] * self.p.withdrawal_violations
                    items += [("withdrawal_out", pi)] * self.p.withdrawal_compliant
            elif isinstance(r, PresenceRule) and self.geom is not None:
                items += [("presence_foreign", 0)] * self.p.presence_violations
                items += [("presence_allowed", 0)] * self.p.presence_compliant
                items += [("presence_unknown", 0)] * self.p.presence_unknown
            elif isinstance(r, LimitRule):
                for k, party in enumerate(prov.obligated):
                    pi = self.parties.index(party)
                    kind = "limit_over" if k == 0 else "limit_under"
                    items += [(kind, pi)] * self.p.limit_declarations
                if hi <= lo:  # a data exchange on the limit's first day still counts
                    lo, hi = _ns(w0), _ns(w0) + DAY_NS
            if hi <= lo:
                continue
            for kind, pi in items:
                t = int(rng.integers(lo, hi))
                day = max(0, min(self.days - 1, (t - self.start_ns) // DAY_NS))
                self.planted.setdefault(int(day), []).append((kind, prov, pi, t))

    # -- one day ---------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[DayOutput]:
        for d in range(self.days):
            yield self.day(d)

    def local_hours(self, day_ns: int) -> NDArray[np.int64]:
        """Local hour of each of the 24 UTC hour slots of the day starting at ``day_ns``."""
        base = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=day_ns // 1000)
        tz = self.agreement.tz
        return np.array([(base + timedelta(hours=h)).astimezone(tz).hour for h in range(24)])

    def day(self, d: int) -> DayOutput:
        """Everything of day ``d``, from its own generator, so any day can be made alone."""
        rng = Generator(PCG64([self.seed, d + 1]))
        day_ns = self.start_ns + d * DAY_NS
        rows: list[tuple[int, str, dict[str, Any], tuple[str, int, str, bool] | None]] = []
        truth: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        if self.geom is not None:
            src, act_a, act_b, restricted = self._day_sources(rng, d, day_ns, rows, truth)
            events = self._fire(rng, d, day_ns, src, act_a, act_b, restricted, rows)
        for kind, prov, pi, t in self.planted.get(d, []):
            self._plant(rng, d, kind, prov, pi, t, rows, truth)
        rows.sort(key=itemgetter(0, 1))
        ids = [f"s{self.seed}-{d:03d}-{i:06d}" for i in range(len(rows))]
        by_item: dict[str, dict[str, Any]] = {r["id"]: r for r in (*events, *truth)}
        for oid, (_, _, rec, link) in zip(ids, rows, strict=True):
            rec["id"] = oid
            if link is None:
                continue
            item, _, part, wild = link
            tr = by_item[item]
            if tr["type"] == "event":
                tr["reports"][part].append(oid)
                if wild:
                    tr.setdefault("wild", []).append(oid)
            else:
                tr["observation_ids"].append(oid)
        return DayOutput(d, [r[2] for r in rows], events + truth)

    # -- sources of the day: posts, cameras, sensors, patrols, and restrictions -------------------
    def _day_sources(self, rng: Generator, d: int, day_ns: int, rows: list[Any],
                     truth: list[dict[str, Any]]) -> tuple[_Sources, I64, I64, NDArray[np.bool_]]:
        p, base = self.p, self.sources
        hours = self.local_hours(day_ns)
        total = self.track(self.loc).total
        ids, role, party = list(base.ids), [*base.role], [*base.party]
        xs, ys, lons, lats = [*base.x], [*base.y], [*base.lon], [*base.lat]
        n0 = len(ids)
        hit = np.flatnonzero(hours == p.patrol_hours[0])
        p0 = day_ns + int(hit[0] if len(hit) else p.patrol_hours[0]) * 3600 * S_NS
        p1 = p0 + (p.patrol_hours[1] - p.patrol_hours[0]) * 3600 * S_NS
        for side in self.side_parties:
            n = max(1, round(p.patrols_per_100km_side * total / 100_000.0))
            s = rng.uniform(0.0, total, n)
            x, y, lon, lat, ok, _ = self._place(rng, self.loc, s, p.patrol_depth_km,
                                                np.full(n, side), np.full(n, p0, "int64"))
            for i in np.flatnonzero(ok):
                ids.append(f"patrol-{self.parties[side].lower()}-{d:03d}-{i:02d}")
                role.append(PATROL)
                party.append(side)
                xs.append(x[i])
                ys.append(y[i])
                lons.append(lon[i])
                lats.append(lat[i])
        m = len(ids)
        role_a = np.array(role, np.int8)
        act_a = np.full(m, np.iinfo(np.int64).min, np.int64)
        act_b = np.full(m, np.iinfo(np.int64).max, np.int64)
        act_a[n0:], act_b[n0:] = p0, p1
        u = rng.random(m)
        restricted = ((role_a == POST) & (u < p.restriction_prob_post)) | (
            (role_a == PATROL) & (u < p.restriction_prob_patrol))
        cams = np.flatnonzero(role_a == CAMERA)
        restricted[cams] = restricted[base.post_of[cams]]
        src = _Sources(ids, role_a, np.array(party, np.int16), np.array(xs), np.array(ys),
                       np.array(lons), np.array(lats),
                       np.concatenate([base.facing, np.zeros(m - n0)]),
                       np.concatenate([base.clock_s, rng.normal(0, p.clock_sd_s, m - n0)]),
                       np.concatenate([base.post_of, np.full(m - n0, -1)]))
        for i in np.flatnonzero(restricted & (role_a != CAMERA)):
            t = int(act_a[i] if role_a[i] == PATROL else day_ns + 7 * 3600 * S_NS)
            t += int(rng.integers(0, 3600)) * S_NS
            self._restriction(rng, d, src, int(i), t, rows, truth)
        return src, act_a, act_b, restricted

    def _restriction(self, rng: Generator, d: int, src: _Sources, i: int, t: int,
                     rows: list[Any], truth: list[dict[str, Any]]) -> None:
        allowed: set[RestrictionType] = set(RestrictionType)
        for prov in self.agreement.provisions:
            if isinstance(prov.rule, MovementRule) and prov.rule.restriction_types:
                allowed &= set(prov.rule.restriction_types)
        choices = sorted(allowed or set(RestrictionType))
        weights = np.array([{"checkpoint": 5, "denial_of_access": 3}.get(c.value, 1)
                            for c in choices], float)
        rtype = choices[int(rng.choice(len(choices), p=weights / weights.sum()))]
        lon, lat, c = float(src.lon[i]), float(src.lat[i]), None
        _, _, c = self._classify(src.x[i:i + 1], src.y[i:i + 1], np.array([t]))
        ctl = int(c.control[0])
        who = self.parties[ctl] if ctl >= 0 else None
        what = "patrol" if src.role[i] == PATROL else "observation post"
        item = f"p-{self.seed}-{d:03d}-r{i:04d}"
        violates = [prov.id for prov in self.agreement.provisions
                    if isinstance(prov.rule, MovementRule) and who in prov.obligated
                    and self._in_window(prov, t)
                    and (not prov.rule.restriction_types or rtype in prov.rule.restriction_types)]
        truth.append({"type": "planted", "id": item, "kind": "freedom_of_movement",
                      "intent": "restriction", "party": who,
                      "time": iso_ns(np.array([t]))[0], "lon": round(lon, 6), "lat": round(lat, 6),
                      "source_id": src.ids[i], "restriction_type": rtype.value,
                      "coverage_lost": f"{what} {src.ids[i]} for the day",
                      "violates": violates, "observation_ids": []})
        rec = {"id": "", "kind": "restriction", "time": iso_ns(np.array([t - t % (60 * S_NS)]))[0],
               "time_precision": "minute", "source_id": src.ids[i], "source_type": "monitor",
               "observer_lon": round(lon, 6), "observer_lat": round(lat, 6),
               "count": 1, "restriction_type": rtype.value,
               "description": f"{what} stopped ({rtype.value.replace('_', ' ')})"}
        rows.append((t, src.ids[i], rec, (item, 0, "", False)))

    def _in_window(self, prov: Any, t_ns: int) -> bool:
        w0, w1 = self.agreement.window(prov)
        return _ns(w0) <= t_ns and (w1 is None or t_ns < _ns(w1))

    # -- fire ----------------------------------------------------------------------------------
    def _fire(self, rng: Generator, d: int, day_ns: int, src: _Sources, act_a: I64, act_b: I64,
              restricted: NDArray[np.bool_], rows: list[Any]) -> list[dict[str, Any]]:
        p, W = self.p, self.weapons
        a = np.array([x[1] for x in self.sectors])
        b = np.array([x[2] for x in self.sectors])
        lam = np.array([self._rate(hi - lo) for lo, hi in zip(a, b, strict=True)])
        nk = rng.poisson(lam * self.heat * self.escalation[d])
        sec = np.repeat(np.arange(len(nk)), nk)
        n = len(sec)
        if n == 0:
            return []
        s = rng.uniform(a[sec], b[sec])
        p0, p1 = self.side_parties
        side = np.where(rng.random(n) < 0.5, p0, p1)
        other = np.where(side == p0, p1, p0)
        shares = np.array([w.share for w in W])
        wpn = rng.choice(len(W), n, p=shares / shares.sum())
        hours = self.local_hours(day_ns)
        rate = np.asarray(p.hourly_rhythm)[hours]
        slot = rng.choice(24, n, p=rate / rate.sum())
        t = day_ns + slot * 3600 * S_NS + rng.integers(0, 3600 * S_NS, n)
        col = lambda f: np.array([f(w) for w in W])[wpn]  # noqa: E731
        depth = rng.uniform(col(lambda w: w.origin_depth_km[0]),
                            col(lambda w: w.origin_depth_km[1]))
        rounds = 1 + rng.poisson(col(lambda w: w.rounds_mean - 1.0))
        system = [W[k].systems[j % len(W[k].systems)]
                  for k, j in zip(wpn, rng.integers(0, 1 << 30, n), strict=True)]
        reach = col(lambda w: w.max_range_km)
        tlo = col(lambda w: w.target_depth_km[0])
        thi = np.maximum(np.minimum(col(lambda w: w.target_depth_km[1]), reach - depth), tlo)
        tdepth = rng.uniform(tlo, thi)
        s_imp = s + rng.normal(0.0, 2_000.0, n)
        ox, oy, olon, olat, ook, ocls = self._place(rng, self.loc, s, depth, side, t)
        ix, iy, ilon, ilat, iok, _ = self._place(rng, self.loc, s_imp, tdepth, other, t)
        dist = np.hypot(ix - ox, iy - oy)
        ok = ook & iok & (dist <= reach * 1e3)
        order = np.flatnonzero(ok)[np.argsort(t[ok], kind="stable")]
        n = len(order)
        if n == 0:
            return []
        sec, side, wpn, t, rounds, dist = (v[order] for v in (sec, side, wpn, t, rounds, dist))
        ox, oy, olon, olat, ix, iy, ilon, ilat = (
            v[order] for v in (ox, oy, olon, olat, ix, iy, ilon, ilat))
        system = [system[i] for i in order]
        speed = np.array([w.flight_speed_ms for w in W])[wpn]
        t_imp = t + (dist / speed * 1e9).astype(np.int64)
        airburst = np.isin(wpn, [i for i, w in enumerate(W) if w.weapon_class in (
            WeaponClass.MORTAR, WeaponClass.TUBE_ARTILLERY)]) & (rng.random(n) < p.airburst_share)
        eids = [f"e-{self.seed}-{d:03d}-{i:05d}" for i in range(n)]
        violates = self._ceasefire_truth(t, side, ocls, order)
        # emissions: origins (outgoing, flash) then impacts
        ex, ey = np.concatenate([ox, ix]), np.concatenate([oy, iy])
        elon, elat = np.concatenate([olon, ilon]), np.concatenate([olat, ilat])
        et = np.concatenate([t, t_imp])
        epart = np.repeat(np.array([0, 1], np.int8), n)
        ev = np.concatenate([np.arange(n), np.arange(n)])
        lh = hours[np.clip((et - day_ns) // (3600 * S_NS), 0, 23)]
        night = (lh >= p.night_hours[0]) | (lh < p.night_hours[1])
        temp = self._temperature(rng, lh)
        wind_u, wind_v = (float(v) for v in rng.normal(0.0, p.wind_sd_ms, 2))
        reach_e = np.zeros(2 * n, bool)
        reach_all = np.zeros(2 * n, bool)
        hits_e, hits_s = [], []
        for c0 in range(0, 2 * n, 2048):
            sl = slice(c0, min(2 * n, c0 + 2048))
            P = self._probabilities(ex[sl], ey[sl], night[sl], wpn[ev[sl]], epart[sl], src)
            A = (et[sl, None] >= act_a[None, :]) & (et[sl, None] < act_b[None, :])
            reach_all[sl] = ((P > 0) & A).any(1)
            A &= ~restricted[None, :]
            reach_e[sl] = ((P > 0) & A).any(1)
            ei, sj = np.nonzero(rng.random(P.shape) < P * A)
            hits_e.append(ei + c0)
            hits_s.append(sj)
        ei, sj = np.concatenate(hits_e), np.concatenate(hits_s)
        az, _, gd = GEOD.inv(src.lon[sj], src.lat[sj], elon[ei], elat[ei])
        az, gd = np.asarray(az) % 360.0, np.asarray(gd)
        role = src.role[sj]
        olon_r, olat_r = np.round(src.lon[sj], 6), np.round(src.lat[sj], 6)
        m = np.flatnonzero((role == POST) | (role == PATROL))
        if len(m):
            e = ev[ei[m]]
            f = monitor_fields(rng, p, gd[m], az[m], et[ei[m]], night[ei[m]], epart[ei[m]],
                               airburst[e], wpn[e], rounds[e], src.clock_s[sj[m]])
            for tn, tx, sid, ox_, oy_, br, sd, d0, d1, et_, cnt, wc, ev_, pt, wild in zip(
                    f["time_ns"].tolist(), iso_ns(f["time_ns"]), self._ids(src, sj[m]),
                    olon_r[m].tolist(), olat_r[m].tolist(), f["bearing"].tolist(),
                    f["sd"].tolist(), f["dmin"].tolist(), f["dmax"].tolist(),
                    f["etype"].tolist(), f["count"].tolist(), f["weapon"].tolist(),
                    e.tolist(), epart[ei[m]].tolist(), f["wild"].tolist(), strict=True):
                rec = {"id": "", "kind": "fire", "time": tx, "time_precision": "minute",
                       "source_id": sid, "source_type": "monitor", "observer_lon": ox_,
                       "observer_lat": oy_, "bearing_deg": br, "bearing_sd_deg": sd,
                       "distance_min_m": d0, "distance_max_m": d1, "fire_type": "explosion",
                       "explosion_type": et_, "count": cnt}
                if wc:
                    rec["weapon_class"] = wc
                rows.append((tn, sid, rec, (eids[ev_], 0, _PARTS[pt], wild)))
        m = np.flatnonzero(role == SENSOR)
        if len(m):
            e = ev[ei[m]]
            f = sensor_fields(rng, p, gd[m], az[m], et[ei[m]], temp[ei[m]], wind_u, wind_v)
            for an, tx, ax_, sid, ox_, oy_, tc, wu, wv, ev_, pt in zip(
                    f["arrival_ns"].tolist(), iso_ns(f["time_ns"]), iso_ns(f["arrival_ns"], "us"),
                    self._ids(src, sj[m]), olon_r[m].tolist(), olat_r[m].tolist(),
                    f["temp"].tolist(), f["wu"].tolist(), f["wv"].tolist(), e.tolist(),
                    epart[ei[m]].tolist(), strict=True):
                rec = {"id": "", "kind": "fire", "time": tx, "time_precision": "second",
                       "source_id": sid, "source_type": "sensor", "observer_lon": ox_,
                       "observer_lat": oy_, "fire_type": "explosion",
                       "explosion_type": "undetermined", "count": 1, "arrival_time": ax_,
                       "temperature_c": tc, "wind_u_ms": wu, "wind_v_ms": wv}
                rows.append((an, sid, rec, (eids[ev_], 0, _PARTS[pt], False)))
        m = np.flatnonzero(role == CAMERA)
        if len(m):
            e = ev[ei[m]]
            f = camera_fields(rng, p, az[m], et[ei[m]], rounds[e])
            sd = p.camera_bearing_sd_deg
            for tn, tx, sid, ox_, oy_, br, cnt, ev_ in zip(
                    f["time_ns"].tolist(), iso_ns(f["time_ns"]), self._ids(src, sj[m]),
                    olon_r[m].tolist(), olat_r[m].tolist(), f["bearing"].tolist(),
                    f["count"].tolist(), e.tolist(), strict=True):
                rec = {"id": "", "kind": "fire", "time": tx, "time_precision": "second",
                       "source_id": sid, "source_type": "camera", "observer_lon": ox_,
                       "observer_lat": oy_, "bearing_deg": br, "bearing_sd_deg": sd,
                       "fire_type": "muzzle_flash", "count": cnt}
                rows.append((tn, sid, rec, (eids[ev_], 0, "origin", False)))
        sys_cal = {x.name: x.calibre_mm for x in SYSTEMS}
        t_iso, ti_iso = iso_ns(t, "ms"), iso_ns(t_imp, "ms")
        o_lon, o_lat, i_lon, i_lat = _r(olon, 6), _r(olat, 6), _r(ilon, 6), _r(ilat, 6)
        odist = _r(ocls.dist_m[self.loc][order], 1)
        obs_o, obs_i = reach_e[:n] | reach_e[n:], reach_all[:n] | reach_all[n:]
        return [{"type": "event", "id": eids[i], "time": t_iso[i],
                 "party": self.parties[int(side[i])], "weapon_class": W[wpn[i]].weapon_class.value,
                 "system": system[i], "calibre_mm": sys_cal.get(system[i]),
                 "rounds": int(rounds[i]), "sector": self.sectors[int(sec[i])][0],
                 "origin": {"lon": o_lon[i], "lat": o_lat[i], "dist_to_line_m": odist[i]},
                 "impact": {"lon": i_lon[i], "lat": i_lat[i], "time": ti_iso[i]},
                 "airburst": bool(airburst[i]), "observable": bool(obs_o[i]),
                 "observable_without_restrictions": bool(obs_i[i]),
                 "violates": violates[i], "reports": {"origin": [], "impact": []}}
                for i in range(n)]

    @staticmethod
    def _ids(src: _Sources, idx: I64) -> list[str]:
        return [src.ids[i] for i in idx.tolist()]

    def _probabilities(self, ex: F64, ey: F64, night: NDArray[np.bool_], wpn: I64,
                       part: NDArray[np.int8], src: _Sources) -> F64:
        """Detection probability of each emission by each source (before activity)."""
        p, W = self.p, self.weapons
        D = np.hypot(ex[:, None] - src.x[None, :], ey[:, None] - src.y[None, :])
        P = np.zeros_like(D)
        ni = night.astype(np.intp)
        mon = (src.role == POST) | (src.role == PATROL)
        aud = np.array([w.audible_km for w in W])[wpn, ni] * 1e3
        P[:, mon] = detection_probability(D[:, mon], aud[:, None], p.detect_prob)
        sen = src.role == SENSOR
        rs = np.array([w.sensor_km for w in W])[wpn] * 1e3
        P[:, sen] = detection_probability(D[:, sen], rs[:, None], p.sensor_detect_prob)
        cam = src.role == CAMERA
        if cam.any():
            rc = np.asarray(p.camera_range_km)[ni] * 1e3
            pc = np.asarray(p.camera_detect_prob)[ni]
            az = np.degrees(np.arctan2(ex[:, None] - src.x[None, cam],
                                       ey[:, None] - src.y[None, cam]))
            off = np.abs((az - src.facing[None, cam] + 180.0) % 360.0 - 180.0)
            fov = (off <= p.camera_fov_deg / 2) & (part == 0)[:, None]
            P[:, cam] = detection_probability(D[:, cam], rc[:, None], pc[:, None]) * fov
        return P

    def _temperature(self, rng: Generator, local_hour: NDArray[np.int64]) -> F64:
        p = self.p
        mean = p.temperature_mean_c + rng.normal(0.0, p.temperature_daily_sd_c)
        return np.asarray(mean + p.temperature_diurnal_c
                          * np.cos(2 * np.pi * (local_hour - 15) / 24.0), float)

    def _ceasefire_truth(self, t: I64, side: NDArray[Any], ocls: Classification,
                         order: I64) -> list[list[str]]:
        out: list[list[str]] = [[] for _ in range(len(t))]
        for prov in self.agreement.provisions:
            r = prov.rule
            if not isinstance(r, CeasefireRule):
                continue
            if r.fire_types and not {"explosion", "muzzle_flash"} & {f.value for f in r.fire_types}:
                continue
            w0, w1 = self.agreement.window(prov)
            m = (t >= _ns(w0)) & (t < (_ns(w1) if w1 is not None else np.iinfo(np.int64).max))
            m &= np.isin(side, [self.parties.index(x) for x in prov.obligated])
            if r.zone is not None:
                m &= ocls.zone[r.zone][order]
            for i in np.flatnonzero(m):
                out[i].append(prov.id)
        return out

    # -- planted provision evidence ---------------------------------------------------------------
    def _plant(self, rng: Generator, d: int, kind: str, prov: Any, pi: int, t: int,
               rows: list[Any],
               truth: list[dict[str, Any]]) -> None:
        item = f"p-{self.seed}-{d:03d}-x{len(truth):04d}"
        base: dict[str, Any] = {"type": "planted", "id": item, "kind": prov.rule.kind,
                                "planted_for": prov.id, "intent": kind,
                                "time": iso_ns(np.array([t]))[0]}
        tmin = iso_ns(np.array([t - t % (60 * S_NS)]))[0]
        if kind.startswith("limit"):
            r: LimitRule = prov.rule
            over = kind == "limit_over"
            f = rng.uniform(1.02, 1.15) if over else rng.uniform(0.85, 1.0)
            q = float(round(r.limit * f))
            day = datetime.fromtimestamp(t / 1e9, UTC).astimezone(self.agreement.tz).date()
            party = self.parties[pi]
            violates = [x.id for x in self.agreement.provisions if isinstance(x.rule, LimitRule)
                        and x.rule.category == r.category and party in x.obligated
                        and q > x.rule.limit and self._in_window(x, t)]
            truth.append({**base, "party": party, "category": r.category, "quantity": q,
                          "as_of": day.isoformat(), "violates": violates, "observation_ids": []})
            rec = {"id": "", "kind": "declaration", "time": tmin, "time_precision": "minute",
                   "source_id": f"party-{party.lower()}", "source_type": "party", "count": 1,
                   "party": party, "category": r.category, "quantity": q,
                   "as_of": day.isoformat()}
            rows.append((t, rec["source_id"], rec, (item, 0, "", False)))
            return
        tt = np.array([t], np.int64)
        if kind.startswith("withdrawal"):
            r2: WithdrawalRule = prov.rule
            wsys = [x for x in SYSTEMS if r2.weapons.matches(x.weapon_class, x.calibre_mm, x.name)]
            if not wsys:
                return
            ws = wsys[int(rng.integers(len(wsys)))]
            line = self.loc if r2.measured_from == "line_of_contact" \
                else self.agreement.reference_line(self.parties[pi])
            far = max(x.rule.within_km for x in self.agreement.provisions
                      if isinstance(x.rule, WithdrawalRule)
                      and x.rule.weapons.matches(ws.weapon_class, ws.calibre_mm, ws.name))
            lo = min(1.0, r2.within_km * 0.3)
            where = None
            for _ in range(10):  # the line bends: keep the spot only if its distance is as meant
                depth = rng.uniform(lo, max(lo + 0.1, r2.within_km - 2.0)) \
                    if kind == "withdrawal_in" else far + rng.uniform(3.0, 15.0)
                where = self._spot(rng, line, np.array([depth]), pi, tt)
                if where is not None:
                    dd = float(where[4].dist_m[line][0])
                    if (dd <= r2.within_km * 1e3 - 500.0) if kind == "withdrawal_in" \
                            else (dd >= far * 1e3 + 1000.0):
                        break
                    where = None
            if where is None:
                return
            x, y, lon, lat, c = where
            party = self.parties[pi]
            violates = []
            for x2 in self.agreement.provisions:
                r3 = x2.rule
                if not (isinstance(r3, WithdrawalRule) and party in x2.obligated
                        and self._in_window(x2, t)
                        and r3.weapons.matches(ws.weapon_class, ws.calibre_mm, ws.name)):
                    continue
                dd = c.dist_to_ref_m[party][0] if r3.measured_from == "reference_line" \
                    else c.dist_m[self.loc][0]
                if dd <= r3.within_km * 1e3:
                    violates.append(x2.id)
            count = int(rng.integers(1, 5))
            truth.append({**base, "party": party, "lon": lon, "lat": lat, "system": ws.name,
                          "weapon_class": ws.weapon_class.value, "calibre_mm": ws.calibre_mm,
                          "count": count,
                          "dist_to_line_m": round(float(c.dist_to_ref_m[party][0]), 1),
                          "violates": violates, "observation_ids": []})
            obs = self._observer(rng, x, y, tt)
            rec = {"id": "", "kind": "weapon_sighting", "time": tmin, "time_precision": "minute",
                   "source_id": f"patrol-{party.lower()}-hw", "source_type": "monitor",
                   "observer_lon": obs[0], "observer_lat": obs[1], "lon": lon, "lat": lat,
                   "location_uncertainty_m": self.p.sighting_uncertainty_m, "count": count,
                   "weapon_class": ws.weapon_class.value}
            if ws.calibre_mm is not None:
                rec["calibre_mm"] = float(ws.calibre_mm)
            rec |= {"system": ws.name, "affiliation": party}
            rows.append((t, rec["source_id"], rec, (item, 0, "", False)))
            return
        # prohibited presence
        r4: PresenceRule = prov.rule
        holder = self.parties.index(r4.territory_of) if r4.territory_of else None
        where = self._presence_spot(rng, r4, holder, tt)
        if where is None:
            return
        x, y, lon, lat, c = where
        foreign = [n for n in self.p.foreign_nationalities
                   if n.lower() not in {a.lower() for a in r4.allowed_nationalities}]
        nat = r4.allowed_nationalities[0] if kind == "presence_allowed" \
            else foreign[int(rng.integers(len(foreign)))]
        label = {"presence_foreign": "reassurance force", "presence_allowed": "",
                 "presence_unknown": "volunteers"}[kind]
        violates, who = [], None
        for x2 in self.agreement.provisions:
            r5 = x2.rule
            if not (isinstance(r5, PresenceRule) and self._in_window(x2, t)):
                continue
            if r5.territory_of is not None:
                inside = int(c.control[0]) == self.parties.index(r5.territory_of)
            else:
                inside = bool(c.zone[str(r5.zone)][0])
            allowed = {a.lower() for a in r5.allowed_nationalities}
            if inside and nat.lower() not in allowed and "unit" in [v.value for v in r5.categories]:
                violates.append(x2.id)
                who = r5.territory_of if r5.territory_of in x2.obligated else x2.obligated[0]
        count = int(rng.integers(30, 300))
        truth.append({**base, "party": who, "lon": lon, "lat": lat, "nationality": nat,
                      "reported_nationality": None if kind == "presence_unknown" else nat,
                      "count": count, "violates": violates, "observation_ids": []})
        obs = self._observer(rng, x, y, tt)
        rec = {"id": "", "kind": "presence", "time": tmin, "time_precision": "minute",
               "source_id": "patrol-presence", "source_type": "monitor",
               "observer_lon": obs[0], "observer_lat": obs[1], "lon": lon, "lat": lat,
               "location_uncertainty_m": self.p.sighting_uncertainty_m, "count": count}
        if kind != "presence_unknown":
            rec["nationality"] = nat
        if label:
            rec["unit_label"] = label
        rec["presence_category"] = "unit"
        rows.append((t, rec["source_id"], rec, (item, 0, "", False)))

    def _spot(self, rng: Generator, line: str, depth: F64, pi: int, tt: I64
              ) -> tuple[float, float, float, float, Classification] | None:
        s = rng.uniform(0.0, self.track(line).total, 1)
        x, y, lon, lat, ok, c = self._place(rng, line, s, depth, np.array([pi]), tt, tries=20)
        if not ok[0]:
            return None
        return float(x[0]), float(y[0]), round(float(lon[0]), 6), round(float(lat[0]), 6), c

    def _presence_spot(self, rng: Generator, r: PresenceRule, holder: int | None, tt: I64
                       ) -> tuple[float, float, float, float, Classification] | None:
        if holder is not None:
            return self._spot(rng, self.loc, np.array([rng.uniform(5.0, 40.0)]), holder, tt)
        assert self.geom is not None
        zone = next(z for z in self.geom.spec.zones if z.id == r.zone)
        for _ in range(20):
            if zone.polygon is not None:
                w, s_, e, n = zone.polygon.bounds
                lon = rng.uniform(w, e, 64)
                lat = rng.uniform(s_, n, 64)
                x, y = self.geom.projection.forward(lon, lat)
            else:
                side = self.parties.index(zone.party_side) if zone.party_side \
                    else self.side_parties[int(rng.integers(2))]
                tr = self.track(str(zone.line))
                cl = self.geom.lines[str(zone.line)]
                sign = 1.0 if cl.left_party == side else -1.0
                width = float(zone.within_km or 1)
                x, y = tr.offset(rng.uniform(0, tr.total, 64),
                                 sign * rng.uniform(0.5, width - 0.5, 64) * 1e3)
            lon, lat, c = self._classify(x, y, np.repeat(tt, 64))
            good = np.flatnonzero(c.in_aoi & c.zone[zone.id])
            if len(good):
                i = good[0]
                _, _, c1 = self._classify(x[i:i + 1], y[i:i + 1], tt)
                return (float(x[i]), float(y[i]), round(float(lon[i]), 6),
                        round(float(lat[i]), 6), c1)
        return None

    def _observer(self, rng: Generator, x: float, y: float, tt: I64) -> tuple[float, float]:
        """A monitor 300-1,500 m from what it reports (inside the area of interest)."""
        ang, dist = rng.uniform(0, 2 * np.pi), rng.uniform(300.0, 1500.0)
        ox, oy = np.array([x + dist * np.cos(ang)]), np.array([y + dist * np.sin(ang)])
        lon, lat, c = self._classify(ox, oy, tt)
        if not c.in_aoi[0]:
            lon, lat, _ = self._classify(np.array([x]), np.array([y]), tt)
        return round(float(lon[0]), 6), round(float(lat[0]), 6)
