"""The viewer in a real headless Chromium (Debian's, through playwright): open a phantom by
``/?path=``, click an organ, see the object in the API and as overlay pixels, then a negative
click, undo, save and download; then a box, a scribble and a negative (shift) stroke drawn
by mouse on the coronal slice, and Suggest moving the cursor, with no console errors. Skips
when chromium, playwright or the built viewer (``npm ci && npm run build`` in viewer/) is
absent; CI installs all three."""

from __future__ import annotations

import json
import os
import shutil
import time

import httpx
import nibabel as nib
import numpy as np
import pytest

from seganypet.server.app import STATIC_DIR

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync",
         # niivue needs WebGL2: software rendering, as on any machine without a GPU
         "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]

pytestmark = [
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="Debian chromium is not installed"),
    pytest.mark.skipif(not (STATIC_DIR / "viewer.js").is_file(),
                       reason="viewer not built (npm ci && npm run build in viewer/)"),
]


@pytest.fixture(scope="module")
def browser_page(live_server, tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")), executable_path=CHROMIUM, headless=True,
            args=FLAGS, viewport={"width": 1400, "height": 800}, accept_downloads=True)
        page = context.new_page()
        page.messages = []  # console errors and uncaught exceptions, checked at the end
        page.on("console", lambda m: m.type == "error" and page.messages.append(m.text))
        page.on("pageerror", lambda exc: page.messages.append(f"uncaught: {exc}"))
        yield page
        context.close()


def wait_idle(page) -> None:
    page.wait_for_function("document.body.dataset.busy === '0'", timeout=60_000)


def canvas_point(page, vox: list[int], slice_type: int = 1) -> tuple[float, float]:
    """CSS pixel of voxel ``vox`` in the main canvas's tile of ``slice_type`` (1 = coronal)."""
    return tuple(page.evaluate("""([vox, type]) => {
        const nv = window.seganypetViewer.main;
        const hit = nv.frac2canvasPosWithTile(nv.vox2frac(vox), type);
        const rect = nv.canvas.getBoundingClientRect();
        const dpr = nv.uiData.dpr || window.devicePixelRatio;
        return [rect.left + hit.pos[0] / dpr, rect.top + hit.pos[1] / dpr];
    }""", [vox, slice_type]))


def mip_point(page, vox: list[int]) -> tuple[float, float]:
    """CSS pixel of voxel ``vox``'s projection in the MIP canvas."""
    return tuple(page.evaluate("""(vox) => {
        const { main, mip } = window.seganypetViewer;
        const mm = main.frac2mm(main.vox2frac(vox));
        const frac = mip.mm2frac([mm[0], mm[1], mm[2]]);
        frac[1] = 0.5;
        const pos = mip.frac2canvasPos(frac);
        const rect = mip.canvas.getBoundingClientRect();
        const dpr = mip.uiData.dpr || window.devicePixelRatio;
        return [rect.left + pos[0] / dpr, rect.top + pos[1] / dpr];
    }""", vox))


def overlay_pixels(png: bytes) -> int:
    """Pixels of the screenshot tinted by the first label's red (230, 25, 75)."""
    from io import BytesIO

    from PIL import Image

    rgb = np.asarray(Image.open(BytesIO(png)).convert("RGB")).astype(int)
    return int(((rgb[..., 0] - rgb[..., 1] > 60) & (rgb[..., 0] - rgb[..., 2] > 30)).sum())


def session_state(live_server: str, sid: str) -> dict:
    return httpx.get(f"{live_server}/api/sessions/{sid}").json()


def open_viewer(page, live_server: str) -> str:
    """Open the phantom in the viewer by ``/?path=`` and wait until it is ready; its session id."""
    page.goto(f"{live_server}/?path=case_SUV.nii.gz")
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)
    wait_idle(page)
    return page.evaluate("document.body.dataset.session")


def test_viewer_click_negative_undo_save(browser_page, live_server, live_work, scan_root,
                                         liver_click, lesion_click, tmp_path) -> None:
    page = browser_page
    sid = open_viewer(page, live_server)
    liver = [round(v) for v in liver_click]
    # scroll every view to the liver (what a user does with the wheel), then click it
    page.evaluate("""(vox) => { const nv = window.seganypetViewer.main;
        nv.scene.crosshairPos = nv.vox2frac(vox); nv.drawScene(); }""", liver)
    before = overlay_pixels(page.screenshot())
    page.mouse.click(*canvas_point(page, liver))
    wait_idle(page)
    first = session_state(live_server, sid)["objects"][0]
    assert first["voxels"] > 0 and first["stats"]["suv_max"] > 0
    time.sleep(0.3)  # one animation frame for WebGL
    shot = page.screenshot()
    assert overlay_pixels(shot) > before + 50, "the mask is not drawn over the views"
    (tmp_path / "viewer.png").write_bytes(shot)
    row = page.locator("#objects tbody tr").first.inner_text()
    assert f"{first['stats']['suv_max']:.2f}" in row and f"{first['stats']['volume_ml']:.2f}" in row

    # a negative (right) click on a voxel of the mask, away from the first click
    (i0, _, _), (i1, _, _) = first["bbox"]
    edge = [i0 + (i1 - i0) // 4, liver[1], liver[2]]
    page.mouse.click(*canvas_point(page, edge), button="right")
    wait_idle(page)
    negative = session_state(live_server, sid)["objects"][0]
    assert negative["voxels"] != first["voxels"]
    log = [json.loads(line) for line in (live_work / sid / "annotation.jsonl").open()]
    assert [e["positive"] for e in log if e["event"] == "click"] == [True, False]

    page.keyboard.press("z")  # undo
    wait_idle(page)
    assert session_state(live_server, sid)["objects"][0]["voxels"] == first["voxels"]

    # a second object from a click on the coronal MIP (the hottest voxel along the ray)
    page.keyboard.press("n")
    wait_idle(page)
    page.mouse.click(*mip_point(page, [round(v) for v in lesion_click]))
    wait_idle(page)
    objects = session_state(live_server, sid)["objects"]
    assert len(objects) == 2 and page.locator("#objects tbody tr").count() == 2
    click = [json.loads(line) for line in (live_work / sid / "annotation.jsonl").open()][-1]
    assert click["event"] == "click" and click["object"] == 2
    i, j, k = (int(v) for v in click["index"])
    suv = np.asarray(nib.load(scan_root / "case_SUV.nii.gz").dataobj)
    assert abs(i - lesion_click[0]) <= 1 and abs(k - lesion_click[2]) <= 1
    assert j == int(np.argmax(suv[i, :, k])), "a MIP click goes to the hottest voxel on its ray"

    page.click("#save")
    wait_idle(page)
    assert "saved" in page.locator("#status-text").inner_text()
    with page.expect_download() as download:
        page.click("#download")
    path = tmp_path / "download.nii.gz"
    download.value.save_as(path)
    labels = np.asarray(nib.load(path).dataobj)
    assert int((labels == 1).sum()) == first["voxels"]
    assert int((labels == 2).sum()) == objects[1]["voxels"]
    assert page.locator("#error").is_hidden()
    assert page.messages == []



def drag(page, points: list[tuple[float, float]], shift: bool = False) -> None:
    """Press the left button at the first point, move through the others, release."""
    if shift:
        page.keyboard.down("Shift")
    page.mouse.move(*points[0])
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*point, steps=4)
    page.mouse.up()
    if shift:
        page.keyboard.up("Shift")


def last_event(live_work, sid: str) -> dict:
    return [json.loads(line) for line in (live_work / sid / "annotation.jsonl").open()][-1]


