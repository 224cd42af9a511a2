"""Restarted GMRES for the exact solver: few, large BLAS calls and explicit stopping rules.

The operator is applied by the caller (already preconditioned). Arnoldi uses classical
Gram–Schmidt, with a second pass only where the first cancelled most of the vector (the DGKS
criterion: as accurate as modified Gram–Schmidt); the least-squares problem is updated with
complex Givens rotations. ``scipy.sparse.linalg.gmres`` makes one BLAS call per basis vector
per step and measures convergence on the unpreconditioned residual; this one makes two or
four calls per step, tests the residual of the operator it is given, and reports stagnation
instead of spending its whole budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

#: Components below this fraction of a vector's largest are set to zero (no subnormal numbers,
#: which are slow; far below anything the moments can see).
FLUSH = 1e-150
#: A true residual stuck below this fraction of ||b|| while the Arnoldi estimate meets the
#: tolerance (two cycles running) is the roundoff floor of the operator: accepted.
ROUNDOFF_FLOOR = 1e-8
#: Reorthogonalise when Gram–Schmidt leaves less than this fraction of the vector's norm.
REORTHOGONALISE = 0.7


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
    return float(np.linalg.norm(v))


def _project(V: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``V^* w`` (conjugated rows of V against w), one BLAS call."""
    return (V @ w.conj()).conj()


def _combine(V: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``V^T c`` (rows of V weighted by c), one BLAS call."""
    return V.T @ c


def gmres(apply: Callable[[np.ndarray], np.ndarray], b: np.ndarray, *, rtol: float, restart: int,
          max_cycles: int, min_reduction: float = 0.5) -> KrylovResult:
    """Solve ``P x = b`` (``apply(v) = P v``) from x = 0 by GMRES(restart).

    Converged when the residual falls to ``10 rtol ||b||`` (``rtol`` for the inner estimate),
    or when it is stuck at the roundoff floor of ``apply`` (see ROUNDOFF_FLOOR); stops after ``max_cycles`` restart cycles, or when two cycles in a row do not reduce the
    residual by ``min_reduction`` (stagnation; one such cycle is allowed, as the weighted
    residual can plateau while the Krylov space first reaches the populated elements).
    """
    n = b.shape[0]
    x = np.zeros(n, dtype=complex)
    b_norm = _norm(b)
    if b_norm == 0:
        return KrylovResult(x, 0, True, 0.0)
    target = rtol * b_norm
    V = np.empty((restart + 1, n), dtype=complex)
    iterations = 0
    stalled = estimated = False
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
            w_norm = _norm(w)
            h = _project(V[: j + 1], w)
            w -= _combine(V[: j + 1], h)
            h_next = _norm(w)
            if h_next < REORTHOGONALISE * w_norm:  # cancellation: a second pass (DGKS)
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
        slow = not new_beta < min_reduction * beta
        estimate_met = k > 0 and abs(g[k]) <= target
        if slow and estimate_met and estimated and new_beta <= ROUNDOFF_FLOOR * b_norm:
            # two cycles whose Arnoldi residual met the target, the true one stuck: the
            # roundoff floor of applying P (residual gap), not a failure to converge
            return KrylovResult(x, iterations, True, new_beta / b_norm)
        if slow and stalled:
            return KrylovResult(x, iterations, False, new_beta / b_norm)
        stalled, estimated = slow, estimate_met
        beta = new_beta
    return KrylovResult(x, iterations, False, beta / b_norm)
