// GAN Workbench chart rows: what the live charts hold in the browser, one source per run (columnar typed
// arrays grown by doubling, events, quality rows), the smoothing (TensorBoard's debiased EMA, kept
// incrementally) and the x values (step or wall time). No drawing here: static/chart_draw.js draws,
// static/live_charts.js is the component. Served beside shared.js at /_gw/static/ (dashboard/live/components.py).

import {decode} from "./shared.js";

export function newSource(columns) {
  const cols = {};
  for (const name of columns) cols[name] = name === "wall_time" ? new Float64Array(1024) : new Float32Array(1024);
  return {run: null, gen: null, n: 0, cols, events: [], quality: {}, qn: 0, referenceFid: null, ema: {},
          wallX: null, wallN: 0, positive: {}, scanned: {}};
}

export function newStore(spec) {
  return {spec, sources: {}, hidden: {}, zoom: null, draws: 0, settings: loadSettings()};
}

export function source(store, name) {
  if (!store.sources[name]) store.sources[name] = newSource(store.spec.columns);
  return store.sources[name];
}

function loadSettings() {
  try {
    const saved = JSON.parse(localStorage.getItem("ganWorkbench.charts") || "{}");
    return {smoothing: typeof saved.smoothing === "number" ? saved.smoothing : 0.6, x: saved.x === "wall" ? "wall" : "step"};
  } catch (e) { return {smoothing: 0.6, x: "step"}; }
}

export function saveSettings(settings) {
  try { localStorage.setItem("ganWorkbench.charts", JSON.stringify(settings)); } catch (e) { /* private mode */ }
}

export function append(store, src, data) {
  // Rows: columnar, base64 typed arrays; grow the typed arrays by doubling.
  const count = data.n || 0;
  if (count > 0) {
    const need = src.n + count;
    for (const name of store.spec.columns) {
      let column = src.cols[name];
      if (column.length < need) {
        let size = column.length;
        while (size < need) size *= 2;
        const grown = new column.constructor(size);
        grown.set(column.subarray(0, src.n));
        column = src.cols[name] = grown;
      }
      if (data.cols[name]) column.set(decode(data.cols[name], name === "wall_time" ? "f64" : "f32"), src.n);
      else column.fill(NaN, src.n, need);
    }
    src.n = need;
  }
  for (const event of data.events || []) src.events.push(event);
  const quality = data.quality || {};
  const added = (quality.step || []).length;
  for (const [name, values] of Object.entries(quality)) {
    src.quality[name] = (src.quality[name] || []).concat(values);
  }
  src.qn += added;
  if (data.reference_fid !== undefined && data.reference_fid !== null) src.referenceFid = data.reference_fid;
}

// ---- smoothing: TensorBoard's debiased EMA, kept incrementally per series ------------------------
export function smoothed(store, src, name, values, n) {
  const weight = store.settings.smoothing;
  let cache = src.ema[name];
  if (!cache || cache.weight !== weight || cache.n > n || cache.values.length < n) {
    const keep = cache && cache.weight === weight && cache.n <= n ? cache : null;
    const grown = new Float32Array(Math.max(1024, values.length));
    if (keep) grown.set(keep.values.subarray(0, keep.n));
    cache = src.ema[name] = keep ? {...keep, values: grown} : {weight, n: 0, last: 0, count: 0, values: grown};
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

export function xValues(store, src, chart) {
  if (chart.quality) return {x: src.quality.step || [], n: src.qn};
  if (store.settings.x === "wall") {
    // Seconds since the run's first row, extended only by the rows added since the last draw.
    const wall = src.cols.wall_time;
    if (!src.wallX || src.wallX.length < src.n || src.wallN > src.n) {
      const grown = new Float64Array(Math.max(1024, wall.length));
      if (src.wallX && src.wallN <= src.n) grown.set(src.wallX.subarray(0, src.wallN)); else src.wallN = 0;
      src.wallX = grown;
    }
    for (let i = src.wallN; i < src.n; i++) src.wallX[i] = wall[i] - wall[0];
    src.wallN = src.n;
    return {x: src.wallX, n: src.n};
  }
  return {x: src.cols.step, n: src.n};
}

export function seriesValues(src, chart, name) {
  if (!chart.quality) return src.cols[name] || [];
  if (name === "classes_share") return (src.quality.classes_covered || []).map((v) => (v === null ? null : v / 10));
  if (name === "modes_share") {
    const total = src.quality.modes_total || [];
    return (src.quality.modes_covered || []).map((v, i) => (v === null || !total[i] ? null : v / total[i]));
  }
  return src.quality[name] || [];
}

export function eventX(store, src, event) {
  if (store.settings.x !== "wall") return event.step;
  return src.n ? event.time - src.cols.wall_time[0] : 0;
}

export function lowerBound(x, n, value) {
  let lo = 0, hi = n;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (x[mid] < value) lo = mid + 1; else hi = mid; }
  return lo;
}

export function chartSources(store, chart) {
  // The sources a chart's series draw from, each once.
  return [...new Set(chart.series.map((series) => series.source))].map((name) => source(store, name));
}
