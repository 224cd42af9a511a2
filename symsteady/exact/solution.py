"""An exact steady state in the normalised orbit basis, and what is read off it.

``rho = sum_j x[j] B̂_j`` with ``B̂_j`` the Hilbert–Schmidt-normalised basis of
:mod:`symsteady.exact.space`; expectations ``Tr(word rho)`` run the word's chain on the labels
near the diagonal and trace in log space (no overflow at large N); moments and squeezing come
from the same observable code as the series (:mod:`symsteady.observables`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..algebra import Basis, Operator
from ..fields import ComplexField
from ..observables import exact_observables, exact_xi2_R, moments_from_expectations
from ..spinpoly import Word
from .dicke import Blocks, dicke_blocks_from_labels, piqs_matrix
from .matrix import run_chain
from .solve import SolveInfo
from .space import KeySpace, log_binomial


def trace_functional(space: KeySpace, word: Word) -> tuple[np.ndarray, np.ndarray]:
    """``(positions, weights)`` with ``Tr(word rho) = sum(weights * x[positions])`` for every
    state x on ``space``: the word's chain on the labels near the diagonal, traced in log space;
    computed once per (space, word) and kept on the space (a sweep's points at one N share it)."""
    cache = space.__dict__.setdefault("_trace_functionals", {})
    if word in cache:
        return cache[word]
    labels, n, basis = space.labels, space.n, space.basis
    reach = len(word)
    near = np.abs(labels[0] - labels[1]) <= reach
    if len(labels) == 3:
        near &= np.minimum(labels[0], labels[1]) - labels[2] <= reach
    near = np.flatnonzero(near)
    src, cf, targets = run_chain(basis, basis.word_chain(word, "ket"), tuple(lab[near] for lab in labels), n)
    traced = np.asarray(basis.traced(*targets), dtype=bool)
    pos = near[src[traced]]
    log_ratio = log_binomial(n, targets[0][traced], space.log_fact) - space.log_norm[pos]
    cache[word] = pos, cf[traced] * np.exp(log_ratio)
    return cache[word]


def real_moments(space: KeySpace, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean spin ``(..., 3)`` and symmetrised second moments ``(..., 3, 3)`` of the states in
    X's rows (``(dim,)``: one state; ``(k, dim)``: k states, the arithmetic on arrays over them).
    A state's numbers do not depend on the states read with it (:func:`_weighted_sum`)."""
    def expectation(word: Word) -> Any:
        pos, weight = trace_functional(space, word)
        return _weighted_sum(weight, X[..., pos])

    mean, second = moments_from_expectations(ComplexField(space.n), expectation)
    return (np.real(np.stack(mean, axis=-1)),
            np.real(np.stack([np.stack(row, axis=-1) for row in second], axis=-2)))


class _Linear(ComplexField):
    """Numbers combined as linear functionals: "conj" is the identity, so the moments' real
    parts ``(x + conj x)/2`` keep the complex functional c whose ``Re(c·x)`` they are."""

    def conj(self, x: Any) -> Any:
        return x


def moment_functionals(space: KeySpace) -> tuple[np.ndarray, np.ndarray]:
    """Complex vectors ``c_a`` ``(3, dim)`` and ``c_ab`` ``(3, 3, dim)`` with mean spin
    ``m_a = Re(c_a·x)`` and second moments ``S_ab = Re(c_ab·x)`` for every state x on ``space``
    (the traces of :func:`real_moments`, as dense vectors)."""
    def expectation(word: Word) -> np.ndarray:
        pos, weight = trace_functional(space, word)
        return np.bincount(pos, weight, minlength=space.dim).astype(complex)

    mean, second = moments_from_expectations(_Linear(space.n), expectation)
    return np.array(mean), np.array([[second[a][b] for b in range(3)] for a in range(3)])


#: Central differences of ξ²_R in the moments: steps of this size relative to N (mean spin)
#: and N^2 (second moments).
GRADIENT_STEP = 1e-6


def xi2_R_gradient(space: KeySpace, x: np.ndarray) -> np.ndarray | None:
    """G with ``ξ²_R(x + δ) - ξ²_R(x) = Re(G·δ) + O(δ²)``: central differences of ξ²_R in the
    nine moments, times their functionals (:func:`moment_functionals`); None where ξ²_R is
    undefined (no mean spin)."""
    n = space.n
    mean, second = real_moments(space, x)
    if not np.isfinite(exact_xi2_R(n, mean, second)):
        return None
    c_mean, c_second = moment_functionals(space)
    G = np.zeros(space.dim, dtype=complex)
    for a in range(3):
        h = GRADIENT_STEP * n
        step = np.eye(3)[a] * h
        G += float(exact_xi2_R(n, mean + step, second) - exact_xi2_R(n, mean - step, second)) / (2 * h) * c_mean[a]
        for b in range(a, 3):
            h = GRADIENT_STEP * n ** 2
            step = np.zeros((3, 3))
            step[a, b] = step[b, a] = h
            slope = float(exact_xi2_R(n, mean, second + step) - exact_xi2_R(n, mean, second - step)) / (2 * h)
            G += slope * c_second[a, b]
    return G


def _weighted_sum(weight: np.ndarray, values: np.ndarray) -> Any:
    """``sum_k weight_k values[..., k]`` for real weights, state by state: real and imaginary
    parts apart, each a product per entry and numpy's pairwise sum of one contiguous vector,
    whose order follows the index — the same bits for the same values wherever they lie in
    memory and whatever other states are read with them (BLAS' dot product depended on the
    alignment, and a sum along an axis of a 2-d array on the number of rows)."""
    if values.ndim > 1:
        return np.array([_weighted_sum(weight, row) for row in values])
    return complex((weight * values.real).sum(), (weight * values.imag).sum())


@dataclass
class ExactSolution:
    """An exact steady state ``rho = sum_j x[j] B̂_j`` in the normalised basis of ``space``
    (made by :func:`symsteady.exact_solve`).

    Attributes
    ----------
    space : KeySpace
        Every orbit label at this N and its Hilbert–Schmidt norm.
    x : numpy.ndarray
        The state's coordinates in the normalised basis.
    info : SolveInfo
        How it was obtained: method, iterations, backward error, timings.
    """

    space: KeySpace
    x: np.ndarray
    info: SolveInfo

    @property
    def basis(self) -> Basis:
        return self.space.basis

    def coefficients(self) -> Operator:
        """Orbit coefficients in the plain (unnormalised) basis, ``{key: complex}``, nonzero only."""
        values = self.x * np.exp(-self.space.log_norm)
        keep = np.flatnonzero(values)
        keys = zip(*(lab[keep].tolist() for lab in self.space.labels))
        return dict(zip(keys, values[keep].tolist()))

    def expect(self, word: Word) -> complex:
        """``Tr(word rho)``: the word's chain on the labels near the diagonal, traced in log space."""
        pos, weight = trace_functional(self.space, word)
        return complex(_weighted_sum(weight, self.x[pos]))

    def moments(self) -> tuple[list[complex], list[list[complex]]]:
        """Mean spin and symmetrised second moments (the observable code of the series)."""
        return moments_from_expectations(ComplexField(self.space.n), self.expect)

    def observables(self) -> dict[str, Any]:
        """Squeezing, direction, mean, covariance and rs_gap (the keys of an ``evaluate`` row;
        read as a batch of one, so the numbers are those of any batch: :func:`exact_observables_of`)."""
        return exact_observables_of([self])[0]

    def dicke_blocks(self) -> Blocks:
        """``{j: (rho_j, d_j)}`` with ``rho = ⊕_j rho_j ⊗ 1_{d_j}`` and ``Σ_j d_j Tr rho_j = 1``
        (``rho_j``: one copy, rows m = j..-j; piqs stores ``d_j rho_j``). The symmetric sector
        is the single block j = N/2 (``docs/algorithm/metrology.md#metrology-blocks``)."""
        return dicke_blocks_from_labels(self.basis, self.space.n, self.space.labels, self.x, self.space.log_norm)

    def to_qutip(self) -> Any:
        """The state as a ``qutip.Qobj`` in piqs' Dicke basis (needs qutip:
        ``pip install 'symsteady[qutip]'``)."""
        from ..qutip_export import dicke_qobj

        return dicke_qobj(piqs_matrix(self.dicke_blocks(), self.space.n))


def exact_observables_of(solutions: Sequence[ExactSolution]) -> list[dict[str, Any]]:
    """``observables()`` of several solutions, the states on one space read together
    (:func:`real_moments`); a state's numbers are the same in any batch."""
    out: list[dict[str, Any]] = [{} for _ in solutions]
    for space, where in by_space(solutions):
        obs = exact_observables(space.n, *real_moments(space, np.stack([solutions[i].x for i in where])))
        for j, i in enumerate(where):
            out[i] = {k: v[j] for k, v in obs.items()}
    return out


def by_space(solutions: Sequence[ExactSolution]) -> list[tuple[KeySpace, list[int]]]:
    """The solutions' positions grouped by the space they live on (first appearance first)."""
    groups: dict[int, tuple[KeySpace, list[int]]] = {}
    for i, s in enumerate(solutions):
        groups.setdefault(id(s.space), (s.space, []))[1].append(i)
    return list(groups.values())
