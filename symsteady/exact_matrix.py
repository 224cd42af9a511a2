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


def log_binomial(n: np.ndarray | int, k: np.ndarray | int) -> np.ndarray:
    """``log C(n, k)`` for integer arrays with 0 <= k <= n (exact enough for N in the thousands)."""
    n = np.asarray(n, dtype=float)
    k = np.asarray(k, dtype=float)
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def all_labels(basis: Basis, n: int) -> Labels:
    """Every valid label at N = n, in the solver's key order (dark state last)."""
    grids = np.meshgrid(*([np.arange(n + 1)] * (3 if isinstance(basis, OrbitBasis) else 2)), indexing="ij")
    flat = tuple(g.ravel() for g in grids)
    keep = np.asarray(basis.valid_labels(*flat, n), dtype=bool)
    labels = tuple(x[keep].astype(np.int64) for x in flat)
    a, b = labels[0], labels[1]
    c = labels[2] if len(labels) == 3 else np.zeros_like(a)
    q = a - b
    order = np.lexsort((c, -(a + b), q, q == 0))
    return tuple(x[order] for x in labels)


@dataclass
class KeySpace:
    """All labels at one N, their positions, and their log Hilbert–Schmidt norms."""

    basis: Basis
    n: int
    labels: Labels = field(init=False)
    table: np.ndarray = field(init=False, repr=False)
    log_norm: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.labels = all_labels(self.basis, self.n)
        self.table = np.full((self.n + 1,) * len(self.labels), -1, dtype=np.int64)
        self.table[self.labels] = np.arange(self.dim)
        self.log_norm = 0.5 * sum(log_binomial(nn, kk) for nn, kk in
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
        return where, log_binomial(self.n, self.labels[0][where]) - self.log_norm[where]


def run_chain(basis: Basis, chain: Chain, labels: Labels, n: int
              ) -> tuple[np.ndarray, np.ndarray, Labels]:
    """A chain on every label at once: ``(source position, real coefficient, target labels)``,
    one row per surviving path (duplicates not merged). Mirrors :meth:`Basis.chain`."""
    src = np.arange(len(labels[0]))
    coeff = np.ones(len(src))
    targets = labels
    for side, rule in chain:
        args = targets if side == "ket" else basis.swap(targets)
        parts = []
        for cf, t in rule(*args, n):
            t = tuple(np.broadcast_to(np.asarray(x, dtype=np.int64), src.shape) for x in t)
            if side == "bra":
                t = basis.swap(t)
            cf = np.broadcast_to(np.asarray(cf, dtype=float), src.shape)
            keep = np.asarray(basis.valid_labels(*t, n), dtype=bool) & (cf != 0)
            parts.append((src[keep], coeff[keep] * cf[keep], tuple(x[keep] for x in t)))
        src = np.concatenate([p[0] for p in parts])
        coeff = np.concatenate([p[1] for p in parts])
        targets = tuple(np.concatenate([p[2][i] for p in parts]) for i in range(len(labels)))
    return src, coeff, targets


def _entries(space: KeySpace, terms: list[tuple[complex, Chain]]
             ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    for factor, chain in terms:
        if factor == 0:
            continue
        src, cf, targets = run_chain(space.basis, chain, space.labels, space.n)
        rows = space.index(targets)
        scale = np.exp(space.log_norm[rows] - space.log_norm[src])
        yield rows, src, complex(factor) * cf * scale


def normalised_matrix(space: KeySpace, terms: list[tuple[complex, Chain]]) -> scipy.sparse.csr_matrix:
    """``L̂`` (normalised basis) of a superoperator given by its terms, as CSR (duplicates summed)."""
    dim = space.dim
    total = scipy.sparse.csr_matrix((dim, dim), dtype=complex)
    for rows, cols, vals in _entries(space, terms):
        part = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(dim, dim))
        total = total + part
    total.eliminate_zeros()
    return total


def with_trace_row(L: scipy.sparse.csr_matrix, space: KeySpace, scale: float
                   ) -> tuple[scipy.sparse.csr_matrix, float]:
    """``L`` with its last row (the dark state's) replaced by the trace row times ``scale /
    max_j Tr B̂_j``; returns the matrix and the right-hand side entry that makes ``Tr rho = 1``."""
    where, log_tr = space.log_trace()
    top = log_tr.max()
    L = L.tocoo()
    keep = L.row != space.dim - 1
    rows = np.concatenate([L.row[keep], np.full(len(where), space.dim - 1)])
    cols = np.concatenate([L.col[keep], where])
    vals = np.concatenate([L.data[keep], scale * np.exp(log_tr - top)])
    M = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=L.shape)
    return M, float(scale * np.exp(-top))
