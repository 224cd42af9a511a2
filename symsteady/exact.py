"""Exact steady states on the untruncated orbit basis (a, b up to N): the series' algebra, unsolved.

The steady state solves ``L rho = 0`` with ``Tr rho = 1``. In double precision
(:func:`exact_solve`, DESIGN §4):

* the Liouvillian ``L̂`` is built vectorised in the Hilbert–Schmidt-normalised basis
  (:mod:`symsteady.exact_matrix`), split as ``L = L0 + L1`` with L0 the U(1)-symmetric part
  (charge-0 words of H and every dissipator) and L1 the rest;
* in both, the row of B(0,0,0) (the dark state, ordered last) is replaced by the trace row;
* L0 is block lower triangular in the excitation blocks (a, b), so its sparse LU in natural
  order has little fill-in; it is the preconditioner of GMRES (:mod:`symsteady.krylov`) on the
  full L, which solves for the correction to L0's steady state, in unknowns weighted to the
  population scale so that its tolerance is the moments' (no U(1)-breaking part: the LU
  solve is already exact);
* where L0 is singular or GMRES does not converge, a direct sparse LU of L takes over (up to
  DIRECT_MAX_DIMENSION), with an :class:`~symsteady.errors.ExactSolverWarning` saying why; a
  singular L means the steady state is not unique
  (:class:`~symsteady.errors.NonUniqueSteadyStateError`);
* every solution is checked: backward error at most ACCEPTED_BACKWARD_ERROR, Hilbert–Schmidt
  norm at most 1 (a density matrix). BLAS runs on one thread (:mod:`symsteady.threads`).

Collective-only models (no local process) live in the symmetric sector (dimension (N+1)^2);
the others in the permutation-invariant orbit space (dimension C(N+3, 3)).
``arithmetic="exact"`` solves over the Gaussian rationals instead (a reference in arbitrary
precision at small N). Moments and squeezing come from the same observable code as the series.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
from sympy.polys.domains import QQ_I
from sympy.polys.matrices import DomainMatrix

from . import krylov
from .algebra import Basis, Key, Operator, OrbitBasis
from .errors import ExactSolverError, ExactSolverWarning, NonUniqueSteadyStateError, ParameterError
from .exact_matrix import KeySpace, assemble, log_binomial, run_chain
from .fields import ComplexField
from .liouvillian import Superoperator
from .model import Model
from .observables import exact_observables, moments_from_expectations, operator_moments
from .points import point_field
from .series import make_basis
from .spinpoly import Word, charge
from .threads import single_blas_thread

#: Largest number of basis elements the double-precision solver accepts (N = 200 has 1.37e6;
#: memory grows by about 1 kB per element).
MAX_EXACT_DIMENSION = 6_000_000
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


@dataclass
class ExactLiouvillian:
    """L0 and L (normalised basis, trace row last) and the right-hand side entry of Tr rho = 1."""

    space: KeySpace
    A0: scipy.sparse.csr_matrix
    A: scipy.sparse.csr_matrix
    rhs: float
    broken: bool  # L has a U(1)-breaking part (L1 != 0)


def check_size(basis: Basis, n: int) -> int:
    """The dimension of the exact space at N = n, or a clear error when it is too large."""
    dim = math.comb(n + 3, 3) if isinstance(basis, OrbitBasis) else (n + 1) ** 2
    if dim > MAX_EXACT_DIMENSION:
        raise ExactSolverError(
            f"N = {n} needs {dim} {basis.name} basis elements, more than the exact solver's limit "
            f"of {MAX_EXACT_DIMENSION} (about N = 325 with local processes)"
        )
    return dim


def split_superoperators(model: Model, point: Mapping[str, Any]) -> tuple[Basis, Superoperator, Superoperator]:
    """The basis at the point and ``(L0, L1)``: U(1)-symmetric part (charge-0 words and every
    dissipator) and U(1)-breaking part (the other words), in double precision."""
    field, convert, _ = point_field(model, point)
    basis = make_basis(model, field)
    h0 = {w: convert(c) for w, c in model.poly.items() if charge(w) == 0}
    h1 = {w: convert(c) for w, c in model.poly.items() if charge(w) != 0}
    rates = {r: convert(v) for r, v in model.rates.items()}
    return basis, Superoperator(basis, h0, rates), Superoperator(basis, h1, {})


def build_exact_liouvillian(model: Model, point: Mapping[str, Any]) -> ExactLiouvillian:
    """Vectorised build of L0 and L = L0 + L1 with the trace row (see the module docstring)."""
    basis, S0, S1 = split_superoperators(model, point)
    n = basis.F.n_int
    check_size(basis, n)
    space = KeySpace(basis, n)
    A0, A, rhs = assemble(space, S0.terms, S1.terms)
    return ExactLiouvillian(space, A0, A0 if A is None else A, rhs, A is not None)


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


@dataclass
class ExactSolution:
    """An exact steady state ``rho = sum_j x[j] B̂_j`` in the normalised basis of ``space``."""

    space: KeySpace
    x: np.ndarray
    info: SolveInfo

    @property
    def basis(self) -> Basis:
        return self.space.basis

    def coefficients(self) -> Operator:
        """Orbit coefficients in the plain (unnormalised) basis, ``{key: complex}``, nonzero only."""
        values = self.x * np.exp(-self.space.log_norm)
        keep = np.flatnonzero(values)
        keys = zip(*(lab[keep].tolist() for lab in self.space.labels))
        return dict(zip(keys, values[keep].tolist()))

    def expect(self, word: Word) -> complex:
        """``Tr(word rho)``: the word's chain on the labels near the diagonal, traced in log space."""
        labels, n = self.space.labels, self.space.n
        reach = len(word)
        near = np.abs(labels[0] - labels[1]) <= reach
        if len(labels) == 3:
            near &= np.minimum(labels[0], labels[1]) - labels[2] <= reach
        near = np.flatnonzero(near)
        src, cf, targets = run_chain(self.basis, self.basis.word_chain(word, "ket"),
                                     tuple(lab[near] for lab in labels), n)
        traced = np.asarray(self.basis.traced(*targets), dtype=bool)
        pos = near[src[traced]]
        log_ratio = log_binomial(n, targets[0][traced], self.space.log_fact) - self.space.log_norm[pos]
        return complex(np.sum(cf[traced] * np.exp(log_ratio) * self.x[pos]))

    def moments(self) -> tuple[list[complex], list[list[complex]]]:
        """Mean spin and symmetrised second moments (the observable code of the series)."""
        return moments_from_expectations(ComplexField(self.space.n), self.expect)

    def observables(self) -> dict[str, Any]:
        """Squeezing, direction, mean, covariance and rs_gap (as :func:`exact_observables_at`)."""
        mean, second = self.moments()
        return exact_observables(self.space.n, np.array([complex(m).real for m in mean]),
                                 np.array([[complex(s).real for s in row] for row in second]))


