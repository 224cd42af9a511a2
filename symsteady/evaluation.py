"""Numbers from the perturbative series: at one point, or over many points at once.

Over many points the closed form is derived once and evaluated vectorised (NumPy, common
subexpressions shared); points below the closed form's N_min, or orders above
``CLOSED_FORM_MAX_ORDER``, use the numeric series (batched in double precision where that can
be trusted, ball arithmetic where not: :mod:`symsteady.series.numeric`). Every perturbative row
carries an error bar from the series itself, computed ``EXTRA_ORDERS`` beyond the order asked
(:mod:`symsteady.estimates`), and optionally a Padé resummation (:mod:`symsteady.resum`).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Iterable

import numpy as np
import sympy

from .derivation import derive
from .errors import MethodError, ParameterError, SingularPointError
from .estimates import auto_order, estimate
from .exact import exact_observables_of, solve_at, xi2_R_errors
from .exact.rotation import quarter_turn, rotation_class, turned
from .metrology import exact_metrology, perturbative_metrology
from .model import N, Model
from .observables import MEAN_SPIN_FLOOR, QUADRATIC_KEYS, finalize, series_quadratics
from .points import Point, Points, check_points, point_field
from .powerseries import PowerSeries
from .series import METHODS as PERTURBATIVE_METHODS
from .resum import resum_pieces
from .series import Series, make_series
from .series.numeric import series_coefficients

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


#: Orders computed beyond the one asked, for its error bar (docs/algorithm/high-order.md#error-estimate).
EXTRA_ORDERS = 4
#: Default largest order of ``order="auto"``.
DEFAULT_MAX_ORDER = 40
RESUM_METHODS = ("pade",)


def _check_options(method: str, order: Any, tol: float | None, max_order: int, resum: str | None) -> None:
    if method not in METHODS:
        raise MethodError(f"unknown method {method!r}; methods: {', '.join(METHODS)}")
    if method == "exact":
        if order is not None:
            raise ParameterError("the exact method takes no order")
        if resum is not None:
            raise ParameterError("the exact method has nothing to resum (--resum is for the series)")
        return
    if order == "auto":
        if tol is None or isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol > 0:
            raise ParameterError(f"--order auto needs a tolerance --tol T > 0, not {tol!r}")
        if isinstance(max_order, bool) or not isinstance(max_order, int) or max_order < 1:
            raise ParameterError(f"--max-order must be a positive integer, not {max_order!r}")
    elif order is None or isinstance(order, bool) or not isinstance(order, int) or order < 0:
        raise ParameterError(f"the perturbative methods need an order K >= 0 (or 'auto'), not {order!r}")
    elif tol is not None:
        raise ParameterError("--tol goes with --order auto")
    if resum is not None and resum not in RESUM_METHODS:
        raise ParameterError(f"unknown resummation {resum!r}; known: {', '.join(RESUM_METHODS)}")


def evaluate(model: Model, order: int | str | None, points: Iterable[Point], method: str = "full", *,
             tol: float | None = None, max_order: int = DEFAULT_MAX_ORDER, resum: str | None = None,
             qfi: bool = False) -> list[dict[str, Any]]:
    """Squeezing, direction, mean spin and covariance at many points, with error bars.

    Parameters
    ----------
    model : Model
    order : int, "auto" or None
        Perturbative order K (``method`` ``full`` or ``pure``); ``"auto"``: per point the
        smallest order whose error estimate meets ``tol`` (up to ``max_order``); None for ``exact``.
    points : iterable of mappings
        Each with ``N`` and a value for every parameter of the model.
    method : {"full", "pure", "exact"}
        ``full``: the Liouvillian expansion to order K (closed form derived once and
        evaluated vectorised up to order 2 and N >= N_min, the numeric series otherwise);
        ``pure``: the pure-state approximation; ``exact``: the exact steady state.
    tol : float, optional
        The tolerance on ξ²_R of ``order="auto"``.
    max_order : int
        The largest order ``order="auto"`` tries (default 40).
    resum : {None, "pade"}
        ``"pade"``: robust Padé approximants of a, b, c where their estimate beats the
        truncated series' (``docs/algorithm/high-order.md#pade``).
    qfi : bool
        Also the quantum Fisher information and the state's purity and entropy: keys ``qfi``
        (3×3), ``fq_N`` (largest eigenvalue / N), ``fq_direction``, ``purity``, ``entropy``
        (``docs/algorithm/metrology.md#metrology-qfi``). Exact rows: from the Dicke blocks,
        with error bars ``fq_N_error`` and ``purity_error`` (None on perturbative rows);
        perturbative rows (``full``, order 1 or 2): the consistent expansions of F, the purity
        and the entropy (``docs/algorithm/metrology.md#metrology-perturbative-purity``).

    Returns
    -------
    list of dict
        One JSON-ready row per point: ``params``, ``N``, ``order``, ``method``, ``sector``,
        ``xi2_R``, ``xi2_S``, ``theta``, ``direction``, ``mean``, ``cov``, ``rs_gap``, and for the
        series ``xi2_R_error`` (estimate of ``|ξ²_R − ξ²_R(exact)|``; None where the series does not
        converge), ``converged``, ``radius`` (estimated radius of convergence in λ),
        ``resum`` (``"pade"`` where the resummed value is given, else None) and ``note``; exact
        rows have ``xi2_R_error`` too (a bound on the double-precision solve's error,
        ``docs/algorithm/exact-convergence.md#convergence-forward-error``), the others None.

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
    >>> rows[0]["xi2_R_error"] < 1e-3 and rows[0]["converged"]
    True
    """
    _check_options(method, order, tol, max_order, resum)
    points = check_points(model, list(points))
    if qfi and method != "exact" and (method != "full" or order not in (1, 2)):
        raise ParameterError("--qfi with a perturbative method needs --method full and --order 1 or 2 "
                             "(or --method exact)")
    if method == "exact":
        return _exact_rows(model, points, qfi)
    sector = "symmetric" if method == "pure" else model.sector
    auto = order == "auto"
    K = max_order if auto else int(order)  # type: ignore[arg-type]
    coeffs = series_coefficients(model, K + EXTRA_ORDERS, points, method)
    if auto:
        orders, est = auto_order(coeffs.pieces, coeffs.error, coeffs.lam, float(tol), K)  # type: ignore[arg-type]
    else:
        orders, est = np.full(len(points), K), estimate(coeffs.pieces, coeffs.error, coeffs.lam, K)
    results = _numeric_rows(coeffs, orders)
    if not auto and K <= CLOSED_FORM_MAX_ORDER:
        d = _closed_form_kernel(model, K, method)[0]
        closed = [i for i in range(len(points)) if points[i]["N"] >= d.n_min]
        if closed:
            obs = _closed_form_observables(model, K, points.subset(closed), method)
            for j, i in enumerate(closed):
                results[i] = {k: v[j] for k, v in obs.items()}
    rows = []
    for i, p in enumerate(points):
        row = _json_row(int(orders[i]), method, sector, p, results[i])
        rows.append(_series_row(row, i, coeffs, est, auto, K, tol, resum))
    if qfi:
        for p, row in zip(points, rows):
            row.update(perturbative_metrology(model, K, p))
    return rows


def _numeric_rows(coeffs: Any, orders: np.ndarray) -> list[dict[str, Any]]:
    """Observables of the order-``orders[i]`` truncation at each point (from the coefficients),
    vectorised over the points that share an order."""
    out: list[dict[str, Any] | None] = [None] * len(orders)
    for k in np.unique(orders):
        k = int(k)
        idx = np.flatnonzero(orders == k)
        powers = coeffs.lam[idx, None] ** np.arange(k + 1)[None, :]
        pieces = {name: np.sum(c[idx, :k + 1] * powers, axis=1) for name, c in coeffs.pieces.items()}
        mean = np.einsum("pk,pka->pa", powers, coeffs.mean[idx, :k + 1])
        cov = np.einsum("pk,pkab->pab", powers, coeffs.cov[idx, :k + 1])
        obs = finalize(pieces, mean, cov)
        for j, i in enumerate(idx):
            out[i] = {name: v[j] for name, v in obs.items()}
    return out  # type: ignore[return-value]


def _finite(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _series_row(row: dict[str, Any], i: int, coeffs: Any, est: Any, auto: bool, K: int,
                tol: float | None, resum: str | None) -> dict[str, Any]:
    """Add the error bar, verdict, radius and resummation of point i to its row."""
    error, converged = float(est.error[i]), bool(est.converged[i])
    note = None
    if not coeffs.precise[i]:
        converged = False
        rounding = sum(float(np.sum(coeffs.error[f"{x}_R"][i] * abs(coeffs.lam[i]) ** np.arange(coeffs.order + 1)))
                       for x in "abc")
        error = (error if math.isfinite(error) else 0.0) + rounding
        note = "precision lost in the series coefficients even in ball arithmetic; xi2_R_error includes the loss"
    elif auto and not converged:
        note = (f"no order <= {K} meets the tolerance {tol} here (estimate "
                f"{'none: the series does not converge' if not math.isfinite(error) else f'{error:.2g}'}); "
                "--method exact is the way there")
    elif not converged:
        note = "the series does not converge here (ratio test); --method exact is the way there"
    used = None
    if resum == "pade":
        terms = {x: coeffs.pieces[f"{x}_R"][i] * coeffs.lam[i] ** np.arange(coeffs.order + 1) for x in "abc"}
        value, perr, _ = resum_pieces(terms)
        if math.isfinite(perr) and not perr >= error:
            row["xi2_R"], error, used = float(value), perr, "pade"
            converged = coeffs.precise[i] and (perr <= tol if auto and tol is not None else True)
            note = None if converged else note
    row["xi2_R_error"] = _finite(error)
    row["converged"] = bool(converged)
    row["radius"] = _finite(est.radius[i])
    row["resum"] = used
    row["note"] = note
    return row


#: Exact rows are read off in batches of states holding at most this many coordinates in all
#: (one product per observable word for a batch: a map's points at N = 20 in one go; one state
#: at a time from N = 160 on, so a sweep never holds many large states).
OBSERVABLE_BATCH_ENTRIES = 1 << 20


def _exact_rows(model: Model, points: Points, qfi: bool = False) -> list[dict[str, Any]]:
    """Exact rows with their forward error bars (and the metrology with ``qfi``); each point's
    GMRES starts from the previous solved point's at the same N (neighbours in a sweep: few
    iterations), and a point a quarter turn about z away from one already solved in its batch is
    that solution turned (:mod:`symsteady.exact.rotation`). The observables and error bars are
    read off in batches (OBSERVABLE_BATCH_ENTRIES)."""
    rows: list[dict[str, Any]] = []
    batch: list[tuple[Point, Any]] = []
    solved: dict[Any, tuple[Any, int, Point]] = {}  # rotation class -> (solution, its turn, point)
    held, previous = 0, None
    for p in points:
        key, turn = rotation_class(model, p)
        if key in solved:
            source, source_turn, source_point = solved[key]
            solution = turned(source, quarter_turn(source_turn, turn), source_point)
        else:
            x0 = previous.x if previous is not None and previous.space.n == p["N"] else None
            previous = solution = solve_at(model, p, x0, condition=False)  # rows carry no condition number
            solved[key] = (solution, turn, p)
        batch.append((p, solution))
        held += solution.space.dim
        if held >= OBSERVABLE_BATCH_ENTRIES:
            rows += _exact_batch_rows(model, batch, qfi)
            batch, held = [], 0
            solved.clear()
    return rows + _exact_batch_rows(model, batch, qfi)


def _exact_batch_rows(model: Model, batch: list[tuple[Point, Any]], qfi: bool) -> list[dict[str, Any]]:
    solutions = [s for _, s in batch]
    observables = exact_observables_of(solutions)
    errors = xi2_R_errors(solutions, np.array([float(o["xi2_R"]) for o in observables]))
    rows = []
    for (p, solution), obs, error in zip(batch, observables, errors):
        row = _json_row(None, "exact", model.sector, p, obs)
        row["xi2_R_error"] = _finite(error)
        row["note"] = _exact_note(row, solution.info)
        if qfi:
            row.update(exact_metrology(solution))
        rows.append(_with_series_keys(row))
    return rows


def _exact_note(row: dict[str, Any], info: Any) -> str | None:
    """Why an exact row lacks a number: no mean spin (ξ²_R undefined), or no error bar."""
    if row["xi2_R"] is None:
        return f"the mean spin vanishes (|<S>| <= {MEAN_SPIN_FLOOR:g} N): xi2_R, xi2_S and theta are undefined"
    if row["xi2_R_error"] is None:
        return f"no error bar: the exact solver's refinement step failed ({info.note})"
    return None


def _with_series_keys(row: dict[str, Any]) -> dict[str, Any]:
    """The same keys in every row (tables need them): the series' keys, empty for exact rows."""
    for key in ("xi2_R_error", "converged", "radius", "resum", "note"):
        row.setdefault(key, None)
    return row


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
