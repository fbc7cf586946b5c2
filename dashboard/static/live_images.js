// GAN Workbench live images: the fixed-noise grid (replaced only when a new one exists), the real images
// (sent once), and the timeline of saved grids (follows the newest unless the user moves it); compact: the
// live grid alone (an A/B side). Images arrive as base64 PNG at native size and are drawn at a whole multiple
// (at least 2x) with nearest-neighbour scaling, so every pixel of a digit stays sharp.
// timeline: the saved grids alone (the Runs view's opened run), following the newest as the run saves them.
// Data: {key, feed: {url, part, live, interval}, compact, timeline, state?: what the part's state starts with,
// pin?: the query parameter of a pinned step (default "pin")}; the hub (shared.js) fetches image messages
// (dashboard/live/messages.py image_message, timeline_message): {seq, run, grid: {step, png} | null,
// real: {png} | null, steps_start, steps: [int], timeline: {step, png} | null}.

const gw = await import(new URL("_gw/static/shared.js", new URL(".", window.location.href)).href);
const STORE = (window.__ganWorkbenchImages = window.__ganWorkbenchImages || new Map());

function figure(className, captionText) {
  const box = document.createElement("figure");
  box.className = "gw-figure " + className;
  const frame = document.createElement("div");
  frame.className = "gw-frame";
  const img = document.createElement("img");
  img.alt = captionText;
  frame.append(img);
  const caption = document.createElement("figcaption");
  caption.textContent = captionText;
  box.append(frame, caption);
  return {box, img, caption, frame};
}

function fit(view) {
  // The largest whole scale (at most 4) at which the image fits its column, nearest-neighbour via CSS, so
  // every pixel stays a sharp square; an image wider than its column even at 1x is shrunk to the column's
  // width (smoothly: the one case that is not whole), never clipped. Two grids of a row sit side by side
  // when both fit at 2x; otherwise they stack.
  const natural = view.img.naturalWidth;
  if (!natural) return;
  const width = Math.max(view.box.parentElement.clientWidth, 1);
  const perRow = view.pair && width >= 4 * natural + 12 ? 2 : 1;
  const room = Math.max(1, Math.floor((width - 12 * (perRow - 1)) / perRow));
  const scale = Math.min(4, Math.floor(room / natural));
  view.img.style.width = (scale >= 1 ? natural * scale : room) + "px";
  view.img.style.imageRendering = scale >= 1 ? "" : "auto";
  view.img.dataset.scale = scale >= 1 ? String(scale) : (room / natural).toFixed(3);
}

function show(view, png, captionText, step, decoded) {
  // Load off-screen first, then swap: the visible image is never blank or broken. With the feed, the
  // hub has loaded it already (`decoded`), so the swap lands in the same frame as the other parts.
  const swap = (next) => {
    const before = view.img;
    next.alt = before.alt;
    // The same element takes the new source (already loaded, so shown in this frame): no relayout.
    const sameSize = before.dataset.scale && before.naturalWidth === next.naturalWidth
      && before.naturalHeight === next.naturalHeight;
    if (sameSize) before.src = next.src;
    else { before.replaceWith(next); view.img = next; }
    if (captionText !== view.caption.textContent) view.caption.textContent = captionText;
    if (step !== undefined) view.img.dataset.step = String(step);
    view.img.dataset.ok = "1";
    if (!sameSize) fit(view);
  };
  if (decoded) { swap(decoded); return; }
  const next = new Image();
  next.onload = () => swap(next);
  next.src = "data:image/png;base64," + png;
}

function blank(view, captionText) {
  // An empty slot: only its caption shows (live.css hides an <img> without a source).
  if (!view) return;
  view.img.removeAttribute("src");
  delete view.img.dataset.ok;
  delete view.img.dataset.step;
  view.caption.textContent = captionText;
}

async function decodeImages(store, message) {
  // The message's new images as loaded <img> elements, before anything on the page changes (one that does not
  // decode is not shown: its slot keeps what it had).
  store.decoded = {};
  await Promise.all(["grid", "real", "timeline"].map(async (field) => {
    const image = message[field] ? await gw.loadImage(message[field].png) : null;
    if (image) store.decoded[field] = image;
  }));
}

