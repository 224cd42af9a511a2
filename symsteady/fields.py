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


_SCALARS = (int, Gaussian, FracElement)


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
        big = [[None] * (2 * n) for _ in range(2 * n)]
        for i in range(n):
            for j in range(n):
                x = rows[i][j]
                big[i][j] = big[i + n][j + n] = x.re
                big[i][j + n] = -x.im
                big[i + n][j] = x.im
        return DomainMatrix(big, (2 * n, 2 * n), self.real_domain)

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
