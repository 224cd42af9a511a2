"""Expressions in the form that generated code and LaTeX use: factored, and readable.

``tidy`` writes a rational function as ``c · Π f_i^{e_i}`` with factored numerator and
denominator, and every multi-term factor as a polynomial in its best variable with factored
coefficients — e.g. ``16 (J - Jz)² (N - 2)² + N² γ²`` rather than its 10-term expansion. The
form is shorter (fewer operations after CSE) and loses fewer digits in double precision:
differences such as ``J - Jz`` and ``N - 2`` are taken before they are squared and multiplied
by large powers of N. Nothing here changes the value of an expression.
"""

from __future__ import annotations

from functools import lru_cache

import sympy

#: depth of the "collect in the best variable, factor the coefficients" rewriting
COLLECT_DEPTH = 2


def _factor_pairs(expr: sympy.Expr) -> tuple[sympy.Expr, list[tuple[sympy.Expr, int]]]:
    """(numeric coefficient, [(factor, exponent)]) of a factored polynomial expression."""
    coeff = sympy.Integer(1)
    pairs: list[tuple[sympy.Expr, int]] = []
    for arg in sympy.Mul.make_args(sympy.factor(expr)):
        base, exp = arg.as_base_exp()
        if base.is_number and exp.is_number:
            coeff *= arg
        else:
            pairs.append((base, int(exp)))
    return coeff, pairs


@lru_cache(maxsize=4096)
def collect_best(poly: sympy.Expr, depth: int = COLLECT_DEPTH) -> sympy.Expr:
    """A multi-term polynomial as ``Σ_k factor(coeff_k) v^k`` for the variable v giving the
    fewest operations (or unchanged when no variable helps)."""
    poly = sympy.expand(poly)
    if not isinstance(poly, sympy.Add) or depth <= 0:
        return poly
    best, best_ops = poly, sympy.count_ops(poly)
    for v in sorted(poly.free_symbols, key=lambda s: s.name):
        try:
            coeffs = sympy.Poly(poly, v).all_coeffs()[::-1]
        except sympy.PolynomialError:
            continue
        terms = [tidy_product(c, depth - 1) * v**k for k, c in enumerate(coeffs) if c != 0]
        candidate = sympy.Add(*terms)
        ops = sympy.count_ops(candidate)
        if ops < best_ops:
            best, best_ops = candidate, ops
    return best


def tidy_product(expr: sympy.Expr, depth: int = COLLECT_DEPTH) -> sympy.Expr:
    """A polynomial factored, each multi-term factor rewritten by :func:`collect_best`."""
    coeff, pairs = _factor_pairs(expr)
    factors = [(collect_best(base, depth) if isinstance(base, sympy.Add) else base) ** exp
               for base, exp in pairs]
    return sympy.Mul(coeff, *factors)


@lru_cache(maxsize=4096)
def tidy(expr: sympy.Expr) -> sympy.Expr:
    """Factored, readable, value-preserving form of a rational function (possibly complex)."""
    expr = sympy.sympify(expr)
    if expr.is_number:
        return sympy.nsimplify(expr) if expr.is_Float else expr
    num, den = sympy.fraction(sympy.cancel(sympy.together(expr)))
    return tidy_product(num) / tidy_product(den)


def real_imag(expr: sympy.Expr) -> tuple[sympy.Expr, sympy.Expr]:
    """Real and imaginary parts of a rational function of real symbols (conjugation flips I)."""
    conj = expr.xreplace({sympy.I: -sympy.I})
    re = sympy.cancel((expr + conj) / 2)
    im = sympy.cancel((expr - conj) / (2 * sympy.I))
    if re.has(sympy.I) or im.has(sympy.I):  # pragma: no cover - guards an impossible case
        raise ValueError(f"could not separate real and imaginary parts of {expr}")
    return re, im


def lambda_coefficients(expr: sympy.Expr, lam: sympy.Symbol) -> list[sympy.Expr]:
    """Coefficients of λ^0, λ^1, … of a polynomial in λ (rational functions of the rest)."""
    expr = sympy.sympify(expr)
    if lam not in expr.free_symbols:
        return [expr]
    poly = sympy.Poly(expr, lam)
    return [poly.coeff_monomial(lam**k) for k in range(poly.degree() + 1)]


def tidy_series(expr: sympy.Expr, lam: sympy.Symbol, formal: bool) -> sympy.Expr:
    """``Σ_k tidy(c_k) λ^k``; with a formal λ (set to 1) the sum ``Σ_k tidy(c_k)``."""
    terms = [tidy(c) * (1 if formal else lam**k)
             for k, c in enumerate(lambda_coefficients(expr, lam)) if c != 0]
    return sympy.Add(*terms)
