// The 2D playground's canvas (#11): D's surface as a heatmap with its 0.5 contour, real and fake points,
// the generator's arrows on each fake point, G's latent mesh, and drawing one's own points.
// Frames (dashboard/live/frames.py playground_message) carry base64 typed arrays; the real points come once
// per run. A run's frames come from the live feed (shared.js's hub: a new frame only when the run moved
// on); before a run, the page passes the data's one frame.
// Data: {key, max_points, frame?: a frame, feed?: {url, part, live, interval}}

const gw = await import(new URL("_gw/static/shared.js", new URL(".", window.location.href)).href);
const STORE = (window.__ganWorkbenchPlayground = window.__ganWorkbenchPlayground || new Map());
const SIZE = 420;  // CSS pixels of the square plot
const LAYERS = [["surface", "D(x) heatmap"], ["contour", "D = 0.5"], ["real", "real points"],
                ["fake", "fake points"], ["arrows", "G's gradient"], ["mesh", "G's mesh (2D latent)"]];
const REAL = "#1a9850", FAKE = "#7b3294";

function newStore() {
  return {run: null, seq: null, real: new Float32Array(0), fake: new Float32Array(0), arrows: new Float32Array(0),
          surface: new Uint8Array(0), cells: 0, mesh: null, lines: 0, bounds: [-3, -3, 3, 3], step: 0,
          layers: Object.fromEntries(LAYERS.map(([id]) => [id, true])), drawing: false, drawn: []};
}

// D(x) in [0, 1] (as 0..255) -> colour: purple where D calls x fake, white at 0.5, green where D calls it real.
function colour(value) {
  const t = value / 255;
  const mix = (a, b, s) => Math.round(a + (b - a) * s);
  if (t < 0.5) { const s = t / 0.5; return [mix(153, 247, s), mix(112, 247, s), mix(171, 247, s)]; }
  const s = (t - 0.5) / 0.5; return [mix(247, 90, s), mix(247, 174, s), mix(247, 97, s)];
}

function toCanvas(store, x, y) {
  const [x0, y0, x1, y1] = store.bounds;
  return [(x - x0) / (x1 - x0) * SIZE, SIZE - (y - y0) / (y1 - y0) * SIZE];
}

function toWorld(store, px, py) {
  const [x0, y0, x1, y1] = store.bounds;
  return [x0 + px / SIZE * (x1 - x0), y0 + (SIZE - py) / SIZE * (y1 - y0)];
}

function drawSurface(store, context) {
  const cells = store.cells;
  if (!cells || store.surface.length !== cells * cells) return;
  const image = context.createImageData(cells, cells);
  for (let row = 0; row < cells; row++) {  // row 0 of the surface is the lowest y: flip for the canvas
    for (let col = 0; col < cells; col++) {
      const [r, g, b] = colour(store.surface[row * cells + col]);
      const at = ((cells - 1 - row) * cells + col) * 4;
      image.data[at] = r; image.data[at + 1] = g; image.data[at + 2] = b; image.data[at + 3] = 255;
    }
  }
  const tile = store.tile || (store.tile = document.createElement("canvas"));
  tile.width = cells; tile.height = cells;
  tile.getContext("2d").putImageData(image, 0, 0);
  context.imageSmoothingEnabled = true;
  context.drawImage(tile, 0, 0, SIZE, SIZE);
}

function drawContour(store, context) {
  // Marching squares on the cell centres at D = 0.5 (128 of 255): one segment per crossed cell.
  const cells = store.cells, s = store.surface, step = SIZE / cells;
  if (!cells || s.length !== cells * cells) return;
  const level = 127.5, at = (r, c) => s[r * cells + c];
  const px = (c) => (c + 0.5) * step, py = (r) => SIZE - (r + 0.5) * step;
  context.strokeStyle = "#333"; context.lineWidth = 1.2; context.beginPath();
  for (let r = 0; r < cells - 1; r++) {
    for (let c = 0; c < cells - 1; c++) {
      const corners = [[r, c], [r, c + 1], [r + 1, c + 1], [r + 1, c]];
      const points = [];
      for (let k = 0; k < 4; k++) {
        const [ra, ca] = corners[k], [rb, cb] = corners[(k + 1) % 4];
        const a = at(ra, ca), b = at(rb, cb);
        if ((a < level) !== (b < level)) {
          const t = (level - a) / (b - a);
          points.push([px(ca + (cb - ca) * t), py(ra + (rb - ra) * t)]);
        }
      }
      if (points.length >= 2) { context.moveTo(...points[0]); context.lineTo(...points[1]); }
      if (points.length === 4) { context.moveTo(...points[2]); context.lineTo(...points[3]); }
    }
  }
  context.stroke();
}

