"""BLAS threads for the exact solvers.

Sparse LU (SuperLU calls BLAS on its supernodes) and GMRES make many small BLAS calls; with
threaded OpenBLAS on a machine whose cores are busy, every call can wait milliseconds for its
threads (measured: a 4096-dimensional sparse LU 100x slower). The exact solvers therefore run
with one BLAS thread; the caller's setting is restored afterwards.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from threadpoolctl import threadpool_limits


def single_blas_thread() -> AbstractContextManager:
    """Context manager: BLAS limited to one thread inside."""
    return threadpool_limits(limits=1, user_api="blas")
