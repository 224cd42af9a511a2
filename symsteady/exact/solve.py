"""Solving ``L̂ x̂ = e_trace`` for the steady state, in double precision.

* L0 is block lower triangular in the excitation blocks (a, b), so its sparse LU in natural
  order has little fill-in; it is the preconditioner of GMRES (:mod:`symsteady.exact.krylov`)
  on the full L, which solves for the correction to L0's steady state, in unknowns weighted
  to the population scale so that its tolerance is the moments' (with no U(1)-breaking part
  the LU solve is already exact);
* where L0 is singular or GMRES does not converge, a direct sparse LU of L takes over (up to
  DIRECT_MAX_DIMENSION), with an :class:`~symsteady.errors.ExactSolverWarning` saying why; a
  singular L means the steady state is not unique
  (:class:`~symsteady.errors.NonUniqueSteadyStateError`);
* every solution is checked: backward error at most ACCEPTED_BACKWARD_ERROR, Hilbert–Schmidt
  norm at most 1 (a density matrix).

``docs/algorithm/exact-solver.md#exact-gmres`` explains the choices.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from ..errors import ExactSolverError, ExactSolverWarning, NonUniqueSteadyStateError
from . import krylov
from .matrix import ExactLiouvillian

#: GMRES: relative tolerance on the correction; Krylov vectors per cycle (between the bounds,
#: within GMRES_MEMORY bytes); at most GMRES_CYCLES restart cycles.
GMRES_RTOL = 1e-13
GMRES_RESTART_MIN, GMRES_RESTART_MAX = 30, 200
GMRES_MEMORY = 1_000_000_000
GMRES_CYCLES = 8
#: Largest dimension solved by a direct sparse LU of the full L (the fallback), about N = 82.
DIRECT_MAX_DIMENSION = 100_000
#: A pivot below this fraction of the largest marks a singular matrix.
SINGULAR_PIVOT_RATIO = 1e-14
#: Accepted backward error ``||L̂ x̂ - b|| / (||L̂|| ||x̂||)`` (infinity norms) of a solution.
ACCEPTED_BACKWARD_ERROR = 1e-10


@dataclass
class SolveInfo:
    """How a steady state was obtained.

    ``method``: ``"lu"`` (no U(1)-breaking part: one LU solve of L = L0), ``"gmres"``
    (LU(L0)-preconditioned GMRES), or ``"direct"`` (sparse LU of the full L, after a fallback
    explained in ``note``). ``iterations`` counts GMRES inner iterations; ``backward_error``
    is ``||L̂ x̂ - b||_inf / (||L̂||_inf ||x̂||_inf)``.
    """

    method: str
    dimension: int
    iterations: int = 0
    backward_error: float = float("nan")
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    note: str = ""


def _backward_error(A: scipy.sparse.csr_matrix, x: np.ndarray, b: np.ndarray) -> float:
    if not np.all(np.isfinite(x)):
        return float("inf")
    norm_a = float(abs(A).sum(axis=1).max())
    return float(np.abs(A @ x - b).max() / (norm_a * np.abs(x).max()))


def _lu_of_l0(system: ExactLiouvillian) -> tuple[Any, str]:
    """SuperLU of L0 in natural order (diagonal pivots preferred: block-triangular L0, little
    fill-in), or None and the reason it is unusable. A zero on the diagonal means a block that
    does not decay at all (L0 singular); it is caught before SuperLU, which can crash on it."""
    singular = "L0 (the U(1)-symmetric part) is singular"
    if np.any(system.A0.diagonal()[:-1] == 0):
        return None, singular
    try:
        lu = scipy.sparse.linalg.splu(system.A0.tocsc(), permc_spec="NATURAL", diag_pivot_thresh=0.1)
    except RuntimeError:
        return None, singular
    pivots = np.abs(lu.U.diagonal())[:-1]
    if pivots.size and pivots.min() <= 1e-12 * pivots.max():
        return None, singular
    return lu, ""


def _direct(system: ExactLiouvillian, b: np.ndarray, note: str) -> np.ndarray:
    """Sparse LU of the full L (COLAMD order): a near-zero pivot means a singular L."""
    n, dim = system.space.n, system.space.dim
    if dim > DIRECT_MAX_DIMENSION:
        raise ExactSolverError(
            f"N = {n}: {note}, and a direct solve of dimension {dim} is beyond the limit of "
            f"{DIRECT_MAX_DIMENSION} (its LU fills in like N^6: minutes and gigabytes); use a smaller "
            "N, or a weaker U(1)-breaking term")
    warnings.warn(ExactSolverWarning(f"N = {n}: {note}; solving L by a direct sparse LU instead "
                                     "(slower)"), stacklevel=4)
    singular = NonUniqueSteadyStateError(
        f"the exact Liouvillian at N = {n} ({system.space.basis.name} space) is singular: its steady "
        "state is not unique (some excitations never decay — is there no emission or pumping?)")
    try:
        lu = scipy.sparse.linalg.splu(system.A.tocsc())
    except RuntimeError:
        raise singular from None
    pivots = np.abs(lu.U.diagonal())
    if pivots.min() <= SINGULAR_PIVOT_RATIO * pivots.max():
        raise singular
    return lu.solve(b)


def _krylov_size(dim: int) -> int:
    """Krylov vectors per GMRES cycle: up to GMRES_RESTART_MAX, within GMRES_MEMORY bytes."""
    return int(min(GMRES_RESTART_MAX, max(GMRES_RESTART_MIN, GMRES_MEMORY // (16 * dim))))


def _preconditioned_gmres(system: ExactLiouvillian, lu: Any, r0: np.ndarray
                          ) -> tuple[np.ndarray | None, int, str]:
    """Solve ``L̂ δ = r0`` by restarted GMRES on ``P = W LU(L0)^-1 L̂ W^-1`` (left-preconditioned,
    unknowns ``y = W δ`` on the population scale, so the stopping test weighs every element as
    the moments do). Returns ``(δ or None, inner iterations, why it failed)``."""
    dim = system.space.dim
    w = np.exp(system.space.log_population_weight())
    A = system.A

    def apply(y: np.ndarray) -> np.ndarray:
        return w * lu.solve(A @ (y / w))

    result = krylov.gmres(apply, krylov.flush(w * lu.solve(r0)), rtol=GMRES_RTOL,
                          restart=_krylov_size(dim), max_cycles=GMRES_CYCLES)
    if result.converged:
        return result.x / w, result.iterations, ""
    return None, result.iterations, (
        f"GMRES preconditioned by LU(L0) did not converge ({result.iterations} iterations, residual "
        f"{result.residual:.1e}): the U(1)-breaking part is too strong for this preconditioner")


def solve_exact_liouvillian(system: ExactLiouvillian) -> tuple[np.ndarray, SolveInfo]:
    """The normalised steady-state coordinates x̂ (``rho = sum x̂_j B̂_j``) and how they were found."""
    dim = system.space.dim
    b = np.zeros(dim, dtype=complex)
    b[-1] = system.rhs
    info = SolveInfo(method="lu", dimension=dim)
    lu, note = _lu_of_l0(system)
    x = None
    if lu is not None:
        x = lu.solve(b)
        if system.broken:
            info.method = "gmres"
            delta, info.iterations, note = _preconditioned_gmres(system, lu, b - system.A @ x)
            x = None if delta is None else x + delta
    if x is None:
        info.method, info.note = "direct", note
        x = _direct(system, b, note)
    info.backward_error = _backward_error(system.A, x, b)
    if not info.backward_error <= ACCEPTED_BACKWARD_ERROR:
        raise NonUniqueSteadyStateError(
            f"the exact Liouvillian at N = {system.space.n} is (numerically) singular: the solve "
            f"has backward error {info.backward_error:.1e}, so the steady state is not unique or "
            "not resolvable in double precision")
    hs_norm = float(np.linalg.norm(x))
    if hs_norm > 1 + 1e-6:
        raise NonUniqueSteadyStateError(
            f"the exact solve at N = {system.space.n} gives an operator of Hilbert–Schmidt norm "
            f"{hs_norm:.3g} > 1, not a density matrix: the Liouvillian is numerically singular "
            "(the steady state is not unique)")
    return x, info
