"""MKL PARDISO for the direct path, complex unsymmetric (``mtype = 13``), through pypardiso's MKL.

pypardiso (the optional extra ``pardiso``) loads MKL's ``mkl_rt`` and calls ``pardiso`` for real
matrices only; :class:`Pardiso` calls the same function on complex128 arrays with its own
``iparm`` (``docs/algorithm/exact-convergence.md#convergence-pardiso``). A matrix is given as
CSC, which PARDISO reads as the CSR of its transpose M = A^T, so ``A x = b`` is PARDISO's
transposed solve (``iparm[11] = 2``, 0-based as in MKL's C documentation) and ``A^H x = b`` its
normal solve on conjugated vectors. (Handing over A itself as CSR was measured worse: with
PARDISO's weighted matching, the dense trace row left perturbed pivots and a backward error of
4e-5 at N = 40.) The three phases are
apart: :meth:`Pardiso.analyse` (11: the METIS order and the symbolic factorisation, which
reports the memory the numeric one will need), :meth:`Pardiso.factor` (22, numeric, repeatable
with new values on the same pattern) and :meth:`Pardiso.solve` (33). MKL's threads follow the
BLAS limit of :mod:`symsteady.threads` (threadpoolctl sees ``mkl_rt`` once pypardiso has loaded it).

The complex form is kept over the real 2 × 2 block form ``[[Re, -Im], [Im, Re]]`` (``mtype = 11``,
what pypardiso itself takes; ``real_form=True`` here): on driven_ising (Ω = 0.7, Δ = 0.5,
U = 0.5), one thread, analysis + factorisation, PARDISO's own memory count: N = 40 0.54 s and
0.06 GB against 1.6 s and 0.13 GB (nnz(L+U) 3.3e6 complex against 13.5e6 real); N = 60 3.6 s and
0.29 GB against 12.2 s and 0.65 GB, where the real form also perturbed pivots (backward error 1e-5
before refinement); both with PARDISO's default weighted matching, since switched off. With the
settings below, same run: N = 60 2.3 s and 0.28 GB against 5.3 s and 0.58 GB (nnz(L+U) 16e6
complex against 67e6 real).
"""

from __future__ import annotations

import ctypes
import weakref
from typing import Any

import numpy as np
import scipy.sparse

try:  # optional: the direct path falls back to SuperLU without it
    import pypardiso

    _MKL: Any = pypardiso.ps.libmkl["pardiso"]  # a function object of our own (pypardiso's has float argtypes)
    _MKL.restype = None
except (ImportError, OSError, AttributeError):  # pragma: no cover - depends on the install
    _MKL = None


_INT = ctypes.POINTER(ctypes.c_int32)
_ERRORS = {-1: "input inconsistent", -2: "not enough memory", -3: "reordering problem",
           -4: "zero pivot, numerical factorization or iterative refinement problem",
           -5: "unclassified (internal) error", -6: "reordering failed", -7: "diagonal matrix is singular",
           -8: "32-bit integer overflow", -9: "not enough memory for out-of-core",
           -10: "error opening out-of-core files", -11: "read/write error with out-of-core files"}


