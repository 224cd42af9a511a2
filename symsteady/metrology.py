"""Quantum Fisher information, purity and entropy of a permutation-invariant state.

From the Dicke blocks ``rho = ⊕_j rho_j ⊗ 1_{d_j}`` (:mod:`symsteady.exact.dicke`): the
collective spin acts inside each copy of each block, so with ``rho_j = Σ_k p_k |k><k|``

    F_ab = Σ_j d_j · 2 Σ_{k,l: p_k+p_l>0} (p_k - p_l)²/(p_k + p_l) Re(<k|S_a|l><l|S_b|k>),

``purity = Σ_j d_j Tr rho_j²`` and ``entropy = -Σ_j d_j Tr rho_j ln rho_j`` (natural log).
``fq_N`` is the largest eigenvalue of F divided by N, ``fq_direction`` its unit eigenvector
(sign: largest component positive). For any state ``F_Q/N >= 1/ξ²_R`` (Pezzè–Smerzi).
``docs/algorithm/metrology.md#metrology-qfi``. Exact rows carry ``fq_N_error`` and
``purity_error`` (:func:`exact_metrology`, ``docs/algorithm/metrology.md#metrology-error``).
"""

from __future__ import annotations

import math
from functools import lru_cache, wraps
from typing import Any, Callable, ParamSpec, Sequence, TypeVar

import numpy as np

from .algebra import Basis
from .exact import ERROR_FLOOR_ULPS, ERROR_SAFETY, ExactSolution
from .exact.dicke import Blocks, dicke_blocks_from_labels, dicke_blocks_from_operator
from .model import Model
from .observables import series_moments
from .points import Point, point_field
from .series import make_series
from .threads import single_blas_thread

#: The keys a ``--qfi`` row adds (the errors: None on perturbative rows).
QFI_KEYS = ("qfi", "fq_N", "fq_direction", "purity", "entropy", "fq_N_error", "purity_error")

#: Rounding probes of the exact metrology: how many, and the factor on their largest change
#: (``docs/algorithm/metrology.md#metrology-error``).
PROBE_COUNT, PROBE_SAFETY = 2, 10.0


