"""Redaction for everyone outside the mission (parties, guarantors, the public).

Pure functions over JSON-ready records. Two promises, tested on every outward response:

* **no monitor identities**: a ``source_id`` becomes a stable pseudonym (HMAC of the id under a
  per-store secret), so an outsider can tell that two reports came from one source without
  learning which; signatures, which would identify the signer by trial against public keys,
  are dropped;
* **no exact positions**: observer positions (and the bearing and distance band that would lead
  back to them) are removed, and every event location is moved to the centre of its cell on a
  regular grid (``redaction_grid_deg``, 0.05° by default: about 5.5 km north-south and 3.7 km
  east-west at 48°N), including coordinates written into explanation text.

Distances to the line stay exact: they are what a finding is about, and what a party disputes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import partial
from typing import Any

from truceline.core.coverage_inputs import period_start
from truceline.core.findings import Finding, is_summary, iso
from truceline.core.observations import Observation
from truceline.core.reporting import DailyReport
from truceline.core.rules.status import source_words
from truceline.core.wording import place_words

DEFAULT_GRID_DEG = 0.05

#: Observation fields an outsider never sees (observer position and what would recover it).
_OBSERVER_FIELDS = frozenset({
    "observer_lon", "observer_lat", "bearing_deg", "bearing_sd_deg", "distance_min_m",
    "distance_max_m", "arrival_time", "signature", "description", "dataset_ref",
})
#: Finding details an outsider may see (the rest may carry fusion internals).
#: (A limit's reconciled figures, discrepancy and a party's suspension say no more than the
#: explanation does.)
_FINDING_DETAILS = frozenset({"attribution", "probabilities", "quantity", "limit", "as_of",
                              "figures", "discrepancy", "suspension"})
_COORDS_IN_TEXT = re.compile(r"(-?\d{1,2}\.\d+)N (-?\d{1,3}\.\d+)E")


def pseudonym(source_id: str, secret: bytes) -> str:
    """A stable, unlinkable-without-the-secret name for a source."""
    return "source-" + hmac.new(secret, source_id.encode(), hashlib.sha256).hexdigest()[:12]


def coarsen(lon: float, lat: float, grid: float = DEFAULT_GRID_DEG) -> tuple[float, float]:
    """The centre of the ``grid``-degree cell holding (lon, lat)."""
    def centre(v: float) -> float:
        return round((math.floor(v / grid) + 0.5) * grid, 6)

    return centre(lon), centre(lat)


def coarsen_text(text: str, grid: float = DEFAULT_GRID_DEG) -> str:
    """Replace ``48.3538N 38.0037E`` style coordinates in prose with their cell centres."""
    def sub(m: re.Match[str]) -> str:
        lon, lat = coarsen(float(m.group(2)), float(m.group(1)), grid)
        return f"{lat:.3f}N {lon:.3f}E (cell centre)"

    return _COORDS_IN_TEXT.sub(sub, text)


def _point(rec: dict[str, Any], lon_key: str, lat_key: str, grid: float) -> None:
    if rec.get(lon_key) is not None and rec.get(lat_key) is not None:
        rec[lon_key], rec[lat_key] = coarsen(rec[lon_key], rec[lat_key], grid)


def redact_observation(rec: dict[str, Any], secret: bytes, grid: float) -> dict[str, Any]:
    out = {k: v for k, v in rec.items() if k not in _OBSERVER_FIELDS}
    out["source_id"] = pseudonym(str(rec["source_id"]), secret)
    _point(out, "lon", "lat", grid)
    out.pop("location_uncertainty_m", None)
    out["location_precision"] = f"grid {grid:g} deg"
    return out


#: What stands in an explanation for a monitor's free text (see :func:`redact_finding`).
WITHHELD = "(the monitors' description withheld)"
#: Findings whose explanation quotes their evidence's free text (a restriction's description).
QUOTING = frozenset({"freedom_of_movement"})


def share_final(rec: dict[str, Any]) -> bool:
    """Whether a finding's ``coverage`` is final: its provision's window has ended and the
    share runs to its end. Until then each check moves the share's end to the latest
    evidence, and two readings a few hours apart give the observed share of the party's side
    over those hours (the cumulative shares differenced), hour by hour: what ``/coverage``
    refuses outside the mission. The verdict stays (it says whether the share reached
    ``min_coverage``, not how it grows); the shares of ended periods are ``/coverage``'s."""
    end = rec.get("window_end")
    return end is not None and rec.get("time") is not None and (
        _instant(str(rec["time"])) == _instant(str(end)))


def _instant(text: str) -> datetime | str:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return text


#: A summary's share in its explanation (core.verdicts.Builder.coverage_of and summaries).
_SHARE_IN_TEXT = (
    (re.compile(r"observed \d+ % of (\S+) side \((.*?), within (\S+ km of the line), "
                r"[^()]+\), below (min_coverage \d+ %)"),
     r"observed \1 side below \4 (\2, within \3)"),
    (re.compile(r"(\S+) side observed \(\d+ %\)"), r"\1 side observed"),
)
SHARE_WITHHELD = ("(the observed share is given outside the mission once the provision's "
                  "window has ended; the share of each ended reporting period: GET /coverage)")


