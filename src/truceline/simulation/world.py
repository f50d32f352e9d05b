"""The simulated world: the line as a track, its sectors and their heat, escalation episodes, and
where the sources stand; placing points on a side of a line and classifying them.

:class:`World` is the setup of a scenario that every step of a day reads (the firing events of
:mod:`truceline.simulation.ground_truth`, the detections of :mod:`truceline.simulation.detection`,
the planted evidence of :mod:`truceline.simulation.planted`);
:class:`~truceline.simulation.scenario.Scenario` adds the days. The simulator's shared types
(:class:`Track`, :class:`Sources`, the source roles, time constants) live here too, below every
step, so that the steps import this module and never the scenario that runs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from numpy.random import PCG64, Generator
from numpy.typing import NDArray

from truceline.core.agreements import Agreement
from truceline.core.classify import Classification, CompiledGeometry, classify
from truceline.core.geo import GEOD
from truceline.errors import ValidationError
from truceline.simulation.sources import SimulationParams

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
DAY_NS = 86_400 * 10**9
S_NS = 10**9
POST, PATROL, SENSOR, CAMERA = 0, 1, 2, 3
PARTS = ("origin", "impact")


def ns_of(t: datetime) -> int:
    return int(np.datetime64(t.astimezone(UTC).replace(tzinfo=None), "ns").astype("int64"))


def rounded(a: Any, nd: int) -> list[Any]:
    return np.round(np.asarray(a, float), nd).tolist()


@dataclass(frozen=True)
class Track:
    """A line as planar segments with chainage, to place points by (chainage, side, depth)."""

    ax: F64
    ay: F64
    dx: F64
    dy: F64
    start: F64
    total: float

    @classmethod
    def build(cls, geom: CompiledGeometry, line: str) -> Track:
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
class Sources:
    """The sources of a day (fixed ones first, then the day's patrols), column-wise."""

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
    bias_deg: F64  # monitors at posts: the compass's constant error (deg; 0 elsewhere)




class World:
    """The setup of a scenario (layout, sectors, escalation), made once from the seed.

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
        self.uncovered: list[tuple[str, float, float]] = []
        self.camera_outage = np.zeros((days, 0), bool)
        self.outages: list[dict[str, Any]] = []
        self.wind_from_deg = float("nan")
        self.wind = self._steady_wind()
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
            self.uncovered = self._uncovered_sectors()
            self.sources = self._layout()
            self.camera_outage = self._camera_outages()

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
        self._planted_escalation()

    def _planted_escalation(self) -> None:
        """Apply ``escalation_kind`` (doubling, ramp, spike) to one sector, chosen with its
        first day from a generator of its own (seed, 0xE5C), so the rest of the world is the
        same with and without it; its truth joins the episodes."""
        p = self.p
        if p.escalation_kind is None:
            return
        kinds = ("doubling", "ramp", "spike")
        if p.escalation_kind not in kinds:
            raise ValidationError(f"unknown kind {p.escalation_kind!r}; one of "
                                  f"{', '.join(kinds)}", field="escalation_kind")
        rng = Generator(PCG64([self.seed, 0xE5C]))
        names = [s[0] for s in self.sectors]
        k = int(rng.integers(0, len(names)))
        if p.escalation_sector is not None:
            if p.escalation_sector not in names:
                raise ValidationError(f"unknown sector {p.escalation_sector!r}; the line has "
                                      f"{', '.join(names)}", field="escalation_sector")
            k = names.index(p.escalation_sector)
        lo, hi = p.escalation_first_day
        first = min(int(rng.integers(lo, hi + 1)), self.days - 1)
        if p.escalation_kind == "doubling":
            self.escalation[first:, k] *= 2.0
        elif p.escalation_kind == "ramp":
            steps = np.arange(1, self.days - first + 1, dtype=float)
            self.escalation[first:, k] *= 1.0 + p.escalation_ramp_per_day * steps
        else:
            self.escalation[first, k] *= p.escalation_spike_factor
        start = self.start + timedelta(days=first)
        self.episodes.append({"type": "escalation_truth", "kind": p.escalation_kind,
                              "sector": names[k], "first_day": first,
                              "local_date": start.astimezone(self.agreement.tz).date()
                              .isoformat()})

    def _uncovered_sectors(self) -> list[tuple[str, float, float]]:
        """The sectors nobody watches: those ``uncovered_sectors`` names, else
        ``uncovered_sector_count`` of them drawn from a generator of their own (seed, 0x5EC),
        so the world's main stream is the same as without them."""
        p = self.p
        if p.uncovered_sectors:
            known = {s[0] for s in self.sectors}
            bad = sorted(set(p.uncovered_sectors) - known)
            if bad:
                raise ValidationError(f"unknown sectors {', '.join(bad)}; the line has "
                                      f"{', '.join(sorted(known))}", field="uncovered_sectors")
            return [s for s in self.sectors if s[0] in p.uncovered_sectors]
        k = min(max(0, p.uncovered_sector_count), len(self.sectors))
        if not k:
            return []
        pick = Generator(PCG64([self.seed, 0x5EC])).choice(len(self.sectors), k, replace=False)
        return [self.sectors[i] for i in sorted(pick.tolist())]

    def in_uncovered(self, chainage_m: F64) -> NDArray[np.bool_]:
        """Whether points at these chainages of the line of contact lie in an uncovered
        sector."""
        s = np.asarray(chainage_m, float)
        out = np.zeros(s.shape, bool)
        for _, a, b in self.uncovered:
            out |= (s >= a) & (s < b)
        return out

    def _camera_outages(self) -> NDArray[np.bool_]:
        """(days, sources): the cameras down for an outage of several days, a share
        ``camera_outage_share`` of them, from a generator of their own (seed, 0xCA, 0xD0)."""
        p, n = self.p, len(self.sources.ids)
        out = np.zeros((self.days, n), bool)
        cams = np.flatnonzero(self.sources.role == CAMERA)
        k = round(len(cams) * p.camera_outage_share)
        if not k:
            return out
        rng = Generator(PCG64([self.seed, 0xCA, 0xD0]))
        for i in np.sort(rng.choice(cams, k, replace=False)).tolist():
            length = min(self.days, int(rng.integers(p.camera_outage_days[0],
                                                     p.camera_outage_days[1] + 1)))
            first = int(rng.integers(0, self.days - length + 1))
            out[first:first + length, i] = True
            self.outages.append({"type": "camera_outage", "source": self.sources.ids[i],
                                 "first_day": first, "days": length})
        return out

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
        if self.p.layout_sites:
            return self._planned_layout()
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
            x, y, lon, lat, ok, c = self.place(rng, self.loc, s, p.post_depth_km,
                                                np.full(n, party), np.repeat(t, n))
            ok &= ~self.in_uncovered(c.chainage_m[self.loc])
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
            x, y, lon, lat, ok, c = self.place(rng, self.loc, s, np.full(na, p.sensor_depth_km),
                                                np.full(na, party), np.repeat(t, na))
            ok &= ~self.in_uncovered(c.chainage_m[self.loc])
            k = p.sensor_array_size
            ang = np.concatenate([[0.0], np.arange(k - 1) * 2 * np.pi / max(k - 1, 1)])
            rad = np.concatenate([[0.0], np.full(k - 1, p.sensor_array_radius_km * 1e3)])
            for i in np.flatnonzero(ok):
                sx = x[i] + rad * np.cos(ang)
                sy = y[i] + rad * np.sin(ang)
                slon, slat, c = self.classify_xy(sx, sy, np.repeat(t, k))
                add(SENSOR, f"ac{i:03d}", party, sx, sy, slon, slat,
                    c.in_aoi & (c.control == party)
                    & ~self.in_uncovered(c.chainage_m[self.loc]))
        n = len(ids)
        role = np.array(cols["role"], np.int8)
        return Sources(
            ids, role, np.array(cols["party"], np.int16),
            np.array(cols["x"]), np.array(cols["y"]), np.array(cols["lon"]),
            np.array(cols["lat"]), np.array(cols["facing"]),
            self._clocks(role, rng.normal(0.0, self.p.clock_sd_s, n)),
            np.array(cols["post"], np.int64), self._compass_bias(role == POST))

    def _clocks(self, role: NDArray[np.int8], drawn: F64) -> F64:
        """Each source's clock offset (s) as applied: the monitors' ``drawn`` ones; the
        cameras' from a stream of their own (``camera_clock_sd_s``, 0 by default: GPS time);
        the acoustic sensors' 0 (GPS)."""
        cam = role == CAMERA
        own = Generator(PCG64([self.seed, 0xC10C])).normal(0.0, 1.0, len(role))
        out = np.where(cam, own * self.p.camera_clock_sd_s, drawn)
        return np.asarray(np.where(role == SENSOR, 0.0, out), float)

    def _steady_wind(self) -> tuple[float, float] | None:
        """(u east, v north) m/s of the run's one wind (``steady_wind_ms``), blowing from a
        direction drawn from a stream of its own; None: a new wind each day."""
        if self.p.steady_wind_ms <= 0:
            return None
        frm = float(Generator(PCG64([self.seed, 0x417D])).uniform(0.0, 360.0))
        self.wind_from_deg = frm
        a = np.radians(frm)
        return (-self.p.steady_wind_ms * float(np.sin(a)),
                -self.p.steady_wind_ms * float(np.cos(a)))

    def _planned_layout(self) -> Sources:
        """The fixed sources of ``layout_sites`` (a planned layout): posts, cameras (each
        tied to the nearest post of its side within 3 km, else to itself, for restrictions)
        and acoustic arrays (a ring of ``sensor_array_size`` sensors, as in :meth:`_layout`)."""
        p, rng = self.p, self.rng
        assert self.geom is not None
        code = {"post": POST, "camera": CAMERA, "array": SENSOR}
        bad = sorted({s[0] for s in p.layout_sites} - set(code))
        if bad:
            raise ValidationError(f"unknown site kind {bad[0]!r}; known: post, camera, array",
                                  field="layout_sites")
        kind = np.array([code[s[0]] for s in p.layout_sites], np.int8)
        lon0 = np.array([s[1] for s in p.layout_sites], float)
        lat0 = np.array([s[2] for s in p.layout_sites], float)
        facing0 = np.array([s[3] for s in p.layout_sites], float)
        x0, y0 = self.geom.projection.forward(lon0, lat0)
        k = p.sensor_array_size
        ang = np.concatenate([[0.0], np.arange(k - 1) * 2 * np.pi / max(k - 1, 1)])
        rad = np.concatenate([[0.0], np.full(k - 1, p.sensor_array_radius_km * 1e3)])
        rows: list[tuple[int, int, float, float, float]] = []  # role, site, x, y, facing
        for i in np.argsort(kind, kind="stable").tolist():  # posts first, cameras, sensors
            if kind[i] == SENSOR:
                rows += [(SENSOR, i, x0[i] + r * np.cos(a), y0[i] + r * np.sin(a), 0.0)
                         for r, a in zip(rad, ang, strict=True)]
            else:
                rows.append((int(kind[i]), i, x0[i], y0[i], facing0[i]))
        role = np.array([r[0] for r in rows], np.int8)
        x, y = np.array([r[2] for r in rows]), np.array([r[3] for r in rows])
        lon, lat, c = self.classify_xy(x, y, np.full(len(rows), self.start_ns, "int64"))
        ok = c.in_aoi & (c.control >= 0)
        role, x, y, lon, lat = role[ok], x[ok], y[ok], lon[ok], lat[ok]
        party = c.control[ok].astype(np.int16)
        facing = np.array([r[4] for r in rows])[ok]
        site = np.array([r[1] for r in rows])[ok]
        n = len(role)
        post_of = np.full(n, -1, np.int64)
        posts = np.flatnonzero(role == POST)
        for i in np.flatnonzero(role == CAMERA).tolist():
            same = posts[party[posts] == party[i]]
            d = np.hypot(x[same] - x[i], y[same] - y[i]) if len(same) else np.zeros(0)
            post_of[i] = int(same[np.argmin(d)]) if len(d) and d.min() <= 3_000.0 else i
        prefix = {POST: "op", CAMERA: "cam", SENSOR: "ac"}
        ids = [f"{prefix[int(role[j])]}{site[j]:04d}-{self.parties[int(party[j])].lower()}"
               f"-{j:05d}" for j in range(n)]
        return Sources(ids, role, party, x, y, lon, lat, facing,
                       rng.normal(0.0, self.p.clock_sd_s, n), post_of,
                       self._compass_bias(role == POST))

    def _compass_bias(self, post: NDArray[np.bool_]) -> F64:
        """Each post's compass bias (deg): a small error for all (``bias_sd_deg``) and, for a
        ``bias_share`` of them, a large one of ``bias_deg`` either way; from a stream of its
        own, so the other records are the same with and without biased observers."""
        p, n = self.p, len(post)
        rng = Generator(PCG64([self.seed, 0xB1A5]))
        small = rng.normal(0.0, 1.0, n) * p.bias_sd_deg
        big = rng.random(n) < p.bias_share
        large = rng.uniform(*p.bias_deg, n) * np.where(rng.random(n) < 0.5, -1.0, 1.0)
        return np.where(post, np.where(big, large, small), 0.0)

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
            if self.p.bias_share > 0 or self.p.bias_sd_deg > 0:
                rec["bearing_bias_deg"] = round(float(s.bias_deg[i]), 3)
            if s.role[i] == CAMERA:
                rec["facing_deg"] = round(float(s.facing[i]), 2)
            out.append(rec)
        dark = {u[0] for u in self.uncovered}
        for (sid, a, b), h in zip(self.sectors, self.heat, strict=True):
            rec = {"type": "sector", "id": sid, "from_km": round(a / 1e3, 3),
                   "to_km": round(b / 1e3, 3), "heat": float(h),
                   "events_per_day": round(self.rate(b - a) * float(h), 3)}
            if sid in dark:
                rec["uncovered"] = True
            out.append(rec)
        out.extend(self.episodes)
        out.extend(self.outages)
        if self.wind is not None:
            out.append({"type": "wind", "u_ms": round(self.wind[0], 3),
                        "v_ms": round(self.wind[1], 3), "speed_ms": self.p.steady_wind_ms,
                        "from_deg": round(self.wind_from_deg, 2),
                        "reported": self.p.sensor_reports_wind})
        return out

    def rate(self, length_m: float) -> float:
        return self.p.events_per_100km_day * self.scale * length_m / 100_000.0


    def local_hours(self, day_ns: int) -> NDArray[np.int64]:
        """Local hour of each of the 24 UTC hour slots of the day starting at ``day_ns``."""
        base = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=day_ns // 1000)
        tz = self.agreement.tz
        return np.array([(base + timedelta(hours=h)).astimezone(tz).hour for h in range(24)])