class PardisoError(RuntimeError):
    """PARDISO returned an error code (``code``; ``-2``: out of memory)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"PARDISO error {code}: {_ERRORS.get(code, 'unknown')}")
        self.code = code


def available() -> bool:
    """Whether MKL PARDISO can be called (pypardiso imported and MKL loaded)."""
    return _MKL is not None


def _call(pt: np.ndarray, mtype: int, phase: int, n: int, data: Any, indptr: Any, indices: Any,
          iparm: np.ndarray, b: Any = None, x: Any = None, nrhs: int = 1) -> None:
    error = ctypes.c_int32(0)
    null = ctypes.c_void_p()
    i32 = ctypes.c_int32
    _MKL(pt.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)), ctypes.byref(i32(1)), ctypes.byref(i32(1)),
                 ctypes.byref(i32(mtype)), ctypes.byref(i32(phase)), ctypes.byref(i32(n)),
                 null if data is None else data.ctypes.data_as(ctypes.c_void_p),
                 null if indptr is None else indptr.ctypes.data_as(_INT),
                 null if indices is None else indices.ctypes.data_as(_INT),
                 null, ctypes.byref(i32(nrhs)), iparm.ctypes.data_as(_INT), ctypes.byref(i32(0)),
                 null if b is None else b.ctypes.data_as(ctypes.c_void_p),
                 null if x is None else x.ctypes.data_as(ctypes.c_void_p), ctypes.byref(error))
    if error.value:
        raise PardisoError(error.value)


def _release(pt: np.ndarray, mtype: int, iparm: np.ndarray) -> None:
    if _MKL is not None and np.any(pt):
        try:
            _call(pt, mtype, -1, 0, None, None, None, iparm)
        except PardisoError:  # pragma: no cover - freeing never fails in practice
            pass
        pt[:] = 0


class Pardiso:
    """One PARDISO handle for the sparsity pattern of a CSC matrix (square, complex).

    ``real_form=True`` factors the real 2 × 2 block form ``[[Re, -Im], [Im, Re]]`` instead (kept
    for the comparison in the module's docstring). The handle's memory is freed with the object."""

    def __init__(self, pattern: scipy.sparse.csc_matrix, real_form: bool = False) -> None:
        if _MKL is None:
            raise ImportError("pypardiso (MKL PARDISO) is not installed: pip install 'symsteady[pardiso]'")
        self.real_form = real_form
        self.mtype = 11 if real_form else 13
        M = _real_form(pattern) if real_form else pattern
        self.n = M.shape[0]
        self.indptr = np.ascontiguousarray(M.indptr, dtype=np.int32)
        self.indices = np.ascontiguousarray(M.indices, dtype=np.int32)
        self.nnz = int(self.indptr[-1])
        self.pt = np.zeros(64, dtype=np.int64)
        self.iparm = np.zeros(64, dtype=np.int32)
        ip = self.iparm
        ip[0] = 1  # our own settings below (0-based, as MKL's C documentation)
        ip[1] = 2  # METIS nested dissection
        ip[7] = 0  # PARDISO's own refinement only after perturbed pivots (ours follows anyway)
        ip[9] = 13  # pivot perturbation 1e-13
        # no weighted matching (nor its scaling): the analysis then depends on the pattern only, so a
        # sweep reuses it; measured at N = 60 on M = A^T: backward error 5e-13 without, 3e-10
        # with, 3.2 s against 3.6 s (docs/algorithm/exact-convergence.md#convergence-pardiso)
        ip[10] = ip[12] = 0
        ip[17] = -1  # report nnz(L+U)
        # the two-level factorisation: measured at N = 20 (1771 unknowns) solves 0.24 ms against
        # 0.77 ms with the classic one, the factorisation as fast; no change at N = 40
        ip[23] = 10
        ip[34] = 1  # zero-based indices
        self.data: np.ndarray | None = None
        self.analysed = self.factored = False
        weakref.finalize(self, _release, self.pt, self.mtype, self.iparm)

    def _values(self, A: scipy.sparse.csc_matrix) -> np.ndarray:
        if self.real_form:
            return np.ascontiguousarray(_real_form(A).data, dtype=float)
        return np.ascontiguousarray(A.data, dtype=complex)

    def analyse(self, A: scipy.sparse.csc_matrix) -> int:
        """Phase 11 (ordering, matching and scaling from A's values, symbolic factorisation):
        the bytes the numeric factorisation and solves will need at their peak."""
        self.data = self._values(A)
        _call(self.pt, self.mtype, 11, self.n, self.data, self.indptr, self.indices, self.iparm)
        self.analysed, self.factored = True, False
        return self.peak_bytes

    @property
    def peak_bytes(self) -> int:
        """PARDISO's own peak memory after the analysis: max(iparm[14], iparm[15] + iparm[16]) KB."""
        ip = self.iparm
        return 1024 * max(int(ip[14]), int(ip[15]) + int(ip[16]))

    @property
    def factor_entries(self) -> int:
        """nnz(L + U) as PARDISO reports it (``iparm[17]``)."""
        return int(self.iparm[17])

    @property
    def perturbed_pivots(self) -> int:
        return int(self.iparm[13])

    def factor(self, A: scipy.sparse.csc_matrix | None = None) -> None:
        """Phase 22: the numeric factorisation of A (same pattern as the analysed one)."""
        if A is not None:
            self.data = self._values(A)
        _call(self.pt, self.mtype, 22, self.n, self.data, self.indptr, self.indices, self.iparm)
        self.factored = True

    def solve(self, r: np.ndarray, trans: str = "N") -> np.ndarray:
        """``A^-1 r`` (``trans="N"``), ``A^-T r`` (``"T"``) or ``A^-H r`` (``"H"``)."""
        r = np.asarray(r, dtype=complex)
        # PARDISO holds M = A^T (complex) or real_form(A)^T = real_form(A^H) (real form)
        conj = trans == ("T" if self.real_form else "H")
        if conj:
            r = r.conj()
        self.iparm[11] = 2 if trans == "N" else 0
        if self.real_form:
            b = np.ascontiguousarray(np.concatenate([r.real, r.imag]))
        else:
            b = np.ascontiguousarray(r)
        x = np.empty_like(b)
        _call(self.pt, self.mtype, 33, self.n, self.data, self.indptr, self.indices, self.iparm, b, x)
        out = x[: self.n // 2] + 1j * x[self.n // 2:] if self.real_form else x
        return out.conj() if conj else out

    def release_factor(self) -> None:
        """Phase 0: free the numeric factor's memory, keep the analysis (factor again with :meth:`factor`)."""
        _call(self.pt, self.mtype, 0, self.n, None, None, None, self.iparm)
        self.factored = False

    def free(self) -> None:
        """Release PARDISO's memory now (the handle cannot be used afterwards)."""
        _release(self.pt, self.mtype, self.iparm)
        self.analysed = self.factored = False


def _real_form(A: scipy.sparse.csc_matrix) -> scipy.sparse.csc_matrix:
    """``[[Re A, -Im A], [Im A, Re A]]`` on A's pattern (explicit zeros kept: a fixed pattern)."""
    re = scipy.sparse.csc_matrix((A.data.real, A.indices, A.indptr), shape=A.shape)
    im = scipy.sparse.csc_matrix((A.data.imag, A.indices, A.indptr), shape=A.shape)
    out = scipy.sparse.bmat([[re, -im], [im, re]], format="csc")
    return out
