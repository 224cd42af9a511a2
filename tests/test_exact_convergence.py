"""The exact solver in every regime: strong U(1) breaking against 2^N solves, exact rationals,
QuTiP piqs and the product-state formula; forward error bars that cover the true error;
pieces built once per (model, N); warm starts; the GMRES stopping rule; sweeps' serial choice.
``docs/algorithm/exact-convergence.md#convergence-paths``."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from threadpoolctl import threadpool_limits

import exact_reference as ref
import symsteady.exact.pardiso as pardiso_module
import symsteady.exact.pieces as pieces_module
from symsteady import Model, builtin, evaluate
from symsteady.errors import ExactSolverWarning
from symsteady.exact import exact_moments, exact_solve, solve_at, xi2_R_error
from symsteady.exact.matrix import normalised_matrix, trace_row
from symsteady.exact.pieces import build_at, clear_piece_cache, pieces_for
from symsteady.exact.solve import residual_extended, stalled
from symsteady.liouvillian import Superoperator, make_basis
from symsteady.observables import exact_observables
from symsteady.points import check_points, point_field
from symsteady.sweep.run import choose_serial

#: Strongly broken points (far beyond the perturbative small parameter).
STRONG = [
    ("xyz", {"J": 0.5, "delta": 1.0, "Jz": 1.0, "gamma": 1.0}),
    ("xyz", {"J": 0.5, "delta": 0.5, "Jz": -1.0, "gamma": 1.0}),
    ("tfi", {"Delta": -1.0, "Jx": 2.0, "gamma": 1.0}),
    ("tfi", {"Delta": 1.0, "Jx": 1.0, "gamma": 1.0}),
    ("driven_ising", {"Omega": 1.0, "Delta": 0.5, "U": 0.5, "gamma": 1.0}),
    ("driven_ising", {"Omega": 0.7, "Delta": 0.5, "U": 0.5, "gamma": 1.0}),
]


def exact_row(name: str, N: int, params: dict) -> dict:
    return evaluate(builtin(name), None, [{"N": N, **params}], "exact")[0]


def reference_xi2(name: str, N: int, params: dict, backend: str) -> float:
    with threadpool_limits(limits=1, user_api="blas"):
        mean, second = ref.reference_moments(name, N, params, backend=backend)
    return float(ref.squeezing_from_moments(N, mean, second)["xi2_R"])


# ---- strong breaking against references ---------------------------------------------------------


@pytest.mark.parametrize("name, params", STRONG)
@pytest.mark.parametrize("N", [4, pytest.param(6, marks=pytest.mark.slow)])
def test_strong_breaking_agrees_with_full_space_within_its_error_bar(name, params, N):
    row = exact_row(name, N, params)
    want = reference_xi2(name, N, params, "full")
    assert abs(row["xi2_R"] - want) <= 1e-10 * abs(want)
    assert abs(row["xi2_R"] - want) <= row["xi2_R_error"]
    assert row["xi2_R_error"] <= 1e-11 * max(1.0, abs(want))  # the bar is tight, not vacuous


@pytest.mark.parametrize("name, params", [STRONG[0], STRONG[2], STRONG[5]])
def test_error_bar_covers_the_exact_rational_solve(name, params):
    N = 3
    values = {k: sympy.Rational(str(v)) for k, v in params.items()}
    mean, second = exact_moments(builtin(name), {"N": N, **values}, arithmetic="exact")
    exact = exact_observables(N, np.array([float(m.x) for m in mean]),
                              np.array([[float(s.x) for s in r] for r in second]))
    row = exact_row(name, N, params)
    assert abs(row["xi2_R"] - float(exact["xi2_R"])) <= row["xi2_R_error"]


@pytest.mark.parametrize("name, params", [STRONG[0], STRONG[2], STRONG[4]])
@pytest.mark.parametrize("N", [16, pytest.param(40, marks=pytest.mark.slow)])
def test_strong_breaking_agrees_with_piqs_at_moderate_N(name, params, N):
    """piqs is a reference to ~1e-6 only at strong breaking (its Liouvillian is near singular);
    N = 40 is about the largest at which its solve takes seconds."""
    row = exact_row(name, N, params)
    want = reference_xi2(name, N, params, "piqs")
    assert abs(row["xi2_R"] - want) <= 1e-6 * abs(want)


# ---- the product state (driven_ising at U = 0) --------------------------------------------------


def bloch_xi2_R(N: int, Omega: float, Delta: float, gamma: float) -> float:
    """ξ²_R of the product of single-emitter steady states of ``Omega sigma^x + (Delta/2)
    sigma^z`` with emission ``gamma D[sigma^-]`` (optical Bloch equations):
    ``s = (-8ΔΩ, 4Ωγ, -(4Δ²+γ²)) / (4Δ²+8Ω²+γ²)``, ``<S_a> = N s_a/2``,
    ``cov_ab = N (δ_ab - s_a s_b)/4``."""
    d = 4 * Delta**2 + 8 * Omega**2 + gamma**2
    s = np.array([-8 * Delta * Omega, 4 * Omega * gamma, -(4 * Delta**2 + gamma**2)]) / d
    mean = N * s / 2
    second = N * (np.eye(3) - np.outer(s, s)) / 4 + np.outer(mean, mean)
    return float(exact_observables(N, mean, second)["xi2_R"])


def test_bloch_formula_matches_the_closed_form_and_a_full_space_solve():
    for Omega, Delta in [(0.3, 0.0), (1.0, 0.5), (3.0, 0.5)]:
        assert bloch_xi2_R(50, Omega, Delta, 1.0) == pytest.approx(ref.product_state_xi2_R(Omega, Delta, 1.0), rel=1e-13)
    params = {"Omega": 1.0, "Delta": 0.5, "U": 0.0, "gamma": 1.0}
    assert bloch_xi2_R(5, 1.0, 0.5, 1.0) == pytest.approx(reference_xi2("driven_ising", 5, params, "full"), rel=1e-12)


@pytest.mark.parametrize("Omega", [0.3, 1.0, 3.0])
@pytest.mark.parametrize("Delta", [0.0, 0.5])
def test_product_state_at_moderate_N(Omega, Delta):
    N = 24
    row = exact_row("driven_ising", N, {"Omega": Omega, "Delta": Delta, "U": 0.0, "gamma": 1.0})
    want = bloch_xi2_R(N, Omega, Delta, 1.0)
    assert abs(row["xi2_R"] - want) <= 1e-9 * want
    assert abs(row["xi2_R"] - want) <= row["xi2_R_error"]


# ---- the forward error ---------------------------------------------------------------------------


def test_rounding_probes_whose_short_cycles_stall_take_the_states_cycles(monkeypatch):
    """On the GMRES path the rounding responses run with short restart cycles; where those stall
    (made so here: cycles of one vector) they run again with the state's, and the row keeps a
    bar that covers the distance to the direct solve — instead of none."""
    import symsteady.exact.solve as solve_module

    model = Model("2*Omega*Sx + (4*U/N)*Sz**2", local_emission="gamma", local_pumping="w", small="Omega")
    point = {"N": 10, "Omega": 0.5, "U": 1.0, "gamma": 1.0, "w": 0.3}
    want = float(exact_solve(model, point).observables()["xi2_R"])
    monkeypatch.setattr(solve_module, "DIRECT_FIRST_DIMENSION", 0)  # the GMRES path
    monkeypatch.setattr(solve_module, "GMRES_RESTART_MIN", 1)
    calls = []
    correction_solver = solve_module._correction_solver

    def counted(gmres, info):
        solve = correction_solver(gmres, info)

        def run(r, rtol=solve_module.REFINE_RTOL, krylov=None):
            d = solve(r, rtol, krylov)
            calls.append((krylov, bool(np.all(np.isfinite(d)))))
            return d
        return run

    monkeypatch.setattr(solve_module, "_correction_solver", counted)
    solution = exact_solve(model, point)
    assert solution.info.method == "gmres"
    assert (1, False) in calls and (None, True) in calls[1:]  # a short run stalled, a full one did not
    got = float(solution.observables()["xi2_R"])
    assert abs(got - want) <= xi2_R_error(solution, got) < 1e-9


def test_refinement_that_stalls_keeps_its_correction_below_the_stall_tolerance(monkeypatch):
    """The refinement's GMRES, when it stalls short of REFINE_RTOL (forced here with an
    unreachable one), keeps its best correction if that reached REFINE_STALL_RTOL: the bar stays
    finite and covers the distance to the direct solve; with no stall tolerance, and no room for
    the direct LU that would otherwise give the bar, the adjoint solve gives it; where that fails
    too, it is infinite."""
    import symsteady.exact.solve as solve_module

    model = Model("2*Omega*Sx + (4*U/N)*Sz**2", local_emission="gamma", local_pumping="w", small="Omega")
    point = {"N": 10, "Omega": 0.5, "U": 1.0, "gamma": 1.0, "w": 0.3}
    direct = exact_solve(model, point)
    assert direct.info.method == "direct"
    want = float(direct.observables()["xi2_R"])
    monkeypatch.setattr(solve_module, "DIRECT_FIRST_DIMENSION", 0)  # the GMRES path
    monkeypatch.setattr(solve_module, "REFINE_RTOL", 1e-300)
    stalled_run = exact_solve(model, point)
    assert stalled_run.info.method == "gmres" and np.isfinite(stalled_run.info.correction)
    got = float(stalled_run.observables()["xi2_R"])
    assert abs(got - want) <= xi2_R_error(stalled_run, got) < 1e-9
    monkeypatch.setattr(solve_module, "REFINE_STALL_RTOL", 0.0)
    monkeypatch.setattr(solve_module, "_direct_fits", lambda space, out_of_core=False: False)
    adjoint = exact_solve(model, point)  # the bar from the adjoint solve
    assert adjoint.info.method == "gmres" and "refinement failed" in adjoint.info.note
    got = float(adjoint.observables()["xi2_R"])
    assert abs(got - want) <= xi2_R_error(adjoint, got) < 1e-9
    monkeypatch.setattr(solve_module, "ADJOINT_RTOL", 1e-300)
    monkeypatch.setattr(solve_module, "ADJOINT_STALL_RTOL", 0.0)
    failed = exact_solve(model, point)
    assert xi2_R_error(failed) == float("inf")
    [row] = evaluate(model, None, [point], "exact")
    assert row["xi2_R_error"] is None and "no error bar" in row["note"]


def test_gmres_state_without_a_bar_is_refined_by_the_direct_lu(monkeypatch):
    """Where GMRES' correction run fails (forced: an unreachable tolerance and no stall
    tolerance) and the direct LU fits, that LU refines GMRES' state and takes its rounding
    responses: the row gets a bar, which covers the distance to the direct solve. Where PARDISO
    finds after all that it would have to go out of core, the bar comes from the adjoint solve."""
    import symsteady.exact.solve as solve_module

    model = Model("2*Omega*Sx + (4*U/N)*Sz**2", local_emission="gamma", local_pumping="w", small="Omega")
    point = {"N": 10, "Omega": 0.5, "U": 1.0, "gamma": 1.0, "w": 0.3}
    want = float(exact_solve(model, point).observables()["xi2_R"])
    monkeypatch.setattr(solve_module, "DIRECT_FIRST_DIMENSION", 0)  # the GMRES path
    monkeypatch.setattr(solve_module, "REFINE_RTOL", 1e-300)
    monkeypatch.setattr(solve_module, "REFINE_STALL_RTOL", 0.0)
    with pytest.warns(ExactSolverWarning, match=r"GMRES' state had no error bar \(refinement failed\)"):
        solution = exact_solve(model, point)
    info = solution.info
    assert info.method == "direct" and info.iterations > 0 and info.note.startswith("GMRES' state had no error bar")
    assert info.condition_kind == "onenormest" and info.rounding
    got = float(solution.observables()["xi2_R"])
    assert abs(got - want) <= xi2_R_error(solution, got) < 1e-9
    if pardiso_module.available():  # PARDISO's own count above the memory: not out of core for a bar
        monkeypatch.setattr(solve_module, "_direct_fits", lambda space, out_of_core=False: True)
        monkeypatch.setattr(solve_module, "PARDISO_MEMORY_FRACTION", 1e-12)
        with pytest.warns(ExactSolverWarning, match="no error bar"):
            kept = exact_solve(model, point)
        assert kept.info.method == "gmres" and kept.info.disk_bytes == 0
        assert "the direct LU for its error bar failed" in kept.info.note
        # the bar then comes from the adjoint solve (test_gmres_state_without_a_bar_gets_one_from_an_adjoint_solve)
        assert kept.info.adjoint_changes is not None and "adjoint solve" in kept.info.note
        got = float(kept.observables()["xi2_R"])
        assert abs(got - want) <= xi2_R_error(kept, got) < 1e-9


ADJOINT_CASES = [
    (Model("2*Omega*Sx + (4*U/N)*Sz**2", local_emission="gamma", local_pumping="w", small="Omega"),
     {"N": 10, "Omega": 0.5, "U": 1.0, "gamma": 1.0, "w": 0.3}),
    (builtin("xyz"), {"N": 12, "J": 0.5, "delta": 0.3, "Jz": 1.0, "gamma": 1.0}),
]


@pytest.mark.parametrize("model,point", ADJOINT_CASES, ids=["pumping", "xyz"])
def test_gmres_state_without_a_bar_gets_one_from_an_adjoint_solve(monkeypatch, model, point):
    """Where GMRES' correction run fails (forced) and the direct LU does not fit (forced), one
    adjoint solve gives ξ²_R's first-order changes: on a state left loose on purpose (GMRES to
    1e-9, not refined) the bar covers the distance to the direct solve and is within a factor of
    ten of it — the first-order change of ξ²_R under the solve's error is that error."""
    import symsteady.exact.solve as solve_module

    want = float(exact_solve(model, point).observables()["xi2_R"])
    monkeypatch.setattr(solve_module, "DIRECT_FIRST_DIMENSION", 0)  # the GMRES path
    monkeypatch.setattr(solve_module, "GMRES_RTOL", 1e-9)
    monkeypatch.setattr(solve_module, "REFINE_RTOL", 1e-300)
    monkeypatch.setattr(solve_module, "REFINE_STALL_RTOL", 0.0)
    monkeypatch.setattr(solve_module, "_direct_fits", lambda space, out_of_core=False: False)
    solution = exact_solve(model, point)
    info = solution.info
    assert info.method == "gmres" and not info.rounding and info.adjoint_changes is not None
    assert "its error bar from one adjoint solve" in info.note
    got = float(solution.observables()["xi2_R"])
    error, bar = abs(got - want), xi2_R_error(solution, got)
    assert error > 1e-12  # loose enough for the bar to measure the solve's error, not the floor
    assert error <= bar <= 10 * error
    monkeypatch.setattr(solve_module, "ADJOINT_RTOL", 1e-300)  # the adjoint solve fails too: no bar
    monkeypatch.setattr(solve_module, "ADJOINT_STALL_RTOL", 0.0)
    failed = exact_solve(model, point)
    assert failed.info.adjoint_changes is None and "adjoint solve for its error bar did not converge" in failed.info.note
    assert xi2_R_error(failed) == float("inf")


