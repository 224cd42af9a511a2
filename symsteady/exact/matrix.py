"""The untruncated Liouvillian as a sparse matrix, built with the algebra's rules on arrays.

Nothing here knows an action formula: :class:`symsteady.liouvillian.Superoperator` lists its
terms ``(coefficient, chain)`` and each chain step calls a rule of :mod:`symsteady.algebra`
on NumPy arrays of labels (the same functions the series calls on single keys); targets are
kept where the basis' own validity function holds. Entries are written in the
Hilbert–Schmidt-normalised basis of :mod:`symsteady.exact.space`: with ``ℓ = log ||B||``,
``L̂_ij = L_ij exp(ℓ_i - ℓ_j)``.

The steady state solves ``L rho = 0`` with ``Tr rho = 1``: the row of the dark state (the
last key) is replaced by the trace row (``docs/algorithm/exact-solver.md#exact-trace-row``). ``L``
is split as ``L0 + L1``, L0 the U(1)-symmetric part (charge-0 words of H and every
dissipator), L1 the rest; :mod:`symsteady.exact.pieces` assembles both from fixed pieces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterator

import numpy as np
import scipy.sparse

from ..algebra import Basis, Chain, OrbitBasis
from ..errors import ExactSolverError
from .space import INDEX, KeySpace, Labels, sector_dimension

#: Largest number of basis elements the double-precision solver accepts (N = 200 has 1.37e6
#: labels, 0.69e6 in the charge sector of xyz; memory grows by about 1 kB per element).
MAX_EXACT_DIMENSION = 6_000_000


def run_chain(basis: Basis, chain: Chain, labels: Labels, n: int
              ) -> tuple[np.ndarray, np.ndarray, Labels]:
    """A chain on every label at once: ``(source position, real coefficient, target labels)``,
    one row per surviving path (duplicates not merged). Mirrors :meth:`Basis.chain`. The
    targets may share memory with ``labels`` (a step that keeps a coordinate): read them only."""
    src = np.arange(len(labels[0]), dtype=INDEX)
    coeff = np.ones(len(src))
    targets = labels
    for side, rule in chain:
        args = targets if side == "ket" else basis.swap(targets)
        parts = []
        for cf, t in rule(*args, n):
            if side == "bra":
                t = basis.swap(t)
            t = tuple(np.broadcast_to(x, src.shape) for x in t)
            cf = np.broadcast_to(np.asarray(cf, dtype=float), src.shape)
            keep = np.asarray(basis.valid_labels(*t, n), dtype=bool) & (cf != 0)
            if keep.all():  # no copies (the common case of a step's main branch)
                parts.append((src, coeff * cf, tuple(np.ascontiguousarray(x, dtype=INDEX) for x in t)))
            else:
                parts.append((src[keep], coeff[keep] * cf[keep], tuple(x[keep].astype(INDEX, copy=False) for x in t)))
        if len(parts) == 1:
            src, coeff, targets = parts[0]
            continue
        src = np.concatenate([p[0] for p in parts])
        coeff = np.concatenate([p[1] for p in parts])
        targets = tuple(np.concatenate([p[2][i] for p in parts]) for i in range(len(labels)))
    return src, coeff, targets


def term_entries(space: KeySpace, chain: Chain, start: int = 0, stop: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray, Labels, np.ndarray]:
    """One chain on the labels ``start:stop`` of ``space`` (all by default): ``(source positions,
    target positions, target labels, values)``, the values real and in the normalised basis,
    ``cf exp(ℓ_target - ℓ_source)`` (duplicates not merged)."""
    src, cf, targets = run_chain(space.basis, chain, tuple(lab[start:stop] for lab in space.labels), space.n)
    if start:
        src += start
    rows = space.index(targets)
    if rows.size and rows.min() < 0:
        raise ExactSolverError(f"a term of L leaves the charge sector q ≡ 0 (mod {space.period})")
    return src, rows, targets, cf * np.exp(space.log_norm[rows] - space.log_norm[src])


def _entries(space: KeySpace, terms: list[tuple[complex, Chain]]
             ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """COO pieces ``(rows, cols, values)`` of ``L̂``, one per nonzero term."""
    for factor, chain in terms:
        if factor == 0:
            continue
        src, rows, _, values = term_entries(space, chain)
        yield rows, src, complex(factor) * values


def normalised_matrix(space: KeySpace, terms: list[tuple[complex, Chain]]) -> scipy.sparse.csc_matrix:
    """``L̂`` (normalised basis) of a superoperator given by its terms, as CSC (duplicates summed);
    the solver assembles the same entries from pieces (:mod:`symsteady.exact.pieces`), this is
    the plain reference the tests hold them against.

    Built as the CSR of the transpose (the sources come nearly sorted, so the conversion
    writes memory in order: measured 2x faster than the COO -> CSR of L itself), read as CSC."""
    dim = space.dim
    pieces = list(_entries(space, terms))
    if not pieces:
        return scipy.sparse.csc_matrix((dim, dim), dtype=complex)
    rows, cols, vals = (np.concatenate([p[i] for p in pieces]) for i in range(3))
    T = scipy.sparse.csr_matrix((vals, (cols, rows)), shape=(dim, dim))
    T.sum_duplicates()
    T.eliminate_zeros()
    return scipy.sparse.csc_matrix((T.data, T.indices, T.indptr), shape=(dim, dim))


def trace_row(space: KeySpace, scale: float) -> tuple[np.ndarray, np.ndarray, float]:
    """The trace row: columns and values ``scale Tr B̂_j / max_j Tr B̂_j``, and the right-hand
    side entry that then makes ``Tr rho = 1``."""
    where, log_tr = space.log_trace()
    top = log_tr.max()
    return where.astype(INDEX), (scale * np.exp(log_tr - top)).astype(complex), float(scale * np.exp(-top))


@dataclass
class ExactLiouvillian:
    """L0 and L (normalised basis, trace row last) and the right-hand side entry of Tr rho = 1."""

    space: KeySpace
    A0: scipy.sparse.csc_matrix
    A: scipy.sparse.csc_matrix | scipy.sparse.csr_matrix  # CSR when broken (pieces.LiouvillianPieces)
    rhs: float
    broken: bool  # L has a U(1)-breaking part (L1 != 0)
    #: state kept by the solver between points on one pattern (the pieces' own dict; e.g. an
    #: analysed PARDISO handle), or None
    workspace: dict | None = None
    #: A as CSC when A is CSR (the pieces give both, sharing their patterns), else None
    A_csc: scipy.sparse.csc_matrix | None = field(default=None, repr=False)

    @cached_property
    def norm_inf(self) -> float:
        """||A||_inf, the maximum absolute row sum (the scale of backward errors)."""
        A, size = self.A, np.abs(self.A.data)
        if A.format == "csr":
            sums = np.add.reduceat(size, A.indptr[:-1]) if A.nnz else np.zeros(1)
            sums[np.diff(A.indptr) == 0] = 0  # reduceat's value at an empty row is not zero
        else:
            sums = np.bincount(A.indices, size, minlength=A.shape[0])
        return float(sums.max(initial=0.0))

    def columns(self) -> scipy.sparse.csc_matrix:
        """A as CSC, the format the direct solvers take."""
        if self.A.format == "csc":
            return self.A
        if self.A_csc is None:
            self.A_csc = self.A.tocsc()
        return self.A_csc


def check_size(basis: Basis, n: int, period: int = 1) -> int:
    """The dimension of the exact space at N = n (charge sector ``q ≡ 0 mod period``), or a
    clear error when it is too large."""
    dim = sector_dimension(isinstance(basis, OrbitBasis), n, period)
    if dim > MAX_EXACT_DIMENSION:
        raise ExactSolverError(
            f"N = {n} needs {dim} {basis.name} basis elements, more than the exact solver's limit "
            f"of {MAX_EXACT_DIMENSION} (with local processes about N = 325, or N = 410 in a "
            f"charge sector of period 2)"
        )
    return dim
