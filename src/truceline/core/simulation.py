"""Scenario simulator: what a monitoring mission would receive along a real line, with the truth.

Ground truth is drawn on the agreement's own geometry: firing events per sector and side (quiet
and hot sectors, escalation episodes, a daily rhythm), each with an origin behind one side's
part of the line and an impact across it (:mod:`truceline.core.ground_truth`); then the sources
(observation posts, patrols, acoustic sensor arrays, cameras) detect them through their error
models (:mod:`truceline.core.detection`, :mod:`truceline.core.sources`). Provision evidence is
planted for every rule kind the agreement has (:mod:`truceline.core.planted`), and its truth is
computed from the geometry, not assumed.

Pure and streamed: :class:`Scenario` does the setup once and :meth:`Scenario.day` returns one
day's observation records as JSON lines (exactly ``Observation.to_record()``, formatted
column-wise by :mod:`truceline.core.sim_records`, because a dict or a pydantic round trip per
record would cost more than the rest of the simulation) and truth records, from a generator
seeded by ``(seed, day)``. Same seed, same records; days are independent partitions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from numpy.random import PCG64, Generator
from numpy.typing import NDArray

from truceline.core.agreements import Agreement
from truceline.core.classify import Classification, CompiledGeometry, classify
from truceline.core.detection import detect
from truceline.core.geo import GEOD
from truceline.core.ground_truth import (
    CAMERA,
    DAY_NS,
    F64,
    I64,
    PATROL,
    POST,
    S_NS,
    SENSOR,
    Sources,
    Track,
    draw_events,
    event_records,
)
from truceline.core.planted import plan_planted, plant, restriction
from truceline.core.sim_records import ObsBatch, iso_ns
from truceline.core.sources import SimulationParams
from truceline.errors import ValidationError

__all__ = ["DayOutput", "Scenario", "SimulationParams", "iso_ns"]

_Track, _Sources = Track, Sources  # the names these had before the split


@dataclass
class DayOutput:
    """One day of a scenario: observation records as JSON lines (``Observation.to_record()``
    form, each ending in a newline), truth records, and the count of records per
    ``kind.source_type``."""

    day: int
    lines: list[str]
    truth: list[dict[str, Any]]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def observations(self) -> list[dict[str, Any]]:
        """The observation records as dicts (parsed from :attr:`lines`)."""
        return [json.loads(line) for line in self.lines]


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
        self.tracks: dict[str, Track] = {}
        self.sectors: list[tuple[str, float, float]] = []
        self.escalation = np.ones((days, 0))
        self.heat = np.ones(0)
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
        self.planted = plan_planted(self)

    # -- setup ---------------------------------------------------------------------------------
    def track(self, line: str) -> Track:
        if line not in self.tracks:
            assert self.geom is not None
            self.tracks[line] = Track.build(self.geom, line)
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

    def classify_xy(self, x: F64, y: F64, t_ns: I64) -> tuple[F64, F64, Classification]:
        assert self.geom is not None
        lon, lat = self.geom.projection.inverse(x, y)
        t = np.asarray(t_ns, "int64").astype("datetime64[ns]")
        return lon, lat, classify(self.geom, lon, lat, t)

    def place(self, rng: Generator, line: str, s: F64, depth_km: tuple[float, float] | F64,
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
            _, _, c = self.classify_xy(x[todo], y[todo], t_ns[todo])
            good = c.in_aoi & (c.control == party[todo])
            ok[todo[good]] = True
            todo = todo[~good]
            if not len(todo):
                break
        lon, lat, cls = self.classify_xy(x, y, t_ns)
        return x, y, lon, lat, ok & cls.in_aoi & (cls.control == party), cls

    def _layout(self) -> Sources:
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
            x, y, lon, lat, ok, _ = self.place(rng, self.loc, s, p.post_depth_km,
                                                np.full(n, party), np.repeat(t, n))
            first = len(ids)
            add(POST, "op", party, x, y, lon, lat, ok)
            post_ix = np.arange(first, len(ids))
            cam = post_ix[:: max(1, p.camera_every_nth_post)]
            if len(cam):  # face the line: the bearing to the nearest point of it
                cx, cy = np.asarray(cols["x"])[cam], np.asarray(cols["y"])[cam]
                clon, clat = np.asarray(cols["lon"])[cam], np.asarray(cols["lat"])[cam]
                tr = self.track(self.loc)
                _, _, c = self.classify_xy(cx, cy, np.repeat(t, len(cam)))
                lx, ly = tr.point(c.chainage_m[self.loc])
                llon, llat = self.geom.projection.inverse(lx, ly)  # type: ignore[union-attr]
                az = np.asarray(GEOD.inv(clon, clat, llon, llat)[0]) % 360.0
                add(CAMERA, "cam", party, cx, cy, clon, clat, np.ones(len(cam), bool), az,
                    cam.astype(np.int64))
            na = max(1, int(total // (p.sensor_array_spacing_km * 1e3)))
            s = (np.arange(na) + 0.5) * total / na
            x, y, lon, lat, ok, _ = self.place(rng, self.loc, s, np.full(na, p.sensor_depth_km),
                                                np.full(na, party), np.repeat(t, na))
            k = p.sensor_array_size
            ang = np.concatenate([[0.0], np.arange(k - 1) * 2 * np.pi / max(k - 1, 1)])
            rad = np.concatenate([[0.0], np.full(k - 1, p.sensor_array_radius_km * 1e3)])
            for i in np.flatnonzero(ok):
                sx = x[i] + rad * np.cos(ang)
                sy = y[i] + rad * np.sin(ang)
                slon, slat, c = self.classify_xy(sx, sy, np.repeat(t, k))
                add(SENSOR, f"ac{i:03d}", party, sx, sy, slon, slat,
                    c.in_aoi & (c.control == party))
        n = len(ids)
        return Sources(
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
                        "events_per_day": round(self.rate(b - a) * float(h), 3)})
        out.extend(self.episodes)
        return out

    def rate(self, length_m: float) -> float:
        return self.p.events_per_100km_day * self.scale * length_m / 100_000.0

    # -- planted provision evidence --------------------------------------------------------------
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
        batch = ObsBatch()
        truth: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        if self.geom is not None:
            src, act_a, act_b, restricted = self._day_sources(rng, d, day_ns, batch, truth)
            evs = draw_events(self, rng, d, day_ns)
            if evs is not None:
                events = event_records(self, evs, *detect(self, rng, day_ns, src, act_a, act_b,
                                                          restricted, evs, batch))
        for kind, prov, pi, t in self.planted.get(d, []):
            plant(self, rng, d, kind, prov, pi, t, batch, truth)
        ids, lines, links = batch.finish(f"s{self.seed}-{d:03d}-")
        reports = [(e["reports"]["origin"], e["reports"]["impact"]) for e in events]
        by_item = {r["id"]: r["observation_ids"] for r in truth}
        for oid, k in zip(ids, links, strict=True):
            if isinstance(k, int):  # a fire report: event * 4 + part * 2 + wild
                reports[k >> 2][(k >> 1) & 1].append(oid)
                if k & 1:
                    events[k >> 2].setdefault("wild", []).append(oid)
            else:
                by_item[k].append(oid)
        return DayOutput(d, lines, events + truth, dict(batch.counts))

    # -- sources of the day: posts, cameras, sensors, patrols, and restrictions -------------------
    def _day_sources(self, rng: Generator, d: int, day_ns: int, batch: ObsBatch,
                     truth: list[dict[str, Any]]) -> tuple[Sources, I64, I64, NDArray[np.bool_]]:
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
            x, y, lon, lat, ok, _ = self.place(rng, self.loc, s, p.patrol_depth_km,
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
        src = Sources(ids, role_a, np.array(party, np.int16), np.array(xs), np.array(ys),
                       np.array(lons), np.array(lats),
                       np.concatenate([base.facing, np.zeros(m - n0)]),
                       np.concatenate([base.clock_s, rng.normal(0, p.clock_sd_s, m - n0)]),
                       np.concatenate([base.post_of, np.full(m - n0, -1)]))
        for i in np.flatnonzero(restricted & (role_a != CAMERA)):
            t = int(act_a[i] if role_a[i] == PATROL else day_ns + 7 * 3600 * S_NS)
            t += int(rng.integers(0, 3600)) * S_NS
            restriction(self, rng, d, src, int(i), t, batch, truth)
        return src, act_a, act_b, restricted