def test_the_adjoint_solve_agrees_with_a_direct_one(monkeypatch):
    """The adjoint bar's z (GMRES to 1e-2) against L̂^-T G by the direct LU at N = 60 (pumping
    model): both changes within 10 %. (With the unknowns weighted dual to the population scale,
    GMRES stopped after one iteration with a rounding bound 22 times too small.)"""
    import symsteady.exact.solve as solve_module
    from symsteady.exact.solution import xi2_R_gradient

    model, point = ADJOINT_CASES[0][0], {**ADJOINT_CASES[0][1], "N": 60}
    monkeypatch.setattr(solve_module, "REFINE_RTOL", 1e-300)
    monkeypatch.setattr(solve_module, "REFINE_STALL_RTOL", 0.0)
    monkeypatch.setattr(solve_module, "_direct_fits", lambda space, out_of_core=False: False)
    solution = exact_solve(model, point)
    assert solution.info.method == "gmres" and solution.info.adjoint_changes is not None
    system = build_at(model, check_points(model, [point])[0])
    G = xi2_R_gradient(solution.space, solution.x)
    z = solve_module._direct_lu(system, "").solve(G.astype(complex), "T")
    r = residual_extended(system.A, solution.x, solve_module._rhs(system))
    direct = (abs(float(np.real(z @ r))), float(np.abs(z) @ solve_module.rounding_size(system, solution.x)))
    assert solution.info.adjoint_changes == pytest.approx(direct, rel=0.1)


