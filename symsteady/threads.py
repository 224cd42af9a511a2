"""BLAS threads for the exact solvers.

Sparse LU (SuperLU calls BLAS on its supernodes) and GMRES make many small BLAS calls; with
threaded OpenBLAS on a machine whose cores are busy, every call can wait milliseconds for its
threads (measured: a 4096-dimensional sparse LU 100x slower). The exact solvers therefore run
with one BLAS thread; the caller's setting is restored afterwards. The BLAS libraries are found
once (at the first use, when numpy's and scipy's are loaded, and MKL's where pypardiso loaded it
for the exact solver's direct path: importing symsteady loads it, so MKL's threads are limited too): a fresh ``threadpool_limits``
scans the process' libraries at every call, about 0.7 ms, which is 5 % of a small exact solve.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from threadpoolctl import ThreadpoolController

_CONTROLLER: list[ThreadpoolController] = []


def single_blas_thread() -> AbstractContextManager:
    """Context manager: BLAS limited to one thread inside."""
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")
