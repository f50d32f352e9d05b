"""Score the bias flags of the per-source report against the posts' simulated compass biases.

Recall is given over every biased post, and over those the week's evidence can *identify*:
a source's bias shows only in the leave-one-out samples of its bearings whose events others
fix without it (:mod:`truceline.core.fusion.calibration`), so a post that wrote no bearing,
or whose few bearings no two other sources reported, cannot be flagged by any test of them,
and one of 4.5° beside bearings of 2.5-6° sd needs dozens. *Identifiable* is defined on the
truth alone (not on what fusion made of it):

* a bearing is **shared** when at least two other sites stored a report of its event's
  part (origin or impact; a site: a source, but an acoustic array's sensors are one, its
  arrivals giving one bearing: ``evaluation.site_of``): the part may be fixed without it
  (generous: two arrays' lone arrivals do not fix it);
* a biased post is **identifiable** when at least ``MIN_SHARED`` (2) of its bearings are
  shared and its bias is at least ``DETECTABLE_Z`` (4.28) of the standard error those
  bearings give the calibration's estimate, ``sqrt(1 / sum(1 / sd_i^2) + SYSTEMATIC_DEG^2)``
  (their stated sds, and the references' systematic error the estimate adds in quadrature):
  a 3-se test then flags it with 90 % probability (3 + 1.28 se; with exactly two, the
  report's pair rule, each sample beyond 2.5 sds, has less: 0.61-0.82 at 9-10°). With sds of
  2.5° that is ``k >= 6.25 / ((bias / 4.28)^2 - 1)`` shared bearings: 2 at 10°, 7 at 6°, 60
  at 4.5°; and none below 4.28° (the systematic 1° alone keeps the error there). A
  leave-one-out sample's sd is about its bearing's: the fix without it adds little (median
  2.5-2.9° over the simulated weeks' samples, the bearings' 2.5).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "BIASED_DEG",
    "DETECTABLE_Z",
    "MIN_SHARED",
    "REVEALED_BEARINGS",
    "SYSTEMATIC_DEG",
    "identifiable",
    "score_calibration",
    "shared_bearing_sds",
]

#: A source counts as biased when its compass is off by at least this much (degrees) ...
BIASED_DEG = 3.0
#: ... and as one the week can reveal when it wrote at least this many bearings.
REVEALED_BEARINGS = 10
#: ... and as *detectable* when its bias is at least this many standard errors of the mean of
#: its stored bearings (their stated sds) even with every event's position known: a 3-se flag
#: then fires with 90 % probability (3 + 1.28); below it no estimator can flag it at 3 se
#: reliably, whatever its neighbours (the bar is unchanged; this recall is reported beside it).
DETECTABLE_Z = 4.28
#: *Identifiable* (the module docstring): at least this many shared bearings (two: the
#: report's flag of two samples each beyond 2.5 sds) ...
MIN_SHARED = 2
#: ... with the error the calibration adds for its references (``systematic_deg``).
SYSTEMATIC_DEG = 1.0


def _source(o: Mapping[str, Any]) -> str:
    return str(o.get("source_id"))


def shared_bearing_sds(
    truth: Sequence[Mapping[str, Any]],
    observations: Mapping[str, Mapping[str, Any]],
    stored_ids: set[str],
    site: Callable[[Mapping[str, Any]], str] = _source,
) -> dict[str, list[float]]:
    """Per source: the stated sds of its stored bearings whose event part (truth) holds stored
    reports of at least two other sites (``site`` of a report; module docstring: *shared*)."""
    out: defaultdict[str, list[float]] = defaultdict(list)
    for e in truth:
        if e.get("type") != "event":
            continue
        for ids in e["reports"].values():
            held = [observations[i] for i in ids if i in stored_ids and i in observations]
            sites = Counter(site(o) for o in held)
            for o in held:
                if "bearing_deg" in o and o.get("bearing_sd_deg") and len(sites) - 1 >= 2:
                    out[_source(o)].append(float(o["bearing_sd_deg"]))
    return dict(out)


def identifiable(bias_deg: float, sds: Sequence[float]) -> bool:
    """Whether a bias of ``bias_deg`` shows at ``DETECTABLE_Z`` standard errors of shared
    bearings of sds ``sds`` (and they are at least ``MIN_SHARED``)."""
    if len(sds) < MIN_SHARED:
        return False
    se = math.sqrt(1.0 / sum(1.0 / s**2 for s in sds) + SYSTEMATIC_DEG**2)
    return abs(bias_deg) >= DETECTABLE_Z * se


def score_calibration(
    truth: Sequence[Mapping[str, Any]],
    observations: Mapping[str, Mapping[str, Any]],
    stored_ids: set[str],
    sources: Sequence[Mapping[str, Any]],
    site: Callable[[Mapping[str, Any]], str] = _source,
) -> dict[str, Any]:
    """Flagged sources against the truly biased (``|bias| >= BIASED_DEG``): recall over all of
    them, over those with at least ``REVEALED_BEARINGS`` stored bearings, over those a week
    could reveal with every event's position known (``DETECTABLE_Z``) and over those its
    shared bearings identify (:func:`identifiable`, ``site``: a report's site; each one
    outside listed with its bearings, shared bearings and samples), precision over every
    flag (a source without a truth bias counts as unbiased), and the estimates' errors
    (bias where estimated from ten or more reports; clock offset where timed ten or more
    times, with its median, which the reporting lag and the writing to the minute shift)."""
    bias = {
        r["id"]: float(r.get("bearing_bias_deg", 0.0)) for r in truth if r.get("type") == "source"
    }
    clock = {
        r["id"]: float(r["clock_offset_s"])
        for r in truth
        if r.get("type") == "source" and "clock_offset_s" in r
    }
    n_brg = Counter(
        o["source_id"] for i, o in observations.items() if i in stored_ids and "bearing_deg" in o
    )
    info: defaultdict[str, float] = defaultdict(float)  # sum of 1/sd^2: se = info^-1/2
    for i, o in observations.items():
        if i in stored_ids and "bearing_deg" in o and o.get("bearing_sd_deg"):
            info[o["source_id"]] += 1.0 / float(o["bearing_sd_deg"]) ** 2
    shared = shared_bearing_sds(truth, observations, stored_ids, site)
    biased = {s for s, b in bias.items() if abs(b) >= BIASED_DEG}
    revealed = {s for s in biased if n_brg[s] >= REVEALED_BEARINGS}
    detectable = {s for s in biased if abs(bias[s]) * np.sqrt(info[s]) >= DETECTABLE_Z}
    ident = {s for s in biased if identifiable(bias[s], shared.get(s, []))}
    flagged = {r["source_id"] for r in sources if r["flagged"]}
    tp = flagged & biased
    used = {r["source_id"]: r["reports_used"] for r in sources}

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    b_err = [
        r["bias_deg"] - bias.get(r["source_id"], 0.0)
        for r in sources
        if r["bias_deg"] is not None and r["reports_used"] >= 10
    ]
    c_err = [
        r["clock_offset_s"] - clock[r["source_id"]]
        for r in sources
        if r["clock_offset_s"] is not None and r["timed"] >= 10 and r["source_id"] in clock
    ]
    return {
        "biased": len(biased),
        "revealed": len(revealed),
        "flagged": len(flagged),
        "true_flags": len(tp),
        "recall": ratio(len(tp), len(biased)),
        "recall_revealed": ratio(len(tp & revealed), len(revealed)),
        "detectable": len(detectable),
        "recall_detectable": ratio(len(tp & detectable), len(detectable)),
        "identifiable": len(ident),
        "identifiable_flagged": len(tp & ident),
        "recall_identifiable": ratio(len(tp & ident), len(ident)),
        "not_identifiable": [
            {
                "source_id": s,
                "bias_deg": round(bias[s], 1),
                "bearings": n_brg[s],
                "shared": len(shared.get(s, [])),
                "reports_used": used.get(s, 0),
                "flagged": s in flagged,
            }
            for s in sorted(biased - ident)
        ],
        "precision": ratio(len(tp), len(flagged)),
        "false_flags": sorted(flagged - biased),
        "bias_error_median_abs_deg": round(float(np.median(np.abs(b_err))), 2) if b_err else None,
        "clock_error_median_s": round(float(np.median(c_err)), 1) if c_err else None,
        "clock_error_median_abs_s": round(float(np.median(np.abs(c_err))), 1) if c_err else None,
    }
