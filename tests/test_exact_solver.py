"""The exact permutation-invariant solver (``symsteady.exact``) against QuTiP (piqs in double
precision, the jmat sector), the full 2^N space of ``exact_reference`` (which does not import
symsteady) and closed forms.

References run with one BLAS thread, as the solvers do (threaded BLAS on busy cores makes
small sparse LUs orders of magnitude slower).
"""

from __future__ import annotations

import functools
import json
import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import exact_reference as ref
import symsteady
from symsteady import Model, builtin, evaluate
from symsteady.algebra import OrbitBasis, SymmetricBasis
from symsteady.cli import main
from symsteady.errors import ExactSolverError, ExactSolverWarning, NonUniqueSteadyStateError, ParameterError
from symsteady.exact import exact_moments, exact_solve, exact_steady_state, xi2_R_error
from symsteady.exact.matrix import normalised_matrix
from symsteady.exact.pieces import build_at as build_exact_liouvillian
from symsteady.exact.space import KeySpace
from symsteady.fields import ComplexField
from symsteady.liouvillian import Superoperator

TOL = 1e-9
PARAMS = {
    "xyz": {"J": 0.5, "delta": 0.1, "Jz": 1.0, "gamma": 1.0},
    "tfi": {"Delta": 1.0, "Jx": 0.3, "gamma": 1.0},
    "driven_ising": {"Omega": 0.4, "Delta": 0.5, "U": 0.7, "gamma": 1.0},
    "resonance_fluorescence": {"Omega": 1.3, "Gamma": 1.0},
}
EXTRA_RATE_NAMES = {"local_dephasing": "gphi", "collective_emission": "Gam", "local_pumping": "gp"}


def variant(name: str, extra: dict[str, float]) -> tuple[Model, dict[str, float]]:
    """A built-in model with extra rates (as parameters gphi, Gam, gp) and its parameter values."""
    params = dict(PARAMS[name])
    rates = {}
    for rate, value in extra.items():
        rates[rate] = EXTRA_RATE_NAMES[rate]
        params[EXTRA_RATE_NAMES[rate]] = value
    return builtin(name).replace(name=f"{name}+", **rates), params


def exact_observables_at(model: Model, point: dict) -> dict:
    return exact_solve(model, point).observables()


@functools.lru_cache(maxsize=None)
def reference(name: str, N: int, extra: tuple = (), backend: str = "auto") -> dict:
    with threadpool_limits(limits=1, user_api="blas"):
        mean, second = ref.reference_moments(name, N, PARAMS[name], extra_rates=dict(extra), backend=backend)
    out = ref.squeezing_from_moments(N, mean, second)
    out["mean"] = mean
    return out


def assert_agree(ours: dict, want: dict, N: int, tol: float = TOL) -> None:
    """ξ²_R absolutely; mean and covariance relative to their natural scale N/2 and N/4."""
    assert abs(ours["xi2_R"] - want["xi2_R"]) <= tol, (ours["xi2_R"], want["xi2_R"])
    assert np.abs(np.asarray(ours["mean"]) - want["mean"]).max() <= tol * max(1, N / 2)
    assert np.abs(np.asarray(ours["cov"]) - want["cov"]).max() <= tol * max(1, N / 4)


# ---- the vectorised build is the scalar algebra on arrays -----------------------------------------


@pytest.mark.parametrize("N", [1, 2, 3, 5])
@pytest.mark.parametrize("kind", ["orbit", "symmetric"])
def test_vectorised_matrix_equals_on_key(N, kind):
    """Column j of the normalised matrix is Superoperator.on_key(key_j), rescaled by the norms."""
    rng = np.random.default_rng(N + 10 * (kind == "orbit"))
    F = ComplexField(N)
    basis = OrbitBasis(F) if kind == "orbit" else SymmetricBasis(F)
    words = [("p", "p"), ("p", "m"), ("z",), ("p", "z", "m"), ("m",), ("p",), ("z", "z"), ("m", "m", "z")]
    ham = {w: complex(rng.normal(), rng.normal()) for w in words}
    rates = {"collective_emission": 0.7}
    if kind == "orbit":
        rates.update(local_emission=0.3, local_dephasing=0.2, local_pumping=0.4)
    L = Superoperator(basis, ham, rates)
    space = KeySpace(basis, N)
    got = normalised_matrix(space, L.terms).toarray()
    keys = list(zip(*(lab.tolist() for lab in space.labels)))
    assert len(keys) == len(set(keys)) and all(basis.valid(k) for k in keys)
    assert keys[-1] == basis.dark
    index = {k: i for i, k in enumerate(keys)}
    want = np.zeros_like(got)
    for j, key in enumerate(keys):
        for k, v in L.on_key(key).items():
            want[index[k], j] += v
    want *= np.exp(space.log_norm[:, None] - space.log_norm[None, :])
    assert np.abs(got - want).max() <= 1e-13 * np.abs(want).max()


