// The mission's map: base map, the agreement's layers at the chosen day, incidents clustered
// by the server, findings coloured by verdict, restrictions, coverage, observers (for the
// roles that may see them), filters, and a timeline of the daily report's counts.
import { apiKey, get, post, setApiKey } from "./api.js";
import { showFinding } from "./finding.js";
import { pinLogKey, pinnedLogKey } from "./verify.js";

const L = window.L;
const $ = (id) => document.getElementById(id);
const VERDICT = { violation: "#c0392b", compliant: "#27ae60", insufficient_evidence: "#e0a800" };
const PARTY = ["#4a78b5", "#b5524a", "#6a9a3a", "#8a5ab5"];
const CATEGORY = ["#c0392b", "#e67e22", "#8e44ad", "#2980b9", "#16a085", "#7f8c8d", "#d35400", "#2c3e50"];

const state = { cfg: null, days: [], day: null, report: null, published: new Set(), reports: new Map() };
const map = L.map("map", { zoomControl: true, preferCanvas: false }).setView([48.4, 36.8], 6);
window.truceMap = map;
map.createPane("base").style.zIndex = 350;  // under the overlays, whatever arrives first
L.control.scale({ imperial: false, maxWidth: 160 }).addTo(map);
const groups = {
  control: L.layerGroup().addTo(map), lines: L.layerGroup().addTo(map), zones: L.layerGroup().addTo(map),
  sectors: L.layerGroup().addTo(map), incidents: L.layerGroup().addTo(map), findings: L.layerGroup().addTo(map),
  restrictions: L.layerGroup().addTo(map), coverage: L.layerGroup().addTo(map), observers: L.layerGroup().addTo(map),
};
L.control.layers(null, {
  "Areas of control": groups.control, "Line(s) of contact": groups.lines, Zones: groups.zones,
  Sectors: groups.sectors, Incidents: groups.incidents, Findings: groups.findings,
  Restrictions: groups.restrictions, "Not covered": groups.coverage, Observers: groups.observers,
}, { collapsed: true }).addTo(map);

const status = (t) => { $("status").textContent = t; };
// Text for a tooltip as a node, never as HTML: ids, regions and names come from submitted
// reports (a party's too), and Leaflet parses a string tooltip as HTML in the reader's page.
const text = (t) => { const s = document.createElement("span"); s.textContent = String(t); return s; };
const esc = (t) => String(t).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const dayISO = (i) => state.days[i];
const filters = () => ({
  provision: $("f-provision").value, party: $("f-party").value, verdict: $("f-verdict").value,
  category: $("f-category").value, confidence: Number($("f-confidence").value || 0),
  sector: $("f-sector") ? $("f-sector").value : "",
});

function fill(select, values) {
  const keep = select.value;
  select.replaceChildren(new Option("all", ""), ...values.map((v) => new Option(v, v)));
  select.value = values.includes(keep) ? keep : "";
}

async function drawBase() {
  const base = await get("/dashboard/basemap");
  if (state.cfg.tile_url) L.tileLayer(state.cfg.tile_url, { maxZoom: 14 }).addTo(map);
  L.geoJSON(base.russia, { pane: "base", style: { color: "#aaa", weight: 0.6, fillColor: "#ececec", fillOpacity: 1 }, interactive: false }).addTo(map);
  L.geoJSON(base.outline, { pane: "base", style: { color: "#555", weight: 1.2, fillColor: "#fbfaf5", fillOpacity: 1 }, interactive: false }).addTo(map);
  L.geoJSON(base.oblasts, { pane: "base", style: { color: "#999", weight: 0.6, dashArray: "3 3", fill: false }, interactive: false }).addTo(map);
  const places = L.layerGroup().addTo(map);
  const labels = () => {
    places.clearLayers();
    for (const p of base.places.features) {
      if (p.properties.rank > (map.getZoom() >= 8 ? 3 : map.getZoom() >= 7 ? 2 : 1)) continue;
      const [lon, lat] = p.geometry.coordinates;
      L.circleMarker([lat, lon], { radius: 2, color: "#333", weight: 1, fillOpacity: 1, interactive: false })
        .bindTooltip(text(p.properties.name), { permanent: true, direction: "right", className: "place-label" }).addTo(places);
    }
  };
  map.on("zoomend", labels);
  labels();
}

