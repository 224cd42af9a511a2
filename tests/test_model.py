"""Models: parsing with an explicit symbol table, checks and their errors, built-ins, TOML.

Conventions (docs/algorithm/conventions.md): ``S_a = (1/2) sum_i sigma^a_i``, ``Sp = Sx + i Sy``, ``Sm = Sx - i Sy``;
every free name of a model string is a real parameter, ``N`` a positive integer.
"""

from __future__ import annotations

import math

import pytest
import sympy

import symsteady
import symsteady.spinpoly
import symsteady.model
import symsteady.models
from symsteady import Model, derive, evaluate, spinpoly
from symsteady.errors import DarkStateError, MalformedExpressionError, MethodError, ModelError, NonUniqueSteadyStateError, NotHermitianError, ParameterError, RateError, SymmetryError, SymsteadyError, UnknownOperatorError
from symsteady.model import check_rate, parameter, parse

XYZ_H = "(2/N)*((J + delta)*Sx**2 + (J - delta)*Sy**2 + Jz*Sz**2)"
DRIVEN_H = "2*Omega*Sx + Delta*Sz"
XYZ_POINT = {"N": 4, "J": 0.5, "Jz": 1.0, "delta": 0.01, "gamma": 1.0}


def real(name: str) -> sympy.Symbol:
    return sympy.Symbol(name, real=True)


def assert_same_poly(p: dict, q: dict) -> None:
    """Two normal-ordered spin polynomials are equal word by word."""
    for w in set(p) | set(q):
        assert sympy.simplify(p.get(w, 0) - q.get(w, 0)) == 0, (w, p.get(w), q.get(w))


def xi2_at(expr: sympy.Expr, values: dict[str, float]) -> float:
    subs = {s: values[s.name] for s in expr.free_symbols}
    return float(sympy.re(expr.xreplace(subs).evalf(30)))


# ---- parsing ----------------------------------------------------------------------------------


def test_parse_names_become_real_symbols_never_sympy_objects():
    names = ["gamma", "E", "I", "S", "beta", "zeta", "Lambda"]
    expr = parse("*".join(names) + "*N")
    assert len(expr.free_symbols) == len(names) + 1
    for sym in expr.free_symbols:
        assert isinstance(sym, sympy.Symbol), sym
        assert sym.is_real is True
    by_name = {s.name: s for s in expr.free_symbols}
    assert set(by_name) == set(names) | {"N"}
    for name in names:
        assert by_name[name] == real(name)
    assert by_name["N"] == symsteady.model.N
    assert symsteady.model.N.is_integer and symsteady.model.N.is_positive
    # no sympy function or constant leaked in
    assert not expr.atoms(sympy.Function)
    for const in (sympy.E, sympy.I, sympy.S.EulerGamma, sympy.pi):
        assert not expr.has(const)
    assert expr.atoms(sympy.NumberSymbol) == set()


@pytest.mark.parametrize("name", ["gamma", "N", "E", "I", "S", "beta", "zeta", "Lambda"])
def test_single_name_is_a_symbol(name):
    expr = parse(name)
    assert isinstance(expr, sympy.Symbol)
    assert expr.name == name
    assert expr.is_real is True
    if name == "N":
        assert expr == symsteady.model.N and expr.is_integer and expr.is_positive
    else:
        assert expr == real(name)


def test_parse_keeps_fractions_exact_and_floats_rational():
    assert parse("2/N") == 2 / symsteady.model.N
    assert parse("2/N") - sympy.Rational(2) / symsteady.model.N == 0
    assert parse("0.5") == sympy.Rational(1, 2)
    assert isinstance(parse("0.5"), sympy.Rational)
    assert parse("0.1*gamma") == sympy.Rational(1, 10) * real("gamma")
    assert parse("1/3") == sympy.Rational(1, 3)
    assert not parse("0.25*J + 1/3").atoms(sympy.Float)


def test_parse_caret_is_power_and_1j_is_i():
    assert parse("J^2") == real("J") ** 2
    assert parse("2^3") == 8
    assert parse("1j") == sympy.I
    assert parse("2.5j") == sympy.Rational(5, 2) * sympy.I
    assert parse("1j*J") == sympy.I * real("J")