def test_viewer_draws_a_box_and_scribbles_and_follows_a_suggestion(
        browser_page, live_server, live_work, liver_click, truth) -> None:
    from seganypet.data.organs import ORGAN_IDS

    page = browser_page
    page.goto(f"{live_server}/?path=case_SUV.nii.gz")
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)
    wait_idle(page)
    sid = page.evaluate("document.body.dataset.session")
    liver = [round(v) for v in liver_click]
    j = liver[1]
    page.evaluate("""(vox) => { const nv = window.seganypetViewer.main;
        nv.scene.crosshairPos = nv.vox2frac(vox); nv.drawScene(); }""", liver)
    before = overlay_pixels(page.screenshot())

    # a box dragged around the liver's section on the coronal slice j
    section = np.argwhere(truth[:, j, :] == ORGAN_IDS["liver"])
    (i0, k0), (i1, k1) = section.min(axis=0) - 1, section.max(axis=0) + 1
    page.keyboard.press("2")
    drag(page, [canvas_point(page, [int(i0), j, int(k1)]),
                canvas_point(page, [int(i1), j, int(k0)])])
    wait_idle(page)
    box = last_event(live_work, sid)
    assert box["event"] == "box" and box["positive"] is True
    (lo, hi) = box["points"]
    assert lo[1] == hi[1] == j, "a box drawn on the coronal view is a 2D box on that slice"
    assert np.abs(np.subtract([lo[0], lo[2], hi[0], hi[2]], [i0, k0, i1, k1])).max() <= 1
    state = session_state(live_server, sid)["objects"][0]
    assert state["voxels"] > 0 and state["voxels"] == box["voxels"]
    time.sleep(0.3)
    assert overlay_pixels(page.screenshot()) > before + 50, "the box's mask is not drawn"

    # undo, then a freehand stroke inside the liver on the same slice
    page.keyboard.press("z")
    wait_idle(page)
    assert session_state(live_server, sid)["objects"][0]["voxels"] == 0
    inside = truth[:, j, liver[2]] == ORGAN_IDS["liver"]
    a = b = liver[0]  # the run of liver voxels through the liver's centre along i
    while inside[a - 1]:
        a -= 1
    while inside[b + 1]:
        b += 1
    stroke = [[int(i), j, liver[2]] for i in np.linspace(a + 1, b - 1, 5).round()]
    assert b - a >= 4 and all(truth[tuple(p)] == ORGAN_IDS["liver"] for p in stroke)
    page.keyboard.press("3")
    drag(page, [canvas_point(page, p) for p in stroke])
    wait_idle(page)
    scribble = last_event(live_work, sid)
    assert scribble["event"] == "scribble" and len(scribble["points"]) >= 3
    assert {p[1] for p in scribble["points"]} == {j}, "the stroke stays on its slice"
    first = session_state(live_server, sid)["objects"][0]
    assert first["voxels"] > 0
    time.sleep(0.3)
    assert overlay_pixels(page.screenshot()) > before + 50, "the scribble's mask is not drawn"

    # shift-drawing is negative, like shift-clicking
    drag(page, [canvas_point(page, [b - 1, j, liver[2] - 2]),
                canvas_point(page, [b - 1, j, liver[2] + 2])], shift=True)
    wait_idle(page)
    assert last_event(live_work, sid)["positive"] is False

    # Suggest: the cursor goes to the suggested voxel, the hint names the click's sign
    page.click("#suggest")
    wait_idle(page)
    hint = last_event(live_work, sid)
    assert hint["event"] == "suggest"
    cursor = page.evaluate("""() => { const nv = window.seganypetViewer.main;
        return Array.from(nv.frac2vox(nv.scene.crosshairPos)); }""")
    assert cursor == hint["index"]
    text = page.locator("#hint").inner_text()
    assert ("positive" if hint["positive"] else "negative") in text
    assert page.locator("#show-uncertainty").is_checked()
    assert page.evaluate("window.seganypetViewer.ui.uncertainty.hasMap") is True
    assert page.locator("#error").is_hidden()
    assert page.messages == []


def test_viewer_finds_lesions_and_lists_them(browser_page, live_server) -> None:
    """"Find lesions" (a fixed SUV keeps it short): the lesions become the rows of the objects
    table, with their count and TMTV; "Similar" is offered on the selected lesion."""
    page = browser_page
    sid = open_viewer(page, live_server)
    page.fill("#lesion-threshold", "5")
    page.click("#find-lesions")
    page.wait_for_selector("#lesion-totals:not([hidden])", timeout=300_000)
    wait_idle(page)
    objects = session_state(live_server, sid)["objects"]
    rows = page.locator("#objects tbody tr")
    assert objects and rows.count() == len(objects)
    assert "lesion_1" in rows.first.inner_text()
    totals = page.locator("#lesion-totals").inner_text()
    assert f"{len(objects)} lesion" in totals and "TMTV" in totals and "(fixed)" in totals
    assert page.locator("#similar").is_enabled() and page.locator("#new-object").is_disabled()
    assert page.locator("#error").is_hidden()
    assert page.messages == []