async function drawAgreement() {
  const ly = await get("/dashboard/layers");
  state.layers = ly;
  const parties = state.cfg.agreement.parties;
  state.drawControl = () => {
    groups.control.clearLayers();
    for (const c of ly.control) {
      const p = c.properties, d = state.day;
      if ((p.valid_from && d < p.valid_from) || (p.valid_to && d >= p.valid_to)) continue;
      L.geoJSON(c, { style: { stroke: false, fillColor: PARTY[parties.indexOf(p.party) % PARTY.length], fillOpacity: 0.18 } })
        .bindTooltip(text(`area held by ${p.party}`)).addTo(groups.control);
    }
  };
  for (const l of ly.lines) L.geoJSON(l, { style: { color: "#111", weight: 2 } }).bindTooltip(text(l.properties.name)).addTo(groups.lines);
  for (const z of ly.zones) L.geoJSON(z, { style: { color: "#555", weight: 1, dashArray: "6 4", fill: false } }).bindTooltip(text(`zone ${z.properties.id}`)).addTo(groups.zones);
  ly.sectors.forEach((s, i) => L.geoJSON(s, { style: { color: CATEGORY[i % CATEGORY.length], weight: 5, opacity: 0.35 } })
    .bindTooltip(text(`sector ${s.properties.name}`)).addTo(groups.sectors));
}

// A 95 % error ellipse as a polygon (semi-axes in metres, azimuth of the major axis from north).
function ellipse(lat, lon, e) {
  const az = (e.angle_deg * Math.PI) / 180, pts = [];
  for (let k = 0; k <= 36; k++) {
    const t = (k * Math.PI) / 18, a = e.semi_major_m * Math.cos(t), b = e.semi_minor_m * Math.sin(t);
    const east = a * Math.sin(az) + b * Math.cos(az), north = a * Math.cos(az) - b * Math.sin(az);
    pts.push([lat + north / 111132, lon + east / (111320 * Math.cos((lat * Math.PI) / 180))]);
  }
  return pts;
}

// The incidents shown: the chosen day's reporting period, or the agreement's whole period.
function period() {
  const r = state.report;
  if ($("whole-period").checked) {
    const end = new Date(state.cfg.period.end + "T00:00:00Z");
    end.setUTCDate(end.getUTCDate() + 1);
    return [state.cfg.period.start + "T00:00:00Z", end.toISOString()];
  }
  return r ? [r.period_start, r.period_end] : [null, null];
}

async function drawIncidents() {
  const [start, end] = period();
  if (!start) return;
  const b = map.getBounds(), f = filters();
  const q = new URLSearchParams({ start, end, zoom: String(map.getZoom()),
    bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(4)).join(",") });
  const t0 = performance.now();
  const res = await get(`/dashboard/incidents?${q}`);
  groups.incidents.clearLayers();
  for (const m of res.marks) {
    if (m.incident) {
      const i = m.incident, loc = i.impact || i.location || i.origin;
      if (f.category && !(i.fire_type || i.kind).includes(f.category.split(":")[0].replace(/ /g, "_"))) continue;
      L.circleMarker([loc.lat, loc.lon], { radius: 4, color: "#7b241c", fillColor: "#c0392b", fillOpacity: 0.8, weight: 1 })
        .bindTooltip(text(`${i.id}: ${i.fire_type || i.kind} x${i.count} at ${i.time}`)).addTo(groups.incidents);
      const e = i.details && i.details.ellipse;
      if (e) L.polygon(ellipse(loc.lat, loc.lon, e), { color: "#c0392b", weight: 1, fill: false, dashArray: "2 2" }).addTo(groups.incidents);
    } else {
      const size = 18 + Math.min(22, Math.round(Math.log2(m.n + 1) * 3));
      L.marker([m.lat, m.lon], { icon: L.divIcon({ className: "", iconSize: [size, size],
        html: `<div class="cluster" style="width:${size}px;height:${size}px;line-height:${size}px">${m.n}</div>` }) })
        .bindTooltip(text(`${m.n} incidents (${m.count} counted): ${Object.entries(m.kinds).map(([k, v]) => `${k} ${v}`).join(", ")}`))
        .addTo(groups.incidents);
    }
  }
  state.drawn = (state.drawn || 0) + 1;  // for tests and bench/bench_dashboard.py
  window.__incidents = { n: state.drawn, at: performance.now(), ms: performance.now() - t0, marks: res.marks.length, total: res.total };
}

