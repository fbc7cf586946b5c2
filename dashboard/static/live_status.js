// GAN Workbench status line with the live feed: state, step, rates, elapsed time, the run directory and the
// health lines, fetched from the live feed (feed_poll.js) at the live pace while the run is busy (every 5 s otherwise).
// Text only (textContent): names and messages come from files. When the run changes phase by itself
// (paused, finished, failed, steps done), it asks the page to redraw its controls with the trigger "phase".
// Data: {key, feed: {url, part, live, interval}, phase: [status, pending], initial: the same message as the feed's}

const STORE = (window.__ganWorkbenchStatus = window.__ganWorkbenchStatus || new Map());

function render(store, message) {
  // The line's nodes are built once and their text rewritten in place: a refresh changes only text, with
  // no new nodes for the browser to style and lay out (notes are rebuilt only when they change).
  let view = store.view;
  if (!view || view.root !== store.root) {
    const line = document.createElement("div");
    line.className = "gw-status-line";
    const bold = () => document.createElement("b");
    const status = bold(), step = bold(), rest = document.createTextNode("");
    line.append("Status ", status, " · step ", step, rest);
    const folder = document.createElement("div");
    folder.className = "gw-status-dir";
    const notes = document.createElement("div");
    view = store.view = {root: store.root, status, step, rest, folder, notes, notesKey: null};
    store.root.replaceChildren(line, folder, notes);
  }
  const setText = (node, text) => { if (node.textContent !== text) node.textContent = text; };
  setText(view.status, message.status);
  setText(view.step, String(message.step));
  setText(view.rest, (message.parts || []).map((part) => " · " + part).join(""));
  setText(view.folder, message.run_dir ? "run directory: " + message.run_dir : "");
  view.folder.hidden = !message.run_dir;
  const notesKey = JSON.stringify(message.lines || []);
  if (notesKey !== view.notesKey) {
    view.notesKey = notesKey;
    view.notes.replaceChildren(...(message.lines || []).map(([level, text]) => {
      const box = document.createElement("div");
      box.className = "gw-note gw-note-" + level;
      box.textContent = text;  // text only: names and messages come from files
      return box;
    }));
  }
  const error = store.root.querySelector(".gw-feed-error");  // the server answers again
  if (error) error.remove();
  if (store.root.dataset.status !== message.status) store.root.dataset.status = message.status;
  if (store.root.dataset.step !== String(message.step)) store.root.dataset.step = String(message.step);
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