def test_moment_functionals_and_the_gradient_of_xi2_R():
    """The moments as functionals Re(c·x) are the moments read off the state; Re(G·δ) is ξ²_R's
    change along a small Hermitian direction δ (another state's difference) to first order."""
    from symsteady.exact.solution import moment_functionals, real_moments, xi2_R_gradient
    from symsteady.observables import exact_xi2_R

    model = builtin("driven_ising")
    a = solve_at(model, check_points(model, [{"N": 9, "Omega": 0.4, "Delta": 0.5, "U": 0.5, "gamma": 1.0}])[0])
    b = solve_at(model, check_points(model, [{"N": 9, "Omega": 0.5, "Delta": 0.3, "U": 0.5, "gamma": 1.0}])[0])
    c_mean, c_second = moment_functionals(a.space)
    mean, second = real_moments(a.space, a.x)
    assert np.allclose(np.real(c_mean @ a.x), mean, rtol=1e-13, atol=1e-13)
    assert np.allclose(np.real(c_second @ a.x), second, rtol=1e-13, atol=1e-13)
    G = xi2_R_gradient(a.space, a.x)
    for t in (1e-3, 1e-4):
        x = a.x + t * (b.x - a.x)
        change = float(exact_xi2_R(9, *real_moments(a.space, x)) - exact_xi2_R(9, mean, second))
        assert float(np.real(G @ (x - a.x))) == pytest.approx(change, rel=30 * t)



