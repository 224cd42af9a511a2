"""Exact steady states on the untruncated orbit basis (a, b up to N): the series' algebra, unsolved.

* :mod:`~symsteady.exact.space`: every label at one N, its position and Hilbert–Schmidt norm;
* :mod:`~symsteady.exact.matrix`: the sparse Liouvillian's entries, with the trace row;
* :mod:`~symsteady.exact.pieces`: L as fixed pieces per (model, N), cached, combined per point;
* :mod:`~symsteady.exact.solve`: LU, LU(L0)-preconditioned GMRES or a nested-dissection LU
  (:mod:`~symsteady.exact.ordering`), refinement and the forward error, checks;
* :mod:`~symsteady.exact.solution`: the state and its moments and squeezing;
* :mod:`~symsteady.exact.rational`: the same system in exact rational arithmetic (small N).

Collective-only models live in the symmetric sector (dimension (N+1)^2), the others in the
permutation-invariant orbit space (dimension C(N+3, 3)); ``docs/algorithm/exact-solver.md``.
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Sequence

import numpy as np

from ..algebra import Basis, Operator
from ..errors import ParameterError
from ..model import Model
from ..observables import exact_xi2_R, operator_moments
from ..points import check_points
from ..threads import single_blas_thread
from .pieces import build_at
from .rational import rational_steady_state
from .solution import ExactSolution, by_space, exact_observables_of, real_moments, xi2_R_gradient
from .solve import SolveInfo, solve_exact_liouvillian


def exact_solve(model: Model, point: Mapping[str, Any]) -> ExactSolution:
    """The exact steady state at one point, in double precision, with solver details.

    Parameters
    ----------
    model : Model
        Any model: every process, local pumping included.
    point : mapping
        ``N`` and a value for every parameter of the model.

    Returns
    -------
    ExactSolution
        ``.observables()`` (ξ²_R, ξ²_S, θ, direction, mean, covariance, rs_gap),
        ``.moments()``, ``.coefficients()`` (orbit coefficients) and ``.info`` (method,
        iterations, backward error, build and solve times).

    Raises
    ------
    ParameterError, RateError
        For a bad point.
    ExactSolverError
        When N is too large for the solver.
    NonUniqueSteadyStateError
        When the steady state is not unique (some excitations never decay).

    Examples
    --------
    >>> from symsteady import builtin, exact_solve
    >>> s = exact_solve(builtin("tfi"), {"N": 20, "Jx": 0.1, "Delta": -1.0, "gamma": 1.0})
    >>> round(float(s.observables()["xi2_R"]), 6), s.info.method
    (0.837607, 'direct')
    """
    return solve_at(model, check_points(model, [point])[0])


def solve_at(model: Model, values: Mapping[str, Any], x0: np.ndarray | None = None,
             condition: bool = True) -> ExactSolution:
    """:func:`exact_solve` at a point already checked (:class:`symsteady.points.Points`);
    ``x0``: a starting vector (a neighbouring point's ``.x`` at the same N) for GMRES;
    ``condition=False``: no ``onenormest`` (``info.condition`` is then the refinement's lower bound)."""
    with single_blas_thread():
        t0 = time.perf_counter()
        system = build_at(model, values)
        t1 = time.perf_counter()
        x, info = solve_exact_liouvillian(system, x0, condition, lambda x: xi2_R_gradient(system.space, x))
        info.build_seconds, info.solve_seconds = t1 - t0, time.perf_counter() - t1
    return ExactSolution(system.space, x, info)


#: Safety factor on the refinement's change of ξ²_R, and the rounding floor of the
#: observables in units of ``eps N max(1, |ξ²_R|)`` (``docs/algorithm/exact-convergence.md#convergence-forward-error``).
ERROR_SAFETY, ERROR_FLOOR_ULPS = 2.0, 64.0


def xi2_R_error(solution: ExactSolution, xi2_R: float | None = None) -> float:
    """A bound on the error of ``solution``'s ξ²_R: twice the sum of its change under the
    refinement step (the unrefined state's error, of which the refined one keeps a small
    fraction) and its largest change under the responses to L̂'s rounding
    (:meth:`SolveInfo.error_directions`), plus the rounding floor of the observables; where either
    failed, twice the adjoint solve's first-order changes (``info.adjoint_changes``) where it ran,
    else infinite."""
    if xi2_R is None:
        xi2_R = float(solution.observables()["xi2_R"])
    return float(xi2_R_errors([solution], np.array([xi2_R]))[0])


def xi2_R_errors(solutions: Sequence[ExactSolution], xi2_R: np.ndarray) -> np.ndarray:
    """:func:`xi2_R_error` of several solutions at once (their ξ²_R given), the states on one
    space read together (:func:`symsteady.exact.solution.real_moments`)."""
    out = np.empty(len(solutions))
    for space, where in by_space(solutions):
        n = space.n
        floor = ERROR_FLOOR_ULPS * float(np.finfo(float).eps) * n * np.fmax(1.0, np.abs(xi2_R[where]))
        # every state moved along each of its error directions, all read together; per state the
        # largest change of each group, summed over its groups
        moved = [(j, g, i, v) for j, i in enumerate(where)
                 for g, group in enumerate(solutions[i].info.error_directions()) for v in group]
        change = np.zeros(len(where))
        if moved:
            shifted = np.stack([solutions[i].x - v for _, _, i, v in moved])
            changes = np.abs(exact_xi2_R(n, *real_moments(space, shifted)) - xi2_R[[i for _, _, i, _ in moved]])
            largest: dict[tuple[int, int], float] = {}
            for (j, g, _, _), c in zip(moved, changes):
                largest[j, g] = float(np.maximum(largest.get((j, g), 0.0), c))  # NaN (no ξ²_R) kept
            for (j, _), c in largest.items():
                change[j] += c
        failed = np.array([not solutions[i].info.correction < float("inf") for i in where])
        # without error directions, the adjoint solve's first-order changes where it ran
        adjoint = np.array([sum(solutions[i].info.adjoint_changes or (np.inf,)) for i in where])
        out[where] = np.where(failed, ERROR_SAFETY * adjoint + floor, ERROR_SAFETY * change + floor)
    return out


def exact_steady_state(model: Model, point: Mapping[str, Any], arithmetic: str = "float"
                       ) -> tuple[Basis, Operator]:
    """The exact steady state at a point as orbit coefficients (plain basis): ``arithmetic``
    ``"float"`` (double precision) or ``"exact"`` (Gaussian rationals; small N only)."""
    points = check_points(model, [point])
    if arithmetic == "exact":
        return rational_steady_state(model, points.exact_values(0))
    _check_arithmetic(arithmetic)
    solution = solve_at(model, points[0])
    return solution.basis, solution.coefficients()


def exact_moments(model: Model, point: Mapping[str, Any], arithmetic: str = "float"
                  ) -> tuple[list[Any], list[list[Any]]]:
    """Mean spin and symmetrised second moments of the exact steady state (``arithmetic`` as
    for :func:`exact_steady_state`)."""
    if arithmetic == "exact":
        return operator_moments(*exact_steady_state(model, point, "exact"))
    _check_arithmetic(arithmetic)
    return exact_solve(model, point).moments()


def _check_arithmetic(arithmetic: str) -> None:
    if arithmetic != "float":
        raise ParameterError(f"arithmetic must be 'float' or 'exact', not {arithmetic!r}")


__all__ = ["ExactSolution", "SolveInfo", "exact_moments", "exact_observables_of", "exact_solve", "exact_steady_state",
           "solve_at", "xi2_R_error", "xi2_R_errors"]
