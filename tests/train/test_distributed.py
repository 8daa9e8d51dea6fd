"""Sample bookkeeping of data-parallel training, without starting processes."""

from __future__ import annotations

from seganypet.train.distributed import DistContext, global_sample_indices


def test_one_step_consumes_the_same_samples_whatever_the_world_size() -> None:
    single = global_sample_indices(3, 0, 1, 4, DistContext())
    ranks = [global_sample_indices(3, 0, 1, 2, DistContext(rank=r, world_size=2)) for r in (0, 1)]
    assert single == [12, 13, 14, 15] and sorted(ranks[0] + ranks[1]) == single


def test_micro_batches_of_a_step_are_consecutive_and_disjoint() -> None:
    ctx = DistContext(rank=1, world_size=2)
    micro = [global_sample_indices(0, a, 2, 2, ctx) for a in range(2)]
    assert micro == [[2, 3], [6, 7]]
    assert not DistContext().distributed and DistContext().is_main
