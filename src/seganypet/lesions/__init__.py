"""Whole-body lesion mode: every lesion of a scan from automatic prompts, then corrections.

* :func:`find_lesions` — liver-referenced hot spots, physiological uptake suppressed, one
  model prompt per remaining spot, guarded by the hot spot itself (:mod:`.detect`);
* :func:`write_lesion_outputs` — ``lesions.nii.gz``, ``lesions.csv``, ``summary.json``,
  ``organs.nii.gz``, ``preview.png`` (:mod:`.outputs`);
* :class:`LesionEditor` — negative click removes a lesion, positive click adds or grows one,
  "segment all similar" (:mod:`.editing`).

Example::

    result = find_lesions(read_pet("scan.nii.gz"), load_model("default"))
    write_lesion_outputs(scan, result, "out/")
    editor = LesionEditor(model, scan, result.labels)
    editor.add_point((40, 52, 210), positive=False)     # remove a false lesion
"""

from seganypet.lesions.detect import LesionResult, LesionSettings, find_lesions
from seganypet.lesions.editing import LesionEditor, session_from_lesions
from seganypet.lesions.organs import PHYSIOLOGICAL_ORGANS
from seganypet.lesions.outputs import write_lesion_outputs

__all__ = ["PHYSIOLOGICAL_ORGANS", "LesionEditor", "LesionResult", "LesionSettings",
           "find_lesions", "session_from_lesions", "write_lesion_outputs"]
