// GAN Workbench's shared browser module: the live feed's hub and what every live component needs (decoding
// base64 typed arrays, sharp whole-factor image scaling). Served once by the dashboard's own server
// (GET _gw/static/shared.js, dashboard/live/components.py) and imported by each component, so the page holds
// one copy and one hub, whichever components are drawn.
//
// The hub fetches what is new from GET _gw/live/all?parts=...&<part>=<state> (dashboard/live/feed.py), with no
// Streamlit rerun. Why one hub for all parts: each update the browser draws is a full-page frame (style,
// layout, paint, layerize, commit; about 7 ms of the renderer's main thread plus compositor and browser work).
// With a timer per part, the parts' answers landed in three or four frames a second; here the parts that are
// due go out in one request, their new images are loaded first, and their updates land in one frame.
// While a run is busy the parts refresh at the live pace the user picks (pace(): every 1, 2, 5 or 10 s;
// 2 by default: on a 2-core machine each refresh's frame costs training time, docs/benchmarks.md).
// A member is {url, interval() (seconds, or null: only when kicked), alive(), query(), prepare(message)?
// (a promise: work to finish before any part updates), apply(reply) (true: fetch it again at once),
// refused(error)?, root()?: the component's element, where a part the server could not answer says why}. A
// member is fetched when it joins (its component is drawn) and when kicked. Each part of a reply stands
// alone: {message, state}, or {error} for a part that failed on the server (the others are applied as usual).

const HUB = {members: new Map(), running: false, wake: null, timer: null, requests: 0};
const JOIN_WAIT_MS = 30;  // parts drawn by the same rerun join within this, and go out together
const SLACK_MS = 250;  // a part due this soon goes out with the others, so equal intervals stay aligned
export const PACES = [1, 2, 5, 10];
const DEFAULT_PACE = 2;
export const FIRST_POINT_S = 0.5;  // a live chart with no rows yet asks this often: the first point shows at once

export function pace() {
  // The live pace in seconds, as the user last chose it (kept in this browser).
  try {
    const saved = Number(localStorage.getItem("ganWorkbench.livePace"));
    return PACES.includes(saved) ? saved : DEFAULT_PACE;
  } catch (error) { return DEFAULT_PACE; }
}

export function setPace(seconds) {
  try { localStorage.setItem("ganWorkbench.livePace", String(seconds)); } catch (error) { /* private mode */ }
  kick();
}

function feedUrl(path, query) {
  const url = new URL(path, new URL(".", window.location.href));  // relative to the page's own folder
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
  }
  return url;
}

async function fetchJson(path, query, onRefused) {
  // null when the server is restarting or refuses (then onRefused(its message)): the hub tries again
  // when the part is next due.
  try {
    HUB.requests += 1;
    window.__gwFeedRequests = HUB.requests;  // read by the browser tests (no DOM write: no style work)
    const response = await fetch(feedUrl(path, query), {cache: "no-store", credentials: "same-origin"});
    if (response.ok) return await response.json();
    if (onRefused) onRefused(String((await response.json()).error || response.status));
  } catch (error) { /* not reachable now: try again when due */ }
  return null;
}

export function join(name, member) {
  // A component drawn (again): its part is fetched now, then every member.interval() seconds.
  const old = HUB.members.get(name);
  member.last = old ? old.last : 0;
  member.due = true;
  HUB.members.set(name, member);
  kick();
}

export function kick(name) {
  // Fetch a part now (the user asked for something), or just wake the hub to see who is due.
  const member = name && HUB.members.get(name);
  if (member) member.due = true;
  if (!HUB.running) hubLoop();
  else if (HUB.wake) HUB.wake();
}

