"""Numeric series coefficients at many points: batched double precision where it can be
trusted, ball arithmetic where it cannot (``docs/algorithm/high-order.md#representation``).

:func:`series_coefficients` returns, per point and order, the coefficients of the squeezing
pieces (a, b, c of ξ²_R and ξ²_S, rs_gap), the mean spin and the covariance, with an estimate
of each piece coefficient's rounding error. The full method runs batched
(:mod:`symsteady.series.batched`, points grouped by N); a point whose rounding estimate is
above :data:`PRECISION` relative to the largest coefficient of an order is recomputed in ball
arithmetic (:mod:`symsteady.series.precise`), and so is every point of the pure-state method.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
import numpy as np

from ..errors import PrecisionWarning
from ..model import Model
from ..observables import QUADRATIC_KEYS
from ..points import Points
from .batched import batched_coefficients
from .precise import ball_coefficients

#: Largest rounding error of a coefficient, relative to the largest piece coefficient of its
#: order, accepted from double precision before a point is recomputed in ball arithmetic.
PRECISION = 2e-11


@dataclass
class Coefficients:
    """Per point (first axis) and order (second axis): real coefficients of the pieces,
    their rounding-error estimates, mean (…, 3) and covariance (…, 3, 3); λ at each point;
    ``arithmetic`` per point (``"double"`` or ``"ball"``); ``precise`` where the rounding is
    within :data:`PRECISION` (False: the row is marked, its error bar includes the loss)."""

    order: int
    pieces: dict[str, np.ndarray]
    error: dict[str, np.ndarray]
    mean: np.ndarray
    cov: np.ndarray
    lam: np.ndarray
    arithmetic: list[str]
    precise: np.ndarray

    def subset(self, rows: np.ndarray) -> "Coefficients":
        return Coefficients(self.order, {k: v[rows] for k, v in self.pieces.items()},
                            {k: v[rows] for k, v in self.error.items()}, self.mean[rows], self.cov[rows],
                            self.lam[rows], [self.arithmetic[i] for i in rows], self.precise[rows])


def _lambda_values(model: Model, points: Points) -> np.ndarray:
    if model.formal:
        return np.ones(len(points))
    return points.arrays[model.small.name].astype(float)


def _imprecise(pieces: dict[str, np.ndarray], error: dict[str, np.ndarray]) -> np.ndarray:
    """Points where some order's rounding estimate exceeds PRECISION of its largest coefficient."""
    bad = np.zeros(pieces["a_R"].shape[0], dtype=bool)
    for tag in ("R", "S"):
        names = [f"a_{tag}", f"b_{tag}", f"c_{tag}"]
        scale = np.max([np.abs(pieces[k]) for k in names], axis=0)
        worst = np.max([error[k] for k in names], axis=0)
        bad |= np.any(~(worst <= PRECISION * scale + 1e-300), axis=1)
    return bad


def _cancels(model: Model, order: int, points: Points) -> bool:
    """Collective-only models (the symmetric sector) near a coherent spin state lose about
    ``N^{K/2 - 1}`` to cancellation: where double precision cannot survive that at every point,
    the batch goes to ball arithmetic directly (the double run would only be thrown away)."""
    if model.sector != "symmetric" or order < 4:
        return False
    n = float(np.min(points.arrays["N"]))
    return (order / 2 - 1) * np.log10(max(n, 2.0)) - 15.6 > np.log10(PRECISION)


def series_coefficients(model: Model, order: int, points: Points, method: str = "full") -> Coefficients:
    """The numeric series of every point to ``order`` (see the module docstring).

    Parameters
    ----------
    model : Model
    order : int
    points : Points
        Checked points (:func:`symsteady.points.check_points`).
    method : {"full", "pure"}

    Returns
    -------
    Coefficients

    Warns
    -----
    PrecisionWarning
        For points where even the largest ball precision does not reach the precision goal.
    """
    P, K = len(points), order
    pieces = {k: np.zeros((P, K + 1)) for k in QUADRATIC_KEYS}
    error = {k: np.zeros((P, K + 1)) for k in QUADRATIC_KEYS}
    mean = np.zeros((P, K + 1, 3))
    cov = np.zeros((P, K + 1, 3, 3))
    arithmetic = ["double"] * P
    precise = np.ones(P, dtype=bool)
    redo: list[int] = []
    if method == "full" and not _cancels(model, order, points):
        ns = points.arrays["N"]
        for n in np.unique(ns):
            rows = np.flatnonzero(ns == n)
            sub = points.subset(rows.tolist())
            res = batched_coefficients(model, K, int(n), sub.arrays)
            for k in QUADRATIC_KEYS:
                pieces[k][rows] = np.array([np.asarray(c).real for c in res.pieces[k].c]).T
                error[k][rows] = res.error[k].T
            mean[rows] = np.stack([np.array([np.asarray(c).real for c in s.c]).T for s in res.mean], axis=-1)
            for a in range(3):
                for b in range(3):
                    cov[rows, :, a, b] = np.array([np.asarray(c).real for c in res.cov[a][b].c]).T
        redo = np.flatnonzero(_imprecise(pieces, error)).tolist()
    else:  # pure-state method, or cancellation certain: ball arithmetic at every point
        redo = list(range(P))
    for i in redo:
        ball = ball_coefficients(model, K, points.exact_values(i), method)
        for k in QUADRATIC_KEYS:
            pieces[k][i] = ball.pieces[k].real
            error[k][i] = ball.radius[k]
        mean[i] = np.stack([m.real for m in ball.mean], axis=-1)
        cov[i] = np.moveaxis(np.array([[c.real for c in row] for row in ball.cov]), -1, 0)
        arithmetic[i] = "ball"
        precise[i] = ball.certified
    if not np.all(precise):
        bad = np.flatnonzero(~precise)
        warnings.warn(
            f"the series lost precision at {len(bad)} point(s) (first: {points[int(bad[0])]}) even in "
            f"ball arithmetic at the largest precision; those rows are marked converged: false and "
            "their xi2_R_error includes the loss", PrecisionWarning, stacklevel=2)
    return Coefficients(K, pieces, error, mean, cov, _lambda_values(model, points), arithmetic, precise)


def at_order(c: Coefficients, order: int, name: str) -> np.ndarray:
    """Values at λ of the order-``order`` truncation of a piece (per point)."""
    powers = c.lam[:, None] ** np.arange(order + 1)[None, :]
    return np.sum(c.pieces[name][:, :order + 1] * powers, axis=1)


__all__ = ["Coefficients", "PRECISION", "at_order", "series_coefficients"]
