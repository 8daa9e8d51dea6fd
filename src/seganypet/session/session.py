"""The interactive session: clicks in, a mask on the scan's own grid out.

Typical use::

    session = Session(load_model("default"))
    session.set_image(read_pet("suv.nii.gz"))
    session.add_point((120, 98, 301))              # voxel (i, j, k) of the array
    session.add_point((118, 90, 305), positive=False)
    session.mask                                  # Volume, uint8, same affine as the scan
    session.undo()

How a click becomes a mask (SegAnyPET's pipeline, without needing ground truth):
the first click of an object fixes a world-aligned patch centred on it at the model's
spacing; the patch is encoded once (cached per patch); every click of the object inside a
patch goes to the decoder with that patch's previous low-res logits as the mask prompt.
When the mask reaches a patch border inside the scan, the neighbouring patch (50 % overlap)
is added, prompted by the overlapping part of the mask, until the object is closed or
``max_tiles`` is reached; overlapping logits are merged with Gaussian weights and pasted
onto the scan's grid by one trilinear interpolation. A corrective click after the first
changes the shown mask only near the click (:mod:`seganypet.session.local_edit`).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seganypet.click import Click
from seganypet.errors import InputError
from seganypet.mask_centre import distance_center
from seganypet.model.precision import resolve_precision
from seganypet.postprocess import keep_components_with_seeds, paste_mask
from seganypet.preprocess import patch_grid_around
from seganypet.session.blas import SingleThreadBlas
from seganypet.session.candidates import (
    CandidateInfo,
    build_candidate_set,
    choose_shown,
    rank_candidates,
    shown_image_mask,
    shown_logits,
    step_to,
)
from seganypet.session.decoding import TileDecoder
from seganypet.session.local_edit import edit_near_click, prompt_after_edit
from seganypet.session.quality import mask_quality
from seganypet.session.ranking import CandidateRanker, load_ranker, ranker_path_for
from seganypet.session.safety_net import BoxMask, boundary_step
from seganypet.session.shapes import add_shape, constrain_mask
from seganypet.session.state import ObjectSnapshot, ObjectState, TileKey, TileState
from seganypet.session.territory_rule import apply_territory_rules
from seganypet.session.tiling import faces_to_extend, inside_volume_mask, tile_grid, touches_border
from seganypet.session.uncertainty import Suggestion, suggest
from seganypet.shape import Shape
from seganypet.volume import Volume

__all__ = ["Session"]

log = logging.getLogger(__name__)


class Session:
    """Interactive promptable segmentation of one scan, one or more objects.

    Args:
        model: a SegAnyPET model (``seganypet.load_model(...)``).
        device: torch device for the model.
        multimask: on an object's first click, ask for the model's candidate masks and pick
            the one with the best predicted IoU (switch with :meth:`select_candidate`).
            ``None`` = on for our presets, off for ``sam-med3d`` (its candidate tokens were
            never trained upstream).
        max_tiles: size limit of the sliding-window extension (patches per object).
        keep_clicked_components: drop mask components that contain no positive click.
        precision: ``"fp32"``, ``"bf16"`` (CPU autocast for the encoder) or ``"auto"``
            (bf16 for our presets where the device has fast bf16 kernels, else fp32; always
            fp32 for ``sam-med3d`` to match upstream numbers).
        safety_net: with multimask, add the image's isocontour candidates to the model's and
            show one of them where its edge is clearly sharper; on a point click beside a
            hotter neighbour, show the clicked structure's own isocontour instead of a mask
            that swallowed the neighbour (:mod:`seganypet.session.candidates`, rules 1-4).
        plateau_snap: with the safety net, rule 5: a model mask that stopped on the plateau
            inside a homogeneous organ beside a hotter neighbour (the liver beside the heart
            and a kidney) gives way to the organ's own isocontour inside its territory.
            Phantom livers 0.38-0.46 -> 0.85 at one click, lesions unchanged; ~0.07 s more on
            such a first click (:mod:`seganypet.session.territory_rule`). False: rules 1-4 only.
        local_edit: a corrective point click (any click after the object's first) changes the
            shown mask only near the click, where the model's new mask changed it, within a
            reach set by the size of the error the click marks; the model's changes elsewhere
            are dropped (:mod:`seganypet.session.local_edit`). False: the model's new mask.
        ranker: which first-click candidate is shown, with its score: ``"auto"`` = the
            calibrated ranker fitted for the model's weights when one lies beside them
            (``<weights>.ranker.json``; none ships with ``default``), else the boundary-step
            rule;
            a ranker or its JSON path; None = the rule (:mod:`seganypet.session.ranking`).
    """

    def __init__(self, model: torch.nn.Module, device: str | torch.device = "cpu", *,
                 multimask: bool | None = None, max_tiles: int = 32,
                 keep_clicked_components: bool = True, precision: str = "auto",
                 cache_size: int = 32, safety_net: bool = True, plateau_snap: bool = True,
                 local_edit: bool = True,
                 ranker: CandidateRanker | str | Path | None = "auto") -> None:
        config = model.config
        if multimask is None:
            multimask = not config.upstream_quirks and config.num_multimask_outputs > 1
        precision = resolve_precision(precision, device, allowed=not config.upstream_quirks)
        self._decoder = TileDecoder(model, torch.device(device), precision=precision)
        self.multimask = bool(multimask)
        self.safety_net = bool(safety_net)
        self.plateau_snap = bool(plateau_snap)
        self.local_edit = bool(local_edit)
        self.ranker = _resolve_ranker(model, ranker)
        self.max_tiles = int(max_tiles)
        self.keep_clicked_components = keep_clicked_components
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._cache_size = cache_size
        self._single_thread_blas = SingleThreadBlas()  # why: seganypet.session.blas
        self._volume: Volume | None = None
        self._objects: list[ObjectState] = []
        self._active = 0  # index of the object that clicks edit (select_object)
        # (object position, its state before the interaction; None = undo of new_object)
        self._history: list[tuple[int, ObjectSnapshot | None]] = []

    # ------------------------------------------------------------------ image and objects
    def set_image(self, volume: Volume) -> None:
        """Start on a new scan (all objects and the embedding cache are cleared)."""
        if not isinstance(volume, Volume):
            raise InputError("set_image expects a seganypet Volume (see seganypet.read_pet)")
        if not np.all(np.isfinite(volume.array)):
            raise InputError("the image contains NaN or infinite values")
        self._volume = volume
        self._cache.clear()
        self._objects = [ObjectState(name="object_1")]
        self._active = 0
        self._history = []

    def new_object(self, name: str | None = None) -> int:
        """Start a new object; returns its label value (1, 2, ...). Earlier objects are kept."""
        self._require_image()
        label = len(self._objects) + 1
        self._history.append((len(self._objects), None))
        self._objects.append(ObjectState(name=name or f"object_{label}"))
        self._active = label - 1
        return label

    @property
    def current(self) -> ObjectState:
        self._require_image()
        return self._objects[self._active]

    @property
    def active_label(self) -> int:
        """Label value (1, 2, ...) of the object that clicks, shapes, undo points and reset edit."""
        self._require_image()
        return self._active + 1

    def select_object(self, label: int) -> None:
        """Let the next interactions edit object ``label`` (an earlier one, say).

        Only the focus moves: no mask changes, so this is no undo step; ``undo`` gives the focus
        to the object whose interaction it undoes. Labels keep their layering in
        :attr:`label_map` (an earlier object keeps its voxels where objects overlap).
        """
        self._require_image()
        if isinstance(label, bool) or not isinstance(label, (int, np.integer)):
            raise InputError(f"an object label is an integer, got {label!r}")
        if not 1 <= int(label) <= len(self._objects):
            raise InputError(f"no object {label}: this session has objects 1..{len(self._objects)}")
        self._active = int(label) - 1

    def rename(self, name: str) -> None:
        """Rename the current object (its label sidecar name); not an undoable interaction."""
        self.current.name = str(name)

    @property
    def clicks(self) -> list[Click]:
        """Every click of every object, in order, as voxel indices tagged with the object name."""
        self._require_image()
        return [Click(c.index, c.positive, None, obj.name) for obj in self._objects
                for c in obj.clicks]

    # ------------------------------------------------------------------ prompts
    def add_point(self, index: tuple[float, float, float] | np.ndarray,
                  positive: bool = True) -> Volume:
        """Add a click at voxel ``(i, j, k)`` of the image array; returns the updated mask."""
        volume = self._require_image()
        idx = np.asarray(index, dtype=np.float64).reshape(-1)
        if idx.shape != (3,) or not np.all(np.isfinite(idx)):
            raise InputError(f"a click needs three finite voxel indices (i, j, k), got {index!r}")
        if np.any(idx < -0.5) or np.any(idx > np.asarray(volume.shape) - 0.5):
            raise InputError(
                f"click {tuple(idx.tolist())} is outside the image (shape {volume.shape}); "
                "clicks are voxel indices (i, j, k) of the array, or use world mm with --world"
            )
        self._push_undo()
        obj = self.current
        shown_before = obj.mask
        obj.clicks.append(Click(tuple(float(v) for v in idx), bool(positive)))
        self._update(obj, new_click=obj.clicks[-1])
        if self.local_edit and shown_before is not None and len(obj.clicks) > 1 and not obj.shapes:
            self._edit_near_click(obj, shown_before, obj.clicks[-1])
        return self.mask

    def add_point_world(self, world_mm: tuple[float, float, float] | np.ndarray,
                        positive: bool = True) -> Volume:
        """Add a click at RAS millimetres (converted once to a voxel index of the image)."""
        return self.add_click(Click.at_world(world_mm, positive))

    def add_click(self, click: Click) -> Volume:
        """Add a :class:`~seganypet.click.Click` (voxel index or world mm); returns the mask."""
        return self.add_point(click.on_grid(self._require_image().grid).point, click.positive)

    def add_shape(self, shape: Shape) -> Volume:
        """Add a box, scribble or lasso (:class:`~seganypet.shape.Shape`, voxel or world);
        one undo step. How it becomes a prompt: :mod:`seganypet.session.shapes`."""
        return add_shape(self, shape)

    def add_box(self, lo: Any, hi: Any, positive: bool = True, world: bool = False) -> Volume:
        """A 3D box ``lo..hi`` (voxel indices, inclusive), or a 2D box when they share one
        coordinate; ``world=True``: RAS mm corners."""
        return self.add_shape(Shape.box(lo, hi, positive, world))

    def add_scribble(self, points: Any, positive: bool = True, world: bool = False) -> Volume:
        """An ``(N, 3)`` polyline on a slice or through the volume."""
        return self.add_shape(Shape.scribble(points, positive, world))

    def add_lasso(self, points: Any, positive: bool = True, world: bool = False) -> Volume:
        """A closed ``(N, 3)`` polygon on one slice, filled."""
        return self.add_shape(Shape.lasso(points, positive, world))

    def suggest(self) -> Suggestion:
        """Where the model is least sure about the current object: the suggested next click
        (voxel, positive or negative) and the cross-prompt uncertainty map
        (:mod:`seganypet.session.uncertainty`). Costs a few decoder calls, no state change."""
        with self._single_thread_blas():
            return suggest(self)

    def add_mask(self, mask: Volume | np.ndarray) -> Volume:
        """Use an initial segmentation (on the image grid) as the prompt of the current object."""
        volume = self._require_image()
        array = mask.array if isinstance(mask, Volume) else np.asarray(mask)
        if isinstance(mask, Volume) and not mask.same_grid(volume):
            raise InputError("the prompt mask is not on the image grid (shape/affine differ)")
        if array.shape != volume.shape:
            raise InputError(f"prompt mask shape {array.shape} != image shape {volume.shape}")
        if not array.any():
            raise InputError("the prompt mask is empty")
        self._push_undo()
        obj = self.current
        obj.prompt_mask = array > 0
        # The deepest voxel (not the centre of mass, which can fall outside a concave mask)
        # anchors the patch and acts as the positive point of a mask-only prompt.
        obj.prompt_anchor = distance_center(obj.prompt_mask, volume.spacing)
        obj.tiles = {}
        self._update(obj, new_click=None)
        return self.mask

    def undo(self) -> None:
        """Restore the state before the last interaction (bit-for-bit)."""
        if not self._history:
            raise InputError("nothing to undo")
        position, snapshot = self._history.pop()
        if snapshot is None:  # undo of new_object
            del self._objects[position:]
            self._active = min(self._active, len(self._objects) - 1)
        else:
            self._objects[position] = snapshot.restore()
            self._active = position  # the undone edit's object has the focus again

    def reset(self) -> None:
        """Clear the current object's prompts and mask (undoable)."""
        self._push_undo()
        self._objects[self._active] = ObjectState(name=self.current.name)

    # ------------------------------------------------------------------ candidates
    @property
    def candidate_ious(self) -> list[float]:
        """Predicted IoU of each first-click candidate mask (empty when none were made)."""
        tile = self.current.tiles.get((0, 0, 0))
        if tile is None or tile.candidate_iou is None:
            return []
        return [float(v) for v in tile.candidate_iou]

    @property
    def candidates(self) -> list[CandidateInfo]:
        """Every first-click candidate of the current object (model masks, then isocontours):
        volume_ml, score, source; empty once a further prompt refined the object."""
        tile = self.current.tiles.get((0, 0, 0))
        if tile is None or tile.candidate_set is None:
            return []
        return list(tile.candidate_set.infos)

    @property
    def candidate(self) -> int | None:
        """Index (in :attr:`candidates`) of the candidate shown, or None when there are none."""
        return self.current.chosen_candidate if self.candidates else None

    @property
    def score(self) -> float | None:
        """Quality score in [0, 1] of the mask shown (expected Dice,
        :func:`seganypet.session.quality.mask_quality`); None for an empty mask."""
        volume = self._require_image()
        if self.candidates:
            return self.candidates[self.current.chosen_candidate].score
        mask = self.current.mask
        if mask is None or not mask.any():
            return None
        return mask_quality(boundary_step(volume, BoxMask.cropped(mask > 0)))

    def select_candidate(self, k: int) -> Volume:
        """Switch the current object to first-click candidate ``k`` (re-runs the extension)."""
        count = len(self.candidates) or len(self.candidate_ious)
        # Checked before the undo step is pushed: a refused index leaves the state untouched.
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise InputError(f"candidate index must be an integer, got {k!r}")
        k = int(k)
        if not 0 <= k < count:
            raise InputError(f"candidate {k} does not exist; there are {count}")
        self._push_undo()
        obj = self.current
        primary = obj.tiles[(0, 0, 0)]
        obj.chosen_candidate = k
        obj.tiles = {(0, 0, 0): primary}
        with self._single_thread_blas():
            primary.logits = shown_logits(self._require_image(), primary.grid,
                                          primary.candidate_set, primary.candidates, k)  # type: ignore[arg-type]
            self._extend(obj, queue=[(0, 0, 0)], decoded={(0, 0, 0)})
            self._finish(obj)
        return self.mask

    def grow(self) -> Volume:
        """Show the first-click candidate with the next larger volume (undoable)."""
        tile = self.current.tiles.get((0, 0, 0))
        sets = tile.candidate_set if tile is not None else None
        return self.select_candidate(step_to(sets, self.current.chosen_candidate, larger=True))

    def shrink(self) -> Volume:
        """Show the first-click candidate with the next smaller volume (undoable)."""
        tile = self.current.tiles.get((0, 0, 0))
        sets = tile.candidate_set if tile is not None else None
        return self.select_candidate(step_to(sets, self.current.chosen_candidate, larger=False))

    # ------------------------------------------------------------------ results
    @property
    def mask(self) -> Volume:
        """The current object's mask, uint8 0/1 on the image grid."""
        volume = self._require_image()
        array = self.current.mask
        if array is None:
            array = np.zeros(volume.shape, np.uint8)
        return volume.with_array(array, unit="mask")

    @property
    def label_map(self) -> Volume:
        """All objects as labels 1..n; a later object never overwrites an earlier one."""
        volume = self._require_image()
        dtype = np.uint8 if len(self._objects) < 256 else np.uint16
        labels = np.zeros(volume.shape, dtype)
        for value, obj in enumerate(self._objects, start=1):
            if obj.mask is not None:
                labels[(obj.mask > 0) & (labels == 0)] = value
        return volume.with_array(labels, unit="label")

    @property
    def label_names(self) -> dict[int, str]:
        self._require_image()
        return {value: obj.name for value, obj in enumerate(self._objects, start=1)}

    # ------------------------------------------------------------------ internals
    def _require_image(self) -> Volume:
        if self._volume is None:
            raise InputError("no image: call set_image(volume) first")
        return self._volume

    def _push_undo(self) -> None:
        position = self._active
        self._history.append((position, self._objects[position].snapshot()))

    def _anchor(self, obj: ObjectState) -> None:
        """Create the object's first patch, centred on its first click or its prompt mask."""
        volume = self._require_image()
        if obj.clicks:
            centre = obj.clicks[0].point
        else:
            centre = np.asarray(obj.prompt_anchor, np.float64)
        cfg = self._decoder.config
        grid = patch_grid_around(volume, centre, cfg.image_size, float(cfg.spacing_mm[0]))
        obj.tiles = {(0, 0, 0): TileState(grid)}

    def _tile_key_for(self, obj: ObjectState, click: Click) -> TileKey:
        """The lattice patch whose centre is nearest to a click (added if missing)."""
        anchor = obj.tiles[(0, 0, 0)].grid
        local = self._require_image().grid.index_in(anchor, click.point)
        step = anchor.size // 2
        key = tuple(int(v) for v in np.rint((local - (anchor.size - 1) / 2) / step))
        if key not in obj.tiles:
            obj.tiles[key] = TileState(tile_grid(anchor, key))  # type: ignore[arg-type]
        return key  # type: ignore[return-value]

    def _edit_near_click(self, obj: ObjectState, shown_before: np.ndarray, click: Click) -> None:
        """Keep a corrective click's effect near the click (:mod:`seganypet.session.local_edit`):
        the shown mask and the tiles' next mask prompts follow the edit."""
        volume = self._require_image()
        anchors = [c.index for c in obj.clicks[:-1] if c.positive]
        edit = edit_near_click(shown_before, obj.mask, click.index, click.positive, volume.spacing,
                               anchors)
        if edit is None:
            return
        # Both masks lie inside the edit's box, so everything below works on the box alone.
        lo, edited = edit.lo, edit.array
        box = tuple(slice(a, a + n) for a, n in zip(lo, edited.shape))
        if self.keep_clicked_components:
            edited = _clicked_components(edited, lo, obj)
        overridden = BoxMask.cropped(edited != (obj.mask[box] > 0), lo)
        if not overridden.voxels:
            return
        shown = BoxMask.cropped(edited, lo)
        for tile in obj.tiles.values():
            if tile.logits is not None:
                tile.logits = prompt_after_edit(volume, tile.grid, tile.logits, shown, overridden)
        obj.mask = shown.full(volume.shape)

    def _update(self, obj: ObjectState, new_click: Click | None) -> None:
        with self._single_thread_blas():
            self._update_tiles(obj, new_click)

    def _update_tiles(self, obj: ObjectState, new_click: Click | None) -> None:
        if not obj.tiles:
            self._anchor(obj)
        if new_click is None:
            queue = sorted(obj.tiles)
        else:
            hit = self._tile_key_for(obj, new_click)
            grid = self._require_image().grid
            inside = [k for k, t in obj.tiles.items()
                      if t.grid.contains_index(grid.index_in(t.grid, new_click.point))]
            queue = sorted(set(inside) | {hit}, key=lambda k: (k != hit, k))
        decoded: set[TileKey] = set()
        for key in list(queue):
            if self._decode(obj, key):
                decoded.add(key)
        self._extend(obj, queue=list(decoded), decoded=decoded)
        self._finish(obj)

    def _extend(self, obj: ObjectState, queue: list[TileKey], decoded: set[TileKey]) -> None:
        """Breadth-first: add neighbours across faces where a decoded tile's mask touches."""
        volume = self._require_image()
        primary = obj.tiles.get((0, 0, 0))
        if primary is not None and primary.candidate_set is not None \
                and primary.candidate_set.image_mask(obj.chosen_candidate) is not None:
            return  # an isocontour is shown as it is, on the image grid: nothing to extend
        warned = False
        while queue:
            key = queue.pop(0)
            tile = obj.tiles[key]
            if tile.logits is None:
                continue
            mask = tile.logits > 0
            if not touches_border(mask):
                continue
            inside = inside_volume_mask(tile.grid.coarsened(tile.logits.shape[0]), volume)
            for offset in faces_to_extend(mask, inside):
                neighbour = tuple(a + b for a, b in zip(key, offset))
                if neighbour in obj.tiles and neighbour in decoded:
                    continue
                if len(obj.tiles) >= self.max_tiles and neighbour not in obj.tiles:
                    if not warned:
                        log.warning("object %r reached the limit of %d patches; the mask may be "
                                    "cut at a patch border", obj.name, self.max_tiles)
                        warned = True
                    continue
                obj.tiles.setdefault(neighbour, TileState(tile_grid(obj.tiles[(0, 0, 0)].grid, neighbour)))  # type: ignore[arg-type]
                if self._decode(obj, neighbour):  # type: ignore[arg-type]
                    decoded.add(neighbour)  # type: ignore[arg-type]
                    queue.append(neighbour)  # type: ignore[arg-type]

    def _decode(self, obj: ObjectState, key: TileKey) -> bool:
        """Decode one tile with its clicks and mask prompt; False when it had nothing to go on."""
        volume = self._require_image()
        tile = obj.tiles[key]
        first_click = key == (0, 0, 0) and len(obj.clicks) == 1 and obj.clicks[0].positive
        multimask = self.multimask and first_click and obj.prompt_mask is None
        embedding = self._embedding(tile)
        result = self._decoder.decode_tile(
            volume, obj, tile, embedding, multimask=multimask, others=self._other_tiles(obj, key)
        )
        if result is None:
            del obj.tiles[key]
            return False
        logits, ious = result
        if multimask:
            tile.candidates, tile.candidate_iou = logits, ious
            obj.chosen_candidate = self._decoder.choose_candidate(volume, tile, logits, ious,
                                                                  obj.clicks[0])
            seed = tuple(round(v) for v in obj.clicks[0].index)
            tile.candidate_set = build_candidate_set(volume, tile.grid, logits, ious, seed,
                                                     isocontours=self.safety_net,
                                                     model_choice=obj.chosen_candidate)
            if self.ranker is not None:
                obj.chosen_candidate = rank_candidates(tile.candidate_set, self.ranker)
            else:
                obj.chosen_candidate = choose_shown(tile.candidate_set, obj.chosen_candidate,
                                                    plateau_snap=self.plateau_snap)
            if self.safety_net and not obj.shapes:  # point clicks only (rule v2)
                obj.chosen_candidate = apply_territory_rules(volume, tile.grid, tile.candidate_set,
                                                             obj.chosen_candidate, seed,
                                                             plateau_snap=self.plateau_snap)
            tile.logits = shown_logits(volume, tile.grid, tile.candidate_set, logits,
                                       obj.chosen_candidate)
        else:
            tile.candidates, tile.candidate_iou, tile.candidate_set = None, None, None
            tile.logits = logits[0]
        return True

    def _other_tiles(self, obj: ObjectState, key: TileKey) -> list[TileState]:
        return [t for k, t in obj.tiles.items() if k != key and t.logits is not None]

    def _embedding(self, tile: TileState) -> Any:
        key = tuple(np.round(tile.grid.affine[:3, :].ravel(), 3).tolist())
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        embedding = self._decoder.encode_tile(self._require_image(), tile.grid)
        self._cache[key] = embedding
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return embedding

    def _finish(self, obj: ObjectState) -> None:
        """Merge the tiles' logits onto the image grid (only in their bounding box)."""
        volume = self._require_image()
        primary = obj.tiles.get((0, 0, 0))
        if primary is not None:
            image = shown_image_mask(primary.candidate_set, obj.chosen_candidate, volume.shape)
            if image is not None:
                obj.mask = constrain_mask(image, obj, volume, self.keep_clicked_components)
                return
        tiles = [self._decoder.as_logit_tile(t) for t in obj.tiles.values() if t.logits is not None]
        full = np.zeros(volume.shape, np.uint8)
        box, lo, hi = paste_mask(tiles, volume)
        if box.size:
            if self.keep_clicked_components:
                box = _clicked_components(box > 0, lo, obj).astype(np.uint8)
            full[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = box
        obj.mask = constrain_mask(full, obj, volume, self.keep_clicked_components)


def _clicked_components(box: np.ndarray, lo: np.ndarray, obj: ObjectState) -> np.ndarray:
    """``box`` (bool, a mask's voxel box placed at ``lo``) without the components that hold no
    positive click of ``obj`` (:func:`~seganypet.postprocess.keep_components_with_seeds`)."""
    seeds = [tuple(round(float(v)) - int(a) for v, a in zip(c.index, lo))
             for c in obj.clicks if c.positive]
    seeds = [s for s in seeds if all(0 <= s[d] < box.shape[d] for d in range(3))]
    return keep_components_with_seeds(box, seeds)  # type: ignore[arg-type]


def _resolve_ranker(model: torch.nn.Module, ranker: CandidateRanker | str | Path | None
                    ) -> CandidateRanker | None:
    """``"auto"``: the ranker fitted for the model's weights (``<weights>.ranker.json`` beside
    the file it was loaded from) if there is one, else none (the boundary-step rule decides);
    a path: that ranker; None: none."""
    if ranker is None or isinstance(ranker, CandidateRanker):
        return ranker
    if isinstance(ranker, str) and ranker == "auto":
        weights = getattr(model, "weights_path", None)
        path = ranker_path_for(weights) if weights is not None else None
        return load_ranker(path) if path is not None and path.is_file() else None
    return load_ranker(ranker)
