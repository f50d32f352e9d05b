// Talking to the API as the signed-in key (kept for this tab only, in sessionStorage).
const KEY = "truceline.apikey";

export function apiKey() { return sessionStorage.getItem(KEY) || ""; }
export function setApiKey(k) { k ? sessionStorage.setItem(KEY, k) : sessionStorage.removeItem(KEY); }

function headers(json) {
  const h = {};
  if (apiKey()) h.Authorization = `Bearer ${apiKey()}`;
  if (json) h["Content-Type"] = "application/json";
  return h;
}

async function answer(r) {
  const body = await r.json().catch(() => ({}));
  if (!r.ok) {
    const e = new Error(body.message || `HTTP ${r.status}`);
    e.status = r.status; e.field = body.field;
    throw e;
  }
  return body;
}

export async function get(path) { return answer(await fetch(path, { headers: headers(false) })); }

export async function post(path, body = {}) {
  return answer(await fetch(path, { method: "POST", headers: headers(true), body: JSON.stringify(body) }));
}