function drawPoints(store, context, values, fill, radius) {
  context.fillStyle = fill;
  for (let i = 0; i + 1 < values.length; i += 2) {
    const [x, y] = toCanvas(store, values[i], values[i + 1]);
    context.beginPath(); context.arc(x, y, radius, 0, 2 * Math.PI); context.fill();
  }
}

function drawArrows(store, context) {
  // Lengths are scaled so the longest arrow spans 8% of the plot; their ratios stay true.
  const a = store.arrows, f = store.fake;
  let longest = 0;
  for (let i = 0; i + 1 < a.length; i += 2) longest = Math.max(longest, Math.hypot(a[i], a[i + 1]));
  if (!(longest > 0)) return;
  const [x0, , x1] = store.bounds, scale = 0.08 * (x1 - x0) / longest;
  context.strokeStyle = FAKE; context.globalAlpha = 0.6; context.lineWidth = 1; context.beginPath();
  for (let i = 0; i + 1 < a.length && i + 1 < f.length; i += 2) {
    const [sx, sy] = toCanvas(store, f[i], f[i + 1]);
    const [ex, ey] = toCanvas(store, f[i] + a[i] * scale, f[i + 1] + a[i + 1] * scale);
    context.moveTo(sx, sy); context.lineTo(ex, ey);
  }
  context.stroke(); context.globalAlpha = 1;
  store.root.dataset.longestArrow = longest.toPrecision(4);
}

function drawMesh(store, context) {
  const m = store.mesh, n = store.lines;
  if (!m || !n || m.length !== n * n * 2) return;
  // Faint: where G stretches the plane the lines crowd, and a dark mesh would hide the surface beneath.
  context.strokeStyle = "#444"; context.globalAlpha = 0.22; context.lineWidth = 0.6; context.beginPath();
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {  // row i and column i of the z grid, mapped through G
      const [rx, ry] = toCanvas(store, m[(i * n + j) * 2], m[(i * n + j) * 2 + 1]);
      const [cx, cy] = toCanvas(store, m[(j * n + i) * 2], m[(j * n + i) * 2 + 1]);
      if (j === 0) { context.moveTo(rx, ry); } else context.lineTo(rx, ry);
      if (j === 0) { context.moveTo(cx, cy); } else context.lineTo(cx, cy);
    }
  }
  context.stroke(); context.globalAlpha = 1;
}

function draw(store) {
  const canvas = store.canvas, ratio = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(SIZE * ratio)) { canvas.width = canvas.height = Math.round(SIZE * ratio); }
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.fillStyle = "#fff"; context.fillRect(0, 0, SIZE, SIZE);
  const on = store.layers;
  if (on.surface) drawSurface(store, context);
  if (on.contour) drawContour(store, context);
  if (on.mesh) drawMesh(store, context);
  if (on.real) drawPoints(store, context, store.real, REAL, 1.6);
  if (on.fake) drawPoints(store, context, store.fake, FAKE, 2.2);
  if (on.arrows) drawArrows(store, context);
  if (store.drawn.length) drawPoints(store, context, store.drawn.flat(), "#d7301f", 3);
  context.strokeStyle = "#bbb"; context.strokeRect(0.5, 0.5, SIZE - 1, SIZE - 1);
  // Sums of what is drawn, for tests: a change in D's surface or in the fakes shows here.
  let surfaceSum = 0; for (const v of store.surface) surfaceSum += v;
  let fakeSum = 0; for (const v of store.fake) fakeSum += v;
  Object.assign(store.root.dataset, {step: String(store.step), surfaceSum: String(surfaceSum),
    fakeSum: fakeSum.toFixed(4), fakePoints: String(store.fake.length / 2), drawn: String(store.drawn.length)});
  store.status.textContent = `step ${store.step}` + (store.drawing ? ` · drawing: ${store.drawn.length} points` : "");
}

