// The browser checks a finding's place in the record itself (docs/record.md):
// RFC 6962 / 9162 inclusion with SHA-256 from Web Crypto, the log's Ed25519 signature on the
// C2SP checkpoint and the parties' cosignature/v1 lines with @noble/ed25519 (vendored, pinned).
import * as ed from "./vendor/noble-ed25519-2.3.0/index.js";
import { get } from "./api.js";

const enc = new TextEncoder();
const ALG_ED25519 = 0x01, ALG_COSIGNATURE_V1 = 0x04;
const DOMAIN = enc.encode("truceline/commitment/v1\0");

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
export async function sha256(...parts) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", concat(...parts)));
}
const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const hex = (u) => Array.from(u, (b) => b.toString(16).padStart(2, "0")).join("");
const fromHex = (s) => Uint8Array.from(s.match(/../g) || [], (h) => parseInt(h, 16));
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/** A C2SP verifier key name+hexid+base64(alg||key), its key id checked. */
export async function parseVkey(vkey) {
  const i = vkey.indexOf("+"), j = vkey.indexOf("+", i + 1);
  const name = vkey.slice(0, i), id = fromHex(vkey.slice(i + 1, j)), raw = b64(vkey.slice(j + 1));
  const want = (await sha256(enc.encode(name + "\n"), raw)).slice(0, 4);
  if (!same(want, id)) throw new Error(`key id of ${name} does not match its key`);
  return { name, id, alg: raw[0], pub: raw.slice(1) };
}

/** A signed note: its text (up to the blank line) and its signature lines. */
export function parseNote(note) {
  const cut = note.indexOf("\n\n");
  if (cut < 0) throw new Error("not a signed note");
  const text = note.slice(0, cut + 1);
  const sigs = note.slice(cut + 2).split("\n").filter(Boolean).map((line) => {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) throw new Error("bad signature line");
    const raw = b64(m[2]);
    return { name: m[1], id: raw.slice(0, 4), sig: raw.slice(4) };
  });
  const [origin, size, root] = text.split("\n");
  return { text, sigs, origin, size: Number(size), root: b64(root) };
}

const verify = (sig, msg, pub) => ed.verifyAsync(sig, msg, pub, { zip215: false }).catch(() => false);

/** Whether ``key`` made a valid signature (or cosignature/v1) over the note's text. */
async function signedBy(note, key) {
  for (const s of note.sigs) {
    if (s.name !== key.name || !same(s.id, key.id)) continue;
    if (key.alg === ALG_ED25519 && s.sig.length === 64) {
      if (await verify(s.sig, enc.encode(note.text), key.pub)) return true;
    } else if (key.alg === ALG_COSIGNATURE_V1 && s.sig.length === 72) {
      let t = 0n;
      for (const b of s.sig.slice(0, 8)) t = (t << 8n) | BigInt(b);
      const msg = enc.encode(`cosignature/v1\ntime ${t}\n${note.text}`);
      if (await verify(s.sig.slice(8), msg, key.pub)) return true;
    }
  }
  return false;
}