def test_error_bar_grows_with_a_worse_solve(monkeypatch):
    """A looser GMRES leaves a larger error; the refinement measures it and the bar follows."""
    import symsteady.exact.solve as solve_module

    point = {"N": 12, "J": 0.5, "delta": 0.3, "Jz": 1.0, "gamma": 1.0}
    monkeypatch.setattr(solve_module, "DIRECT_FIRST_DIMENSION", 0)  # the GMRES path
    tight = exact_solve(builtin("xyz"), point)
    monkeypatch.setattr(solve_module, "GMRES_RTOL", 1e-5)
    loose = exact_solve(builtin("xyz"), point)
    xi_t, xi_l = float(tight.observables()["xi2_R"]), float(loose.observables()["xi2_R"])
    err_l = xi2_R_error(loose, xi_l)
    assert loose.info.correction > 100 * tight.info.correction
    assert abs(xi_l - xi_t) <= err_l


@pytest.mark.parametrize("name, params, N", [
    ("driven_ising", {"Omega": 0.7, "Delta": 0.5, "U": 0.5, "gamma": 1.0}, 20),  # direct at once
    ("xyz", {"J": 0.5, "delta": 0.05, "Jz": 1.0, "gamma": 1.0}, 40),  # GMRES
    ("resonance_fluorescence", {"Omega": 25.0, "Gamma": 1.0}, 100),  # symmetric sector, past the transition
])
def test_rounding_response_covers_a_perturbation_of_L_of_its_size(name, params, N, monkeypatch):
    """The bar's second direction, the state's response to L̂'s rounding, set to a relative size
    u = 1e-10: the ξ²_R of L̂ with its entries perturbed by that much (four random draws) moves by
    less than the bar's share of it, ERROR_SAFETY times its change — and not by far less."""
    import symsteady.exact.solve as solve_module
    from symsteady.exact import ERROR_SAFETY
    from symsteady.exact.matrix import ExactLiouvillian
    from symsteady.exact.solution import real_moments
    from symsteady.exact.solve import solve_exact_liouvillian
    from symsteady.observables import exact_xi2_R

    u = 1e-10
    monkeypatch.setattr(solve_module, "MATRIX_ROUNDING_ULPS", u / np.finfo(float).eps)
    model = builtin(name)
    system = build_at(model, check_points(model, [{"N": N, **params}])[0])
    x, info = solve_exact_liouvillian(system)

    def xi2(state: np.ndarray) -> float:
        return float(exact_xi2_R(N, *real_moments(system.space, state)))

    assert len(info.rounding) == solve_module.ROUNDING_PROBES
    estimate = max(abs(xi2(x - v) - xi2(x)) for v in info.rounding)
    rng = np.random.default_rng(7)
    moves = []
    for _ in range(4):
        A = system.A.copy()
        A.data = A.data * (1 + u * rng.uniform(-1, 1, A.nnz))
        perturbed = ExactLiouvillian(system.space, system.A0, A, system.rhs, system.broken)
        moves.append(abs(xi2(solve_exact_liouvillian(perturbed)[0]) - xi2(x)))
    assert max(moves) <= ERROR_SAFETY * estimate <= 100 * max(moves)