def test_parse_operators():
    assert parse("Sp") == spinpoly.Sp
    assert parse("Sx") == spinpoly.Sx
    assert parse("Sy") == spinpoly.Sy
    assert sympy.expand(parse("Sx + 1j*Sy") - spinpoly.Sp) == 0


def test_model_collects_parameters_and_rates():
    m = Model("gamma*E*Sz + I*S*Sx**2 + beta*zeta*Lambda*Sz**2", local_emission="gamma")
    assert [p.name for p in m.parameters] == sorted(["gamma", "E", "I", "S", "beta", "zeta", "Lambda"])
    assert all(p.is_real for p in m.parameters)
    assert m.rate("local_emission") == real("gamma")
    assert m.small is None


# ---- every bad input has its own error, naming the culprit -----------------------------------


def test_symmetry_error_names_term():
    with pytest.raises(SymmetryError) as exc:
        Model("Sx**2 + delta*Sz", small="delta", local_emission="gamma")
    msg = str(exc.value)
    assert "delta" in msg
    assert "Sm**2" in msg or "Sp**2" in msg or "Sx**2" in msg


def test_symmetry_error_names_coefficient():
    with pytest.raises(SymmetryError) as exc:
        Model("J*Sz + Omega*Sx + delta*Sz**2", small="delta", local_emission="gamma")
    msg = str(exc.value)
    assert "Omega" in msg and ("Sm" in msg or "Sp" in msg or "Sx" in msg)


@pytest.mark.parametrize(
    "ham, culprit",
    [("Sp*Sz", "Sp*Sz"), ("1j*Sx", "S"), ("Sp", "Sp"), ("J*Sp + J*Sz", "Sp")],
)
def test_not_hermitian(ham, culprit):
    with pytest.raises(NotHermitianError) as exc:
        Model(ham, local_emission="gamma")
    assert "Hermitian" in str(exc.value)
    assert culprit in str(exc.value)


def test_hermitian_combinations_accepted():
    Model("Sp*Sz + Sz*Sm", local_emission=1)
    Model("1j*(Sp - Sm)", local_emission=1)  # = -2 Sy
    Model("Sx*Sy + Sy*Sx", local_emission=1)


@pytest.mark.parametrize("ham, culprit", [("Sq*Sx", "Sq"), ("Splus", "Splus"), ("J*sigma_x", "sigma_x")])
def test_unknown_operator(ham, culprit):
    with pytest.raises(UnknownOperatorError) as exc:
        Model(ham, local_emission="gamma")
    assert repr(culprit) in str(exc.value) or culprit in str(exc.value)


@pytest.mark.parametrize(
    "ham, culprit",
    [
        ("Sx*(", "Sx*("),
        ("J*Sx +* 2", "J*Sx +* 2"),
        ("f(J)*Sx", "'f'"),
        ("sqrt(Sx)", "sqrt"),
        ("Sx**Sz", "Sz"),
        ("Sz**(-1)", "Sz"),
        ("__import__('os')", "__import__"),
        ("(lambda: 1)()", "lambda"),
        ("Sx.real", "Attribute"),
        ("Sx[0]", "Subscript"),
        ("Sx + 'a'", "'a'"),
    ],
)
def test_malformed_expression(ham, culprit):
    with pytest.raises(MalformedExpressionError) as exc:
        Model(ham, local_emission="gamma")
    assert culprit in str(exc.value)


def test_parser_is_safe(tmp_path):
    target = tmp_path / "pwned"
    for text in (
        f"__import__('os').system('touch {target}')",
        "().__class__.__base__.__subclasses__()",
        f"(lambda: __import__('os').system('touch {target}'))()",
        "sqrt.__globals__",
    ):
        with pytest.raises(MalformedExpressionError):
            Model(text, local_emission=1)
    assert not target.exists()


