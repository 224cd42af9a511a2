"""Resummation of the series by robust Padé approximants (``docs/algorithm/high-order.md#pade``).

:func:`robust_pade` is the SVD-based algorithm of Gonnet, Güttel and Trefethen (SIAM Review 55,
101, 2013): the type [m/n] is reduced until the Toeplitz block of the denominator has full
numerical rank, the denominator is a null vector of it, and leading/trailing coefficients
below the tolerance are trimmed — which removes spurious pole–zero pairs ("Froissart
doublets"). No package on PyPI offers it (``scipy.interpolate.pade`` solves the raw linear
system, which is singular or ill-conditioned exactly where doublets appear), so it is here,
tested against functions with known Padé forms in tests/test_resum.py.

Each piece's error is the change against the approximant of two fewer terms (four, six …
where the robust reduction makes them identical), doubled, and at least ``1e3 TOL ||t||``
(a reduced approximant is only as good as its rank decisions).

:func:`resum_pieces` applies it to the pieces a, b, c of ξ²_R in the scaled variable
``t_k = X_k λ^k`` (evaluated at 1), in λ² where the piece is even or odd under λ → −λ
(detected from the coefficients: xyz has a_R even, b_R and c_R odd; resonance fluorescence is
even in Ω; tfi has no parity). Each piece's error is estimated from the approximant of one
smaller type; a pole of the approximant inside the unit disk of the variable (between 0 and
the point) voids it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

#: Relative tolerance of the Padé rank decisions.
TOL = 1e-13


def robust_pade(c: np.ndarray, m: int, n: int, tol: float = TOL) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator coefficients (ascending, ``b[0] = 1``) of the robust [m/n]
    Padé approximant of the Taylor coefficients ``c`` (at least m + n + 1 of them).

    Examples
    --------
    >>> import math
    >>> a, b = robust_pade(np.array([1 / math.factorial(k) for k in range(5)]), 2, 2)
    >>> round(float(np.polyval(a[::-1], 1) / np.polyval(b[::-1], 1)), 6)  # e ~ [2/2] at 1
    2.714286
    """
    c = np.asarray(c, dtype=complex)[: m + n + 1]
    c = np.concatenate([c, np.zeros(m + n + 1 - len(c))])
    scale = np.linalg.norm(c)
    if scale == 0:
        return np.zeros(1), np.ones(1)
    ts = tol * scale
    while True:
        if n == 0:
            a, b = c[: m + 1].copy(), np.ones(1, dtype=complex)
            break
        row = np.zeros(n + 1, dtype=complex)
        row[0] = c[0]
        Z = scipy.linalg.toeplitz(c[: m + n + 1], row)
        C = Z[m + 1: m + n + 1, :]
        rank = int(np.sum(np.linalg.svd(C, compute_uv=False) > ts))
        if rank == n:
            _, _, Vh = np.linalg.svd(C)
            b = Vh[-1].conj()
            D = np.diag(np.abs(b) + np.sqrt(np.finfo(float).eps))
            Q, _ = np.linalg.qr((C @ D).conj().T, mode="complete")
            b = D @ Q[:, n]
            b = b / np.linalg.norm(b)
            a = Z[: m + 1, : n + 1] @ b
            break
        m, n = m - (n - rank), rank
        if m < 0:
            m, n = 0, n + m
    lead = np.flatnonzero(np.abs(b) > tol)
    first = int(lead[0]) if len(lead) else 0
    a, b = a[first:], b[first:]
    a = np.trim_zeros(np.where(np.abs(a) > ts, a, 0), "b")
    b = np.trim_zeros(np.where(np.abs(b) > tol, b, 0), "b")
    if not len(a):
        a = np.zeros(1, dtype=complex)
    a, b = a / b[0], b / b[0]
    return a, b


def evaluate_pade(a: np.ndarray, b: np.ndarray, x: complex) -> complex:
    return np.polyval(a[::-1], x) / np.polyval(b[::-1], x)


def parity(terms: np.ndarray, tol: float = 1e-12) -> str:
    """``"even"``, ``"odd"`` or ``"none"``: which terms of a coefficient sequence vanish."""
    scale = np.max(np.abs(terms)) if len(terms) else 0.0
    if scale == 0:
        return "even"
    if np.all(np.abs(terms[1::2]) <= tol * scale):
        return "even"
    if np.all(np.abs(terms[0::2]) <= tol * scale):
        return "odd"
    return "none"


@dataclass
class PadeValue:
    value: float
    error: float
    pole: float  # |nearest pole| in the scaled variable (inf: none); < 1 voids the value


def pade_sum(terms: np.ndarray) -> PadeValue:
    """The Padé value at 1 of ``sum t_k`` (terms already scaled by λ^k), with its estimate:
    the near-diagonal type from all terms against the type one smaller."""
    kind = parity(terms)
    if kind == "even":
        g, factor = terms[0::2], 1.0
    elif kind == "odd":
        g, factor = terms[1::2], 1.0
    else:
        g, factor = terms, 1.0

    def value(coeffs: np.ndarray) -> tuple[complex, float]:
        n = len(coeffs) - 1
        M = n // 2
        L = n - M
        a, b = robust_pade(coeffs, L, M)
        roots = np.roots(b[::-1]) if len(b) > 1 else np.array([])
        pole = float(np.min(np.abs(roots))) if len(roots) else np.inf
        return evaluate_pade(a, b, 1.0), pole

    if len(g) < 3:
        total = complex(np.sum(g))
        return PadeValue(total.real * factor, np.inf, np.inf)
    v1, pole = value(g)
    # the change from approximants of fewer terms; the robust reduction can make the next
    # smaller one identical (rank decisions at TOL), so the first nonzero change counts
    err = 0.0
    for drop in (2, 4, 6, 8):
        if len(g) - drop < 3:
            break
        err = 2.0 * abs(v1 - value(g[:-drop])[0])
        if err > 0:
            break
    # the rank decisions at TOL bound how well a reduced approximant can do
    err = max(err, 1e3 * TOL * float(np.linalg.norm(g)), 16 * np.finfo(float).eps * float(np.sum(np.abs(g))))
    if pole <= 1.0 or not np.isfinite(v1):
        err = np.inf
    return PadeValue(float(np.real(v1)) * factor, float(err), pole)


def resum_pieces(terms: dict[str, np.ndarray]) -> tuple[float, float, float]:
    """Padé-resummed ξ²_R = a − sqrt(b² + c²) at one point from the scaled terms of a, b, c:
    ``(value, error estimate, |nearest pole| in the scaled variable)``."""
    vals = {x: pade_sum(terms[x]) for x in "abc"}
    a, b, c = (vals[x].value for x in "abc")
    xi = a - float(np.hypot(b, c))
    err = vals["a"].error + float(np.hypot(vals["b"].error, vals["c"].error)) if all(
        np.isfinite(vals[x].error) for x in "abc") else np.inf
    return xi, err, min(vals[x].pole for x in "abc")


__all__ = ["PadeValue", "TOL", "evaluate_pade", "pade_sum", "parity", "resum_pieces", "robust_pade"]