function drawFindings() {
  const f = filters();
  const list = (state.report ? state.report.findings : []).filter((x) =>
    (!f.provision || x.provision_id === f.provision) && (!f.party || x.party === f.party) &&
    (!f.verdict || x.verdict === f.verdict) && (x.confidence == null || x.confidence >= f.confidence));
  groups.findings.clearLayers();
  const ul = $("findings");
  ul.replaceChildren();
  for (const x of list) {
    const li = document.createElement("li");
    li.className = `finding v-${x.verdict}`;
    li.dataset.id = x.id;
    li.textContent = `${x.provision_id}: ${x.verdict}${x.party ? " (" + x.party + ")" : ""}${state.published.has(x.id) ? " \u2713 published" : ""}`;
    li.onclick = () => openFinding(x);
    ul.append(li);
    if (x.lat != null) {
      L.circleMarker([x.lat, x.lon], { radius: 7, color: "#222", weight: 1, fillColor: VERDICT[x.verdict] || "#888", fillOpacity: 0.9 })
        .bindTooltip(text(`${x.provision_id}: ${x.verdict}`)).on("click", () => openFinding(x)).addTo(groups.findings);
    }
  }
  $("findings-count").textContent = `(${list.length})`;
}

function openFinding(x) {
  // close enough that single incidents (with their ellipses) replace the clusters
  if (x.lat != null) map.setView([x.lat, x.lon], Math.max(map.getZoom(), 11));
  showFinding($("detail"), x, state.cfg, state.published, drawFindings);
}

function drawRestrictions() {
  groups.restrictions.clearLayers();
  for (const r of state.report.restrictions) {
    if (r.lon == null) continue;
    L.marker([r.lat, r.lon], { icon: L.divIcon({ className: "", html: "<b style='font-size:18px'>\u2716</b>", iconSize: [16, 16] }) })
      .bindTooltip(text(`restriction: ${r.type} (${r.region || ""}) ${r.time}`)).addTo(groups.restrictions);
  }
}

// A stretch of a line between two chainages (km), for the coverage gaps.
function stretch(line, fromKm, toKm) {
  const R = 6371.0088, rad = Math.PI / 180, out = [];
  const parts = line.geometry.type === "LineString" ? [line.geometry.coordinates] : line.geometry.coordinates;
  let at = 0;
  for (const part of parts) {
    let cur = [];
    for (let i = 1; i < part.length; i++) {
      const [x1, y1] = part[i - 1], [x2, y2] = part[i];
      const h = Math.sin(((y2 - y1) * rad) / 2) ** 2 + Math.cos(y1 * rad) * Math.cos(y2 * rad) * Math.sin(((x2 - x1) * rad) / 2) ** 2;
      const d = 2 * R * Math.asin(Math.sqrt(h));
      if (at + d >= fromKm && at <= toKm) { if (!cur.length) cur.push([y1, x1]); cur.push([y2, x2]); }
      at += d;
    }
    if (cur.length > 1) out.push(cur);
  }
  return out;
}