def test_residual_in_extended_precision():
    """``b - A x`` where the double-precision residual cancels to zero: the extended one keeps it."""
    import scipy.sparse

    A = scipy.sparse.csc_matrix(np.array([[1.0, 1e-17], [0.0, 1.0]], dtype=complex))
    x = np.array([1.0, 1.0], dtype=complex)
    b = np.array([1.0, 1.0], dtype=complex)
    r = residual_extended(A, x, b)
    assert r[1] == 0 and r[0] != 0 and abs(r[0] + 1e-17) < 1e-19  # long double: 64-bit mantissa
    # each row summed on its own: a large earlier row does not swamp a tiny later residual
    A = scipy.sparse.csc_matrix(np.diag([1e6, 1.0]).astype(complex))
    r = residual_extended(A, np.array([1.0, 1.0 + 2.0**-52], dtype=complex), np.array([1e6, 1.0], dtype=complex))
    assert r[0] == 0 and r[1] == -(2.0**-52)


def test_info_reports_path_condition_and_memory():
    s = exact_solve(builtin("tfi"), {"N": 10, "Delta": -1.0, "Jx": 2.0, "gamma": 1.0})
    i = s.info
    assert i.method in ("gmres", "direct") and i.backward_error < 1e-14
    assert i.memory_bytes > 0 and i.condition > 1 and i.condition_kind in ("onenormest", "lower bound")
    lu = exact_solve(builtin("xyz"), {"N": 10, "J": 0.5, "delta": 0.0, "Jz": 1.0, "gamma": 1.0})
    assert lu.info.method == "lu" and lu.info.condition_kind == "onenormest"


# ---- GMRES: its stopping rule and warm starts ----------------------------------------------------


def test_stall_rule():
    assert not stalled([1.0, 1.0], window=2)  # not enough history
    assert stalled([1.0, 1.0, 1.0], window=2)  # no progress at all
    assert stalled([1.0, 0.9, 0.6], window=2)  # less than halved over the window
    assert not stalled([1.0, 0.9, 0.4], window=2)  # halved: going on
    assert not stalled([1.0, 0.1, 0.01, 0.001], window=2)


def test_warm_start_gives_the_same_state_in_fewer_iterations(monkeypatch):
    import symsteady.exact.solve as solve_module

    monkeypatch.setattr(solve_module, "DIRECT_FIRST_DIMENSION", 0)  # the GMRES path
    model = builtin("xyz")
    p1, p2 = check_points(model, [{"N": 30, "J": 0.5, "delta": 0.2, "Jz": 1.0, "gamma": 1.0},
                                  {"N": 30, "J": 0.5, "delta": 0.21, "Jz": 1.0, "gamma": 1.0}])
    cold = solve_at(model, p2)
    warm = solve_at(model, p2, solve_at(model, p1).x)
    assert warm.info.method == cold.info.method == "gmres"
    assert warm.info.iterations < cold.info.iterations
    assert np.abs(warm.x - cold.x).max() <= 1e-12 * np.abs(cold.x).max()


# ---- pieces -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, params", [STRONG[0], STRONG[4]])
def test_pieces_combine_to_the_liouvillian(name, params):
    """``sum coefficient * piece`` equals L built from the whole superoperator at the point."""
    model, N = builtin(name), 6
    point = check_points(model, [{"N": N, **params}])[0]
    system = build_at(model, point)
    numbers, convert, _ = point_field(model, point)
    basis = make_basis(model, numbers)
    S = Superoperator(basis, {w: convert(c) for w, c in model.poly.items()},
                      {r: convert(v) for r, v in model.rates.items()})
    L = normalised_matrix(system.space, S.terms).toarray()
    assert system.A.format == "csr" and system.A.has_sorted_indices  # broken: L in row order
    got = system.A.toarray()
    assert np.abs(got[:-1] - L[:-1]).max() <= 1e-13 * np.abs(L).max()
    cols, vals, _ = trace_row(system.space, 1.0)
    assert np.allclose(got[-1, cols] / got[-1, cols].max(), vals / vals.max())


