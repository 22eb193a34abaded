// autograd_viz explorer and graph canvas (anywidget front end). Shipped in the Python
// package and sent with the widget state: no CDN, no bundler, no dependencies.
//
// The explorer (a model with the `explorer` trait) is one widget: header, label toggles,
// the canvas, the backward stepper, step card, inspector and .grad timeline are drawn
// here from its traits; the panels' HTML comes from the kernel.
//
// Shows the server-rendered Graphviz SVG in a viewport with zoom (buttons, keys, Ctrl/⌘ +
// wheel, or the wheel once the graph has focus) and pan (drag, arrow keys). A click on a
// node sets the `selected` trait; the kernel answers with the inspector. `step_node` and
// `visited` (set by the backward stepper) outline the running node and colour the edges the
// gradient flows along.

const MIN_SCALE = 0.08;
const MAX_SCALE = 8;
const PT_TO_PX = 4 / 3;
// Below this scale Graphviz's 10pt labels get hard to read; the first view stays above it.
const READABLE = 0.6;
// Notes added to the drawing (hook output, .grad timeline; `notes=` of viz.draw).
const NOTE = /^(hooknote|gradnote|note)\d+$/;

function el(tag, cls, text) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== undefined) n.textContent = text;
  return n;
}

// Parse SVG text into a detached, sanitised element (the labels are escaped server-side;
// this is a second line of defence: no scripts, no foreignObject, no on* handlers).
function parseSvg(text) {
  if (!text) return null;
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const root = doc.documentElement;
  if (!root || root.nodeName.toLowerCase() !== "svg" || doc.getElementsByTagName("parsererror").length) {
    return null;
  }
  root.querySelectorAll("script, foreignObject, iframe").forEach((n) => n.remove());
  for (const n of root.querySelectorAll("*")) {
    for (const a of Array.from(n.attributes)) {
      if (/^on/i.test(a.name) || (/href$/i.test(a.name) && /^\s*javascript:/i.test(a.value))) {
        n.removeAttribute(a.name);
      }
    }
  }
  return document.importNode(root, true);
}

function sizeOf(svg) {
  const num = (v) => {
    const m = /^([\d.]+)\s*(pt|px)?$/.exec(v || "");
    if (!m) return 0;
    return parseFloat(m[1]) * (m[2] === "pt" ? PT_TO_PX : 1);
  };
  let w = num(svg.getAttribute("width"));
  let h = num(svg.getAttribute("height"));
  if ((!w || !h) && svg.viewBox && svg.viewBox.baseVal) {
    w = svg.viewBox.baseVal.width * PT_TO_PX;
    h = svg.viewBox.baseVal.height * PT_TO_PX;
  }
  return { w: w || 300, h: h || 150 };
}

// Legend of the drawing's node styles (autograd_viz.viz.dot): fill, border, text. An entry
// shows only when some node of the current SVG has that fill.
const LEGEND = [
  ["#cfe2ff", "#3d6fb6", "leaf"],
  ["#eeeeee", "#888888", "constant"],
  ["#fff4c2", "#b59b2d", "intermediate"],
  ["#c8f0c0", "#3c8c33", "output"],
  ["#ffe3c2", "#d98c00", "saved"],
  ["#e6e6e6", "#555555", "op"],
  ["#e2d9f3", "#6a51a3", "AccumulateGrad"],
  ["#ffffff", "#999999", "no-grad op"],
  ["#fff3e0", "#e08a00", "hook output"],
  ["#eaf3fb", "#0b63a6", ".grad timeline"],
];

