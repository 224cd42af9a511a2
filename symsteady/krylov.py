"""Restarted GMRES for the exact solver: few, large BLAS calls and explicit stopping rules.

The operator is applied by the caller (already preconditioned). Arnoldi uses classical
Gram–Schmidt with one reorthogonalisation (CGS2: two products with the Krylov basis per step,
as accurate as modified Gram–Schmidt); the least-squares problem is updated with complex
Givens rotations. ``scipy.sparse.linalg.gmres`` makes one BLAS call per basis vector per
step; on a busy machine each threaded-BLAS call can cost milliseconds of waiting, so here the
basis products are single-threaded NumPy loops below BLAS_MIN_SIZE elements and one BLAS
call above. It also reports stagnation instead of spending its whole budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

#: Basis products with at least this many elements use (threaded) BLAS; smaller ones NumPy loops.
BLAS_MIN_SIZE = 20_000_000
#: Components below this fraction of a vector's largest are set to zero (no subnormal numbers,
#: which are slow; far below anything the moments can see).
FLUSH = 1e-150


@dataclass
class KrylovResult:
    """``x``, inner iterations, whether ``||b - P x|| <= rtol ||b||`` was reached, final ratio."""

    x: np.ndarray
    iterations: int
    converged: bool
    residual: float


def flush(v: np.ndarray) -> np.ndarray:
    """Zero the components of v below FLUSH times its largest (in place); returns v."""
    size = np.abs(v)
    top = size.max(initial=0.0)
    if top > 0:
        v[size < FLUSH * top] = 0
    return v


def _norm(v: np.ndarray) -> float:
    r = v.view(float)
    return float(np.sqrt(np.einsum("i,i->", r, r)))


def _project(V: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``V^* w`` (conjugated rows of V against w)."""
    if V.size >= BLAS_MIN_SIZE:
        return (V @ w.conj()).conj()
    return np.einsum("ij,j->i", V, w.conj()).conj()


def _combine(V: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``V^T c`` (rows of V weighted by c)."""
    if V.size >= BLAS_MIN_SIZE:
        return V.T @ c
    out = c[0] * V[0]
    for i in range(1, V.shape[0]):
        out += c[i] * V[i]
    return out


def gmres(apply: Callable[[np.ndarray], np.ndarray], b: np.ndarray, *, rtol: float, restart: int,
          max_cycles: int, min_reduction: float = 0.5) -> KrylovResult:
    """Solve ``P x = b`` (``apply(v) = P v``) from x = 0 by GMRES(restart).

    Stops when the residual falls to ``rtol ||b||`` (converged), after ``max_cycles`` restart
    cycles, or when a cycle does not reduce the residual by ``min_reduction`` (stagnation).
    """
    n = b.shape[0]
    x = np.zeros(n, dtype=complex)
    b_norm = _norm(b)
    if b_norm == 0:
        return KrylovResult(x, 0, True, 0.0)
    target = rtol * b_norm
    V = np.empty((restart + 1, n), dtype=complex)
    iterations = 0
    r = b.copy()
    beta = b_norm
    for _ in range(max_cycles):
        V[0] = r / beta
        H = np.zeros((restart + 1, restart), dtype=complex)
        cs = np.zeros(restart)
        sn = np.zeros(restart, dtype=complex)
        g = np.zeros(restart + 1, dtype=complex)
        g[0] = beta
        k = 0
        for j in range(restart):
            w = flush(apply(V[j]))
            h = np.zeros(j + 1, dtype=complex)
            for _pass in range(2):  # CGS2
                c = _project(V[: j + 1], w)
                w -= _combine(V[: j + 1], c)
                h += c
            h_next = _norm(w)
            column = np.concatenate([h, [h_next]])
            for i in range(j):  # earlier rotations
                column[i], column[i + 1] = (cs[i] * column[i] + sn[i] * column[i + 1],
                                            -np.conj(sn[i]) * column[i] + cs[i] * column[i + 1])
            a, bb = column[j], column[j + 1]
            rho = float(np.hypot(abs(a), abs(bb)))
            if rho == 0:
                cs[j], sn[j] = 1.0, 0.0
            elif a == 0:
                cs[j], sn[j] = 0.0, 1.0
            else:
                cs[j], sn[j] = abs(a) / rho, (a / abs(a)) * np.conj(bb) / rho
            column[j], column[j + 1] = cs[j] * a + sn[j] * bb, 0.0
            H[: j + 2, j] = column
            g[j], g[j + 1] = cs[j] * g[j], -np.conj(sn[j]) * g[j]
            iterations += 1
            k = j + 1
            if abs(g[j + 1]) <= target or h_next == 0:
                break
            V[j + 1] = flush(w / h_next)
        y = np.linalg.solve(np.triu(H[:k, :k]), g[:k]) if k else np.zeros(0)
        if k:
            x += _combine(V[:k], y)
        r = b - apply(x)
        new_beta = _norm(r)
        if new_beta <= target * 10:
            return KrylovResult(x, iterations, True, new_beta / b_norm)
        if not new_beta < min_reduction * beta:
            return KrylovResult(x, iterations, False, new_beta / b_norm)
        beta = new_beta
    return KrylovResult(x, iterations, False, beta / b_norm)
