"""The order-K results against exact steady states: errors must fall as λ^{K+1} (or faster).

Orders 1–2 are compared with QuTiP-based references (tests/exact_reference.py, good to ~1e-13);
orders 3–4 with an exact solve in Gaussian rationals, evaluated with mpmath at 40 digits.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy

import symsteady
import symsteady.model
import symsteady.models
from symsteady import Model, builtin, evaluate
from symsteady.exact import exact_moments
from symsteady.evaluation import point_quadratics
from symsteady.observables import QUADRATIC_KEYS, quadratics

import exact_reference as ref

mpmath.mp.dps = 40

# (model, fixed parameters, small parameter, three values of it)
CASES = {
    "xyz": ({"J": 0.5, "Jz": 1.0, "gamma": 1.0}, "delta", (0.02, 0.01, 0.005)),
    "tfi": ({"Delta": -1.0, "gamma": 1.0}, "Jx", (0.02, 0.01, 0.005)),
    "driven_ising": ({"Delta": 1.0, "U": 0.5, "gamma": 1.0}, "Omega", (0.04, 0.02, 0.01)),
    "resonance_fluorescence": ({"Gamma": 1.0}, "Omega", (0.04, 0.02, 0.01)),
}


def slope(lams, errors) -> float:
    """Least-squares slope of log(error) against log(λ)."""
    return float(np.polyfit(np.log(lams), np.log(errors), 1)[0])


def reference_xi2(name: str, N: int, params: dict, extra_rates: dict | None = None) -> float:
    mean, second = ref.reference_moments(name, N, params, extra_rates=extra_rates)
    return ref.squeezing_from_moments(N, mean, second)["xi2_R"]


def errors_against_reference(model, name, N, fixed, small, lams, order, method="full", extra_rates=None):
    errs = []
    for lam in lams:
        params = {**fixed, small: lam}
        got = evaluate(model, order, [{"N": N, **params, **(extra_rates_params(extra_rates))}], method)[0]
        errs.append(abs(got["xi2_R"] - reference_xi2(name, N, params, extra_rates)))
    return errs


def extra_rates_params(extra_rates):
    return {f"r_{k}": v for k, v in (extra_rates or {}).items()}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("N", [4, 9])
@pytest.mark.parametrize("order", [1, 2])
def test_builtin_error_scaling(name, N, order):
    fixed, small, lams = CASES[name]
    errs = errors_against_reference(builtin(name), name, N, fixed, small, lams, order)
    assert max(errs) < 0.05
    assert slope(lams, errs) > order + 1 - 0.2, errs


def _with_extra(name: str, extra: dict[str, float]) -> Model:
    return builtin(name).replace(name=f"{name}+{'+'.join(extra)}", **{rate: f"r_{rate}" for rate in extra})


@pytest.mark.parametrize("extra", [{"local_dephasing": 0.3}, {"collective_emission": 0.5},
                                   {"local_dephasing": 0.2, "collective_emission": 0.4}])
@pytest.mark.slow
@pytest.mark.parametrize("order", [1, 2])
def test_dephasing_and_collective_emission_scaling(extra, order):
    fixed, small, lams = CASES["xyz"]
    model = _with_extra("xyz", extra)
    errs = errors_against_reference(model, "xyz", 6, fixed, small, lams, order, extra_rates=extra)
    assert slope(lams, errs) > order + 1 - 0.2, errs


def test_closed_form_is_used_below_n_min_via_numeric_series():
    """xyz's closed form holds from N = 4; at N = 2, 3 evaluate must still converge."""
    fixed, small, lams = CASES["xyz"]
    for N in (2, 3):
        errs = errors_against_reference(builtin("xyz"), "xyz", N, fixed, small, lams, 2)
        assert slope(lams, errs) > 2.8, errs


# ---- orders 3 and 4 against an exact rational solve ---------------------------------------------


def _mp(x) -> mpmath.mpc:
    return mpmath.mpf(int(x.x.numerator)) / int(x.x.denominator) + 1j * (
        mpmath.mpf(int(x.y.numerator)) / int(x.y.denominator))


def _xi2_mp(pieces: dict) -> mpmath.mpf:
    return pieces["a_R"] - mpmath.sqrt(pieces["b_R"] ** 2 + pieces["c_R"] ** 2)


def exact_xi2_mp(model, point) -> mpmath.mpf:
    mean, second = exact_moments(model, point, arithmetic="exact")
    q = quadratics([_mp(m).real for m in mean], [[_mp(s).real for s in row] for row in second],
                   point["N"], mpmath.sqrt)
    return _xi2_mp(q)


def series_xi2_mp(model, order, point, lam) -> mpmath.mpf:
    q = point_quadratics(model, order, point, exact=True)
    return _xi2_mp({k: q[k].map(lambda x: _mp(x).real).at(lam) for k in QUADRATIC_KEYS})


@pytest.mark.parametrize("name,N,fixed,small,lams", [
    ("xyz", 4, {"J": "1/2", "Jz": 1, "gamma": 1}, "delta", ("1/20", "1/40", "1/80")),
    ("driven_ising", 3, {"Delta": 1, "U": "1/2", "gamma": 1}, "Omega", ("1/20", "1/40", "1/80")),
])
@pytest.mark.slow
@pytest.mark.parametrize("order", [3, 4])
def test_high_order_error_scaling_exact_arithmetic(name, N, fixed, small, lams, order):
    model = builtin(name)
    errs = []
    for lam in lams:
        point = {"N": N, **fixed, small: lam}
        exact = exact_xi2_mp(model, point)
        errs.append(float(abs(series_xi2_mp(model, order, point, mpmath.mpf(sympy.Rational(lam))) - exact)))
    assert max(errs) < 1e-2
    assert slope([float(sympy.Rational(x)) for x in lams], errs) > order + 1 - 0.2, errs