@pytest.mark.parametrize(
    "kwargs, culprit",
    [
        ({"local_emission": "-1"}, "local_emission"),
        ({"local_emission": "1j"}, "local_emission"),
        ({"local_emission": -2}, "local_emission"),
        ({"collective_emission": "-0.5"}, "collective_emission"),
        ({"local_dephasing": "-1"}, "local_dephasing"),
        ({"local_dephasing": "1 + 1j"}, "local_dephasing"),
    ],
)
def test_rate_error(kwargs, culprit):
    with pytest.raises(RateError) as exc:
        Model("J*Sz", **kwargs)
    assert culprit in str(exc.value)


def test_check_rate_direct():
    check_rate("local_emission", sympy.Integer(0))
    check_rate("local_emission", real("gamma"))
    with pytest.raises(RateError, match="local_emission"):
        check_rate("local_emission", sympy.Integer(-1))
    with pytest.raises(RateError, match="local_emission"):
        check_rate("local_emission", sympy.I)


def test_negative_rate_at_evaluation():
    with pytest.raises(RateError) as exc:
        evaluate(symsteady.builtin("xyz"), 1, [{**XYZ_POINT, "gamma": -1}])
    assert "gamma" in str(exc.value) or "local_emission" in str(exc.value)


def test_negative_symbolic_rate_refused_when_built():
    """-gamma is negative for every gamma > 0: refused at once, naming the rate."""
    with pytest.raises(RateError, match="local_emission = -gamma is negative"):
        Model(XYZ_H, local_emission="-gamma", small="delta")
    with pytest.raises(RateError, match="local_dephasing"):
        Model(XYZ_H, local_emission="gamma", local_dephasing="-2*g**2", small="delta")


def test_rate_of_undecided_sign_checked_at_the_point():
    """gamma - g may be either sign: built, refused only at a point where it is negative; a
    rate that is 0 at a point is allowed (the process is off there)."""
    m = Model(XYZ_H, local_emission="gamma", local_dephasing="gamma - g", small="delta")
    with pytest.raises(RateError, match="local_dephasing"):
        evaluate(m, 1, [{**XYZ_POINT, "g": 2 * float(XYZ_POINT["gamma"])}])
    (row,) = evaluate(m, 1, [{**XYZ_POINT, "g": XYZ_POINT["gamma"]}])
    assert row["xi2_R"] < 1


def test_complex_symbolic_rate_refused():
    """A rate J*1j is imaginary for every real J other than 0: refused when the model is built."""
    with pytest.raises(RateError, match="local_emission"):
        Model("Sx", local_emission="J*1j")


def test_pumping_is_a_dark_state_error():
    m = Model(XYZ_H, local_emission="gamma", local_pumping="p", small="delta")
    with pytest.raises(DarkStateError) as exc:
        derive(m, 1)
    assert "local_pumping" in str(exc.value)


def test_non_unique_steady_state_names_block():
    """Single-emitter driving with dephasing only: order 2 reaches the non-decaying block (1, 1)."""
    m = Model(DRIVEN_H, small="Omega", local_dephasing="g")
    with pytest.raises(NonUniqueSteadyStateError) as exc:
        derive(m, 2)
    assert "(1, 1)" in str(exc.value)
    with pytest.raises(NonUniqueSteadyStateError, match=r"\(1, 1\)"):
        evaluate(m, 2, [{"N": 3, "Omega": 0.01, "Delta": 0.5, "g": 1.0}])


@pytest.mark.parametrize(
    "ham, small, rates",
    [
        (XYZ_H, "delta", {"local_dephasing": "g"}),
        (XYZ_H, "delta", {}),
        (DRIVEN_H, "Omega", {"local_dephasing": "g"}),
        (DRIVEN_H, "Omega", {}),
    ],
    ids=["xyz-dephasing-only", "xyz-no-dissipation", "driven-dephasing-only", "driven-no-dissipation"],
)
def test_non_unique_steady_state_refused_at_every_order(ham, small, rates):
    """BUG: L0 has a second steady state (block (1, 1) does not decay), whatever the order.

    symsteady only notices when the recursion happens to invert a singular block, so low orders
    return a series around the wrong (non-unique) state, and xyz with dephasing at order 2 names
    block (2, 2) instead of the lowest non-decaying block (1, 1). Without any dissipation the
    (1, 1) right-hand sides cancel for single-emitter driving, so no order ever raises.
    """
    m = Model(ham, small=small, **rates)
    wrong = {}
    for order in (0, 1, 2):
        try:
            derive(m, order)
        except NonUniqueSteadyStateError as exc:
            if "(1, 1)" not in str(exc):
                wrong[order] = f"names another block: {exc}"
        else:
            wrong[order] = "no error"
    assert not wrong, wrong


