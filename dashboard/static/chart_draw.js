// GAN Workbench chart drawing: axes and number formats, and series drawn as min/max per pixel column from
// per-block summaries, so a redraw costs the same at 100 rows and at 1,000,000 and spikes stay visible. Pure
// canvas work on arrays it is given; static/live_charts.js decides what to draw. Served beside shared.js.

// ---- axes ---------------------------------------------------------------------------------------
export function niceTicks(lo, hi, count) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}

export function formatNumber(v) {
  if (!Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(1).replace("e+", "e");
  return String(Number(v.toPrecision(4)));
}

export function formatLog(power) {
  const labels = {"-2": "0.01", "-1": "0.1", "0": "1", "1": "10", "2": "100", "3": "1000"};
  return labels[String(power)] || `1e${power}`;
}

export function formatDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}:${String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}` : `${m}:${String(r).padStart(2, "0")}`;
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

export function valueRange(y, lo, hi, n, log, plotW) {
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

export function drawSeries(context, x, y, lo, hi, n, toX, toY, colour, alpha, width, log, plotW) {
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

export function drawDots(context, x, y, lo, hi, toX, toY, colour, log) {
  if (hi - lo > 400) return;
  context.fillStyle = colour;
  for (let i = lo; i < hi; i++) {
    const v = y[i];
    if (!Number.isFinite(v) || (log && v <= 0)) continue;
    context.beginPath(); context.arc(toX(x[i]), toY(v), 2.5, 0, 2 * Math.PI); context.fill();
  }
}
