"""Generated NumPy and C kernels against the sympy expressions evaluated by mpmath at 50 digits
(1000 random points per built-in model and quantity) and against ``symsteady.evaluate``."""

from __future__ import annotations

import ast
import inspect

import numpy as np
import pytest
from codegen_helpers import derivation, random_points, require_tool

import symsteady
import symsteady.models
from symsteady.codegen import (
    HighPrecision,
    c_sources,
    load_c_kernel,
    load_numpy_module,
    max_relative_error,
    numpy_module,
)

MODELS = list(symsteady.models.BUILTIN)
POINTS = 1000
TOL = 1e-12


class Case:
    def __init__(self, name: str):
        self.d = derivation(name)
        self.source = numpy_module(self.d)
        self.module = load_numpy_module(self.source, f"gen_{name}")
        self.points = random_points(self.d, POINTS, seed=hash(name) % 1000)
        self.hp = HighPrecision(self.d, dps=50)
        self.reference = {q: self.hp.table(q, self.points) for q in self.hp.quantities.names}


@pytest.fixture(scope="module", params=MODELS)
def case(request) -> Case:
    return Case(request.param)


@pytest.mark.slow
def test_numpy_kernels_match_mpmath_reference(case):
    errors = {q: max_relative_error(getattr(case.module, q)(**case.points), ref)
              for q, ref in case.reference.items()}
    assert set(errors) >= {"xi2_R", "xi2_S", "theta", "direction", "mean", "cov", "rs_gap",
                           "rho_0", "rho_1", "rho_2"}
    bad = {q: e for q, e in errors.items() if not e <= TOL}
    assert not bad, f"{case.d.model.name}: {bad}"


@pytest.mark.slow
def test_c_kernels_match_mpmath_reference(case):
    require_tool("cc", "gcc")
    kernel = load_c_kernel(c_sources(case.d))
    errors = {q: max_relative_error(kernel.call(q, **case.points), ref) for q, ref in case.reference.items()}
    bad = {q: e for q, e in errors.items() if not e <= TOL}
    assert not bad, f"{case.d.model.name}: {bad}"


def test_reference_is_not_trivially_equal(case):
    """The comparison can fail: a kernel off by one ulp-scale factor of 1e-9 is caught."""
    ref = case.reference["xi2_R"]
    wrong = case.module.xi2_R(**case.points) * (1 + 1e-9) + 1e-9
    assert max_relative_error(wrong, ref) > TOL


# ``evaluate`` lambdifies the expanded expressions: on driven_ising it loses up to ~2e-11
# (covariance) against mpmath, where the kernels' factored forms stay below 1e-14.
EVALUATE_TOL = {"driven_ising": 1e-10}


@pytest.mark.slow
def test_kernels_agree_with_evaluate(case):
    """Where the closed form holds (N >= n_min), the kernels give what ``evaluate`` gives."""
    keep = case.points["N"] >= case.d.n_min
    idx = np.flatnonzero(keep)[:200]
    pts = [{k: float(v[i]) for k, v in case.points.items()} for i in idx]
    rows = symsteady.evaluate(case.d.model, 2, pts)
    sub = {k: v[idx] for k, v in case.points.items()}
    m = case.module
    for key, fn in [("xi2_R", m.xi2_R), ("xi2_S", m.xi2_S), ("theta", m.theta), ("rs_gap", m.rs_gap),
                    ("direction", m.direction), ("mean", m.mean), ("cov", m.cov)]:
        got = fn(**sub)
        want = np.array([np.nan if r[key] is None else r[key] for r in rows], dtype=float) \
            if key in ("xi2_R", "xi2_S", "theta", "rs_gap") \
            else np.array([[np.nan if x is None else x for x in np.ravel(r[key])] for r in rows], dtype=float)
        tol = EVALUATE_TOL.get(case.d.model.name, TOL)
        assert max_relative_error(got.reshape(len(idx), -1), want.reshape(len(idx), -1)) <= tol, key


@pytest.mark.slow
def test_xyz_signature_and_broadcasting():
    m = load_numpy_module(numpy_module(derivation("xyz")), "gen_xyz_sig")
    sig = inspect.signature(m.xi2_R)
    assert list(sig.parameters) == ["N", "J", "Jz", "delta", "gamma"]
    assert all(p.kind is p.KEYWORD_ONLY for p in sig.parameters.values())
    with pytest.raises(TypeError):
        m.xi2_R(20, 0.5, 1.0, 0.05, 1.0)
    x = m.xi2_R(N=20, J=0.5, delta=0.05, Jz=1.0, gamma=1.0)
    assert np.shape(x) == ()
    grid = m.xi2_R(N=np.arange(4, 10)[:, None], J=0.5, delta=np.linspace(-0.1, 0.1, 5), Jz=1.0, gamma=1.0)
    assert grid.shape == (6, 5)
    assert m.mean(N=np.arange(4, 10), J=0.5, delta=0.05, Jz=1.0, gamma=1.0).shape == (6, 3)
    assert m.cov(N=np.arange(4, 10), J=0.5, delta=0.05, Jz=1.0, gamma=1.0).shape == (6, 3, 3)
    rho2 = m.rho_2(N=np.arange(4, 10), J=0.5, delta=0.05, Jz=1.0, gamma=1.0)
    assert set(rho2) == set(derivation("xyz").rho[2]) and rho2[(4, 0, 0)].dtype == np.complex128
    assert np.allclose(m.rs_gap(N=[4, 5], J=0.5, delta=0.0, Jz=1.0, gamma=1.0), 0.0)


@pytest.mark.slow
def test_numpy_module_imports_only_numpy_and_documents_itself():
    d = derivation("xyz")
    source = numpy_module(d)
    tree = ast.parse(source)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported == {"numpy"}
    doc = ast.get_docstring(tree)
    assert "Generated by symsteady" in doc and "Do not edit" in doc
    assert "symsteady generate xyz --order 2 --lang numpy" in doc
    assert "N >= 4" in doc and "order 2 in delta" in doc
    assert "local_emission = gamma" in doc and "D[L]rho" in doc and "theta in (-pi/2, pi/2]" in doc
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")]
    assert len(functions) == 16  # many small functions, not one giant one
    assert max(n.end_lineno - n.lineno for n in functions) < 80
    assert "_x0 = " in source  # common subexpressions eliminated


@pytest.mark.slow
def test_highprec_precision_and_errors():
    """At 60 digits, a rational result agrees with exact rational arithmetic to ~1e-58."""
    import mpmath
    import sympy

    d = derivation("xyz")
    p = {"N": 7, "J": 0.375, "Jz": -1.125, "delta": 0.0625, "gamma": 0.875}  # exact binary fractions
    exact = d.pieces["a_R"].xreplace({s: sympy.Rational(p[s.name]) for s in d.pieces["a_R"].free_symbols})
    with mpmath.workdps(70):
        for dps, tol in ((60, 1e-57), (30, 1e-27)):
            value = HighPrecision(d, dps=dps).evaluate("a_R", **p)
            err = abs(value - mpmath.mpf(sympy.Rational(exact).p) / sympy.Rational(exact).q)
            assert err < tol
        assert err > 1e-40  # 30 digits are not 60
    with pytest.raises(symsteady.errors.ParameterError):
        HighPrecision(d).evaluate("xi2_R", N=7)
    with pytest.raises(symsteady.errors.SymsteadyError):
        HighPrecision(d).evaluate("no_such_quantity", **p)
