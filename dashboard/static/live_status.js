// GAN Workbench status line with the live feed: state, step, rates, elapsed time, the run directory and the
// health lines, fetched from the live feed (feed_poll.js) at the live pace while the run is busy (every 5 s otherwise).
// Text only (textContent): names and messages come from files. When the run changes phase by itself
// (paused, finished, failed, steps done), it asks the page to redraw its controls with the trigger "phase".
// Data: {key, feed: {url, part, live, interval}, phase: [status, pending], initial: the same message as the feed's}

const STORE = (window.__ganWorkbenchStatus = window.__ganWorkbenchStatus || new Map());

function render(store, message) {
  const line = document.createElement("div");
  line.className = "gw-status-line";
  const bold = (text) => { const b = document.createElement("b"); b.textContent = text; return b; };
  line.append("Status ", bold(message.status), " · step ", bold(String(message.step)));
  for (const part of message.parts || []) line.append(" · " + part);
  const children = [line];
  if (message.run_dir) {
    const folder = document.createElement("div");
    folder.className = "gw-status-dir";
    folder.textContent = "run directory: " + message.run_dir;
    children.push(folder);
  }
  for (const [level, text] of message.lines || []) {
    const box = document.createElement("div");
    box.className = "gw-note gw-note-" + level;
    box.textContent = text;
    children.push(box);
  }
  store.root.replaceChildren(...children);
  store.root.dataset.status = message.status;
  store.root.dataset.step = String(message.step);
}

function feedMember(store) {
  // The hub's member for the status line (feed_poll.js).
  return {
    url: store.feed.url, interval: () => store.feed.live ? gwPace() : store.feed.interval,
    alive: () => Boolean(store.root && store.root.isConnected),
    query: () => ({}),
    refused: (error) => {
      // Say why the page stopped following the run (e.g. a proxy that rewrites the Host header).
      const note = store.root.querySelector(".gw-feed-error") || document.createElement("div");
      note.className = "gw-note gw-note-warning gw-feed-error";
      note.textContent = "Live updates refused by the server: " + error;
      store.root.append(note);
    },
    apply: (reply) => {
      render(store, reply.message);
      const phase = JSON.stringify(reply.message.phase);
      if (phase !== store.page && phase !== store.asked) {
        store.asked = phase;  // once per new phase: the rerun that follows brings the page's new phase
        store.trigger("phase", phase);
      }
      return false;
    },
  };
}

export default function (component) {
  const {data, parentElement, setTriggerValue, key} = component;
  const id = (data && data.key) || key;
  let store = STORE.get(id);
  if (!store) { store = {}; STORE.set(id, store); }
  let root = parentElement.querySelector(".gw-status");
  if (!root) {
    root = document.createElement("div");
    root.className = "gw-status";
    parentElement.append(root);
  }
  store.root = root;
  store.trigger = setTriggerValue;
  if (!data) return;
  const page = JSON.stringify(data.phase);
  if (page !== store.page) { store.page = page; store.asked = null; }
  if (data.initial) render(store, data.initial);
  store.feed = data.feed;
  gwJoin(data.feed.part, feedMember(store));
}
