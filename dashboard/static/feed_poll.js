// The live feed's client (prepended to each live component's module by dashboard/live.py): fetch what is
// new from GET _gw/live/<part>?state=... (dashboard/feed.py), with no Streamlit rerun. One loop per
// component store: fetch now, then every store.feed.interval seconds (none: wait until the page kicks it,
// i.e. the component is drawn again or the user asks for something); the loop ends when the component's
// root has left the page, and starts again when it is drawn again.

function gwFeedUrl(path, query) {
  const url = new URL(path, new URL(".", window.location.href));  // relative to the page's own folder
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
  }
  return url;
}

async function gwFetch(path, query, onRefused) {
  // null when the server is restarting or refuses (then onRefused(its message)): the loop tries again
  // on its next tick.
  try {
    const response = await fetch(gwFeedUrl(path, query), {cache: "no-store", credentials: "same-origin"});
    if (response.ok) return await response.json();
    if (onRefused) onRefused(String((await response.json()).error || response.status));
  } catch (error) { /* not reachable now: try again on the next tick */ }
  return null;
}

function gwPoll(store, fetchOnce) {
  // fetchOnce() returns true to be called again at once (it found the page's copy out of step).
  store.fetchOnce = fetchOnce;
  if (store.feedLoop) {
    if (store.feedKick) store.feedKick();
    return;
  }
  store.feedLoop = true;
  (async () => {
    while (store.root && store.root.isConnected) {
      let again = false;
      try { again = await store.fetchOnce(); } catch (error) { again = false; }
      if (again) continue;
      const interval = store.feed && store.feed.interval;
      await new Promise((resolve) => {
        store.feedKick = resolve;
        if (interval) store.feedTimer = setTimeout(resolve, interval * 1000);
      });
      clearTimeout(store.feedTimer);
      store.feedKick = null;
    }
    store.feedLoop = false;
  })();
}