def test_key_space_sizes_and_norms():
    """C(N+3, 3) orbit elements, (N+1)^2 symmetric ones; ||B||^2 = C(N,a) C(a,c) C(N-a,b-c)."""
    from math import comb

    for N in (1, 4, 9):
        orbit = KeySpace(OrbitBasis(ComplexField(N)), N)
        assert orbit.dim == comb(N + 3, 3)
        assert KeySpace(SymmetricBasis(ComplexField(N)), N).dim == (N + 1) ** 2
        a, b, c = orbit.labels
        want = [0.5 * np.log(comb(N, x) * comb(x, z) * comb(N - x, y - z)) for x, y, z in zip(a, b, c)]
        assert np.allclose(orbit.log_norm, want, atol=1e-12)
    big = KeySpace(OrbitBasis(ComplexField(200)), 200)
    assert np.all(np.isfinite(big.log_norm)) and np.all(np.isfinite(big.log_population_weight()))


# ---- agreement with QuTiP and the 2^N space ---------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("N", [2, 7, 20])
@pytest.mark.parametrize("name", list(PARAMS))
def test_builtin_models_agree_with_qutip(name, N):
    """piqs (double-precision port; U != 0 for driven_ising) or the jmat sector (collective only)."""
    ours = exact_observables_at(builtin(name), {"N": N, **PARAMS[name]})
    assert_agree(ours, reference(name, N), N)


@pytest.mark.slow
@pytest.mark.parametrize("N", [1, 3, 5])
@pytest.mark.parametrize("name", list(PARAMS))
def test_builtin_models_agree_with_full_space(name, N):
    """The full 2^N space (symmetric subspace for collective-only), from exact_reference."""
    ours = exact_observables_at(builtin(name), {"N": N, **PARAMS[name]})
    assert_agree(ours, reference(name, N, backend="full"), N)


@pytest.mark.parametrize("extra", [
    {"local_dephasing": 0.2},
    {"collective_emission": 0.4},
    {"collective_emission": 0.4, "local_dephasing": 0.15},
])
@pytest.mark.slow
@pytest.mark.parametrize("N", [4, 12, 20])
def test_extra_processes_agree_with_piqs(extra, N):
    """Local dephasing, collective + local emission on xyz, against piqs in double precision."""
    model, params = variant("xyz", extra)
    ours = exact_observables_at(model, {"N": N, **params})
    assert_agree(ours, reference("xyz", N, tuple(extra.items())), N)


@pytest.mark.parametrize("name,extra", [
    ("xyz", {"local_pumping": 0.2}),
    ("driven_ising", {"local_pumping": 0.3, "local_dephasing": 0.1}),
    ("tfi", {"local_pumping": 0.5, "collective_emission": 0.3}),
])
@pytest.mark.parametrize("N", [2, 3, 5])
def test_pumping_agrees_with_full_space(name, extra, N):
    """Pumping against the 2^N space (piqs computes pumping in single precision)."""
    model, params = variant(name, extra)
    ours = exact_observables_at(model, {"N": N, **params})
    assert_agree(ours, reference(name, N, tuple(extra.items()), backend="full"), N)