# ---- closed-form oracles (docs/algorithm/testing.md) ------------------------------------------------------


def _first_order_radius_squared(d) -> sympy.Expr:
    b = d.coefficients("b_R")[1]
    c = d.coefficients("c_R")[1]
    return sympy.factor(b**2 + c**2)


@pytest.mark.slow
def test_xyz_first_order_closed_form():
    d = symsteady.derive(builtin("xyz"), 1)
    N = symsteady.model.N
    J, Jz, gamma = (symsteady.model.parameter(s) for s in ("J", "Jz", "gamma"))
    expected = (4 * (N - 1) / N) ** 2 / (16 * (J - Jz) ** 2 * (N - 2) ** 2 / N**2 + gamma**2)
    assert d.coefficients("a_R") == [1, 0]
    assert sympy.simplify(_first_order_radius_squared(d) - expected) == 0


def test_tfi_first_order_closed_form():
    d = symsteady.derive(builtin("tfi"), 1)
    N = symsteady.model.N
    Delta, gamma = (symsteady.model.parameter(s) for s in ("Delta", "gamma"))
    expected = (4 * (N - 1) / N) ** 2 / (4 * Delta**2 + gamma**2)
    assert d.coefficients("a_R") == [1, 0]
    assert sympy.simplify(_first_order_radius_squared(d) - expected) == 0


def test_resonance_fluorescence_second_order_is_one_minus_half_x_squared():
    d = symsteady.derive(builtin("resonance_fluorescence"), 2)
    N = symsteady.model.N
    Omega, Gamma = (symsteady.model.parameter(s) for s in ("Omega", "Gamma"))
    x = 4 * Omega / (N * Gamma)
    assert d.sector == "symmetric"
    assert sympy.simplify(d.xi2_R - (1 - x**2 / 2)) == 0
    for n in (50, 300):
        for xv in (0.05, 0.1, 0.3):
            row = evaluate(builtin("resonance_fluorescence"), 2, [{"N": n, "Gamma": 1.0, "Omega": xv * n / 4}])[0]
            assert row["xi2_R"] == pytest.approx(1 - xv**2 / 2, abs=1e-12)


@pytest.mark.parametrize("N", [4, 20, 100])
def test_driven_ising_product_state_order_six(N):
    """U = 0: product state, ξ²_R = 1 + 64Ω⁴/((4Δ²+γ²)(4Δ²+γ²+16Ω²)); the series matches its Taylor
    coefficients exactly up to Ω⁶, with b = c = 0 (isotropic) and orders 1–3 vanishing."""
    Delta, gamma = sympy.Rational(1, 3), sympy.Integer(1)
    q = point_quadratics(builtin("driven_ising"), 6, {"N": N, "Delta": Delta, "gamma": gamma, "U": 0, "Omega": 0},
                         exact=True)
    Om = sympy.Symbol("Om")
    exact = 1 + 64 * Om**4 / ((4 * Delta**2 + gamma**2) * (4 * Delta**2 + gamma**2 + 16 * Om**2))
    taylor = sympy.Poly(sympy.series(exact, Om, 0, 7).removeO(), Om)
    for k in range(7):
        a_k = q["a_R"].c[k]
        assert a_k.y == 0
        assert sympy.Rational(int(a_k.x.numerator), int(a_k.x.denominator)) == taylor.coeff_monomial(Om**k)
        assert not q["b_R"].c[k] and not q["c_R"].c[k]
    assert all(not q["a_R"].c[k] for k in (1, 2, 3))


# ---- the two methods ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_full_and_pure_agree_at_first_order(name):
    full = symsteady.derive(builtin(name), 1, "full")
    pure = symsteady.derive(builtin(name), 1, "pure")
    for k in QUADRATIC_KEYS:
        assert sympy.simplify(full.pieces[k] - pure.pieces[k]) == 0, k


@pytest.mark.slow
def test_full_and_pure_differ_at_second_order():
    full = symsteady.derive(builtin("xyz"), 2, "full")
    pure = symsteady.derive(builtin("xyz"), 2, "pure")
    assert pure.method == "pure" and full.method == "full"
    diff = [sympy.simplify(full.pieces[k] - pure.pieces[k]) for k in ("a_R", "b_R", "c_R")]
    assert any(d != 0 for d in diff)
    # ... and only the full expansion converges as δ³
    fixed, small, lams = CASES["xyz"]
    errs = errors_against_reference(builtin("xyz"), "xyz", 6, fixed, small, lams, 2, method="pure")
    assert slope(lams, errs) < 2.5, errs


def test_closed_form_and_numeric_series_agree():
    for name, (fixed, small, lams) in CASES.items():
        model = builtin(name)
        for order in (1, 2):
            point = {"N": 7, **fixed, small: lams[0] * 5}
            closed = evaluate(model, order, [point])[0]
            numeric = symsteady.evaluation._numeric_observables(model, order, point, "full")
            assert closed["xi2_R"] == pytest.approx(float(numeric["xi2_R"]), abs=1e-12)
            assert np.allclose(closed["cov"], numeric["cov"], atol=1e-12)


def test_numeric_series_order_four_at_larger_N():
    """The numeric series (any order) at N = 12 against our exact solver in double precision."""
    fixed, small, _ = CASES["xyz"]
    lams = (0.08, 0.04, 0.02)
    model = builtin("xyz")
    errs = []
    for lam in lams:
        point = {"N": 12, **fixed, small: lam}
        exact = evaluate(model, None, [point], method="exact")[0]["xi2_R"]
        errs.append(abs(evaluate(model, 4, [point])[0]["xi2_R"] - exact))
    assert slope(lams, errs) > 4.8, errs
