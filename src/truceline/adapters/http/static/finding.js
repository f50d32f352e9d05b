// One finding's page in the side panel: clause, reasons, evidence (as this key may see it),
// disputes, the record check, and what this role may do (dispute, publish).
import { get, post } from "./api.js";
import { checkFinding } from "./verify.js";

const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) k === "text" ? (e.textContent = v) : e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
};

function row(dl, term, value) { dl.append(el("dt", { text: term }), el("dd", {}, value)); }

async function evidenceList(ids) {
  const ul = el("ul", { id: "evidence" });
  for (const id of ids) {
    try {
      const o = await get(`/observations/${encodeURIComponent(id)}`);
      const where = o.lat != null ? ` at ${o.lat.toFixed(3)}N ${o.lon.toFixed(3)}E` : "";
      ul.append(el("li", { text: `${o.id}: ${o.kind}${o.fire_type ? " (" + o.fire_type + ")" : ""}, ${o.time}${where}, from ${o.source_id}` }));
    } catch (e) {
      ul.append(el("li", { text: `${id}: not open to this key` }));
    }
  }
  return ul;
}

async function disputesBox(f, cfg, refresh) {
  const box = el("div", { id: "disputes" });
  let list = [];
  try { list = await get(`/findings/${encodeURIComponent(f.id)}/disputes`); } catch (e) { /* none visible */ }
  if (!list.length) box.append(el("p", { text: "No disputes." }));
  for (const d of list) {
    const hist = (d.history || []).map((h) => `${h.status || h.step} ${h.time || ""}`).join("; ");
    box.append(el("p", { class: "dispute", text: `Dispute ${d.id} by ${d.party || "a party"}: ${d.status}` +
      (d.text ? ` \u2014 "${d.text}"` : "") + (hist ? ` (history: ${hist})` : "") }));
  }
  if (cfg.role === "party" && cfg.bound && cfg.bound === f.party) {
    const text = el("textarea", { id: "dispute-text", rows: "3", cols: "40", placeholder: "Why this finding is wrong" });
    const btn = el("button", { id: "dispute-btn", type: "button", text: "File a dispute" });
    const msg = el("span", { id: "dispute-msg" });
    btn.onclick = async () => {
      try {
        const d = await post(`/findings/${encodeURIComponent(f.id)}/disputes`, { text: text.value, evidence: [] });
        msg.textContent = `Dispute ${d.id} filed (${d.status}).`;
        await refresh();
      } catch (e) { msg.textContent = `Refused: ${e.message}${e.field ? " (" + e.field + ")" : ""}`; }
    };
    box.append(text, el("br"), btn, msg);
  }
  return box;
}

/** Show finding ``f`` in ``panel``; ``published`` is the set of published ids. */
export async function showFinding(panel, f, cfg, published, onChange) {
  const refresh = () => showFinding(panel, f, cfg, published, onChange);
  panel.hidden = false;
  panel.replaceChildren(el("h2", { text: `Finding ${f.id}` }));
  const clause = (cfg.agreement.provisions.find((p) => p.id === f.provision_id) || {}).clause || "";
  const dl = el("dl");
  row(dl, "Provision", `${f.provision_id}: ${clause}`);
  row(dl, "Verdict", `${f.verdict}${f.party ? " (" + f.party + ")" : ""}`);
  row(dl, "Confidence", f.confidence == null ? "n/a" : String(f.confidence));
  row(dl, "Time", f.time || `${f.window_start} to ${f.window_end}`);
  row(dl, "Status", published.has(f.id) ? "published" : "not published");
  row(dl, "Reasons", f.explanation);
  panel.append(dl);
  if (cfg.role === "analyst" && !published.has(f.id)) {
    const btn = el("button", { id: "publish-btn", type: "button", text: "Publish" });
    btn.onclick = async () => {
      try { await post(`/findings/${encodeURIComponent(f.id)}/publish`); published.add(f.id); onChange(); await refresh(); }
      catch (e) { btn.after(el("span", { text: ` Refused: ${e.message}` })); }
    };
    panel.append(btn);
  }
  panel.append(el("h3", { text: "Evidence" }), await evidenceList(f.evidence || []));
  panel.append(el("h3", { text: "Disputes" }), await disputesBox(f, cfg, refresh));
  const proof = el("p", { id: "proof", text: "checking the record\u2026" });
  panel.append(el("h3", { text: "Record" }), proof);
  const res = await checkFinding(f.id);
  proof.textContent = res.text;
  proof.className = res.ok ? "proof-ok" : "proof-failed";
}
