"""Interactive segmentation sessions (clicks in, masks on the scan's own grid out)."""

from seganypet.click import Click
from seganypet.session.session import Session

__all__ = ["Click", "Session"]
