"""Scenario simulator: what a monitoring mission would receive along a real line, with the truth.

Ground truth is drawn on the agreement's own geometry (:mod:`truceline.simulation.world`):
firing events per sector and side (quiet and hot sectors, escalation episodes, a daily rhythm),
each with an origin behind one side's part of the line and an impact across it
(:mod:`truceline.simulation.ground_truth`); then the sources (observation posts, patrols,
acoustic sensor arrays, cameras) detect them through their error models
(:mod:`truceline.simulation.detection`, :mod:`truceline.simulation.sources`). Provision evidence
is planted for every rule kind the agreement has (:mod:`truceline.simulation.planted`), and its
truth is computed from the geometry, not assumed.

Pure and streamed: :class:`Scenario` does the setup once and :meth:`Scenario.day` returns one
day's observation records as JSON lines (exactly ``Observation.to_record()``, formatted
column-wise by :mod:`truceline.simulation.records`, because a dict or a pydantic round trip per
record would cost more than the rest of the simulation) and truth records, from a generator
seeded by ``(seed, day)``. Same seed, same records; days are independent partitions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from numpy.random import PCG64, Generator
from numpy.typing import NDArray

from truceline.core.agreements import Agreement
from truceline.core.classify import CompiledGeometry
from truceline.simulation.detection import detect
from truceline.simulation.ground_truth import draw_events, event_records
from truceline.simulation.monitoring import monitoring_records
from truceline.simulation.planted import plan_planted, plant, restriction
from truceline.simulation.records import ObsBatch, iso_ns
from truceline.simulation.resubmissions import resubmit
from truceline.simulation.sources import SimulationParams
from truceline.simulation.world import CAMERA, DAY_NS, I64, PATROL, POST, S_NS, Sources, World

__all__ = ["DayOutput", "Scenario", "SimulationParams", "iso_ns"]


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


class Scenario(World):
    """Set up once (layout, sectors, escalation, planted evidence), then produce day by day.

    Takes :class:`World`'s parameters; adds the planted evidence of the whole run.
    """

    def __init__(self, agreement: Agreement, geometry: CompiledGeometry | None, *, days: int,
                 seed: int, scale: float = 1.0, params: SimulationParams | None = None,
                 start: datetime | None = None) -> None:
        super().__init__(agreement, geometry, days=days, seed=seed, scale=scale, params=params,
                         start=start)
        self.planted = plan_planted(self)

    # -- the days --------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[DayOutput]:
        for d in range(self.days):
            yield self.day(d)

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
        if self.p.resubmit_share > 0:  # from a stream of its own: the rest stays the same
            lines, copies = resubmit(Generator(PCG64([self.seed, d + 1, 0x5E])), lines,
                                     self.p.resubmit_share, self.p.resubmit_channel)
            truth += copies
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
            x, y, lon, lat, ok, c = self.place(rng, self.loc, s, p.patrol_depth_km,
                                                np.full(n, side), np.full(n, p0, "int64"))
            ok &= ~self.in_uncovered(c.chainage_m[self.loc])  # nobody goes there
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
        # cameras down all day, from their own stream (the day's main stream is unchanged)
        cam_rng = Generator(PCG64([self.seed, d + 1, 0xCA]))
        restricted[cams] |= cam_rng.random(len(cams)) < p.camera_down_prob
        restricted[cams] |= self.camera_outage[d, cams]  # outages of several days
        src = Sources(ids, role_a, np.array(party, np.int16), np.array(xs), np.array(ys),
                       np.array(lons), np.array(lats),
                       np.concatenate([base.facing, np.zeros(m - n0)]),
                       np.concatenate([base.clock_s, rng.normal(0, p.clock_sd_s, m - n0)]),
                       np.concatenate([base.post_of, np.full(m - n0, -1)]),
                       np.concatenate([base.bias_deg, np.zeros(m - n0)]))
        # which restrictions deny an area, from their own stream (none by default)
        den_rng = Generator(PCG64([self.seed, d + 1, 0xDE]))
        for i in np.flatnonzero(restricted & (role_a != CAMERA)):
            t = int(act_a[i] if role_a[i] == PATROL else day_ns + 7 * 3600 * S_NS)
            t += int(rng.integers(0, 3600)) * S_NS
            radius = None
            if p.area_denial_share > 0 and den_rng.random() < p.area_denial_share:
                radius = round(float(den_rng.uniform(*p.denied_radius_km)) * 1e3, -1)
            restriction(self, rng, d, src, int(i), t, batch, truth, denied_radius_m=radius)
        monitoring_records(self, d, day_ns, src, act_a, act_b,
                           restricted & (role_a == CAMERA), batch, truth)
        return src, act_a, act_b, restricted

