"""A click runs numpy's BLAS on one thread (seganypet.session.blas) and gives the limit back."""

from __future__ import annotations

import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits

import seganypet.session.session as session_module
from seganypet.model import build_model
from seganypet.session import Session

from .conftest import layered_scene


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_clicks_and_candidate_switches_hold_blas_to_one_thread(monkeypatch) -> None:
    seen: list[list[int]] = []
    paste = session_module.paste_mask

    def recording_paste(*args, **kwargs):
        seen.append(_blas_threads())
        return paste(*args, **kwargs)

    monkeypatch.setattr(session_module, "paste_mask", recording_paste)
    torch.manual_seed(0)
    session = Session(build_model("tiny"), safety_net=False)
    session.set_image(layered_scene())
    with threadpool_limits(limits=2, user_api="blas"):
        outside = _blas_threads()
        session.add_point((24, 22, 20))
        session.add_point((24, 25, 20), positive=False)
        session.undo()
        session.select_candidate(1)
        assert _blas_threads() == outside  # restored after every interaction
    assert outside and max(outside) == 2
    assert len(seen) >= 2 and all(threads and set(threads) == {1} for threads in seen)
    assert np.asarray(session.mask.array).dtype == np.uint8
