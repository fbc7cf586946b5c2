// GAN Workbench live charts: a Streamlit components-v2 module that keeps every metric row in the browser and
// receives only the rows added since its last fetch. It builds the panels, their legends and zoom, and decides
// what each chart draws; the rows it holds are static/chart_rows.js's, the drawing (min/max per pixel column,
// the same cost at 100 rows and at 1,000,000) static/chart_draw.js's, both served beside shared.js.
// What it draws is declared in Python (dashboard/live/spec.py) and arrives with the component:
//   data = {key, feed: {url, part, live, interval}, spec: {columns, charts: [{id, title, series: [{column,
//           label, colour, source}], quality?, log?, y_range?, hline?, floor?, markers?, only_with?}],
//           events: {kind: [colour, label]}}}
// Rows come from the live feed (shared.js's hub) as chart messages (dashboard/live/messages.py):
//   {run, gen, start, n, cols: {name: base64 float32 (wall_time: float64)}, events_start, events: [...],
//    quality_start, quality: {name: [numbers]}, reference_fid}
// one per source: the Training view has one (""), the A/B view one per run ({sources: {A: ..., B: ...}}).
// If a message does not continue what this page holds, the state echoed for that source is dropped and the
// feed sends it everything once; nothing already held is ever sent again otherwise.

const gw = await import(new URL("_gw/static/shared.js", new URL(".", window.location.href)).href);
const {niceTicks, formatNumber, formatLog, formatDuration, valueRange, drawSeries, drawDots} =
  await import(new URL("_gw/static/chart_draw.js", new URL(".", window.location.href)).href);
const {newSource, newStore, source, saveSettings, append, smoothed, xValues, seriesValues, eventX, lowerBound, chartSources} =
  await import(new URL("_gw/static/chart_rows.js", new URL(".", window.location.href)).href);
const STORE = (window.__ganWorkbenchCharts = window.__ganWorkbenchCharts || new Map());
const HEIGHT = 210;
const PAD = {l: 52, r: 12, t: 8, b: 26};

