"""The first-click candidate rule, shared by the session and training (known answers)."""

from __future__ import annotations

import torch

from seganypet.model.candidates import choose_candidate


def test_best_score_among_candidates_that_contain_the_click() -> None:
    at_click = torch.tensor([[-1.0, 2.0, 0.5], [-1.0, -2.0, -0.5], [1.0, 1.0, -3.0]])
    scores = torch.tensor([[0.9, 0.2, 0.6], [0.1, 0.7, 0.3], [0.4, 0.4, 0.9]])
    # row 0: 0 excludes the click -> best of {1, 2} is 2; row 1: none contains it -> best
    # overall (1); row 2: tie between 0 and 1 -> the first.
    assert choose_candidate(at_click, scores).tolist() == [2, 1, 0]
