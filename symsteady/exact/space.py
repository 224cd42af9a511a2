"""The untruncated orbit space at one N: every label, its position, its Hilbert–Schmidt norm.

Every basis element at a given N (orbit basis: ``C(N+3, 3)`` of them; symmetric sector:
``(N+1)^2``) is one unknown. The solver works in the basis normalised by the Hilbert–Schmidt
norm, ``B̂ = B / ||B||`` with ``||B(a,b,c)||^2 = C(N,a) C(a,c) C(N-a, b-c)``
(``||E(a,b)||^2 = C(N,a) C(N,b)``), kept as logarithms (``docs/algorithm/exact-solver.md#exact-normalisation``).

Charge sector: every dissipative process keeps the U(1) charge ``q = a - b`` and a word of H
shifts it by the word's charge, so L maps each class ``q mod g`` to itself, ``g`` the gcd of
the nonzero word charges (:func:`charge_period`; ``g = 0`` without any: ``q = 0`` alone). The
dark state and the trace live at ``q = 0``, so a unique steady state does too: the space holds
only the labels with ``q ≡ 0 (mod g)`` (xyz, tfi: half of them; U(1)-symmetric models: the
``q = 0`` labels), and every consumer reads a label outside it as a zero coefficient
(``docs/algorithm/exact-solver.md#exact-sector``).

Key order: grouped by the U(1) charge ``q = a - b`` (``q = 0`` last), then by decreasing
``a + b``, then by ``c`` — so the U(1)-symmetric part L0, which keeps q and never raises
``a + b`` without pumping, is block lower triangular, and the dark state is the last key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import gammaln

from ..algebra import Basis, OrbitBasis
from ..spinpoly import charge

if TYPE_CHECKING:
    from ..model import Model

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


def charge_period(model: "Model") -> int:
    """``g``: the gcd of the U(1) charges of the model's Hamiltonian words (0 when every word
    keeps the charge). L keeps ``q mod g`` (every process keeps q: its jump operator has one
    charge, so ``L rho L^dag`` keeps it), hence the steady state has ``q ≡ 0 (mod g)``."""
    return math.gcd(*(abs(charge(word)) for word in model.poly), 0)


def in_sector(q: np.ndarray, period: int) -> np.ndarray:
    """Where charges ``q`` lie in the steady state's sector ``q ≡ 0 (mod period)``."""
    return q == 0 if period == 0 else q % period == 0


def all_labels(basis: Basis, n: int, period: int = 1) -> Labels:
    """Every valid label at N = n with charge ``q ≡ 0 (mod period)`` (``period`` 1: all; 0:
    ``q = 0`` only), in the solver's key order (dark state last).

    Blocks (a, b) are ordered by (q == 0, q = a - b, -(a + b)); inside a block (orbit basis)
    c runs upwards. Candidates ``0 <= c <= min(a, b)`` are filtered by the basis' validity."""
    a, b = (x.ravel().astype(INDEX) for x in np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij"))
    q = a - b
    order = np.lexsort((-(a + b), q, q == 0))
    order = order[in_sector(q[order], period)]
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


def sector_dimension(orbit: bool, n: int, period: int = 1) -> int:
    """The number of labels of :func:`all_labels` (``orbit``: the orbit basis, ``C(N+3, 3)``
    in all; else the symmetric sector, ``(N+1)^2`` in all), counted per block (a, b)."""
    a, b = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    sizes = np.minimum(a, b) - np.maximum(0, a + b - n) + 1 if orbit else np.ones_like(a)
    return int(sizes[in_sector(a - b, period)].sum())


def exact_dimension(model: "Model", n: int) -> int:
    """Unknowns of the exact solve at N = n: the labels of the steady state's charge sector in
    the orbit basis (a local process) or the symmetric sector."""
    return sector_dimension(model.has_local_processes, n, charge_period(model))


def log_norms(basis: Basis, labels: Labels, n: int, log_fact: np.ndarray) -> np.ndarray:
    """``log ||B(label)||`` (Hilbert–Schmidt) of each label at N = n, from the basis' binomials."""
    return 0.5 * sum((log_binomial(nn, kk, log_fact) for nn, kk in basis.norm2_binomials(*labels, n)),
                     np.zeros(len(labels[0])))


@dataclass
class KeySpace:
    """The labels at one N with charge ``q ≡ 0 (mod period)``, their positions (-1 in ``table``
    for a label outside the sector), and their log Hilbert–Schmidt norms."""

    basis: Basis
    n: int
    period: int = 1
    labels: Labels = field(init=False)
    table: np.ndarray = field(init=False, repr=False)
    log_norm: np.ndarray = field(init=False, repr=False)
    log_fact: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.labels = all_labels(self.basis, self.n, self.period)
        # per block (a, b): position of its label c = 0 (a block's labels have consecutive c),
        # negative for a block outside the sector; (n+1)^2 entries stay in cache, where a table
        # over (a, b, c) did not (measured: lookups 2x faster at N = 200, 109 MB less at N = 300)
        a, b = self.labels[0], self.labels[1]
        self.table = np.full((self.n + 1, self.n + 1), -(2**30), dtype=INDEX)
        first = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])]
        start = np.flatnonzero(first).astype(INDEX)
        self.table[a[first], b[first]] = start - (self.labels[2][first] if len(self.labels) == 3 else 0)
        self.log_fact = log_factorials(self.n)
        self.log_norm = log_norms(self.basis, self.labels, self.n, self.log_fact)

    @property
    def dim(self) -> int:
        return len(self.labels[0])

    def index(self, labels: Labels) -> np.ndarray:
        """Positions of valid labels (negative for a label outside the sector)."""
        pos = self.table[labels[0], labels[1]]
        return pos + labels[2] if len(labels) == 3 else pos

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
