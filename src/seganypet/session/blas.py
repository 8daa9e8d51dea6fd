"""Numpy's BLAS held to one thread while the session works, so it never fights torch.

A click interleaves torch (the decoder, on torch's intra-op threads) with numpy (paste-back,
candidate masks; ``tensordot`` and large ``@`` go to OpenBLAS). Both pools spin-wait for a
while after each call, so on a 2-core machine each one's spinning threads steal the cores the
other needs: the same click measured 17 ms with BLAS on one thread and 28-136 ms (erratic)
with both pools at 2 threads. The numpy work of a click is small and memory-bound, one
thread loses nothing there.
"""

from __future__ import annotations

import contextlib

from threadpoolctl import ThreadpoolController

__all__ = ["SingleThreadBlas"]


class SingleThreadBlas:
    """``with blas():`` limits every loaded BLAS library to one thread, restored on exit.

    The controller finds the libraries once (~1 ms); entering the limit costs ~10 us.
    """

    def __init__(self) -> None:
        self._controller = ThreadpoolController()

    def __call__(self) -> contextlib.AbstractContextManager:
        return self._controller.limit(limits=1, user_api="blas")
