// The model's uncertainty map (from GET /suggest) as a shaded overlay of the slice views: a
// zeroed copy of the scan's grid whose values 0..255 (the map's uint8 levels, 255 = 1 bit)
// go through a transparent-to-yellow colour map.
import { applyPatch } from "./labels.js";

export const UNCERTAINTY_OPACITY = 0.5;

// Transparent up to ~0.1 bit (a patch the model is sure about stays clear), then orange to
// bright yellow as the entropy rises to 1 bit (a coin flip).
export function uncertaintyLut() {
  return { R: [255, 255, 255, 255], G: [120, 120, 190, 255], B: [0, 0, 0, 140],
    A: [0, 0, 170, 255], I: [0, 25, 128, 255] };
}

// A zeroed overlay on the grid of viewer's scan, added on top of its other volumes.
export function addUncertaintyLayer(viewer) {
  const layer = viewer.volumes[0].clone();
  layer.zeroImage();
  Object.assign(layer, { colormap: "uncertainty", cal_min: 0, cal_max: 255, opacity: 0 });
  viewer.addVolume(layer);
  return layer;
}

// Write a suggestion's map ({"box", "shape", "dtype", "values"} or null) into layer.
export async function showUncertainty(viewer, layer, map) {
  layer.img.fill(0);
  if (map) await applyPatch(layer.img, layer.hdr.dims.slice(1, 4), map, "values");
  layer.hasMap = Boolean(map);
  setUncertaintyVisible(viewer, layer, true);
}

export function setUncertaintyVisible(viewer, layer, visible) {
  Object.assign(layer, { colormap: "uncertainty", cal_min: 0, cal_max: 255,
    opacity: visible ? UNCERTAINTY_OPACITY : 0 });
  viewer.updateGLVolume();
}

// Forget a map that no longer matches the mask (after any edit).
export function clearUncertainty(viewer, layer) {
  if (!layer || !layer.hasMap) return;
  layer.img.fill(0);
  layer.hasMap = false;
  viewer.updateGLVolume();
}
