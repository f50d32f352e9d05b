"""The verdict rules of docs/agreements.md, each on the case that once got it wrong (issue 12).

"Compliant" needs evidence about the party; an open finding that could be the party's (P at or
above the agreement's doubt threshold) keeps it from being found compliant; "insufficient
evidence" always says why. Real geometry (the shipped examples) and real data (tests/data).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely

from tests.placing import place
from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.store.sqlite import SQLiteStore
from truceline.core.agreement_geometry import geometry_spec
from truceline.core.evidence import gather
from truceline.core.findings import Finding, Verdict
from truceline.core.incidents import Incident, Located
from truceline.core.observations import parse_observation
from truceline.core.rules import check
from truceline.services.check import run_check
from truceline.services.context import context_for_doc
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store

T_M25 = "2025-03-27T20:15:00+02:00"  # inside the 30-day window of the March 2025 ceasefire


def _store(tmp_path: Path, name: str) -> SQLiteStore:
    _, doc = load_agreement_file(name)
    store = SQLiteStore(tmp_path / f"{name}.db", create=True)
    initialize_store(store, doc)
    return store


def _summary(findings: list[Finding], provision: str, party: str) -> Finding:
    (f,) = [f for f in findings if f.provision_id == provision and f.party == party
            and not f.evidence]
    return f


@pytest.fixture(scope="module")
def front_2025():
    ag, _ = load_agreement_file("march2025")
    spec = geometry_spec(ag)
    ru = next(c.geometry for c in spec.control if c.party == "RU")
    shapely.prepare(ru)
    return spec.lines["front_2025"], lambda lon, lat: shapely.contains_xy(ru, lon, lat)


def _shot(oid: str, lonlat: tuple[float, float], sigma_m: float) -> dict:
    """One camera report of one outgoing shot, located (as a camera with a range finder)."""
    return {"id": oid, "kind": "fire", "time": T_M25, "source_id": "cam-1",
            "source_type": "camera", "fire_type": "explosion", "explosion_type": "outgoing",
            "lon": lonlat[0], "lat": lonlat[1], "location_uncertainty_m": sigma_m, "count": 1}


# -- item 1: no "compliant" without evidence about the party, nor while a doubt is open ------

def test_one_russian_shot_is_no_evidence_about_ukraine(tmp_path: Path, front_2025) -> None:
    line, in_ru = front_2025
    store = _store(tmp_path, "march2025")
    ingest(store, [(1, _shot("cam-ru-1", place(line, 450, 9, in_ru, True), 400))])
    findings = run_check(store).findings
    (v,) = [f for f in findings if f.evidence == ("cam-ru-1",)]
    assert (v.provision_id, v.verdict, v.party) == ("M25-ceasefire", Verdict.VIOLATION, "RU")
    ua = _summary(findings, "M25-ceasefire", "UA")
    assert ua.verdict is Verdict.INSUFFICIENT_EVIDENCE  # was "compliant: 1 relevant observations"
    assert "no relevant evidence about UA's side" in ua.explanation
    assert not [f for f in findings if f.verdict is Verdict.COMPLIANT]


def test_fused_shot_near_the_line_keeps_both_parties_open(tmp_path: Path, front_2025) -> None:
    """Real fusion: 0.5 km inside RU-held ground with sigma 1 km, P(UA) well above 0.05."""
    line, in_ru = front_2025
    store = _store(tmp_path, "march2025")
    ingest(store, [(1, _shot("cam-x", place(line, 450, 0.5, in_ru, True), 1000))])
    findings = run_check(store).findings
    (u,) = [f for f in findings if f.evidence == ("cam-x",)]
    p_ua = u.details["probabilities"]["UA"]
    assert u.verdict is Verdict.INSUFFICIENT_EVIDENCE and 0.05 <= p_ua < 0.5
    ua = _summary(findings, "M25-ceasefire", "UA")
    assert ua.verdict is Verdict.INSUFFICIENT_EVIDENCE
    assert f"undecided incident i-cam-x (P(UA)={p_ua:.2f})" in ua.explanation


def _undecided(front_2025, p_ru: float, doubt: float | None = None) -> list[Finding]:
    """One incident fused elsewhere and left undecided at P(RU)=p_ru, checked in the core."""
    line, in_ru = front_2025
    _, doc = load_agreement_file("march2025")
    ctx = context_for_doc(doc)
    ag = ctx.agreement if doubt is None else ctx.agreement.model_copy(
        update={"doubt_threshold": doubt})
    lon, lat = place(line, 450, 0.5, in_ru, True)
    obs = parse_observation(_shot("cam-u", (lon, lat), 1000))
    inc = Incident(id="i-cam-u", kind="fire", time="2025-03-27T18:15:00Z", evidence=("cam-u",),
                   fire_type="explosion", explosion_type="outgoing",
                   origin=Located(lon, lat, (1e6, 0.0, 1e6)),
                   party_probability={"RU": p_ru, "UA": round(1.0 - p_ru, 4)})
    return check(ag, ctx.geometry, gather(ctx.geometry, [obs], [inc]))


def test_undecided_incident_blocks_compliance_of_every_party_it_could_be(front_2025) -> None:
    findings = _undecided(front_2025, 0.85)
    (u,) = [f for f in findings if f.evidence == ("cam-u",)]
    assert (u.verdict, u.party) == (Verdict.INSUFFICIENT_EVIDENCE, "RU")
    ua = _summary(findings, "M25-ceasefire", "UA")
    assert ua.verdict is Verdict.INSUFFICIENT_EVIDENCE  # was "compliant"
    assert "undecided incident i-cam-u (P(UA)=0.15)" in ua.explanation
    assert "doubt threshold 0.05" in ua.explanation
    ru = _summary(findings, "M25-ceasefire", "RU")
    assert ru.verdict is Verdict.INSUFFICIENT_EVIDENCE
    assert "undecided incident i-cam-u (P(RU)=0.85)" in ru.explanation


def test_doubt_below_the_threshold_does_not_block(front_2025) -> None:
    """With a doubt threshold of 0.2, P(UA)=0.15 is no doubt; UA still has no evidence."""
    ua = _summary(_undecided(front_2025, 0.85, doubt=0.2), "M25-ceasefire", "UA")
    assert ua.verdict is Verdict.INSUFFICIENT_EVIDENCE
    assert "undecided" not in ua.explanation
    assert "no relevant evidence about UA's side" in ua.explanation


# -- item 2: withdrawal relevance by owner; an unknown calibre is said, not dropped -----------

#: The SMM file gives place names, not coordinates: the UCDP GED gazetteer points of the same
#: places (tests/data/README.md), 1-sigma 2 km (a training area "near" a town).
SMM_PLACES = {
    "Miusynsk": (38.895311, 48.077028),  # UCDP GED 410891, "Miusynsk town"
    "Khrustalnyi": (38.933333, 48.133333),  # UCDP GED 410611, "Krasnyy Luch town" (renamed 2016)
    "Donetsk city": (37.805278, 48.0),  # UCDP GED 154410, "Donetsk town"
}


def _smm_sightings(path: Path) -> list[dict]:
    """The SMM's sightings as monitors' weapon_sighting reports, column for column."""
    import csv
    from datetime import date

    from truceline.adapters.importers.formats import local_noon

    out = []
    with path.open(newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.DictReader(fh), 1):
            place = next(k for k in SMM_PLACES if k in row["location"])
            grad = "Grad" in row["weapon_type"]
            # "howitzers and anti-tank guns": two classes, one report each, no calibre given
            for wc in ["mlrs"] if grad else ["tube_artillery", "anti_tank_gun"]:
                rec = {
                    "id": f"smm-{n}-{wc}", "kind": "weapon_sighting",
                    "time": local_noon(date.fromisoformat(row["observed_date"])).isoformat(),
                    "time_precision": "day", "source_id": "osce-smm",
                    "lon": SMM_PLACES[place][0], "lat": SMM_PLACES[place][1],
                    "location_uncertainty_m": 2000, "weapon_class": wc,
                    "system": "BM-21 Grad" if grad else None,
                    "calibre_mm": float(row["calibre_mm"]) if row["calibre_mm"] else None,
                    "count": int(row["count"]) if row["count"] else 1,
                    "description": f"{row['report_ref']}: {row['location']}",
                }
                out.append({k: v for k, v in rec.items() if v is not None})
    return out


def test_minsk_ii_real_smm_sightings(tmp_path: Path, data_dir: Path) -> None:
    recs = _smm_sightings(data_dir / "osce_smm/smm_weapons_in_violation_sourced.csv")
    assert len(recs) == 4  # 2 + 21 Grad (two reports), howitzers and anti-tank guns (two)
    store = _store(tmp_path, "minsk2")
    rep = ingest(store, enumerate(recs, 1))
    assert rep.added == 4 and not rep.rejected
    findings = run_check(store).findings

    # Every sighting lies in ORDLO's area: none of it is evidence about UA's withdrawal.
    ua = _summary(findings, "MII-2-mlrs", "UA")
    assert ua.verdict is Verdict.INSUFFICIENT_EVIDENCE  # was "compliant" from ORDLO's Grads
    assert "no relevant evidence about UA's side or forces" in ua.explanation
    assert not [f for f in findings if f.party == "UA" and f.verdict is Verdict.COMPLIANT]

    # Howitzers and anti-tank guns in Donetsk city (9.8 km from the line), calibre not given:
    # within both the 25 km (>= 100 mm) and the 15 km (< 100 mm) distances, so neither
    # provision can tell whether it covers them. Said, not dropped.
    for pid in ("MII-2-artillery", "MII-ADD-15km-artillery"):
        for wc in ("tube_artillery", "anti_tank_gun"):
            (f,) = [f for f in findings if f.provision_id == pid and f.evidence == (f"smm-3-{wc}",)]
            assert (f.verdict, f.party) == (Verdict.INSUFFICIENT_EVIDENCE, "ORDLO")
            assert "calibre is unknown" in f.explanation
            assert f.distance_m == pytest.approx(9_800, abs=300)
        s = _summary(findings, pid, "ORDLO")
        assert s.verdict is Verdict.INSUFFICIENT_EVIDENCE
        assert "undecided record smm-3-tube_artillery (calibre unknown)" in s.explanation
    # ... and it is no violation of the MLRS provisions (not an MLRS).
    assert not [f for f in findings if f.provision_id in ("MII-2-mlrs", "MII-2-heavy-systems")
                and f.evidence and f.evidence[0].startswith("smm-3")]


# -- item 6: a missing declaration is a finding; nothing is checked after the treaty lapsed ---

NS_COLUMNS = {
    "NS-II-1a": "deployed_icbm_slbm_hb",
    "NS-II-1b": "warheads_on_deployed",
    "NS-II-1c": "deployed_and_nondeployed_launchers",
}


def _new_start(tmp_path: Path, data_dir: Path, extra: list[dict] = ()) -> list[Finding]:
    from truceline.adapters.importers import read_records

    store = _store(tmp_path, "new_start")
    path = data_dir / "arms_control/new_start_aggregate_numbers_sourced.csv"
    ingest(store, read_records(str(path), "newstart"))
    if extra:
        ingest(store, enumerate(extra, 1))
    return run_check(store).findings


def test_new_start_missing_declarations_are_findings(tmp_path: Path, data_dir: Path) -> None:
    import csv

    findings = _new_start(tmp_path, data_dir)
    rows = list(csv.DictReader((data_dir / "arms_control/new_start_aggregate_numbers_sourced.csv")
                               .open(encoding="utf-8")))
    # The exchange rounds (as of 1 March / 1 September) from the limits' start to the last one
    # the record shows, read independently of the code under test.
    rounds = [f"{y}-{m}-01" for y in range(2018, 2024) for m in ("03", "09")]
    rounds = [r for r in rounds if r <= "2023-03-01"]
    want = set()
    for pid, col in NS_COLUMNS.items():
        for r in rounds:
            for party in ("USA", "RUS"):
                if not any(x["as_of_date"] == r and x["party"] == party and x[col].strip()
                           for x in rows):
                    want.add((pid, party, r))
    got = {(f.provision_id, f.party, f.details["missing_declaration"]["as_of"])
           for f in findings if "missing_declaration" in f.details}
    assert got == want
    # Russia's 2023 exchange, "Not provided": flagged on each limit, with the US's as evidence
    for pid in NS_COLUMNS:
        (f,) = [f for f in findings if f.provision_id == pid and f.party == "RUS"
                and f.details.get("missing_declaration", {}).get("as_of") == "2023-03-01"]
        assert f.verdict is Verdict.INSUFFICIENT_EVIDENCE
        assert "declaration not provided by its due date" in f.explanation
        assert "due by 2023-03-30" in f.explanation and "USA's for that date" in f.explanation
        assert f.evidence and all(e.startswith("newstart-USA-2023-03-01") for e in f.evidence)
    assert ("NS-II-1a", "USA", "2023-03-01") not in got
    assert not [f for f in findings if f.verdict is Verdict.VIOLATION]


def test_new_start_nothing_is_found_after_the_treaty_lapsed(tmp_path: Path, data_dir: Path) -> None:
    """Declarations dated after 5 February 2026 give no verdict at all, whatever they say."""
    ag, _ = load_agreement_file("new_start")
    for p in ag.provisions:
        start, end = ag.window(p)
        assert (start.date().isoformat(), end.isoformat()) == (
            "2018-02-05", "2026-02-05T00:00:00+00:00")

    def decl(party: str, as_of: str, qty: float) -> dict:
        return {"id": f"late-{party}-{as_of}", "kind": "declaration", "time": f"{as_of}T00:00:00Z",
                "source_id": party, "source_type": "party", "party": party,
                "category": "warheads_on_deployed", "quantity": qty, "as_of": as_of}

    findings = _new_start(tmp_path, data_dir, [
        decl("RUS", "2025-09-01", 1500),  # in force, but Russia declared a suspension
        decl("RUS", "2026-03-01", 1700),  # over the limit, after the lapse: nothing
        decl("USA", "2026-02-05", 1600),  # the day it lapsed (exclusive end): nothing
    ])
    (ok,) = [f for f in findings if f.evidence == ("late-RUS-2025-09-01",) and f.party == "RUS"]
    assert ok.verdict is Verdict.INSUFFICIENT_EVIDENCE  # issue 20: suspended since 2023-02-21
    assert "at or under the limit" in ok.explanation and "not judged compliant" in ok.explanation
    (usa,) = [f for f in findings if f.evidence == ("late-RUS-2025-09-01",) and f.party == "USA"]
    assert usa.details["missing_declaration"] == {"as_of": "2025-09-01", "due": "2025-09-30"}
    assert not [f for f in findings if {"late-RUS-2026-03-01", "late-USA-2026-02-05"}
                & set(f.evidence)]
    assert not [f for f in findings if f.verdict is Verdict.VIOLATION]
    # rounds after the lapse are never due; the last one before it (as of 2025-09-01) is
    due = {f.details["missing_declaration"]["as_of"] for f in findings
           if "missing_declaration" in f.details}
    assert max(due) == "2025-09-01" and not [d for d in due if d >= "2026-02-05"]


# -- item 8: what a record is: a UCDP GED event is a day's fighting, not one explosion -------

UCDP_CLEAN = "events/peacerep_UCDP-Ukraine_ffe58b8_clean_2014-2021.csv"


def test_ucdp_events_are_counted_as_events_from_their_source(tmp_path: Path,
                                                             data_dir: Path) -> None:
    from truceline.adapters.importers import read_records
    from truceline.services.report import daily_report

    store = _store(tmp_path, "minsk2")
    ingest(store, read_records(str(data_dir / UCDP_CLEAN), "ucdp"), on_invalid="skip")
    # one monitor's report of 2 outgoing explosions on a day with GED events, counted apart
    ingest(store, [(1, {"id": "smm-1", "kind": "fire", "time": "2015-03-03T14:00:00+02:00",
                        "source_id": "smm-post-9", "fire_type": "explosion",
                        "explosion_type": "outgoing", "count": 2,
                        "lon": 37.75, "lat": 48.05, "location_uncertainty_m": 300})])
    fire = [o for o in store.observations() if o.kind.value == "fire"]
    ged = [o for o in fire if o.dataset == "ucdp-ged"]
    assert ged and all(o.count_unit is not None and o.count_unit.value == "event" for o in ged)
    findings = run_check(store).findings
    on_ged = [f for f in findings if f.evidence and f.evidence[0].startswith("ucdp-")]
    # one GED event, one finding (counted once), and it says what it counted and from where
    start = "2015-02-14T22:00:00+00:00"
    in_force = [o for o in ged if o.time.isoformat() >= start]
    assert sorted(f.evidence for f in on_ged) == sorted((o.id,) for o in in_force)
    for f in on_ged:
        assert "1 x event (UCDP GED: a day's fighting at one place with at least one death) " \
               "from ucdp-ged" in f.explanation
        assert "explosion" not in f.explanation
        assert f.details["counted"] == {"unit": "event", "sources": ["ucdp-ged"]}
    (smm,) = [f for f in findings if f.evidence == ("smm-1",)]
    assert "2 x explosion (outgoing) from monitor" in smm.explanation
    assert smm.details["counted"] == {"unit": "explosion", "sources": ["monitor"]}

    # the daily report counts the monitor's explosions as violations, GED events apart
    day = "2015-03-03"  # the period 2015-03-02 19:30 .. 2015-03-03 19:30 local
    rep = daily_report(store, day)
    in_period = [o for o in ged if rep.period_start <= o.time < rep.period_end]
    assert in_period, "the test needs a GED event in the period"
    assert rep.counted_apart == {"event (ucdp-ged)": len(in_period)}
    assert rep.violations_total == rep.category_totals["explosion: outgoing"]
    assert "explosion: undetermined" not in rep.category_totals  # GED events are not explosions


def test_a_watched_quiet_side_is_evidence_about_it(front_2025) -> None:
    """Ceasefire: posts watching UA's side and no fire from it are evidence about UA (the
    same RU shot as above); without them UA has no verdict."""
    import copy

    from truceline.services.check import derive_findings

    line, in_ru = front_2025
    _, doc = load_agreement_file("march2025")
    doc = copy.deepcopy(doc)
    doc["min_coverage"] = 0.002  # a handful of posts on a 1,262 km line
    ctx = context_for_doc(doc)
    shot = parse_observation(_shot("cam-ru-1", place(line, 450, 9, in_ru, True), 400))
    posts = []
    for i, km in enumerate(range(420, 481, 10)):
        lon, lat = place(line, km, 3, in_ru, False)
        posts.append(parse_observation({
            "id": f"post-{i}", "kind": "monitoring", "time": "2025-03-27T08:00:00+02:00",
            "end_time": "2025-03-28T08:00:00+02:00", "source_id": f"post-{i}",
            "observer_lon": lon, "observer_lat": lat, "asset_type": "post",
            "asset_status": "active"}))
    _, findings = derive_findings(ctx, [shot, *posts])
    ua = _summary(findings, "M25-ceasefire", "UA")
    assert ua.verdict is Verdict.COMPLIANT, ua.explanation
    assert "UA's side observed (" in ua.explanation and "no fire from it" in ua.explanation
    assert ua.coverage is not None and ua.coverage >= 0.002
    _, alone = derive_findings(ctx, [shot])
    assert _summary(alone, "M25-ceasefire", "UA").verdict is Verdict.INSUFFICIENT_EVIDENCE


# -- property: no "compliant" while an open finding could be the party's --------------------

def _posts(line, inside, want: bool, prefix: str) -> list:
    out = []
    for i, km in enumerate(range(300, 601, 25)):
        lon, lat = place(line, km, 3, inside, want)
        out.append(parse_observation({
            "id": f"{prefix}-{i}", "kind": "monitoring", "time": "2025-03-27T08:00:00+02:00",
            "end_time": "2025-03-28T08:00:00+02:00", "source_id": f"{prefix}-{i}",
            "observer_lon": lon, "observer_lat": lat, "asset_type": "post",
            "asset_status": "active"}))
    return out


@pytest.fixture(scope="module")
def watched_march2025(front_2025):
    import copy

    line, in_ru = front_2025
    _, doc = load_agreement_file("march2025")
    doc = copy.deepcopy(doc)
    doc["min_coverage"] = 0.002
    ctx = context_for_doc(doc)
    posts = _posts(line, in_ru, False, "ua-post") + _posts(line, in_ru, True, "ru-post")
    spots = {(km, side): place(line, km, 2, in_ru, side == "RU")
             for km in (320, 410, 500, 590) for side in ("UA", "RU")}
    return ctx, posts, spots


def test_property_no_compliant_verdict_with_an_open_doubt(watched_march2025) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    ctx, posts, spots = watched_march2025
    compliant: list[str | None] = []  # the property must not hold vacuously
    p_ru = st.sampled_from([0.0, 0.02, 0.1, 0.5, 0.85, 0.9, 0.97, 1.0]) | st.floats(0.0, 1.0)
    incident = st.tuples(st.sampled_from(sorted(spots)), p_ru,
                         st.booleans(), st.integers(0, 20))

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(incident, max_size=5), st.sampled_from([0.01, 0.05, 0.2]))
    def run(incs: list, doubt: float) -> None:
        ag = ctx.agreement.model_copy(update={"doubt_threshold": doubt})
        obs, made = list(posts), []
        for n, ((km, side), p_ru, located, hour) in enumerate(incs):
            lon, lat = spots[(km, side)]
            o = parse_observation({**_shot(f"s{n}", (lon, lat), 500),
                                   "time": f"2025-03-27T{8 + hour % 12:02d}:30:00+02:00"})
            obs.append(o)
            made.append(Incident(
                id=f"i-s{n}", kind="fire", time=o.time.isoformat(), evidence=(o.id,),
                fire_type="explosion", explosion_type="outgoing",
                origin=Located(lon, lat, (2.5e5, 0.0, 2.5e5)) if located else None,
                impact=None if located else Located(lon, lat, (2.5e5, 0.0, 2.5e5)),
                party_probability={"RU": round(p_ru, 4), "UA": round(1 - p_ru, 4)}
                if located else {}))
        from truceline.services.check import derive_coverage

        ev = gather(ctx.geometry, obs, made, derive_coverage(ctx, obs))
        findings = check(ag, ctx.geometry, ev)
        compliant.extend(f.party for f in findings
                         if not f.evidence and f.verdict is Verdict.COMPLIANT)
        for s in findings:
            if s.evidence or s.verdict is not Verdict.COMPLIANT:
                continue
            for f in findings:
                if f.provision_id != s.provision_id or not f.evidence:
                    continue
                assert not (f.verdict is Verdict.VIOLATION and f.party is None), s.explanation
                assert not (f.verdict is Verdict.VIOLATION and f.party == s.party)
                if f.verdict is not Verdict.INSUFFICIENT_EVIDENCE:
                    continue
                probs = f.details.get("probabilities")
                if probs:  # undecided: the party's probability is below the doubt threshold
                    assert probs.get(s.party, 0.0) < doubt, s.explanation
                else:  # no probabilities: it names another party
                    assert f.party is not None and f.party != s.party, s.explanation

    run()
    assert {"UA", "RU"} <= set(compliant)
