"""`truceline alarms` on a checked store: the planted doubling found, same bytes twice."""

from __future__ import annotations

import json

from click.testing import CliRunner

from truceline.adapters.cli.main import cli

from .conftest import Mission
from .records import BASELINE, ESCALATED, ESCALATION_DAY


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_the_doubled_sector_alarms_and_no_other(mission: Mission) -> None:
    res = run(
        "alarms", "--db", str(mission.db), "--baseline-days", str(BASELINE), "--format", "json"
    )
    assert res.exit_code == 0, res.output
    body = json.loads(res.output)
    assert body["first_day"] == "2025-03-21" and body["baseline_days"] == BASELINE
    assert {a["sector"] for a in body["alarms"]} == {ESCALATED}
    first = min(body["alarms"], key=lambda a: a["day"])
    day = ESCALATION_DAY.isoformat()
    assert first["start"] >= day and first["day"] <= "2025-04-03"  # within 3 days
    assert first["statistic"] >= first["threshold"]
    # one chart per sector: the alarm names the category whose evidence rose most, and all
    # fire (the categories' sum) is not counted twice
    rise = first["contributions"]
    assert "all fire" not in rise and "fire incidents" in rise
    assert first["category"] == max(rise, key=rise.get)
    assert all(set(r["categories"]) == set(rise) for r in first["evidence"])
    rows = first["evidence"]
    assert rows[0]["day"] == first["start"] and rows[-1]["day"] == first["day"]
    assert all(0.5 < r["coverage"] <= 1.0 for r in rows)
    # each day's count is its incidents (one report each): ids as many as the count
    if first["category"] == "fire incidents":
        assert all(len(r["incidents"]) == r["count"] for r in rows)


def test_text_is_the_same_bytes_twice_and_names_the_sector(mission: Mission) -> None:
    a = run("alarms", "--db", str(mission.db), "--baseline-days", str(BASELINE))
    b = run("alarms", "--db", str(mission.db), "--baseline-days", str(BASELINE))
    assert a.exit_code == 0 and a.output == b.output
    assert "Lyman - Siversk" in a.output and "rising since" in a.output


def test_too_short_a_record_says_so_and_bad_input_names_the_option(mission: Mission) -> None:
    res = run("alarms", "--db", str(mission.db), "--baseline-days", "40")
    assert res.exit_code == 0
    assert "not assessed: 16 complete reporting days; the baseline needs 40" in res.output
    res = run("alarms", "--db", str(mission.db), "--baseline-days", "3")
    assert res.exit_code == 2 and "--baseline-days" in res.output
    res = run("alarms", "--db", str(mission.db), "--since", "April")
    assert res.exit_code == 2 and "--since" in res.output


def test_no_alarm_is_not_said_when_no_sector_is_watched_yet() -> None:
    # a thin sector's baseline grows up to 56 days (design_sector): while every sector still
    # learns, no chart ran, and "no alarm" would read as a quiet line; said as not watched
    from truceline.adapters.cli.alarms import render_text

    learning = {
        "sector": "s1",
        "category": "fire incidents",
        "skipped": "the baseline grows to 35 days: its counts are too thin to show "
        "a doubling in time on fewer",
    }
    body = {
        "agreement": "a",
        "first_day": "2025-03-21",
        "last_day": "2025-04-20",
        "baseline_days": 28,
        "arl0_days_per_sector": 450.0,
        "reason": None,
        "dispersion": {},
        "series": [learning],
        "alarms": [],
    }
    text = render_text(body)
    assert "no alarm\n" not in text
    assert "not watched: s1, fire incidents: the baseline grows to 35 days" in text
    assert "no sector is watched yet" in text
    watched = {
        "sector": "s2",
        "category": "fire incidents",
        "dispersion": 1.2,
        "threshold": 4.1,
        "arl0_days": 450.0,
        "baseline_days": 28,
        "alarms": 0,
    }
    assert render_text({**body, "series": [learning, watched]}).endswith("no alarm\n")