function draw(store, panel) {
  const chart = panel.chart;
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
  const smoothing = store.settings.smoothing;
  // Each series with its own source's x values: the A/B view's runs have rows of their own.
  const lines = chart.series.filter((series) => !store.hidden[chart.id + "." + series.source + "." + series.column])
    .map((series) => {
      const src = source(store, series.source);
      const {x, n} = xValues(store, src, chart);
      const raw = seriesValues(src, chart, series.column);
      const smooth = !chart.quality && smoothing > 0 ? smoothed(store, src, series.column, raw, n) : null;
      return {...series, src, x, n, raw, smooth};
    });
  let x0 = Infinity, x1 = -Infinity, total = 0;
  for (const line of lines) {
    if (!line.n) continue;
    x0 = Math.min(x0, line.x[0]); x1 = Math.max(x1, line.x[line.n - 1]); total += line.n;
  }
  if (!total) { x0 = 0; x1 = 1; }
  if (store.zoom && (!chart.quality || store.settings.x === "step")) [x0, x1] = store.zoom;
  if (x1 <= x0) x1 = x0 + 1;
  for (const line of lines) {
    line.lo = line.n ? Math.max(0, lowerBound(line.x, line.n, x0) - 1) : 0;
    line.hi = line.n ? Math.min(line.n, lowerBound(line.x, line.n, x1) + 1) : 0;
  }
  // y range from the visible window (positive values only on a log axis).
  let y0 = Infinity, y1 = -Infinity;
  if (chart.y_range) [y0, y1] = chart.y_range;
  else {
    for (const line of lines) {
      const [a, b] = valueRange(line.raw, line.lo, line.hi, line.n, chart.log, plotW);
      if (a < y0) y0 = a;
      if (b > y1) y1 = b;
    }
    const floor = chart.floor ? Math.max(0, ...lines.map((line) => line.src.referenceFid || 0)) : 0;
    if (floor > 0) { y0 = Math.min(y0, floor); y1 = Math.max(y1, floor); }
    if (!Number.isFinite(y0)) { y0 = chart.log ? 0.1 : 0; y1 = chart.log ? 10 : 1; }
  }
  const toY = chart.log
    ? ((lg0, lg1) => (v) => PAD.t + plotH * (1 - (Math.log10(v) - lg0) / (lg1 - lg0)))(
        Math.floor(Math.log10(y0) * 10) / 10 - 0.05, Math.ceil(Math.log10(y1) * 10) / 10 + 0.05)
    : ((a, b) => (v) => PAD.t + plotH * (1 - (v - a) / (b - a)))(
        chart.y_range ? y0 : y0 - (y1 - y0 || 1) * 0.05, chart.y_range ? y1 : y1 + (y1 - y0 || 1) * 0.05);
  const toX = (v) => PAD.l + plotW * (v - x0) / (x1 - x0);
  panel.map = {x0, x1, toX, lines, plotW, total};
  // Grid and ticks.
  context.font = "11px sans-serif"; context.fillStyle = "#555"; context.strokeStyle = "#e6e6e6"; context.lineWidth = 1;
  const yTicks = chart.log
    ? (() => { const t = []; for (let p = Math.floor(Math.log10(y0)); p <= Math.ceil(Math.log10(y1)); p++) t.push(p); return t; })()
    : niceTicks(chart.y_range ? y0 : y0 - (y1 - y0) * 0.05, chart.y_range ? y1 : y1 + (y1 - y0) * 0.05, 4);
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
  if (chart.floor) {
    for (const line of lines) {
      if (!(line.src.referenceFid > 0)) continue;
      const py = toY(line.src.referenceFid);
      context.setLineDash([5, 4]); context.strokeStyle = line.colour;
      context.beginPath(); context.moveTo(PAD.l, py); context.lineTo(PAD.l + plotW, py); context.stroke();
      context.setLineDash([]); context.fillStyle = line.colour; context.textAlign = "left"; context.textBaseline = "bottom";
      context.fillText(`real data FID ${formatNumber(line.src.referenceFid)}`, PAD.l + 4, py - 2);
    }
  }
  let drawn = 0;
  for (const line of lines) {
    if (line.smooth) drawn += drawSeries(context, line.x, line.raw, line.lo, line.hi, line.n, toX, toY, line.colour, 0.25, 1, chart.log, plotW);
    drawn += drawSeries(context, line.x, line.smooth || line.raw, line.lo, line.hi, line.n, toX, toY, line.colour, 1,
                        chart.quality ? 1.5 : 1.6, chart.log, plotW);
    if (chart.quality || chart.markers) drawDots(context, line.x, line.raw, line.lo, line.hi, toX, toY, line.colour, chart.log);
  }
  // Event markers: a dotted line and a triangle at the top, labelled on hover.
  panel.markers = [];
  const named = chartSources(store, chart).length > 1;
  for (const [name, src] of Object.entries(store.sources)) {
    if (!chart.series.some((series) => series.source === name)) continue;
    for (const event of src.events) {
      const style = store.spec.events[event.kind];
      if (!style) continue;
      const px = toX(eventX(store, src, event));
      if (px < PAD.l - 1 || px > PAD.l + plotW + 1) continue;
      context.strokeStyle = style[0]; context.setLineDash([2, 3]);
      context.beginPath(); context.moveTo(px, PAD.t); context.lineTo(px, PAD.t + plotH); context.stroke();
      context.setLineDash([]); context.fillStyle = style[0];
      context.beginPath(); context.moveTo(px - 5, PAD.t); context.lineTo(px + 5, PAD.t); context.lineTo(px, PAD.t + 8); context.fill();
      panel.markers.push({px, text: `${named ? name + ": " : ""}${style[1]} at step ${event.step}${event.detail ? ": " + event.detail : ""}`});
    }
  }
  context.restore();
  context.strokeStyle = "#bbb"; context.strokeRect(PAD.l, PAD.t, plotW, plotH);
  if (!total) {
    context.fillStyle = "#888"; context.textAlign = "center"; context.textBaseline = "middle";
    context.fillText(chart.quality ? "no evaluation yet" : "waiting for the first step", PAD.l + plotW / 2, PAD.t + plotH / 2);
  }
  store.draws += 1;
  panel.root.dataset.points = String(Math.max(0, ...chartSources(store, chart).map((src) => (chart.quality ? src.qn : src.n))));
  panel.root.dataset.drawn = String(drawn);
  panel.root.dataset.markers = String(panel.markers.length);
  updateLegend(store, panel);
}

