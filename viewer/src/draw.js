// Drawn prompts on the slice views: a box by drag, a scribble as a freehand stroke, a lasso
// as a closed freehand polygon. A shape stays on the one slice (tile) it was started on; canvas
// positions become voxel indices through niivue's texture fractions (frac2vox), as clicks do.
// Right button or shift: negative, like clicks.

export const TOOLS = ["click", "box", "scribble", "lasso"];
export const SHAPE_ROUTES = { box: "boxes", scribble: "scribbles", lasso: "lassos" };
const MIN_DRAG_PX = 4;  // a shorter gesture draws nothing (it was a click)
const COLOURS = { positive: "#4fc3f7", negative: "#ffa726" };
// niivue's texture fraction axis that a tile of each slice type holds fixed (axial, coronal, sagittal)
const FIXED_FRAC_AXIS = [2, 1, 0];

function devicePixels(viewer, canvas, event) {
  const rect = canvas.getBoundingClientRect();
  const dpr = viewer.uiData?.dpr || window.devicePixelRatio || 1;
  return [(event.clientX - rect.left) * dpr, (event.clientY - rect.top) * dpr];
}

// The index of the 2D slice tile (axial, coronal or sagittal) under an event, or -1.
function sliceTile(viewer, canvas, event) {
  const [x, y] = devicePixels(viewer, canvas, event);
  const tile = viewer.tileIndex(x, y);
  return tile >= 0 && viewer.screenSlices[tile].axCorSag <= 2 ? tile : -1;
}

// The voxel axis a tile's slice lies across: the one that changes along its fixed frac axis.
function sliceAxis(viewer, frac, axCorSag) {
  const [near, far] = [0, 1].map((end) => {
    const moved = [...frac];
    moved[FIXED_FRAC_AXIS[axCorSag]] = end;
    return viewer.frac2vox(moved);
  });
  const spread = [0, 1, 2].map((d) => Math.abs(far[d] - near[d]));
  return spread.indexOf(Math.max(...spread));
}

function sameVoxel(a, b) {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}

// Voxel indices of a stroke's fractions, all on the start point's slice, consecutive repeats dropped.
export function strokeVoxels(viewer, fracs, axCorSag) {
  const axis = sliceAxis(viewer, fracs[0], axCorSag);
  const voxels = [];
  for (const frac of fracs) {
    const vox = Array.from(viewer.frac2vox(frac));
    vox[axis] = Array.from(viewer.frac2vox(fracs[0]))[axis];
    if (!voxels.length || !sameVoxel(vox, voxels[voxels.length - 1])) voxels.push(vox);
  }
  return voxels;
}

// The request body of a finished stroke (see the /boxes, /scribbles, /lassos routes).
export function shapeBody(kind, voxels, positive) {
  if (kind !== "box") return { points: voxels, positive, object: null };
  const last = voxels[voxels.length - 1];
  const lo = voxels[0].map((v, d) => Math.min(v, last[d]));
  const hi = voxels[0].map((v, d) => Math.max(v, last[d]));
  return { lo, hi, positive, object: null };
}

function paint(layer, stroke) {
  const dpr = window.devicePixelRatio || 1;
  const context = layer.getContext("2d");
  context.clearRect(0, 0, layer.width, layer.height);
  if (!stroke) return;
  const points = stroke.screen.map(([x, y]) => [x * dpr, y * dpr]);
  const colour = stroke.positive ? COLOURS.positive : COLOURS.negative;
  Object.assign(context, { strokeStyle: colour, fillStyle: `${colour}33`, lineWidth: 2 * dpr,
    lineJoin: "round" });
  context.setLineDash(stroke.positive ? [] : [6 * dpr, 4 * dpr]);
  context.beginPath();
  if (stroke.kind === "box") {
    const [[x0, y0], [x1, y1]] = [points[0], points[points.length - 1]];
    context.rect(x0, y0, x1 - x0, y1 - y0);
  } else {
    points.forEach(([x, y], n) => (n ? context.lineTo(x, y) : context.moveTo(x, y)));
    if (stroke.kind === "lasso") { context.closePath(); context.fill(); }
  }
  context.stroke();
}

function fitLayer(layer, canvas) {
  const dpr = window.devicePixelRatio || 1;
  const rect = canvas.getBoundingClientRect();
  Object.assign(layer.style, { left: `${canvas.offsetLeft}px`, top: `${canvas.offsetTop}px`,
    width: `${rect.width}px`, height: `${rect.height}px` });
  layer.width = Math.round(rect.width * dpr);
  layer.height = Math.round(rect.height * dpr);
}

// Draw shapes on `canvas` (niivue `viewer`'s) into the 2D `layer` above it. While tool() is not
// "click", mouse input on the canvas is the drawing's alone (the wheel still scrolls slices).
// onShape(kind, body) sends a finished shape and returns a promise; the drawing stays until it
// settles. ready() says whether a scan is loaded.
export function attachDrawing({ viewer, canvas, layer, tool, ready, onShape }) {
  let stroke = null;
  const host = canvas.parentElement;
  const drawing = (event) => tool() !== "click" && event.target === canvas;
  const position = (event) => {
    const rect = canvas.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  };
  const fracAt = (event) => {
    const [x, y] = devicePixels(viewer, canvas, event);
    const frac = viewer.screenXY2TextureFrac(x, y, stroke.tile);
    return frac[0] >= 0 ? Array.from(frac) : null;
  };
  for (const type of ["mousedown", "mousemove", "mouseup", "dblclick"]) {
    host.addEventListener(type, (event) => { if (drawing(event)) event.stopPropagation(); },
      { capture: true });
  }
  host.addEventListener("pointerdown", (event) => {
    if (!drawing(event)) return;
    event.stopPropagation();
    event.preventDefault();
    const tile = ready() ? sliceTile(viewer, canvas, event) : -1;
    if (tile < 0 || stroke) return;
    stroke = { kind: tool(), tile, axCorSag: viewer.screenSlices[tile].axCorSag, fracs: [],
      screen: [position(event)], positive: !(event.button === 2 || event.shiftKey), moved: 0 };
    stroke.fracs.push(fracAt(event));
    canvas.setPointerCapture(event.pointerId);
    fitLayer(layer, canvas);
    paint(layer, stroke);
  }, { capture: true });
  host.addEventListener("pointermove", (event) => {
    if (!drawing(event) || !stroke || stroke.done) return;
    event.stopPropagation();
    const frac = fracAt(event);
    if (!frac) return;  // outside the tile the shape started on
    const at = position(event);
    stroke.moved = Math.max(stroke.moved, Math.hypot(at[0] - stroke.screen[0][0],
      at[1] - stroke.screen[0][1]));
    if (stroke.kind === "box" && stroke.fracs.length > 1) {
      stroke.fracs[1] = frac;
      stroke.screen[1] = at;
    } else {
      stroke.fracs.push(frac);
      stroke.screen.push(at);
    }
    paint(layer, stroke);
  }, { capture: true });
  host.addEventListener("pointerup", (event) => {
    if (!drawing(event) || !stroke || stroke.done) return;
    event.stopPropagation();
    const finished = stroke;
    finished.done = true;
    if (finished.moved < MIN_DRAG_PX || !finished.fracs[0]) {
      stroke = null;
      paint(layer, null);
      return;
    }
    const voxels = strokeVoxels(viewer, finished.fracs, finished.axCorSag);
    onShape(finished.kind, shapeBody(finished.kind, voxels, finished.positive)).finally(() => {
      stroke = null;
      paint(layer, null);
    });
  }, { capture: true });
}
