"""Run a list of prompted objects (from a prompt file or the command line) through a session."""

from __future__ import annotations

from collections.abc import Sequence

from seganypet.click import Click
from seganypet.prompts import ObjectPrompts
from seganypet.session.session import Session

__all__ = ["apply_prompts"]


def apply_prompts(session: Session, objects: Sequence[ObjectPrompts],
                  candidate: int | None = None, steps: int = 0) -> list[Click]:
    """Segment every object with its prompts; the first object reuses the current one.

    Per object: its boxes (a box is the natural first prompt), then its clicks, then its
    other shapes, each in order.

    World clicks are converted to voxel indices by the session (once). ``candidate`` switches
    every object to that first-click candidate; then ``steps`` > 0 grows (< 0 shrinks) it by
    that many candidates. Returns every click as a voxel index (for the preview), tagged with
    its object's name.
    """
    for n, obj in enumerate(objects):
        if n == 0:
            session.rename(obj.name)
        else:
            session.new_object(obj.name)
        for shape in (s for s in obj.shapes if s.kind == "box"):
            session.add_shape(shape)
        for click in obj.clicks:
            session.add_click(click)
        for shape in (s for s in obj.shapes if s.kind != "box"):
            session.add_shape(shape)
        if candidate is not None:
            session.select_candidate(candidate)
        for _ in range(abs(steps)):
            session.grow() if steps > 0 else session.shrink()
    return session.clicks