# ---- where piqs breaks down: non-interacting driving ------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("N", [4, 20, 60])
def test_noninteracting_driving_is_the_product_state(N):
    """driven_ising at U = 0 (even N: piqs' direct solve calls its Liouvillian singular): our
    trace-row formulation is regular and gives ξ²_R of the product state."""
    Omega, Delta, gamma = 0.2, 1 / 3, 1.0
    solution = exact_solve(builtin("driven_ising"), {"N": N, "Omega": Omega, "Delta": Delta, "U": 0.0,
                                                     "gamma": gamma})
    assert solution.info.method in ("gmres", "direct")
    obs = solution.observables()
    assert abs(obs["xi2_R"] - ref.product_state_xi2_R(Omega, Delta, gamma)) <= 1e-10
    # the single-emitter Bloch vector fixes the mean: <sigma^z> = -(4Δ²+γ²)/(4Δ²+γ²+8Ω²)
    sz = -(4 * Delta**2 + gamma**2) / (4 * Delta**2 + gamma**2 + 8 * Omega**2)
    assert abs(obs["mean"][2] - N * sz / 2) <= 1e-10 * N


@pytest.mark.slow
def test_no_overflow_at_N_200_with_a_spread_state():
    """Pumping spreads the state over C(200, 67) ~ 1e54 configurations: moments still exact.
    Δ Sz with emission γ and pumping γp: product state with <sigma^z> = s = (γp-γ)/(γp+γ)."""
    model = Model("Delta*Sz", local_emission="gamma", local_pumping="gp")
    solution = exact_solve(model, {"N": 200, "Delta": 0.3, "gamma": 1.0, "gp": 0.5})
    assert solution.info.method == "lu"
    obs = solution.observables()
    s, N = -1 / 3, 200
    assert np.allclose(obs["mean"], [0, 0, N * s / 2], atol=1e-9 * N)
    assert np.allclose(np.diag(obs["cov"]), [N / 4, N / 4, N * (1 - s * s) / 4], rtol=1e-10)
    assert obs["xi2_R"] == pytest.approx(1 / s**2, rel=1e-10)


# ---- the solve: paths, fallbacks, errors -----------------------------------------------------


def test_solver_paths_and_iterations():
    """No U(1)-breaking part: one LU solve; otherwise GMRES preconditioned by LU(L0), converging
    in a few iterations for a weak perturbation, to a tiny backward error."""
    lu = exact_solve(builtin("xyz"), {"N": 30, **PARAMS["xyz"], "delta": 0.0})
    assert lu.info.method == "lu" and lu.info.iterations == 0
    gm = exact_solve(builtin("xyz"), {"N": 40, **PARAMS["xyz"], "delta": 0.05})  # above DIRECT_FIRST_DIMENSION
    assert gm.info.method == "gmres" and 0 < gm.info.iterations <= 30
    assert gm.info.backward_error < 1e-12
    # the steady state has unit trace and Hilbert–Schmidt norm at most one
    assert abs(gm.expect(()) - 1) < 1e-12
    assert np.linalg.norm(gm.x) <= 1 + 1e-12


def test_small_broken_systems_take_the_direct_lu_at_once_and_agree_with_gmres(monkeypatch):
    """Up to DIRECT_FIRST_DIMENSION a U(1)-breaking L is factored directly (no warning, a
    condition estimate from the LU); the state is GMRES' to rounding."""
    point = {"N": 12, **PARAMS["xyz"], "delta": 0.3}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        direct = exact_solve(builtin("xyz"), point)
    assert direct.info.method == "direct" and direct.info.note == "" and direct.info.iterations == 0
    assert direct.info.condition_kind == "onenormest" and direct.info.backward_error < 1e-14
    monkeypatch.setattr(symsteady.exact.solve, "DIRECT_FIRST_DIMENSION", 0)
    gm = exact_solve(builtin("xyz"), point)
    assert gm.info.method == "gmres"
    assert np.abs(direct.x - gm.x).max() <= 1e-12 * np.abs(gm.x).max()
    assert direct.expect(("p", "m")) == pytest.approx(gm.expect(("p", "m")), rel=1e-12)


