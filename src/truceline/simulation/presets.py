"""Named scenarios: sets of :class:`~truceline.simulation.sources.SimulationParams` overrides.

Each preset is what a verdict must survive (``docs/simulation.md``, "Scenarios"):

* ``baseline`` — the defaults: a mission along the whole line with few restrictions.
* ``restrictions`` — patrols stopped four times as often, posts five times, and half of the
  restrictions deny an area of 2-8 km around the monitors (``denied_radius_m``).
* ``cameras_down`` — half of the cameras down for 3-7 consecutive days each, on top of the
  daily 5 % chance.
* ``uncovered`` — two sectors of the line (chosen from the seed) with no post, camera,
  acoustic array or patrol at all.
* ``resubmissions`` — 10 % of the records sent again under a new id, same content (issue 14);
  ``resubmissions_channel`` — the same by a second channel that rounds coordinates and times.
* ``biased_observers`` — 10 % of the posts' compasses 4-10° off on every bearing, every other
  post's within 0.5° (1 sigma); each monitor's clock off by 30 s (1 sigma) as always (issue 14).
* ``coarse_bands`` — distance bands 0-1-2-5-10-20-50 km instead of the SMM's finer ones
  (a monitor who can only say '10-20 km' or '20-50 km').
* ``wild_bearings`` — 5 % of the monitors' bearings wild, off by a normal error of 30°
  (instead of 2 % off by 20-90°).
* ``clock_offsets`` — every observer's clock off by 25 s (1 sigma): the monitors' (as in the
  baseline, 30 s there) and now the cameras' too, whose times are otherwise GPS-exact.
* ``wind`` — one steady 6 m/s wind over the whole week from a direction drawn from the seed,
  and acoustic sensors that do not report it (truth: a ``wind`` record).
* ``all_conditions`` — every condition of issue 14 at once: the four above, resubmissions by
  a second channel, and biased observers.
* ``escalation_doubling``, ``escalation_ramp``, ``escalation_spike`` — one sector's fire rate
  doubles, ramps up or spikes from a day chosen by the seed, the random episodes switched off;
  truth: an ``escalation_truth`` record (issue 19, ``docs/early_warning.md``).

Pure: a preset is data; the choices it leaves to chance (which sectors, which cameras, which
days) are drawn from generators seeded by the scenario's seed, apart from the main streams.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from truceline.errors import ValidationError

if TYPE_CHECKING:  # the CLI lists the names without importing numpy
    from truceline.simulation.sources import SimulationParams

__all__ = ["SCENARIOS", "scenario_params"]

# issue 14's conditions, alone and (``all_conditions``) together
_COARSE_BANDS: dict[str, Any] = {"distance_bands_km": (0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)}
_WILD_BEARINGS: dict[str, Any] = {"wild_bearing_rate": 0.05, "wild_bearing_sd_deg": 30.0}
_CLOCK_OFFSETS: dict[str, Any] = {"clock_sd_s": 25.0, "camera_clock_sd_s": 25.0}
_WIND: dict[str, Any] = {"steady_wind_ms": 6.0, "sensor_reports_wind": False}

#: name -> (one-line description, overrides of the defaults)
SCENARIOS: dict[str, tuple[str, dict[str, Any]]] = {
    "baseline": ("the defaults: posts, cameras, arrays and patrols along the whole line", {}),
    "restrictions": (
        "patrols stopped 30 % of days, posts 5 %, half of the restrictions deny an area of "
        "2-8 km radius",
        {"restriction_prob_patrol": 0.30, "restriction_prob_post": 0.05,
         "area_denial_share": 0.5, "denied_radius_km": (2.0, 8.0)},
    ),
    "cameras_down": (
        "half of the cameras down for 3-7 consecutive days each (plus 5 % a day)",
        {"camera_outage_share": 0.5, "camera_outage_days": (3, 7)},
    ),
    "uncovered": (
        "two sectors of the line (chosen from the seed) without any post, camera, array or "
        "patrol",
        {"uncovered_sector_count": 2},
    ),
    "resubmissions": (
        "10 % of the records sent again under a new id with the same content (retries)",
        {"resubmit_share": 0.1},
    ),
    "resubmissions_channel": (
        "10 % of the records sent again by a second channel (new id, coordinates to 4 "
        "decimals, arrival times to the millisecond)",
        {"resubmit_share": 0.1, "resubmit_channel": True},
    ),
    "biased_observers": (
        "10 % of the posts' compasses 4-10 deg off on every bearing, the others' within "
        "0.5 deg (1 sigma)",
        {"bias_share": 0.1, "bias_deg": (4.0, 10.0), "bias_sd_deg": 0.5},
    ),
    "coarse_bands": (
        "distance bands 0-1-2-5-10-20-50 km (up to 10-20 and 20-50 km)",
        _COARSE_BANDS,
    ),
    "wild_bearings": (
        "5 % of the monitors' bearings wild, off by a normal error of 30 deg (1 sigma)",
        _WILD_BEARINGS,
    ),
    "clock_offsets": (
        "every monitor's and camera's clock off by 25 s (1 sigma); sensors stay GPS-timed",
        _CLOCK_OFFSETS,
    ),
    "wind": (
        "a steady 6 m/s wind all week (direction from the seed), not reported by the sensors",
        _WIND,
    ),
    "all_conditions": (
        "every condition of issue 14 together: coarse bands, wild bearings, clock offsets, "
        "wind, resubmissions by a second channel, biased observers",
        {**_COARSE_BANDS, **_WILD_BEARINGS, **_CLOCK_OFFSETS, **_WIND,
         "resubmit_share": 0.1, "resubmit_channel": True,
         "bias_share": 0.1, "bias_deg": (4.0, 10.0), "bias_sd_deg": 0.5},
    ),
    "escalation_doubling": (
        "one sector's fire rate doubles from a day 32-38 on (sector and day from the seed; "
        "no random episodes)",
        {"escalation_kind": "doubling", "escalation_start_prob": 0.0},
    ),
    "escalation_ramp": (
        "one sector's fire rate rises by 10 % of its baseline a day from a day 32-38 on (no "
        "random episodes)",
        {"escalation_kind": "ramp", "escalation_start_prob": 0.0},
    ),
    "escalation_spike": (
        "one sector's fire rate is 4 times its baseline on one day 32-38 (no random episodes)",
        {"escalation_kind": "spike", "escalation_start_prob": 0.0},
    ),
}


def scenario_params(name: str, base: SimulationParams | None = None) -> SimulationParams:
    """The parameters of the named scenario (its overrides applied to ``base``).

    >>> scenario_params("cameras_down").camera_outage_share
    0.5
    """
    from truceline.simulation.sources import SimulationParams

    if name not in SCENARIOS:
        raise ValidationError(f"unknown scenario {name!r}; one of {', '.join(SCENARIOS)}",
                              field="scenario")
    return replace(base or SimulationParams(), **SCENARIOS[name][1])
