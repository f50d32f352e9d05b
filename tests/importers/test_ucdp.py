"""UCDP GED importer on the two real exports (clean UTF-8, messy cp1252 with mixed dates).

The files in tests/data are slices of the published exports (every kept row byte for byte, see
tests/data/README.md); expected counts are taken from the CSV by an independent reader.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from truceline.adapters.importers import iter_observations
from truceline.adapters.importers.ucdp import (
    WHERE_PREC_NAME,
    WHERE_PREC_SIGMA_M,
    parse_ucdp_date,
    read_ucdp,
)
from truceline.core.observations import Observation, Rejection
from truceline.core.taxonomy import Kind, TimePrecision

from .conftest import UCDP_CLEAN, UCDP_MESSY


def _load(path: Path) -> tuple[dict[str, Observation], list[Rejection]]:
    obs: dict[str, Observation] = {}
    rejected: list[Rejection] = []
    for o in iter_observations(path, "ucdp", on_invalid="skip"):
        if isinstance(o, Rejection):
            rejected.append(o)
        else:
            assert o.id not in obs
            obs[o.id] = o
    return obs, rejected


@pytest.fixture(scope="module")
def clean(data_dir: Path) -> dict[str, Observation]:
    obs, rejected = _load(data_dir / UCDP_CLEAN)
    assert rejected == []
    return obs


@pytest.fixture(scope="module")
def messy(data_dir: Path) -> dict[str, Observation]:
    obs, rejected = _load(data_dir / UCDP_MESSY)
    assert rejected == []
    return obs


def _rows(path: Path, encoding: str) -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as fh:
        return list(csv.DictReader(fh))


def _expected_kinds(rows: list[dict[str, str]]) -> Counter[Kind]:
    """From the codebook: type_of_violence 1 (state-based) and 2 (non-state) are fire, 3 (one-sided)
    is a civilian harm; a fire event that also killed civilians adds a civilian harm."""
    fire = sum(r["type_of_violence"] in ("1", "2") for r in rows)
    harm = sum(r["type_of_violence"] == "3" or r["deaths_civilians"] != "0" for r in rows)
    return Counter({Kind.FIRE: fire, Kind.CIVILIAN_HARM: harm})


def test_counts_clean(clean: dict[str, Observation], data_dir: Path) -> None:
    rows = _rows(data_dir / UCDP_CLEAN, "utf-8")  # independent count
    assert len(rows) == 184  # the slice (the full export has 3,000 rows)
    assert Counter(r["type_of_violence"] for r in rows) == {"1": 183, "2": 1}
    assert sum(r["deaths_civilians"] != "0" for r in rows) == 23
    assert Counter(o.kind for o in clean.values()) == _expected_kinds(rows)


def test_counts_messy(messy: dict[str, Observation], data_dir: Path) -> None:
    rows = _rows(data_dir / UCDP_MESSY, "cp1252")
    # 226 rows (of 3,883): 220 state-based/non-state → fire; 6 one-sided → civilian_harm;
    # fire events that also killed civilians → a civilian_harm each.
    assert len(rows) == 226
    assert Counter(r["type_of_violence"] for r in rows) == {"1": 219, "3": 6, "2": 1}
    assert sum(r["deaths_civilians"] != "0" and r["type_of_violence"] != "3" for r in rows) == 35
    assert Counter(o.kind for o in messy.values()) == _expected_kinds(rows)


def test_cp1252_and_utf8_names_round_trip(
    clean: dict[str, Observation], messy: dict[str, Observation], data_dir: Path
) -> None:
    raw = (data_dir / UCDP_MESSY).read_bytes()
    assert b"Donetsk\x92s Kirov district" in raw  # cp1252 right single quote, invalid UTF-8
    desc = messy["ucdp-233458"].description or ""
    assert desc.startswith("Donetsk’s Kirov district (")
    assert "\ufffd" not in desc and "Ã" not in desc
    assert "cemetery of the mine №29" in (clean["ucdp-155337"].description or "")
    # the zero-width spaces in "in the area of \u200b\u200bVolnovakha" are dropped
    assert (clean["ucdp-203645"].description or "").startswith("in the area of Volnovakha")


def test_both_messy_date_formats(messy: dict[str, Observation]) -> None:
    assert parse_ucdp_date("9/30/2022 12:00:00 AM") == date(2022, 9, 30)
    assert parse_ucdp_date("01/05/2014 00:00") == date(2014, 1, 5)  # month first
    assert parse_ucdp_date("2014-01-22T00:00:00") == date(2014, 1, 22)
    with pytest.raises(ValueError):
        parse_ucdp_date("30/09/2022 00:00")
    # line 2 "1/22/2014 12:00:00 AM"; line 14 "05/02/2014 00:00" (clean file: 2014-05-02)
    assert messy["ucdp-147997"].time == datetime(2014, 1, 22, 10, 0, tzinfo=UTC)  # noon EET
    assert messy["ucdp-153027"].time == datetime(2014, 5, 2, 9, 0, tzinfo=UTC)  # noon EEST


def test_messy_dates_agree_with_clean_export(
    clean: dict[str, Observation], messy: dict[str, Observation], data_dir: Path
) -> None:
    in_both = {r["id"] for r in _rows(data_dir / UCDP_CLEAN, "utf-8")} & {
        r["id"] for r in _rows(data_dir / UCDP_MESSY, "cp1252")
    }
    shared = [i for i in clean if i in messy and not i.endswith("-civilians")]
    assert sorted(shared) == sorted(f"ucdp-{i}" for i in in_both) and len(shared) > 150
    differ = sorted(i for i in shared if clean[i].time != messy[i].time)
    assert differ == ["ucdp-205066", "ucdp-429358"]  # revised by UCDP between the two versions


def test_where_prec_to_uncertainty(clean: dict[str, Observation], data_dir: Path) -> None:
    assert WHERE_PREC_SIGMA_M[1] == 2_000
    maidan = clean["ucdp-147997"]
    assert (maidan.lon, maidan.lat) == (30.52333, 50.45)
    assert maidan.location_uncertainty_m == 2_000
    assert maidan.location_precision == "place, UCDP where_prec 1"
    assert clean["ucdp-428182"].location_precision == "country, UCDP where_prec 6"
    assert clean["ucdp-428182"].location_uncertainty_m == 325_000  # 6: country only
    assert clean["ucdp-204785"].location_uncertainty_m == 50_000  # 7: sea outside Mariupol
    by_prec = Counter(o.location_precision for o in clean.values() if o.kind is Kind.FIRE)
    codes = Counter(r["where_prec"] for r in _rows(data_dir / UCDP_CLEAN, "utf-8"))  # all fire
    assert by_prec == {
        f"{WHERE_PREC_NAME[int(code)]}, UCDP where_prec {code}": n for code, n in codes.items()
    }


def test_date_prec_to_time_precision(
    clean: dict[str, Observation], messy: dict[str, Observation], data_dir: Path
) -> None:
    fire = Counter(o.time_precision for o in clean.values() if o.kind is Kind.FIRE)
    # codebook: 1 the day, 2 within 2-6 days, 3 the week, 4 within a month, 5 within a year
    codes = Counter(r["date_prec"] for r in _rows(data_dir / UCDP_CLEAN, "utf-8"))
    assert fire == {
        TimePrecision.DAY: codes["1"],
        TimePrecision.WEEK: codes["2"] + codes["3"],
        TimePrecision.MONTH: codes["4"],
        TimePrecision.YEAR: codes["5"],
    }
    assert all(codes[c] for c in "12345")  # the slice holds every code
    assert messy["ucdp-448644"].time_precision is TimePrecision.YEAR  # 2022-02-24 .. 2022-09-10


def test_kinds_and_affiliation(
    clean: dict[str, Observation], messy: dict[str, Observation]
) -> None:
    fire = clean["ucdp-153027"]
    assert fire.kind is Kind.FIRE and fire.killed == 5 and fire.affiliation is None
    assert fire.fire_type == "explosion" and fire.explosion_type == "undetermined"
    harm = clean["ucdp-153027-civilians"]
    assert harm.kind is Kind.CIVILIAN_HARM and harm.killed == 2 and harm.dataset_ref == "153027"
    one_sided = messy["ucdp-448644"]
    assert one_sided.kind is Kind.CIVILIAN_HARM
    assert (one_sided.killed, one_sided.affiliation) == (30, "Russia")
    assert "ucdp-448644-civilians" not in messy
    assert fire.source_type == "open_source" and fire.dataset == "ucdp-ged"


def test_malformed_rows_are_rejected_with_line_and_field(data_dir: Path) -> None:
    with (data_dir / UCDP_CLEAN).open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        first = next(reader)
        multiline = next(r for r in reader if any("\n" in v for v in r.values()))
    good = [multiline, first]
    bad_date = {**first, "id": "1", "date_start": "2014-13-45T00:00:00"}
    no_lat = {**first, "id": "2", "latitude": ""}
    bad_prec = {**first, "id": "3", "where_prec": "9"}
    buf = io.StringIO()
    writer = csv.DictWriter(buf, header, lineterminator="\n")
    writer.writeheader()
    starts = []  # physical start line of each row (quoted cells may hold newlines)
    for row in (good[0], bad_date, no_lat, bad_prec, good[1]):
        starts.append(buf.getvalue().count("\n") + 1)
        writer.writerow(row)
    items = list(read_ucdp(io.StringIO(buf.getvalue())))
    rejected = [(line, r.field, r.id) for line, r in items if isinstance(r, Rejection)]
    assert rejected == [
        (starts[1], "date_start", "ucdp-1"),
        (starts[2], "latitude", "ucdp-2"),
        (starts[3], "where_prec", "ucdp-3"),
    ]
    reasons = [r.reason for _, r in items if isinstance(r, Rejection)]
    assert reasons[1] == "missing" and "unknown code 9" in reasons[2]
    ok = [r["id"] for _, r in items if isinstance(r, dict)]
    assert ok == [f"ucdp-{good[0]['id']}", f"ucdp-{good[1]['id']}"]