def test_non_unique_steady_state_refused_by_evaluate():
    """BUG: no dissipation at all; evaluate at N = 2 returns xi2_R = -inf instead of refusing."""
    m = Model(XYZ_H, small="delta")
    with pytest.raises(NonUniqueSteadyStateError):
        evaluate(m, 1, [{"N": 2, "J": 0.5, "Jz": 1.0, "delta": 0.01}])


@pytest.mark.parametrize("n", [0, -3, 2.5, "abc", None, "4.5"])
def test_bad_N(n):
    with pytest.raises(ParameterError) as exc:
        evaluate(symsteady.builtin("xyz"), 1, [{**XYZ_POINT, "N": n}])
    assert "N" in str(exc.value)


@pytest.mark.parametrize("n", [float("inf"), float("-inf"), 10**400, "1e400"],
                         ids=["inf", "-inf", "10**400", "'1e400'"])
def test_non_finite_N_is_a_parameter_error(n):
    """BUG: the point check caught only TypeError/ValueError; int(inf) raises OverflowError."""
    with pytest.raises(ParameterError, match="N"):
        evaluate(symsteady.builtin("xyz"), 1, [{**XYZ_POINT, "N": n}])


def test_huge_parameter_is_a_parameter_error():
    """BUG: float(10**400) raises OverflowError, not caught by the point check."""
    with pytest.raises(ParameterError, match="J"):
        evaluate(symsteady.builtin("xyz"), 1, [{**XYZ_POINT, "J": 10**400}])


def test_missing_and_unknown_parameters():
    point = dict(XYZ_POINT)
    del point["gamma"]
    del point["Jz"]
    with pytest.raises(ParameterError) as exc:
        evaluate(symsteady.builtin("xyz"), 1, [point])
    assert "gamma" in str(exc.value) and "Jz" in str(exc.value)
    with pytest.raises(ParameterError) as exc:
        evaluate(symsteady.builtin("xyz"), 1, [{**XYZ_POINT, "foo": 1.0}])
    assert "foo" in str(exc.value)
    with pytest.raises(ParameterError, match="N"):
        evaluate(symsteady.builtin("xyz"), 1, [{k: v for k, v in XYZ_POINT.items() if k != "N"}])
    with pytest.raises(ParameterError, match="J"):
        evaluate(symsteady.builtin("xyz"), 1, [{**XYZ_POINT, "J": "x"}])
    with pytest.raises(ParameterError, match="J"):
        evaluate(symsteady.builtin("xyz"), 1, [{**XYZ_POINT, "J": float("nan")}])


@pytest.mark.slow
def test_pure_method_with_dephasing():
    m = Model(XYZ_H, local_emission="gamma", local_dephasing="g", small="delta")
    with pytest.raises(MethodError) as exc:
        derive(m, 1, "pure")
    assert "local_dephasing" in str(exc.value)
    with pytest.raises(MethodError):
        evaluate(m, 1, [{**XYZ_POINT, "g": 0.1}], method="pure")
    derive(m, 1, "full")  # the full method takes it


def test_unknown_method():
    with pytest.raises(MethodError, match="magic"):
        derive(symsteady.builtin("xyz"), 1, "magic")
    with pytest.raises(MethodError, match="magic"):
        evaluate(symsteady.builtin("xyz"), 1, [XYZ_POINT], method="magic")


def test_negative_order():
    with pytest.raises(MethodError, match="-1"):
        derive(symsteady.builtin("xyz"), -1)


