// The seganypet viewer: niivue slices (axial, coronal, sagittal) and a coronal MIP, clicks
// and drawn shapes sent to the REST API, the answered label patches drawn as an overlay, live
// SUV statistics, the model's suggested next click with its uncertainty shaded.
import { DRAG_MODE, MULTIPLANAR_TYPE, Niivue, SHOW_RENDER, SLICE_TYPE } from "@niivue/niivue";
import { Api, readToken } from "./api.js";
import { attachDrawing, SHAPE_ROUTES, TOOLS } from "./draw.js";
import { applyPatch, labelColour, labelLut, MAX_LABEL, projectMax } from "./labels.js";
import { inLesionMode, showLesionTotals, wireLesions } from "./lesions.js";
import { addUncertaintyLayer, clearUncertainty, setUncertaintyVisible, showUncertainty,
  uncertaintyLut } from "./uncertainty.js";

const $ = (id) => document.getElementById(id);
const api = new Api(readToken());
const INVERTED_GREY = { R: [255, 0], G: [255, 0], B: [255, 0], A: [255, 255], I: [0, 255] };
const VIEW = {
  backColor: [0, 0, 0, 1], show3Dcrosshair: false, isColorbar: false, dragMode: DRAG_MODE.none,
  multiplanarShowRender: SHOW_RENDER.NEVER, crosshairColor: [0.2, 0.8, 1, 1], crosshairWidth: 1,
  logLevel: "error", isOrientCube: false,
};
const ui = {
  session: null, objects: [], current: 1, window: 10, colormap: "invgray", opacity: 0.5,
  capabilities: {}, chain: Promise.resolve(), apAxis: 1, tool: "click", uncertainty: null,
};
const main = new Niivue(VIEW);
const mip = new Niivue(VIEW);

// ------------------------------------------------------------------ status and errors
function showError(message) {
  const banner = $("error");
  banner.textContent = message.split("\n")[0];
  banner.title = message;
  banner.hidden = false;
}

function setStatus(text, busy = false) {
  $("status-text").textContent = text;
  $("progress").hidden = !busy;
  document.body.dataset.busy = busy ? "1" : "0";
}

// Run one server interaction at a time, in click order; errors go to the banner.
function enqueue(label, work) {
  ui.chain = ui.chain.then(async () => {
    setStatus(label, true);
    try {
      await work();
      $("error").hidden = true;
    } catch (err) {
      showError(err.message);
    } finally {
      setStatus(ui.session ? `${ui.session.path}: ready` : "open a scan");
    }
  });
  return ui.chain;
}

// ------------------------------------------------------------------ objects table
function fmt(value, digits) {
  return value === null || value === undefined ? "–" : value.toFixed(digits);
}

function renderObjects() {
  const body = $("objects").querySelector("tbody");
  body.replaceChildren(...ui.objects.map((o) => {
    const row = document.createElement("tr");
    row.className = o.label === ui.current ? "current" : "";
    row.dataset.label = o.label;
    const s = o.stats || {};
    const [r, g, b] = labelColour(o.label);
    const cells = [fmt(s.volume_ml, 2), fmt(s.suv_max, 2), fmt(s.suv_mean, 2), fmt(s.suv_peak, 2),
      fmt(s.tlg, 1)];
    row.innerHTML = `<td><span class="swatch" style="background:rgb(${r},${g},${b})"></span></td>`
      + `<td></td>${cells.map((c) => `<td>${c}</td>`).join("")}`;
    row.children[1].textContent = o.name;
    return row;
  }));
  showLesionTotals(ui);
}

async function refreshObjects() {
  const info = await api.json("GET", `/api/sessions/${ui.session.id}`);
  ui.objects = info.objects;
  ui.current = info.current;
  renderObjects();
}

// ------------------------------------------------------------------ overlay
function labelVolumes() {
  return { labels: main.volumes[1], mipLabels: mip.volumes[1] };
}

function updateMipLabels() {
  const { labels, mipLabels } = labelVolumes();
  projectMax(labels.img, labels.hdr.dims.slice(1, 4), ui.apAxis, mipLabels.img);
  mip.updateGLVolume();
}

