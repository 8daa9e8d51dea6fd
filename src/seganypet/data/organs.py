"""The fixed label ids of every phantom (and of label-to-PET images).

Organs have ids 1-19; lesions are instances numbered from ``LESION_ID_START`` (101, 102, ...),
so that evaluation can target each organ and each lesion separately. The table never changes
order: an id means the same structure in every case, manifest and checkpoint.

=== ===================  ===========================================================
id  name                 what it covers
=== ===================  ===========================================================
1   brain                whole brain
2   heart                left/right ventricular myocardium (wall of the heart)
3   liver                both lobes
4   spleen
5   kidney_left          parenchyma and collecting system (renal pelvis)
6   kidney_right         idem
7   bladder              urine-filled bladder
8   aorta                ascending aorta, arch, descending and abdominal aorta
9   lung_left
10  lung_right
11  stomach
12  bone_marrow          red marrow: vertebral bodies, sacrum, iliac wings, femoral heads
13  salivary_glands      parotid and submandibular glands
14  bowel                small and large bowel region
15  bone                 cortical bone: skull, humeri, femoral shafts
16  heart_cavity         blood in the cardiac chambers (blood pool)
17  muscle               muscle and other soft tissue of head, trunk and limbs
18  fat                  subcutaneous fat
=== ===================  ===========================================================
"""

from __future__ import annotations

__all__ = ["LESION_ID_START", "MAX_LESIONS", "ORGAN_IDS", "ORGAN_NAMES", "is_lesion_name", "label_names", "lesion_id"]

ORGAN_IDS: dict[str, int] = {
    "brain": 1,
    "heart": 2,
    "liver": 3,
    "spleen": 4,
    "kidney_left": 5,
    "kidney_right": 6,
    "bladder": 7,
    "aorta": 8,
    "lung_left": 9,
    "lung_right": 10,
    "stomach": 11,
    "bone_marrow": 12,
    "salivary_glands": 13,
    "bowel": 14,
    "bone": 15,
    "heart_cavity": 16,
    "muscle": 17,
    "fat": 18,
}
ORGAN_NAMES: dict[int, str] = {v: k for k, v in ORGAN_IDS.items()}

# Lesion n (1-based) has label id 100 + n; label maps are uint8, hence the cap.
LESION_ID_START = 101
MAX_LESIONS = 255 - LESION_ID_START + 1


def lesion_id(n: int) -> int:
    """Label id of the ``n``-th lesion (0-based ``n``)."""
    if not 0 <= n < MAX_LESIONS:
        raise ValueError(f"lesion index {n} outside 0..{MAX_LESIONS - 1}")
    return LESION_ID_START + n


def label_names(n_lesions: int) -> dict[int, str]:
    """Id -> name for every organ and ``n_lesions`` lesions (``lesion_1`` ...)."""
    names = dict(ORGAN_NAMES)
    names.update({lesion_id(n): f"lesion_{n + 1}" for n in range(n_lesions)})
    return names


# Words that make a label name a lesion, whatever the source (phantom ``lesion_3``, autoPET
# ``lesion``, RTSTRUCT ``GTV_Mass``, ``tumour``, ``node_2``, ``metastasis``).
_LESION_WORDS = ("lesion", "tumor", "tumour", "gtv", "metast", "node")


def is_lesion_name(name: str) -> bool:
    """Whether a label name denotes a lesion (the one rule of the package)."""
    lowered = name.lower()
    return any(word in lowered for word in _LESION_WORDS)
