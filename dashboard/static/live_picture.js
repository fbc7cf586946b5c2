// GAN Workbench live picture: one image of the live generator (the latent explorer's sample grid, its
// interpolation strip or its class strip while "Follow the live run" is on), replaced only when the feed
// has a new one (the generator moved on, or the request changed); drawn at a whole multiple of its size so
// every pixel stays sharp. The image is loaded off-screen first: the visible one is never blank.
// Data: {key, feed: {url, part, live, interval}, request: what to draw (echoed to the feed), min_width}

const gw = await import(new URL("_gw/static/shared.js", new URL(".", window.location.href)).href);
const STORE = (window.__ganWorkbenchPictures = window.__ganWorkbenchPictures || new Map());

function fit(store) {
  const img = store.img;
  if (!img || !img.naturalWidth) return;
  const width = Math.max(store.root.clientWidth, 1);
  // Small images scaled up to about min_width, at least 2x; a long strip may be wider than its column.
  const wanted = Math.max(2, Math.ceil(store.minWidth / img.naturalWidth));
  gw.sharpScale(img, Math.max(width, img.naturalWidth * wanted), wanted, Math.max(wanted, 8));
}

function show(store, image, caption, step) {
  const before = store.img;
  image.alt = caption;
  if (before && before.naturalWidth === image.naturalWidth && before.naturalHeight === image.naturalHeight) {
    before.src = image.src;  // already loaded: shown in this frame, no relayout
  } else {
    if (before) before.replaceWith(image); else store.frame.append(image);
    store.img = image;
    fit(store);
  }
  store.img.dataset.step = String(step);
  if (store.caption.textContent !== caption) store.caption.textContent = caption;
  store.root.dataset.step = String(step);
}

function feedMember(store) {
  // The hub's member (shared.js): the state carries the request and names the picture this page holds.
  const part = store.feed.part;
  return {
    url: store.feed.url, interval: () => store.feed.interval,
    alive: () => Boolean(store.root && store.root.isConnected),
    root: () => store.root,
    query: () => ({[part]: JSON.stringify({...(store.feedState || {}), ...store.request})}),
    prepare: async (message) => { store.loaded = message.image ? await gw.loadImage(message.image.png) : null; },
    apply: (reply) => {
      store.feedState = reply.state;
      const image = reply.message.image;
      if (image && store.loaded) show(store, store.loaded, image.caption, image.step);
      store.loaded = null;
      return false;
    },
  };
}

export default function (component) {
  const {data, parentElement, key} = component;
  const id = (data && data.key) || key;
  let store = STORE.get(id);
  if (!store) { store = {}; STORE.set(id, store); }
  let root = parentElement.querySelector(".gw-picture");
  if (!root) {
    root = document.createElement("figure");
    root.className = "gw-figure gw-picture";
    const frame = document.createElement("div");
    frame.className = "gw-frame";
    const caption = document.createElement("figcaption");
    caption.textContent = "waiting for the live generator";
    root.append(frame, caption);
    parentElement.append(root);
    Object.assign(store, {frame, caption, img: null, feedState: null});  // a new slot: the feed sends it again
    new ResizeObserver(() => fit(store)).observe(root);
  }
  store.root = root;
  if (!data) return;
  store.minWidth = data.min_width || 0;
  store.request = data.request || {};
  store.feed = data.feed;
  gw.join(data.feed.part, feedMember(store));
}