def withhold_share(rec: dict[str, Any]) -> dict[str, Any]:
    """A finding whose share is not final (:func:`share_final`) without it, in its
    ``coverage`` and in its explanation."""
    if rec.get("coverage") is None or share_final(rec):
        return rec
    text = str(rec.get("explanation", ""))
    for pattern, words in _SHARE_IN_TEXT:
        text = pattern.sub(words, text)
    return {**rec, "coverage": None, "explanation": f"{text} {SHARE_WITHHELD}"}


def frontier_open(rec: dict[str, Any]) -> bool:
    """Whether a finding's ``time`` is the frontier of the mission's watch: a summary
    (:func:`~truceline.core.findings.is_summary`) that cites no record, whose window had not
    ended. Its time is then the check's "as of", the latest time the counted records speak
    for: the latest end of a post's or patrol's hours (committed in the log), which each check
    moves on. A summary citing records (a status shown) is as of its latest record, whose time
    the log keeps in clear; an event finding is the event's time."""
    if rec.get("time") is None or rec.get("evidence") or share_final(rec):
        return False
    return is_summary(str(rec.get("id")), str(rec.get("provision_id")), rec.get("party"), ())


AS_OF_WITHHELD = ("outside the mission a time within the reporting period still running "
                  "is not given")


def withhold_frontier(rec: dict[str, Any],
                      period_start: Callable[[datetime], datetime]) -> dict[str, Any]:
    """An open summary (:func:`frontier_open`) as of the start of the reporting period its
    time falls in (the end of the last period that has ended, as ``GET /coverage`` gives an
    outsider), or of its window's start if later, in ``time`` and in its explanation's
    "(as of T)", which then says the exact time is not given. ``period_start``: the start of
    the period a time falls in (:func:`~truceline.core.coverage_inputs.period_start`)."""
    if not frontier_open(rec):
        return rec
    raw = str(rec["time"])
    t = datetime.fromisoformat(raw)
    shown = period_start(t)
    if rec.get("window_start") is not None:
        shown = max(shown, datetime.fromisoformat(str(rec["window_start"])))
    if shown >= t:
        return rec
    said = iso(shown)
    text = str(rec.get("explanation", "")).replace(
        f"(as of {raw})", f"(as of the latest evidence, later than {said}: {AS_OF_WITHHELD})")
    return {**rec, "time": said, "explanation": text.replace(raw, f"{said} or later")}


#: Findings whose explanation cites their evidence's source (core.rules.status).
CITING = frozenset({"non_accession", "neutrality"})
#: A suspension notified by an observation (core.suspensions.from_observations) names it so.
_NOTICE = re.compile(r"^(?P<text>.*) \(record (?P<id>.+) from (?P<source>.+)\)$", re.DOTALL)
NOTICE_WITHHELD = "(the notice's text withheld)"


def quotes(f: Finding, observation: Callable[[str], Observation | None],
           secret: Callable[[], bytes]) -> dict[str, str]:
    """What a finding quotes of records an outsider never reads on the record itself, and
    what stands for it outside the mission: a status record's source id (its pseudonym) and
    ``dataset_ref``; a suspension notice's text and source id. A monitor's report of a
    party's status or of its notice would otherwise name the monitor to the party.
    ``secret`` gives the pseudonyms' secret (asked only when a finding quotes a source)."""
    out: dict[str, str] = {}
    if f.rule_kind in CITING:
        for oid in f.evidence:
            o = observation(oid)
            if o is not None:
                said = f"source: {pseudonym(o.source_id, secret())}"
                out[source_words(o)] = said + (f" ({o.dataset})" if o.dataset else "")
    sus = f.details.get("suspension")
    m = _NOTICE.match(str(sus.get("source", ""))) if isinstance(sus, dict) else None
    if m is not None:
        o = observation(m["id"])
        known = o is not None and (o.description, o.source_id) == (m["text"], m["source"])
        out[m.string] = (f"{NOTICE_WITHHELD} (record {m['id']} from "
                         f"{pseudonym(m['source'], secret())})" if known else NOTICE_WITHHELD)
    return out


def redact_finding(rec: dict[str, Any], grid: float, free_text: Iterable[str] = (),
                   quoted: Mapping[str, str] | None = None, *,
                   period_start: Callable[[datetime], datetime]) -> dict[str, Any]:
    """A finding for outsiders: coarsened, the outsiders' details only, a share of coverage
    only once final (:func:`withhold_share`), an open summary's time only to its reporting
    period (:func:`withhold_frontier`, with ``period_start``), and every one of ``free_text`` (the
    descriptions of its evidence, which an outsider never reads on the observation itself)
    cut out of the explanation; ``quoted`` (:func:`quotes`) rewritten there and in its
    suspension's source."""
    out = dict(withhold_frontier(withhold_share(rec), period_start))
    _point(out, "lon", "lat", grid)
    text = str(out.get("explanation", ""))
    for t in sorted({t for t in free_text if t}, key=len, reverse=True):
        text = text.replace(t, WITHHELD)
    for raw, said in sorted((quoted or {}).items(), key=lambda x: len(x[0]), reverse=True):
        text = text.replace(raw, said)
    out["explanation"] = coarsen_text(text, grid)
    out["details"] = {k: v for k, v in (rec.get("details") or {}).items()
                      if k in _FINDING_DETAILS}
    sus = out["details"].get("suspension")
    if isinstance(sus, dict) and quoted and sus.get("source") in quoted:
        out["details"]["suspension"] = {**sus, "source": quoted[sus["source"]]}
    return out


