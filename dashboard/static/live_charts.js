// GAN Workbench live charts: a Streamlit components-v2 module that keeps every metric row in the
// browser and receives only the rows added since its last render. Canvas drawing with min/max per
// pixel column, so a redraw costs the same at 100 rows and at 1,000,000 and spikes stay visible.
// Data from Python (one message per render):
//   {run, gen, start, n, cols: {name: base64 float32 (wall_time: float64)}, events_start, events: [...],
//    quality_start, quality: {name: [numbers]}, reference_fid, status}
// If a message does not continue what this page holds (start != rows held), it asks Python to resend
// everything with the trigger "resync"; nothing already held is ever sent again otherwise.
// With the live feed (data = {key, feed: {url, part, live, interval}}), the hub in feed_poll.js fetches the same messages.

const STORE = (window.__ganWorkbenchCharts = window.__ganWorkbenchCharts || new Map());
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"];
const EVENT_STYLES = {
  pause: ["#888888", "pause"], resume: ["#2ca02c", "resume"], update: ["#9467bd", "hyperparameters"],
  nonfinite: ["#d62728", "non-finite loss"], restore: ["#ff7f0e", "restored"],
  health: ["#e377c2", "health warning"], best: ["#17becf", "best FID"],
};
const CHARTS = [
  {id: "losses", title: "Losses", series: [["d_loss", "D loss"], ["g_loss", "G loss"]]},
  {id: "scores", title: "Discriminator scores", series: [["d_real", "D(x) real"], ["d_fake", "D(G(z)) fake"],
   ["d_fake_std", "spread of D(G(z)) (std)"]], yRange: [0, 1], hline: [0.5, "0.5: D cannot tell"]},
  {id: "grads", title: "Gradient norms", series: [["grad_norm_d", "|grad D|"], ["grad_norm_g", "|grad G|"]],
   log: true},
  {id: "fid", title: "Sample quality: FID", quality: true, series: [["fid", "FID"]], log: true, floor: true},
  {id: "shares", title: "Sample quality: precision, recall, classes", quality: true,
   series: [["precision", "precision"], ["recall", "recall"], ["classes_share", "classes >= 2% (/10)"]],
   yRange: [0, 1.05], markers: true},
  // Differentiable augmentation (training.augment): shown once a row has p > 0.
  {id: "augment", title: "Augmentation: p and D's overfitting signal r_t", onlyWith: "augment_p",
   series: [["augment_p", "p (augment)"], ["overfit_r", "r_t = E[sign D(x)]"]], yRange: [-1.05, 1.05]},
  // 2D toy runs (gan_core/toy_metrics.py): shown only when their columns hold numbers.
  {id: "modes", title: "Toy quality: modes covered, samples near a mode", quality: true,
   series: [["modes_share", "modes covered (share)"], ["high_quality_share", "within 3 std of a mode"]],
   yRange: [0, 1.05], markers: true},
  {id: "divergence", title: "Divergence of fake from real (64x64 grid)", quality: true,
   series: [["kl", "KL(real || fake)"], ["js", "JS"]]},
];
const ROW_COLUMNS = ["step", "wall_time", "d_loss", "g_loss", "d_real", "d_fake", "grad_norm_d", "grad_norm_g",
                     "overfit_r", "augment_p", "d_fake_std"];
const HEIGHT = 210;
const PAD = {l: 52, r: 12, t: 8, b: 26};

