"""The report's map outlines each area of control whose recognition is stated for the day
(issue 20), labelled with its statuses; the figure's artists are read back, not its pixels.

The March 2025 example: its Russian-held area carries Russia's de jure claim (laws of 2014 and
4 October 2022) and the dispute by Ukraine and the UN General Assembly (ES-11/4, 12 October
2022); the area is drawn from 1 March 2025.
"""

from __future__ import annotations

from datetime import date

import matplotlib.pyplot as plt

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.render.mapfig import AREA_STATUS_GID, map_figure
from truceline.core.agreements import parse_agreement
from truceline.core.reporting import DailyReport, reporting_period


def _labels(day: date) -> list[str]:
    _, doc = load_agreement_file("march2025")
    a = parse_agreement(doc)
    start, end = reporting_period(day, a.tz, a.reporting_period_start)
    fig = map_figure(DailyReport(a, day, start, end, {}, [], [], {"observations": 0}))
    try:
        lines = [x for x in fig.axes[0].get_lines() if x.get_gid() == AREA_STATUS_GID]
        return [str(x.get_label()) for x in lines if not str(x.get_label()).startswith("_")]
    finally:
        plt.close(fig)


def test_the_map_outlines_the_area_with_its_statuses() -> None:
    assert _labels(date(2025, 3, 28)) == [
        "Russian-held part of Ukraine (DeepStateMap 2025-04-02): de jure (RU); disputed "
        "(UA, UN General Assembly)"]


def test_before_the_area_is_drawn_nothing_is_outlined() -> None:
    assert _labels(date(2025, 2, 1)) == []
