"""A coarse whole-body FDG phantom with known lesions and hot organs, shared by the lesion tests."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from seganypet.data.lesions import LesionSpec
from seganypet.data.phantom import PhantomConfig, generate_case, write_case

# Lesions of 1-15 ml in four hosts; the contrast is the viable-tumour SUV over the host's.
# Random places, except the liver metastasis: it goes to the liver's bulk (a metastasis at the
# liver's posterior edge sits where a kidney sits, which lesion mode gets wrong: see
# docs/results.md).
LESIONS = (
    LesionSpec("lymph_node", diameter_mm=24.0, contrast=10.0, host="muscle"),
    LesionSpec("lung_nodule", diameter_mm=22.0, contrast=14.0, host="lung_left"),
    LesionSpec("liver_met", diameter_mm=28.0, contrast=3.5, host="liver"),
    LesionSpec("bone_met", diameter_mm=20.0, contrast=5.0, host="bone_marrow"),
)


def _config(voxel_mm: float, lesions) -> PhantomConfig:
    return PhantomConfig(tracer="fdg", voxel_mm=voxel_mm, whole_body=True, lesions=lesions,
                         arms_up=False)


def _liver_bulk_mm(seed: int, voxel_mm: float) -> tuple[float, float, float]:
    """RAS mm of the deepest liver voxel of the phantom ``seed`` (the anatomy is drawn before
    the lesions, so it does not depend on them)."""
    from seganypet.data.organs import ORGAN_IDS
    from seganypet.quantify.percist import deepest_voxel

    case = generate_case(np.random.default_rng(seed), _config(voxel_mm, ()))
    index, _ = deepest_voxel(case.suv, case.label.array == ORGAN_IDS["liver"])
    return tuple(float(v) for v in case.suv.index_to_world(index))  # type: ignore[return-value]


def coarse_phantom(seed: int, voxel_mm: float = 6.0, lesions=LESIONS):
    """A whole-body FDG phantom at ``voxel_mm`` with ``lesions`` in their hosts (liver
    metastases at the liver's deepest point)."""
    bulk = _liver_bulk_mm(seed, voxel_mm)
    placed = tuple(replace(s, center_mm=bulk) if s.kind == "liver_met" else s for s in lesions)
    return generate_case(np.random.default_rng(seed), _config(voxel_mm, placed))


@pytest.fixture(scope="session")
def lesion_phantom(tmp_path_factory) -> dict[str, Path]:
    """Paths of one coarse phantom written to disk (``image``, ``label``, ``info``)."""
    folder = tmp_path_factory.mktemp("lesion_phantom")
    return write_case(coarse_phantom(7), folder, "wb")


@pytest.fixture(scope="session")
def make_phantom():
    """:func:`coarse_phantom` itself, for tests that place their own lesions."""
    return coarse_phantom