def test_gmres_failure_falls_back_to_direct_solve_and_says_so(monkeypatch):
    point = {"N": 8, **PARAMS["driven_ising"]}
    want = exact_observables_at(builtin("driven_ising"), point)
    monkeypatch.setattr(symsteady.exact.solve, "DIRECT_FIRST_DIMENSION", 0)  # the GMRES path
    monkeypatch.setattr(symsteady.exact.solve, "GMRES_ITERATIONS", 2)
    monkeypatch.setattr(symsteady.exact.solve, "GMRES_RESTART_MAX", 2)
    monkeypatch.setattr(symsteady.exact.solve, "GMRES_RESTART_MIN", 2)
    with pytest.warns(ExactSolverWarning, match="did not converge"):
        solution = exact_solve(builtin("driven_ising"), point)
    assert solution.info.method == "direct" and "GMRES" in solution.info.note
    assert_agree(solution.observables(), want, 8, 1e-12)


def test_projected_gmres_time_from_its_rate():
    from symsteady.exact.solve import projected_seconds

    # halving per cycle, 2 s a cycle: ten more cycles to gain 2^10
    assert projected_seconds([1.0, 0.5, 0.25], 0.25 / 1024, 4.0) == pytest.approx(20.0)
    assert projected_seconds([1.0, 1.0, 1.0], 1e-3, 4.0) == float("inf")
    assert projected_seconds([1.0, 0.5], 1e-3, 4.0) == 0.0  # too early to tell
    assert projected_seconds([1.0, 0.5, 1e-4], 1e-3, 4.0) == 0.0  # there


def test_gmres_slower_than_the_direct_lu_gives_way_to_it(monkeypatch):
    """GMRES stops when, at its rate, the rest would outlast the direct LU (here: a direct LU
    said to take no time, GMRES two vectors per cycle) — and keeps going to its state when it
    would not."""
    point = {"N": 8, **PARAMS["driven_ising"]}
    want = exact_observables_at(builtin("driven_ising"), point)
    monkeypatch.setattr(symsteady.exact.solve, "DIRECT_FIRST_DIMENSION", 0)  # the GMRES path
    monkeypatch.setattr(symsteady.exact.solve, "GMRES_RESTART_MAX", 2)
    monkeypatch.setattr(symsteady.exact.solve, "GMRES_RESTART_MIN", 2)
    monkeypatch.setattr(symsteady.exact.solve, "DIRECT_SECONDS", 1e-12)
    with pytest.warns(ExactSolverWarning, match="longer than the direct LU"):
        solution = exact_solve(builtin("driven_ising"), point)
    assert solution.info.method == "direct" and solution.info.iterations <= 2 * 3
    assert_agree(solution.observables(), want, 8, 1e-12)
    monkeypatch.setattr(symsteady.exact.solve, "DIRECT_SECONDS", 1e12)
    with pytest.warns(ExactSolverWarning, match="no error bar"):  # two vectors a cycle: a rounding response stalls
        slow = exact_solve(builtin("driven_ising"), point)
    # GMRES ran to its state; the direct LU came only for the error bar
    assert slow.info.iterations > 6 and slow.info.note.startswith("GMRES' state had no error bar")
    assert_agree(slow.observables(), want, 8, 1e-10)


def test_direct_refinement_goes_on_while_it_converges(monkeypatch):
    """On the direct path refinement steps go on while the correction exceeds REFINE_AGAIN (made
    zero here) and halves; the step that stops halving is undone. The state moves within the
    one-step state's bar, which it keeps: the error bar comes from the first step's correction."""
    solve_module = symsteady.exact.solve
    point = {"N": 20, "Omega": 1.0, "Delta": 0.5, "U": 0.5, "gamma": 0.01}
    monkeypatch.setattr(solve_module, "REFINE_STEPS", 1)
    one = exact_solve(builtin("driven_ising"), point)
    assert one.info.method == "direct" and one.info.refinement_steps == 1
    monkeypatch.setattr(solve_module, "REFINE_STEPS", 8)
    monkeypatch.setattr(solve_module, "REFINE_AGAIN", 0.0)
    more = exact_solve(builtin("driven_ising"), point)
    assert 2 <= more.info.refinement_steps <= solve_module.REFINE_STEPS
    assert more.info.correction == one.info.correction
    assert np.array_equal(more.info.refinement, one.info.refinement)
    assert not np.array_equal(more.x, one.x)  # the further steps moved it
    xi_one, xi_more = float(one.observables()["xi2_R"]), float(more.observables()["xi2_R"])
    assert abs(xi_one - xi_more) <= xi2_R_error(one, xi_one)
    assert xi2_R_error(more, xi_more) == pytest.approx(xi2_R_error(one, xi_one), rel=1e-3)


