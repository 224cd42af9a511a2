"""MKL PARDISO for the direct path, through pypardiso's MKL: real unsymmetric (``mtype = 11``) on
the Hermitian fold of L (:mod:`symsteady.exact.fold`), complex unsymmetric (``mtype = 13``) too.

pypardiso (the optional extra ``pardiso``) loads MKL's ``mkl_rt`` and calls ``pardiso`` with its
own settings; :class:`Pardiso` calls the same function with ours
(``docs/algorithm/exact-convergence.md#convergence-pardiso``). A matrix is given as
CSC, which PARDISO reads as the CSR of its transpose M = A^T, so ``A x = b`` is PARDISO's
transposed solve (``iparm[11] = 2``, 0-based as in MKL's C documentation) and ``A^H x = b`` its
normal solve (on conjugated vectors when complex). (Handing over A itself as CSR was measured
worse: with PARDISO's weighted matching, the dense trace row left perturbed pivots and a
backward error of 4e-5 at N = 40.) The three phases are apart: :meth:`Pardiso.analyse` (11: the
METIS order and the symbolic factorisation, which reports the memory the numeric one will need),
:meth:`Pardiso.factor` (22, numeric, repeatable with new values on the same pattern) and
:meth:`Pardiso.solve` (33). MKL's threads follow the BLAS limit of :mod:`symsteady.threads`
(threadpoolctl sees ``mkl_rt`` once pypardiso has loaded it). A handle made ``out_of_core``
keeps its factor in files of a temporary directory of its own (``iparm[59] = 2``, at most
``core_bytes`` of it in memory; ``docs/algorithm/exact-convergence.md#convergence-out-of-core``).

Measured on driven_ising (Ω = 0.7, Δ = 0.5, U = 0.5), one thread: the complex form beat the real
2 × 2 block form ``[[Re, -Im], [Im, Re]]`` of twice the dimension (N = 60: 2.3 s and 0.28 GB
against 5.3 s and 0.58 GB), and the Hermitian fold, real of the same dimension, beats the complex
form (N = 60: 1.02 s and 0.22 GB against 1.87 s and 0.30 GB).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
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
#: PARDISO's two-level factorisation (``iparm[23] = 10``) pays above this dimension; measured on
#: the Hermitian fold, one thread, same run: xyz N = 20 (891 unknowns) 7.8 ms against 4.0 ms for
#: the classic one, driven_ising (Ω = 0.7, Δ = 0.5, U = 0.5) N = 40 (12 341) 132 against 135 ms,
#: N = 60 (39 711) 1.02 against 1.16 s.
TWO_LEVEL_DIMENSION = 20_000
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


def _release(pt: np.ndarray, mtype: int, iparm: np.ndarray, directory: str | None = None) -> None:
    if _MKL is not None and np.any(pt):
        try:
            _call(pt, mtype, -1, 0, None, None, None, iparm)
        except PardisoError:  # pragma: no cover - freeing never fails in practice
            pass
        pt[:] = 0
    if directory is not None:  # PARDISO leaves its out-of-core files behind
        shutil.rmtree(directory, ignore_errors=True)


#: Where out-of-core handles make their temporary directories (None: the system's temporary
#: directory, ``TMPDIR``).
OUT_OF_CORE_DIRECTORY: str | None = None


def free_disk_bytes(directory: str | None = None) -> int:
    """Bytes free on the file system of ``directory`` (default: where out-of-core files go)."""
    return shutil.disk_usage(directory or OUT_OF_CORE_DIRECTORY or tempfile.gettempdir()).free


class Pardiso:
    """One PARDISO handle for the sparsity pattern of a square CSC matrix: real unsymmetric
    (``mtype = 11``, the Hermitian fold of :mod:`symsteady.exact.fold`) or complex unsymmetric
    (``mtype = 13``) by the dtype of its values. The handle's memory (and an out-of-core
    handle's files) is freed with the object.

    ``out_of_core``: the factor goes to files in a fresh temporary directory (under
    OUT_OF_CORE_DIRECTORY), at most ``core_bytes`` of PARDISO's working memory in RAM; the
    factorisation is PARDISO's classic one (its two-level one is in core only)."""

    def __init__(self, pattern: scipy.sparse.csc_matrix, out_of_core: bool = False, core_bytes: int = 0) -> None:
        if _MKL is None:
            raise ImportError("pypardiso (MKL PARDISO) is not installed: pip install 'symsteady[pardiso]'")
        self.dtype = np.dtype(complex) if np.iscomplexobj(pattern.data) else np.dtype(float)
        self.mtype = 13 if self.dtype == complex else 11
        self.n = pattern.shape[0]
        self.indptr = np.ascontiguousarray(pattern.indptr, dtype=np.int32)
        self.indices = np.ascontiguousarray(pattern.indices, dtype=np.int32)
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
        # the two-level factorisation above TWO_LEVEL_DIMENSION, the classic one below
        ip[23] = 10 if self.n > TWO_LEVEL_DIMENSION and not out_of_core else 0
        ip[34] = 1  # zero-based indices
        self.directory: str | None = None
        self.core_bytes = core_bytes if out_of_core else 0
        self._environment: dict[str, str] = {}
        if out_of_core:
            ip[59] = 2  # out of core, always
            self.directory = tempfile.mkdtemp(prefix="symsteady-pardiso-", dir=OUT_OF_CORE_DIRECTORY)
            # MKL reads these at each call (its file names are fixed: one directory per handle)
            self._environment = {"MKL_PARDISO_OOC_PATH": self.directory + os.sep,
                                 "MKL_PARDISO_OOC_MAX_CORE_SIZE": str(max(1, core_bytes // 2**20)),
                                 "MKL_PARDISO_OOC_KEEP_FILE": "0"}
        self.data: np.ndarray | None = None
        self.analysed = self.factored = False
        weakref.finalize(self, _release, self.pt, self.mtype, self.iparm, self.directory)

    @property
    def out_of_core(self) -> bool:
        return self.directory is not None

    def _run(self, phase: int, b: Any = None, x: Any = None, nrhs: int = 1) -> None:
        os.environ.update(self._environment)
        _call(self.pt, self.mtype, phase, self.n, self.data, self.indptr, self.indices, self.iparm, b, x, nrhs)

    def _values(self, A: scipy.sparse.csc_matrix) -> np.ndarray:
        return np.ascontiguousarray(A.data, dtype=self.dtype)

    def analyse(self, A: scipy.sparse.csc_matrix) -> int:
        """Phase 11 (ordering and symbolic factorisation, from A's pattern): the bytes the
        numeric factorisation and solves will need at their peak."""
        self.data = self._values(A)
        self._run(11)
        self.analysed, self.factored = True, False
        return self.peak_bytes

    @property
    def peak_bytes(self) -> int:
        """PARDISO's own peak memory after the analysis: max(iparm[14], iparm[15] + iparm[16]) KB."""
        ip = self.iparm
        return 1024 * max(int(ip[14]), int(ip[15]) + int(ip[16]))

    @property
    def in_core_bytes(self) -> int:
        """The memory this handle may use: :attr:`peak_bytes`, or out of core PARDISO's permanent
        memory (``iparm[15]`` KB) and its core limit."""
        if not self.out_of_core:
            return self.peak_bytes
        return min(self.peak_bytes, 1024 * int(self.iparm[15]) + self.core_bytes)

    @property
    def factor_bytes(self) -> int:
        """The bytes of the numeric factor as the analysis counts them (``iparm[16]`` KB; read
        before the factorisation: out of core, PARDISO then reports its part in core there)."""
        return 1024 * int(self.iparm[16])

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
        self._run(22)
        self.factored = True

    def solve(self, r: np.ndarray, trans: str = "N") -> np.ndarray:
        """``A^-1 r`` (``trans="N"``), ``A^-T r`` (``"T"``) or ``A^-H r`` (``"H"``), r of A's dtype;
        a 2-d r holds several right-hand sides in its rows (one call)."""
        r = np.asarray(r, dtype=self.dtype)
        # PARDISO holds M = A^T: A x = r is its transposed solve, A^H x = r its normal solve on
        # conjugated vectors (for a real A, "H" is "T")
        conj = trans == "H" and self.dtype == complex
        if conj:
            r = r.conj()
        self.iparm[11] = 2 if trans == "N" else 0
        b = np.ascontiguousarray(r)
        x = np.empty_like(b)
        self._run(33, b, x, nrhs=b.shape[0] if b.ndim == 2 else 1)  # rows of b: PARDISO's columns
        return x.conj() if conj else x

    def release_factor(self) -> None:
        """Phase 0: free the numeric factor's memory, keep the analysis (factor again with :meth:`factor`)."""
        _call(self.pt, self.mtype, 0, self.n, None, None, None, self.iparm)
        self.factored = False

    def free(self) -> None:
        """Release PARDISO's memory (and files) now (the handle cannot be used afterwards)."""
        _release(self.pt, self.mtype, self.iparm, self.directory)
        self.analysed = self.factored = False

