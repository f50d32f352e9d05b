"""Days fused a part at a time give the incidents one fusion of them all gives, whatever the
parts' size (issue 21; docs/partitions.md, "A full check by day parts")."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from functools import cache
from typing import Any

import numpy as np

from truceline.adapters.agreement_files import load_agreement_file
from truceline.core.fusion import FusionParams, report_columns
from truceline.core.fusion.day_parts import day_parts, fuse_part
from truceline.core.fusion.day_state import DayState, day_of_us, report_digests
from truceline.core.incidents import Incident
from truceline.core.observations import Observation, parse_observation
from truceline.core.record.canonical import canonical_bytes
from truceline.services.context import context_for_doc
from truceline.simulation.scenario import Scenario


@cache
def _dense_days() -> list[Observation]:
    """Six hours at 20 times the base fire rate from local midnight on 28 March 2025 (22:00
    UTC on the 27th; the second day of a run from the 26th, made alone): ~23,000 fire
    reports, bursts whose linked components run for hours across the UTC midnight. (The
    whole two days, ~112,000 reports, cost three times the CPU; these six hours fail as
    they did under the slices: the second UTC day's incidents, 2,976 here, differed in 1,264.)"""
    ag, doc = load_agreement_file("march2025")
    scn = Scenario(ag, context_for_doc(doc).geometry, days=2, seed=1, scale=40.0,
                   start=datetime(2025, 3, 26, 22, tzinfo=UTC))
    fire = [parse_observation(o) for o in scn.day(1).observations
            if o["kind"] == "fire" and str(o["time"]) < "2025-03-28T04:00"]
    return sorted(fire, key=lambda o: (o.time, o.id))


def _by_parts(size: int, params: FusionParams) -> dict[int, list[bytes]]:
    """Each day's owned incidents (their records' canonical bytes), fused ``size`` days at a
    time (0: all at once), each part with the states of the parts before it."""
    _, doc = load_agreement_file("march2025")
    ctx = context_for_doc(doc)
    assert ctx.geometry is not None
    fire = _dense_days()
    cols = report_columns(fire)
    digests = report_digests(cols["id"], cols["time_us"], params.halo_s)
    days = set(digests)
    parts = day_parts(days, size) if size else [(min(days), max(days))]
    states: list[DayState] = []
    out: dict[int, list[bytes]] = {}
    for k, (s, e) in enumerate(parts):
        part = fuse_part(cols, ctx.geometry, [p.id for p in ctx.agreement.parties],
                         lambda rows: [fire[r] for r in rows], params, s, e, states,
                         min(days), digests, days, last=k == len(parts) - 1)
        states += part.states
        for i, d in zip(part.incidents, part.owners, strict=True):
            out.setdefault(d, []).append(_bytes(i))
    return {d: sorted(v) for d, v in out.items()}


def _bytes(i: Incident) -> bytes:
    return canonical_bytes(i.to_record())


def test_a_burst_longer_than_a_slice_is_grouped_alike_in_parts_of_one_day() -> None:
    # A component of linked units larger than ``max_component`` was cut into slices of that
    # many units counted from its first, by time: a fusion of the days from a part's start
    # holds the component from the part's halo on and cut it elsewhere (the 907k month's
    # 29 March: a component of 4,903 units from 21:50 to 05:00 UTC was 4,442 from 22:59,
    # and 12 incidents of 02:40-03:15 were 21 others). Here the slices are 100 units, so
    # that these hours' bursts (components of over 512 units) are cut. Large
    # components are now cut by complete linkage from every gated edge, with no slices.
    base = FusionParams()
    params = dataclasses.replace(
        base, grouping=dataclasses.replace(base.grouping, max_component=100))
    fire = _dense_days()
    assert len(fire) > 20_000
    whole = _by_parts(0, params)
    days = day_of_us(np.asarray([int(o.time.timestamp() * 1e6) for o in fire], np.int64))
    assert sorted(whole) == sorted(set(days.tolist())) and len(whole) == 2
    assert sum(len(v) for v in whole.values()) > 4_000
    assert _by_parts(1, params) == whole


def test_only_the_last_part_makes_the_per_source_records_every_day_gives() -> None:
    # A check by parts keeps the last part's records (of every day's pooled samples); the
    # parts before it made theirs too, over every earlier day's samples again, and dropped
    # them (~1.6 % of the 907k month's check).
    ag, doc = load_agreement_file("march2025")
    ctx = context_for_doc(doc)
    assert ctx.geometry is not None
    scn = Scenario(ag, ctx.geometry, days=2, seed=2, scale=2.0,
                   start=datetime(2025, 3, 26, 22, tzinfo=UTC))
    fire = sorted((parse_observation(o) for day in scn for o in day.observations
                   if o["kind"] == "fire"), key=lambda o: (o.time, o.id))
    params = FusionParams()
    cols = report_columns(fire)
    digests = report_digests(cols["id"], cols["time_us"], params.halo_s)
    days = set(digests)
    parties = [p.id for p in ctx.agreement.parties]

    def part(s: int, e: int, before: list[DayState], last: bool) -> Any:
        return fuse_part(cols, ctx.geometry, parties, lambda rows: [fire[r] for r in rows],
                         params, s, e, before, min(days), digests, days, last=last)

    whole = part(min(days), max(days), [], True)
    parts = day_parts(days, 1)
    assert len(parts) >= 2
    states: list[DayState] = []
    for k, (s, e) in enumerate(parts):
        got = part(s, e, states, k == len(parts) - 1)
        states += got.states
        if k < len(parts) - 1:
            assert got.sources == []
    assert len(whole.sources) > 10
    assert got.sources == whole.sources