/** RFC 9162 section 2.1.3.2: the root an audit path leads to from ``leaf`` at ``index``. */
export async function rootFromInclusion(leaf, index, size, path) {
  if (index >= size) throw new Error("index beyond size");
  let fn = index, sn = size - 1, r = leaf;
  const node = (a, b) => sha256(Uint8Array.of(1), a, b);
  for (const p of path) {
    if (sn === 0) throw new Error("audit path too long");
    if (fn % 2 === 1 || fn === sn) {
      r = await node(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await node(r, p);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error("audit path too short");
  return r;
}

/** The commitment to one field of a committed entry (docs/record.md, "Commitments"). */
async function commitment(type, field, saltHex, value) {
  const name = enc.encode(JSON.stringify([type, field]));
  return hex(await sha256(DOMAIN, name, fromHex(saltHex), enc.encode(JSON.stringify(value))));
}

//: Where the page keeps the log key its user pinned (a public key, so localStorage): what the
//: served checkpoint must be signed with, compared out of band (docs/dashboard.md).
const PIN = "truceline.logkey";
export function pinnedLogKey() { return localStorage.getItem(PIN) || ""; }
export function pinLogKey(vkey) { vkey ? localStorage.setItem(PIN, vkey) : localStorage.removeItem(PIN); }

/**
 * Check a finding's record entry: its id opening against the entry's commitment, the entry's
 * leaf hash, the inclusion proof against the checkpoint's root, the log's signature and each
 * party's cosignature. Returns {ok, text, checkpoint, cosigners, pinned}; never throws.
 *
 * The leaf must be shown to be this finding's (entry bytes hashing to it and an opening of
 * its id, or a plaintext id): a valid proof of some other leaf proves nothing about it. The
 * log's key is the one the user pinned when there is one; it must also be the one
 * ``/record/log-key`` serves, so one tampered answer cannot bring its own key.
 */
export async function checkFinding(findingId) {
  try {
    const loc = await get(`/dashboard/record/${encodeURIComponent(findingId)}`);
    const proof = await get(`/record/proof/inclusion?index=${loc.index}&size=${loc.size}`);
    const cp = await get(`/dashboard/checkpoint?size=${loc.size}`);
    const note = parseNote(cp.note);
    if (proof.index !== loc.index || proof.size !== loc.size) throw new Error("the proof is not for the entry asked about");
    if (note.size !== proof.size) throw new Error("the checkpoint is not of the proof's size");
    const leaf = b64(proof.leaf_hash);
    if (!proof.entry) throw new Error("the entry is not served to this key: the leaf cannot be tied to the finding");
    const bytes = b64(proof.entry);
    if (!same(await sha256(Uint8Array.of(0), bytes), leaf)) throw new Error("entry does not hash to the leaf");
    const entry = JSON.parse(new TextDecoder().decode(bytes));
    if (entry.type !== "finding") throw new Error("the entry is not a finding");
    const c = entry.body.id && entry.body.id.c;
    if (c) {
      if (!loc.opening || loc.opening.field !== "id") throw new Error("no opening of the entry's id: the leaf cannot be tied to the finding");
      const got = await commitment("finding", "id", loc.opening.salt, loc.opening.value);
      if (got !== c || loc.opening.value !== findingId) throw new Error("the id opening does not match the entry");
    } else if (entry.body.id !== findingId) throw new Error("the entry is another finding's");
    const root = await rootFromInclusion(leaf, proof.index, proof.size, proof.proof.map(b64));
    if (!same(root, note.root)) throw new Error("the inclusion proof does not lead to the checkpoint's root");
    const pinned = pinnedLogKey();
    if (pinned && cp.log_vkey !== pinned) throw new Error("the checkpoint's log key is not the pinned one");
    const served = (await get("/record/log-key")).vkey;
    if (cp.log_vkey !== served) throw new Error("the checkpoint's log key is not the log's key");
    const logKey = await parseVkey(pinned || served);
    if (note.origin !== logKey.name || !(await signedBy(note, logKey))) throw new Error("no valid log signature");
    const cosigners = [], named = [];
    for (const [party, vkeys] of Object.entries(cp.witnesses)) {
      for (const vk of vkeys) {
        const key = await parseVkey(vk);
        if (key.alg === ALG_COSIGNATURE_V1 && (await signedBy(note, key))) { cosigners.push(party); named.push(`${party} (key ${hex(key.id)})`); break; }
      }
    }
    const by = cosigners.length ? ` cosigned by ${named.join(", ")}` : " (not cosigned by any party yet)";
    const trust = pinned ? "; log key pinned" : `; log key ${logKey.name}+${hex(logKey.id)} as served, not pinned: compare it out of band`;
    return { ok: true, checkpoint: note.size, cosigners, pinned: Boolean(pinned),
      text: `verified against checkpoint ${note.size}${by}${trust}` };
  } catch (e) {
    return { ok: false, text: `failed: ${e.message}` };
  }
}
