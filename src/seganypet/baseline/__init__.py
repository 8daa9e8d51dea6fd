"""The task-specific automatic baseline (issue #7): a MONAI SegResNet trained without clicks.

Outside :mod:`seganypet.train` so that evaluation can load and run it without importing the
promptable model's training code:

* :mod:`~seganypet.baseline.classes` - label names -> classes (organs + one lesion class)
* :mod:`~seganypet.baseline.network` - the network, its config and model file (load/save)
* :mod:`~seganypet.baseline.patches` - multi-class training patches from labelled cases
* :mod:`~seganypet.baseline.training` - ``train_supervised`` (``seganypet train-baseline``)
"""