def exact_solve(model: Model, point: Mapping[str, Any]) -> ExactSolution:
    """The exact steady state at a point in double precision, with timings and solver details."""
    with single_blas_thread():
        t0 = time.perf_counter()
        system = build_exact_liouvillian(model, point)
        t1 = time.perf_counter()
        x, info = solve_exact_liouvillian(system)
        info.build_seconds, info.solve_seconds = t1 - t0, time.perf_counter() - t1
    return ExactSolution(system.space, x, info)


# ---- exact rational arithmetic (small N) -----------------------------------------------------


def all_keys(basis: Basis, n: int) -> list[Key]:
    """Every basis element at N = n, the dark state last."""
    keys = [k for a in range(n + 1) for b in range(n + 1) for k in basis.block_keys(a, b)]
    keys.remove(basis.dark)
    return keys + [basis.dark]


def _rational_steady_state(model: Model, point: Mapping[str, Any]) -> tuple[Basis, Operator]:
    """Gaussian-rational solve of the same system (trace row in place of the dark state's row)."""
    field, convert, _ = point_field(model, point, True)
    n = field.n_int
    basis = make_basis(model, field)
    L = Superoperator(basis, {w: convert(c) for w, c in model.poly.items()},
                      {r: convert(v) for r, v in model.rates.items()})
    keys = all_keys(basis, n)
    index = {k: i for i, k in enumerate(keys)}
    dim = len(keys)
    rows: dict[int, dict[int, Any]] = {}
    for j, k in enumerate(keys):
        for k2, v in L.on_key(k).items():
            i = index[k2]
            if i != dim - 1:
                rows.setdefault(i, {})[j] = v
    for j, k in enumerate(keys):
        t = basis.trace(k)
        if t is not None:
            rows.setdefault(dim - 1, {})[j] = t
    M = DomainMatrix(rows, (dim, dim), QQ_I).to_field()
    rhs = DomainMatrix({dim - 1: {0: QQ_I(1)}}, (dim, 1), QQ_I).to_field()
    try:
        x = M.lu_solve(rhs).to_Matrix()
    except Exception as exc:
        raise NonUniqueSteadyStateError(
            f"the exact Liouvillian at N = {n} is singular: its steady state is not unique") from exc
    sol = [QQ_I.from_sympy(x[i, 0]) for i in range(dim)]
    return basis, {k: v for k, v in zip(keys, sol) if v}


# ---- entry points --------------------------------------------------------------------------------


def exact_steady_state(model: Model, point: Mapping[str, Any], arithmetic: str = "float") -> tuple[Basis, Operator]:
    """The exact steady state at a point, as orbit coefficients (plain basis, small parameter included).

    ``arithmetic``: ``"float"`` (double precision, :func:`exact_solve`) or ``"exact"`` (Gaussian
    rationals; small N only)."""
    if arithmetic == "exact":
        return _rational_steady_state(model, point)
    _check_arithmetic(arithmetic)
    solution = exact_solve(model, point)
    return solution.basis, solution.coefficients()


def exact_moments(model: Model, point: Mapping[str, Any], arithmetic: str = "float") -> tuple[list[Any], list[list[Any]]]:
    """Mean spin and symmetrised second moments of the exact steady state."""
    if arithmetic == "exact":
        basis, rho = _rational_steady_state(model, point)
        return operator_moments(basis, rho)
    _check_arithmetic(arithmetic)
    return exact_solve(model, point).moments()


def exact_observables_at(model: Model, point: Mapping[str, Any]) -> dict[str, Any]:
    """Squeezing, direction, mean, covariance and rs_gap of the exact steady state at a point."""
    return exact_solve(model, point).observables()


def _check_arithmetic(arithmetic: str) -> None:
    if arithmetic != "float":
        raise ParameterError(f"arithmetic must be 'float' or 'exact', not {arithmetic!r}")
