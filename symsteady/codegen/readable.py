"""Readable forms of closed-form coefficients, shared by ``derive``'s output
(:mod:`symsteady.codegen.display`) and the LaTeX document (:mod:`symsteady.codegen.latex`).

A coefficient arrives factored by FLINT (real and imaginary parts apart,
:meth:`symsteady.fields.FlintField.factored`); :class:`Rewriter` writes each multi-term
numerator factor as a polynomial in its best variable with factored coefficients (or split
into its Hamiltonian and rate terms), names every multi-term denominator factor in two or more symbols ``D1, D2, …``
(defined once: the factors are irreducible, so no name is a product of others) and puts the
real and imaginary parts over one denominator when they share it.
"""

from __future__ import annotations

import sympy

from ..derivation import Derivation
from ..fields import FlintField
from ..model import N

#: depth of "collect in the best variable, factor the coefficients" (as in codegen.tidy)
COLLECT_DEPTH = 2


def product(coeff: sympy.Expr, factors: list[sympy.Expr]) -> sympy.Expr:
    """``coeff * Π factors`` without sympy distributing a number over a single sum."""
    rest = sympy.Mul(*factors)
    if coeff not in (1, -1) and isinstance(rest, sympy.Add):
        return sympy.Mul(coeff, rest, evaluate=False)
    return sympy.Mul(coeff, rest)


class Rewriter:
    """Readable forms: polynomials collected in their best variable with coefficients factored
    by FLINT (:meth:`symsteady.fields.FlintField.factor_polynomial`), multi-term denominator
    factors named ``D1, D2, …`` in order of first appearance."""

    def __init__(self, symbols: tuple[sympy.Symbol, ...], groups: tuple[frozenset, ...] = ()):
        self.F = FlintField(symbols)
        self.groups = groups  # variable sets: a polynomial may split into terms with / without them
        self.table: dict[sympy.Expr, sympy.Symbol] = {}
        self.definitions: dict[sympy.Symbol, sympy.Expr] = {}
        self._cache: dict[tuple[str, int], sympy.Expr] = {}

    def name(self, base: sympy.Expr) -> sympy.Expr:
        """``D_i`` for a multi-term denominator factor in two or more symbols (defined once);
        other bases (``gamma``, ``N - 1``) are written out."""
        if not isinstance(base, sympy.Add) or len(base.free_symbols) < 2:
            return base
        if base not in self.table:
            symbol = sympy.Symbol(f"D{len(self.table) + 1}", positive=True)
            self.table[base] = symbol
            self.definitions[symbol] = self.collect(base)
        return self.table[base]

    def factor(self, poly: sympy.Expr) -> sympy.Expr:
        """A sympy polynomial factored, each multi-term factor collected (:meth:`collect`)."""
        if not isinstance(poly, sympy.Add):
            return poly
        p, den = self.F.polynomial(poly)
        return self._factor(p, COLLECT_DEPTH, den)

    def collect(self, poly: sympy.Expr) -> sympy.Expr:
        """A sympy polynomial collected (:meth:`_collect`)."""
        if not isinstance(poly, sympy.Add):
            return poly
        p, den = self.F.polynomial(poly)
        return self._collect(p, COLLECT_DEPTH) / den

    def _factor(self, p, depth: int, den: int = 1) -> sympy.Expr:
        content, pairs = p.factor()
        return product(sympy.Rational(int(content), den), [self._collect(f, depth) ** int(e) for f, e in pairs])

    def _collect(self, p, depth: int) -> sympy.Expr:
        """``Σ_k factor(c_k) v^k`` for the variable v giving the shortest text, or the sum split
        into its terms with and without a group of variables, each factored (or the expanded
        polynomial when nothing helps). All on FLINT polynomials."""
        terms = p.to_dict()
        key = (str(p), depth)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        best = self.F.sympy_polynomial(p)
        if len(terms) > 1 and depth > 0:
            best_len = len(sympy.sstr(best))
            candidates = []
            for i, v in enumerate(self.F.symbols):
                by_power: dict[int, dict[tuple[int, ...], int]] = {}
                for exps, c in terms.items():
                    rest = exps[:i] + (0,) + exps[i + 1:]
                    by_power.setdefault(exps[i], {})[rest] = int(c)
                if len(by_power) > 1:
                    candidates.append(lambda b=by_power, v=v: sympy.Add(*[
                        product(1, [self._factor(self.F.from_terms(t), depth - 1), v**k]) for k, t in b.items()]))
            for group in self.groups:
                index = [i for i, s in enumerate(self.F.symbols) if s in group]
                inside = {e: int(c) for e, c in terms.items() if any(e[i] for i in index)}
                if 0 < len(inside) < len(terms):
                    outside = {e: int(c) for e, c in terms.items() if e not in inside}
                    candidates.append(lambda a=inside, b=outside: self._factor(self.F.from_terms(a), depth - 1)
                                      + self._factor(self.F.from_terms(b), depth - 1))
            for make in candidates:
                candidate = make()
                length = len(sympy.sstr(candidate))
                if length < best_len:
                    best, best_len = candidate, length
        self._cache[key] = best
        return best

    def part(self, part: sympy.Expr) -> sympy.Expr:
        """A factored real rational function: numerator factors collected, denominators named."""
        num, den = sympy.fraction(part)
        coeff, factors = sympy.Integer(1), []
        for f in sympy.Mul.make_args(num):
            base, exp = f.as_base_exp()
            if base.is_number:
                coeff *= f
            else:
                factors.append(self.factor(base) ** exp)
        for f in sympy.Mul.make_args(den):
            base, exp = f.as_base_exp()
            if base.is_number:
                coeff /= f
            else:
                factors.append(self.name(base) ** -exp)
        return product(coeff, factors)

    def __call__(self, expr: sympy.Expr) -> sympy.Expr:
        """``re + I im`` of a factored coefficient, each part readable."""
        re_terms, im_terms = [], []
        for term in sympy.Add.make_args(expr):
            (im_terms if term.has(sympy.I) else re_terms).append(term)
        re = self.part(sympy.Add(*re_terms))
        im = self.part(sympy.expand(sympy.Add(*im_terms) / sympy.I) if len(im_terms) > 1
                       else sympy.Add(*im_terms) / sympy.I)
        if im == 0:
            return re
        im_part = sympy.Mul(sympy.I, im, evaluate=False) if isinstance(im, sympy.Add) else sympy.I * im
        if re == 0:
            return im_part
        (re_num, re_den), (im_num, im_den) = sympy.fraction(re), sympy.fraction(im)
        if re_den == im_den:  # one fraction: (re + i im) / den, common factors taken out
            num = sympy.factor_terms(re_num + sympy.I * im_num)
            coeff, rest = num.as_coeff_Mul() if isinstance(num, sympy.Mul) else (sympy.Integer(1), num)
            return product(coeff, [rest, 1 / re_den])
        return re + im_part


def rewriter(d: Derivation) -> Rewriter:
    """The :class:`Rewriter` of a derivation: its symbols, and sums split into the terms with
    Hamiltonian parameters and those with rates."""
    model = d.model
    in_h = frozenset(model.hamiltonian.free_symbols) - {N, d.lam}
    in_rates = frozenset().union(*(r.free_symbols for r in model.rates.values())) - {N}
    return Rewriter((N, *d.parameters), (in_h, in_rates))