@pytest.mark.parametrize("model, N", [
    (builtin("xyz"), 13), (builtin("driven_ising"), 12), (builtin("resonance_fluorescence"), 15),
    (Model("K*(Sp**3 + Sm**3) + J*Sz + U*Sz**2/N", local_emission="g", local_pumping="p",
           local_dephasing="f", collective_emission="G"), 11),
    (Model("J*Sz + U*Sz**2/N", collective_emission="G", collective_dephasing="f"), 14),
])
@pytest.mark.parametrize("chunk", [17, 1 << 15])
def test_pieces_pattern_is_sorted_csc_and_each_piece_is_its_superoperator(model, N, chunk, monkeypatch):
    """The slot-built pattern (docs/algorithm/exact-convergence.md#convergence-pieces) has sorted
    row indices, and every piece at its positions is the plain COO matrix of its superoperator
    (dark row dropped); L0's pattern holds exactly the non-breaking pieces and the trace row.
    Sources in chunks of 17 labels (shifts first met in later chunks) or all at once."""
    monkeypatch.setattr(pieces_module, "CHUNK_LABELS", chunk)
    built = pieces_module.build_pieces(model, N)
    P, dim = built.pattern, built.space.dim
    cols = np.repeat(np.arange(dim), np.diff(P.indptr))
    assert np.all((np.diff(P.indices) > 0) | (np.diff(cols) > 0))
    numbers, _, _ = point_field(model, {"N": N})
    basis = make_basis(model, numbers)
    one = numbers.convert(sympy.Integer(1))
    specs = [Superoperator(basis, {w: one}, {}) for w in model.poly] + \
        [Superoperator(basis, {}, {k: one}) for k in model.rates]
    assert len(specs) == len(built.pieces)
    for S, piece in zip(specs, built.pieces):
        want = normalised_matrix(built.space, S.terms).toarray()
        want[-1] = 0
        got = np.zeros((dim, dim), dtype=complex)
        got[P.indices[piece.positions], cols[piece.positions]] = piece.phase * piece.values
        assert np.abs(got - want).max() <= 1e-14 * max(1.0, np.abs(want).max())
        assert len(np.unique(piece.positions)) == len(piece.positions)
    traced = np.zeros(P.nnz, dtype=bool)
    traced[built.trace_positions] = True
    assert np.all(P.indices[traced] == dim - 1)
    zero_charge = [p.positions for p in built.pieces if not p.breaking] + [built.trace_positions]
    assert np.array_equal(built.positions0, np.unique(np.concatenate(zero_charge)))


def test_pieces_are_built_once_per_model_and_N(monkeypatch):
    clear_piece_cache()
    model = builtin("tfi")
    assert pieces_for(model, 7) is pieces_for(model.replace(name="other"), 7)
    assert pieces_for(model, 7) is not pieces_for(model, 8)
    monkeypatch.setattr(pieces_module, "PIECE_CACHE_BYTES", 0)  # too large: not kept
    clear_piece_cache()
    assert pieces_for(model, 7) is not pieces_for(model, 7)


def test_sweeps_choose_serial_for_small_work():
    model = builtin("xyz")
    small = [{"N": 10, "J": 0.5, "delta": 0.1, "Jz": 1.0, "gamma": 1.0}] * 5
    big = [{"N": 150, "J": 0.5, "delta": 0.1, "Jz": 1.0, "gamma": 1.0}] * 100
    assert choose_serial(model, small, None, None, 2)
    assert not choose_serial(model, big, None, None, 2)
    assert not choose_serial(model, small, "tcp://somewhere:8786", None, 2)


@pytest.mark.parametrize("name, N, params", [
    ("resonance_fluorescence", 100, {"Omega": 1.3 * 100 / 4, "Gamma": 1.0}),
    ("driven_ising", 20, {"Omega": 1.0, "Delta": 0.5, "U": 0.5, "gamma": 1.0}),
])
def test_direct_memory_estimate_covers_the_lu_and_is_not_loose(name, N, params, monkeypatch):
    """The memory check of SuperLU's direct path (docs/algorithm/exact-convergence.md#convergence-direct):
    its estimate is at least the LU's bytes, and within 10× of them, in both sectors."""
    from symsteady.exact import solve as solve_module

    monkeypatch.setattr(solve_module, "USE_PARDISO", False)
    system = build_at(builtin(name), {"N": N, **params})
    with pytest.warns(Warning):
        lu_bytes = solve_module._direct_lu(system, "test").nbytes
    estimate = solve_module.direct_memory_estimate(system.space)
    assert lu_bytes <= estimate <= 10 * lu_bytes, (lu_bytes, estimate)


@pytest.mark.slow
def test_resonance_fluorescence_past_the_transition_against_puri_lawande():
    """Past x = 1 LU(L0)-preconditioned GMRES stalls and the direct LU of the symmetric sector
    (a 2-d lattice: little fill) takes over, at N = 300 too; the state is the Puri–Lawande one."""
    from puri_lawande import puri_lawande_xi2

    for N in (200, 300):
        Omega = 1.3 * N / 4
        row = exact_row("resonance_fluorescence", N, {"Omega": Omega, "Gamma": 1.0})
        exact = puri_lawande_xi2(N, Omega, 1)
        assert abs(row["xi2_R"] - exact) <= row["xi2_R_error"], (N, row["xi2_R"], exact, row["xi2_R_error"])
        assert row["xi2_R_error"] < 1e-8


# ---- the direct path's backends: MKL PARDISO and the SuperLU fallback ----------------------------

needs_pardiso = pytest.mark.skipif(not pardiso_module.available(), reason="pypardiso (MKL PARDISO) not installed")


@needs_pardiso
@pytest.mark.parametrize("dtype", [complex, float])  # mtype 13, and 11 (the Hermitian fold's)
def test_pardiso_solves_with_the_matrix_its_transpose_and_adjoint(dtype):
    import scipy.sparse

    from symsteady.exact.pardiso import Pardiso

    rng = np.random.default_rng(1)
    n = 300
    A = scipy.sparse.random(n, n, density=0.02, random_state=2, dtype=float) + scipy.sparse.diags(rng.uniform(1, 2, n))
    b = rng.normal(size=n)
    if dtype is complex:
        A = A + 1j * scipy.sparse.random(n, n, density=0.02, random_state=3, dtype=float)
        b = b + 1j * rng.normal(size=n)
    A = A.tocsc()
    P = Pardiso(A)
    assert P.mtype == (13 if dtype is complex else 11)
    assert P.analyse(A) > 0  # PARDISO's own count of the memory it will need
    P.factor(A)
    assert P.factor_entries >= A.nnz
    for trans, M in (("N", A), ("T", A.T), ("H", A.conj().T)):
        x = P.solve(b, trans)
        assert x.dtype == dtype
        assert np.abs(M @ x - b).max() <= 1e-10 * np.abs(b).max(), trans  # a wrong trans: O(1)
    B = np.stack([b, 2 * b[::-1], rng.normal(size=n)])  # right-hand sides in rows: one call
    X = P.solve(B)
    assert X.shape == B.shape and np.abs(A @ X.T - B.T).max() <= 1e-10 * np.abs(B).max()
    P.free()


