"""What one case of a cohort run does; every task writes only into the case's folder.

* ``lesions`` — lesion mode (``seganypet.lesions``): ``lesions.nii.gz``, ``lesions.csv``,
  ``summary.json``, ``organs.nii.gz``, ``preview.png``;
* ``prompts`` — replays the case's click JSON through a session (``seganypet segment
  --prompts``): ``mask.nii.gz`` (+ names), ``stats.csv``.
"""

from __future__ import annotations

from pathlib import Path

from seganypet.batch.manifest import BatchCase
from seganypet.errors import InputError
from seganypet.lesions.outputs import write_table

__all__ = ["TASKS", "run_lesions", "run_prompts"]

TASKS = ("lesions", "prompts")
_STATS_COLUMNS = ("label", "name", "volume_ml", "suv_max", "suv_mean", "suv_peak", "tlg")


def run_lesions(case: BatchCase, folder: Path, model, settings, device: str,
                preview: bool) -> None:
    from seganypet.io import read_pet
    from seganypet.lesions import find_lesions, write_lesion_outputs

    image = read_pet(case.image)
    result = find_lesions(image, model, settings, device=device)
    write_lesion_outputs(image, result, folder, preview=preview)


def run_prompts(case: BatchCase, folder: Path, model, device: str) -> None:
    from seganypet.io import read_pet, write_label_map
    from seganypet.prompts import read_prompt_file
    from seganypet.quantify.stats import object_stats
    from seganypet.session import Session
    from seganypet.session.prompting import apply_prompts

    if case.prompts is None:
        raise InputError(f"case {case.case_id}: --task prompts needs a 'prompts' click JSON")
    objects = read_prompt_file(case.prompts)
    image = read_pet(case.image)
    session = Session(model, device=device)
    session.set_image(image)
    apply_prompts(session, objects)
    write_label_map(session.label_map, folder / "mask.nii.gz", session.label_names)
    rows = object_stats(image, session.label_map, session.label_names)
    write_table(folder / "stats.csv", _STATS_COLUMNS, [
        [r.label, r.name, f"{r.volume_ml:.4f}", f"{r.suv_max:.4f}", f"{r.suv_mean:.4f}",
         f"{r.suv_peak:.4f}", f"{r.tlg:.4f}"] for r in rows])
