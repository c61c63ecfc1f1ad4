"""BLAS thread limits for the kernels (``threadpoolctl``; a no-op when it is not installed).

OpenBLAS worker threads spin while they wait for work; when the machine's cores are shared (a busy 2-core box),
a multi-threaded call on a small or latency-bound problem (n×64 products, the tridiagonalisation inside
``eigvalsh``) can run 5–20× slower than the same call on one thread. The kernels therefore run such calls on one
BLAS thread; large GEMM-like calls (the Gram accumulation) keep the library's default.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Limit BLAS to ``n`` threads inside the block (``None``: leave as is)."""
    if n is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield
