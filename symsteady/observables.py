"""Moments, covariance and spin squeezing — by consistent expansion, or from exact moments.

Conventions (``docs/algorithm/conventions.md#conventions-squeezing``): mean ``m = <S>``, covariance ``C_ab = <{S_a, S_b}>/2 - m_a m_b``.
For the plane ⊥ m: ``e1`` is the normalised projection of x̂ (ŷ if m ∥ x̂), ``e2 = e1 × m̂``,
``u_θ = cos θ e1 + sin θ e2``. Any squeezing parameter ``P(λ) u_θᵀ C u_θ`` equals
``a + b cos 2θ + c sin 2θ``; its minimum is ``a - sqrt(b² + c²)`` at
``θ = atan2(-c, -b)/2 ∈ (-π/2, π/2]`` (NaN when b = c = 0: no preferred direction).
Wineland ``ξ²_R``: ``P = N/|m|²``; Kitagawa–Ueda ``ξ²_S``: ``P = 4/N``.
``rs_gap = 4 det C⊥ / |m|² - 1`` (0 for a minimal-uncertainty state).

At order K, a, b, c and rs_gap are expanded in λ to order K *as a whole* (frame, normalisation
and numerator together, ``docs/algorithm/squeezing.md``); the same formulas serve exact moments, as plain numbers.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import sympy

from .algebra import Basis, Operator
from .fields import ComplexField, Field
from .powerseries import PowerSeries

AXES = "xyz"
QUADRATIC_KEYS = ("a_R", "b_R", "c_R", "a_S", "b_S", "c_S", "rs_gap")


_COMPLEX_LETTERS = [{"p": 0.5 + 0j, "m": 0.5 + 0j}, {"p": -0.5j, "m": 0.5j}, {"z": 1.0 + 0j}]


def _letters(F: Field) -> list[dict[str, Any]]:
    """S_x, S_y, S_z as combinations of the letters p (S+), m (S-), z."""
    if isinstance(F, ComplexField):  # the same numbers without sympy (0.3 ms a point of a map)
        return _COMPLEX_LETTERS
    half = F.convert(sympy.Rational(1, 2))
    minus_i_half = F.convert(-sympy.I / 2)
    return [{"p": half, "m": half}, {"p": minus_i_half, "m": -minus_i_half}, {"z": F.one}]


def operator_moments(basis: Basis, rho: Operator) -> tuple[list[Any], list[list[Any]]]:
    """``Tr(S_a rho)`` and ``Tr({S_a, S_b} rho)/2`` (real parts) for one operator rho."""
    return moments_from_expectations(basis.F, lambda word: basis.expect(word, rho))


def moments_from_expectations(F: Field, expectation: Callable[[tuple[str, ...]], Any]
                              ) -> tuple[list[Any], list[list[Any]]]:
    """Mean spin and symmetrised second moments (real parts) from ``expectation(word) =
    Tr(word rho)`` for words of one or two letters p (S+), m (S-), z — any state representation."""
    comb = _letters(F)
    words: dict[tuple[str, ...], Any] = {}

    def expect(word: tuple[str, ...]) -> Any:
        if word not in words:
            words[word] = expectation(word)
        return words[word]

    def real(x: Any) -> Any:
        return (x + F.conj(x)) / 2

    mean = [real(sum((c * expect((l,)) for l, c in comb[a].items()), F.zero)) for a in range(3)]
    second = [[F.zero] * 3 for _ in range(3)]
    for a in range(3):
        for b in range(a, 3):
            total = F.zero
            for l1, c1 in comb[a].items():
                for l2, c2 in comb[b].items():
                    total = total + c1 * c2 * (expect((l1, l2)) + expect((l2, l1))) / 2
            second[a][b] = second[b][a] = real(total)
    return mean, second


def series_moments(series: Any, order: int) -> tuple[list[PowerSeries], list[list[PowerSeries]]]:
    """Mean spin and second moments as power series to the given order."""
    per_order = [operator_moments(series.basis, series[k]) for k in range(order + 1)]
    mean = [PowerSeries([per_order[k][0][a] for k in range(order + 1)]) for a in range(3)]
    second = [[PowerSeries([per_order[k][1][a][b] for k in range(order + 1)]) for b in range(3)]
              for a in range(3)]
    return mean, second


def _dot(u: Sequence[Any], v: Sequence[Any]) -> Any:
    return u[0] * v[0] + u[1] * v[1] + u[2] * v[2]


def _form(u: Sequence[Any], C: Sequence[Sequence[Any]], v: Sequence[Any]) -> Any:
    return _dot(u, [_dot(row, v) for row in C])


def quadratics(mean: Sequence[Any], second: Sequence[Sequence[Any]] | None, N: Any,
               sqrt: Callable[[Any], Any], along_y: bool = False,
               cov: Sequence[Sequence[Any]] | None = None) -> dict[str, Any]:
    """a, b, c of ξ²_R and ξ²_S, rs_gap and the covariance, from mean and second moments.

    Works on plain numbers and on :class:`PowerSeries` alike (then everything is expanded
    consistently). ``sqrt`` gives |m| from |m|²; ``along_y`` uses ŷ for the frame (m ∥ x̂).
    ``cov`` (instead of ``second``) gives the covariance directly, e.g. from moments of
    ``Sz + N/2``, which have no ``N²`` terms to cancel.
    """
    m = list(mean)
    if cov is not None:
        C = [list(row) for row in cov]
    else:
        C = [[second[i][j] - m[i] * m[j] for j in range(3)] for i in range(3)]
    m2 = _dot(m, m)
    inv_m2 = 1 / m2
    axis = 1 if along_y else 0
    p = [(1 if i == axis else 0) - m[axis] * m[i] * inv_m2 for i in range(3)]
    q = [p[1] * m[2] - p[2] * m[1], p[2] * m[0] - p[0] * m[2], p[0] * m[1] - p[1] * m[0]]
    inv_p2 = 1 / (1 - m[axis] * m[axis] * inv_m2)
    e11 = _form(p, C, p) * inv_p2
    e22 = _form(q, C, q) * inv_p2 * inv_m2
    e12 = _form(p, C, q) * inv_p2 / sqrt(m2)
    out = {"cov": C}
    for tag, pref in (("R", N * inv_m2), ("S", 4 / N)):
        out[f"a_{tag}"] = pref * (e11 + e22) / 2
        out[f"b_{tag}"] = pref * (e11 - e22) / 2
        out[f"c_{tag}"] = pref * e12
    out["rs_gap"] = 4 * (e11 * e22 - e12 * e12) * inv_m2 - 1
    return out


def series_quadratics(series: Any, order: int) -> dict[str, Any]:
    """The consistent order-K expansion: PowerSeries for a, b, c, rs_gap, mean and covariance."""
    F = series.F
    mean, second = series_moments(series, order)
    root0 = F.N / 2  # |m| at λ = 0: the dark state has m = (0, 0, -N/2)
    out = quadratics(mean, second, F.N, lambda s: s.sqrt(root0))
    out["mean"] = mean
    return out


def minimise(a: Any, b: Any, c: Any, lib: Any = np) -> tuple[Any, Any]:
    """``(a - sqrt(b² + c²), θ)`` with θ in (-π/2, π/2]; θ is NaN where b = c = 0."""
    radius = lib.sqrt(b * b + c * c)
    if lib is sympy:
        return a - radius, sympy.atan2(-c, -b) / 2
    b, c = np.asarray(b, dtype=float), np.asarray(c, dtype=float)
    theta = 0.5 * np.arctan2(-c + 0.0, -b + 0.0)
    theta = np.where(theta <= -np.pi / 2, theta + np.pi, theta)
    isotropic = radius <= 1e-14 * np.maximum(1.0, np.abs(np.asarray(a, dtype=float)))
    return a - radius, np.where(isotropic, np.nan, theta)


def frame(mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """e1, e2 of the plane ⊥ m for arrays of mean vectors (last axis = x, y, z)."""
    m = np.asarray(mean, dtype=float)
    mhat = m / np.linalg.norm(m, axis=-1, keepdims=True)
    x = np.zeros_like(m)
    x[..., 0] = 1.0
    p = x - mhat[..., :1] * mhat
    parallel = np.linalg.norm(p, axis=-1) < 1e-12
    if np.any(parallel):
        y = np.zeros_like(m)
        y[..., 1] = 1.0
        p = np.where(parallel[..., None], y - mhat[..., 1:2] * mhat, p)
    e1 = p / np.linalg.norm(p, axis=-1, keepdims=True)
    return e1, _cross(e1, mhat)


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``u × v`` along the last axis (``numpy.cross`` took 0.09 ms a point of an exact map)."""
    return np.stack([u[..., 1] * v[..., 2] - u[..., 2] * v[..., 1], u[..., 2] * v[..., 0] - u[..., 0] * v[..., 2],
                     u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]], axis=-1)


def finalize(pieces: dict[str, Any], mean: np.ndarray, cov: np.ndarray) -> dict[str, Any]:
    """Numbers a physicist reads, from numeric a, b, c (arrays over points, last axis for vectors)."""
    xi2_R, theta = minimise(pieces["a_R"], pieces["b_R"], pieces["c_R"])
    xi2_S, _ = minimise(pieces["a_S"], pieces["b_S"], pieces["c_S"])
    e1, e2 = frame(mean)
    t = np.nan_to_num(theta)[..., None]
    direction = np.cos(t) * e1 + np.sin(t) * e2
    direction = np.where(np.isnan(theta)[..., None], np.nan, direction)
    return {
        "xi2_R": xi2_R,
        "xi2_S": xi2_S,
        "theta": theta,
        "direction": direction,
        "mean": np.asarray(mean, dtype=float),
        "cov": np.asarray(cov, dtype=float),
        "rs_gap": np.asarray(pieces["rs_gap"], dtype=float),
    }


#: Exact moments define a frame (and ξ²_R, ξ²_S, θ, rs_gap) where |<S>| > MEAN_SPIN_FLOOR * N.
MEAN_SPIN_FLOOR = 1e-12


def _exact_quadratics(N: int, m: np.ndarray, S: np.ndarray) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """:func:`quadratics` of exact moments (``m``: ``(..., 3)``, ``S``: ``(..., 3, 3)``, arrays over
    states), where they are defined (a mean spin above MEAN_SPIN_FLOOR N), and the mean spin
    with a placeholder -ẑ where not. The frame's reference axis is x̂, or ŷ where m ∥ x̂."""
    norm = np.linalg.norm(m, axis=-1)
    defined = norm > MEAN_SPIN_FLOOR * N
    m = np.where(defined[..., None], m, [0.0, 0.0, -1.0])  # a placeholder where undefined
    mhat = m / np.linalg.norm(m, axis=-1, keepdims=True)
    along_y = np.linalg.norm(np.array([1.0, 0, 0]) - mhat[..., :1] * mhat, axis=-1) < 1e-12
    mean = [m[..., i] for i in range(3)]
    second = [[S[..., i, j] for j in range(3)] for i in range(3)]
    with np.errstate(divide="ignore", invalid="ignore"):  # the x̂ frame where m ∥ x̂: replaced below
        q = quadratics(mean, second, N, np.sqrt)
        if np.any(along_y):
            qy = quadratics(mean, second, N, np.sqrt, along_y=True)
            q = {k: (np.where(along_y, qy[k], v) if k != "cov" else v) for k, v in q.items()}
    return q, defined, m


def exact_observables(N: int, mean: Any, second: Any) -> dict[str, Any]:
    """Squeezing and friends from exact (non-perturbative) moments: ``mean`` ``(..., 3)`` and
    ``second`` ``(..., 3, 3)``, one state or arrays over states. Without a mean spin
    (|m| <= MEAN_SPIN_FLOOR N, e.g. the fully mixed state) the squeezing parameters, direction and
    rs_gap are undefined: NaN."""
    m = np.asarray(mean, dtype=float)
    S = np.asarray(second, dtype=float)
    q, defined, framed = _exact_quadratics(N, m, S)
    cov = S - m[..., :, None] * m[..., None, :]
    pieces = {k: np.where(defined, q[k], np.nan) for k in QUADRATIC_KEYS}
    out = finalize(pieces, framed, cov)
    out["mean"] = m
    out["direction"] = np.where(defined[..., None], out["direction"], np.nan)
    if m.ndim == 1:  # one state: numbers, not 0-d arrays
        for k in ("xi2_R", "xi2_S", "theta", "rs_gap"):
            out[k] = np.float64(out[k])
    return out


def exact_xi2_R(N: int, mean: Any, second: Any) -> Any:
    """ξ²_R alone of :func:`exact_observables` (NaN without a mean spin): no frame or direction,
    for the error bar's second evaluation."""
    q, defined, _ = _exact_quadratics(N, np.asarray(mean, dtype=float), np.asarray(second, dtype=float))
    return np.where(defined, minimise(q["a_R"], q["b_R"], q["c_R"])[0], np.nan)
