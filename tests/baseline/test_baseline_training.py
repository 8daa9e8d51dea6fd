"""Supervised-baseline patches and learning on real phantoms (tiny sizes)."""

from __future__ import annotations

import numpy as np
import torch
from monai.losses import DiceCELoss

from seganypet.baseline.classes import ClassMap
from seganypet.baseline.network import SupervisedConfig, build_segresnet
from seganypet.baseline.patches import sample_segmentation_patch
from seganypet.data.phantom import PhantomConfig, generate_case
from seganypet.train.data import LabeledCase


def test_class_map_gives_organs_in_order_and_one_lesion_class() -> None:
    classes = ClassMap(("liver", "spleen"))
    assert classes.names == ("background", "liver", "spleen", "lesion")
    table = classes.lookup({3: "spleen", 5: "liver", 7: "heart", 101: "lesion_1", 102: "lesion_2"})
    assert table[[0, 3, 5, 7, 101, 102]].tolist() == [0, 2, 1, 0, 3, 3]


def _case() -> LabeledCase:
    case = generate_case(np.random.default_rng(3), PhantomConfig(small=True, n_lesions=3))
    names = {int(k): str(v) for k, v in case.info["label_names"].items()}
    return LabeledCase("p3", case.suv, case.label, names)


def test_patches_match_the_label_map_and_oversample_foreground() -> None:
    case, classes = _case(), ClassMap(("liver", "brain"))
    rng = np.random.default_rng(0)
    patches = [sample_segmentation_patch(case, classes, 16, 8.0, "log1p_suv", rng, 1.0)
               for _ in range(12)]
    for image, label in patches:
        assert image.shape == label.shape == (16, 16, 16) and image.dtype == np.float32
        assert set(np.unique(label)) <= {0, 1, 2, 3}
        assert label.any()  # foreground_prob 1: centred on a class voxel
    # log1p SUV: a lesion's voxels are hotter than the liver's on average.
    lesion = np.concatenate([im[lb == 3] for im, lb in patches])
    liver = np.concatenate([im[lb == 1] for im, lb in patches])
    assert lesion.size and liver.size  # seeded: both classes are sampled
    assert lesion.mean() > liver.mean()


def test_segresnet_fits_a_fixed_batch_of_phantom_patches() -> None:
    torch.manual_seed(0)
    case, classes = _case(), ClassMap(("liver", "brain"))
    rng = np.random.default_rng(1)
    pairs = [sample_segmentation_patch(case, classes, 16, 8.0, "log1p_suv", rng, 1.0)
             for _ in range(2)]
    images = torch.from_numpy(np.stack([p[0] for p in pairs]))[:, None]
    labels = torch.from_numpy(np.stack([p[1] for p in pairs]))[:, None]
    network = build_segresnet(SupervisedConfig(organs=("liver", "brain"), patch_size=16))
    optimizer = torch.optim.AdamW(network.parameters(), lr=3e-3)
    loss_fn = DiceCELoss(to_onehot_y=True, softmax=True)
    losses = []
    for _ in range(40):
        loss = loss_fn(network(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