async function applyState(state) {
  if (state.patch) {
    const { labels } = labelVolumes();
    await applyPatch(labels.img, labels.hdr.dims.slice(1, 4), state.patch);
    main.updateGLVolume();
    updateMipLabels();
  }
  const { patch, object, ...summary } = state;
  const entry = { label: object, ...summary };
  const at = ui.objects.findIndex((o) => o.label === object);
  if (at >= 0) ui.objects[at] = entry; else ui.objects.push(entry);
  ui.objects = ui.objects.filter((o) => o.label <= object || at >= 0);
  ui.current = object;
  renderObjects();
}

// ------------------------------------------------------------------ display settings
function applyDisplay() {
  for (const viewer of [main, mip]) {
    if (!viewer.volumes.length) continue;
    const image = viewer.volumes[0];
    image.cal_min = 0;
    image.cal_max = ui.window;
    image.colormap = ui.colormap;
    const labels = viewer.volumes[1];
    if (labels) {
      // value v -> colour v of the "labels" colour map (0 transparent), whatever the data range
      Object.assign(labels, { colormap: "labels", cal_min: 0, cal_max: MAX_LABEL,
        opacity: ui.opacity });
    }
    viewer.updateGLVolume();
  }
}

// ------------------------------------------------------------------ session
async function loadViews(session) {
  const base = `/api/sessions/${session.id}`;
  const headers = api.headers;
  await main.loadVolumes([
    { url: `${base}/image.nii`, name: "image.nii", headers, colormap: ui.colormap, cal_min: 0,
      cal_max: ui.window },
    { url: `${base}/labels`, name: "labels.nii.gz", headers, opacity: ui.opacity },
  ]);
  await mip.loadVolumes([{ url: `${base}/mip.nii`, name: "mip.nii", headers, colormap: ui.colormap,
    cal_min: 0, cal_max: ui.window }]);
  const mipLabels = mip.volumes[0].clone();
  mipLabels.zeroImage();
  mip.addVolume(mipLabels);
  ui.apAxis = Math.max(0, mip.volumes[0].hdr.dims.slice(1, 4).indexOf(1));
  ui.uncertainty = addUncertaintyLayer(main);
  applyDisplay();
  updateMipLabels();
}

async function startSession(open) {
  await enqueue("loading the scan…", async () => {
    const session = await open();
    ui.session = session;
    $("path").value = session.path;
    $("download-seg").hidden = !session.dicom;
    document.body.dataset.session = session.id;
    await loadViews(session);
    await refreshObjects();
    document.body.dataset.ready = "1";
  });
}

function openPath(path) {
  return startSession(() => api.json("POST", "/api/sessions", { path }));
}

function openUpload(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  return startSession(() => api.json("POST", "/api/sessions", form));
}

function sessionUrl(route) {
  return `/api/sessions/${ui.session.id}/${route}`;
}

function act(label, route, body) {
  if (!ui.session) return Promise.resolve();
  return enqueue(label, async () => {
    const state = await api.json("POST", sessionUrl(route), body);
    clearUncertainty(main, ui.uncertainty);  // the map described the mask before this edit
    $("hint").textContent = "";
    if (route === "objects") {
      ui.current = state.object;
      await refreshObjects();
    } else {
      await applyState(state);
      // an undo may remove an object; a lesion-mode click may change several lesions
      if (route === "undo" || inLesionMode(ui)) await refreshObjects();
    }
  });
}

function click(vox, positive) {
  const fresh = !(ui.objects.find((o) => o.label === ui.current) || {}).voxels;
  const label = fresh ? "segmenting: the first click of an object encodes the image patch…"
    : "segmenting…";
  return act(label, "points", { index: [vox[0], vox[1], vox[2]], positive, object: null });
}

function drawShape(kind, body) {
  return act(`segmenting: ${body.positive ? "" : "negative "}${kind}…`, SHAPE_ROUTES[kind], body);
}

function selectTool(tool) {
  ui.tool = tool;
  document.body.dataset.tool = tool;
  for (const name of TOOLS) $(`tool-${name}`).classList.toggle("on", name === tool);
}

