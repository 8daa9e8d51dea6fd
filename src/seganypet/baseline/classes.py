"""The classes of the automatic baseline: one per learned organ plus one lesion class."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seganypet.data.organs import is_lesion_name

__all__ = ["LESION_CLASS_NAME", "ClassMap"]

LESION_CLASS_NAME = "lesion"


@dataclass(frozen=True)
class ClassMap:
    """Label names -> class indices: ``organs`` are 1..n in order, lesions are n + 1."""

    organs: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Class names by index (index 0 is background)."""
        return ("background", *self.organs, LESION_CLASS_NAME)

    @property
    def num_classes(self) -> int:
        return len(self.names)

    def class_of(self, label_name: str) -> int:
        """Class index of a label name (0 for labels the baseline does not learn)."""
        if is_lesion_name(label_name):
            return len(self.organs) + 1
        return self.organs.index(label_name) + 1 if label_name in self.organs else 0

    def lookup(self, label_names: dict[int, str]) -> np.ndarray:
        """``table[label_id] -> class`` for a case's label map (ids up to 255 or the max id)."""
        size = max(256, max(label_names, default=0) + 1)
        table = np.zeros(size, np.int64)
        for label_id, name in label_names.items():
            table[label_id] = self.class_of(name)
        return table