function decode(b64, type) {
  const text = atob(b64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return type === "f64" ? new Float64Array(bytes.buffer) : new Float32Array(bytes.buffer);
}

function newStore() {
  const cols = {};
  for (const name of ROW_COLUMNS) cols[name] = name === "wall_time" ? new Float64Array(1024) : new Float32Array(1024);
  return {run: null, gen: null, n: 0, cols, events: [], quality: {}, qn: 0, referenceFid: null,
          hidden: {}, zoom: null, ema: {}, draws: 0, settings: loadSettings(), wallX: null, wallN: 0};
}

function loadSettings() {
  try {
    const saved = JSON.parse(localStorage.getItem("ganWorkbench.charts") || "{}");
    return {smoothing: typeof saved.smoothing === "number" ? saved.smoothing : 0.6, x: saved.x === "wall" ? "wall" : "step"};
  } catch (e) { return {smoothing: 0.6, x: "step"}; }
}

function saveSettings(settings) {
  try { localStorage.setItem("ganWorkbench.charts", JSON.stringify(settings)); } catch (e) { /* private mode */ }
}

function reset(store, run, gen) {
  const fresh = newStore();
  Object.assign(store, {run, gen, n: 0, cols: fresh.cols, events: [], quality: {}, qn: 0, zoom: null, ema: {},
                        positive: {}, scanned: {}, wallX: null, wallN: 0});
}

function append(store, data) {
  // Rows: columnar, base64 typed arrays; grow the typed arrays by doubling.
  const count = data.n || 0;
  if (count > 0) {
    const need = store.n + count;
    for (const name of ROW_COLUMNS) {
      let column = store.cols[name];
      if (column.length < need) {
        let size = column.length;
        while (size < need) size *= 2;
        const grown = new column.constructor(size);
        grown.set(column.subarray(0, store.n));
        column = store.cols[name] = grown;
      }
      const values = decode(data.cols[name], name === "wall_time" ? "f64" : "f32");
      column.set(values, store.n);
    }
    store.n = need;
  }
  for (const event of data.events || []) store.events.push(event);
  const quality = data.quality || {};
  const added = (quality.step || []).length;
  for (const [name, values] of Object.entries(quality)) {
    store.quality[name] = (store.quality[name] || []).concat(values);
  }
  store.qn += added;
  if (data.reference_fid !== undefined && data.reference_fid !== null) store.referenceFid = data.reference_fid;
}

// ---- smoothing: TensorBoard's debiased EMA, kept incrementally per series ------------------------
function smoothed(store, name, values, n) {
  const weight = store.settings.smoothing;
  let cache = store.ema[name];
  if (!cache || cache.weight !== weight || cache.n > n || cache.values.length < n) {
    const keep = cache && cache.weight === weight && cache.n <= n ? cache : null;
    const grown = new Float32Array(Math.max(1024, values.length));
    if (keep) grown.set(keep.values.subarray(0, keep.n));
    cache = store.ema[name] = keep ? {...keep, values: grown} : {weight, n: 0, last: 0, count: 0, values: grown};
  }
  for (let i = cache.n; i < n; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      cache.last = cache.last * weight + (1 - weight) * v;
      cache.count += 1;
    }
    cache.values[i] = cache.count ? cache.last / (1 - Math.pow(weight, cache.count)) : NaN;
  }
  cache.n = n;
  return cache.values;
}

// ---- axes ---------------------------------------------------------------------------------------
function niceTicks(lo, hi, count) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}