def redact_incident(rec: dict[str, Any], grid: float) -> dict[str, Any]:
    out = {k: v for k, v in rec.items() if k != "details"}
    for key in ("origin", "impact", "location"):
        loc = rec.get(key)
        if loc is not None:
            lon, lat = coarsen(loc["lon"], loc["lat"], grid)
            out[key] = {"lon": lon, "lat": lat, "cov_m2": None}
    out["details"] = {}
    return out


#: Coverage answer fields an outsider sees: shares and gaps along the line, never the assets.
_COVERAGE_FIELDS = frozenset({
    "agreement", "version", "start", "end", "kinds", "below", "min_coverage", "assessed",
    "reason", "line", "band_km", "as_of", "line_share", "parties", "sectors", "gaps",
})


def redact_coverage(rec: dict[str, Any]) -> dict[str, Any]:
    """A coverage answer for outsiders: the listed fields only (no asset ids or positions)."""
    return {k: v for k, v in rec.items() if k in _COVERAGE_FIELDS}


def withhold_coverage(r: DailyReport) -> DailyReport:
    """An outsider's report of a period that has not ended in the monitoring records: its
    observed shares and gaps (text and map) withheld. Read again as the records come in,
    they would show the monitors' movements hour by hour; ``GET /coverage`` refuses such a
    period alike."""
    cov = {k: v for k, v in r.coverage.items() if k not in ("observed", "not_covered")}
    cov["observed_withheld"] = ("outside the mission, coverage is given for a reporting "
                                "period once it has ended in the record")
    return dataclasses.replace(r, coverage=cov, uncovered=[])


def redact_report(r: DailyReport, findings: list[Finding], grid: float,
                  quoted: Callable[[Finding], Mapping[str, str]] = lambda f: {}
                  ) -> DailyReport:
    """A report for outsiders: only ``findings`` (already filtered), every location coarsened,
    no error ellipses (their centres are exact), no free-text restriction descriptions, and
    no overdue-acknowledgement lines (they count notifications about findings the reader may
    not see; a guarantor or party reads its own at ``GET /notifications``). An event's or a
    restriction's party is shown only where a finding the reader sees names it; places in
    words are said of the coarsened point; cameras down keep their hours, not which camera
    or where (the mission's assets are not public)."""
    by_incident = {f.incident_id: f.party for f in findings if f.incident_id and f.party}
    by_evidence = {e: r.party_name(f.party) for f in findings
                   if f.rule_kind == "freedom_of_movement" and f.party for e in f.evidence}
    events = []
    for e in r.events:
        lon, lat = coarsen(e["lon"], e["lat"], grid)
        impact = list(coarsen(e["impact"][0], e["impact"][1], grid)) if e.get("impact") else None
        events.append({**e, "lon": lon, "lat": lat, "ellipse": None, "impact": impact,
                       "party": by_incident.get(e["id"])})
    restrictions = []
    for x in r.restrictions:
        y = {**x, "description": "", "party": by_evidence.get(x["id"], "")}
        _point(y, "lon", "lat", grid)
        y["place"] = _place(y, grid)
        restrictions.append(y)
    harm = []
    for x in r.civilian_harm:
        y = {**x, "description": ""}
        _point(y, "lon", "lat", grid)
        y["place"] = _place(y, grid)
        harm.append(y)
    cameras = [{**x, "camera": "camera", "place": "withheld"} for x in r.cameras_down]
    said = {x["id"]: x.get("description") or "" for x in r.restrictions}
    starts = partial(period_start, r.agreement)
    fs = [Finding.from_record(redact_finding(
        f.to_record(), grid, [said.get(e, "") for e in f.evidence] if f.rule_kind in QUOTING
        else (), quoted(f), period_start=starts)) for f in findings]
    aggregates = [{**a, "ref": ""} for a in r.aggregates]  # as an observation's dataset_ref
    return dataclasses.replace(r, findings=fs, events=events, restrictions=restrictions,
                               civilian_harm=harm, cameras_down=cameras, awaiting=[],
                               aggregates=aggregates)


def _place(rec: dict[str, Any], grid: float) -> str:
    """A coarsened point in words, saying it is only the grid cell's centre."""
    if rec.get("lon") is None or rec.get("lat") is None:
        return "place not reported"
    return f"{place_words(rec['lon'], rec['lat'])} (within a {grid:g} degree cell)"
