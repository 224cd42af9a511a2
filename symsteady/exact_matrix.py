"""The untruncated Liouvillian as a sparse matrix, built with the algebra's rules on arrays.

Every basis element at a given N (orbit basis: ``C(N+3, 3)`` of them; symmetric sector:
``(N+1)^2``) is one column. The matrix is written in the basis normalised by the
Hilbert–Schmidt norm, ``B̂ = B / ||B||`` with ``||B(a,b,c)||^2 = C(N,a) C(a,c) C(N-a, b-c)``
(``||E(a,b)||^2 = C(N,a) C(N,b)``), which keeps the entries polynomial in N: with
``ℓ = log ||B||``, ``L̂_ij = L_ij exp(ℓ_i - ℓ_j)``, and a state ``rho = sum x̂_j B̂_j``
has ``x̂`` = its Hilbert–Schmidt coordinates.

Nothing here knows an action formula: :class:`symsteady.liouvillian.Superoperator` lists its
terms ``(coefficient, chain)`` and each chain step calls a rule of :mod:`symsteady.algebra`
on NumPy arrays of labels (the same functions the series calls on single keys); targets are
kept where the basis' own validity function holds.

Key order: grouped by the U(1) charge ``q = a - b`` (``q = 0`` last), then by decreasing
``a + b``, then by ``c`` — so the U(1)-symmetric part L0, which keeps q and never raises
``a + b`` without pumping, is block lower triangular, and the dark state is the last key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import scipy.sparse
from scipy.special import gammaln

from .algebra import Basis, Chain, OrbitBasis

Labels = tuple[np.ndarray, ...]
INDEX = np.int32  # labels and positions (a dimension below 2^31)


def log_factorials(n: int) -> np.ndarray:
    """``log k!`` for k = 0..n."""
    return gammaln(np.arange(n + 1, dtype=float) + 1)


def log_binomial(n: np.ndarray | int, k: np.ndarray | int, table: np.ndarray | None = None) -> np.ndarray:
    """``log C(n, k)`` for integers 0 <= k <= n (from a table of ``log k!`` when given)."""
    if table is None:
        table = log_factorials(int(np.max(n)))
    n, k = np.asarray(n), np.asarray(k)
    return table[n] - table[k] - table[n - k]


def all_labels(basis: Basis, n: int) -> Labels:
    """Every valid label at N = n, in the solver's key order (dark state last).

    Blocks (a, b) are ordered by (q == 0, q = a - b, -(a + b)); inside a block (orbit basis)
    c runs upwards. Candidates ``0 <= c <= min(a, b)`` are filtered by the basis' validity."""
    a, b = (x.ravel().astype(INDEX) for x in np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij"))
    q = a - b
    order = np.lexsort((-(a + b), q, q == 0))
    a, b = a[order], b[order]
    if not isinstance(basis, OrbitBasis):
        keep = np.asarray(basis.valid_labels(a, b, n), dtype=bool)
        return a[keep], b[keep]
    sizes = np.minimum(a, b) + 1
    starts = np.cumsum(sizes) - sizes
    a, b = np.repeat(a, sizes), np.repeat(b, sizes)
    c = (np.arange(len(a)) - np.repeat(starts, sizes)).astype(INDEX)
    keep = np.asarray(basis.valid_labels(a, b, c, n), dtype=bool)
    return a[keep], b[keep], c[keep]


@dataclass
class KeySpace:
    """All labels at one N, their positions, and their log Hilbert–Schmidt norms."""

    basis: Basis
    n: int
    labels: Labels = field(init=False)
    table: np.ndarray = field(init=False, repr=False)
    log_norm: np.ndarray = field(init=False, repr=False)
    log_fact: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.labels = all_labels(self.basis, self.n)
        self.table = np.full((self.n + 1,) * len(self.labels), -1, dtype=INDEX)
        self.table[self.labels] = np.arange(self.dim, dtype=INDEX)
        self.log_fact = log_factorials(self.n)
        self.log_norm = 0.5 * sum(log_binomial(nn, kk, self.log_fact) for nn, kk in
                                  self.basis.norm2_binomials(*self.labels, self.n))

    @property
    def dim(self) -> int:
        return len(self.labels[0])

    def index(self, labels: Labels) -> np.ndarray:
        """Positions of valid labels."""
        return self.table[labels]

    def log_population_weight(self) -> np.ndarray:
        """``log w_j`` with ``w = sqrt(T_a T_b)``, ``T_a = Tr B̂`` of block (a, a)'s traced element:
        ``w_j x̂_j`` is on the scale of the populations (``w x̂ = p_a`` on the traced elements),
        the scale on which the moments need accuracy."""
        where, log_tr = self.log_trace()
        per_a = np.full(self.n + 1, -np.inf)
        per_a[self.labels[0][where]] = log_tr
        return 0.5 * (per_a[self.labels[0]] + per_a[self.labels[1]])

    def log_trace(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions j with a nonzero trace, and ``log Tr B̂_j = log C(N, a) - ℓ_j``."""
        where = np.flatnonzero(np.asarray(self.basis.traced(*self.labels), dtype=bool))
        return where, log_binomial(self.n, self.labels[0][where], self.log_fact) - self.log_norm[where]


def run_chain(basis: Basis, chain: Chain, labels: Labels, n: int
              ) -> tuple[np.ndarray, np.ndarray, Labels]:
    """A chain on every label at once: ``(source position, real coefficient, target labels)``,
    one row per surviving path (duplicates not merged). Mirrors :meth:`Basis.chain`."""
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
            parts.append((src[keep], coeff[keep] * cf[keep], tuple(x[keep].astype(INDEX, copy=False) for x in t)))
        if len(parts) == 1:
            src, coeff, targets = parts[0]
            continue
        src = np.concatenate([p[0] for p in parts])
        coeff = np.concatenate([p[1] for p in parts])
        targets = tuple(np.concatenate([p[2][i] for p in parts]) for i in range(len(labels)))
    return src, coeff, targets


def _entries(space: KeySpace, terms: list[tuple[complex, Chain]]
             ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """COO pieces ``(rows, cols, values)`` of ``L̂``, one per nonzero term."""
    for factor, chain in terms:
        if factor == 0:
            continue
        src, cf, targets = run_chain(space.basis, chain, space.labels, space.n)
        rows = space.index(targets)
        scale = np.exp(space.log_norm[rows] - space.log_norm[src])
        yield rows, src, complex(factor) * (cf * scale)


def _csr(space: KeySpace, pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> scipy.sparse.csr_matrix:
    dim = space.dim
    if not pieces:
        return scipy.sparse.csr_matrix((dim, dim), dtype=complex)
    rows, cols, vals = (np.concatenate([p[i] for p in pieces]) for i in range(3))
    out = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(dim, dim))
    out.sum_duplicates()
    out.eliminate_zeros()
    return out


def normalised_matrix(space: KeySpace, terms: list[tuple[complex, Chain]]) -> scipy.sparse.csr_matrix:
    """``L̂`` (normalised basis) of a superoperator given by its terms, as CSR (duplicates summed)."""
    return _csr(space, list(_entries(space, terms)))


def trace_row(space: KeySpace, scale: float) -> tuple[np.ndarray, np.ndarray, float]:
    """The trace row: columns and values ``scale Tr B̂_j / max_j Tr B̂_j``, and the right-hand
    side entry that then makes ``Tr rho = 1``."""
    where, log_tr = space.log_trace()
    top = log_tr.max()
    return where.astype(INDEX), (scale * np.exp(log_tr - top)).astype(complex), float(scale * np.exp(-top))


def _replace_last_row(M: scipy.sparse.csr_matrix, cols: np.ndarray, vals: np.ndarray) -> scipy.sparse.csr_matrix:
    """M with its last row replaced (CSR keeps the last row at the end of its arrays)."""
    start = M.indptr[-2]
    indptr = M.indptr.copy()
    indptr[-1] = start + len(cols)
    return scipy.sparse.csr_matrix((np.concatenate([M.data[:start], vals]),
                                    np.concatenate([M.indices[:start], cols.astype(M.indices.dtype)]), indptr),
                                   shape=M.shape)


def assemble(space: KeySpace, terms0: list[tuple[complex, Chain]], terms1: list[tuple[complex, Chain]]
             ) -> tuple[scipy.sparse.csr_matrix, scipy.sparse.csr_matrix | None, float]:
    """``(A0, A, rhs)``: L̂0 and L̂ = L̂0 + L̂1 with the dark state's (last) row replaced by the
    trace row (``A`` is None when L1 has no term), and the right-hand side entry."""
    L0 = normalised_matrix(space, terms0)
    scale = float(abs(L0.data).max(initial=0.0)) or 1.0
    cols, vals, rhs = trace_row(space, scale)
    A0 = _replace_last_row(L0, cols, vals)
    L1 = normalised_matrix(space, terms1)
    if not L1.nnz:
        return A0, None, rhs
    return A0, _replace_last_row(L0 + L1, cols, vals), rhs