def _nearby_lu(system, note, out_of_core=True):
    """In place of the direct LU (``_direct_lu``'s signature): the LU of the fold with eight
    diagonal entries tripled (a low-rank change like PARDISO's perturbed pivots, made large)."""
    import scipy.sparse.linalg

    fold, M = symsteady.exact.solve._folded(system)
    off = M.copy().tolil()
    for k in np.linspace(0, M.shape[0] - 2, 8).astype(int):
        off[k, k] *= 3.0
    lu = scipy.sparse.linalg.splu(off.tocsc())
    return symsteady.exact.solve.DirectLU(fold, lambda v, trans: lu.solve(v.T, trans=trans).T, 0, "superlu")


def test_refinement_recovers_from_the_lu_of_a_nearby_matrix(monkeypatch):
    """The direct LU of a nearby matrix (eight diagonal entries tripled, a low-rank change
    like PARDISO's perturbed pivots, made large): its refinement steps stagnate, and GMRES preconditioned by
    it takes over and reaches the true state; the bar, from the first step, covers it."""
    solve_module = symsteady.exact.solve
    point = {"N": 20, "Omega": 0.7, "Delta": 0.5, "U": 0.5, "gamma": 1.0}
    want = exact_solve(builtin("driven_ising"), point)

    monkeypatch.setattr(solve_module, "_direct_lu", _nearby_lu)
    got = exact_solve(builtin("driven_ising"), point)
    assert "refinement by GMRES preconditioned by the LU" in got.info.note
    assert got.info.refinement_steps >= 2
    xi_got, xi_want = float(got.observables()["xi2_R"]), float(want.observables()["xi2_R"])
    assert abs(xi_got - xi_want) <= 1e-12 * xi_want
    assert abs(xi_got - xi_want) <= xi2_R_error(got, xi_got)
    monkeypatch.setattr(solve_module, "REFINE_STEPS", 1)  # one plain step: far off, not accepted
    with pytest.raises(NonUniqueSteadyStateError, match="backward error"):
        exact_solve(builtin("driven_ising"), point)


def test_refinement_by_gmres_stops_after_the_factorisations_time_once_accepted(monkeypatch):
    """The GMRES steps of the refinement go on past the factorisation's time (made zero here)
    only until the state's backward error is accepted: then they stop, say so, and the bar
    (the first step's) covers the error left."""
    solve_module = symsteady.exact.solve
    point = {"N": 20, "Omega": 0.7, "Delta": 0.5, "U": 0.5, "gamma": 1.0}
    want = float(exact_solve(builtin("driven_ising"), point).observables()["xi2_R"])

    monkeypatch.setattr(solve_module, "_direct_lu", _nearby_lu)
    full = exact_solve(builtin("driven_ising"), point)
    monkeypatch.setattr(solve_module, "REFINE_GMRES_MIN_SECONDS", 0.0)
    cut = exact_solve(builtin("driven_ising"), point)
    assert "stopped at a correction" in cut.info.note and "stopped" not in full.info.note
    assert 3 <= cut.info.refinement_steps < full.info.refinement_steps
    assert cut.info.backward_error <= solve_module.ACCEPTED_BACKWARD_ERROR
    got = float(cut.observables()["xi2_R"])
    assert abs(got - want) > 1e-13 * want  # it did stop short
    assert abs(got - want) <= xi2_R_error(cut, got)


