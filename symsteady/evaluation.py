"""Numbers from the perturbative series: at one point, or over many points at once.

Over many points the closed form is derived once and evaluated vectorised (NumPy, common
subexpressions shared); points below the closed form's N_min, or orders above
``CLOSED_FORM_MAX_ORDER``, use the numeric series at that point (double precision, or exact
Gaussian rationals with ``exact=True``).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Iterable

import numpy as np
import sympy

from .derivation import derive
from .errors import MethodError, ParameterError, SingularPointError
from .exact import solve_at
from .model import N, Model
from .observables import QUADRATIC_KEYS, finalize, series_quadratics
from .points import Point, Points, check_points, point_field
from .powerseries import PowerSeries
from .series import METHODS as PERTURBATIVE_METHODS
from .series import Series, make_series

CLOSED_FORM_MAX_ORDER = 2
#: Every method ``evaluate`` takes: the perturbative ones and ``exact``.
METHODS: tuple[str, ...] = (*PERTURBATIVE_METHODS, "exact")


def point_series(model: Model, order: int, point: Point, method: str = "full", exact: bool = False
                 ) -> tuple[Series, Any]:
    """The numeric series at one point (double precision, or exact rationals with ``exact``):
    ``(series, value of λ)``."""
    points = check_points(model, [point])
    values = points.exact_values(0) if exact else points[0]
    return _series_at(model, order, values, method, exact)


def _series_at(model: Model, order: int, values: Point, method: str, exact: bool = False
               ) -> tuple[Series, Any]:
    field, convert, subs = point_field(model, values, exact)
    series = make_series(model, field, convert, order, method)
    return series, (1 if model.formal else subs[model.small])


def point_quadratics(model: Model, order: int, point: Point, method: str = "full",
                     exact: bool = False) -> dict[str, PowerSeries]:
    """The order-by-order coefficients (numbers) of a, b, c, rs_gap, mean and cov at a point."""
    series, _ = point_series(model, order, point, method, exact)
    return series_quadratics(series, order)


def _numeric_observables(model: Model, order: int, values: Point, method: str) -> dict[str, Any]:
    series, lam = _series_at(model, order, values, method)
    q = series_quadratics(series, order)
    lam = float(lam)

    def value(s: PowerSeries) -> float:
        return complex(s.at(lam)).real

    pieces = {k: value(q[k]) for k in QUADRATIC_KEYS}
    mean = np.array([value(m) for m in q["mean"]])
    cov = np.array([[value(c) for c in row] for row in q["cov"]])
    return finalize(pieces, mean, cov)


@lru_cache(maxsize=32)
def _closed_form_kernel(model: Model, order: int, method: str):
    """Derive once; one NumPy function for every piece, mean and covariance (shared CSE)."""
    d = derive(model, order, method)
    args = [N, *d.parameters]
    exprs = [d.at_lambda_one(e) for e in _flat(d)]
    fn = sympy.lambdify(args, exprs, modules="numpy", cse=True)
    dens = sympy.lambdify(args, list(d.denominators), modules="numpy")
    return d, args, fn, dens


def _flat(d) -> list[sympy.Expr]:
    return [d.pieces[k] for k in QUADRATIC_KEYS] + list(d.mean) + [c for row in d.cov for c in row]


def _closed_form_observables(model: Model, order: int, points: Points, method: str) -> dict[str, Any]:
    d, args, fn, dens = _closed_form_kernel(model, order, method)
    columns = [points.arrays[a.name].astype(float) for a in args]
    for expr, values in zip(d.denominators, dens(*columns)):
        zero = np.flatnonzero(np.broadcast_to(np.asarray(values) == 0, (len(points),)))
        if zero.size:
            raise SingularPointError(
                f"the closed form is singular at point {int(zero[0])} ({points[int(zero[0])]}): "
                f"its denominator {expr} vanishes (no decay there, or a resonance)"
            )
    with np.errstate(all="ignore"):
        out = [np.broadcast_to(np.asarray(x, dtype=float), (len(points),)) for x in fn(*columns)]
    pieces = dict(zip(QUADRATIC_KEYS, out[:7]))
    mean = np.stack(out[7:10], axis=-1)
    cov = np.stack(out[10:19], axis=-1).reshape(len(points), 3, 3)
    return finalize(pieces, mean, cov)


def evaluate(model: Model, order: int | None, points: Iterable[Point], method: str = "full") -> list[dict[str, Any]]:
    """Squeezing, direction, mean spin and covariance at many points.

    Parameters
    ----------
    model : Model
    order : int or None
        Perturbative order K (``method`` ``full`` or ``pure``); None for ``exact``.
    points : iterable of mappings
        Each with ``N`` and a value for every parameter of the model.
    method : {"full", "pure", "exact"}
        ``full``: the Liouvillian expansion to order K (closed form derived once and
        evaluated vectorised up to order 2 and N >= N_min, the numeric series otherwise);
        ``pure``: the pure-state approximation; ``exact``: the exact steady state.

    Returns
    -------
    list of dict
        One JSON-ready row per point: ``params``, ``N``, ``order``, ``method``, ``sector``,
        ``xi2_R``, ``xi2_S``, ``theta``, ``direction``, ``mean``, ``cov``, ``rs_gap``.

    Raises
    ------
    ParameterError, RateError
        For a bad point (named); MethodError for a method the model cannot take;
        SingularPointError where a closed form's denominator vanishes.

    Examples
    --------
    >>> from symsteady import builtin, evaluate
    >>> rows = evaluate(builtin("xyz"), 1, [{"N": 20, "J": 0.5, "Jz": 1, "gamma": 1, "delta": 0.01}])
    >>> round(rows[0]["xi2_R"], 6)
    0.981546
    """
    if method not in METHODS:
        raise MethodError(f"unknown method {method!r}; methods: {', '.join(METHODS)}")
    if method == "exact":
        if order is not None:
            raise ParameterError("the exact method takes no order")
    elif order is None or isinstance(order, bool) or not isinstance(order, int) or order < 0:
        raise ParameterError(f"the perturbative methods need an order K >= 0, not {order!r}")
    points = check_points(model, list(points))
    if method == "exact":
        rows = [solve_at(model, p).observables() for p in points]
        return [_json_row(None, method, model.sector, p, r) for p, r in zip(points, rows)]
    results: list[dict[str, Any] | None] = [None] * len(points)
    closed: list[int] = []
    if order <= CLOSED_FORM_MAX_ORDER:
        d = _closed_form_kernel(model, order, method)[0]
        closed = [i for i in range(len(points)) if points[i]["N"] >= d.n_min]
    if closed:
        obs = _closed_form_observables(model, order, points.subset(closed), method)
        for j, i in enumerate(closed):
            results[i] = {k: v[j] for k, v in obs.items()}
    for i, p in enumerate(points):
        if results[i] is None:
            results[i] = _numeric_observables(model, order, p, method)
    sector = "symmetric" if method == "pure" else model.sector
    return [_json_row(order, method, sector, p, r) for p, r in zip(points, results)]


def _json_row(order: int | None, method: str, sector: str, point: Point, r: dict[str, Any]) -> dict[str, Any]:
    def num(x: Any) -> float | None:
        x = float(x)
        return None if math.isnan(x) else x

    return {
        "params": dict(point),
        "N": point["N"],
        "order": order,
        "method": method,
        "sector": sector,
        "xi2_R": num(r["xi2_R"]),
        "xi2_S": num(r["xi2_S"]),
        "theta": num(r["theta"]),
        "direction": [num(x) for x in np.asarray(r["direction"]).tolist()],
        "mean": [float(x) for x in np.asarray(r["mean"]).tolist()],
        "cov": [[float(x) for x in row] for row in np.asarray(r["cov"]).tolist()],
        "rs_gap": num(r["rs_gap"]),
    }