// Ask where the model is least sure: move the cursor there, say the click's sign, shade the map.
async function suggest() {
  if (!ui.session) return;
  let text = "";
  await enqueue("asking the model where it is least sure…", async () => {
    const hint = await api.json("GET", sessionUrl("suggest"));
    await showUncertainty(main, ui.uncertainty, hint.uncertainty);
    $("show-uncertainty").checked = true;
    main.scene.crosshairPos = main.vox2frac(hint.index);
    main.drawScene();
    syncMipCursor();
    const sign = hint.positive ? "positive (probably missed)" : "negative (probably a leak)";
    text = `suggested: a ${sign} click at (${hint.index.join(", ")}), `
      + `P(wrong) ${hint.error_probability.toFixed(2)}`;
  });
  $("hint").textContent = text;
}

async function download(format) {
  if (!ui.session) return;
  await enqueue("preparing the download…", async () => {
    const suffix = format === "dicom-seg" ? "?format=dicom-seg" : "";
    const response = await api.request("GET", sessionUrl(`labels${suffix}`));
    const name = /filename="?([^"]+)"?/.exec(response.headers.get("content-disposition") || "");
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = name ? name[1] : "labels.nii.gz";
    link.click();
    URL.revokeObjectURL(link.href);
  });
}

async function save() {
  if (!ui.session) return;
  await enqueue("saving…", async () => {
    await api.request("GET", sessionUrl("labels"));  // the server autosaves before answering
  });
  setStatus(`${ui.session.path}: saved on the server`);
}

// ------------------------------------------------------------------ pointer input
function canvasFrac(viewer, canvas, event) {
  const rect = canvas.getBoundingClientRect();
  const dpr = viewer.uiData?.dpr || window.devicePixelRatio || 1;
  const frac = viewer.canvasPos2frac([(event.clientX - rect.left) * dpr,
    (event.clientY - rect.top) * dpr]);
  return frac && frac[0] >= 0 ? frac : null;
}

// The voxel of the main scan under a MIP click: the hottest one along the projection ray.
function hottestAlongRay(frac) {
  const mm = mip.frac2mm(frac);
  const vox = main.frac2vox(main.mm2frac([mm[0], mm[1], mm[2]]));
  const image = main.volumes[0];
  const dims = image.hdr.dims.slice(1, 4);
  const stride = [1, dims[0], dims[0] * dims[1]];
  let best = -Infinity;
  let bestAt = 0;
  for (let n = 0; n < dims[ui.apAxis]; n++) {
    const at = [...vox];
    at[ui.apAxis] = n;
    const value = image.img[at[0] * stride[0] + at[1] * stride[1] + at[2] * stride[2]];
    if (value > best) { best = value; bestAt = n; }
  }
  vox[ui.apAxis] = bestAt;
  return vox;
}

function insideScan(vox) {
  const dims = main.volumes[0].hdr.dims.slice(1, 4);
  return vox.every((v, d) => v >= 0 && v < dims[d]);
}

function onClick(viewer, canvas, toVoxel) {
  let down = null;
  canvas.addEventListener("contextmenu", (event) => event.preventDefault());
  canvas.addEventListener("pointerdown", (event) => { down = [event.clientX, event.clientY]; },
    { capture: true });
  canvas.addEventListener("pointerup", (event) => {
    const moved = down && Math.hypot(event.clientX - down[0], event.clientY - down[1]);
    down = null;
    if (!ui.session || !main.volumes.length || moved === null || moved > 4) return;
    const frac = canvasFrac(viewer, canvas, event);
    if (!frac) return;
    const vox = toVoxel(frac);
    if (!insideScan(vox)) return;
    main.scene.crosshairPos = main.vox2frac(vox);
    main.drawScene();
    syncMipCursor();
    click(vox, !(event.button === 2 || event.shiftKey));
  }, { capture: true });
}

function syncMipCursor() {
  if (!mip.volumes.length) return;
  const mm = main.frac2mm(main.scene.crosshairPos);
  const frac = mip.mm2frac([mm[0], mm[1], mm[2]]);
  frac[1] = 0.5;  // RAS order: the slab's anterior-posterior position
  mip.scene.crosshairPos = frac;
  mip.drawScene();
}

