"""Exact steady states on the untruncated orbit basis (a, b up to N): the series' algebra, unsolved.

* :mod:`~symsteady.exact.space`: every label at one N, its position and Hilbert–Schmidt norm;
* :mod:`~symsteady.exact.matrix`: the sparse Liouvillian, L0 and L, with the trace row;
* :mod:`~symsteady.exact.solve`: LU(L0)-preconditioned GMRES (:mod:`~symsteady.exact.krylov`),
  a direct fallback, checks;
* :mod:`~symsteady.exact.solution`: the state and its moments and squeezing;
* :mod:`~symsteady.exact.rational`: the same system in exact rational arithmetic (small N).

Collective-only models live in the symmetric sector (dimension (N+1)^2), the others in the
permutation-invariant orbit space (dimension C(N+3, 3)); ``docs/algorithm/exact-solver.md``.
"""

from __future__ import annotations

import time
from typing import Any, Mapping

from ..algebra import Basis, Operator
from ..errors import ParameterError
from ..model import Model
from ..observables import operator_moments
from ..points import check_points
from ..threads import single_blas_thread
from .matrix import build_exact_liouvillian
from .rational import rational_steady_state
from .solution import ExactSolution
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
    (0.837607, 'gmres')
    """
    return solve_at(model, check_points(model, [point])[0])


def solve_at(model: Model, values: Mapping[str, Any]) -> ExactSolution:
    """:func:`exact_solve` at a point already checked (:class:`symsteady.points.Points`)."""
    with single_blas_thread():
        t0 = time.perf_counter()
        system = build_exact_liouvillian(model, values)
        t1 = time.perf_counter()
        x, info = solve_exact_liouvillian(system)
        info.build_seconds, info.solve_seconds = t1 - t0, time.perf_counter() - t1
    return ExactSolution(system.space, x, info)


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


__all__ = ["ExactSolution", "SolveInfo", "exact_moments", "exact_solve", "exact_steady_state", "solve_at"]
