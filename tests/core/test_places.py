"""The base map's places against the real outline and areas shipped with the examples."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest
from shapely.geometry import Point, shape
from shapely.ops import unary_union

from truceline.core.places import PLACES, parse_places


def _union(name: str):
    doc = json.loads(files("truceline.examples").joinpath(f"geometry/{name}").read_text())
    return unary_union([shape(f["geometry"]) for f in doc["features"]])


def test_places_lie_on_their_side_of_the_border() -> None:
    """Every Ukrainian place lies within 0.05 deg of Ukraine's outline (coastal towns sit on
    a generalised coast), every Russian one outside it: a swapped lat/lon or a typo fails."""
    ukraine = _union("ukraine_outline.geojson")
    for p in PLACES:
        pt = Point(p.lon, p.lat)
        if p.country == "UA":
            assert ukraine.distance(pt) < 0.05, p
        else:
            assert not ukraine.contains(pt), p


def test_places_agree_with_the_areas_of_control_of_april_2025() -> None:
    """Cities held throughout the war by one side fall in that side's area on 2025-04-02."""
    occupied = _union("occupied_20250402.geojson")
    by_name = {p.name: p for p in PLACES}
    for name in ("Donetsk", "Luhansk", "Horlivka", "Mariupol", "Melitopol", "Simferopol"):
        assert occupied.contains(Point(by_name[name].lon, by_name[name].lat)), name
    for name in ("Kharkiv", "Kramatorsk", "Sloviansk", "Zaporizhzhia", "Dnipro", "Kherson"):
        assert not occupied.contains(Point(by_name[name].lon, by_name[name].lat)), name


def test_a_bad_row_names_its_line() -> None:
    with pytest.raises(ValueError, match="line 3: kind 'village'"):
        parse_places("name,country,kind,lat,lon\nA,UA,town,48,37\nB,UA,village,48,37\n")
