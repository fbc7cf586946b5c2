// GAN Workbench status component: the session's status line (state, step, rates, elapsed time, the run
// directory, health lines), the A/B experiment's progress and table of latest numbers, or the Runs view's live
// status (checkpoints, opened runs, live runs), fetched from the live feed at the live pace while busy (every
// 5 s otherwise). Text only (textContent): names and messages come from files. When what it shows changes
// phase by itself (a run paused, finished or failed, an experiment ended, a run went live or ended), it asks
// the page to redraw with the trigger "phase".
// Data: {key, feed: {url, part, live, interval}, phase, initial: the same message as the feed's, state?}

const gw = await import(new URL("_gw/static/shared.js", new URL(".", window.location.href)).href);
const STORE = (window.__ganWorkbenchStatus = window.__ganWorkbenchStatus || new Map());

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function setText(node, text) { if (node.textContent !== text) node.textContent = text; }

function table(spec) {
  // A small table of plain text: {title, columns, rows, empty}.
  const box = element("div", "gw-table");
  if (spec.title) box.append(element("div", "gw-table-title", spec.title));
  if (!spec.rows.length) { box.append(element("div", "gw-note gw-note-caption", spec.empty || "")); return box; }
  const grid = element("table");
  const head = element("tr");
  for (const name of spec.columns) head.append(element("th", "", String(name)));
  grid.append(head);
  for (const row of spec.rows) {
    const line = element("tr");
    for (const cell of row) line.append(element("td", "", String(cell)));
    grid.append(line);
  }
  box.append(grid);
  return box;
}

function render(store, message) {
  // The nodes are built once and their text rewritten in place: a refresh changes only text, with no new
  // nodes for the browser to style and lay out (notes and tables are rebuilt only when they change).
  let view = store.view;
  if (!view || view.root !== store.root) {
    const line = element("div", "gw-status-line");
    const status = element("b"), step = element("b"), rest = document.createTextNode("");
    line.append("Status ", status, " · step ", step, rest);
    const folder = element("div", "gw-status-dir");
    const bar = element("div", "gw-progress"), fill = element("div", "gw-progress-fill");
    bar.append(fill);
    const barText = element("div", "gw-progress-text");
    const notes = element("div"), tables = element("div");
    view = store.view = {root: store.root, line, status, step, rest, folder, bar, fill, barText, notes, tables,
                         notesKey: null, tablesKey: null};
    store.root.replaceChildren(line, barText, bar, folder, notes, tables);
  }
  const hasLine = message.status !== undefined;
  view.line.hidden = !hasLine;
  if (hasLine) {
    setText(view.status, message.status);
    setText(view.step, String(message.step));
    setText(view.rest, (message.parts || []).map((part) => " · " + part).join(""));
    if (store.root.dataset.status !== message.status) store.root.dataset.status = message.status;
    if (store.root.dataset.step !== String(message.step)) store.root.dataset.step = String(message.step);
  }
  setText(view.folder, message.run_dir ? "run directory: " + message.run_dir : "");
  view.folder.hidden = !message.run_dir;
  const progress = message.progress;
  view.bar.hidden = view.barText.hidden = !progress;
  if (progress) {
    setText(view.barText, progress.text);
    view.fill.style.width = (100 * Math.max(0, Math.min(1, progress.fraction))).toFixed(1) + "%";
  }
  const notesKey = JSON.stringify(message.lines || []);
  if (notesKey !== view.notesKey) {
    view.notesKey = notesKey;
    view.notes.replaceChildren(...(message.lines || []).map(([level, text]) => element("div", "gw-note gw-note-" + level, text)));
  }
  const tables = message.tables || (message.table ? [message.table] : []);
  const tablesKey = JSON.stringify(tables);
  if (tablesKey !== view.tablesKey) {
    view.tablesKey = tablesKey;
    view.tables.replaceChildren(...tables.map(table));
  }
  const error = store.root.querySelector(".gw-feed-error");  // the server answers again
  if (error) error.remove();
}

function feedMember(store) {
  // The hub's member for this component (shared.js).
  return {
    url: store.feed.url, interval: () => store.feed.live ? gw.pace() : store.feed.interval,
    alive: () => Boolean(store.root && store.root.isConnected),
    root: () => store.root,
    query: () => ({[store.feed.part]: JSON.stringify(store.feedState || {})}),
    refused: (error) => {
      // Say why the page stopped following the run (e.g. a proxy that rewrites the Host header).
      const note = store.root.querySelector(".gw-feed-error") || element("div", "gw-note gw-note-warning gw-feed-error");
      note.textContent = "Live updates refused by the server: " + error;
      store.root.append(note);
    },
    apply: (reply) => {
      store.feedState = reply.state;
      if (reply.message.unchanged) return false;
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
    root = element("div", "gw-status");
    parentElement.append(root);
  }
  store.root = root;
  store.trigger = setTriggerValue;
  if (!data) return;
  const page = JSON.stringify(data.phase);
  if (page !== store.page) { store.page = page; store.asked = null; }
  if (data.initial) render(store, data.initial);
  if (data.state) store.feedState = data.state;  // what the page drew, so the feed sends only changes
  store.feed = data.feed;
  gw.join(data.feed.part, feedMember(store));
}
