// GAN Workbench digit canvas: draw a digit with the mouse (or a finger), white ink on black as MNIST's digits,
// on a canvas drawn at a whole multiple of the generator's size. "Use the drawing" sends it at the generator's
// own size ({width, height, pixels: gray 0-255 row by row}) as the component's "drawn" trigger; "Clear" wipes it.
// Data: {key, width, height, scale}. Needs nothing from the network or the live feed.

const STORE = (window.__ganWorkbenchCanvases = window.__ganWorkbenchCanvases || new Map());

function clear(store) {
  const context = store.canvas.getContext("2d");
  context.fillStyle = "#000";
  context.fillRect(0, 0, store.canvas.width, store.canvas.height);
  store.strokes = 0;
  store.root.dataset.strokes = "0";
}

function line(store, from, to) {
  const context = store.canvas.getContext("2d");
  context.strokeStyle = "#fff";
  context.lineCap = context.lineJoin = "round";
  context.lineWidth = store.scale * Math.max(2.2, store.width / 11);  // about MNIST's stroke at 28 px
  context.beginPath();
  context.moveTo(from[0], from[1]);
  context.lineTo(to[0], to[1]);
  context.stroke();
}

function pixels(store) {
  // The drawing at the generator's size: the big canvas averaged down (smoothed), one gray value per pixel.
  const small = document.createElement("canvas");
  small.width = store.width; small.height = store.height;
  const context = small.getContext("2d");
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = "high";
  context.drawImage(store.canvas, 0, 0, store.width, store.height);
  const rgba = context.getImageData(0, 0, store.width, store.height).data;
  const gray = new Array(store.width * store.height);
  for (let i = 0; i < gray.length; i++) gray[i] = Math.round((rgba[4 * i] + rgba[4 * i + 1] + rgba[4 * i + 2]) / 3);
  return gray;
}

function build(store, root) {
  const canvas = document.createElement("canvas");
  canvas.className = "gw-digit-canvas";
  canvas.setAttribute("aria-label", "drawing canvas");
  const bar = document.createElement("div"); bar.className = "gw-digit-bar";
  const use = document.createElement("button"); use.textContent = "Use the drawing";
  const wipe = document.createElement("button"); wipe.textContent = "Clear";
  const hint = document.createElement("span"); hint.className = "gw-digit-hint";
  hint.textContent = "draw with the mouse, white on black";
  bar.append(use, wipe, hint);
  root.append(canvas, bar);
  Object.assign(store, {canvas, root, hint, use, wipe});
  let last = null;
  const at = (e) => {
    const rect = canvas.getBoundingClientRect();
    return [(e.clientX - rect.left) * canvas.width / rect.width, (e.clientY - rect.top) * canvas.height / rect.height];
  };
  canvas.addEventListener("pointerdown", (e) => {
    canvas.setPointerCapture(e.pointerId);
    last = at(e); line(store, last, last);
    store.strokes += 1; root.dataset.strokes = String(store.strokes);
  });
  canvas.addEventListener("pointermove", (e) => { if (last) { const next = at(e); line(store, last, next); last = next; } });
  const up = () => { last = null; };
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
}

export default function (component) {
  const {data, parentElement, setTriggerValue, key} = component;
  const id = (data && data.key) || key;
  let store = STORE.get(id);
  if (!store) { store = {strokes: 0}; STORE.set(id, store); }
  let root = parentElement.querySelector(".gw-digit");
  if (!root) {
    root = document.createElement("div"); root.className = "gw-digit";
    parentElement.append(root);
    build(store, root);
    store.width = 0;
  }
  const width = (data && data.width) || 28, height = (data && data.height) || 28, scale = (data && data.scale) || 8;
  if (store.width !== width || store.height !== height || store.scale !== scale) {
    Object.assign(store, {width, height, scale});
    store.canvas.width = width * scale; store.canvas.height = height * scale;
    clear(store);
  }
  store.use.onclick = () => {
    if (!store.strokes) { store.hint.textContent = "draw something first"; return; }
    setTriggerValue("drawn", {width: store.width, height: store.height, pixels: pixels(store)});
    store.hint.textContent = "sent: press Project";
  };
  store.wipe.onclick = () => { clear(store); store.hint.textContent = "draw with the mouse, white on black"; };
}