// ------------------------------------------------------------------ wiring
function wireControls() {
  $("open-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if ($("path").value.trim()) openPath($("path").value.trim());
  });
  $("upload").addEventListener("change", (event) => {
    if (event.target.files.length) openUpload(event.target.files[0]);
  });
  for (const button of document.querySelectorAll("[data-window]")) {
    button.addEventListener("click", () => {
      ui.window = Number(button.dataset.window);
      document.querySelectorAll("[data-window]").forEach((b) => b.classList.toggle("on", b === button));
      applyDisplay();
    });
  }
  $("colormap").addEventListener("change", (event) => { ui.colormap = event.target.value; applyDisplay(); });
  $("opacity").addEventListener("input", (event) => { ui.opacity = Number(event.target.value); applyDisplay(); });
  $("new-object").addEventListener("click", () => act("new object…", "objects", {}));
  $("undo").addEventListener("click", () => act("undoing…", "undo"));
  $("reset").addEventListener("click", () => act("resetting…", "reset"));
  $("grow").addEventListener("click", () => act("growing…", "grow"));
  $("shrink").addEventListener("click", () => act("shrinking…", "shrink"));
  $("save").addEventListener("click", save);
  $("download").addEventListener("click", () => download("nifti"));
  $("download-seg").addEventListener("click", () => download("dicom-seg"));
  for (const tool of TOOLS) $(`tool-${tool}`).addEventListener("click", () => selectTool(tool));
  $("suggest").addEventListener("click", suggest);
  $("show-uncertainty").addEventListener("change", (event) => {
    if (ui.uncertainty) setUncertaintyVisible(main, ui.uncertainty, event.target.checked);
  });
  const keys = { n: "new-object", z: "undo", r: "reset", g: "grow", s: "shrink", 1: "tool-click",
    2: "tool-box", 3: "tool-scribble", 4: "tool-lasso", h: "suggest", u: "show-uncertainty" };
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, select, textarea") || event.ctrlKey || event.metaKey) return;
    const button = $(keys[event.key] || "");
    if (button && !button.hidden) { event.preventDefault(); button.click(); }
  });
}

async function start() {
  wireControls();
  wireLesions({ api, ui, enqueue, sessionUrl, applyState, refreshObjects, renderObjects });
  await main.attachToCanvas($("slices"));
  await mip.attachToCanvas($("mip"));
  for (const viewer of [main, mip]) {
    viewer.addColormap("invgray", INVERTED_GREY);
    viewer.addColormap("labels", labelLut());
    viewer.addColormap("uncertainty", uncertaintyLut());
    viewer.setInterpolation(true);  // nearest neighbour: labels and voxels stay crisp
  }
  main.setSliceType(SLICE_TYPE.MULTIPLANAR);
  main.setMultiplanarLayout(MULTIPLANAR_TYPE.ROW);  // whole-body scans are tall: side by side
  for (const viewer of [main, mip]) viewer.setRadiologicalConvention(true);  // patient left on the right
  mip.setSliceType(SLICE_TYPE.CORONAL);
  main.onLocationChange = syncMipCursor;
  onClick(main, $("slices"), (frac) => main.frac2vox(frac));
  attachDrawing({ viewer: main, canvas: $("slices"), layer: $("draw-layer"),
    tool: () => ui.tool, ready: () => Boolean(ui.session && main.volumes.length),
    onShape: drawShape });
  selectTool("click");
  onClick(mip, $("mip"), hottestAlongRay);
  try {
    const health = await api.json("GET", "/api/health");
    ui.capabilities = health.capabilities || {};
    $("grow").hidden = $("shrink").hidden = !ui.capabilities.grow_shrink;
  } catch (err) {
    showError(err.message);
  }
  const path = new URLSearchParams(window.location.search).get("path");
  if (path) await openPath(path);
  document.body.dataset.started = "1";
}

window.seganypetViewer = { main, mip, ui };  // for debugging from the console
start();
