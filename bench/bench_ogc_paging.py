"""GDAL reading the OGC API ``observations`` collection page by page, 6k vs 60k observations.

Bounded (a few minutes) and loopback only. Builds two SQLite stores from the same generated
observations (an unsigned source, spread over the Donetsk front and eight days), 6,000 and
60,000 of them, serves each with ``truceline serve`` in a subprocess, and times:

* GDAL's OAPIF driver (``ogr2ogr -f GeoJSONSeq``) reading the whole collection through
  ``next`` links, at ``PAGE_SIZE=1000`` and at GDAL 3.6's default page size (10);
* one page fetched directly, first vs last (``limit=1000``, median of 5).

The baseline, in the same run, is the 6k store: reading 10x the data should take ~10x the
time if a page costs the same wherever it is (before keyset paging, every page rebuilt the
whole collection: ~2 s a page at 60k, so the read grew with the square of the size).

    python bench/bench_ogc_paging.py [--small 6000] [--large 60000]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench_http import free_port, start_server
from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.http.auth import create_api_key
from truceline.adapters.store import open_store
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store

ROOT = Path(__file__).resolve().parents[1]


def records(n: int) -> list[tuple[int, dict]]:
    out = []
    for i in range(n):
        out.append(
            (
                i,
                {
                    "id": f"bench-obs-{i:06d}",
                    "kind": "fire",
                    "fire_type": "explosion",
                    "explosion_type": ("outgoing", "impact")[i % 2],
                    "source_id": f"bench-post-{i % 7}",
                    "time": f"2025-03-{21 + i % 8:02d}T{i % 24:02d}:{i % 60:02d}:{i % 59:02d}Z",
                    "lon": 37.3 + (i % 997) * 0.0008,
                    "lat": 48.1 + (i % 613) * 0.0008,
                    "location_uncertainty_m": 300.0,
                    "weapon_class": "tube_artillery",
                },
            )
        )
    return out


def build(path: Path, n: int) -> str:
    """A store with the agreement and ``n`` observations; returns an analyst's API key."""
    _, doc = load_agreement_file("march2025")
    store = open_store(str(path), create=True)
    try:
        initialize_store(store, doc)
        recs = records(n)
        for k in range(0, n, 5000):
            ingest(store, recs[k : k + 5000])
        assert store.count_observations() == n, store.count_observations()
        return create_api_key(store, "bench", "analyst", None)
    finally:
        store.close()


def gdal_read(base: str, token: str, page_size: int | None, out: Path) -> tuple[float, int]:
    """Seconds for ogr2ogr to read the whole collection, and the features it wrote."""
    out.unlink(missing_ok=True)
    cmd = [
        "ogr2ogr",
        "--config",
        "GDAL_HTTP_HEADERS",
        f"Authorization: Bearer {token}",
        "-f",
        "GeoJSONSeq",
        str(out),
        f"OAPIF:{base}/ogc",
        "observations",
    ]
    if page_size is not None:
        cmd[1:1] = ["-oo", f"PAGE_SIZE={page_size}"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"ogr2ogr failed: {proc.stderr[-2000:]}")
    with out.open() as fh:
        return dt, sum(1 for line in fh if line.strip())


def page_times(base: str, token: str) -> tuple[float, float, int]:
    """Median seconds of the first and the last page (limit=1000), and the page count."""
    h = {"Authorization": f"Bearer {token}"}
    urls = [f"{base}/ogc/collections/observations/items?limit=1000"]
    with httpx.Client(headers=h, timeout=120) as c:
        while True:
            body = c.get(urls[-1]).json()
            nxt = next((ln["href"] for ln in body["links"] if ln["rel"] == "next"), None)
            if nxt is None:
                break
            urls.append(nxt)

        def median(url: str) -> float:
            ts = []
            for _ in range(5):
                t0 = time.perf_counter()
                assert c.get(url).status_code == 200
                ts.append(time.perf_counter() - t0)
            return statistics.median(ts)

        return median(urls[0]), median(urls[-1]), len(urls)


def measure(tmp: Path, n: int) -> dict[str, float]:
    db = tmp / f"obs-{n}.db"
    t0 = time.perf_counter()
    token = build(db, n)
    built = time.perf_counter() - t0
    port = free_port()
    proc = start_server(str(db), port, 1)
    base = f"http://127.0.0.1:{port}"
    try:
        first, last, pages = page_times(base, token)
        g1000, n1000 = gdal_read(base, token, 1000, tmp / "out.geojsonl")
        g10, n10 = gdal_read(base, token, None, tmp / "out.geojsonl")
    finally:
        proc.terminate()
        proc.wait(30)
    assert n1000 == n10 == n, (n1000, n10, n)
    return {
        "n": n,
        "built_s": built,
        "first": first,
        "last": last,
        "pages": pages,
        "gdal_1000": g1000,
        "gdal_10": g10,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=6_000)
    ap.add_argument("--large", type=int, default=60_000)
    ap.add_argument("--out", default=str(ROOT / "bench/results/ogc_paging.md"))
    args = ap.parse_args()
    if shutil.which("ogr2ogr") is None:
        raise SystemExit("ogr2ogr is missing: apt-get install gdal-bin")
    gdal = subprocess.run(["gdalinfo", "--version"], capture_output=True, text=True).stdout
    with tempfile.TemporaryDirectory(prefix="bench-ogc-") as d:
        small = measure(Path(d), args.small)
        large = measure(Path(d), args.large)
    k = large["n"] / small["n"]
    rows = [
        ("GDAL ogr2ogr, whole collection, PAGE_SIZE=1000", "gdal_1000", "s"),
        ("GDAL ogr2ogr, whole collection, default page size (10)", "gdal_10", "s"),
        ("one page of 1,000: the first (median of 5)", "first", "ms"),
        ("one page of 1,000: the last (median of 5)", "last", "ms"),
    ]
    lines = [
        f"# OGC API paging: GDAL reads {large['n']:,} vs {small['n']:,} observations",
        "",
        f"{gdal.strip()}; Python {platform.python_version()}; SQLite store; `truceline serve` "
        "with one worker on loopback; analyst key. Baseline: the "
        f"{small['n']:,}-observation store in the same run (linear = ratio {k:.0f}).",
        "",
        f"| measurement | {small['n']:,} (baseline) | {large['n']:,} | ratio |",
        "|---|---:|---:|---:|",
    ]
    for label, key, unit in rows:
        f = 1000.0 if unit == "ms" else 1.0
        a, b = small[key] * f, large[key] * f
        lines.append(f"| {label} | {a:,.2f} {unit} | {b:,.2f} {unit} | {b / a:.1f} |")
    lines.append(f"| pages of 1,000 | {small['pages']} | {large['pages']} | |")
    lines += [
        "",
        f"Last page / first page at {large['n']:,}: "
        f"{large['last'] / large['first']:.2f} (1.0 = a page costs the same wherever "
        "it is).",
    ]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
