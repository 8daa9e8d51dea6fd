"""``torchrun`` support: process-group setup, rank-aware sample indices, rank-0 helpers.

Under ``torchrun --nproc_per_node N`` the environment carries ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``; :func:`init_distributed` then joins the group (NCCL on CUDA, gloo on CPU)
and the training step is wrapped in ``DistributedDataParallel``. Without those variables
everything runs as a single process and nothing here touches ``torch.distributed``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

__all__ = ["DistContext", "global_sample_indices", "init_distributed", "shutdown_distributed"]


@dataclass(frozen=True)
class DistContext:
    """This process's place in the run: ``rank`` of ``world_size`` on ``device``."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str | None = None) -> DistContext:
    """Join the torchrun process group if launched by torchrun; pick the device.

    ``device``: ``"cpu"``, ``"cuda"`` or None (CUDA when available). Each rank uses
    ``cuda:LOCAL_RANK``; on CPU each rank gets ``cpu_count // local_world_size`` threads so N
    ranks do not oversubscribe the cores.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device is None else device.startswith("cuda")
    dev = torch.device(f"cuda:{local_rank}") if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(dev)
    if world > 1:
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if use_cuda else "gloo")
        if not use_cuda:
            local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))
    return DistContext(rank, world, local_rank, dev)


def shutdown_distributed(ctx: DistContext) -> None:
    if ctx.distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def global_sample_indices(step: int, micro: int, grad_accum: int, batch_size: int,
                          ctx: DistContext) -> list[int]:
    """Global sample numbers of this rank's micro-batch ``micro`` of optimiser step ``step``.

    One optimiser step covers ``grad_accum * world_size * batch_size`` consecutive numbers;
    micro-batch ``a`` holds the slice ``[a*W*B, (a+1)*W*B)`` and rank ``r`` its ``r``-th
    block of ``B``. With ``W = 1, B = 4`` and ``W = 2, B = 2`` one step therefore consumes the
    same samples (the DDP-equivalence the tests check).
    """
    per_micro = ctx.world_size * batch_size
    start = (step * grad_accum + micro) * per_micro + ctx.rank * batch_size
    return list(range(start, start + batch_size))
