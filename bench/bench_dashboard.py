"""The dashboard with 100,000 incidents over 30 days in headless Chromium: first render, pan/zoom.

A store holds the March 2025 agreement and ``--n`` synthetic incidents (seed fixed) spread along
the real front line over the agreement's 30 days, each with a 95 % ellipse. The app is served on
a loopback port and Debian's Chromium is driven with Playwright as an analyst (who sees every
incident, exact: the heaviest case). Three ways of drawing the same incidents, same run:

(a) the dashboard (``/?span=all``): the server clusters per zoom (``/dashboard/incidents``,
    numpy over a cached per-role index) and Leaflet draws a few hundred marks;
(b) baseline: every incident from ``/incidents`` drawn as a Leaflet SVG circle marker;
(c) baseline: the same with Leaflet's canvas renderer (``preferCanvas``).

First render: navigation start to the incidents drawn (and a frame painted). Pan/zoom: each
of a fixed sequence of views (``setView`` without animation, ``panBy``) to the marks redrawn
and a frame painted. Round 1 is cold (the server builds its index); rounds 2+ are warm.

    python bench/bench_dashboard.py [--n 100000] [--rounds 3]

Writes bench/results/dashboard.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import uvicorn
from playwright.sync_api import sync_playwright

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.http import create_app
from truceline.adapters.http.auth import create_api_key
from truceline.adapters.store import open_store
from truceline.core.agreement_geometry import geometry_spec
from truceline.core.incidents import Incident, Located
from truceline.services.record import initialize_store
from truceline.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "dashboard.md"
CHROMIUM = os.environ.get("TRUCELINE_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
START = datetime(2025, 3, 20, 0, 0, tzinfo=UTC)  # the slider's first day (UTC)
KINDS = ("explosion", "projectile_in_flight", "muzzle_flash", "illumination_flare",
         "burst_or_shot")
#: The views every path is taken through: (centre lat, lon, zoom), or ("pan", dx, dy).
VIEWS: list[tuple[Any, ...]] = [(48.0, 37.8, 8), ("pan", 300, 0), ("pan", 0, -250),
                                (48.3, 38.0, 10), (48.3, 38.0, 12), (48.4, 36.8, 6),
                                ("pan", -400, 150), (47.6, 35.5, 9)]


def build(db: Path, n: int, seed: int = 7) -> str:
    """A store with the agreement and ``n`` incidents along the front line; an analyst key."""
    ag, doc = load_agreement_file("march2025")
    store = open_store(str(db), create=True)
    initialize_store(store, doc)
    line = geometry_spec(ag).lines["front_2025"]
    rng = np.random.default_rng(seed)
    at = shapely.line_interpolate_point(line, rng.random(n), normalized=True)
    lon = shapely.get_x(at) + rng.normal(0, 0.06, n)
    lat = shapely.get_y(at) + rng.normal(0, 0.04, n)
    secs = np.sort(rng.integers(0, 30 * 86400, n))
    sd = rng.uniform(150, 1500, n)
    incs = []
    for i in range(n):
        ell = {"semi_major_m": round(2.45 * sd[i], 1), "semi_minor_m": round(1.5 * sd[i], 1),
               "angle_deg": float(rng.uniform(0, 180)), "confidence": 0.95}
        incs.append(Incident(
            id=f"bench-{i:06d}", kind="fire",
            time=(START + timedelta(seconds=int(secs[i]))).strftime("%Y-%m-%dT%H:%M:%SZ"),
            evidence=(), fire_type=KINDS[i % len(KINDS)], count=1 + i % 4,
            location=Located(float(lon[i]), float(lat[i]), (sd[i] ** 2, 0.0, sd[i] ** 2)),
            details={"ellipse": ell}))
    store.replace_incidents(incs, [])
    token = create_api_key(store, "bench-analyst", "analyst", None)
    store.close()
    return token


def serve(db: Path) -> tuple[uvicorn.Server, threading.Thread, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    srv = uvicorn.Server(uvicorn.Config(create_app(str(db), Settings()), host="127.0.0.1",
                                        port=port, log_level="warning"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    while not srv.started:
        time.sleep(0.05)
    return srv, t, f"http://127.0.0.1:{port}"


BASELINE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/dashboard/static/vendor/leaflet-1.9.4/leaflet.css">
<style>body{margin:0} #map{width:1100px;height:800px}</style></head><body><div id="map"></div>
<script src="/dashboard/static/vendor/leaflet-1.9.4/leaflet.js"></script>
<script>
const map = L.map("map", {preferCanvas: PREFER_CANVAS}).setView([48.4, 36.8], 6);
window.truceMap = map; window.__incidents = {n: 0};
const painted = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
map.on("moveend", () => painted().then(() => { window.__incidents.n += 1; }));
const auth = {headers: {Authorization: "Bearer TOKEN"}};
fetch("/incidents", auth).then(r => r.json()).then(async d => {
  const group = L.layerGroup();
  for (const i of d.incidents) {
    const p = i.impact || i.location || i.origin;
    if (p) L.circleMarker([p.lat, p.lon], {radius: 4, weight: 1}).addTo(group);
  }
  group.addTo(map);
  await painted();
  window.__incidents = {n: 1, at: performance.now(), total: d.incidents.length};
});
</script></body></html>"""

