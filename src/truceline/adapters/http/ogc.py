"""OGC API - Features (Part 1: Core, GeoJSON, OpenAPI 3.0; Part 2: CRS by reference; Part 3:
Queryables) over the same data and roles.

So that QGIS, GDAL's OAPIF driver and OWSLib read it as it is: a landing page at ``/ogc`` with
``service-desc``, ``conformance`` and ``data`` links; ``/ogc/collections`` with each
collection's extent and CRSs; items as ``application/geo+json`` FeatureCollections with
``numberReturned`` (and ``numberMatched`` where it is cheap) and ``self``/``next`` links whose
opaque ``cursor`` is the key of the last feature sent, so a page costs the same wherever it
is; ``limit``, ``bbox``/``bbox-crs``, ``datetime`` and ``crs`` (see
:mod:`truceline.adapters.http.ogc_params`); every other parameter is a 400 naming it; every
features response says its CRS in ``Content-Crs``; ``/collections/{id}/queryables`` lists,
as JSON Schema, the properties the key's features carry.

The collections, and who may read each, are in :mod:`truceline.adapters.http.ogc_collections`;
the parameters in :mod:`truceline.adapters.http.ogc_params`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import shapely
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from truceline.adapters.http.auth import Principal, require
from truceline.adapters.http.envelope import error_responses
from truceline.adapters.http.ogc_collections import COLLECTIONS
from truceline.adapters.http.ogc_features import (
    Collection,
    Item,
    Query,
    extent_of,
    memory_page,
    value_schema,
)
from truceline.adapters.http.ogc_params import (
    CRS84,
    CRS_LIST,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    check_known,
    decode_cursor,
    encode_cursor,
    parse_bbox,
    parse_crs,
    parse_datetime,
    parse_limit,
)
from truceline.adapters.http.state import AppState, app_state, principal
from truceline.errors import NotFoundError

router = APIRouter(prefix="/ogc", tags=["OGC API - Features"])

GEOJSON = "application/geo+json"
SCHEMA_JSON = "application/schema+json"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
]
_GEO: dict[int | str, dict[str, Any]] = {
    200: {"description": "GeoJSON", "content": {GEOJSON: {"schema": {"type": "object"}}}}
}
#: The query parameters each kind of resource defines (any other is a 400).
_META_PARAMS = frozenset({"f"})
_ITEM_PARAMS = frozenset({"f", "crs"})
_ITEMS_PARAMS = frozenset({"f", "crs", "bbox", "bbox-crs", "datetime", "limit", "cursor"})


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _collection(collection_id: str, who: Principal) -> Collection:
    c = COLLECTIONS.get(collection_id)
    if c is None:
        raise NotFoundError("no such collection", field="collection_id")
    require(who, *c.roles)
    return c


def _all(c: Collection, st: AppState, who: Principal) -> list[Item]:
    assert c.items is not None, c.id  # store-backed collections define page/one/extent/schema
    return c.items(st, who)


def _extent(c: Collection, st: AppState, who: Principal) -> dict[str, Any]:
    if c.extent is not None:
        return c.extent(st, who)
    items = _all(c, st, who)
    geoms = [i.geometry for i in items if i.geometry is not None and not i.geometry.is_empty]
    return extent_of(
        list(shapely.union_all(geoms).bounds) if geoms else None, [i.time for i in items]
    )


def _describe(base: str, c: Collection, st: AppState, who: Principal) -> dict[str, Any]:
    url = f"{base}/collections/{c.id}"
    return {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": CRS_LIST,
        "storageCrs": CRS84,
        "extent": _extent(c, st, who),
        "links": [
            {"href": url, "rel": "self", "type": "application/json", "title": c.title},
            {"href": f"{url}/items", "rel": "items", "type": GEOJSON, "title": c.title},
            {
                "href": f"{url}/queryables",
                "rel": QUERYABLES_REL,
                "type": SCHEMA_JSON,
                "title": f"{c.title}: queryables",
            },
        ],
    }


@router.get("", responses=error_responses(400))
def landing(request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    check_known(request.query_params, _META_PARAMS)
    base = _base(request)
    return {
        "title": "truceline",
        "description": "Ceasefire verification: incidents, findings, "
        "observations, zones and lines (OGC API - Features).",
        "links": [
            {"href": base, "rel": "self", "type": "application/json", "title": "this"},
            {
                "href": f"{base}/api",
                "rel": "service-desc",
                "type": "application/vnd.oai.openapi+json;version=3.0",
                "title": "OpenAPI",
            },
            {
                "href": f"{base}/conformance",
                "rel": "conformance",
                "type": "application/json",
                "title": "conformance",
            },
            {
                "href": f"{base}/collections",
                "rel": "data",
                "type": "application/json",
                "title": "collections",
            },
        ],
    }


@router.get("/conformance", responses=error_responses(400))
def conformance(request: Request, who: Principal = Depends(principal)) -> dict[str, Any]:
    check_known(request.query_params, _META_PARAMS)
    return {"conformsTo": CONFORMANCE}


@router.get(
    "/api",
    responses={
        200: {
            "description": "OpenAPI 3 document",
            "content": {
                "application/vnd.oai.openapi+json;version=3.0": {"schema": {"type": "object"}}
            },
        }
    },
)
def api(request: Request) -> JSONResponse:
    check_known(request.query_params, _META_PARAMS)
    return JSONResponse(
        request.app.openapi(), media_type="application/vnd.oai.openapi+json;version=3.0"
    )


@router.get("/collections", responses=error_responses(400))
def collections(
    request: Request, who: Principal = Depends(principal), st: AppState = Depends(app_state)
) -> dict[str, Any]:
    check_known(request.query_params, _META_PARAMS)
    base = _base(request)
    return {
        "links": [{"href": f"{base}/collections", "rel": "self", "type": "application/json"}],
        "crs": CRS_LIST,
        "collections": [
            _describe(base, c, st, who) for c in COLLECTIONS.values() if who.role in c.roles
        ],
    }


@router.get("/collections/{collection_id}", responses=error_responses(400, 403, 404))
def collection(
    collection_id: str,
    request: Request,
    who: Principal = Depends(principal),
    st: AppState = Depends(app_state),
) -> dict[str, Any]:
    check_known(request.query_params, _META_PARAMS)
    return _describe(_base(request), _collection(collection_id, who), st, who)


@router.get(
    "/collections/{collection_id}/queryables",
    response_class=JSONResponse,
    responses={
        **error_responses(400, 403, 404),
        200: {
            "description": "JSON Schema",
            "content": {SCHEMA_JSON: {"schema": {"type": "object"}}},
        },
    },
)
def queryables(
    collection_id: str,
    request: Request,
    who: Principal = Depends(principal),
    st: AppState = Depends(app_state),
) -> JSONResponse:
    """Part 3: the properties of this collection's features, as the key sees them: for a
    collection built in memory, those its visible features carry, so that a key learns no
    property name from a feature it may not read."""
    check_known(request.query_params, _META_PARAMS)
    c = _collection(collection_id, who)
    if c.schema is not None:
        props = c.schema()
    else:
        seen: dict[str, list[Any]] = {}
        for i in _all(c, st, who):
            for k, v in i.properties.items():
                seen.setdefault(k, []).append(v)
        props = {k: value_schema(v) for k, v in sorted(seen.items())}
    url = f"{_base(request)}/collections/{c.id}/queryables"
    body = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": url,
        "type": "object",
        "title": c.title,
        "properties": {"geometry": {"format": c.geometry_format}, **props},
        "additionalProperties": False,
    }
    return JSONResponse(body, media_type=SCHEMA_JSON)


def _features(body: dict[str, Any], crs: str) -> JSONResponse:
    return JSONResponse(body, media_type=GEOJSON, headers={"Content-Crs": f"<{crs}>"})


_ITEMS_OPENAPI = {
    "parameters": [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "style": "form",
            "explode": False,
            "description": f"Page size; above {MAX_LIMIT} the page holds {MAX_LIMIT}.",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_LIMIT,
                "default": DEFAULT_LIMIT,
            },
        },
        {
            "name": "bbox",
            "in": "query",
            "required": False,
            "style": "form",
            "explode": False,
            "description": "minlon,minlat,maxlon,maxlat (CRS84), or in bbox-crs axis order",
            "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
        },
        {
            "name": "bbox-crs",
            "in": "query",
            "required": False,
            "style": "form",
            "explode": False,
            "schema": {"type": "string", "format": "uri", "enum": CRS_LIST, "default": CRS84},
        },
        {
            "name": "datetime",
            "in": "query",
            "required": False,
            "style": "form",
            "explode": False,
            "description": "Instant, or interval a/b ('..' = open); ends included",
            "schema": {"type": "string"},
        },
        {
            "name": "crs",
            "in": "query",
            "required": False,
            "style": "form",
            "explode": False,
            "schema": {"type": "string", "format": "uri", "enum": CRS_LIST, "default": CRS84},
        },
        {
            "name": "cursor",
            "in": "query",
            "required": False,
            "style": "form",
            "explode": False,
            "description": "Opaque: where the next page starts (from a next link)",
            "schema": {"type": "string"},
        },
        {
            "name": "f",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "enum": ["json", "geojson"]},
        },
    ]
}


@router.get(
    "/collections/{collection_id}/items",
    response_class=JSONResponse,
    responses={**error_responses(400, 403, 404), **_GEO},
    openapi_extra=_ITEMS_OPENAPI,
)
def items(
    collection_id: str,
    request: Request,
    who: Principal = Depends(principal),
    st: AppState = Depends(app_state),
) -> JSONResponse:
    qp = request.query_params
    check_known(qp, _ITEMS_PARAMS)
    c = _collection(collection_id, who)
    crs = parse_crs(qp.get("crs"), "crs")
    q = Query(
        parse_bbox(qp.get("bbox"), parse_crs(qp.get("bbox-crs"), "bbox-crs")),
        parse_datetime(qp.get("datetime")),
        parse_limit(qp.get("limit")),
        decode_cursor(qp.get("cursor"), c.id),
    )
    page = c.page(st, who, q) if c.page is not None else memory_page(_all(c, st, who), q)
    links = [{"href": str(request.url), "rel": "self", "type": GEOJSON}]
    if page.next_key is not None:
        url = request.url.include_query_params(cursor=encode_cursor(c.id, page.next_key))
        links.append({"href": str(url), "rel": "next", "type": GEOJSON})
    body: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": [i.feature(crs) for i in page.items],
    }
    if page.matched is not None:
        body["numberMatched"] = page.matched
    body.update(
        {
            "numberReturned": len(page.items),
            "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "links": links,
        }
    )
    return _features(body, crs)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    response_class=JSONResponse,
    responses={**error_responses(400, 403, 404), **_GEO},
    openapi_extra={
        "parameters": [p for p in _ITEMS_OPENAPI["parameters"] if p["name"] in _ITEM_PARAMS]
    },
)
def item(
    collection_id: str,
    feature_id: str,
    request: Request,
    who: Principal = Depends(principal),
    st: AppState = Depends(app_state),
) -> JSONResponse:
    check_known(request.query_params, _ITEM_PARAMS)
    c = _collection(collection_id, who)
    crs = parse_crs(request.query_params.get("crs"), "crs")
    if c.one is not None:
        found: Item | None = c.one(st, who, feature_id)
    else:
        found = next((i for i in _all(c, st, who) if i.id == feature_id), None)
    if found is None:
        raise NotFoundError("no such feature", field="feature_id")
    url = f"{_base(request)}/collections/{c.id}"
    return _features(
        {
            **found.feature(crs),
            "links": [
                {"href": f"{url}/items/{found.id}", "rel": "self", "type": GEOJSON},
                {"href": url, "rel": "collection", "type": "application/json"},
            ],
        },
        crs,
    )


__all__ = ["COLLECTIONS", "CONFORMANCE", "router"]