async function drawCoverage() {
  groups.coverage.clearLayers();
  groups.observers.clearLayers();
  let c, note = "";
  try { c = await get(`/coverage?day=${state.day}`); } catch (e) {
    // Outside the mission a period's coverage comes once it has ended in the record (finer
    // or still-filling windows would trace the patrols): until then, the last that has.
    if (e.status !== 403 || e.field !== "day") { $("coverage").textContent = `coverage: ${e.message}`; return; }
    try { c = await get("/coverage"); } catch (e2) { $("coverage").textContent = `coverage: ${e2.message}`; return; }
    note = ` (the last reporting period that has ended, to ${c.end}; ${state.day}'s once it has ended)`;
  }
  if (!c.assessed) { $("coverage").textContent = (c.reason || "coverage not assessed") + note; }
  else {
    const parts = Object.entries(c.parties).map(([p, s]) => `${p} side ${(100 * s).toFixed(0)} %`).join(", ");
    $("coverage").textContent = `Observed${note}: line ${(100 * c.line_share).toFixed(0)} %; ${parts}; ${c.gaps.length} gaps below ${(100 * c.below).toFixed(0)} %.`;
    const line = state.layers.lines.find((l) => l.properties.id === c.line);
    for (const g of line ? c.gaps : []) {
      for (const seg of stretch(line, g.from_km, g.to_km)) {
        L.polyline(seg, { color: "#555", weight: 9, opacity: 0.35 }).bindTooltip(text(`not covered (${g.party} side): ${g.from_km}-${g.to_km} km, ${(100 * g.share).toFixed(0)} % observed`)).addTo(groups.coverage);
      }
    }
  }
  for (const a of c.assets || []) {  // only analysts and monitors are sent the mission's assets
    if (a.lat == null) continue;
    L.circleMarker([a.lat, a.lon], { radius: 5, color: "#1f3447", fillColor: "#fff", fillOpacity: 1, weight: 2 })
      .bindTooltip(text(`${a.asset_type || "observer"} ${a.source_id} (${a.asset_status})`)).addTo(groups.observers);
    if (a.range_m) L.circle([a.lat, a.lon], { radius: a.range_m, color: "#1f3447", weight: 0.5, fill: false }).addTo(groups.observers);
  }
}

async function report(day) {
  if (!state.reports.has(day)) state.reports.set(day, get(`/reports/daily/${day}`));
  return state.reports.get(day);
}

async function selectDay(i) {
  state.day = dayISO(i);
  $("day-label").textContent = state.day;
  state.drawControl();
  const whole = $("whole-period").checked;
  const incidents = whole ? drawIncidents() : null;  // not tied to the day's period: at once
  state.report = await report(state.day);
  const total = Object.values(state.report.totals).reduce((a, b) => a + b, 0);
  $("day-summary").textContent = `${total} counted, ${state.report.findings.length} findings`;
  fill($("f-category"), Object.keys(state.report.totals));
  drawFindings();
  drawRestrictions();
  await Promise.all([incidents || drawIncidents(), drawCoverage()]);
  drawTimeline();
  document.body.dataset.ready = state.day;
}

// Stacked bars per day of the daily report's counts (per category, for the chosen sector).
function drawTimeline() {
  const svg = $("timeline-svg"), W = svg.clientWidth || 800, H = 150, pad = 18;
  const f = filters(), days = state.days, cats = new Set(), rows = [];
  for (const d of days) {
    const r = state.timeline && state.timeline.get(d), c = {};
    for (const row of r ? r.counts : []) {
      if (f.sector && row.sector !== f.sector) continue;
      for (const [k, v] of Object.entries(row.counts)) if (!f.category || k === f.category) { c[k] = (c[k] || 0) + v; cats.add(k); }
    }
    rows.push(c);
  }
  const order = [...cats].sort(), max = Math.max(1, ...rows.map((c) => Object.values(c).reduce((a, b) => a + b, 0)));
  const bw = (W - 2 * pad) / Math.max(1, days.length);
  const parts = [];
  rows.forEach((c, i) => {
    let y = H - pad;
    for (const k of order) {
      const h = ((c[k] || 0) / max) * (H - 2 * pad);
      if (h > 0) parts.push(`<rect x="${pad + i * bw + 1}" y="${y - h}" width="${Math.max(1, bw - 2)}" height="${h}" fill="${CATEGORY[order.indexOf(k) % CATEGORY.length]}"><title>${esc(days[i])} ${esc(k)}: ${esc(c[k])}</title></rect>`);
      y -= h;
    }
    if (days[i] === state.day) parts.push(`<rect x="${pad + i * bw}" y="2" width="${bw}" height="${H - pad}" fill="none" stroke="#000"/>`);
  });
  parts.push(`<text x="${pad}" y="12" font-size="11">counts per day (daily report)${f.category ? ": " + esc(f.category) : ""} \u2014 max ${max}</text>`);
  order.forEach((k, j) => parts.push(`<text x="${W - 200}" y="${12 + 11 * j}" font-size="10" fill="${CATEGORY[j % CATEGORY.length]}">${esc(k)}</text>`));
  parts.push(`<text x="${pad}" y="${H - 4}" font-size="10">${days[0]}</text><text x="${W - pad - 60}" y="${H - 4}" font-size="10">${days[days.length - 1]}</text>`);
  svg.innerHTML = parts.join("");
}

