"""Dissipative processes, each defined once in ``symsteady.processes``; collective dephasing
(Γ_φ D[S_z]) end to end: orbit algebra, exact steady states against the 2^N space and piqs,
the perturbative series with errors ∝ λ^{K+1}, the pure-state method's refusal, mean field."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import sympy
from threadpoolctl import threadpool_limits

import exact_reference as ref
from symsteady import Model, builtin, evaluate, exact_solve, mean_field
from symsteady.errors import MethodError, ModelError
from symsteady.model import N as N_SYMBOL
from symsteady.processes import PROCESSES, CollectiveProcess, LocalProcess, process

XYZ = {"J": 0.5, "Jz": 1.0, "gamma": 1.0}
XYZ_CD = builtin("xyz").replace(name="xyz+cd", collective_dephasing="Gphi")
RF_CD = builtin("resonance_fluorescence").replace(name="rf+cd", collective_dephasing="Gphi")


def test_every_process_is_complete():
    """Each process states its key, scope, formula, LaTeX and piqs keyword; local ones a 2x2
    jump matrix and an orbit rule, collective ones a jump word."""
    import qutip.piqs

    piqs_keywords = set(inspect.signature(qutip.piqs.Dicke).parameters)
    keys = [p.key for p in PROCESSES]
    assert len(keys) == len(set(keys))
    for p in PROCESSES:
        assert p.scope in ("local", "collective") and p.rate_name and p.formula and p.latex
        assert p.piqs[0] in piqs_keywords and p.piqs[1] > 0
        if isinstance(p, LocalProcess):
            assert p.local and p.sandwich is not None and len(p.site_matrix) == 2
        else:
            assert isinstance(p, CollectiveProcess) and not p.local and p.jump
        if not p.keeps_dark:
            assert not p.annihilates_dark


def test_model_takes_every_process_and_refuses_others():
    m = Model("J*Sz", **{p.key: f"r{i}" for i, p in enumerate(PROCESSES)})
    assert list(m.rates) == [p.key for p in PROCESSES]
    with pytest.raises(ModelError, match="unknown process"):
        Model("J*Sz", collective_pumping="g")
    assert Model("J*Sz", collective_dephasing=0).rates == {}


# ---- exact steady states ---------------------------------------------------------------------------


def _reference(name: str, N: int, params: dict, extra: dict, backend: str) -> dict:
    with threadpool_limits(limits=1, user_api="blas"):
        mean, second = ref.reference_moments(name, N, params, extra_rates=extra, backend=backend)
    return {**ref.squeezing_from_moments(N, mean, second), "mean": mean}


@pytest.mark.parametrize("N", [2, 3, 5])
@pytest.mark.parametrize("name,model,params", [
    ("xyz", XYZ_CD, {**XYZ, "delta": 0.2}),
    ("resonance_fluorescence", RF_CD, {"Omega": 0.8, "Gamma": 1.0}),
])
def test_collective_dephasing_exact_against_full_space(name, model, params, N):
    """Local emission + collective dephasing (orbit basis) and collective emission + collective
    dephasing (symmetric sector) against the explicit 2^N Liouvillian."""
    gphi = 0.35
    ours = exact_solve(model, {"N": N, **params, "Gphi": gphi}).observables()
    want = _reference(name, N, params, {"collective_dephasing": gphi}, "full")
    assert abs(ours["xi2_R"] - want["xi2_R"]) < 1e-10
    assert np.abs(ours["mean"] - want["mean"]).max() < 1e-10 * N


def test_collective_dephasing_exact_against_piqs():
    """piqs' Dicke(collective_dephasing=Γ_φ) as shipped (single-precision rates: ~1e-6)."""
    N, params, gphi = 12, {**XYZ, "delta": 0.1}, 0.5
    ours = exact_solve(XYZ_CD, {"N": N, **params, "Gphi": gphi}).observables()
    want = _reference("xyz", N, params, {"collective_dephasing": gphi}, "piqs32")
    assert abs(ours["xi2_R"] - want["xi2_R"]) < 1e-5


def test_the_dark_state_stays_dark():
    """At the U(1) point the dark state is the steady state with collective dephasing on."""
    state = exact_solve(XYZ_CD, {"N": 8, **XYZ, "delta": 0.0, "Gphi": 0.7})
    coefficients = state.coefficients()
    assert abs(coefficients.pop((0, 0, 0)) - 1) < 1e-12
    assert max(map(abs, coefficients.values()), default=0) < 1e-12


# ---- perturbation theory ------------------------------------------------------------------------------


def _slope(lams, errs) -> float:
    return float(np.polyfit(np.log(lams), np.log(errs), 1)[0])


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("model,point,small,lams", [
    (XYZ_CD, {"N": 9, **XYZ, "Gphi": 0.4}, "delta", [0.01, 0.02, 0.04]),
    (RF_CD, {"N": 9, "Gamma": 1.0, "Gphi": 0.4}, "Omega", [0.02, 0.04, 0.08]),
])
@pytest.mark.slow
def test_collective_dephasing_series_converges(model, point, small, lams, order):
    """Order-K ξ²_R (closed form) against the exact steady state: error ∝ λ^{K+1} (or faster)."""
    points = [{**point, small: x} for x in lams]
    approx = [r["xi2_R"] for r in evaluate(model, order, points)]
    exact = [r["xi2_R"] for r in evaluate(model, None, points, "exact")]
    errs = [abs(a - b) for a, b in zip(approx, exact)]
    assert max(errs) < 0.05
    assert _slope(lams, errs) > order + 1 - 0.2, errs


@pytest.mark.slow
def test_collective_dephasing_damps_coherences_at_first_order():
    """D[S_z] damps B(1,0,0) at Γ_φ/2: the first-order coefficient's denominator carries it."""
    from symsteady import derive

    d = derive(XYZ_CD, 1)
    gphi = sympy.Symbol("Gphi", real=True)
    assert any(den.has(gphi) for den in d.denominators)
    at_zero = derive(builtin("xyz"), 1)
    assert sympy.simplify(d.xi2_R.subs(gphi, 0) - at_zero.xi2_R) == 0


def test_pure_state_method_refuses_collective_dephasing():
    with pytest.raises(MethodError, match="collective_dephasing"):
        evaluate(XYZ_CD, 1, [{"N": 6, **XYZ, "delta": 0.01, "Gphi": 0.2}], method="pure")


def test_mean_field_damping_of_collective_dephasing():
    """D†[S_z] S_x = −S_x/2: the transverse diagonal gains −Γ_φ/2 (no factor N)."""
    g, gphi = sympy.symbols("gamma Gphi", real=True)
    jac = mean_field(XYZ_CD).jacobian
    assert sympy.simplify(jac[0, 0] - (-g / 2 - gphi / 2)) == 0
    assert sympy.simplify(jac[1, 1] - (-g / 2 - gphi / 2)) == 0
    assert not jac.has(N_SYMBOL)


def test_collective_dephasing_alone_leaves_the_steady_state_not_unique():
    """Without emission every diagonal state in the symmetric sector is steady: a clear error."""
    from symsteady.errors import NonUniqueSteadyStateError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(NonUniqueSteadyStateError):
            exact_solve(Model("U*Sz**2/N", collective_dephasing="g"), {"N": 4, "U": 1.0, "g": 0.5})


def test_process_lookup():
    assert process("collective_dephasing").jump == ("z",)
    with pytest.raises(KeyError):
        process("nope")
