// The live feed's client (prepended to each live component's module by dashboard/live.py): fetch what is
// new from GET _gw/live/all?parts=...&<part>=<state> (dashboard/feed.py), with no Streamlit rerun.
// Why one hub for all parts: each update the browser draws is a full-page frame (style, layout, paint,
// layerize, commit; about 7 ms of the renderer's main thread plus compositor and browser work). With a
// timer per part, the parts' answers landed in three or four frames a second; here the parts that are due
// go out in one request, their new images are loaded first, and their updates land in one frame.
// The hub lives on window, shared by the components' modules (each has its own copy of these functions).
// While a run is busy the parts refresh at the live pace the user picks (gwPace: every 1, 2, 5 or 10 s;
// 2 by default: on a 2-core machine each refresh's frame costs training time, docs/benchmarks.md).
// A member is {url, interval() (seconds, or null: only when kicked), alive(), query(), prepare(message)?
// (a promise: work to finish before any part updates), apply(reply) (true: fetch it again at once),
// refused(error)?}. A member is fetched when it joins (its component is drawn) and when kicked.

const GW_HUB = (window.__gwFeedHub = window.__gwFeedHub || {members: new Map(), running: false, wake: null});
const GW_JOIN_WAIT_MS = 30;  // parts drawn by the same rerun join within this, and go out together
const GW_SLACK_MS = 250;  // a part due this soon goes out with the others, so equal intervals stay aligned
const GW_PACES = [1, 2, 5, 10];
const GW_DEFAULT_PACE = 2;
const GW_FIRST_POINT_S = 0.5;  // a live chart with no rows yet asks this often: the first point shows at once

function gwPace() {
  // The live pace in seconds, as the user last chose it (kept in this browser).
  try {
    const saved = Number(localStorage.getItem("ganWorkbench.livePace"));
    return GW_PACES.includes(saved) ? saved : GW_DEFAULT_PACE;
  } catch (error) { return GW_DEFAULT_PACE; }
}

function gwSetPace(seconds) {
  try { localStorage.setItem("ganWorkbench.livePace", String(seconds)); } catch (error) { /* private mode */ }
  gwKick();
}

function gwFeedUrl(path, query) {
  const url = new URL(path, new URL(".", window.location.href));  // relative to the page's own folder
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
  }
  return url;
}

async function gwFetch(path, query, onRefused) {
  // null when the server is restarting or refuses (then onRefused(its message)): the hub tries again
  // when the part is next due.
  try {
    const response = await fetch(gwFeedUrl(path, query), {cache: "no-store", credentials: "same-origin"});
    if (response.ok) return await response.json();
    if (onRefused) onRefused(String((await response.json()).error || response.status));
  } catch (error) { /* not reachable now: try again when due */ }
  return null;
}

function gwJoin(name, member) {
  // A component drawn (again): its part is fetched now, then every member.interval() seconds.
  const old = GW_HUB.members.get(name);
  member.last = old ? old.last : 0;
  member.due = true;
  GW_HUB.members.set(name, member);
  gwKick();
}

function gwKick(name) {
  // Fetch a part now (the user asked for something), or just wake the hub to see who is due.
  const member = name && GW_HUB.members.get(name);
  if (member) member.due = true;
  if (!GW_HUB.running) gwHubLoop();
  else if (GW_HUB.wake) GW_HUB.wake();
}

async function gwHubLoop() {
  GW_HUB.running = true;
  await new Promise((resolve) => setTimeout(resolve, GW_JOIN_WAIT_MS));
  for (;;) {
    for (const [name, member] of GW_HUB.members) if (!member.alive()) GW_HUB.members.delete(name);
    if (!GW_HUB.members.size) break;
    const now = performance.now();
    // A part is due when kicked, or when its interval has (nearly) passed: once one is, parts due within
    // half an interval go out with it, so parts on the same pace share one request and one frame.
    const late = (member, share) => {
      const interval = (member.interval() || 0) * 1000;
      return interval > 0 && now - member.last >= interval - Math.max(GW_SLACK_MS, interval * share);
    };
    const first = [...GW_HUB.members.values()].some((member) => member.due || late(member, 0));
    const due = first ? [...GW_HUB.members].filter(([, member]) => member.due || late(member, 0.5)) : [];
    if (due.length) {
      let again = false;
      try { again = await gwFetchParts(due, now); } catch (error) { again = false; }
      if (again) continue;
    }
    let wait = Infinity;
    for (const member of GW_HUB.members.values()) {
      if (member.due) wait = 0;
      else if (member.interval()) wait = Math.min(wait, member.last + member.interval() * 1000 - performance.now());
    }
    await new Promise((resolve) => {
      GW_HUB.wake = () => setTimeout(resolve, GW_JOIN_WAIT_MS);
      if (wait < Infinity) GW_HUB.timer = setTimeout(resolve, Math.max(0, wait));
    });
    clearTimeout(GW_HUB.timer);
    GW_HUB.wake = null;
  }
  GW_HUB.running = false;
}

async function gwFetchParts(due, now) {
  // One request for the due parts; every part's update is applied in the same task, after all decoding.
  const query = {parts: due.map(([name]) => name).join(",")};
  for (const [, member] of due) {
    member.due = false;
    member.last = now;
    Object.assign(query, member.query());
  }
  const body = await gwFetch(due[0][1].url, query, (error) => {
    for (const [, member] of due) if (member.refused) member.refused(error);
  });
  if (!body || !body.parts) return false;
  await Promise.all(due.map(([name, member]) =>
    body.parts[name] && member.prepare ? member.prepare(body.parts[name].message) : null));
  let again = false;
  for (const [name, member] of due) {
    if (body.parts[name] && member.apply(body.parts[name])) { member.due = true; again = true; }
  }
  return again;
}