def test_population_backward_error_is_that_of_the_scaled_system():
    """``W L̂ W^-1 (W x̂) = W b`` formed densely: its backward error is the population-scale one,
    and a state whose plain one is not accepted reports the smaller of the two."""
    from symsteady.exact.solve import ACCEPTED_BACKWARD_ERROR, _backward_error, _population_backward_error

    system = build_exact_liouvillian(builtin("xyz"), {"N": 6, **PARAMS["xyz"], "delta": 0.3})
    b = np.zeros(system.space.dim, dtype=complex)
    b[-1] = system.rhs
    x = np.linalg.solve(system.A.toarray(), b) * (1 + 1e-6 * np.random.default_rng(1).standard_normal(len(b)))
    w = np.exp(system.space.log_population_weight())
    scaled = w[:, None] * system.A.toarray() / w[None, :]
    want = np.abs(w * (system.A @ x - b)).max() / (np.abs(scaled).sum(axis=1).max() * np.abs(w * x).max())
    assert _population_backward_error(system, x, system.A @ x - b) == pytest.approx(want, rel=1e-12)
    plain = np.abs(system.A @ x - b).max() / (system.norm_inf * np.abs(x).max())
    assert plain > ACCEPTED_BACKWARD_ERROR  # so the reported one is the smaller of the two
    assert _backward_error(system, x, b) == pytest.approx(min(plain, want), rel=1e-12)


def test_a_gmres_state_of_large_backward_error_goes_to_the_direct_lu(monkeypatch):
    """GMRES converged on its population-scale tolerance (made loose here) to a state whose
    backward error is not accepted: the direct LU takes over and says why — not a
    NonUniqueSteadyStateError."""
    solve_module = symsteady.exact.solve
    point = {"N": 12, **PARAMS["xyz"], "delta": 0.3}
    want = exact_solve(builtin("xyz"), point).observables()
    monkeypatch.setattr(solve_module, "DIRECT_FIRST_DIMENSION", 0)  # the GMRES path
    monkeypatch.setattr(solve_module, "GMRES_RTOL", 1e-4)
    monkeypatch.setattr(solve_module, "REFINE_RTOL", 0.9)
    with pytest.warns(ExactSolverWarning, match="backward error"):
        solution = exact_solve(builtin("xyz"), point)
    assert solution.info.method == "direct" and "backward error" in solution.info.note
    assert solution.info.backward_error < 1e-15 and solution.info.iterations > 0
    assert_agree(solution.observables(), want, 8, 1e-12)


def test_gmres_gives_way_within_a_restart_cycle(monkeypatch):
    """A cycle of 100 iterations that would outlast the direct LU is cut short once GMRES has
    run its share of the budget (here none): after INNER_WINDOW iterations, not 100; the
    product-like point needs over 200 iterations otherwise."""
    solve_module = symsteady.exact.solve
    point = {"N": 12, "Omega": 3.0, "Delta": 0.5, "U": 0.5, "gamma": 1.0}
    want = exact_observables_at(builtin("driven_ising"), point)
    monkeypatch.setattr(solve_module, "DIRECT_FIRST_DIMENSION", 0)  # the GMRES path
    monkeypatch.setattr(solve_module, "GMRES_RESTART_MIN", 100)
    monkeypatch.setattr(solve_module, "GMRES_RESTART_MAX", 100)
    monkeypatch.setattr(solve_module, "INNER_MIN_SECONDS", 0.0)
    monkeypatch.setattr(solve_module, "DIRECT_SECONDS", 1e-12)
    with pytest.warns(ExactSolverWarning, match="longer than the direct LU"):
        solution = exact_solve(builtin("driven_ising"), point)
    assert solution.info.method == "direct" and solution.info.iterations == solve_module.INNER_WINDOW
    assert_agree(solution.observables(), want, 8, 1e-12)
    monkeypatch.setattr(solve_module, "DIRECT_SECONDS", 1e12)
    assert exact_solve(builtin("driven_ising"), point).info.iterations > 200


def test_symmetric_sector_goes_to_the_direct_lu_at_once_while_it_is_cheap(monkeypatch):
    """Resonance fluorescence past the transition at N = 150 (22 801 unknowns, above
    DIRECT_FIRST_DIMENSION): the direct LU at once, no GMRES, no warning — and GMRES first when
    the least GMRES time is made zero (then it gives way, same state)."""
    solve_module = symsteady.exact.solve
    point = {"N": 150, "Omega": 37.5, "Gamma": 1.0}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        direct = exact_solve(builtin("resonance_fluorescence"), point)
    assert direct.info.dimension > solve_module.DIRECT_FIRST_DIMENSION
    assert direct.info.method == "direct" and direct.info.iterations == 0
    monkeypatch.setattr(solve_module, "INNER_MIN_SECONDS", 0.0)
    with pytest.warns(ExactSolverWarning, match="did not converge"):
        first = exact_solve(builtin("resonance_fluorescence"), point)
    assert first.info.method == "direct" and first.info.iterations > 0
    assert_agree(first.observables(), direct.observables(), 8, 1e-12)