function build(store, root) {
  root.replaceChildren();
  const row = document.createElement("div");
  row.className = "gw-row";
  if (!store.timelineOnly) {
    store.live = figure("gw-live", "samples appear once training starts");
    store.real = figure("gw-real", "real images");
    store.live.pair = store.real.pair = !store.compact;
    row.append(store.live.box);
  }
  if (store.compact) {  // an A/B side: the live grid alone
    root.append(row);
    if (store.liveImage) show(store.live, store.liveImage.png, store.liveImage.caption, store.liveImage.step);
    return;
  }
  if (!store.timelineOnly) row.append(store.real.box);
  const timeline = document.createElement("div");
  timeline.className = "gw-timeline";
  const controls = document.createElement("div");
  controls.className = "gw-timeline-controls";
  const label = document.createElement("span");
  label.textContent = "Saved grids: the same noise over time";
  const slider = document.createElement("input");
  Object.assign(slider, {type: "range", min: "0", max: "0", step: "1", value: "0"});
  slider.setAttribute("aria-label", "saved grid");
  const follow = document.createElement("label");
  const followBox = document.createElement("input");
  followBox.type = "checkbox";
  followBox.checked = !store.pinned;
  follow.append(followBox, " follow newest");
  controls.append(label, slider, follow);
  store.saved = figure("gw-saved", "no saved grid yet");
  timeline.append(controls, store.saved.box);
  if (store.timelineOnly) root.append(timeline); else root.append(row, timeline);
  store.slider = slider;
  store.followBox = followBox;
  const request = () => {
    const step = store.steps[Number(slider.value)];
    if (step === undefined) return;
    store.pinStep = step;
    gw.kick(store.feed.part);  // no rerun: the feed sends the pinned grid
  };
  slider.oninput = () => {
    store.pinned = true; followBox.checked = false;
    const step = store.steps[Number(slider.value)];
    store.saved.caption.textContent = `step ${step} (loading)`;
  };
  slider.onchange = request;
  followBox.onchange = () => {
    store.pinned = !followBox.checked;
    if (!store.pinned) slider.value = String(Math.max(0, store.steps.length - 1));
    request();
  };
  for (const [view, image] of [[store.live, store.liveImage], [store.real, store.realImage], [store.saved, store.savedImage]]) {
    if (image) show(view, image.png, image.caption, image.step);
  }
  syncSlider(store);
}

function syncSlider(store) {
  const slider = store.slider;
  if (!slider) return;
  slider.max = String(Math.max(0, store.steps.length - 1));
  slider.disabled = store.steps.length < 2;
  if (!store.pinned) slider.value = slider.max;
  store.slider.parentElement.parentElement.dataset.steps = String(store.steps.length);
}

function applyMessage(store, data, decoded = {}) {
  if (data.run !== store.run) {
    // Another run: nothing of the last one stays on screen (its digits beside a new run's curves).
    store.run = data.run; store.steps = []; store.pinned = false;
    if (store.followBox) store.followBox.checked = true;
    store.liveImage = store.savedImage = store.realImage = null;
    blank(store.live, "samples appear once training starts");
    blank(store.real, "real images");
    blank(store.saved, "no saved grid yet");
  }
  if (data.steps_start === 0) store.steps = [];
  if (data.steps_start === store.steps.length || data.steps_start === 0) store.steps.push(...(data.steps || []));
  syncSlider(store);
  if (data.grid) {
    store.liveImage = {png: data.grid.png, caption: `fixed noise, step ${data.grid.step}`, step: data.grid.step};
    show(store.live, data.grid.png, store.liveImage.caption, data.grid.step, decoded.grid);
  }
  if (data.real && !store.compact) {
    store.realImage = {png: data.real.png, caption: "real images"};
    show(store.real, data.real.png, "real images", undefined, decoded.real);
  }
  if (data.timeline && !store.compact) {
    store.savedImage = {png: data.timeline.png, caption: `saved grid, step ${data.timeline.step}`, step: data.timeline.step};
    show(store.saved, data.timeline.png, store.savedImage.caption, data.timeline.step, decoded.timeline);
    if (store.pinned) {
      const index = store.steps.indexOf(data.timeline.step);
      if (index >= 0) store.slider.value = String(index);
    }
  }
  if (store.root) store.root.dataset.run = store.run || "";
}

function feedMember(store) {
  // The hub's member for the images (shared.js): the state echoed back names what this page holds.
  const part = store.feed.part;
  return {
    url: store.feed.url, interval: () => store.feed.live ? gw.pace() : null,
    alive: () => Boolean(store.root && store.root.isConnected),
    root: () => store.root,
    query: () => {
      const query = {[part]: JSON.stringify(store.feedState || {})};
      if (store.pinned && store.pinStep !== undefined) query[store.pinParam] = store.pinStep;
      return query;
    },
    prepare: (message) => decodeImages(store, message),
    apply: (reply) => {
      store.feedState = reply.state;
      if (!reply.message.unchanged) applyMessage(store, reply.message, store.decoded);
      store.decoded = {};
      return false;
    },
  };
}

export default function (component) {
  const {data, parentElement, key} = component;
  const id = (data && data.key) || key;
  let store = STORE.get(id);
  if (!store) {
    store = {run: null, steps: [], pinned: false, compact: Boolean(data && data.compact),
             timelineOnly: Boolean(data && data.timeline)};
    STORE.set(id, store);
  }
  store.pinParam = (data && data.pin) || "pin";
  if (data && data.state) {
    // What the page asks this part for (the Runs view: its tab's token and the opened run): another opened run
    // is a new run to this component, and the feed sends it all.
    const asked = JSON.stringify(data.state);
    if (asked !== store.asked) { store.asked = asked; store.feedState = {...(store.feedState || {}), ...data.state}; }
  }
  let root = parentElement.querySelector(".gw-images");
  if (!root) {
    root = document.createElement("div");
    root.className = "gw-images";
    parentElement.append(root);
    build(store, root);
    new ResizeObserver(() => { for (const view of [store.live, store.real, store.saved]) if (view) fit(view); }).observe(root);
  }
  store.root = root;
  if (data && data.feed) {  // the page reruns only on user actions and phase changes: fetch new images
    store.feed = data.feed;
    gw.join(data.feed.part, feedMember(store));
  }
}