async function loadTimeline() {
  state.timeline = new Map();
  const sectors = new Set();
  const queue = [...state.days];
  const worker = async () => {
    while (queue.length) {
      const d = queue.shift();
      try { const r = await report(d); state.timeline.set(d, r); r.counts.forEach((c) => sectors.add(c.sector)); } catch (e) { /* a day without a report */ }
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  fill($("f-sector"), [...sectors].sort());
  drawTimeline();
  document.body.dataset.timeline = "ready";
}

async function drawNotifications() {
  const box = $("notifications-box");
  box.hidden = !["guarantor", "party", "analyst"].includes(state.cfg.role);
  if (box.hidden) return;
  const ul = $("notifications");
  ul.replaceChildren();
  let res;
  try { res = await get("/notifications"); } catch (e) { ul.textContent = e.message; return; }
  if (!res.notifications.length) ul.textContent = "none";
  for (const n of res.notifications) {
    const li = document.createElement("li");
    li.dataset.id = n.id;
    li.textContent = `${n.kind} ${n.provision_id} ${n.finding_id} (${n.party || "unattributed"}), ` +
      `for ${n.guarantor}: ${n.acknowledgement ? "acknowledged" : n.state} `;
    if (state.cfg.role === "guarantor" && n.guarantor === state.cfg.bound && !n.acknowledgement) {
      const b = document.createElement("button");
      b.textContent = "Acknowledge";
      b.onclick = async () => { try { await post(`/notifications/${n.id}/acknowledge`, {}); await drawNotifications(); } catch (e) { li.append(` refused: ${e.message}`); } };
      li.append(b);
    }
    ul.append(li);
  }
}

async function start() {
  try {
    state.cfg = await get("/dashboard/config");
  } catch (e) {
    status(`sign-in failed: ${e.message}`);
    setApiKey("");
    state.cfg = await get("/dashboard/config");
  }
  const c = state.cfg;
  $("whoami").textContent = `${c.role}${c.bound ? " " + c.bound : ""}`;
  $("signout-btn").hidden = !apiKey();
  $("agreement-title").textContent = `${c.agreement.title} (v${c.agreement.version})`;
  fill($("f-provision"), c.agreement.provisions.map((p) => p.id));
  fill($("f-party"), c.agreement.parties);
  const sector = document.createElement("label");
  sector.innerHTML = 'Sector <select id="f-sector"><option value="">all</option></select>';
  $("filters").append(sector);
  for (let d = new Date(c.period.start + "T00:00:00Z"); d <= new Date(c.period.end + "T00:00:00Z"); d.setUTCDate(d.getUTCDate() + 1)) {
    state.days.push(d.toISOString().slice(0, 10));
  }
  state.published = new Set((await get("/dashboard/published")).published);
  const slider = $("day");
  slider.max = String(state.days.length - 1);
  const query = new URLSearchParams(location.search), want = query.get("day");
  $("whole-period").checked = query.get("span") === "all";
  $("whole-period").onchange = drawIncidents;
  slider.value = String(Math.max(0, state.days.indexOf(want)));
  await Promise.all([drawBase(), drawAgreement(), report(dayISO(Number(slider.value)))]);
  await selectDay(Number(slider.value));
  slider.oninput = () => { $("day-label").textContent = dayISO(Number(slider.value)); };
  slider.onchange = () => selectDay(Number(slider.value));
  for (const id of ["f-provision", "f-party", "f-verdict", "f-confidence"]) $(id).onchange = drawFindings;
  $("f-category").onchange = () => { drawIncidents(); drawTimeline(); };
  $("f-sector").onchange = drawTimeline;
  map.on("moveend", drawIncidents);
  drawNotifications();
  loadTimeline();
}

$("signin").onsubmit = (ev) => { ev.preventDefault(); setApiKey($("apikey").value.trim()); location.reload(); };
$("signout-btn").onclick = () => { setApiKey(""); location.reload(); };
$("logkey").value = pinnedLogKey();
$("pin").onsubmit = (ev) => { ev.preventDefault(); pinLogKey($("logkey").value.trim()); status(pinnedLogKey() ? "log key pinned" : "log key unpinned"); };
start().catch((e) => status(`error: ${e.message}`));
