"""The Husimi function of a permutation-invariant state on the Bloch sphere.

``Q(θ, φ) = <θ, φ|rho|θ, φ>`` with the spin-coherent product state
``|θ, φ> = ⊗_i (cos(θ/2)|up> + e^{iφ} sin(θ/2)|down>)`` (mean spin along
``(sin θ cos φ, sin θ sin φ, cos θ)``). In the orbit basis it is a closed sum over the labels:
``Q = Σ x(a,b,c) ||B(a,b,c)||² conj(α)^{N-a} β^a α^{N-b} β^b`` with ``β = cos(θ/2)``,
``α = e^{iφ} sin(θ/2)`` (``docs/algorithm/metrology.md#metrology-husimi``); evaluated in log
space. ``(N+1)/(4π) ∫ Q dΩ = Tr(P_{N/2} rho)`` (1 in the symmetric sector).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .algebra import Basis
from .errors import ParameterError
from .exact import ExactSolution, solve_at
from .exact.dicke import normalised_arrays
from .model import Model
from .points import check_points, point_field
from .series import make_series


@dataclass
class OrbitState:
    """A state as normalised orbit coefficients: ``rho = Σ values[i] B̂_i``, ``log_norm = log ||B_i||``."""

    basis: Basis
    n: int
    labels: tuple[np.ndarray, ...]
    values: np.ndarray
    log_norm: np.ndarray

    @classmethod
    def from_solution(cls, solution: ExactSolution) -> "OrbitState":
        return cls(solution.basis, solution.space.n, solution.space.labels, np.asarray(solution.x, dtype=complex),
                   solution.space.log_norm)

    @classmethod
    def from_operator(cls, basis: Basis, n: int, op: Mapping[Any, complex]) -> "OrbitState":
        return cls(basis, n, *normalised_arrays(basis, n, op))


def model_state(model: Model, point: Mapping[str, Any], method: str = "exact", order: int | None = None
                ) -> OrbitState:
    """The exact steady state (``method="exact"``) or the perturbative one summed to ``order``
    at λ (``"full"`` or ``"pure"``) at one point."""
    values = check_points(model, [point])[0]
    if method == "exact":
        return OrbitState.from_solution(solve_at(model, values))
    if order is None:
        raise ParameterError(f"method {method!r} needs an order K")
    field, convert, subs = point_field(model, values)
    series = make_series(model, field, convert, order, method)
    lam = 1.0 if model.formal else float(subs[model.small])
    total: dict[Any, complex] = {}
    for k in range(order + 1):
        for key, v in series[k].items():
            total[key] = total.get(key, 0) + complex(v) * lam**k
    return OrbitState.from_operator(series.basis, int(values["N"]), total)


def husimi(state: OrbitState, theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """``Q(θ, φ)`` at arrays of polar angles θ ∈ [0, π] and azimuths φ (broadcast together)."""
    theta, phi = np.broadcast_arrays(np.asarray(theta, dtype=float), np.asarray(phi, dtype=float))
    n = state.n
    a, b = (np.asarray(x, dtype=int) for x in state.labels[:2])
    # sum over c first: w(a, b) = Σ_c x̂ ||B|| (the c-dependence is only in the weights)
    blocks: dict[tuple[int, int], list[int]] = {}
    for i in np.flatnonzero(state.values):
        blocks.setdefault((int(a[i]), int(b[i])), []).append(int(i))
    with np.errstate(divide="ignore"):
        log_s, log_c = np.log(np.sin(theta / 2)), np.log(np.abs(np.cos(theta / 2)))
    out = np.zeros(theta.shape)
    for (ka, kb), idx in blocks.items():
        top = float(np.max(state.log_norm[idx]))
        weight = complex(np.sum(state.values[idx] * np.exp(state.log_norm[idx] - top)))
        down, up = 2 * n - ka - kb, ka + kb
        log_mag = top + (down * log_s if down else 0.0) + (up * log_c if up else 0.0)
        out += (weight * np.exp(1j * phi * (ka - kb))).real * np.exp(log_mag)
    return out


def sphere_integral(state: OrbitState) -> float:
    """``(N+1)/(4π) ∫ Q dΩ`` by a quadrature exact for Q (degree N in the Cartesian coordinates)."""
    n = state.n
    x, w = np.polynomial.legendre.leggauss(n // 2 + 2)
    phi = 2 * np.pi * np.arange(2 * n + 2) / (2 * n + 2)
    T, P = np.meshgrid(np.arccos(x), phi, indexing="ij")
    Q = husimi(state, T, P)
    return float((n + 1) / (4 * np.pi) * np.sum(w[:, None] * Q) * 2 * np.pi / len(phi))


__all__ = ["OrbitState", "husimi", "model_state", "sphere_integral"]