function formatNumber(v) {
  if (!Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(1).replace("e+", "e");
  return String(Number(v.toPrecision(4)));
}

function formatLog(power) {
  const labels = {"-2": "0.01", "-1": "0.1", "0": "1", "1": "10", "2": "100", "3": "1000"};
  return labels[String(power)] || `1e${power}`;
}

function formatDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}:${String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}` : `${m}:${String(r).padStart(2, "0")}`;
}

// ---- one chart ----------------------------------------------------------------------------------
function xValues(store, chart) {
  if (chart.quality) return {x: store.quality.step || [], n: store.qn};
  if (store.settings.x === "wall") {
    // Seconds since the first row, extended only by the rows added since the last draw.
    const wall = store.cols.wall_time;
    if (!store.wallX || store.wallX.length < store.n || store.wallN > store.n) {
      const grown = new Float64Array(Math.max(1024, wall.length));
      if (store.wallX && store.wallN <= store.n) grown.set(store.wallX.subarray(0, store.wallN)); else store.wallN = 0;
      store.wallX = grown;
    }
    for (let i = store.wallN; i < store.n; i++) store.wallX[i] = wall[i] - wall[0];
    store.wallN = store.n;
    return {x: store.wallX, n: store.n};
  }
  return {x: store.cols.step, n: store.n};
}

function seriesValues(store, chart, name) {
  if (!chart.quality) return store.cols[name];
  if (name === "classes_share") return (store.quality.classes_covered || []).map((v) => (v === null ? null : v / 10));
  if (name === "modes_share") {
    const total = store.quality.modes_total || [];
    return (store.quality.modes_covered || []).map((v, i) => (v === null || !total[i] ? null : v / total[i]));
  }
  return store.quality[name] || [];
}

function eventX(store, event) {
  if (store.settings.x !== "wall") return event.step;
  return store.n ? event.time - store.cols.wall_time[0] : 0;
}

function lowerBound(x, n, value) {
  let lo = 0, hi = n;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (x[mid] < value) lo = mid + 1; else hi = mid; }
  return lo;
}

function draw(store, panel) {
  const chart = panel.chart;
  const {x, n} = xValues(store, chart);
  const canvas = panel.canvas, context = canvas.getContext("2d");
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(200, panel.width || panel.root.clientWidth), height = HEIGHT;
  if (canvas.width !== Math.round(width * ratio)) {
    canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio);
    canvas.style.width = width + "px"; canvas.style.height = height + "px";
    panel.overlay.width = canvas.width; panel.overlay.height = canvas.height;
    panel.overlay.style.width = canvas.style.width; panel.overlay.style.height = canvas.style.height;
  }
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  const plotW = width - PAD.l - PAD.r, plotH = height - PAD.t - PAD.b;
  let x0 = n ? x[0] : 0, x1 = n ? x[n - 1] : 1;
  if (store.zoom && !chart.quality) [x0, x1] = store.zoom;
  else if (store.zoom && chart.quality && store.settings.x === "step") [x0, x1] = store.zoom;
  if (x1 <= x0) x1 = x0 + 1;
  const lo = n ? Math.max(0, lowerBound(x, n, x0) - 1) : 0;
  const hi = n ? Math.min(n, lowerBound(x, n, x1) + 1) : 0;
  const smoothing = store.settings.smoothing;
  const visible = chart.series.filter(([name]) => !store.hidden[chart.id + "." + name]);
  const lines = visible.map(([name, label]) => {
    const raw = seriesValues(store, chart, name);
    const smooth = !chart.quality && smoothing > 0 ? smoothed(store, name, raw, n) : null;
    return {name, label, raw, smooth, colour: COLOURS[chart.series.findIndex((s) => s[0] === name)]};
  });
  // y range from the visible window (positive values only on a log axis).
  let y0 = Infinity, y1 = -Infinity;
  if (chart.yRange) [y0, y1] = chart.yRange;
  else {
    for (const line of lines) {
      const [a, b] = valueRange(line.raw, lo, hi, n, chart.log, plotW);
      if (a < y0) y0 = a;
      if (b > y1) y1 = b;
    }
    if (chart.floor && store.referenceFid > 0) { y0 = Math.min(y0, store.referenceFid); y1 = Math.max(y1, store.referenceFid); }
    if (!Number.isFinite(y0)) { y0 = chart.log ? 0.1 : 0; y1 = chart.log ? 10 : 1; }
  }
  const toY = chart.log
    ? ((lg0, lg1) => (v) => PAD.t + plotH * (1 - (Math.log10(v) - lg0) / (lg1 - lg0)))(
        Math.floor(Math.log10(y0) * 10) / 10 - 0.05, Math.ceil(Math.log10(y1) * 10) / 10 + 0.05)
    : ((a, b) => (v) => PAD.t + plotH * (1 - (v - a) / (b - a)))(
        chart.yRange ? y0 : y0 - (y1 - y0 || 1) * 0.05, chart.yRange ? y1 : y1 + (y1 - y0 || 1) * 0.05);
  const toX = (v) => PAD.l + plotW * (v - x0) / (x1 - x0);
  panel.map = {x, n, x0, x1, toX, lines, plotW, lo, hi};
  // Grid and ticks.
  context.font = "11px sans-serif"; context.fillStyle = "#555"; context.strokeStyle = "#e6e6e6"; context.lineWidth = 1;
  const yTicks = chart.log
    ? (() => { const t = []; for (let p = Math.floor(Math.log10(y0)); p <= Math.ceil(Math.log10(y1)); p++) t.push(p); return t; })()
    : niceTicks(chart.yRange ? y0 : y0 - (y1 - y0) * 0.05, chart.yRange ? y1 : y1 + (y1 - y0) * 0.05, 4);
  context.textAlign = "right"; context.textBaseline = "middle";
  for (const tick of yTicks) {
    const py = chart.log ? toY(Math.pow(10, tick)) : toY(tick);
    if (py < PAD.t - 1 || py > PAD.t + plotH + 1) continue;
    context.beginPath(); context.moveTo(PAD.l, py); context.lineTo(PAD.l + plotW, py); context.stroke();
    context.fillText(chart.log ? formatLog(tick) : formatNumber(tick), PAD.l - 4, py);
  }
  context.textAlign = "center"; context.textBaseline = "top";
  for (const tick of niceTicks(x0, x1, Math.max(2, Math.floor(plotW / 90)))) {
    const px = toX(tick);
    if (px < PAD.l || px > PAD.l + plotW) continue;
    context.beginPath(); context.moveTo(px, PAD.t); context.lineTo(px, PAD.t + plotH); context.stroke();
    const label = store.settings.x === "wall" && !chart.quality ? formatDuration(tick) : formatNumber(tick);
    context.fillText(label, px, PAD.t + plotH + 4);
  }
  context.save();
  context.beginPath(); context.rect(PAD.l, PAD.t, plotW, plotH); context.clip();
  if (chart.hline) {
    const py = toY(chart.hline[0]);
    context.setLineDash([5, 4]); context.strokeStyle = "#555";
    context.beginPath(); context.moveTo(PAD.l, py); context.lineTo(PAD.l + plotW, py); context.stroke();
    context.setLineDash([]); context.fillStyle = "#555"; context.textAlign = "right"; context.textBaseline = "bottom";
    context.fillText(chart.hline[1], PAD.l + plotW - 4, py - 2);
  }
  if (chart.floor && store.referenceFid > 0) {
    const py = toY(store.referenceFid);
    context.setLineDash([5, 4]); context.strokeStyle = COLOURS[0];
    context.beginPath(); context.moveTo(PAD.l, py); context.lineTo(PAD.l + plotW, py); context.stroke();
    context.setLineDash([]); context.fillStyle = COLOURS[0]; context.textAlign = "left"; context.textBaseline = "bottom";
    context.fillText(`real data FID ${formatNumber(store.referenceFid)}`, PAD.l + 4, py - 2);
  }
  let drawn = 0;
  for (const line of lines) {
    if (line.smooth) drawn += drawSeries(context, x, line.raw, lo, hi, n, toX, toY, line.colour, 0.25, 1, chart.log, plotW);
    drawn += drawSeries(context, x, line.smooth || line.raw, lo, hi, n, toX, toY, line.colour, 1,
                        chart.quality ? 1.5 : 1.6, chart.log, plotW);
    if (chart.quality || chart.markers) drawDots(context, x, line.raw, lo, hi, toX, toY, line.colour, chart.log);
  }
  // Event markers: a dotted line and a triangle at the top, labelled on hover.
  panel.markers = [];
  for (const event of store.events) {
    const style = EVENT_STYLES[event.kind];
    if (!style) continue;
    const px = toX(eventX(store, event));
    if (px < PAD.l - 1 || px > PAD.l + plotW + 1) continue;
    context.strokeStyle = style[0]; context.setLineDash([2, 3]);
    context.beginPath(); context.moveTo(px, PAD.t); context.lineTo(px, PAD.t + plotH); context.stroke();
    context.setLineDash([]); context.fillStyle = style[0];
    context.beginPath(); context.moveTo(px - 5, PAD.t); context.lineTo(px + 5, PAD.t); context.lineTo(px, PAD.t + 8); context.fill();
    panel.markers.push({px, text: `${style[1]} at step ${event.step}${event.detail ? ": " + event.detail : ""}`});
  }
  context.restore();
  context.strokeStyle = "#bbb"; context.strokeRect(PAD.l, PAD.t, plotW, plotH);
  if (!n) {
    context.fillStyle = "#888"; context.textAlign = "center"; context.textBaseline = "middle";
    context.fillText(chart.quality ? "no evaluation yet" : "waiting for the first step", PAD.l + plotW / 2, PAD.t + plotH / 2);
  }
  store.draws += 1;
  panel.root.dataset.points = String(n);
  panel.root.dataset.drawn = String(drawn);
  panel.root.dataset.markers = String(panel.markers.length);
  updateLegend(store, panel, n);
}

// ---- block summaries: so a redraw costs the same at 1,000 rows and at 1,000,000 --------------------
// Per series array and block size (a power of two): the lowest, highest and lowest positive value of each
// block of rows, extended by the new rows only (the last, partial block is summed again each time). Rows
// only ever append to an array (a new run or a resend starts new arrays), so earlier blocks never change.
const SUMMARIES = new WeakMap();

function blockSize(lo, hi, plotW) {
  // Rows per block: about two blocks per pixel column; 1 (every row) when there are few rows.
  const perColumn = (hi - lo) / Math.max(1, 2 * plotW);
  return perColumn < 4 ? 1 : 2 ** Math.floor(Math.log2(perColumn));
}

function summary(y, n, size) {
  let bySize = SUMMARIES.get(y);
  if (!bySize) { bySize = new Map(); SUMMARIES.set(y, bySize); }
  let entry = bySize.get(size);
  const blocks = Math.ceil(n / size);
  if (!entry || entry.min.length < blocks) {
    const capacity = Math.ceil(y.length / size) + 1;
    const grown = {done: 0, min: new Float32Array(capacity), max: new Float32Array(capacity), pos: new Float32Array(capacity)};
    if (entry) {
      for (const key of ["min", "max", "pos"]) grown[key].set(entry[key].subarray(0, entry.done));
      grown.done = entry.done;
    }
    entry = grown;
    bySize.set(size, entry);
  }
  for (let block = entry.done; block < blocks; block++) {
    let low = Infinity, high = -Infinity, positive = Infinity;
    for (let i = block * size, end = Math.min(n, (block + 1) * size); i < end; i++) {
      const v = y[i];
      if (!Number.isFinite(v)) continue;
      if (v < low) low = v;
      if (v > high) high = v;
      if (v > 0 && v < positive) positive = v;
    }
    entry.min[block] = low; entry.max[block] = high; entry.pos[block] = positive;
  }
  entry.done = Math.floor(n / size);
  return entry;
}

function valueRange(y, lo, hi, n, log, plotW) {
  // [lowest, highest] finite value (positive only on a log axis) of rows lo..hi.
  let low = Infinity, high = -Infinity;
  const size = y.length === undefined || Array.isArray(y) ? 1 : blockSize(lo, hi, plotW);
  if (size === 1) {
    for (let i = lo; i < hi; i++) {
      const v = y[i];
      if (Number.isFinite(v) && (!log || v > 0)) { if (v < low) low = v; if (v > high) high = v; }
    }
    return [low, high];
  }
  const blocks = summary(y, n, size);
  for (let block = Math.floor(lo / size); block < Math.ceil(hi / size); block++) {
    const a = log ? blocks.pos[block] : blocks.min[block], b = blocks.max[block];
    if (a < low) low = a;
    if (b > high && (!log || b > 0)) high = b;
  }
  return [low, high];
}

function drawSeries(context, x, y, lo, hi, n, toX, toY, colour, alpha, width, log, plotW) {
  // Min/max per pixel column (M4): the first, lowest, highest and last value of each column. Many rows
  // per column: walk blocks of rows (their summaries) instead of rows, about two per column.
  context.globalAlpha = alpha; context.strokeStyle = colour; context.lineWidth = width;
  context.beginPath();
  let column = null, first = 0, low = 0, high = 0, last = 0, started = false, segments = 0;
  const flush = () => {
    if (column === null) return;
    const a = toY(first), b = toY(low), c = toY(high), d = toY(last);
    if (!started) { context.moveTo(column, a); started = true; } else context.lineTo(column, a);
    context.lineTo(column, b); context.lineTo(column, c); context.lineTo(column, d);
    segments += 1;
  };
  const add = (px, start, minimum, maximum, end) => {
    if (px !== column) { flush(); column = px; first = start; low = minimum; high = maximum; last = end; }
    else { if (minimum < low) low = minimum; if (maximum > high) high = maximum; last = end; }
  };
  const usable = (v) => Number.isFinite(v) && !(log && v <= 0);
  const size = Array.isArray(y) ? 1 : blockSize(lo, hi, plotW);
  if (size === 1) {
    for (let i = lo; i < hi; i++) if (usable(y[i])) add(Math.round(toX(x[i])), y[i], y[i], y[i], y[i]);
  } else {
    const blocks = summary(y, n, size);
    for (let block = Math.floor(lo / size); block < Math.ceil(hi / size); block++) {
      const minimum = log ? blocks.pos[block] : blocks.min[block], maximum = blocks.max[block];
      if (!Number.isFinite(minimum) || !usable(maximum)) continue;  // no usable value in this block
      const start = block * size, end = Math.min(n, start + size) - 1;
      add(Math.round(toX(x[start])), usable(y[start]) ? y[start] : minimum, minimum, maximum,
          usable(y[end]) ? y[end] : maximum);
    }
  }
  flush();
  context.stroke(); context.globalAlpha = 1;
  return segments;
}

function drawDots(context, x, y, lo, hi, toX, toY, colour, log) {
  if (hi - lo > 400) return;
  context.fillStyle = colour;
  for (let i = lo; i < hi; i++) {
    const v = y[i];
    if (!Number.isFinite(v) || (log && v <= 0)) continue;
    context.beginPath(); context.arc(toX(x[i]), toY(v), 2.5, 0, 2 * Math.PI); context.fill();
  }
}

function updateLegend(store, panel, n) {
  // The items are built once per show/hide state; each redraw only rewrites the latest numbers.
  const chart = panel.chart;
  const state = chart.series.map(([name]) => (store.hidden[chart.id + "." + name] ? 1 : 0)).join("");
  if (panel.legendState !== state) {
    panel.legendState = state;
    panel.legend.replaceChildren();
    panel.legendValues = chart.series.map(([name, label], index) => {
      const hidden = store.hidden[chart.id + "." + name];
      const item = document.createElement("span");
      item.className = "gw-legend-item" + (hidden ? " gw-hidden" : "");
      item.title = hidden ? "click to show" : "click to hide";
      const swatch = document.createElement("i");
      swatch.style.background = COLOURS[index];
      item.append(swatch, document.createTextNode(`${label} `));
      const value = document.createElement("b");
      item.append(value);
      item.onclick = () => { store.hidden[chart.id + "." + name] = !hidden; redrawAll(store); };
      panel.legend.append(item);
      return value;
    });
  }
  chart.series.forEach(([name], index) => {
    const values = seriesValues(store, chart, name);
    let latest = NaN;
    for (let i = n - 1; i >= 0 && i >= n - 50; i--) if (Number.isFinite(values[i])) { latest = values[i]; break; }
    const text = formatNumber(latest);
    const value = panel.legendValues[index];
    if (value.textContent !== text) value.textContent = text;  // textContent: never HTML
  });
}

// ---- interaction: hover readout, drag to zoom, double-click to reset ------------------------------
function attachInteraction(store, panel) {
  const overlay = panel.overlay;
  let dragFrom = null;
  const position = (e) => { const r = overlay.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
  overlay.addEventListener("mousedown", (e) => { dragFrom = position(e)[0]; });
  overlay.addEventListener("mouseup", (e) => {
    const to = position(e)[0];
    if (dragFrom !== null && Math.abs(to - dragFrom) > 5 && panel.map) {
      const {x0, x1, plotW} = panel.map;
      const value = (px) => x0 + (x1 - x0) * (Math.min(Math.max(px, PAD.l), PAD.l + plotW) - PAD.l) / plotW;
      store.zoom = [value(Math.min(dragFrom, to)), value(Math.max(dragFrom, to))];
      redrawAll(store);
    }
    dragFrom = null;
  });
  overlay.addEventListener("dblclick", () => { store.zoom = null; redrawAll(store); });
  overlay.addEventListener("mouseleave", () => { clearOverlay(panel); panel.tip.style.display = "none"; });
  overlay.addEventListener("mousemove", (e) => {
    const [px, py] = position(e);
    const map = panel.map;
    clearOverlay(panel);
    if (!map || !map.n || px < PAD.l) { panel.tip.style.display = "none"; return; }
    const context = panel.overlay.getContext("2d");
    const ratio = window.devicePixelRatio || 1;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    if (dragFrom !== null) {
      context.fillStyle = "rgba(31,119,180,0.12)";
      context.fillRect(Math.min(dragFrom, px), PAD.t, Math.abs(px - dragFrom), HEIGHT - PAD.t - PAD.b);
    }
    const target = map.x0 + (map.x1 - map.x0) * (px - PAD.l) / map.plotW;
    let i = Math.min(map.n - 1, lowerBound(map.x, map.n, target));
    if (i > 0 && Math.abs(map.x[i - 1] - target) < Math.abs(map.x[i] - target)) i -= 1;
    const cx = map.toX(map.x[i]);
    context.strokeStyle = "#999"; context.beginPath(); context.moveTo(cx, PAD.t); context.lineTo(cx, HEIGHT - PAD.b); context.stroke();
    const lines = [];
    const step = panel.chart.quality ? map.x[i] : store.cols.step[i];
    lines.push(`step ${formatNumber(step)}` + (!panel.chart.quality && store.n ?
      ` · ${formatDuration(store.cols.wall_time[i] - store.cols.wall_time[0])} wall` : ""));
    for (const line of map.lines) {
      const raw = line.raw[i];
      lines.push(`${line.label}: ${formatNumber(line.smooth ? line.smooth[i] : raw)}` + (line.smooth ? ` (raw ${formatNumber(raw)})` : ""));
    }
    for (const marker of panel.markers || []) if (Math.abs(marker.px - px) <= 5) lines.push(marker.text);
    panel.tip.textContent = lines.join("\n");  // plain text: event details come from files
    panel.tip.style.display = "block";
    panel.tip.style.left = Math.min(px + 12, panel.root.clientWidth - 230) + "px";
    panel.tip.style.top = Math.max(0, py - 10) + "px";
  });
}

function clearOverlay(panel) {
  const context = panel.overlay.getContext("2d");
  context.setTransform(1, 0, 0, 1, 0, 0);
  context.clearRect(0, 0, panel.overlay.width, panel.overlay.height);
}

// ---- layout -------------------------------------------------------------------------------------
function build(store, root) {
  root.replaceChildren();
  const toolbar = document.createElement("div");
  toolbar.className = "gw-toolbar";
  const axis = document.createElement("select");
  axis.setAttribute("aria-label", "x axis");
  for (const [value, label] of [["step", "x: step"], ["wall", "x: wall time"]]) {
    const option = document.createElement("option"); option.value = value; option.textContent = label; axis.append(option);
  }
  axis.value = store.settings.x;
  axis.onchange = () => { store.settings.x = axis.value; store.zoom = null; saveSettings(store.settings); redrawAll(store); };
  const smoothingLabel = document.createElement("label");
  const slider = document.createElement("input");
  Object.assign(slider, {type: "range", min: "0", max: "0.99", step: "0.01", value: String(store.settings.smoothing)});
  slider.setAttribute("aria-label", "smoothing");
  const shown = document.createElement("span");
  shown.textContent = store.settings.smoothing.toFixed(2);
  slider.oninput = () => {
    store.settings.smoothing = Number(slider.value); shown.textContent = store.settings.smoothing.toFixed(2);
    saveSettings(store.settings); redrawAll(store);
  };
  smoothingLabel.append("smoothing ", slider, shown);
  const resetZoom = document.createElement("button");
  resetZoom.textContent = "reset zoom";
  resetZoom.onclick = () => { store.zoom = null; redrawAll(store); };
  const hint = document.createElement("span");
  hint.className = "gw-hint";
  hint.textContent = "drag to zoom · double-click to reset · click a legend entry to hide it";
  // How often every live part (charts, images, status line) refreshes while a run is busy (feed_poll.js).
  const pace = document.createElement("select");
  pace.setAttribute("aria-label", "refresh every");
  pace.title = "how often the live view refreshes while training; each refresh costs the training a little CPU";
  for (const seconds of GW_PACES) {
    const option = document.createElement("option"); option.value = String(seconds);
    option.textContent = `refresh every ${seconds} s`; pace.append(option);
  }
  pace.value = String(gwPace());
  pace.onchange = () => gwSetPace(Number(pace.value));
  toolbar.append(axis, pace, smoothingLabel, resetZoom, hint);
  root.append(toolbar);
  // A chart scrolled out of view is not redrawn (its canvas would be painted for nobody); it is
  // marked stale and drawn as soon as it comes back into view.
  if (store.visibility) store.visibility.disconnect();
  store.visibility = typeof IntersectionObserver === "undefined" ? null : new IntersectionObserver((entries) => {
    let stale = false;
    for (const entry of entries) {
      const panel = (store.panels || []).find((p) => p.root === entry.target);
      if (!panel) continue;
      panel.inView = entry.isIntersecting;
      stale = stale || (panel.inView && panel.stale);
    }
    if (stale) redrawAll(store);
  }, {rootMargin: "200px 0px"});
  store.panels = CHARTS.map((chart) => {
    const panelRoot = document.createElement("div");
    panelRoot.className = "gw-chart";
    panelRoot.dataset.title = chart.title;
    const head = document.createElement("div"); head.className = "gw-head";
    const title = document.createElement("span"); title.className = "gw-title"; title.textContent = chart.title;
    const legend = document.createElement("span"); legend.className = "gw-legend";
    head.append(title, legend);
    const stack = document.createElement("div"); stack.className = "gw-stack";
    const canvas = document.createElement("canvas"), overlay = document.createElement("canvas");
    overlay.className = "gw-overlay";
    const tip = document.createElement("div"); tip.className = "gw-tip";
    stack.append(canvas, overlay, tip);
    panelRoot.append(head, stack);
    root.append(panelRoot);
    const panel = {chart, root: panelRoot, canvas, overlay, legend, tip};
    attachInteraction(store, panel);
    if (store.visibility) store.visibility.observe(panelRoot);
    return panel;
  });
}

function anyPositive(store, name) {
  // Whether any row holds a value > 0 in column `name` (remembered once true: rows only grow).
  // Scans only the rows added since the last call, so a long run without augmentation costs nothing.
  store.positive = store.positive || {};
  store.scanned = store.scanned || {};
  if (store.positive[name]) return true;
  const values = store.cols[name];
  for (let i = store.scanned[name] || 0; i < store.n; i++) if (values[i] > 0) { store.positive[name] = true; break; }
  store.scanned[name] = store.n;
  return Boolean(store.positive[name]);
}

function redrawAll(store) {
  if (store.frame) return;
  store.frame = requestAnimationFrame(() => {
    store.frame = null;
    const toDraw = [];
    for (const panel of store.panels || []) {
      // A quality chart shows once any of its series holds a number (image runs: FID; toys: modes).
      const hasQuality = store.qn > 0 && panel.chart.series.some(([name]) =>
        (seriesValues(store, panel.chart, name) || []).some((v) => v !== null && Number.isFinite(v)));
      const hidden = (panel.chart.quality && !hasQuality) || (panel.chart.onlyWith && !anyPositive(store, panel.chart.onlyWith));
      panel.root.style.display = hidden ? "none" : "";
      if (!panel.root.isConnected || panel.root.style.display === "none") continue;
      if (panel.inView === false) {  // out of view: remember to draw it when it scrolls back in
        panel.stale = true;
        panel.root.dataset.points = String(panel.chart.quality ? store.qn : store.n);
        panel.root.dataset.stale = "1";
        continue;
      }
      panel.stale = false;
      panel.root.dataset.stale = "0";
      toDraw.push(panel);
    }
    // Read every width before drawing anything: a read after a draw changed the legend forces a layout.
    for (const panel of toDraw) panel.width = panel.root.clientWidth;
    for (const panel of toDraw) draw(store, panel);
    if (store.root) { store.root.dataset.rows = String(store.n); store.root.dataset.draws = String(store.draws); }
  });
}

function applyMessage(store, data) {
  // Apply one message; false when it does not continue what this page holds (a missed message).
  const continues = data.run === store.run && data.gen === store.gen && data.start === store.n
    && data.events_start === store.events.length && data.quality_start === store.qn;
  const full = data.start === 0 && data.events_start === 0 && data.quality_start === 0;
  if (full && !continues) { reset(store, data.run, data.gen); append(store, data); }
  else if (continues) append(store, data);
  else return false;
  if (store.root) store.root.dataset.run = store.run || "";
  return true;
}

function feedMember(store) {
  // The hub's member for the charts (feed_poll.js): the state echoed back is exactly what this page holds.
  return {
    url: store.feed.url, interval: () => store.feed.live ? (store.n ? gwPace() : GW_FIRST_POINT_S) : null,
    alive: () => Boolean(store.root && store.root.isConnected),
    query: () => ({charts: JSON.stringify(store.feedState || {})}),
    apply: (reply) => {
      const message = reply.message;
      if (!applyMessage(store, message)) { store.feedState = {}; return true; }  // ask for everything once
      store.feedState = reply.state;
      const news = message.n || (message.events || []).length || (message.quality.step || []).length;
      if (news || !store.drawnOnce) { store.drawnOnce = true; redrawAll(store); }
      return false;
    },
  };
}

export default function (component) {
  let {data} = component;
  const {parentElement, setTriggerValue, key} = component;
  const id = (data && data.key) || key;
  let store = STORE.get(id);
  if (!store) { store = newStore(); STORE.set(id, store); }
  let root = parentElement.querySelector(".gw-charts");
  if (!root) {
    root = document.createElement("div");
    root.className = "gw-charts";
    parentElement.append(root);
    build(store, root);
    store.root = root;
  }
  if (store.resizeRoot !== root) {
    // Redraw at the new width when the column resizes; one observer per mounted root.
    if (store.resize) store.resize.disconnect();
    store.resize = new ResizeObserver(() => redrawAll(store));
    store.resize.observe(root);
    store.resizeRoot = root;
  }
  if (data && data.feed) {  // the page reruns only on user actions and phase changes: fetch the rows
    store.feed = data.feed;
    redrawAll(store);
    gwJoin(data.feed.part, feedMember(store));
    return;
  }
  if (data && data.seq !== undefined && data.seq === store.seq) data = null;  // this message is applied already
  if (data) {
    store.seq = data.seq;
    if (!applyMessage(store, data)) setTriggerValue("resync", {run: data.run, gen: data.gen, have: store.n});
  }
  redrawAll(store);
}