@lru_cache(maxsize=64)
def spin_matrices(j: float, lowest: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """S_x, S_y, S_z of spin j, rows and columns m = j, j-1, ..., -j (``qutip.jmat`` order);
    with ``lowest``, only the last ``lowest`` rows and columns (m = -j + lowest - 1, ..., -j)."""
    size = int(round(2 * j)) + 1
    m = -j + np.arange(min(size, lowest or size))[::-1]
    raise_ = np.diag(np.sqrt(j * (j + 1) - m[1:] * (m[1:] + 1)), 1).astype(complex)  # <m+1|S+|m>
    lower = raise_.conj().T
    return (raise_ + lower) / 2, (raise_ - lower) / 2j, np.diag(m).astype(complex)


Spectra = list[tuple[float, int, np.ndarray, np.ndarray]]
_Args = ParamSpec("_Args")
_Result = TypeVar("_Result")


def block_spectra(blocks: Blocks) -> Spectra:
    """``(j, d_j, p, U)`` per block: eigenvalues (negative rounding clipped to 0) and vectors."""
    out = []
    for j, (rho, d) in sorted(blocks.items(), reverse=True):
        p, U = np.linalg.eigh(0.5 * (rho + rho.conj().T))
        out.append((j, d, np.clip(p, 0.0, None), U))
    return out


def _one_blas_thread(func: Callable[_Args, _Result]) -> Callable[_Args, _Result]:
    """Run ``func`` with one BLAS thread: many small matrices, for which threads on busy cores
    only wait (``symsteady.threads``)."""
    @wraps(func)
    def run(*args: _Args.args, **kwargs: _Args.kwargs) -> _Result:
        with single_blas_thread():
            return func(*args, **kwargs)
    return run


def _pair_sum(spectra: Spectra, kernel: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """``Σ_j d_j Σ_{k,l: p_k+p_l>0} kernel(p_k, p_l) Re(<k|S_a|l><l|S_b|k>)`` (3×3)."""
    out = np.zeros((3, 3))
    for j, d, p, U in spectra:
        if not np.any(p > 0):
            continue
        S = [U.conj().T @ s @ U for s in spin_matrices(j, len(p))]
        pk, pl = p[:, None], p[None, :]
        total = pk + pl
        weight = np.where(total > 0, kernel(pk, np.where(total > 0, pl, 1.0)), 0.0)
        for a in range(3):
            for b in range(a, 3):
                out[a, b] += d * np.sum(weight * (S[a] * S[b].T).real)
                out[b, a] = out[a, b]
    return out


def _qfi_kernel(pk: np.ndarray, pl: np.ndarray) -> np.ndarray:
    return 2 * (pk - pl) ** 2 / (pk + pl)


def _harmonic_kernel(pk: np.ndarray, pl: np.ndarray) -> np.ndarray:
    return pk * pl / (pk + pl)


@_one_blas_thread
def qfi_matrix(blocks: Blocks) -> np.ndarray:
    """The 3×3 quantum Fisher information matrix of the collective spin (real symmetric)."""
    return _pair_sum(block_spectra(blocks), _qfi_kernel)


def _purity(spectra: Spectra) -> float:
    return float(sum(d * np.sum(p**2) for _, d, p, _ in spectra))


def _entropy(spectra: Spectra) -> float:
    return -float(sum(d * np.sum(p[p > 0] * np.log(p[p > 0])) for _, d, p, _ in spectra))


@_one_blas_thread
def purity(blocks: Blocks) -> float:
    """``Tr rho² = Σ_j d_j Tr rho_j²``."""
    return _purity(block_spectra(blocks))


@_one_blas_thread
def entropy(blocks: Blocks) -> float:
    """Von Neumann entropy ``-Tr rho ln rho = -Σ_j d_j Σ_k p_k ln p_k``."""
    return _entropy(block_spectra(blocks))


def largest(F: np.ndarray, N: int) -> tuple[float, np.ndarray]:
    """``(λ_max(F)/N, unit eigenvector)``, the eigenvector's largest component positive."""
    w, v = np.linalg.eigh(F)
    u = v[:, -1]
    return float(w[-1]) / N, u * np.sign(u[np.argmax(np.abs(u))])


@_one_blas_thread
def metrology(blocks: Blocks, N: int) -> dict[str, Any]:
    """The ``--qfi`` keys of a row: qfi (3×3 list), fq_N, fq_direction, purity, entropy."""
    spectra = block_spectra(blocks)
    F = _pair_sum(spectra, _qfi_kernel)
    fq, direction = largest(F, N)
    return {"qfi": F.tolist(), "fq_N": fq, "fq_direction": direction.tolist(),
            "purity": _purity(spectra), "entropy": _entropy(spectra)}


def _fq_purity(blocks: Blocks, N: int) -> tuple[float, float]:
    spectra = block_spectra(blocks)
    return largest(_pair_sum(spectra, _qfi_kernel), N)[0], _purity(spectra)


def rounding_probes(values: np.ndarray, log_norm: np.ndarray, count: int = PROBE_COUNT, seed: int = 0
                    ) -> list[np.ndarray]:
    """``count`` perturbations of normalised coefficients at the size of their rounding in the
    Dicke map, random signs: ``δ_i = ±eps (2 + 4 log||B_i||) |x̂_i|``. The map scales
    ``y_c = x̂_c exp(-log||B_c|| - shift)``, ``0 <= log||B_c|| + shift <= log||B_c||``, with an
    exponent summed from log-factorials: relative errors of a few ``eps log||B_c||``, which the
    finite differences then amplify (``docs/algorithm/metrology.md#metrology-error``)."""
    rng = np.random.default_rng(seed)
    size = float(np.finfo(float).eps) * (2.0 + 4.0 * np.abs(log_norm)) * np.abs(values)
    return [size * rng.choice((-1.0, 1.0), size=len(values)) for _ in range(count)]


def exact_metrology(solution: ExactSolution) -> dict[str, Any]:
    """The ``--qfi`` keys of an exact row, with ``fq_N_error`` and ``purity_error``
    (:func:`metrology_with_errors` of the solution's coefficients and error directions:
    :meth:`~symsteady.exact.solve.SolveInfo.error_directions`)."""
    space = solution.space
    return metrology_with_errors(space.basis, space.n, space.labels, solution.x, space.log_norm,
                                 solution.info.error_directions())


@_one_blas_thread
def metrology_with_errors(basis: Basis, n: int, labels: tuple[np.ndarray, ...], values: np.ndarray,
                          log_norm: np.ndarray, directions: Sequence[Sequence[np.ndarray]] = ()) -> dict[str, Any]:
    """:func:`metrology` of ``rho = Σ values[i] B̂_i`` (as for
    :func:`~symsteady.exact.dicke.dicke_blocks_from_labels`) with error bars ``fq_N_error`` and
    ``purity_error`` (``docs/algorithm/metrology.md#metrology-error``): :data:`PROBE_SAFETY`
    times the largest change under :func:`rounding_probes` (the map's cancellation at large
    multiplicity), plus ``ERROR_SAFETY`` times the changes along the solver's error
    ``directions`` (groups, the largest change of each: its refinement step and the responses
    to L̂'s rounding, as for ξ²_R), plus the rounding floor ``ERROR_FLOOR_ULPS eps N`` times
    ``max(1, fq_N)`` and the purity."""

    def blocks_of(x: np.ndarray) -> Blocks:
        return dicke_blocks_from_labels(basis, n, labels, x, log_norm)

    blocks = blocks_of(values)
    row = metrology(blocks, n)
    value = np.array([row["fq_N"], row["purity"]])

    def change(delta: np.ndarray) -> np.ndarray:
        moved = blocks_of(delta)
        shifted = {j: (rho + moved[j][0], d) for j, (rho, d) in blocks.items()}
        return np.abs(np.array(_fq_purity(shifted, n)) - value)

    error = PROBE_SAFETY * np.max([change(p) for p in rounding_probes(values, log_norm)], axis=0)
    for group in directions:
        error += ERROR_SAFETY * np.max([change(-v) for v in group], axis=0)
    error += ERROR_FLOOR_ULPS * float(np.finfo(float).eps) * n * np.array([max(1.0, abs(value[0])), value[1]])
    row["fq_N_error"], row["purity_error"] = float(error[0]), float(error[1])
    return row


def _harmonic(spectra: Spectra) -> tuple[np.ndarray, np.ndarray, float]:
    """For a positive operator σ = ⊕ σ_j ⊗ 1_{d_j} given by its spectra: ``H_ab = Σ_j d_j
    Σ_kl q_k q_l/(q_k + q_l) Re(<k|S_a|l><l|S_b|k>)``, ``t_a = Tr σ S_a`` and ``s = Tr σ``."""
    t, s = np.zeros(3), 0.0
    for j, d, q, U in spectra:
        S = [U.conj().T @ x @ U for x in spin_matrices(j, len(q))]
        t += d * np.array([float(np.sum(q * np.diag(S[a]).real)) for a in range(3)])
        s += d * float(np.sum(q))
    return _pair_sum(spectra, _harmonic_kernel), t, s


@_one_blas_thread
def _expansion(model: Model, order: int, values: Point) -> tuple[list[np.ndarray], float, Spectra]:
    """``(F_0, …, F_order, λ, spectra of σ₂)`` (no spectra below order 2); see :func:`qfi_series`."""
    if order not in (0, 1, 2):
        raise ValueError("the perturbative QFI is implemented to order 2")
    field, convert, subs = point_field(model, values)
    series = make_series(model, field, convert, order, "full")
    lam = 1.0 if model.formal else float(subs[model.small])
    n = int(values["N"])
    mean, second = series_moments(series, order)
    cov = [[second[a][b] - mean[a] * mean[b] for b in range(3)] for a in range(3)]
    F = [np.array([[4 * complex(cov[a][b].c[k]).real for b in range(3)] for a in range(3)]) for k in range(order + 1)]
    if order < 2:
        return F, lam, []
    top = n / 2
    # ρ₁, ρ₂ reach few excitations: their blocks restricted to the states they reach (plus one,
    # for S|D>) are exact, at any N (docs/algorithm/metrology.md#metrology-perturbative)
    reach = max((max(key[:2]) for k in (1, 2) for key in series[k]), default=0) + 2
    rho1 = dicke_blocks_from_operator(series.basis, n, series[1], lowest=reach)
    rho2 = dicke_blocks_from_operator(series.basis, n, series[2], lowest=reach)
    width = min(n + 1, reach)
    psi1 = rho1[top][0][:, -1].copy() if top in rho1 else np.zeros(width, dtype=complex)
    psi1[-1] = 0.0
    sigma = {j: (block.copy(), d) for j, (block, d) in rho2.items()}
    sym = (sigma[top][0] if top in sigma else np.zeros((width, width), dtype=complex)) - np.outer(psi1, psi1.conj())
    sym[-1, :] = 0.0
    sym[:, -1] = 0.0
    sigma[top] = (sym, 1)
    spectra = block_spectra(sigma)
    H, t, s = _harmonic(spectra)
    ops = spin_matrices(top, sym.shape[0])
    cross = np.array([[(ops[a] @ sym @ ops[b])[-1, -1].real for b in range(3)] for a in range(3)])
    m0 = np.array([0.0, 0.0, -n / 2])
    F[2] = F[2] + 4 * (np.outer(m0, t) + np.outer(t, m0) - s * np.outer(m0, m0)) - 16 * cross - 8 * H
    return F, lam, spectra


def qfi_series(model: Model, order: int, values: Point) -> tuple[list[np.ndarray], float]:
    """Coefficients ``F_0, …, F_order`` (order <= 2) of the consistent expansion of the QFI
    matrix at a checked point, and the value of λ (``docs/algorithm/metrology.md#metrology-perturbative``).

    ``F = 4C + 4λ²(m₀tᵀ + t m₀ᵀ - s m₀m₀ᵀ) - 16λ² Re<D|S_a σ₂ S_b|D> - 8λ² H(σ₂)`` with C the
    covariance (truncated at ``order``), ``σ₂ = P(ρ₂ - |ψ₁><ψ₁|)P`` the mixed part of ρ₂
    (``P = 1 - |D><D|``, ``ρ₁ = |ψ₁><D| + |D><ψ₁|``), ``t = Tr σ₂ S``, ``s = Tr σ₂``."""
    F, lam, _ = _expansion(model, order, values)
    return F, lam


def _mixed_purity_entropy(spectra: Spectra, lam: float) -> tuple[float, float | None]:
    """Purity and entropy of ``ρ = |ψ><ψ| + λ²σ₂ + O(λ³)`` from the spectra of σ₂
    (``docs/algorithm/metrology.md#metrology-perturbative-purity``).

    ``purity = 1 - 2λ² Tr σ₂`` (error O(λ³)); with ``p = λ²μ`` over the eigenvalues μ of σ₂
    (multiplicities d_j) and ``w = Σ p``, ``entropy = -Σ p ln p - (1 - w) ln(1 - w)``
    (error O(λ³ ln λ); the leading term is λ² ln λ, not analytic). Entropy None where
    ``w >= 1`` (far outside the expansion's range)."""
    p = [(d, lam**2 * q[q > 0]) for _, d, q, _ in spectra]
    w = float(sum(d * np.sum(x) for d, x in p))
    purity = 1.0 - 2.0 * w
    if w >= 1.0:
        return purity, None
    entropy = 0.0 - float(sum(d * np.sum(x * np.log(x)) for d, x in p)) - ((1.0 - w) * math.log1p(-w) if w else 0.0)
    return purity, entropy


def perturbative_metrology(model: Model, order: int, values: Point) -> dict[str, Any]:
    """The ``--qfi`` keys of a perturbative row (orders 1 and 2): F summed at λ, its largest
    eigenvalue / N and direction, and purity and entropy to the same order (at order 1 the
    state is pure to that order: 1 and 0; at order 2 :func:`_mixed_purity_entropy`). Error
    bars None: the difference between orders is an estimate, not a bound."""
    coeffs, lam, spectra = _expansion(model, order, values)
    F = sum(c * lam**k for k, c in enumerate(coeffs))
    fq, direction = largest(F, int(values["N"]))
    purity, entropy = _mixed_purity_entropy(spectra, lam)
    return {"qfi": F.tolist(), "fq_N": fq, "fq_direction": direction.tolist(), "purity": purity, "entropy": entropy,
            "fq_N_error": None, "purity_error": None}


__all__ = ["PROBE_COUNT", "PROBE_SAFETY", "QFI_KEYS", "entropy", "exact_metrology", "largest", "metrology",
           "metrology_with_errors", "perturbative_metrology", "purity", "qfi_matrix", "qfi_series", "rounding_probes",
           "spin_matrices"]