async function hubLoop() {
  HUB.running = true;
  await new Promise((resolve) => setTimeout(resolve, JOIN_WAIT_MS));
  for (;;) {
    for (const [name, member] of HUB.members) if (!member.alive()) HUB.members.delete(name);
    if (!HUB.members.size) break;
    const now = performance.now();
    // A part is due when kicked, or when its interval has (nearly) passed: once one is, parts due within
    // half an interval go out with it, so parts on the same pace share one request and one frame.
    const late = (member, share) => {
      const interval = (member.interval() || 0) * 1000;
      return interval > 0 && now - member.last >= interval - Math.max(SLACK_MS, interval * share);
    };
    const first = [...HUB.members.values()].some((member) => member.due || late(member, 0));
    const due = first ? [...HUB.members].filter(([, member]) => member.due || late(member, 0.5)) : [];
    if (due.length) {
      let again = false;
      try { again = await fetchParts(due, now); } catch (error) { again = false; }
      if (again) continue;
    }
    let wait = Infinity;
    for (const member of HUB.members.values()) {
      if (member.due) wait = 0;
      else if (member.interval()) wait = Math.min(wait, member.last + member.interval() * 1000 - performance.now());
    }
    await new Promise((resolve) => {
      HUB.wake = () => setTimeout(resolve, JOIN_WAIT_MS);
      if (wait < Infinity) HUB.timer = setTimeout(resolve, Math.max(0, wait));
    });
    clearTimeout(HUB.timer);
    HUB.wake = null;
  }
  HUB.running = false;
}

async function fetchParts(due, now) {
  // One request for the due parts; every part's update is applied in the same task, after all decoding.
  const query = {parts: due.map(([name]) => name).join(",")};
  for (const [, member] of due) {
    member.due = false;
    member.last = now;
    Object.assign(query, member.query());
  }
  const body = await fetchJson(due[0][1].url, query, (error) => {
    for (const [, member] of due) if (member.refused) member.refused(error);
  });
  if (!body || !body.parts) return false;
  const answered = (name) => body.parts[name] && body.parts[name].error === undefined;
  await Promise.all(due.map(([name, member]) =>
    answered(name) && member.prepare ? member.prepare(body.parts[name].message) : null));
  let again = false;
  for (const [name, member] of due) {
    const reply = body.parts[name];
    if (!reply) continue;
    partNote(member.root && member.root(), reply.error === undefined ? null : reply.error);
    if (reply.error === undefined && member.apply(reply)) { member.due = true; again = true; }
  }
  return again;
}

export function partNote(root, text) {
  // A part the server could not answer says so at the top of its component (text: why; null: it answers
  // again, and the note goes). What the part showed before stays below it.
  if (!root) return;
  let note = root.querySelector(":scope > .gw-part-error");
  if (!text) { if (note) note.remove(); return; }
  if (!note) {
    note = document.createElement("div");
    note.className = "gw-note gw-note-warning gw-part-error";
    root.prepend(note);
  }
  const line = "Live updates of this part failed on the server: " + text;
  if (note.textContent !== line) note.textContent = line;
}

export function decode(b64, type) {
  // A base64 string as the typed array it was written from: "f32", "f64" or "u8".
  if (!b64) return type === "u8" ? new Uint8Array(0) : type === "f64" ? new Float64Array(0) : new Float32Array(0);
  const text = atob(b64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  if (type === "u8") return bytes;
  return type === "f64" ? new Float64Array(bytes.buffer) : new Float32Array(bytes.buffer);
}

export function loadImage(png) {
  // A base64 PNG as a loaded <img> (null when it does not decode), before anything on the page changes. Not
  // image.decode(): Chromium resolves it only after a compositor commit, i.e. one more frame each time.
  return new Promise((resolve) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => resolve(null);
    image.src = "data:image/png;base64," + png;
  });
}

export function sharpScale(img, width, minScale = 2, maxScale = 4) {
  // Draw an image at a whole multiple of its size (nearest-neighbour via CSS), at least minScale, so every
  // pixel stays a sharp square; returns the scale.
  const natural = img.naturalWidth;
  if (!natural) return 0;
  const scale = Math.min(maxScale, Math.max(minScale, Math.floor(width / natural)));
  img.style.width = natural * scale + "px";
  img.dataset.scale = String(scale);
  return scale;
}
