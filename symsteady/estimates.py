"""Error bars of truncated series, from the series itself (``docs/algorithm/high-order.md#error-estimate``).

For ξ²_R = a − sqrt(b² + c²) with a, b, c power series in λ: the terms ``t_k = X_k λ^k`` of the
three pieces give an envelope ``T_k = max_X |t_k|``. The error of the order-K value is
estimated from orders up to M > K computed at the same point as

    |ξ²(M) − ξ²(K)| + T_M ρ / (1 − ρ),

the change to the highest order known plus a geometric tail beyond it, with ρ (the ratio of
successive terms) from a least-squares root test on the upper half of the envelope (pairs of
terms, so parity does not matter) and never below the ratio of its last two windows; times
:data:`SAFETY`, plus the rounding error of the coefficients. ``λ/ρ`` estimates the radius of
convergence in λ. Where ρ >= :data:`DIVERGENT` the series is taken as divergent there: no
error bar (None), ``converged`` False.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Factor on the estimate (calibrated in tests/test_error_bars.py against exact steady states).
SAFETY = 2.0
#: Ratio of successive terms from which the series counts as not converging.
DIVERGENT = 0.95


@dataclass
class Estimate:
    """Per point: ξ²_R of the order-K truncation, its error estimate (inf where divergent),
    the ratio ρ of successive terms, the radius λ/ρ, and whether the series converges there."""

    xi2: np.ndarray
    error: np.ndarray
    ratio: np.ndarray
    radius: np.ndarray
    converged: np.ndarray


def xi2_of(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    return a - np.sqrt(b * b + c * c)


def partial_sums(pieces: dict[str, np.ndarray], lam: np.ndarray, tag: str = "R") -> dict[str, np.ndarray]:
    """Terms ``X_k λ^k`` (points × orders) of a, b, c and their cumulative sums."""
    K = pieces[f"a_{tag}"].shape[1] - 1
    powers = lam[:, None] ** np.arange(K + 1)[None, :]
    out = {}
    for x in "abc":
        t = pieces[f"{x}_{tag}"] * powers
        out[x] = t
        out[f"{x}_sum"] = np.cumsum(t, axis=1)
    return out


def ratio_estimate(envelope: np.ndarray) -> np.ndarray:
    """ρ per point from the envelope (points × orders): the least-squares slope of log max(T_k,
    T_{k+1}) over the upper half of the orders (pairs, so parity and a single small term do
    not matter), and at least the ratio between the maxima of the last two windows of four."""
    P, M1 = envelope.shape
    M = M1 - 1
    lo = max(1, M // 2)
    pairs = np.maximum(envelope[:, lo:M], envelope[:, lo + 1:M + 1])
    ks = np.arange(lo, M, dtype=float)[None, :]
    ok = pairs > 0
    w = ok.astype(float)
    count = w.sum(axis=1)
    logs = np.where(ok, np.log(np.where(ok, pairs, 1.0)), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):  # weighted least squares, per point
        kbar = (w * ks).sum(axis=1) / count
        lbar = (w * logs).sum(axis=1) / count
        dk = (ks - kbar[:, None]) * w
        slope = (dk * (logs - lbar[:, None])).sum(axis=1) / (dk * (ks - kbar[:, None])).sum(axis=1)
    out = np.exp(slope)
    if M >= 8:
        last, before = np.max(envelope[:, M - 3:M + 1], axis=1), np.max(envelope[:, M - 7:M - 3], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            window = np.where(before > 0, (last / np.where(before > 0, before, 1.0)) ** 0.25, 0.0)
        out = np.maximum(out, window)
    few = count < 2
    out[few] = np.where(np.any(envelope[few, 1:] > 0, axis=1), 1.0, 0.0)
    return out


def estimate(pieces: dict[str, np.ndarray], rounding: dict[str, np.ndarray], lam: np.ndarray,
             order: int, top: int | None = None) -> Estimate:
    """The order-``order`` ξ²_R and its error estimate, using orders up to ``top`` (default: all
    given; ``top`` must exceed ``order``)."""
    M = pieces["a_R"].shape[1] - 1 if top is None else top
    s = partial_sums({k: v[:, :M + 1] for k, v in pieces.items() if k.endswith("_R")}, lam)
    env = np.max([np.abs(s[x]) for x in "abc"], axis=0)
    xi_K = xi2_of(s["a_sum"][:, order], s["b_sum"][:, order], s["c_sum"][:, order])
    xi_M = xi2_of(s["a_sum"][:, M], s["b_sum"][:, M], s["c_sum"][:, M])
    rho = ratio_estimate(env)
    last = np.max(env[:, max(M - 1, 1):M + 1], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = np.where(rho < DIVERGENT, last * rho / (1 - rho), np.inf)
        radius = np.where(rho > 0, np.abs(lam) / rho, np.inf)
    powers = np.abs(lam)[:, None] ** np.arange(M + 1)[None, :]
    round_err = sum(np.sum(rounding[f"{x}_R"][:, :M + 1] * powers, axis=1) for x in "abc")
    err = SAFETY * (np.abs(xi_M - xi_K) + tail) + round_err
    converged = (rho < DIVERGENT) & np.isfinite(err)
    return Estimate(xi_K, np.where(converged, err, np.inf), rho, radius, converged)


def auto_order(pieces: dict[str, np.ndarray], rounding: dict[str, np.ndarray], lam: np.ndarray,
               tol: float, max_order: int) -> tuple[np.ndarray, Estimate]:
    """Per point, the smallest order K <= max_order whose estimate meets ``tol`` (max_order
    where none does), and the estimates at those orders. The pieces must reach beyond max_order."""
    P = len(lam)
    chosen = np.full(P, max_order)
    found = np.zeros(P, dtype=bool)
    ests = [estimate(pieces, rounding, lam, k) for k in range(max_order + 1)]
    for k, e in enumerate(ests):
        hit = ~found & e.converged & (e.error <= tol)
        chosen[hit] = k
        found |= hit
    pick = np.arange(P)
    out = Estimate(*(np.array([getattr(ests[chosen[i]], f)[i] for i in pick])
                     for f in ("xi2", "error", "ratio", "radius", "converged")))
    out.converged = found
    return chosen, out


__all__ = ["DIVERGENT", "SAFETY", "Estimate", "auto_order", "estimate", "partial_sums", "ratio_estimate", "xi2_of"]