@needs_pardiso
def test_mkl_threads_follow_the_blas_limit():
    from threadpoolctl import threadpool_info

    from symsteady.threads import single_blas_thread

    with single_blas_thread():
        mkl = [i for i in threadpool_info() if i["internal_api"] == "mkl"]
        assert mkl and all(i["num_threads"] == 1 for i in mkl)


@pytest.mark.parametrize("N", [12, 30])  # SuperLU in MMD order (dimension <= 4000) and nested dissection
def test_superlu_fallback_gives_the_same_state_as_pardiso(N, monkeypatch):
    """Without pypardiso the direct path is SuperLU's; both give the same state within the bars."""
    import symsteady.exact.solve as solve_module

    params = {"Omega": 0.7, "Delta": 0.5, "U": 0.5, "gamma": 1.0}
    monkeypatch.setattr(solve_module, "DIRECT_FIRST_DIMENSION", 10**9)  # the direct path at once
    monkeypatch.setattr(solve_module, "USE_PARDISO", False)
    superlu = exact_solve(builtin("driven_ising"), {"N": N, **params})
    assert superlu.info.method == "direct" and superlu.info.backend == "superlu"
    if not solve_module.pardiso.available():
        return
    monkeypatch.setattr(solve_module, "USE_PARDISO", True)
    fast = exact_solve(builtin("driven_ising"), {"N": N, **params})
    assert fast.info.backend == "pardiso" and fast.info.condition_kind == "onenormest"
    assert fast.info.condition == pytest.approx(superlu.info.condition, rel=0.5)
    a, b = float(superlu.observables()["xi2_R"]), float(fast.observables()["xi2_R"])
    assert abs(a - b) <= min(xi2_R_error(superlu, a), xi2_R_error(fast, b))
    assert np.abs(fast.x - superlu.x).max() <= 1e-10 * np.abs(superlu.x).max()


@needs_pardiso
def test_pardiso_analysis_is_kept_for_the_next_point_on_the_same_pieces():
    """A sweep's points share their pieces' pattern: PARDISO's analysis (ordering, symbolic
    factorisation) is made once and refactored numerically at each point."""
    model = builtin("xyz")
    clear_piece_cache()
    points = check_points(model, [{"N": 10, "J": 0.5, "delta": d, "Jz": 1.0, "gamma": 1.0} for d in (0.3, 0.6)])
    workspace = pieces_for(model, 10).workspace

    def pools() -> list:
        return [v for k, v in workspace.items() if k[0] == "pardiso"]

    first = solve_at(model, points[0])
    [[handle]] = pools()
    second = solve_at(model, points[1])
    assert pools() == [[handle]] and not handle.factored
    assert first.info.backend == second.info.backend == "pardiso"
    want = solve_at(model, points[1])  # the same point on the same handle again
    assert np.abs(second.x - want.x).max() == 0.0
    clear_piece_cache()
    fresh = solve_at(model, points[1])  # a new handle, analysed on this point
    assert np.abs(second.x - fresh.x).max() <= 1e-13 * np.abs(fresh.x).max()


@needs_pardiso
def test_pardiso_memory_estimate_covers_its_own_count():
    """GMRES' time budget against the direct LU holds while PARDISO's LU fits in memory, judged
    before any analysis by pardiso_memory_estimate: it covers PARDISO's own count, not loosely."""
    from symsteady.exact import solve as solve_module
    from symsteady.exact.fold import HermitianFold
    from symsteady.exact.pardiso import Pardiso

    system = build_at(builtin("driven_ising"), {"N": 40, "Omega": 0.7, "Delta": 0.5, "U": 0.5, "gamma": 1.0})
    M = HermitianFold.of(system.space, system.columns()).matrix(system.columns())
    handle = Pardiso(M)
    counted = handle.analyse(M)
    handle.free()
    assert counted <= solve_module.pardiso_memory_estimate(system.space) <= 3 * counted


@needs_pardiso
def test_pardiso_memory_check_names_the_measured_need_and_the_disk(monkeypatch):
    import symsteady.exact.solve as solve_module
    from symsteady.errors import ExactSolverError

    point = {"N": 10, "Omega": 0.7, "Delta": 0.5, "U": 0.5, "gamma": 1.0}
    monkeypatch.setattr(solve_module, "available_memory", lambda: 1000)
    monkeypatch.setattr(pardiso_module, "free_disk_bytes", lambda directory=None: 1000)
    with pytest.raises(ExactSolverError, match=r"PARDISO's own count .* GB, more than the memory limit .* "
                                               r"GB available; out of core its factor needs .* GB of disk"):
        exact_solve(builtin("driven_ising"), point)
    monkeypatch.setattr(solve_module, "OUT_OF_CORE", False)
    with pytest.raises(ExactSolverError, match=r"GB available; use a smaller N"):
        exact_solve(builtin("driven_ising"), point)