function updateLegend(store, panel) {
  // The items are built once per show/hide state; each redraw only rewrites the latest numbers.
  const chart = panel.chart;
  const hiddenKey = (series) => chart.id + "." + series.source + "." + series.column;
  const state = chart.series.map((series) => (store.hidden[hiddenKey(series)] ? 1 : 0)).join("");
  if (panel.legendState !== state) {
    panel.legendState = state;
    panel.legend.replaceChildren();
    panel.legendValues = chart.series.map((series) => {
      const hidden = store.hidden[hiddenKey(series)];
      const item = document.createElement("span");
      item.className = "gw-legend-item" + (hidden ? " gw-hidden" : "");
      item.title = hidden ? "click to show" : "click to hide";
      const swatch = document.createElement("i");
      swatch.style.background = series.colour;
      item.append(swatch, document.createTextNode(`${series.label} `));  // text: labels may hold run names
      const value = document.createElement("b");
      item.append(value);
      item.onclick = () => { store.hidden[hiddenKey(series)] = !hidden; redrawAll(store); };
      panel.legend.append(item);
      return value;
    });
  }
  chart.series.forEach((series, index) => {
    const src = source(store, series.source);
    const values = seriesValues(src, chart, series.column);
    const n = chart.quality ? src.qn : src.n;
    let latest = NaN;
    for (let i = n - 1; i >= 0 && i >= n - 50; i--) if (Number.isFinite(values[i])) { latest = values[i]; break; }
    const text = formatNumber(latest);
    const value = panel.legendValues[index];
    if (value.textContent !== text) value.textContent = text;  // textContent: never HTML
  });
}