def test_singular_L0_falls_back_and_the_fully_mixed_state_has_no_squeezing(monkeypatch):
    """Drive and dephasing without emission: L0 is singular (every population is steady), L is
    not (the unique steady state is 1/2^N); its mean spin vanishes, so ξ² is undefined (NaN)."""
    monkeypatch.setattr(symsteady.exact.solve, "DIRECT_FIRST_DIMENSION", 0)  # the GMRES path
    model = Model("J*Sz + Om*Sx", local_dephasing="g")
    with pytest.warns(ExactSolverWarning, match="L0"):
        solution = exact_solve(model, {"N": 5, "J": 0.7, "Om": 0.4, "g": 0.3})
    assert solution.info.method == "direct"
    obs = solution.observables()
    assert np.abs(obs["mean"]).max() < 1e-12
    assert np.allclose(obs["cov"], np.eye(3) * 5 / 4, atol=1e-12)
    assert np.isnan(obs["xi2_R"]) and np.isnan(obs["theta"]) and np.isnan(obs["rs_gap"])


def test_an_exact_row_says_why_it_has_no_squeezing():
    """Balanced emission and pumping with dephasing: the steady state is 1/2^N whatever the
    drive, so the row has no ξ²_R — and a note saying so; a row with ξ²_R has none."""
    model = Model("2*Omega*Sx + Delta*Sz", local_dephasing="gd", local_pumping="w", local_emission="gamma")
    mixed, driven = evaluate(model, None, [{"N": 8, "Omega": 2.0, "Delta": 1.0, "gd": 1.0, "w": 0.5, "gamma": 0.5},
                                           {"N": 8, "Omega": 2.0, "Delta": 1.0, "gd": 1.0, "w": 0.0, "gamma": 0.5}],
                             "exact")
    assert mixed["xi2_R"] is None and mixed["xi2_R_error"] is None
    assert "mean spin vanishes" in mixed["note"]
    assert driven["xi2_R"] is not None and driven["note"] is None


@pytest.mark.parametrize("model", [Model("J*Sz + Om*Sx"), Model("U*Sz**2/N"), Model("J*Sz", local_dephasing="g")])
def test_non_unique_steady_state_is_an_error(model):
    """No dissipation (every function of H is steady), or dephasing with H = J Sz (every
    diagonal state is steady)."""
    point = {"N": 4, **{p.name: 0.7 for p in model.parameters}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExactSolverWarning)
        with pytest.raises(NonUniqueSteadyStateError, match="not unique"):
            exact_observables_at(model, point)


def test_size_limits_are_clear_errors(monkeypatch):
    monkeypatch.setattr(symsteady.exact.matrix, "MAX_EXACT_DIMENSION", 500)  # xyz at N = 20: 891
    symsteady.exact.pieces.clear_piece_cache()  # the limit is checked when pieces are built, not on a cache hit
    with pytest.raises(ExactSolverError, match="basis elements"):
        exact_solve(builtin("xyz"), {"N": 20, **PARAMS["xyz"]})
    monkeypatch.setattr(symsteady.exact.solve, "available_memory", lambda: 1000)
    monkeypatch.setattr(symsteady.exact.pardiso, "free_disk_bytes", lambda directory=None: 1000)  # no out of core
    with pytest.raises(ExactSolverError, match="memory limit"):
        exact_solve(Model("J*Sz + Om*Sx", local_dephasing="g"), {"N": 5, "J": 0.7, "Om": 0.4, "g": 0.3})


@pytest.mark.parametrize("bad", [0, -3, 2.5, "x"])
def test_invalid_N(bad):
    with pytest.raises(ParameterError, match="N"):
        exact_solve(builtin("xyz"), {"N": bad, **PARAMS["xyz"]})