function fillLegend(legend, svg) {
  legend.replaceChildren();
  if (!svg) return;
  const fills = new Set();
  svg.querySelectorAll("g.node polygon, g.node path").forEach((p) => {
    const f = (p.getAttribute("fill") || "").toLowerCase();
    if (f) fills.add(f);
  });
  for (const [fill, stroke, text] of LEGEND) {
    if (!fills.has(fill)) continue;
    const item = el("span", "agv-legend-item");
    const sw = el("span", "agv-swatch");
    sw.style.background = fill;
    sw.style.borderColor = stroke;
    item.appendChild(sw);
    item.appendChild(document.createTextNode(text));
    legend.appendChild(item);
  }
  for (const [cls, text] of [["agv-sw-step", "running now"], ["agv-sw-done", "done"],
                             ["agv-sw-flow", "gradient flow"]]) {
    const item = el("span", "agv-legend-item agv-legend-step");
    item.appendChild(el("span", `agv-swatch ${cls}`));
    item.appendChild(document.createTextNode(text));
    legend.appendChild(item);
  }
}

function renderCanvas(model, host) {
  host.classList.add("agv-canvas");

  const bar = el("div", "agv-canvas-bar");
  const btn = (label, title, cls) => {
    const b = el("button", `agv-btn ${cls}`, label);
    b.type = "button";
    b.title = title;
    b.setAttribute("aria-label", title);
    bar.appendChild(b);
    return b;
  };
  const bOut = btn("−", "zoom out (−)", "agv-zoom-out");
  const zoomLabel = el("span", "agv-zoom-label", "100%");
  bar.appendChild(zoomLabel);
  const bIn = btn("+", "zoom in (+)", "agv-zoom-in");
  const bFit = btn("fit", "fit the graph (0 or double-click)", "agv-fit");
  const bOne = btn("1:1", "actual size (1)", "agv-one");
  bar.appendChild(el("span", "agv-hint", "drag to pan · Ctrl/⌘+wheel to zoom · click a node to inspect"));

  const viewport = el("div", "agv-viewport");
  viewport.tabIndex = 0;
  viewport.setAttribute("role", "application");
  viewport.setAttribute("aria-label", "autograd graph: drag to pan, +/- to zoom, click a node");
  const stage = el("div", "agv-stage");
  viewport.appendChild(stage);
  const legend = el("div", "agv-legend-bar");
  host.appendChild(bar);
  host.appendChild(viewport);
  host.appendChild(legend);

  let view = { s: 1, x: 0, y: 0 };
  let natural = { w: 0, h: 0 };
  let needFit = true;
  let disposed = false;

  const apply = () => {
    stage.style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.s})`;
    zoomLabel.textContent = `${Math.round(view.s * 100)}%`;
  };
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

  // "fit": the whole graph in the viewport.
  function fit() {
    const W = viewport.clientWidth;
    const H = viewport.clientHeight;
    if (!W || !H || !natural.w) {
      needFit = true;
      return;
    }
    const pad = 14;
    const s = clamp(Math.min((W - 2 * pad) / natural.w, (H - 2 * pad) / natural.h, 1.25), MIN_SCALE, MAX_SCALE);
    view = { s, x: (W - natural.w * s) / 2, y: (H - natural.h * s) / 2 };
    needFit = false;
    apply();
  }

  // The first view: the whole graph if it stays readable, else readable and showing the
  // outputs' end of the graph (the top for BT, the right for LR, ...), centred across.
  function initialView() {
    const W = viewport.clientWidth;
    const H = viewport.clientHeight;
    if (!W || !H || !natural.w) {
      needFit = true;
      return;
    }
    const pad = 14;
    const whole = Math.min((W - 2 * pad) / natural.w, (H - 2 * pad) / natural.h, 1.25);
    if (whole >= READABLE) {
      fit();
      return;
    }
    const s = Math.min(READABLE, 1.25);
    const dir = model.get("rankdir") || "BT";
    let x = (W - natural.w * s) / 2;
    let y = (H - natural.h * s) / 2;
    if (natural.w * s > W) x = dir === "LR" ? W - pad - natural.w * s : dir === "RL" ? pad : x;
    if (natural.h * s > H) y = dir === "TB" ? H - pad - natural.h * s : dir === "BT" ? pad : y;
    view = { s, x, y };
    needFit = false;
    apply();
  }

  function zoomAt(factor, cx, cy) {
    const s = clamp(view.s * factor, MIN_SCALE, MAX_SCALE);
    const k = s / view.s;
    view = { s, x: cx - (cx - view.x) * k, y: cy - (cy - view.y) * k };
    apply();
  }
  const zoomCenter = (f) => zoomAt(f, viewport.clientWidth / 2, viewport.clientHeight / 2);

  // The viewport is as tall as the graph at a readable scale, within [180, max_height].
  function sizeViewport() {
    const maxH = model.get("max_height") || 560;
    const W = viewport.clientWidth || 640;
    const s = Math.max(Math.min(1.25, (W - 28) / (natural.w || 1)), READABLE);
    const want = Math.round(natural.h * s + 28);
    viewport.style.height = `${clamp(want, 180, maxH)}px`;
  }

  function decorate(svg) {
    const names = model.get("names") || {};
    svg.querySelectorAll("g.node").forEach((g) => {
      const t = g.querySelector("title");
      const id = t ? t.textContent.trim() : "";
      g.dataset.node = id;
      g.classList.add("agv-node");
      if (names[id]) g.dataset.name = names[id];
      if (id === "legend") g.classList.add("agv-legend");
      else if (NOTE.test(id)) g.classList.add("agv-note");
      else if (/^sum\d+$/.test(id)) g.classList.add("agv-summary");
      else if (/^op\d+$/.test(id)) g.classList.add("agv-op");
      else g.classList.add("agv-tensor");
    });
    svg.querySelectorAll("g.edge").forEach((g) => {
      const t = g.querySelector("title");
      const parts = (t ? t.textContent : "").split("->");
      g.classList.add("agv-edge");
      if (parts.length === 2) {
        g.dataset.src = parts[0].trim();
        g.dataset.dst = parts[1].trim();
      }
    });
    const title = svg.querySelector(":scope > g > title");
    if (title) title.remove(); // no "autograd" tooltip over the whole canvas
  }

  function applyClasses() {
    const sel = model.get("selected") || "";
    const stepNode = model.get("step_node") || "";
    const visited = new Set(model.get("visited") || []);
    stage.querySelectorAll(".agv-node").forEach((g) => {
      const id = g.dataset.node;
      g.classList.toggle("agv-selected", !!sel && id === sel);
      g.classList.toggle("agv-step", !!stepNode && id === stepNode);
      g.classList.toggle("agv-visited", visited.has(id));
    });
    stage.querySelectorAll(".agv-edge").forEach((g) => {
      const note = NOTE.test(g.dataset.dst || "");
      g.classList.toggle("agv-grad-in", !!stepNode && !note && g.dataset.src === stepNode);
      g.classList.toggle("agv-grad-out", !!stepNode && g.dataset.dst === stepNode);
    });
    host.classList.toggle("agv-stepping", !!stepNode);
  }

  function ensureVisible(id) {
    if (!id) return;
    const g = stage.querySelector(`.agv-node[data-node="${CSS.escape(id)}"]`);
    if (!g) return;
    const r = g.getBoundingClientRect();
    const v = viewport.getBoundingClientRect();
    if (!v.width || !r.width) return;
    const m = 20;
    let dx = 0;
    let dy = 0;
    if (r.left < v.left + m) dx = v.left + m - r.left;
    else if (r.right > v.right - m) dx = v.right - m - r.right;
    if (r.top < v.top + m) dy = v.top + m - r.top;
    else if (r.bottom > v.bottom - m) dy = v.bottom - m - r.bottom;
    if (dx || dy) {
      view = { ...view, x: view.x + dx, y: view.y + dy };
      apply();
    }
  }

  function setSvg() {
    const svg = parseSvg(model.get("svg"));
    stage.replaceChildren();
    if (!svg) {
      stage.appendChild(el("div", "agv-empty-canvas", "nothing to draw"));
      natural = { w: 0, h: 0 };
      fillLegend(legend, null);
      return;
    }
    natural = sizeOf(svg);
    svg.setAttribute("width", `${natural.w}`);
    svg.setAttribute("height", `${natural.h}`);
    svg.classList.add("agv-svg");
    decorate(svg);
    stage.appendChild(svg);
    fillLegend(legend, svg);
    sizeViewport();
    initialView();
    applyClasses();
  }

  // -- pan (drag) and click -------------------------------------------------------------
  let drag = null;
  const onDown = (ev) => {
    if (ev.button !== 0) return;
    drag = { x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y, moved: false };
  };
  const onMove = (ev) => {
    if (!drag) return;
    const dx = ev.clientX - drag.x;
    const dy = ev.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) > 4) {
      drag.moved = true;
      try {
        viewport.setPointerCapture(ev.pointerId);
      } catch (e) {
        /* synthetic events have no capturable pointer */
      }
      viewport.classList.add("agv-dragging");
    }
    if (drag.moved) {
      view = { ...view, x: drag.vx + dx, y: drag.vy + dy };
      apply();
    }
  };
  const onUp = (ev) => {
    const d = drag;
    drag = null;
    viewport.classList.remove("agv-dragging");
    if (!d || d.moved) return;
    const g = ev.target && ev.target.closest ? ev.target.closest(".agv-node") : null;
    if (g && !g.classList.contains("agv-legend") && g.dataset.node) {
      model.set("selected", g.dataset.node);
      model.save_changes();
    }
  };
  viewport.addEventListener("pointerdown", onDown);
  viewport.addEventListener("pointermove", onMove);
  viewport.addEventListener("pointerup", onUp);
  viewport.addEventListener("pointercancel", () => {
    drag = null;
    viewport.classList.remove("agv-dragging");
  });
  viewport.addEventListener("dblclick", (ev) => {
    if (!(ev.target.closest && ev.target.closest(".agv-node"))) fit();
  });
  viewport.addEventListener(
    "wheel",
    (ev) => {
      // Do not steal the page's scrolling: zoom with Ctrl/⌘ (and pinch), or once focused.
      if (!(ev.ctrlKey || ev.metaKey || document.activeElement === viewport)) return;
      ev.preventDefault();
      const r = viewport.getBoundingClientRect();
      const dy = ev.deltaMode === 1 ? ev.deltaY * 16 : ev.deltaY;
      zoomAt(Math.exp(-dy * 0.0015), ev.clientX - r.left, ev.clientY - r.top);
    },
    { passive: false },
  );
  viewport.addEventListener("keydown", (ev) => {
    const step = 40;
    const keys = {
      "+": () => zoomCenter(1.25),
      "=": () => zoomCenter(1.25),
      "-": () => zoomCenter(0.8),
      0: fit,
      1: () => zoomAt(1 / view.s, viewport.clientWidth / 2, viewport.clientHeight / 2),
      ArrowLeft: () => { view.x += step; apply(); },
      ArrowRight: () => { view.x -= step; apply(); },
      ArrowUp: () => { view.y += step; apply(); },
      ArrowDown: () => { view.y -= step; apply(); },
      Escape: () => { model.set("selected", ""); model.save_changes(); },
    };
    const f = keys[ev.key];
    if (f) {
      ev.preventDefault();
      ev.stopPropagation(); // keep JupyterLab's command-mode shortcuts out of it
      f();
    }
  });
  bIn.addEventListener("click", () => zoomCenter(1.25));
  bOut.addEventListener("click", () => zoomCenter(0.8));
  bFit.addEventListener("click", fit);
  bOne.addEventListener("click", () => zoomAt(1 / view.s, viewport.clientWidth / 2, viewport.clientHeight / 2));

  // Links in the explorer's other panels (inspector, timeline) select nodes too.
  let explorerRoot = null;
  const onRefClick = (ev) => {
    const ref = ev.target.closest && ev.target.closest(".agv-ref[data-node]");
    if (ref && explorerRoot && explorerRoot.contains(ref)) {
      model.set("selected", ref.dataset.node);
      model.save_changes();
    }
  };
  let tries = 0;
  const findRoot = () => {
    if (disposed) return;
    explorerRoot = host.closest(".agv-explorer");
    if (explorerRoot) explorerRoot.addEventListener("click", onRefClick);
    else if (tries++ < 40) setTimeout(findRoot, 250);
  };
  findRoot();

  // Fit once the viewport has a size (views render before they are attached).
  const ro = new ResizeObserver(() => {
    if (needFit) {
      sizeViewport();
      initialView();
    }
  });
  ro.observe(viewport);

  const onSvg = () => setSvg();
  const onNames = () => {
    const svg = stage.querySelector("svg");
    if (svg) decorate(svg);
    applyClasses();
  };
  const onHighlight = () => {
    applyClasses();
    ensureVisible(model.get("step_node"));
  };
  model.on("change:svg", onSvg);
  model.on("change:names", onNames);
  model.on("change:selected", applyClasses);
  model.on("change:step_node", onHighlight);
  model.on("change:visited", applyClasses);
  setSvg();

  return () => {
    disposed = true;
    ro.disconnect();
    if (explorerRoot) explorerRoot.removeEventListener("click", onRefClick);
    model.off("change:svg", onSvg);
    model.off("change:names", onNames);
    model.off("change:selected", applyClasses);
    model.off("change:step_node", onHighlight);
    model.off("change:visited", applyClasses);
  };
}

// The explorer around the canvas: toolbar, stepper and panels.
function renderExplorer(model, root) {
  root.classList.add("agv-explorer");
  const header = el("div", "agv-header-box");
  const toolbar = el("div", "agv-toolbar");
  toolbar.appendChild(el("span", "agv-toolbar-label", "show"));
  const toggles = {};
  for (const [key, text, tip] of model.get("toggles") || []) {
    const b = el("button", `agv-toggle agv-toggle-${key}`, text);
    b.type = "button";
    b.title = tip;
    b.addEventListener("click", () => {
      const show = { ...(model.get("show") || {}) };
      show[key] = !show[key];
      model.set("show", show);
      model.save_changes();
    });
    toggles[key] = b;
    toolbar.appendChild(b);
  }
  const rankdir = el("select", "agv-rankdir");
  rankdir.title = "layout direction";
  for (const [label, value] of model.get("rankdirs") || []) {
    const o = el("option", "", label);
    o.value = value;
    rankdir.appendChild(o);
  }
  rankdir.addEventListener("change", () => {
    model.set("rankdir", rankdir.value);
    model.save_changes();
  });
  toolbar.appendChild(rankdir);

  const main = el("div", "agv-main");
  const column = el("div", "agv-graph-column");
  const canvas = el("div", "agv-canvas-box");
  const stepper = el("div", "agv-stepper");
  const play = el("div", "agv-play");
  const button = (label, title) => {
    const b = el("button", "agv-btn", label);
    b.type = "button";
    b.title = title;
    b.setAttribute("aria-label", title);
    play.appendChild(b);
    return b;
  };
  const bPlay = button("▶", "play backward");
  const bStop = button("■", "stop: back to before backward");
  const slider = el("input", "agv-step-slider");
  slider.type = "range";
  slider.min = "0";
  slider.step = "1";
  slider.setAttribute("aria-label", "backward step");
  const readout = el("span", "agv-step-readout", "0");
  const label = el("div", "agv-step-label");
  stepper.append(play, el("span", "agv-step-title", "backward"), slider, readout, label);
  const card = el("div", "agv-step-box");
  column.append(canvas, stepper, card);
  const inspector = el("div", "agv-inspector-box");
  main.append(column, inspector);
  const timeline = el("div", "agv-timeline-box");
  root.append(header, toolbar, main, timeline);
  const canvasDone = renderCanvas(model, canvas);

  const panes = [[header, "header"], [inspector, "inspector"], [card, "step_card"],
    [label, "step_label"], [timeline, "timeline"]];
  const fill = (node, name) => {
    node.innerHTML = model.get(name) || "";
    if (name === "timeline") node.hidden = !node.innerHTML;
  };
  const onShow = () => {
    const show = model.get("show") || {};
    for (const [key, b] of Object.entries(toggles)) {
      b.classList.toggle("mod-active", !!show[key]);
      b.setAttribute("aria-pressed", show[key] ? "true" : "false");
    }
  };
  const onRankdir = () => { rankdir.value = model.get("rankdir") || "BT"; };
  const onStep = () => {
    const max = model.get("step_max") || 0;
    slider.max = String(Math.max(max, 1));
    slider.value = String(model.get("step") || 0);
    slider.disabled = bPlay.disabled = bStop.disabled = max === 0;
    shown(Number(slider.value));
  };
  const shown = (v) => {
    readout.textContent = String(v);
    const max = Math.max(model.get("step_max") || 0, 1);
    slider.style.setProperty("--agv-pct", `${(100 * Math.min(v, max)) / max}%`);
  };
  const setStep = (v) => {
    model.set("step", v);
    model.save_changes();
    shown(v);
  };
  slider.addEventListener("input", () => setStep(Number(slider.value)));
  slider.addEventListener("keydown", (ev) => {
    const max = model.get("step_max") || 0;
    const now = model.get("step") || 0;
    const to = { ArrowRight: now + 1, ArrowUp: now + 1, ArrowLeft: now - 1, ArrowDown: now - 1,
      Home: 0, End: max }[ev.key];
    if (to === undefined) return;
    ev.preventDefault();
    ev.stopPropagation(); // keep JupyterLab's command-mode shortcuts out of it
    const v = Math.max(0, Math.min(max, to));
    slider.value = String(v);
    if (v !== now) setStep(v);
  });
  // play: one step every 1.1 s from where the slider is, up to the last step
  let timer = null;
  const halt = () => {
    if (timer !== null) clearInterval(timer);
    timer = null;
    bPlay.textContent = "▶";
    bPlay.title = "play backward";
    bPlay.setAttribute("aria-label", bPlay.title);
  };
  const tick = () => {
    const max = model.get("step_max") || 0;
    const v = (model.get("step") || 0) + 1;
    if (v > max) return halt();
    slider.value = String(v);
    setStep(v);
    if (v >= max) halt();
  };
  bPlay.addEventListener("click", () => {
    if (timer !== null) return halt(); // pause
    if ((model.get("step") || 0) >= (model.get("step_max") || 0)) setStep(0);
    bPlay.textContent = "❚❚";
    bPlay.title = "pause";
    bPlay.setAttribute("aria-label", bPlay.title);
    timer = setInterval(tick, 1100);
    tick();
  });
  bStop.addEventListener("click", () => {
    halt();
    slider.value = "0";
    setStep(0);
  });

  const handlers = panes.map(([node, name]) => {
    const f = () => fill(node, name);
    f();
    model.on(`change:${name}`, f);
    return [name, f];
  });
  handlers.push(["show", onShow], ["rankdir", onRankdir], ["step", onStep],
    ["step_max", onStep]);
  for (const [name, f] of handlers.slice(panes.length)) {
    f();
    model.on(`change:${name}`, f);
  }
  return () => {
    halt();
    canvasDone();
    for (const [name, f] of handlers) model.off(`change:${name}`, f);
  };
}

function render({ model, el: host }) {
  return model.get("explorer") ? renderExplorer(model, host) : renderCanvas(model, host);
}

export default { render };
