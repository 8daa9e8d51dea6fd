"""Training: interactive-click training, CPCL noisy-label learning, DDP, checkpoints.

Entry points: :func:`seganypet.train.loop.train` with a
:class:`seganypet.train.config.TrainConfig`, or ``seganypet train CONFIG`` on the command
line. Nothing in the inference chain imports this package.
"""

from __future__ import annotations

__all__ = ["TrainConfig", "load_config", "train"]


def __getattr__(name: str):
    # Lazy: importing seganypet.train must not import torch-heavy modules until used.
    if name in ("TrainConfig", "load_config"):
        from seganypet.train import config

        return getattr(config, name)
    if name == "train":
        from seganypet.train.loop import train

        return train
    raise AttributeError(name)
