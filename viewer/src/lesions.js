// Lesion mode in the viewer: "Find lesions" (threshold auto or an SUV) makes every lesion of
// the scan an object of the table; clicks then correct it (the server's lesion rules: right
// click in a lesion removes it, left click outside adds or grows one); "Similar" adds the hot
// spots of uptake like the selected lesion's; the totals (count, TMTV, total TLG) stay live.

const $ = (id) => document.getElementById(id);
const MANUAL_ONLY = "#new-object, #reset, #suggest, #tools button:not(#tool-click)";

// Whether the open session is in lesion mode (ui.lesions is set per session id).
export function inLesionMode(ui) {
  return Boolean(ui.lesions && ui.session && ui.lesions.session === ui.session.id);
}

// The request body of "Find lesions" from the threshold field: "auto" or a positive SUV.
function lesionRequest(text, replace) {
  const value = text.trim().toLowerCase();
  if (value === "" || value === "auto") return { threshold: "auto", replace };
  const suv = Number(value);
  if (!Number.isFinite(suv) || suv <= 0) {
    throw new Error(`threshold ${JSON.stringify(text)} is neither "auto" nor an SUV > 0`);
  }
  return { threshold: suv, replace };
}

// Count, TMTV and total TLG of the lesions in the table (removed lesions have no stats).
export function showLesionTotals(ui) {
  const line = $("lesion-totals");
  const on = inLesionMode(ui);
  line.hidden = !on;
  $("similar").disabled = !on;
  // what lesion mode answers with a 409: new objects, reset, drawn shapes, suggestions
  for (const button of document.querySelectorAll(MANUAL_ONLY)) button.disabled = on;
  if (!on) return;
  const found = ui.objects.filter((o) => o.stats);
  const tmtv = found.reduce((sum, o) => sum + o.stats.volume_ml, 0);
  const tlg = found.reduce((sum, o) => sum + o.stats.tlg, 0);
  const { threshold_suv: suv, threshold_source: source } = ui.lesions.run || {};
  const cut = suv === undefined ? "" : ` · SUV ≥ ${suv.toFixed(2)} (${source})`;
  line.textContent = `${found.length} lesion${found.length === 1 ? "" : "s"} · TMTV `
    + `${tmtv.toFixed(2)} ml · total TLG ${tlg.toFixed(1)}${cut}`;
}

// Show the seconds a long request has run in the status line; returns the stop function.
function ticking(text) {
  const start = Date.now();
  const timer = setInterval(() => {
    $("status-text").textContent = `${text} ${Math.round((Date.now() - start) / 1000)} s`;
  }, 1000);
  return () => clearInterval(timer);
}

// Wire the lesion controls. `viewer` holds main.js's api, ui, enqueue, sessionUrl, applyState,
// refreshObjects and renderObjects.
export function wireLesions(viewer) {
  const { api, ui, enqueue, sessionUrl, applyState, refreshObjects, renderObjects } = viewer;

  async function findLesions() {
    if (!ui.session) return;
    const drawn = ui.objects.filter((o) => o.voxels).length;
    if (drawn && !window.confirm(`Replace the ${drawn} object(s) by lesion mode's answer?`)) return;
    const text = "finding lesions: liver, hot spots, one model prompt per spot…";
    await enqueue(text, async () => {
      const body = lesionRequest($("lesion-threshold").value, drawn > 0);
      const stop = ticking(text);
      try {
        const state = await api.json("POST", sessionUrl("lesions"), body);
        ui.lesions = { session: ui.session.id, run: state.lesions };
        await applyState(state);
        await refreshObjects();
      } finally {
        stop();
      }
    });
  }

  async function similar() {
    if (!inLesionMode(ui)) return;
    let added = [];
    await enqueue(`segment all similar to lesion ${ui.current}…`, async () => {
      const state = await api.json("POST", sessionUrl("lesions/similar"), { object: ui.current });
      added = state.added;
      await applyState(state);
      await refreshObjects();
    });
    $("status-text").textContent = `${added.length} similar lesion(s) proposed`;
  }

  $("find-lesions").addEventListener("click", findLesions);
  $("similar").addEventListener("click", similar);
  // In lesion mode a row of the table selects the lesion "Similar" starts from.
  $("objects").querySelector("tbody").addEventListener("click", (event) => {
    const row = event.target.closest("tr");
    if (!row || !inLesionMode(ui)) return;
    ui.current = Number(row.dataset.label);
    renderObjects();
  });
}