#: In the page: move the map, wait for the incidents to be redrawn and a frame painted.
MOVE = """async (v) => {
  const map = window.truceMap, n0 = window.__incidents.n, t0 = performance.now();
  if (v[0] === "pan") map.panBy([v[1], v[2]], {animate: false});
  else map.setView([v[0], v[1]], v[2], {animate: false});
  while (window.__incidents.n === n0) await new Promise(r => setTimeout(r, 2));
  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  return performance.now() - t0;
}"""


def run_path(browser: Any, url: str, token: str, kind: str) -> dict[str, Any]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    if kind == "dashboard":
        page.add_init_script(f"sessionStorage.setItem('truceline.apikey', '{token}')")
        page.goto(f"{url}/?day=2025-04-04&span=all")
    else:
        html = BASELINE.replace("TOKEN", token).replace(
            "PREFER_CANVAS", "true" if kind == "canvas" else "false")
        page.route(f"{url}/bench-baseline", lambda r: r.fulfill(body=html,
                                                                 content_type="text/html"))
        page.goto(f"{url}/bench-baseline")
    page.wait_for_function("window.__incidents && window.__incidents.at", timeout=600_000)
    first = float(page.evaluate("window.__incidents.at"))
    total = int(page.evaluate("window.__incidents.total"))
    if kind == "dashboard":
        page.wait_for_selector("body[data-timeline]", timeout=600_000)  # quiet before moving
    moves = [float(page.evaluate(MOVE, list(v))) for v in VIEWS]
    marks = page.evaluate("window.__incidents.marks || null")
    heap = page.evaluate("performance.memory ? performance.memory.usedJSHeapSize : null")
    page.close()
    return {"first_ms": first, "moves_ms": moves, "total": total, "marks": marks,
            "heap_mb": heap / 2**20 if heap else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        t = time.perf_counter()
        token = build(db, a.n)
        built = time.perf_counter() - t
        srv, thread, url = serve(db)
        results: dict[str, list[dict[str, Any]]] = {"dashboard": [], "svg": [], "canvas": []}
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                for r in range(a.rounds):
                    for kind in results:
                        res = run_path(browser, url, token, kind)
                        results[kind].append(res)
                        print(f"round {r + 1} {kind}: first {res['first_ms']:.0f} ms, moves "
                              f"{[round(m) for m in res['moves_ms']]} ms", flush=True)
                browser.close()
        finally:
            srv.should_exit = True
            thread.join(10)
    write(results, a.n, built)


HEADER = ("| path | incidents | first render, cold (ms) | first render, warm median (ms) | "
          "pan/zoom median (ms) | pan/zoom worst (ms) | JS heap (MB) |\n"
          "|---|---:|---:|---:|---:|---:|---:|")


def write(results: dict[str, list[dict[str, Any]]], n: int, built: float) -> None:
    names = {"dashboard": "(a) dashboard: server clusters per zoom",
             "svg": "(b) baseline: every incident an SVG marker",
             "canvas": "(c) baseline: every incident on a canvas"}
    rows = []
    for kind, runs in results.items():
        warm = runs[1:] or runs
        moves = [m for r in warm for m in r["moves_ms"]]
        rows.append(f"| {names[kind]} | {runs[0]['total']:,} | {runs[0]['first_ms']:,.0f} | "
                    f"{statistics.median(r['first_ms'] for r in warm):,.0f} | "
                    f"{statistics.median(moves):,.0f} | {max(moves):,.0f} | "
                    f"{statistics.median(r['heap_mb'] or 0 for r in warm):,.0f} |")
    text = f"""# Dashboard: {n:,} incidents over 30 days in headless Chromium

{datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {os.cpu_count()} CPUs (shared), Debian
Chromium via Playwright, viewport 1400x900; store built in {built:.0f} s. Pan/zoom: the
{len(VIEWS)} views of `VIEWS` per round; warm = rounds 2+.

{HEADER}
{chr(10).join(rows)}

Raw: {json.dumps({k: [{**r, "marks": r["marks"]} for r in v] for k, v in results.items()})}
"""
    OUT.write_text(text, encoding="utf-8")
    print(text.split("Raw:")[0])


if __name__ == "__main__":
    main()
