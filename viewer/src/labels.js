// The label overlay: patches from the server written into niivue's image buffer, a colour
// table, and the coronal maximum projection of the labels for the MIP view.

// Distinct colours for labels 1, 2, ... (cycled); label 0 is transparent.
const PALETTE = [
  [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
  [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212],
];

export function labelColour(label) {
  return PALETTE[(label - 1) % PALETTE.length];
}

// Label v is drawn with colour-map position v * BAND of 255 (cal_min 0, cal_max 255 / BAND).
// Each label fills BAND texels of niivue's 256-entry colour texture, so the texture's linear
// filtering at a label's own texel never mixes in its neighbours (nor transparent label 0).
export const BAND = 3;
export const MAX_LABEL = Math.floor(255 / BAND);

export function labelLut() {
  const R = [0, 0], G = [0, 0], B = [0, 0], A = [0, 0], I = [0, BAND - 2];
  for (let label = 1; label <= MAX_LABEL; label++) {
    const [r, g, b] = labelColour(label);
    for (const at of [label * BAND - 1, Math.min(255, label * BAND + 1)]) {
      R.push(r); G.push(g); B.push(b); A.push(255); I.push(at);
    }
  }
  return { R, G, B, A, I };
}

async function inflate(base64) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  // "deflate" in the Compression Streams API is the zlib format Python's zlib writes.
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// Apply a patch {"box": [[i0,j0,k0],[i1,j1,k1]], "shape", "dtype", "labels"} (values in C
// order, k fastest) to img, a NIfTI-ordered buffer (i fastest) of dims [nx, ny, nz]. Other
// maps in the same box form carry their values under another key (the uncertainty: "values").
export async function applyPatch(img, dims, patch, key = "labels") {
  const raw = await inflate(patch[key]);
  const values = patch.dtype === "uint16" ? new Uint16Array(raw.buffer) : raw;
  const [[i0, j0, k0]] = patch.box;
  const [di, dj, dk] = patch.shape;
  const [nx, ny] = dims;
  let n = 0;
  for (let i = 0; i < di; i++) {
    for (let j = 0; j < dj; j++) {
      const row = (i0 + i) + (j0 + j) * nx;
      for (let k = 0; k < dk; k++) img[row + (k0 + k) * nx * ny] = values[n++];
    }
  }
}

// Maximum of img (dims [nx, ny, nz]) along `axis`, into out (the same dims with that axis 1).
export function projectMax(img, dims, axis, out) {
  const [nx, ny, nz] = dims;
  const od = dims.slice();
  od[axis] = 1;
  const keep = [axis === 0 ? 0 : 1, axis === 1 ? 0 : 1, axis === 2 ? 0 : 1];
  out.fill(0);
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const base = j * nx + k * nx * ny;
      const obase = j * keep[1] * od[0] + k * keep[2] * od[0] * od[1];
      for (let i = 0; i < nx; i++) {
        const value = img[base + i];
        const o = obase + i * keep[0];
        if (value > out[o]) out[o] = value;
      }
    }
  }
}