@needs_pardiso
def test_pardiso_out_of_core_gives_the_in_core_state_and_leaves_no_files(monkeypatch, tmp_path):
    """Where PARDISO's in-core need is above its memory limit its factor goes to disk: the same
    state within the bars, a note that says so, no onenormest (each solve reads the factor), and
    its files are gone when the point is done."""
    import symsteady.exact.solve as solve_module

    point = {"N": 30, "Omega": 0.7, "Delta": 0.5, "U": 0.5, "gamma": 1.0}
    monkeypatch.setattr(solve_module, "DIRECT_FIRST_DIMENSION", 10**9)  # the direct path at once
    in_core = exact_solve(builtin("driven_ising"), point)
    monkeypatch.setattr(pardiso_module, "OUT_OF_CORE_DIRECTORY", str(tmp_path))
    factored = []
    factor = pardiso_module.Pardiso.factor

    def spy(self, A=None):
        factor(self, A)
        factored.append((self.out_of_core, sorted(p.name for p in tmp_path.glob("*/*"))))

    monkeypatch.setattr(pardiso_module.Pardiso, "factor", spy)
    monkeypatch.setattr(solve_module, "PARDISO_MEMORY_FRACTION", 1e-9)  # no in-core factor fits
    on_disk = exact_solve(builtin("driven_ising"), point)
    [(out_of_core, files)] = factored
    assert out_of_core and "mkl_pardiso_lnz.bin" in files  # the factor was on disk
    assert list(tmp_path.iterdir()) == []
    assert on_disk.info.backend == "pardiso" and "PARDISO out of core" in on_disk.info.note
    assert on_disk.info.condition_kind == "lower bound" and on_disk.info.disk_bytes > 0 == in_core.info.disk_bytes
    a, b = float(in_core.observables()["xi2_R"]), float(on_disk.observables()["xi2_R"])
    assert abs(a - b) <= min(xi2_R_error(in_core, a), xi2_R_error(on_disk, b))
    assert np.abs(on_disk.x - in_core.x).max() <= 1e-10 * np.abs(in_core.x).max()


@needs_pardiso
@pytest.mark.slow
@pytest.mark.parametrize("Omega", [0.3, 1.0, 3.0])
@pytest.mark.parametrize("Delta", [0.0, 0.5])
def test_product_state_at_N_100(Omega, Delta):
    """driven_ising at U = 0, N = 100 (176 851 unknowns; LU(L0)-GMRES stalls at strong drive and
    PARDISO's direct LU takes over) against the product-state formula."""
    N = 100
    row = exact_row("driven_ising", N, {"Omega": Omega, "Delta": Delta, "U": 0.0, "gamma": 1.0})
    want = bloch_xi2_R(N, Omega, Delta, 1.0)
    assert abs(row["xi2_R"] - want) <= 1e-9 * want
    assert abs(row["xi2_R"] - want) <= row["xi2_R_error"]


@needs_pardiso
@pytest.mark.slow
def test_product_state_at_N_150():
    """driven_ising at U = 0, N = 150 (585 276 unknowns; PARDISO's LU of the Hermitian fold, about
    four minutes and 10 GB) against the product-state formula: one drive of the N = 100 set."""
    N, Omega, Delta = 150, 1.0, 0.5
    row = exact_row("driven_ising", N, {"Omega": Omega, "Delta": Delta, "U": 0.0, "gamma": 1.0})
    want = bloch_xi2_R(N, Omega, Delta, 1.0)
    assert abs(row["xi2_R"] - want) <= 1e-9 * want
    assert abs(row["xi2_R"] - want) <= row["xi2_R_error"]


@needs_pardiso
@pytest.mark.slow
@pytest.mark.huge  # skipped without --huge (conftest.py)
def test_product_state_at_N_200():
    """driven_ising at U = 0, N = 200 (1 373 701 unknowns; PARDISO's LU needs about 28 GB, so
    within 24 GB its factor goes to disk) against the product-state formula. Last measured: 30
    minutes, 6.5e-9 off (eight perturbed pivots; its bar 2.2e-5 holds), so this fails
    (docs/algorithm/exact-convergence.md#convergence-forward-error)."""
    N, Omega, Delta = 200, 1.0, 0.5
    solution = exact_solve(builtin("driven_ising"), {"N": N, "Omega": Omega, "Delta": Delta, "U": 0.0, "gamma": 1.0})
    got, want = float(solution.observables()["xi2_R"]), bloch_xi2_R(N, Omega, Delta, 1.0)
    assert abs(got - want) <= 1e-9 * want
    assert abs(got - want) <= xi2_R_error(solution, got)


def test_pieces_pickle_without_their_solver_workspace():
    import pickle

    model = builtin("xyz")
    clear_piece_cache()
    point = check_points(model, [{"N": 8, "J": 0.5, "delta": 0.3, "Jz": 1.0, "gamma": 1.0}])[0]
    solve_at(model, point)
    pieces = pieces_for(model, 8)
    copy = pickle.loads(pickle.dumps(pieces))
    assert copy.workspace == {} and copy.pattern.nnz == pieces.pattern.nnz
    if pardiso_module.available():
        assert any(k[0] == "pardiso" and v for k, v in pieces.workspace.items())  # its analysed handle
