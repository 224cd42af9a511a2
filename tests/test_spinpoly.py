"""Spin polynomials in normal order (``symsteady.spinpoly``) against explicit 2^N matrices."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from exact_reference import local_ops
from symsteady import spinpoly
from symsteady.errors import MalformedExpressionError
from symsteady.spinpoly import Sm, Sp, Sx, Sy, Sz, adjoint, charge, from_expr, normal_order

TOL = 1e-12
LETTERS = ("p", "m", "z")
ORDER = {"p": 0, "z": 1, "m": 2}
NMAT = 3  # 8 x 8 matrices: every relation among Sp, Sm, Sz up to degree 4 is faithful enough


@functools.lru_cache(maxsize=None)
def mats(N: int) -> dict:
    o = local_ops(N)
    return {"p": o["Sp"], "m": o["Sm"], "z": o["Sz"], "x": o["Sx"], "y": o["Sy"]}


def word_matrix(word, N: int = NMAT) -> np.ndarray:
    out = np.eye(2**N, dtype=complex)
    for x in word:
        out = out @ mats(N)[x]
    return out


def poly_matrix(poly, N: int = NMAT, subs=None) -> np.ndarray:
    out = np.zeros((2**N, 2**N), dtype=complex)
    for w, c in poly.items():
        c = sympy.sympify(c)
        if subs:
            c = c.subs(subs)
        out = out + complex(c) * word_matrix(w, N)
    return out


def assert_close(got, want, what=""):
    err = float(np.abs(got - want).max())
    scale = max(1.0, float(np.abs(want).max()))
    assert err <= TOL * scale, f"{what}: max |got - want| = {err:.3e}"


def is_normal(word) -> bool:
    return all(ORDER[x] <= ORDER[y] for x, y in zip(word, word[1:]))


ALL_WORDS_4 = [w for n in range(5) for w in itertools.product(LETTERS, repeat=n)]


# ---------------------------------------------------------------- normal_order
@pytest.mark.parametrize("N", [1, 2, 3])
def test_normal_order_every_word_up_to_length_4(N):
    for word in ALL_WORDS_4:
        terms = normal_order(word)
        words = [w for w, _ in terms]
        assert len(set(words)) == len(words), word
        for w, c in terms:
            assert is_normal(w), (word, w)
            assert isinstance(c, int) and c != 0, (word, w, c)
            assert len(w) <= len(word) and charge(w) == charge(word), (word, w)
        got = sum((c * word_matrix(w, N) for w, c in terms), np.zeros((2**N, 2**N), dtype=complex))
        assert_close(got, word_matrix(word, N), str(word))


def test_normal_order_fixes_normal_words_and_known_cases():
    for word in ALL_WORDS_4:
        if is_normal(word):
            assert normal_order(word) == ((word, 1),)
    assert dict(normal_order(("m", "p"))) == {("p", "m"): 1, ("z",): -2}
    assert dict(normal_order(("z", "p"))) == {("p", "z"): 1, ("p",): 1}
    assert dict(normal_order(("m", "z"))) == {("z", "m"): 1, ("m",): 1}


@settings(max_examples=60, deadline=None, database=None)
@given(st.lists(st.sampled_from(LETTERS), min_size=5, max_size=7).map(tuple))
def test_normal_order_random_long_words(word):
    got = sum(c * word_matrix(w, 4) for w, c in normal_order(word))
    assert all(is_normal(w) for w, _ in normal_order(word))
    assert_close(got, word_matrix(word, 4), str(word))


# ---------------------------------------------------------------- charge
def test_charge_is_the_Sz_commutator_eigenvalue():
    Z = mats(NMAT)["z"]
    for word in ALL_WORDS_4:
        W = word_matrix(word)
        assert_close(Z @ W - W @ Z, charge(word) * W, str(word))


# ---------------------------------------------------------------- from_expr
_SYM = {"p": Sp, "m": Sm, "z": Sz, "x": Sx, "y": Sy}
_coef = st.builds(
    lambda a, b, c, d: sympy.Rational(a, b) + sympy.I * sympy.Rational(c, d),
    st.integers(-5, 5), st.integers(1, 4), st.integers(-5, 5), st.integers(1, 4),
)
_term = st.tuples(_coef, st.lists(st.sampled_from("xyzpm"), min_size=0, max_size=4))
_poly = st.lists(_term, min_size=1, max_size=5)


def _expr_and_matrix(terms, N=NMAT):
    expr = sympy.Integer(0)
    M = np.zeros((2**N, 2**N), dtype=complex)
    for c, letters in terms:
        expr = expr + c * sympy.Mul(*[_SYM[x] for x in letters])
        P = np.eye(2**N, dtype=complex)
        for x in letters:
            P = P @ mats(N)[x]
        M = M + complex(c) * P
    return expr, M


@pytest.mark.slow
@settings(max_examples=60, deadline=None, database=None)
@given(_poly)
def test_from_expr_random_polynomials(terms):
    expr, M = _expr_and_matrix(terms)
    poly = from_expr(expr)
    for w, c in poly.items():
        assert is_normal(w), w
        assert sympy.sympify(c) != 0
    assert_close(poly_matrix(poly), M, str(expr))


class _Mat:
    """A matrix where ``*`` is the operator product and ``**`` a matrix power, so that one
    lambda evaluates both on the sympy symbols and on explicit matrices."""

    def __init__(self, m):
        self.m = m

    @staticmethod
    def _of(o):
        return o.m if isinstance(o, _Mat) else o * np.eye(2**NMAT, dtype=complex)

    def __add__(self, o):
        return _Mat(self.m + self._of(o))

    __radd__ = __add__

    def __sub__(self, o):
        return _Mat(self.m - self._of(o))

    def __rsub__(self, o):
        return _Mat(self._of(o) - self.m)

    def __mul__(self, o):
        return _Mat(self.m @ o.m) if isinstance(o, _Mat) else _Mat(self.m * complex(o))

    def __rmul__(self, o):
        return _Mat(complex(o) * self.m)

    def __pow__(self, k):
        return _Mat(np.linalg.matrix_power(self.m, k))

    def __neg__(self):
        return _Mat(-self.m)


FIXED = {
    "Sx^2": lambda X, Y, Z, P, M: X**2,
    "Sy^2": lambda X, Y, Z, P, M: Y**2,
    "[Sx,Sy]": lambda X, Y, Z, P, M: X * Y - Y * X,
    "(Sx+Sz)^3": lambda X, Y, Z, P, M: (X + Z) ** 3,
    "(Sx+iSy)^2 Sz": lambda X, Y, Z, P, M: (X + 1j * Y) ** 2 * Z,
    "S^2": lambda X, Y, Z, P, M: X**2 + Y**2 + Z**2,
    "linear+Sz^2": lambda X, Y, Z, P, M: 2 * X + 3 * Z + 5 * Z**2 - 1,
    "SySxSzSy": lambda X, Y, Z, P, M: Y * X * Z * Y,
    "(Sp-Sm)^2+SzSpSm": lambda X, Y, Z, P, M: (P - M) ** 2 + Z * P * M,
    "SmSpSmSp": lambda X, Y, Z, P, M: M * P * M * P,
    "constant": lambda X, Y, Z, P, M: 7 + 0 * Z,
}


@pytest.mark.parametrize("name", list(FIXED))
def test_from_expr_fixed_expressions(name):
    f = FIXED[name]
    expr = f(Sx, Sy, Sz, Sp, Sm)
    m = mats(NMAT)
    want = f(*(_Mat(m[x]) for x in "xyzpm")).m
    poly = from_expr(sympy.nsimplify(expr))
    assert all(is_normal(w) for w in poly)
    assert_close(poly_matrix(poly), want, name)


def test_from_expr_with_symbolic_coefficients():
    g, h = sympy.symbols("g h", real=True)
    N = sympy.Symbol("N", positive=True, integer=True)
    expr = g * Sx**2 + h * Sy * Sz + (N / 2) * Sz + g * h * Sx * Sy * Sx
    poly = from_expr(expr)
    subs = {g: sympy.Rational(3, 7), h: sympy.Rational(-5, 3), N: NMAT}
    m = mats(NMAT)
    want = (subs[g] * m["x"] @ m["x"] + subs[h] * m["y"] @ m["z"] + (NMAT / 2) * m["z"]
            + float(subs[g] * subs[h]) * m["x"] @ m["y"] @ m["x"])
    assert_close(poly_matrix(poly, subs=subs), want.astype(complex))


@pytest.mark.parametrize("expr", [Sz**-1, sympy.sin(Sz), sympy.sqrt(Sx), Sz * sympy.exp(Sp)])
def test_from_expr_rejects_non_polynomials(expr):
    with pytest.raises(MalformedExpressionError):
        from_expr(expr)


# ---------------------------------------------------------------- adjoint
@pytest.mark.slow
@settings(max_examples=60, deadline=None, database=None)
@given(_poly)
def test_adjoint_is_conjugate_transpose(terms):
    expr, M = _expr_and_matrix(terms)
    poly = from_expr(expr)
    adj = adjoint(poly)
    assert all(is_normal(w) for w in adj)
    assert_close(poly_matrix(adj), M.conj().T, str(expr))
    # involution, as polynomials (normal forms are unique)
    back = adjoint(adj)
    assert set(back) == set(poly)
    assert all(sympy.simplify(back[w] - poly[w]) == 0 for w in poly)


def test_adjoint_of_raw_words():
    for word in ALL_WORDS_4:
        adj = adjoint({word: sympy.Integer(1) + 2 * sympy.I})
        assert_close(poly_matrix(adj), (1 - 2j) * word_matrix(word).conj().T, str(word))


def test_hermitian_polynomials_are_self_adjoint():
    for text_expr in [Sx**2 + Sy * Sz + Sz * Sy, Sp * Sm + Sm * Sp, Sx * Sy * Sx]:
        poly = from_expr(text_expr)
        adj = adjoint(poly)
        assert set(adj) == set(poly)
        assert all(sympy.expand(adj[w] - poly[w]) == 0 for w in poly)


def test_word_to_expr_roundtrip():
    for word in ALL_WORDS_4:
        poly = from_expr(spinpoly.word_to_expr(word))
        want = dict(normal_order(word))
        assert set(poly) == set(want), word
        assert all(sympy.expand(poly[w] - c) == 0 for w, c in want.items()), word
        assert_close(poly_matrix(poly), word_matrix(word), str(word))