// ---- interaction: hover readout, drag to zoom, double-click to reset ------------------------------
function nearest(line, target) {
  let i = Math.min(line.n - 1, lowerBound(line.x, line.n, target));
  if (i > 0 && Math.abs(line.x[i - 1] - target) < Math.abs(line.x[i] - target)) i -= 1;
  return i;
}

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
    if (!map || !map.total || px < PAD.l) { panel.tip.style.display = "none"; return; }
    const context = panel.overlay.getContext("2d");
    const ratio = window.devicePixelRatio || 1;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    if (dragFrom !== null) {
      context.fillStyle = "rgba(31,119,180,0.12)";
      context.fillRect(Math.min(dragFrom, px), PAD.t, Math.abs(px - dragFrom), HEIGHT - PAD.t - PAD.b);
    }
    const target = map.x0 + (map.x1 - map.x0) * (px - PAD.l) / map.plotW;
    const first = map.lines.find((line) => line.n);
    const lines = [];
    if (first) {
      const i = nearest(first, target);
      const cx = map.toX(first.x[i]);
      context.strokeStyle = "#999"; context.beginPath(); context.moveTo(cx, PAD.t); context.lineTo(cx, HEIGHT - PAD.b); context.stroke();
      const src = first.src;
      const step = panel.chart.quality ? first.x[i] : src.cols.step[i];
      lines.push(`step ${formatNumber(step)}` + (!panel.chart.quality && src.n ?
        ` · ${formatDuration(src.cols.wall_time[i] - src.cols.wall_time[0])} wall` : ""));
    }
    for (const line of map.lines) {
      if (!line.n) continue;
      const i = nearest(line, target);
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
  // How often every live part (charts, images, status line) refreshes while a run is busy (shared.js).
  const pace = document.createElement("select");
  pace.setAttribute("aria-label", "refresh every");
  pace.title = "how often the live view refreshes while training; each refresh costs the training a little CPU";
  for (const seconds of gw.PACES) {
    const option = document.createElement("option"); option.value = String(seconds);
    option.textContent = `refresh every ${seconds} s`; pace.append(option);
  }
  pace.value = String(gw.pace());
  pace.onchange = () => gw.setPace(Number(pace.value));
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
  store.panels = store.spec.charts.map((chart) => {
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
    // The canvas's height is reserved before its first draw: the page below it never jumps.
    canvas.style.height = overlay.style.height = HEIGHT + "px";
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

function anyPositive(store, chart, name) {
  // Whether any row of the chart's sources holds a value > 0 in column `name` (remembered once true: rows
  // only grow). Scans only the rows added since the last call, so a run without augmentation costs nothing.
  return chartSources(store, chart).some((src) => {
    if (src.positive[name]) return true;
    const values = src.cols[name] || [];
    for (let i = src.scanned[name] || 0; i < src.n; i++) if (values[i] > 0) { src.positive[name] = true; break; }
    src.scanned[name] = src.n;
    return Boolean(src.positive[name]);
  });
}

function hasQuality(store, chart) {
  // A quality chart shows once any of its series holds a number (image runs: FID; toys: modes).
  return chart.series.some((series) => {
    const src = source(store, series.source);
    return src.qn > 0 && (seriesValues(src, chart, series.column) || []).some((v) => v !== null && Number.isFinite(v));
  });
}

function redrawAll(store) {
  if (store.frame) return;
  store.frame = requestAnimationFrame(() => {
    store.frame = null;
    const toDraw = [];
    for (const panel of store.panels || []) {
      const chart = panel.chart;
      const hidden = (chart.quality && !hasQuality(store, chart)) || (chart.only_with && !anyPositive(store, chart, chart.only_with));
      panel.root.style.display = hidden ? "none" : "";
      if (!panel.root.isConnected || panel.root.style.display === "none") continue;
      if (panel.inView === false) {  // out of view: remember to draw it when it scrolls back in
        panel.stale = true;
        panel.root.dataset.points = String(Math.max(0, ...chartSources(store, chart).map((src) => (chart.quality ? src.qn : src.n))));
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
    if (store.root) {
      const rows = Object.values(store.sources).reduce((sum, src) => sum + src.n, 0);
      store.root.dataset.rows = String(rows);
      store.root.dataset.draws = String(store.draws);
    }
  });
}

function applyMessage(store, name, data) {
  // Apply one source's message; false when it does not continue what this page holds (a missed message).
  const src = source(store, name);
  const continues = data.run === src.run && data.gen === src.gen && data.start === src.n
    && data.events_start === src.events.length && data.quality_start === src.qn;
  const full = data.start === 0 && data.events_start === 0 && data.quality_start === 0;
  if (full && !continues) {
    store.sources[name] = Object.assign(newSource(store.spec.columns), {run: data.run, gen: data.gen});
    store.zoom = null;
    append(store, store.sources[name], data);
  } else if (continues) append(store, src, data);
  else return false;
  return true;
}

function feedMember(store) {
  // The hub's member for the charts (shared.js): the state echoed back is exactly what this page holds,
  // per source ({A: ..., B: ...} for several runs).
  const part = store.feed.part;
  return {
    url: store.feed.url,
    interval: () => store.feed.live ? (Object.values(store.sources).some((src) => src.n) ? gw.pace() : gw.FIRST_POINT_S) : null,
    alive: () => Boolean(store.root && store.root.isConnected),
    root: () => store.root,
    query: () => ({[part]: JSON.stringify(store.feedState || {})}),
    apply: (reply) => {
      const message = reply.message;
      if (message.unchanged) return false;
      const several = Boolean(message.sources);
      const parts = several ? message.sources : {"": message};
      let news = false, again = false;
      const state = several ? {...(store.feedState || {})} : reply.state;
      for (const [name, data] of Object.entries(parts)) {
        if (!applyMessage(store, name, data)) {  // ask for this source's everything once
          if (several) delete state[name];
          again = true;
          continue;
        }
        if (several) state[name] = reply.state[name];
        news = news || data.n || (data.events || []).length || ((data.quality || {}).step || []).length;
      }
      store.feedState = again && !several ? {} : state;
      if (store.root) store.root.dataset.run = Object.values(store.sources).map((src) => src.run || "").join(",");
      if (news || !store.drawnOnce) { store.drawnOnce = true; redrawAll(store); }
      return again;
    },
  };
}

export default function (component) {
  const {data, parentElement, key} = component;
  const id = (data && data.key) || key;
  let store = STORE.get(id);
  const spec = data && data.spec;
  if (!store || (spec && JSON.stringify(spec) !== JSON.stringify(store.spec))) {
    // A new chart layout (another A/B pair's labels): start over; the feed resends what it shows.
    store = newStore(spec || {columns: [], charts: [], events: {}});
    STORE.set(id, store);
  }
  let root = parentElement.querySelector(".gw-charts");
  if (!root || store.root !== root) {
    if (!root) {
      root = document.createElement("div");
      root.className = "gw-charts";
      parentElement.append(root);
    }
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
  redrawAll(store);
  if (data && data.feed) {  // the page reruns only on user actions and phase changes: fetch the rows
    store.feed = data.feed;
    gw.join(data.feed.part, feedMember(store));
  }
}
