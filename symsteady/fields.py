"""Arithmetic backends: where the coefficients of operators and series live.

The same recursion runs on every backend:

* :class:`DomainField` with symbols — closed forms, symbolic in N and couplings: pairs of
  canonical rational functions in ``QQ(N, params)`` (no simplification inside the recursion);
* :class:`DomainField` over ``QQ_I`` — exact Gaussian rationals at a numeric point;
* :class:`ComplexField` — double precision at a numeric point.

``N`` is the field element standing for the emitter number; ``n_int`` is its integer value
when known (then orbit elements that do not exist at that N are dropped).

sympy's domains ``QQ``, ``QQ_I`` and the fraction fields run on python-flint's ``fmpz``/``fmpq``
when python-flint is installed (sympy picks it up by itself; a dependency of symsteady for
that reason: a three-process order-2 derivation takes 5 s instead of 275 s).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import sympy
from sympy.polys.domains import QQ, QQ_I
from sympy.polys.fields import FracElement
from sympy.polys.polyerrors import CoercionFailed
from sympy.polys.matrices import DomainMatrix
from sympy.polys.matrices.exceptions import DMNonInvertibleMatrixError

from .errors import MalformedExpressionError

Elem = Any


class SingularBlock(Exception):
    """Raised by ``Field.inverse`` for a singular matrix."""


class Field:
    """Interface of an arithmetic backend (see module docstring)."""

    N: Elem
    n_int: int | None
    symbolic: bool = False

    @property
    def zero(self) -> Elem:
        return self.convert(0)

    @property
    def one(self) -> Elem:
        return self.convert(1)

    def convert(self, value: Any) -> Elem:  # pragma: no cover - interface
        raise NotImplementedError

    def inverse(self, rows: list[list[Elem]]) -> list[list[Elem]]:  # pragma: no cover
        raise NotImplementedError

    def conj(self, x: Elem) -> Elem:  # pragma: no cover
        raise NotImplementedError

    def is_zero(self, x: Elem) -> bool:  # pragma: no cover
        raise NotImplementedError

    def to_sympy(self, x: Elem) -> sympy.Expr:  # pragma: no cover
        raise NotImplementedError

    def binomial(self, a: int) -> Elem:
        """C(N, a) as a field element (a polynomial in N when N is symbolic)."""
        if self.n_int is not None:
            return self.convert(math.comb(self.n_int, a))
        out = self.one
        for i in range(a):
            out = out * (self.N - i)
        return out / math.factorial(a)


class Gaussian:
    """``re + i im`` with re, im in a real field (here ``QQ(N, params)``).

    Keeping the real and imaginary parts apart lets every gcd run over the rationals, which
    sympy does far faster than over the Gaussian rationals.
    """

    __slots__ = ("re", "im")

    def __init__(self, re, im):
        self.re, self.im = re, im

    def _lift(self, other):
        return other if isinstance(other, Gaussian) else Gaussian(other, 0 * self.re)

    def __add__(self, other):
        if not isinstance(other, _SCALARS):
            return NotImplemented
        o = self._lift(other)
        return Gaussian(self.re + o.re, self.im + o.im)

    __radd__ = __add__

    def __sub__(self, other):
        if not isinstance(other, _SCALARS):
            return NotImplemented
        o = self._lift(other)
        return Gaussian(self.re - o.re, self.im - o.im)

    def __rsub__(self, other):
        if not isinstance(other, _SCALARS):
            return NotImplemented
        return self._lift(other) - self

    def __neg__(self):
        return Gaussian(-self.re, -self.im)

    def __mul__(self, other):
        if not isinstance(other, _SCALARS):
            return NotImplemented
        if not isinstance(other, Gaussian):
            return Gaussian(self.re * other, self.im * other)
        return Gaussian(self.re * other.re - self.im * other.im, self.re * other.im + self.im * other.re)

    __rmul__ = __mul__

    def __truediv__(self, other):
        if not isinstance(other, _SCALARS):
            return NotImplemented
        if not isinstance(other, Gaussian):
            return Gaussian(self.re / other, self.im / other)
        if not other.im:
            return Gaussian(self.re / other.re, self.im / other.re)
        norm = other.re * other.re + other.im * other.im
        return Gaussian((self.re * other.re + self.im * other.im) / norm,
                        (self.im * other.re - self.re * other.im) / norm)

    def __rtruediv__(self, other):
        if not isinstance(other, _SCALARS):
            return NotImplemented
        return self._lift(other) / self

    def __bool__(self):
        return bool(self.re) or bool(self.im)

    def __eq__(self, other):
        o = self._lift(other)
        return self.re == o.re and self.im == o.im

    __hash__ = None  # type: ignore[assignment]

    def conjugate(self) -> "Gaussian":
        return Gaussian(self.re, -self.im)


_SCALARS: tuple[type, ...] = (int, Gaussian, FracElement)


class DomainField(Field):
    """Exact arithmetic: symbolic in ``N, params`` (Gaussian pairs over ``QQ(N, params)``) or,
    at a numeric point, in the Gaussian rationals ``QQ_I``."""

    def __init__(self, symbols: Sequence[sympy.Symbol] = (), n: int | sympy.Symbol | None = None):
        self.symbols = tuple(symbols)
        self.symbolic = bool(self.symbols)
        self.real_domain = QQ.frac_field(*self.symbols) if self.symbolic else None
        self.n_int = int(n) if isinstance(n, (int, sympy.Integer)) else None
        self.N = self.convert(n if n is not None else 0)

    def convert(self, value: Any) -> Elem:
        if isinstance(value, int):
            return Gaussian(self.real_domain(value), self.real_domain(0)) if self.symbolic else QQ_I(value)
        value = sympy.sympify(value)
        if not self.symbolic:
            return QQ_I.from_sympy(value)
        re, im = sympy.expand_complex(value).as_real_imag()
        try:
            return Gaussian(self.real_domain.from_sympy(re), self.real_domain.from_sympy(im))
        except CoercionFailed:
            raise MalformedExpressionError(
                f"coefficient {value} is not a rational function of {', '.join(map(str, self.symbols))}"
            ) from None

    def _real_form(self, rows: list[list[Elem]]) -> DomainMatrix:
        """The real 2n x 2n matrix [[A, -B], [B, A]] of A + iB."""
        n = len(rows)
        return DomainMatrix(real_block(rows), (2 * n, 2 * n), self.real_domain)

    def inverse(self, rows: list[list[Elem]]) -> list[list[Elem]]:
        n = len(rows)
        try:
            if self.symbolic:
                inv = self._real_form(rows).inv().to_list()
                return [[Gaussian(inv[i][j], inv[i + n][j]) for j in range(n)] for i in range(n)]
            return DomainMatrix(rows, (n, n), QQ_I).to_field().inv().to_list()
        except (DMNonInvertibleMatrixError, ZeroDivisionError) as exc:
            raise SingularBlock() from exc

    def determinant(self, rows: list[list[Elem]]) -> sympy.Expr:
        """|det|^2 of the block, as a sympy expression (symbolic fields only)."""
        return self.real_domain.to_sympy(self._real_form(rows).det())

    def conj(self, x: Elem) -> Elem:
        if self.symbolic:
            return x.conjugate()
        return QQ_I(x.x, -x.y)

    def is_zero(self, x: Elem) -> bool:
        return not x

    def to_sympy(self, x: Elem) -> sympy.Expr:
        if self.symbolic:
            return self.real_domain.to_sympy(x.re) + sympy.I * self.real_domain.to_sympy(x.im)
        return QQ_I.to_sympy(x)


class ComplexField(Field):
    """Double-precision complex numbers at a numeric point (integer N)."""

    def __init__(self, n: int):
        self.n_int = int(n)
        self.N = self.n_int

    def convert(self, value: Any) -> Elem:
        return complex(value)

    def inverse(self, rows: list[list[Elem]]) -> list[list[Elem]]:
        m = np.array(rows, dtype=complex)
        if np.linalg.cond(m) > 1e13:
            raise SingularBlock()
        return np.linalg.inv(m).tolist()

    def conj(self, x: Elem) -> Elem:
        return x.conjugate()

    def is_zero(self, x: Elem) -> bool:
        return x == 0

    def to_sympy(self, x: Elem) -> sympy.Expr:
        return sympy.sympify(x)


class BallField(Field):
    """Complex balls (python-flint ``acb``) at a numeric point: midpoint and certified radius,
    at the working precision of ``flint.ctx`` (set it with ``flint.ctx.workprec``). Exponents
    are unbounded, so the plain orbit basis needs no scaling; the radius of a result bounds
    its rounding error, cancellation included."""

    def __init__(self, n: int):
        import flint

        self._flint = flint
        self.n_int = int(n)
        self.N = flint.acb(self.n_int)

    def convert(self, value: Any) -> Elem:
        acb, fmpq = self._flint.acb, self._flint.fmpq
        if isinstance(value, int):
            return acb(value)
        q = QQ_I.from_sympy(sympy.sympify(value))
        return acb(fmpq(int(q.x.numerator), int(q.x.denominator)), fmpq(int(q.y.numerator), int(q.y.denominator)))

    def inverse(self, rows: list[list[Elem]]) -> list[list[Elem]]:
        n = len(rows)
        try:
            inv = self._flint.acb_mat(rows).inv()
        except ZeroDivisionError as exc:
            raise SingularBlock() from exc
        return [[inv[i, j] for j in range(n)] for i in range(n)]

    def conj(self, x: Elem) -> Elem:
        return x.conjugate()

    def is_zero(self, x: Elem) -> bool:
        return x == 0

    def to_sympy(self, x: Elem) -> sympy.Expr:
        return sympy.Float(float(x.real.mid())) + sympy.I * sympy.Float(float(x.imag.mid()))


def real_block(rows: list[list[Gaussian]]) -> list[list[Any]]:
    """The real 2n x 2n block ``[[A, -B], [B, A]]`` of the complex matrix ``A + iB`` (Gaussian
    pairs): inverses and determinants run over the real field."""
    n = len(rows)
    big: list[list[Any]] = [[None] * (2 * n) for _ in range(2 * n)]
    for i in range(n):
        for j in range(n):
            x = rows[i][j]
            big[i][j] = big[i + n][j + n] = x.re
            big[i][j + n] = -x.im
            big[i + n][j] = x.im
    return big


class FlintFraction:
    """A rational function of several variables over QQ: ``num / den`` with python-flint
    ``fmpz_mpoly`` integer polynomials, coprime, ``den`` with a positive leading coefficient
    (python-flint has multivariate polynomials but no rational-function type of its own).

    FLINT's multivariate gcd makes the canonical form cheap where sympy's pure-Python
    fraction field spends most of a symbolic derivation in gcds (``bench/derive.py``: order 3
    of xyz 40 s -> a few seconds). Products cancel crosswise (``gcd(n1, d2)``, ``gcd(n2, d1)``)
    and sums over a common denominator divide by the gcd of the denominators first, so no
    gcd is taken of anything larger than it must be.
    """

    __slots__ = ("num", "den")

    def __init__(self, num, den, reduced: bool = False):
        if not reduced:
            if den.is_zero():
                raise ZeroDivisionError("rational function with zero denominator")
            g = num.gcd(den)
            if not g.is_one():
                num, den = num / g, den / g
            if den.leading_coefficient() < 0:
                num, den = -num, -den
        self.num, self.den = num, den

    def _new(self, num, den, reduced: bool = False) -> "FlintFraction":
        return FlintFraction(num, den, reduced)

    def _lift(self, other):
        if isinstance(other, FlintFraction):
            return other
        if isinstance(other, int):
            ctx = self.num.context()
            return FlintFraction(ctx.from_dict({(0,) * ctx.nvars(): other}) if other else ctx.from_dict({}),
                                 ctx.from_dict({(0,) * ctx.nvars(): 1}), reduced=True)
        return NotImplemented

    def __add__(self, other):
        o = self._lift(other)
        if o is NotImplemented:
            return NotImplemented
        if o.num.is_zero():
            return self
        if self.num.is_zero():
            return o
        if self.den == o.den:
            return self._new(self.num + o.num, self.den)
        g = self.den.gcd(o.den)
        if g.is_one():
            return self._new(self.num * o.den + o.num * self.den, self.den * o.den, reduced=True)
        d1, d2 = self.den / g, o.den / g
        num = self.num * d2 + o.num * d1
        h = num.gcd(g)
        if not h.is_one():
            num, g = num / h, g / h
        return self._new(num, d1 * d2 * g, reduced=True)

    __radd__ = __add__

    def __neg__(self):
        return self._new(-self.num, self.den, reduced=True)

    def __sub__(self, other):
        o = self._lift(other)
        if o is NotImplemented:
            return NotImplemented
        return self + (-o)

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, other):
        o = self._lift(other)
        if o is NotImplemented:
            return NotImplemented
        if self.num.is_zero() or o.num.is_zero():
            return self._lift(0)
        g1, g2 = self.num.gcd(o.den), o.num.gcd(self.den)
        n1, d2 = (self.num / g1, o.den / g1) if not g1.is_one() else (self.num, o.den)
        n2, d1 = (o.num / g2, self.den / g2) if not g2.is_one() else (o.num, self.den)
        return self._new(n1 * n2, d1 * d2, reduced=True)

    __rmul__ = __mul__

    def inverse(self) -> "FlintFraction":
        if self.num.is_zero():
            raise ZeroDivisionError("inverse of a zero rational function")
        num, den = self.den, self.num
        if den.leading_coefficient() < 0:
            num, den = -num, -den
        return self._new(num, den, reduced=True)

    def __truediv__(self, other):
        o = self._lift(other)
        if o is NotImplemented:
            return NotImplemented
        return self * o.inverse()

    def __rtruediv__(self, other):
        return self.inverse() * other

    def __bool__(self):
        return not self.num.is_zero()

    def __eq__(self, other):
        o = self._lift(other)
        if o is NotImplemented:
            return NotImplemented
        return self.num == o.num and self.den == o.den

    __hash__ = None  # type: ignore[assignment]


class FlintField(DomainField):
    """The symbolic field of :class:`DomainField` (Gaussian pairs, real and imaginary parts
    apart) with the real parts as :class:`FlintFraction` in ``QQ(N, params)``."""

    def __init__(self, symbols: Sequence[sympy.Symbol] = (), n: int | sympy.Symbol | None = None):
        import flint

        self.symbols = tuple(symbols)
        self.symbolic = True
        self.real_domain = None
        self._ctx = flint.fmpz_mpoly_ctx.get(tuple(s.name for s in self.symbols), "degrevlex")
        self._one = self._ctx.from_dict({(0,) * len(self.symbols): 1})
        from sympy.polys.rings import ring

        self._ring = ring(self.symbols, sympy.ZZ)[0]  # builds sympy expressions 3x faster than Add/Mul
        self.n_int = int(n) if isinstance(n, (int, sympy.Integer)) else None
        self.N = self.convert(n if n is not None else 0)

    def _poly(self, expr: sympy.Expr):
        """An integer-coefficient fmpz_mpoly and its integer denominator, from a sympy polynomial."""
        poly = sympy.Poly(expr, *self.symbols, domain="QQ")
        terms = poly.terms()
        den = 1
        for _, c in terms:
            den = sympy.ilcm(den, sympy.Rational(c).q)
        return self._ctx.from_dict({m: int(sympy.Rational(c) * den) for m, c in terms}), int(den)

    def _real(self, expr: sympy.Expr) -> FlintFraction:
        if expr == 0:
            return FlintFraction(self._ctx.from_dict({}), self._one, reduced=True)
        num, den = sympy.fraction(sympy.together(expr))
        try:
            pn, cn = self._poly(sympy.expand(num))
            pd, cd = self._poly(sympy.expand(den))
        except sympy.PolynomialError:
            raise MalformedExpressionError(
                f"coefficient {expr} is not a rational function of {', '.join(map(str, self.symbols))}"
            ) from None
        return FlintFraction(pn * cd, pd * cn)

    def convert(self, value: Any) -> Elem:
        if isinstance(value, int):
            zero = FlintFraction(self._ctx.from_dict({}), self._one, reduced=True)
            return Gaussian(zero._lift(value), zero)
        value = sympy.sympify(value)
        re, im = sympy.expand_complex(value).as_real_imag()
        return Gaussian(self._real(re), self._real(im))

    def inverse(self, rows: list[list[Elem]]) -> list[list[Elem]]:
        n = len(rows)
        try:
            inv = _gauss_jordan(real_block(rows))
        except ZeroDivisionError as exc:
            raise SingularBlock() from exc
        return [[Gaussian(inv[i][j], inv[i + n][j]) for j in range(n)] for i in range(n)]

    def determinant_factors(self, rows: list[list[Elem]]) -> list[sympy.Expr]:
        """The non-constant irreducible factors (as sympy expressions) of |det|² of a block."""
        det = _determinant(real_block(rows))
        out = []
        for part in (det.num, det.den):
            for factor, _ in part.factor()[1]:
                out.append(self._to_sympy_poly(factor))
        return out

    def determinant(self, rows: list[list[Elem]]) -> sympy.Expr:
        det = _determinant(real_block(rows))
        return self._to_sympy_poly(det.num) / self._to_sympy_poly(det.den)

    def _to_sympy_poly(self, p) -> sympy.Expr:
        return self._ring.from_dict({m: int(c) for m, c in p.to_dict().items()}).as_expr()

    def conj(self, x: Elem) -> Elem:
        return x.conjugate()

    def _factor(self, poly) -> tuple[sympy.Rational, list[tuple[sympy.Expr, int]]]:
        content, factors = poly.factor()
        return sympy.Rational(int(content)), [(self._to_sympy_poly(f), int(e)) for f, e in factors]

    def polynomial(self, expr: sympy.Expr) -> tuple[Any, int]:
        """A sympy polynomial (rational coefficients, this field's symbols) as an integer
        ``fmpz_mpoly`` and the integer it was multiplied by."""
        return self._poly(expr)

    def from_terms(self, terms: dict[tuple[int, ...], int]) -> Any:
        """The ``fmpz_mpoly`` with these ``{exponents: coefficient}`` terms."""
        return self._ctx.from_dict(terms)

    def sympy_polynomial(self, p: Any) -> sympy.Expr:
        """An ``fmpz_mpoly`` as a (expanded) sympy expression."""
        return self._to_sympy_poly(p)

    def factored(self, x: Elem) -> sympy.Expr:
        """``re + I im`` with each part factored over QQ by FLINT (sympy would factor the sum
        over QQ(i), minutes for an order-3 closed form)."""
        def part(f: FlintFraction) -> sympy.Expr:
            out = sympy.Integer(1)
            for poly, power in ((f.num, 1), (f.den, -1)):
                content, factors = self._factor(poly)
                out *= content ** power
                for factor, e in factors:
                    out *= factor ** (e * power)
            return out if f.num else sympy.Integer(0)
        return part(x.re) + sympy.I * part(x.im)

    def to_sympy(self, x: Elem) -> sympy.Expr:
        def real(f: FlintFraction) -> sympy.Expr:
            return self._to_sympy_poly(f.num) / self._to_sympy_poly(f.den)
        return real(x.re) + sympy.I * real(x.im)


def _gauss_jordan(m: list[list[Any]]) -> list[list[Any]]:
    """Inverse by Gauss–Jordan elimination (any exact field; the first nonzero pivot)."""
    n = len(m)
    a = [list(row) + [1 if i == j else 0 for j in range(n)] for i, row in enumerate(m)]
    for col in range(n):
        piv = next((r for r in range(col, n) if a[r][col]), None)
        if piv is None:
            raise ZeroDivisionError("singular block")
        a[col], a[piv] = a[piv], a[col]
        inv = 1 / a[col][col]
        a[col] = [x * inv if x else x for x in a[col]]
        for r in range(n):
            f = a[r][col]
            if r != col and f:
                a[r] = [x - f * y if y else x for x, y in zip(a[r], a[col])]
    return [row[n:] for row in a]


def _determinant(m: list[list[Any]]) -> Any:
    """Determinant by elimination (any exact field)."""
    n = len(m)
    a = [list(row) for row in m]
    det: Any = 1
    for col in range(n):
        piv = next((r for r in range(col, n) if a[r][col]), None)
        if piv is None:
            return a[0][0] * 0
        if piv != col:
            a[col], a[piv] = a[piv], a[col]
            det = -det
        p = a[col][col]
        det = p * det
        for r in range(col + 1, n):
            f = a[r][col]
            if f:
                q = f / p
                a[r] = [x - q * y for x, y in zip(a[r], a[col])]
    return det


_SCALARS = (*_SCALARS, FlintFraction)