# ---- entry points ------------------------------------------------------------------------------


def test_float_and_rational_steady_states_agree():
    point = {"N": 3, "J": 0.5, "delta": 0.1, "Jz": 1, "gamma": 1}
    _, float_rho = exact_steady_state(builtin("xyz"), point)
    _, exact_rho = exact_steady_state(builtin("xyz"), point, arithmetic="exact")
    assert set(float_rho) <= set(exact_rho)
    for key, v in exact_rho.items():
        assert abs(float_rho.get(key, 0) - complex(float(v.x), float(v.y))) < 1e-13, key
    mean, second = exact_moments(builtin("xyz"), point)
    mean_q, second_q = exact_moments(builtin("xyz"), point, arithmetic="exact")
    assert np.allclose(np.real(mean), [float(m.x) for m in mean_q], atol=1e-13)
    assert np.allclose(np.real(second), [[float(s.x) for s in row] for row in second_q], atol=1e-13)
    with pytest.raises(ParameterError, match="arithmetic"):
        exact_moments(builtin("xyz"), point, arithmetic="mpmath")


def test_evaluate_and_cli_exact(capsys):
    point = {"N": 10, **PARAMS["tfi"]}
    row = evaluate(builtin("tfi"), None, [point], method="exact")[0]
    direct = exact_observables_at(builtin("tfi"), point)
    assert row["method"] == "exact" and row["order"] is None and row["sector"] == "permutation-invariant"
    assert row["xi2_R"] == pytest.approx(float(direct["xi2_R"]), abs=1e-15)
    argv = ["evaluate", "tfi", "--method", "exact", "--N", "10", "--json",
            *[f"--set={k}={v}" for k, v in PARAMS["tfi"].items()]]
    assert main(argv) == 0
    cli_row = json.loads(capsys.readouterr().out)[0]
    assert cli_row["xi2_R"] == pytest.approx(row["xi2_R"], abs=1e-14)
    assert np.allclose(cli_row["cov"], row["cov"], rtol=0, atol=1e-14)


def test_build_exposes_trace_row_and_block_triangular_L0():
    """The last row of both matrices is the trace row; L0 (xyz, local emission) is lower
    triangular in the solver's key order, so its LU has no fill-in."""
    system = build_exact_liouvillian(builtin("xyz"), {"N": 12, **PARAMS["xyz"]})
    A0 = system.A0.tocoo()
    assert np.all(A0.row >= A0.col)
    where, log_tr = system.space.log_trace()
    last = system.A.tocsr()[system.space.dim - 1].toarray().ravel()
    assert set(np.flatnonzero(last)) == set(where)
    assert np.allclose(last[where] / last[where].max(), np.exp(log_tr - log_tr.max()))


def test_batched_observables_and_error_bars_are_the_per_state_ones(monkeypatch):
    """Exact rows read their observables and error bars off many states at once: the same
    numbers as state by state, bit for bit whatever the batch (a Dask sweep's chunks of one
    point give the rows of one evaluate call), over several spaces."""
    import symsteady.evaluation as evaluation
    from symsteady.exact import exact_observables_of, solve_at, xi2_R_error, xi2_R_errors
    from symsteady.points import check_points

    model = builtin("xyz")
    points = check_points(model, [{"N": N, "J": 0.5, "delta": d, "Jz": 1.0, "gamma": 1.0}
                                  for N in (6, 9) for d in (0.0, 0.3, 0.8)])
    solutions = [solve_at(model, p) for p in points]
    batched = exact_observables_of(solutions)
    for s, b in zip(solutions, batched):
        one = s.observables()
        for key, value in one.items():
            assert np.array_equal(b[key], value, equal_nan=True), key
    xi2 = np.array([float(b["xi2_R"]) for b in batched])
    assert list(xi2_R_errors(solutions, xi2)) == [xi2_R_error(s, x) for s, x in zip(solutions, xi2)]
    rows = evaluate(model, None, points, "exact")
    monkeypatch.setattr(evaluation, "OBSERVABLE_BATCH_ENTRIES", 1)  # one state per batch
    assert evaluate(model, None, points, "exact") == rows