function build(store, root, setTriggerValue) {
  const bar = document.createElement("div"); bar.className = "gw-pg-bar";
  for (const [id, label] of LAYERS) {
    const box = document.createElement("label");
    const input = document.createElement("input"); input.type = "checkbox"; input.checked = store.layers[id];
    input.dataset.layer = id;
    input.onchange = () => { store.layers[id] = input.checked; draw(store); };
    box.append(input, " " + label); bar.append(box);
  }
  const canvas = document.createElement("canvas"); canvas.className = "gw-pg-canvas";
  // SIZE px, or the column's width when that is less (a 1024-px screen): square either way (live.css).
  canvas.style.width = "100%"; canvas.style.maxWidth = SIZE + "px";
  const tools = document.createElement("div"); tools.className = "gw-pg-bar";
  const drawToggle = document.createElement("button"); drawToggle.textContent = "Draw points";
  const clear = document.createElement("button"); clear.textContent = "Clear drawing";
  const use = document.createElement("button"); use.textContent = "Use drawn points";
  const status = document.createElement("span"); status.className = "gw-pg-status";
  drawToggle.onclick = () => { store.drawing = !store.drawing; drawToggle.textContent = store.drawing ? "Stop drawing" : "Draw points"; draw(store); };
  clear.onclick = () => { store.drawn = []; draw(store); };
  use.onclick = () => { if (store.drawn.length >= 2) setTriggerValue("drawn", {points: store.drawn}); };
  // Spray: a press adds a point; dragging adds one every few pixels, jittered, so strokes become clouds.
  let pressed = false, last = null;
  const add = (e) => {
    const rect = canvas.getBoundingClientRect(), shrink = SIZE / Math.max(rect.width, 1);  // to the plot's px
    const px = (e.clientX - rect.left) * shrink, py = (e.clientY - rect.top) * shrink;
    if (last && Math.hypot(px - last[0], py - last[1]) < 6) return;
    last = [px, py];
    const [x, y] = toWorld(store, px, py);
    if (store.drawn.length < store.maxPoints) store.drawn.push([Number(x.toFixed(3)), Number(y.toFixed(3))]);
    draw(store);
  };
  canvas.addEventListener("mousedown", (e) => { if (store.drawing) { pressed = true; last = null; add(e); } });
  canvas.addEventListener("mousemove", (e) => { if (store.drawing && pressed) add(e); });
  window.addEventListener("mouseup", () => { pressed = false; });
  tools.append(drawToggle, clear, use, status);
  root.append(bar, canvas, tools);
  Object.assign(store, {canvas, status, root, drawToggle});
}

function applyFrame(store, data) {
  // One frame: a new run or data set clears the drawing (used points are now the real, green, points).
  if (!data || data.seq === store.seq && data.run === store.run) return false;
  store.seq = data.seq;
  if (data.run !== store.run) {
    store.run = data.run; store.real = new Float32Array(0);
    if (store.drawing || store.drawn.length) {
      store.drawing = false; store.drawn = [];
      if (store.drawToggle) store.drawToggle.textContent = "Draw points";
    }
  }
  if (data.real !== undefined) store.real = gw.decode(data.real, "f32");
  store.fake = gw.decode(data.fake, "f32");
  store.arrows = gw.decode(data.arrows, "f32");
  store.surface = gw.decode(data.surface, "u8");
  store.cells = data.cells || 0;
  store.mesh = data.mesh ? gw.decode(data.mesh, "f32") : null;
  store.lines = data.lines || 0;
  store.bounds = data.bounds || store.bounds;
  store.step = data.step || 0;
  return true;
}

function feedMember(store) {
  // The hub's member for a run's frames (shared.js): the state names the frame this canvas holds.
  const part = store.feed.part;
  return {
    url: store.feed.url, interval: () => store.feed.live ? gw.pace() : null,
    alive: () => Boolean(store.root && store.root.isConnected),
    root: () => store.root,
    query: () => ({[part]: JSON.stringify(store.feedState || {})}),
    apply: (reply) => {
      store.feedState = reply.state;
      if (!reply.message.unchanged && applyFrame(store, reply.message)) draw(store);
      return false;
    },
  };
}

export default function (component) {
  const {data, parentElement, setTriggerValue, key} = component;
  const id = (data && data.key) || key;
  let store = STORE.get(id);
  if (!store) { store = newStore(); STORE.set(id, store); }
  store.maxPoints = (data && data.max_points) || store.maxPoints || 0;
  let root = parentElement.querySelector(".gw-playground");
  if (!root) {
    root = document.createElement("div"); root.className = "gw-playground";
    parentElement.append(root);
    build(store, root, setTriggerValue);
  }
  if (data && data.frame) {
    applyFrame(store, data.frame);
    store.feedState = null;  // a frame of the data alone: a run's frames start afresh
  }
  draw(store);
  if (data && data.feed) {
    store.feed = data.feed;
    gw.join(data.feed.part, feedMember(store));
  }
}