def test_small_parameter_must_appear():
    with pytest.raises(ModelError) as exc:
        Model("J*Sz", small="delta", local_emission="gamma")
    assert "delta" in str(exc.value)
    with pytest.raises(ModelError, match="N"):
        Model("J*Sz", small="N", local_emission="gamma")


def test_from_dict_unknown_keys_and_missing_hamiltonian():
    with pytest.raises(ModelError) as exc:
        Model.from_dict({"hamiltonian": "J*Sz", "local_emision": "gamma"})
    assert "local_emision" in str(exc.value)
    with pytest.raises(ModelError, match="hamiltonian"):
        Model.from_dict({"local_emission": "gamma"})


def test_unreadable_toml(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('hamiltonian = "Sx\nlocal_emission = [\n')
    with pytest.raises(ModelError) as exc:
        symsteady.load(bad)
    assert "bad.toml" in str(exc.value)
    missing = tmp_path / "missing.toml"
    with pytest.raises(ModelError) as exc:
        symsteady.load(missing)
    assert "missing.toml" in str(exc.value)
    with pytest.raises(ModelError, match="nosuchmodel"):
        symsteady.load("nosuchmodel")


@pytest.mark.parametrize(
    "body, culprit",
    [
        ('hamiltonian = "Sx"\nlocal_emission = [1]\n', "local_emission"),
        ('hamiltonian = ["Sx"]\nlocal_emission = "gamma"\n', "hamiltonian"),
        ('hamiltonian = true\nlocal_emission = "gamma"\n', "hamiltonian"),
        ('hamiltonian = "Sx"\n[local_emission]\na = 1\n', "local_emission"),
    ],
    ids=["rate-list", "hamiltonian-list", "hamiltonian-bool", "rate-table"],
)
def test_toml_with_non_string_values(tmp_path, body, culprit):
    """BUG: TOML lists/tables/booleans reach sympy: AttributeError (or a Dict rate accepted)."""
    path = tmp_path / "model.toml"
    path.write_text(body)
    with pytest.raises(ModelError) as exc:
        symsteady.load(path)
    assert culprit in str(exc.value)


# ---- no raw exceptions ---------------------------------------------------------------------

_XYZ = symsteady.builtin("xyz")
BAD_INPUTS = {
    "symmetry": lambda: Model("Sx**2 + delta*Sz", small="delta", local_emission="gamma"),
    "hermitian-SpSz": lambda: Model("Sp*Sz", local_emission=1),
    "hermitian-1jSx": lambda: Model("1j*Sx", local_emission=1),
    "operator-Sq": lambda: Model("Sq*Sx", local_emission=1),
    "operator-Splus": lambda: Model("Splus", local_emission=1),
    "syntax": lambda: Model("Sx*(", local_emission=1),
    "empty": lambda: Model("", local_emission=1),
    "function": lambda: Model("f(J)*Sx", local_emission=1),
    "sqrt-operator": lambda: Model("sqrt(Sx)", local_emission=1),
    "sqrt-no-args": lambda: Model("sqrt()*Sx", local_emission=1),
    "import": lambda: Model("__import__('os')", local_emission=1),
    "lambda": lambda: Model("(lambda: 1)()", local_emission=1),
    "attribute": lambda: Model("Sx.real", local_emission=1),
    "keyword-arg": lambda: Model("sqrt(x=2)*Sx", local_emission=1),
    "operator-power": lambda: Model("J**Sx", local_emission=1),
    "inverse-operator": lambda: Model("Sx/Sz", local_emission=1),
    "float-overflow": lambda: Model("1e400*Sx", local_emission=1),
    "rate-operator": lambda: Model("Sx", local_emission="Sx"),
    "rate-negative": lambda: Model("Sx", local_emission="-1"),
    "rate-complex": lambda: Model("Sx", local_emission="1j"),
    "rate-division-by-zero": lambda: Model("Sx", local_emission="1/0"),
    "pumping": lambda: derive(Model(XYZ_H, local_emission="gamma", local_pumping="p", small="delta"), 1),
    "non-unique": lambda: derive(Model(DRIVEN_H, small="Omega", local_dephasing="g"), 2),
    "eval-gamma-negative": lambda: evaluate(_XYZ, 1, [{**XYZ_POINT, "gamma": -1}]),
    "N-zero": lambda: evaluate(_XYZ, 1, [{**XYZ_POINT, "N": 0}]),
    "N-negative": lambda: evaluate(_XYZ, 1, [{**XYZ_POINT, "N": -3}]),
    "N-fraction": lambda: evaluate(_XYZ, 1, [{**XYZ_POINT, "N": 2.5}]),
    "N-text": lambda: evaluate(_XYZ, 1, [{**XYZ_POINT, "N": "abc"}]),
    "N-list": lambda: evaluate(_XYZ, 1, [{**XYZ_POINT, "N": [4]}]),
    "N-inf": lambda: evaluate(_XYZ, 1, [{**XYZ_POINT, "N": float("inf")}]),
    "N-huge": lambda: evaluate(_XYZ, 1, [{**XYZ_POINT, "N": 10**400}]),
    "param-huge": lambda: evaluate(_XYZ, 1, [{**XYZ_POINT, "J": 10**400}]),
    "param-complex": lambda: evaluate(_XYZ, 1, [{**XYZ_POINT, "J": 1j}]),
    "missing": lambda: evaluate(_XYZ, 1, [{"N": 4, "J": 1}]),
    "unknown": lambda: evaluate(_XYZ, 1, [{**XYZ_POINT, "foo": 1}]),
    "pure-dephasing": lambda: derive(Model(XYZ_H, local_emission=1, local_dephasing=1, small="delta"), 1, "pure"),
    "method": lambda: derive(_XYZ, 1, "magic"),
    "small-absent": lambda: Model("J*Sz", small="delta", local_emission=1),
    "small-N": lambda: Model("J*Sz", small="N", local_emission=1),
    "keys": lambda: Model.from_dict({"hamiltonian": "Sx", "foo": 1}),
    "no-hamiltonian": lambda: Model.from_dict({"name": "x"}),
    "dict-list-rate": lambda: Model.from_dict({"hamiltonian": "Sx", "local_emission": [1]}),
    "dict-bool-hamiltonian": lambda: Model.from_dict({"hamiltonian": True}),
    "toml-missing": lambda: symsteady.load("/nonexistent/dir/model.toml"),
    "builtin-unknown": lambda: symsteady.builtin("nope"),
    "nan-rate": lambda: evaluate(Model("Sx", local_emission=float("nan")), 1, [{"N": 4}]),
}


@pytest.mark.parametrize("make", list(BAD_INPUTS.values()), ids=list(BAD_INPUTS))
def test_bad_input_raises_only_symsteady_errors(make):
    try:
        make()
    except Exception as exc:  # noqa: BLE001 - the point of the test
        assert isinstance(exc, SymsteadyError), f"raw {type(exc).__name__}: {exc}"
    else:
        pytest.fail("bad input accepted without an error")


def test_error_hierarchy():
    for cls in (MalformedExpressionError, NotHermitianError, SymmetryError, RateError):
        assert issubclass(cls, ModelError)
    assert issubclass(UnknownOperatorError, MalformedExpressionError)
    for cls in (ModelError, DarkStateError, NonUniqueSteadyStateError, ParameterError, MethodError):
        assert issubclass(cls, SymsteadyError)


# ---- built-in models ------------------------------------------------------------------------

Sx, Sy, Sz = spinpoly.Sx, spinpoly.Sy, spinpoly.Sz
_N = symsteady.model.N
J, Jz, delta, gamma = (real(n) for n in ("J", "Jz", "delta", "gamma"))
Delta, Jx, Omega, U, Gamma = (real(n) for n in ("Delta", "Jx", "Omega", "U", "Gamma"))
CONVENTIONS = {
    # name: (parameters, sector, small, H as in docs/algorithm/conventions.md, nonzero rates)
    "xyz": (["J", "Jz", "delta", "gamma"], "permutation-invariant", delta,
            (2 / _N) * ((J + delta) * Sx**2 + (J - delta) * Sy**2 + Jz * Sz**2),
            {"local_emission": gamma}),
    "tfi": (["Delta", "Jx", "gamma"], "permutation-invariant", Jx,
            Delta * Sz + (4 * Jx / _N) * Sx**2, {"local_emission": gamma}),
    "driven_ising": (["Delta", "Omega", "U", "gamma"], "permutation-invariant", Omega,
                     2 * Omega * Sx + Delta * Sz + (4 * U / _N) * Sz**2, {"local_emission": gamma}),
    "resonance_fluorescence": (["Gamma", "Omega"], "symmetric", Omega, 2 * Omega * Sx,
                               {"collective_emission": Gamma}),
}


def test_builtin_names():
    assert set(symsteady.models.BUILTIN) == set(CONVENTIONS)


@pytest.mark.parametrize("name", list(CONVENTIONS))
def test_builtin_models_match_design(name):
    params, sector, small, ham, rates = CONVENTIONS[name]
    m = symsteady.builtin(name)
    assert symsteady.load(name).poly == m.poly
    assert m.name == name
    assert [p.name for p in m.parameters] == params
    assert all(p.is_real for p in m.parameters)
    assert m.sector == sector
    assert m.small == small
    assert_same_poly(m.poly, spinpoly.from_expr(ham))
    for r, v in m.rates.items():
        assert v == rates.get(r, 0), r


@pytest.mark.parametrize("name", list(CONVENTIONS))
def test_builtin_derivation_sector(name):
    d = derive(symsteady.builtin(name), 1)
    assert d.sector == CONVENTIONS[name][1]
    assert d.lam == CONVENTIONS[name][2]


@pytest.mark.slow
def test_xyz_first_order_closed_form():
    d = derive(symsteady.builtin("xyz"), 1)
    oracle = 1 - 4 * abs(delta) * (_N - 1) / _N / sympy.sqrt(16 * (J - Jz) ** 2 * (_N - 2) ** 2 / _N**2 + gamma**2)
    for vals in ({"N": 20, "J": 0.5, "Jz": 1, "delta": 0.01, "gamma": 1},
                 {"N": 7, "J": -0.3, "Jz": 0.4, "delta": -0.02, "gamma": 0.7}):
        assert xi2_at(d.xi2_R, vals) == pytest.approx(xi2_at(oracle, vals), abs=1e-12)


# ---- TOML -----------------------------------------------------------------------------------

ISSUE_TOML = """\
name = "xyz"
hamiltonian = "(2/N)*((J + delta)*Sx**2 + (J - delta)*Sy**2 + Jz*Sz**2)"
local_emission = "gamma"
small = "delta"
"""


@pytest.mark.slow
def test_toml_model_matches_builtin(tmp_path):
    path = tmp_path / "xyz_model.toml"
    path.write_text(ISSUE_TOML)
    m = symsteady.load(path)
    assert m.name == "xyz"
    assert m.small == delta
    assert [p.name for p in m.parameters] == ["J", "Jz", "delta", "gamma"]
    x_file = derive(m, 1).xi2_R
    x_builtin = derive(symsteady.builtin("xyz"), 1).xi2_R
    for vals in ({"N": 4, "J": 0.5, "Jz": 1, "delta": 0.01, "gamma": 1},
                 {"N": 30, "J": 1.5, "Jz": -0.2, "delta": 0.003, "gamma": 2},
                 {"N": 9, "J": 0, "Jz": 0.1, "delta": -0.05, "gamma": 0.3}):
        assert xi2_at(x_file, vals) == pytest.approx(xi2_at(x_builtin, vals), rel=1e-12)


def test_toml_name_defaults_to_stem(tmp_path):
    path = tmp_path / "mymodel.toml"
    path.write_text(ISSUE_TOML.replace('name = "xyz"\n', ""))
    assert symsteady.load(str(path)).name == "mymodel"


# ---- without `small`: formal lambda on the U(1)-breaking part --------------------------------


@pytest.mark.slow
def test_formal_lambda_matches_driven_ising():
    m = Model("2*Omega*Sx + Delta*Sz + (4*U/N)*Sz**2", local_emission="gamma")
    assert m.small is None
    exp = m.expansion(2)
    assert all(spinpoly.charge(w) == 0 for w in exp[0][0])
    assert exp[1][0] and all(spinpoly.charge(w) != 0 for w in exp[1][0])
    assert not exp[2][0]
    points = [
        {"N": 10, "Omega": 0.05, "Delta": 0.3, "U": 0.7, "gamma": 1.0},
        {"N": 25, "Omega": -0.02, "Delta": -0.4, "U": 0.2, "gamma": 2.0},
        {"N": 3, "Omega": 0.01, "Delta": 0.1, "U": 1.0, "gamma": 0.5},
    ]
    mine = evaluate(m, 2, points)
    ref = evaluate(symsteady.builtin("driven_ising"), 2, points)
    for a, b in zip(mine, ref):
        assert a["xi2_R"] == pytest.approx(b["xi2_R"], rel=1e-10, abs=1e-12)
        assert a["xi2_S"] == pytest.approx(b["xi2_S"], rel=1e-10, abs=1e-12)
        assert a["xi2_R"] < 1  # second-order squeezing for single-emitter driving
    d = derive(m, 2)
    assert d.lam.name == "lambda"


# ---- sympy expressions as Hamiltonians --------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("user_N", [symsteady.model.N, sympy.Symbol("N")], ids=["symsteady.model.N", "plain-N"])
def test_sympy_hamiltonian_matches_string(user_N):
    uJ, uJz, udelta, ugamma = sympy.symbols("J Jz delta gamma")  # not declared real
    X, Y, Z = symsteady.spinpoly.Sx, symsteady.spinpoly.Sy, symsteady.spinpoly.Sz
    ham = (2 / user_N) * ((uJ + udelta) * X**2 + (uJ - udelta) * Y**2 + uJz * Z**2)
    m = Model(ham, local_emission=ugamma, small=udelta)
    ref = Model(XYZ_H, local_emission="gamma", small="delta")
    assert m.parameters == ref.parameters
    assert all(p.is_real for p in m.parameters)
    assert m.small == ref.small
    assert_same_poly(m.poly, ref.poly)
    assert sympy.simplify(derive(m, 1).xi2_R - derive(ref, 1).xi2_R) == 0
    assert evaluate(m, 1, [XYZ_POINT])[0]["xi2_R"] == pytest.approx(
        evaluate(ref, 1, [XYZ_POINT])[0]["xi2_R"], rel=1e-12
    )


def test_sympy_hamiltonian_with_sp_sm():
    uOmega = sympy.Symbol("Omega")
    m = Model(uOmega * (symsteady.spinpoly.Sp + symsteady.spinpoly.Sm), collective_emission=sympy.Symbol("Gamma"),
              small="Omega")
    assert_same_poly(m.poly, symsteady.builtin("resonance_fluorescence").poly)
    assert parameter("Omega") in m.parameters
    assert not math.isnan(evaluate(m, 2, [{"N": 5, "Omega": 0.01, "Gamma": 1.0}])[0]["xi2_R"])


@pytest.mark.slow
def test_huge_power_refused_quickly():
    """BUG (safety): the parser evaluates integer powers without a bound, so '9**9**9*Sx'
    (a 370-million-digit integer) keeps the process busy far longer than any model should."""
    import subprocess
    import sys

    code = (
        "import symsteady, symsteady.errors\n"
        "try:\n"
        "    symsteady.Model('9**9**9*Sx', local_emission=1)\n"
        "except symsteady.errors.SymsteadyError as exc:\n"
        "    print(type(exc).__name__)\n"
    )
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=8)
    except subprocess.TimeoutExpired:
        pytest.fail("Model('9**9**9*Sx') did not return within 8 s")
    assert "Error" in out.stdout, (out.stdout, out.stderr)
