"""Turn an agreement's geography into shapely geometry and the geometry engine's plain spec.

Pure: every :class:`GeometryRef` must already be *bundled* (its ``file`` read into ``geojson`` by
the adapter that loaded the agreement), so that the stored agreement, and the record, carry
everything needed to re-run the checks on another machine.
"""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from truceline.core.agreements import Agreement, ControlArea, GeometryRef
from truceline.core.classify import ControlPeriod, GeometrySpec, SectorSpec, ZoneSpec
from truceline.core.geo import choose_projection
from truceline.core.recognition import areas_in_scope
from truceline.core.status import RecognitionScope
from truceline.errors import AgreementError


def _features(gj: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    t = gj.get("type")
    if t == "FeatureCollection":
        return [(f.get("properties") or {}, f["geometry"]) for f in gj.get("features", [])]
    if t == "Feature":
        return [(gj.get("properties") or {}, gj["geometry"])]
    return [({}, gj)]


def _swap(g: BaseGeometry) -> BaseGeometry:
    return shapely.transform(g, lambda xy: xy[:, ::-1])


def resolve_features(ref: GeometryRef, field: str) -> list[tuple[dict[str, Any], BaseGeometry]]:
    """The (properties, geometry) pairs a bundled reference stands for, after selection."""
    if ref.bbox is not None:
        return [({}, shapely.box(*ref.bbox))]
    if ref.geojson is None:
        raise AgreementError("geometry was not bundled (file not read)", field=field)
    feats = _features(ref.geojson)
    if ref.feature is not None:
        if ref.feature >= len(feats):
            raise AgreementError(f"no feature {ref.feature} (file has {len(feats)})", field=field)
        feats = [feats[ref.feature]]
    if ref.where:
        feats = [f for f in feats if all(f[0].get(k) == v for k, v in ref.where.items())]
        if not feats:
            raise AgreementError(f"no feature matches {ref.where}", field=field)
    out = []
    for props, gj in feats:
        try:
            g = shape(gj)
        except Exception as exc:  # shapely raises several types for bad GeoJSON
            raise AgreementError(f"not a valid GeoJSON geometry: {exc}", field=field) from None
        if ref.swap_axes:
            g = _swap(g)
        if not g.is_valid:
            g = shapely.make_valid(g)
        out.append((props, g))
    if ref.buffer_km:
        out = [(p, _buffer_metric(g, ref.buffer_km)) for p, g in out]
    if ref.minus:
        cut = shapely.union_all(
            [resolve(m, f"{field}.minus[{i}]") for i, m in enumerate(ref.minus)]
        )
        out = [(p, g.difference(cut)) for p, g in out]
    for i, w in enumerate(ref.within):
        keep = resolve(w, f"{field}.within[{i}]")
        out = [(p, g.intersection(keep)) for p, g in out]
    if ref.clip_bbox is not None:
        box = shapely.box(*ref.clip_bbox)
        out = [(p, g.intersection(box)) for p, g in out]
    return out


def resolve(ref: GeometryRef, field: str) -> BaseGeometry:
    """One geometry for a reference (the union when it selects several features)."""
    feats = resolve_features(ref, field)
    if len(feats) == 1:
        return feats[0][1]
    return shapely.union_all([g for _, g in feats])


def _buffer_metric(g: BaseGeometry, km: float) -> BaseGeometry:
    proj = choose_projection(g.bounds)
    xy = shapely.transform(g, lambda c: np.column_stack(proj.forward(c[:, 0], c[:, 1])))
    grown = xy.buffer(km * 1000.0, quad_segs=4).simplify(200.0)
    return shapely.transform(grown, lambda c: np.column_stack(proj.inverse(c[:, 0], c[:, 1])))


def _day(d: date | None) -> np.datetime64 | None:
    return None if d is None else np.datetime64(d.isoformat(), "ns")


def geometry_spec(agreement: Agreement) -> GeometrySpec:
    """The geometry engine's input for an agreement (raises if it has no geography)."""
    g = agreement.geography
    if g is None:
        raise AgreementError("this agreement has no geography", field="geography")
    aoi = resolve(g.area_of_interest, "geography.area_of_interest")
    lines = {
        ln.id: resolve(ln.geometry, f"geography.lines[{i}].geometry")
        for i, ln in enumerate(g.lines)
    }
    control: list[ControlPeriod] = []
    explicit = [a for a in g.areas_of_control if a.geometry is not None]
    resolved = {
        id(a): resolve(a.geometry, f"geography.areas_of_control[{i}].geometry")
        for i, a in enumerate(g.areas_of_control)
        if a.geometry is not None
    }
    for a in g.areas_of_control:
        if not a.rest_of_area:
            geom = resolved[id(a)]
            control.append(ControlPeriod(a.party, geom, _day(a.valid_from), _day(a.valid_to)))
            continue
        for lo, hi, cut in _rest_periods(a, explicit):
            geom = aoi.difference(shapely.union_all([resolved[id(o)] for o in cut])) if cut else aoi
            if not geom.is_empty:
                control.append(ControlPeriod(a.party, geom, _day(lo), _day(hi)))
    zones = []
    for i, z in enumerate(g.zones):
        poly = resolve(z.geometry, f"geography.zones[{i}].geometry") if z.geometry else None
        if z.areas_recognised is not None:
            poly = _recognised(agreement, z.areas_recognised, aoi, explicit, resolved,
                               f"geography.zones[{i}].areas_recognised")
        zones.append(ZoneSpec(z.id, poly, z.line, z.within_km_of_line, z.party_side))
    sectors = tuple(SectorSpec(s.id, s.line, s.from_km, s.to_km) for s in g.sectors)
    refs = {p.id: agreement.reference_line(p.id) for p in agreement.parties}
    return GeometrySpec(
        parties=tuple(p.id for p in agreement.parties),
        lines=lines,
        reference_lines=refs,
        control=tuple(control),
        zones=tuple(zones),
        sectors=sectors,
        area_of_interest=aoi,
    )


def _recognised(
    agreement: Agreement, scope: RecognitionScope, aoi: BaseGeometry,
    explicit: list[ControlArea], resolved: dict[int, BaseGeometry], field: str,
) -> BaseGeometry:
    """The union of the areas of control in ``scope`` as they stood on ``scope.on``."""
    assert agreement.geography is not None
    areas = agreement.geography.areas_of_control
    parts = []
    for k in areas_in_scope(agreement, scope):
        a = areas[k]
        if a.geometry is not None:
            parts.append(resolved[id(a)])
            continue
        for lo, hi, cut in _rest_periods(a, explicit):
            if (lo is None or lo <= scope.on) and (hi is None or scope.on < hi):
                parts.append(aoi.difference(shapely.union_all([resolved[id(o)] for o in cut]))
                             if cut else aoi)
    if not parts:
        by = f" by {scope.by}" if scope.by else ""
        raise AgreementError(
            f"no area of control has recognition {', '.join(s.value for s in scope.status)}"
            f"{by} on {scope.on}", field=field)
    return shapely.union_all(parts)


def _rest_periods(
    rest: ControlArea, explicit: list[ControlArea]
) -> list[tuple[date | None, date | None, list[ControlArea]]]:
    """The periods of a ``rest_of_area`` and, for each, the other parties' areas to cut out.

    The rest's validity is split at every date on which another party's area begins or ends,
    so each period subtracts only the areas valid in it (a town another party takes in December
    is not cut out of April). A period in which a party that has dated areas has none in force
    is left out: what the rest is then is not known (control there is "unknown", never a
    guess that the rest party holds everything).
    """
    others = [o for o in explicit if o.party != rest.party]
    inside = [
        o for o in others if _overlaps(o.valid_from, o.valid_to, rest.valid_from, rest.valid_to)
    ]
    cuts = sorted(
        {
            d
            for o in inside
            for d in (o.valid_from, o.valid_to)
            if d is not None
            and (rest.valid_from is None or d > rest.valid_from)
            and (rest.valid_to is None or d < rest.valid_to)
        }
    )
    bounds = [rest.valid_from, *cuts, rest.valid_to]
    parties = {o.party for o in others}
    out = []
    for lo, hi in pairwise(bounds):
        cut = [o for o in inside if _overlaps(o.valid_from, o.valid_to, lo, hi)]
        if {o.party for o in cut} != parties:
            continue  # some other party's area is not known in this period
        out.append((lo, hi, cut))
    return out


def _overlaps(a0: date | None, a1: date | None, b0: date | None, b1: date | None) -> bool:
    lo = max(a0 or date.min, b0 or date.min)
    hi = min(a1 or date.max, b1 or date.max)
    return lo < hi


def regions(agreement: Agreement) -> list[tuple[str, BaseGeometry]]:
    """Named report regions (e.g. oblasts), in the agreement's order."""
    g = agreement.geography
    if g is None or g.regions is None:
        return []
    r = g.regions
    out = []
    for props, geom in resolve_features(r.geometry, "geography.regions.geometry"):
        name = str(props.get(r.name_property, ""))
        if not r.only or name in r.only:
            out.append((name, geom))
    return out
