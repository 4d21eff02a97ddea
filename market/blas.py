"""BLAS on one thread for code made of many small products.

On these machines (two cores, shared with other jobs) OpenBLAS's second thread costs far more than
it saves on small products: a 201 x 101 by 101 x 101 product takes about 30 times as long on two
threads as on one (3 ms against 0.09 ms), and more when the other core is busy. The limit is the
process's (threadpoolctl), set for the call and restored after. Only the time changes: the k-item
payoffs, equilibria and fee plane come out the same bit for bit on one thread as on the default threads
(tests/test_posted_fees_reset.py).
"""

from __future__ import annotations

import functools

from threadpoolctl import ThreadpoolController


@functools.cache
def _controller() -> ThreadpoolController:
    """The BLAS libraries loaded (found once: a fresh look-up takes about 0.3 ms, a kept one 10 us)."""
    return ThreadpoolController()


def one_blas_thread(func):
    """``func`` with BLAS on one thread while it runs."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _controller().limit(limits=1, user_api="blas"):
            return func(*args, **kwargs)

    return wrapper
