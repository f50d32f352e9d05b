"""Score the pipeline against a simulated truth: grouping, location, attribution, findings,
detection. Pure: takes plain records (truth, observations, incidents, findings), returns numbers.

Definitions worth knowing (also in ``docs/simulation.md``):

* **grouping** compares the partition of fire observations into incidents with the true events
  (adjusted Rand index, Hubert & Arabie 1985; pairwise precision/recall over same-cluster pairs).
  ``by_part`` uses (event, origin|impact) as the truth, for fusion that keeps them apart.
* **location** error is geodesic metres from the estimate to the true origin/impact; the
  Cramér–Rao lower bound (CRLB) is the RMS bound ``sqrt(trace(J^-1))`` from the Fisher
  information ``J`` of that event's bearings (each ``sigma``) and acoustic arrival times
  (``sensor_timing_sd_s``, emission time a nuisance unknown). The ratio is the median over
  events of error/bound: an efficient unbiased estimator gives ~0.83 for round error ellipses
  (median of a Rayleigh over its RMS) and down to ~0.67 for very elongated ones.
* **attribution** uses the incident's ``party_probability`` (or, before fusion, the
  probabilities the ceasefire finding states); Brier = mean of sum over parties of
  (p - outcome)^2 (0 best, 2 worst).
* **findings**: a violation finding counts as correct when its evidence belongs (by majority)
  to a truly violating event or planted item, it names the true party, and no finding before
  it was counted for that item (a second one is a ``double_count``: one event, once).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from truceline.core.classify import CompiledGeometry
from truceline.core.geo import GEOD
from truceline.simulation.bias_flags import score_calibration
from truceline.simulation.crlb import (
    crlb_rms,
    event_crlb,
    fisher_bearings,
    fisher_tdoa,
    says_firing,
    supportable_origins,
)
from truceline.simulation.verdicts import (
    MISS_REASONS,
    PRECISION_MISSES,
    counts_text,
    score_findings,
    summary_text,
)

__all__ = ["MISS_REASONS", "PRECISION_MISSES", "adjusted_rand_index", "brier_score",
           "counts_text", "crlb_rms", "evaluate", "event_crlb", "fisher_bearings", "fisher_tdoa",
           "pairwise_precision_recall", "reliability_table", "render_markdown", "site_of",
           "summary_text"]

F64 = NDArray[np.float64]

# ----------------------------------------------------------------------------------------------
# grouping
# ----------------------------------------------------------------------------------------------


def _contingency(labels_true: Sequence[Any], labels_pred: Sequence[Any]) -> tuple[F64, F64, F64]:
    if len(labels_true) != len(labels_pred):
        raise ValueError("labels_true and labels_pred must have the same length")
    _, ti = np.unique(np.asarray(labels_true, dtype=object).astype(str), return_inverse=True)
    _, pi = np.unique(np.asarray(labels_pred, dtype=object).astype(str), return_inverse=True)
    cells = Counter(zip(ti.tolist(), pi.tolist(), strict=True))
    nij = np.array(list(cells.values()), float)
    a = np.bincount(ti).astype(float)
    b = np.bincount(pi).astype(float)
    return nij, a, b


def _pairs(x: F64) -> float:
    return float((x * (x - 1) / 2).sum())


def adjusted_rand_index(labels_true: Sequence[Any], labels_pred: Sequence[Any]) -> float:
    """Adjusted Rand index (Hubert & Arabie 1985): 1 for identical partitions, ~0 at chance.

    >>> adjusted_rand_index([0, 0, 1, 1], [5, 5, 7, 7])
    1.0
    """
    n = len(labels_true)
    if n < 2:
        return 1.0
    nij, a, b = _contingency(labels_true, labels_pred)
    index, sa, sb = _pairs(nij), _pairs(a), _pairs(b)
    expected = sa * sb / (n * (n - 1) / 2)
    maximum = (sa + sb) / 2
    if maximum == expected:  # both all-singletons or both one cluster: identical or degenerate
        return 1.0
    return float((index - expected) / (maximum - expected))


def pairwise_precision_recall(labels_true: Sequence[Any], labels_pred: Sequence[Any]
                              ) -> tuple[float | None, float | None]:
    """Of the pairs grouped together, the share truly together; and of the true pairs, the share
    grouped together. ``None`` when there is no pair to count (e.g. all singletons)."""
    nij, a, b = _contingency(labels_true, labels_pred)
    both, pred, true = _pairs(nij), _pairs(b), _pairs(a)
    return (both / pred if pred else None), (both / true if true else None)


#: chi-square(2) quantile at 0.95: the stated 95 % ellipse is ``d^T C^-1 d <= CHI2_95``.
CHI2_95 = 5.991464547107979


def ellipse_covers(cov_m2: Sequence[float], az_deg: float, dist_m: float) -> bool:
    """Whether the truth, ``dist_m`` away from the estimate at azimuth ``az_deg``, lies inside
    the estimate's 95 % ellipse (covariance ``(var_e, cov_en, var_n)`` in m^2).

    >>> c = (100.0, 0.0, 100.0)  # 10 m (1 sigma) each way: the ellipse's radius is 24.5 m
    >>> ellipse_covers(c, 0.0, 24.0), ellipse_covers(c, 90.0, 25.0)
    (True, False)
    """
    ve, c, vn = (float(v) for v in cov_m2)
    det = ve * vn - c * c
    if not det > 0:
        return False
    a = math.radians(az_deg)
    de, dn = dist_m * math.sin(a), dist_m * math.cos(a)
    return (vn * de * de - 2 * c * de * dn + ve * dn * dn) / det <= CHI2_95


# ----------------------------------------------------------------------------------------------
# attribution
# ----------------------------------------------------------------------------------------------


def brier_score(probabilities: Sequence[Mapping[str, float]], outcomes: Sequence[str],
                parties: Sequence[str]) -> float | None:
    """Mean over cases of sum over parties of (p - 1[party is the outcome])^2."""
    if not outcomes:
        return None
    total = 0.0
    for probs, truth in zip(probabilities, outcomes, strict=True):
        total += sum((float(probs.get(p, 0.0)) - (1.0 if p == truth else 0.0)) ** 2
                     for p in parties)
    return total / len(outcomes)


def reliability_table(confidence: Sequence[float], correct: Sequence[bool], bins: int = 10
                      ) -> list[dict[str, Any]]:
    """Claimed probability of the named party (binned) against how often it was right."""
    c = np.asarray(confidence, float)
    ok = np.asarray(correct, bool)
    k = np.clip((c * bins).astype(int), 0, bins - 1)
    out = []
    for b in range(bins):
        m = k == b
        if m.any():
            out.append({"bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}", "n": int(m.sum()),
                        "claimed": round(float(c[m].mean()), 4),
                        "observed": round(float(ok[m].mean()), 4)})
    return out


# ----------------------------------------------------------------------------------------------
# the whole evaluation
# ----------------------------------------------------------------------------------------------


def _quantiles(x: Sequence[float]) -> dict[str, Any]:
    a = np.asarray(x, float)
    if not len(a):
        return {"n": 0, "median_m": None, "p90_m": None}
    return {"n": len(a), "median_m": round(float(np.median(a)), 1),
            "p90_m": round(float(np.quantile(a, 0.9)), 1)}


def evaluate(
    truth: Sequence[Mapping[str, Any]],
    observations: Mapping[str, Mapping[str, Any]],
    stored_ids: set[str],
    incidents: Sequence[Mapping[str, Any]],
    findings: Sequence[Mapping[str, Any]],
    *,
    parties: Sequence[str],
    sensor_timing_sd_s: float,
    sources: Sequence[Mapping[str, Any]] | None = None,
    line_lonlat: Sequence[F64] | None = None,
    confidence: float = 0.9,
    geometry: CompiledGeometry | None = None,
) -> dict[str, Any]:
    """Every figure of the evaluation as a JSON-ready dict.

    Parameters
    ----------
    truth : the simulator's truth records (events, planted items, sources...).
    observations : the simulated observation records by id (for the CRLB geometry).
    stored_ids : ids of the observations the pipeline stored (ingested).
    incidents : ``Incident.to_record()`` dicts; findings: ``Finding.to_record()`` dicts.
    sources : the check's per-source estimates (``services.sources.source_estimates``);
        scored against the posts' ``bearing_bias_deg`` (0 where the truth has none).
    line_lonlat : the parts of the line of contact (lon/lat arrays); with it, each finding
        row also gives the recall over the violations the evidence could support
        (:func:`~truceline.simulation.crlb.supportable_origins` at ``confidence``, the
        agreement's ``attribution_confidence``).
    geometry : the agreement's compiled geometry; with it (and ``line_lonlat``) that recall is
        judged by the party's area of control, as findings are attributed (session 41), and
        the line's side is given beside it (``recall_supportable_line``).
    """
    events = [r for r in truth if r.get("type") == "event"]
    planted = [r for r in truth if r.get("type") == "planted"]
    obs_event: dict[str, str] = {}
    obs_part: dict[str, str] = {}
    for e in events:
        for part, ids in e["reports"].items():
            for oid in ids:
                obs_event[oid] = e["id"]
                obs_part[oid] = f"{e['id']}/{part}"
    obs_item = dict(obs_event)
    for p in planted:
        for oid in p["observation_ids"]:
            obs_item[oid] = p["id"]
    inc_of: dict[str, str] = {}
    for inc in incidents:
        for oid in inc.get("evidence", []):
            inc_of.setdefault(oid, inc["id"])

    # grouping over the stored fire observations that belong to true events
    fire = sorted(i for i in obs_event if i in stored_ids)
    pred = [inc_of.get(i, "unassigned:" + i) for i in fire]
    grouping: dict[str, Any] = {"observations": len(fire),
                                "incidents": len({p for p in pred})}
    for name, truth_of in (("by_event", obs_event), ("by_part", obs_part)):
        lab = [truth_of[i] for i in fire]
        prec, rec = pairwise_precision_recall(lab, pred)
        grouping[name] = {"ari": round(adjusted_rand_index(lab, pred), 4),
                          "pair_precision": None if prec is None else round(prec, 4),
                          "pair_recall": None if rec is None else round(rec, 4)}

    # the incident that says most about each event (and each part)
    share: dict[str, Counter[str]] = defaultdict(Counter)
    for inc in incidents:
        for oid in inc.get("evidence", []):
            if oid in obs_part:
                share[obs_part[oid]][inc["id"]] += 1
                share[obs_event[oid]][inc["id"]] += 1
    inc_by_id = {i["id"]: i for i in incidents}
    probs_from_findings: dict[str, dict[str, float]] = {}
    for f in findings:
        pr = (f.get("details") or {}).get("probabilities")
        if f.get("incident_id") and pr:
            probs_from_findings[f["incident_id"]] = pr

    location: dict[str, Any] = {}
    for part in ("origin", "impact"):
        errs, ratios, bounds, inside = [], [], [], []
        for e in events:
            key = f"{e['id']}/{part}"
            cands = [inc_by_id[i] for i, _ in share[key].most_common() if inc_by_id[i].get(part)]
            if not cands:
                continue
            est = cands[0][part]
            az, _, d = GEOD.inv(est["lon"], est["lat"], e[part]["lon"], e[part]["lat"])
            errs.append(float(d))
            if est.get("cov_m2"):
                inside.append(ellipse_covers(est["cov_m2"], float(az), float(d)))
            wild = set(e.get("wild", ()))
            reps = [observations[i] for i in e["reports"][part]
                    if i not in wild and i in observations and i in stored_ids]
            bound = event_crlb((e[part]["lon"], e[part]["lat"]), reps, sensor_timing_sd_s)
            if math.isfinite(bound) and bound > 0:
                bounds.append(bound)
                ratios.append(float(d) / bound)
        q = _quantiles(errs)
        q["located_share"] = round(len(errs) / len(events), 4) if events else None
        q["crlb_median_m"] = round(float(np.median(bounds)), 1) if bounds else None
        q["ratio_to_crlb_median"] = round(float(np.median(ratios)), 3) if ratios else None
        q["ellipse_n"] = len(inside)
        q["ellipse_coverage"] = round(float(np.mean(inside)), 4) if inside else None
        location[part] = q

    # attribution: one claim per event, from the attributed incident holding most of its
    # origin reports (else from its main incident, e.g. findings made before fusion)
    def probs_of(inc_id: str) -> Mapping[str, float] | None:
        return inc_by_id[inc_id].get("party_probability") or probs_from_findings.get(inc_id)

    claims, outcomes, conf, right, near_ok = [], [], [], [], []
    for e in events:
        ranked = [i for i, _ in share[f"{e['id']}/origin"].most_common() if probs_of(i)]
        ranked += [i for i, _ in share[e["id"]].most_common(1) if probs_of(i)]
        for inc_id in ranked[:1]:
            probs = probs_of(inc_id)
            assert probs
            best = max(probs, key=lambda k: (probs[k], k))
            claims.append(probs)
            outcomes.append(e["party"])
            conf.append(float(probs[best]))
            right.append(best == e["party"])
            bearings = sum(1 for i in e["reports"]["origin"] if i in stored_ids
                           and "bearing_deg" in observations.get(i, {}))
            if e["origin"].get("dist_to_line_m", 0.0) >= 2000.0 and bearings >= 3:
                near_ok.append(best == e["party"])
    attribution = {
        "claims": len(claims), "events": len(events),
        "accuracy": round(float(np.mean(right)), 4) if right else None,
        "accuracy_2km_3_bearings": round(float(np.mean(near_ok)), 4) if near_ok else None,
        "brier": None if not claims else round(brier_score(claims, outcomes, parties) or 0.0, 4),
        "reliability": reliability_table(conf, right),
    }

    fired = [e for e in events if e.get("violates")]
    sup_line = None if line_lonlat is None else supportable_origins(
        fired, observations, stored_ids, line_lonlat, sensor_timing_sd_s, confidence)
    sup = sup_line if geometry is None or line_lonlat is None else supportable_origins(
        fired, observations, stored_ids, line_lonlat, sensor_timing_sd_s, confidence, geometry)
    out = {"grouping": grouping, "location": location, "attribution": attribution,
           "findings": score_findings(events, planted, obs_item, findings, stored_ids,
                                      {k: str(o.get("source_id")) for k, o in
                                       observations.items()},
                                      {k: site_of(o) for k, o in observations.items()},
                                      sup, _untyped(events, observations, stored_ids),
                                      sup_line if geometry is not None else None),
           "detection": _detection(events, stored_ids, inc_of)}
    copies = {r["id"] for r in truth if r.get("type") == "resubmission"}
    if copies:
        out["resubmissions"] = _resubmissions(copies, incidents, findings)
    if sources is not None:
        out["calibration"] = score_calibration(truth, observations, stored_ids, sources,
                                                site_of)
    return out


def _resubmissions(copies: set[str], incidents: Sequence[Mapping[str, Any]],
                   findings: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What the resubmitted copies (truth ``resubmission`` records) did: counted once, they
    are in no evidence, and no incident or finding stands on copies alone."""
    def only(ev: Sequence[str]) -> bool:
        return bool(ev) and all(i in copies for i in ev)

    evs = [inc.get("evidence") or [] for inc in incidents]
    fevs = [(f.get("evidence") or [], f.get("verdict")) for f in findings]
    return {"copies": len(copies),
            "copies_in_incidents": sum(1 for ev in evs for i in ev if i in copies),
            "incidents_only_copies": sum(1 for ev in evs if only(ev)),
            "findings_with_copies": sum(1 for ev, _ in fevs if any(i in copies for i in ev)),
            "findings_only_copies": sum(1 for ev, _ in fevs if only(ev)),
            "violation_findings_only_copies": sum(1 for ev, v in fevs
                                                  if only(ev) and v == "violation")}


def _detection(events: Sequence[Mapping[str, Any]], stored_ids: set[str],
               inc_of: Mapping[str, str]) -> dict[str, Any]:
    n = len(events)
    could = [e for e in events if e.get("observable")]
    could_free = sum(1 for e in events if e.get("observable_without_restrictions"))
    def ids(e: Mapping[str, Any]) -> list[str]:
        return [*e["reports"]["origin"], *e["reports"]["impact"]]

    reported = [e for e in could if any(i in stored_ids for i in ids(e))]
    in_inc = sum(1 for e in could if any(i in inc_of for i in ids(e)))

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    return {"events": n, "observable": len(could), "observable_share": ratio(len(could), n),
            "observable_without_restrictions_share": ratio(could_free, n),
            "reported": len(reported), "reported_share_of_observable":
                ratio(len(reported), len(could)),
            "in_incident_share_of_observable": ratio(in_inc, len(could))}


def _untyped(events: Sequence[Mapping[str, Any]], observations: Mapping[str, Mapping[str, Any]],
             stored_ids: set[str]) -> set[str]:
    """The events none of whose stored origin reports says it is a firing (a monitor's
    ``outgoing``, a camera's muzzle flash): only arrivals and "undetermined" bangs, which a
    fusion cannot tell from a burst without placing them first."""
    return {e["id"] for e in events
            if not any(says_firing(observations.get(i, {})) for i in e["reports"]["origin"]
                       if i in stored_ids)}


def site_of(o: Mapping[str, Any]) -> str:
    """The site a report came from: an acoustic sensor's array (the simulator names a sensor
    ``<array>-<index>``), any other source itself. One array's arrivals give one bearing.

    >>> site_of({"source_id": "ac012-ru-00140", "source_type": "sensor"})
    'ac012-ru'
    >>> site_of({"source_id": "op-ru-0003", "source_type": "monitor"})
    'op-ru-0003'
    """
    sid = str(o.get("source_id"))
    return sid.rsplit("-", 1)[0] if o.get("source_type") == "sensor" and "-" in sid else sid


def render_markdown(report: Mapping[str, Any]) -> str:
    """The evaluation as Markdown tables (what the CLI prints and the benchmarks record)."""

    def v(x: Any) -> str:
        return "n/a" if x is None else (f"{x:.4g}" if isinstance(x, float) else str(x))

    g, loc, at, det = (report["grouping"], report["location"], report["attribution"],
                       report["detection"])
    lines = ["| grouping | ARI | pair precision | pair recall |", "|---|---|---|---|"]
    for k in ("by_event", "by_part"):
        lines.append(f"| {k} ({g['observations']} obs, {g['incidents']} incidents) | "
                     f"{v(g[k]['ari'])} | {v(g[k]['pair_precision'])} | {v(g[k]['pair_recall'])} |")
    lines += ["", "| location | located | median m | p90 m | CRLB median m | median error/CRLB "
              "| truth inside the 95 % ellipse |", "|---|---|---|---|---|---|---|"]
    for k in ("origin", "impact"):
        q = loc[k]
        lines.append(f"| {k} | {v(q['located_share'])} | {v(q['median_m'])} | {v(q['p90_m'])} | "
                     f"{v(q['crlb_median_m'])} | {v(q['ratio_to_crlb_median'])} | "
                     f"{v(q.get('ellipse_coverage'))} ({q.get('ellipse_n', 0)}) |")
    lines += ["", "| attribution | claims / events | accuracy | accuracy (>=2 km, >=3 bearings) "
              "| Brier |", "|---|---|---|---|---|",
              f"| all | {at['claims']} / {at['events']} | {v(at['accuracy'])} | "
              f"{v(at['accuracy_2km_3_bearings'])} | {v(at['brier'])} |"]
    if at["reliability"]:
        lines += ["", "| claimed p | n | mean claimed | observed |", "|---|---|---|---|"]
        lines += [f"| {r['bin']} | {r['n']} | {r['claimed']} | {r['observed']} |"
                  for r in at["reliability"]]
    lines += ["", "| provision | party | true | found | recall | true observable | found "
              "observable | recall (observable) | violation findings | precision "
              "| unattributed | insufficient | insufficient on true | compliant despite "
              "| summary verdicts |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["findings"]:
        lines.append(f"| {r['provision']} | {v(r['party'])} | {r['true_violations']} | "
                     f"{r['found']} | {v(r['recall'])} | {r['true_observable']} | "
                     f"{r['found_observable']} | {v(r['recall_observable'])} | "
                     f"{r['violation_findings']} | "
                     f"{v(r['precision'])} | {r['unattributed']} | {r['insufficient_evidence']} "
                     f"| {r['insufficient_on_true_violation']} | "
                     f"{r['compliant_despite_violation']} | {summary_text(r['summary'])} |")
    missed = [r for r in report["findings"] if r["misses"] or r["precision_misses"]]
    if missed:
        lines += ["", "| provision | party | why true violations were missed | why violation "
                  "findings were wrong |", "|---|---|---|---|"]
        for r in missed:
            lines.append(f"| {r['provision']} | {v(r['party'])} | "
                         f"{counts_text(r['misses'])} | {counts_text(r['precision_misses'])} |")
    lines += ["", "| detection | events | observable | observable w/o restrictions | "
              "reported / observable | in an incident / observable |", "|---|---|---|---|---|---|",
              f"| all | {det['events']} | {v(det['observable_share'])} | "
              f"{v(det['observable_without_restrictions_share'])} | "
              f"{v(det['reported_share_of_observable'])} | "
              f"{v(det['in_incident_share_of_observable'])} |"]
    if "resubmissions" in report:
        r = report["resubmissions"]
        lines += ["", "| resubmissions | copies | copies in incidents | incidents only of copies "
                  "| findings with copies | findings only of copies (violations) |",
                  "|---|---|---|---|---|---|",
                  f"| all | {r['copies']} | {r['copies_in_incidents']} | "
                  f"{r['incidents_only_copies']} | {r['findings_with_copies']} | "
                  f"{r['findings_only_copies']} ({r['violation_findings_only_copies']}) |"]
    return "\n".join(lines) + "\n"
