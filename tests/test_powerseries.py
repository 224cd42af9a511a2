"""Truncated power series (``symsteady.powerseries``): the arithmetic of the consistent order-K
expansion, against sympy's series of known functions and as exact identities in the rationals."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from symsteady.powerseries import PowerSeries

x = sympy.Symbol("x")
K = 8


def taylor(expr: sympy.Expr, order: int = K) -> list[sympy.Rational]:
    poly = sympy.series(expr, x, 0, order + 1).removeO()
    return [sympy.Rational(poly.coeff(x, k)) for k in range(order + 1)]


def series_of(expr: sympy.Expr, order: int = K) -> PowerSeries:
    return PowerSeries(taylor(expr, order))


@pytest.mark.parametrize("f,g", [(1 + x + x**2, 1 / (1 - 2 * x)), (sympy.exp(x), sympy.cos(3 * x)),
                                 (1 / (1 + x) ** 2, 1 + x**5)])
def test_product_quotient_and_sum(f, g):
    F, G = series_of(f), series_of(g)
    assert (F * G).c == taylor(f * g)
    assert (F / G).c == taylor(f / g)
    assert (F + G).c == taylor(f + g) and (F - G).c == taylor(f - g)
    assert (2 * F).c == taylor(2 * f) and (F / 4).c == taylor(f / 4)
    assert (1 - F).c == taylor(1 - f) and (3 / G).c == taylor(3 / g)


@pytest.mark.parametrize("f", [1 + x, 4 - x + 3 * x**3, sympy.exp(2 * x)])
def test_inverse_and_square_root(f):
    F = series_of(f)
    assert F.inverse().c == taylor(1 / f)
    root0 = sympy.sqrt(f.subs(x, 0))
    assert [sympy.nsimplify(c) for c in F.sqrt(root0).c] == taylor(sympy.sqrt(f))


def test_truncation_follows_the_shorter_series():
    """A product is only known to the lower of the two orders."""
    a, b = PowerSeries([1, 2, 3, 4]), PowerSeries([1, 1])
    assert (a * b).c == [1, 3] and (a * b).order == 1
    assert (a + 1).c == [2, 2, 3, 4]


def test_at_is_the_truncated_polynomial():
    assert PowerSeries([1, -2, 3]).at(Fraction(1, 2)) == 1 - 1 + Fraction(3, 4)
    assert PowerSeries([5]).at(10) == 5


def test_map_applies_to_each_coefficient():
    assert PowerSeries([1, 2]).map(lambda c: c * 10).c == [10, 20]


rationals = st.fractions(min_value=-5, max_value=5, max_denominator=20)


@settings(max_examples=60, deadline=None)
@given(st.lists(rationals, min_size=2, max_size=7), st.lists(rationals, min_size=2, max_size=7))
def test_identities_in_the_rationals(a, b):
    """(a b) / b = a, a · a⁻¹ = 1, sqrt(a²) = ±a to the common order (exact arithmetic)."""
    a[0] = a[0] if a[0] else Fraction(1)
    b[0] = b[0] if b[0] else Fraction(2)
    A, B = PowerSeries(a), PowerSeries(b)
    n = min(A.order, B.order) + 1
    assert ((A * B) / B).c == A.c[:n]
    one = A * A.inverse()
    assert one.c == [1] + [0] * A.order
    square = A * A
    root = square.sqrt(abs(a[0]))
    sign = 1 if a[0] > 0 else -1
    assert root.c == [sign * c for c in A.c]
