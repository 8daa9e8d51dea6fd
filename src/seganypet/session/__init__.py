"""Interactive segmentation sessions (clicks in, masks on the scan's own grid out)."""

from seganypet.session.session import Session
from seganypet.session.state import Click

__all__ = ["Click", "Session"]
