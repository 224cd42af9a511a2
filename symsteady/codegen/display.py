"""Readable closed forms of a :class:`~symsteady.derivation.Derivation`, for ``symsteady derive``.

One rewriting, three outputs (:func:`format_text`, :func:`format_latex`, :func:`format_json`):

* every coefficient is written as ``(re + i im)`` with each part factored (by FLINT, at
  derivation time), its multi-term numerator factors as polynomials in their best variable with
  factored coefficients (:func:`symsteady.codegen.tidy.collect_best`);
* every multi-term denominator factor is named ``D1, D2, …`` in order of first appearance and
  defined once (the factors are irreducible, so no name is a product of others);
* the Hamiltonian and the rates are shown as the user wrote them;
* the series in λ is written order by order (``c0 + c1*delta + c2*delta**2``, no ``**1``).

JSON strings parse back with ``sympy.parse_expr(text, {name: sympy.Symbol(name) for name in
data["symbols"]})`` (a symbol table is needed: ``N``, ``gamma``, ``beta`` … are sympy functions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import sympy

from ..algebra import Key
from ..derivation import Derivation, progress
from ..fields import FlintField
from ..model import N
from .quantities import orbit_name

PIECES = ("a_R", "b_R", "c_R")
#: depth of "collect in the best variable, factor the coefficients" (as in codegen.tidy)
COLLECT_DEPTH = 2


@dataclass
class Readable:
    """The displayed forms of a derivation: coefficients with named denominators ``D1, …``."""

    d: Derivation
    rho: list[list[tuple[Key, sympy.Expr]]] = field(default_factory=list)
    pieces: dict[str, list[sympy.Expr]] = field(default_factory=dict)
    definitions: dict[sympy.Symbol, sympy.Expr] = field(default_factory=dict)
    denominators: list[sympy.Expr] = field(default_factory=list)

    @property
    def symbols(self) -> list[str]:
        """Every name the expressions use (``N``, the parameters, ``D1`` …)."""
        return ["N", *[p.name for p in self.d.parameters], *[s.name for s in self.definitions]]


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
        """``D_i`` for a multi-term denominator factor (defined once), other bases unchanged."""
        if not isinstance(base, sympy.Add):
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
        return re + im_part if re != 0 else im_part


def rewriter(d: Derivation) -> Rewriter:
    """The :class:`Rewriter` of a derivation: its symbols, and sums split into the terms with
    Hamiltonian parameters and those with rates."""
    model = d.model
    in_h = frozenset(model.hamiltonian.free_symbols) - {N, d.lam}
    in_rates = frozenset().union(*(r.free_symbols for r in model.rates.values())) - {N}
    return Rewriter((N, *d.parameters), (in_h, in_rates))


def readable(d: Derivation) -> Readable:
    """The readable forms of a derivation (named denominators in order of first appearance)."""
    rewrite = rewriter(d)
    out = Readable(d)
    rho_items = [sorted(rho.items(), key=lambda kv: (-kv[0][0] - kv[0][1], kv[0])) for rho in d.rho_factored]
    with progress(sum(map(len, rho_items)) + len(PIECES), f"display {d.model.name}") as bar:
        for items in rho_items:
            group = []
            for key, value in items:
                group.append((key, rewrite(value)))
                bar.update(1)
            out.rho.append(group)
        for name in PIECES:
            out.pieces[name] = [rewrite(c) for c in d.coefficients(name)]
            bar.update(1)
    out.denominators = [rewrite.name(base) for base in d.denominators]
    out.definitions = dict(rewrite.definitions)
    return out


# ---- text -------------------------------------------------------------------------------------
def _series_text(coeffs: list[sympy.Expr], lam: sympy.Symbol) -> str:
    parts = []
    for k, c in enumerate(coeffs):
        if c == 0:
            continue
        text = sympy.sstr(c)
        if k and isinstance(c, sympy.Add):
            text = f"({text})"
        power = "" if k == 0 else (f"*{lam}" if k == 1 else f"*{lam}**{k}")
        parts.append(text + power if k else text)
    return " + ".join(parts).replace("+ -", "- ") or "0"


def _header(d: Derivation) -> list[str]:
    m = d.model
    lam = d.lam
    rates = "; ".join(f"{k} = {m.texts[k]}" for k in m.rates) or "no dissipation"
    small = f"small parameter {lam}" if not d.formal else "formal lambda on the U(1)-breaking part (set lambda = 1)"
    basis = ("B(a,b,c) = sum over |A|=a, |B|=b, |A&B|=c of |A><B|" if d.sector != "symmetric"
             else "E(a,b) = |a>><<b|, |a>> = sum over |A|=a of |A>")
    lines = [f"# {m.name}" + (f": {m.description}" if m.description else "")]
    lines += [f"# H = {m.texts['hamiltonian']}", f"# {rates}; {small}",
              f"# method {d.method} ({'Liouvillian expansion' if d.method == 'full' else 'pure-state approximation'}), "
              f"order {d.order} in {lam}, sector {d.sector}",
              f"# rho = sum_k {lam}**k rho_k, rho_k = sum of coefficients times {basis}"]
    return lines


def format_text(d: Derivation, r: Readable | None = None) -> str:
    """The derivation as plain text: factored, named denominators defined once."""
    r = r or readable(d)
    lam = d.lam
    lines = _header(d) + [""]
    for k, group in enumerate(r.rho):
        lines.append(f"rho_{k}:")
        lines += [f"  {orbit_name(key)} = {sympy.sstr(v)}" for key, v in group]
    lines += ["", f"xi2_R = a_R - sqrt(b_R**2 + c_R**2) + O({lam}**{d.order + 1}), with"]
    lines += [f"  {name} = {_series_text(r.pieces[name], lam)}" for name in PIECES]
    if r.definitions:
        lines += ["", "where"]
        lines += [f"  {s} = {sympy.sstr(v)}" for s, v in r.definitions.items()]
    dens = ", ".join(sympy.sstr(x) for x in r.denominators) or "none"
    lines += ["", f"valid for N >= {d.n_min} where no denominator vanishes: {dens}"]
    return "\n".join(lines)


# ---- LaTeX ------------------------------------------------------------------------------------
def format_latex(d: Derivation, r: Readable | None = None) -> str:
    """The derivation as LaTeX: ``%`` comment lines and one ``\\[ … \\]`` formula per line
    (each line compiles in a document with amsmath)."""
    from .latex import symbol_names
    from .config import LatexConfig
    from .latex_printer import SymsteadyLatexPrinter

    r = r or readable(d)
    names = symbol_names(d, LatexConfig())
    names.update({s: f"D_{{{s.name[1:]}}}" for s in r.definitions})
    printer = SymsteadyLatexPrinter({"symbol_names": names})
    show = printer.doprint
    lines = [f"% {line[2:]}" for line in _header(d)] + ["% needs \\usepackage{amsmath}", ""]
    for k, group in enumerate(r.rho):
        for key, v in group:
            idx = ",".join(map(str, key))
            lines.append(f"\\[ r^{{({k})}}_{{{idx}}} = {show(v)} \\]")
    lines.append(f"\\[ \\xi^{{2}}_{{R}} = a_{{R}} - \\sqrt{{b_{{R}}^{{2}} + c_{{R}}^{{2}}}} + "
                 f"O\\big({show(d.lam ** (d.order + 1))}\\big) \\]")
    for name in PIECES:
        parts = []
        for k, c in enumerate(r.pieces[name]):
            if c == 0:
                continue
            text = show(c)
            if k and isinstance(c, sympy.Add):
                text = f"\\left({text}\\right)"
            parts.append(text if k == 0 else f"{text} {show(d.lam ** k)}")
        body = " + ".join(parts).replace("+ -", "- ") or "0"
        lines.append(f"\\[ {name[0]}_{{R}} = {body} \\]")
    lines += [f"\\[ {show(s)} = {show(v)} \\]" for s, v in r.definitions.items()]
    dens = ", ".join(f"{show(x)}" for x in r.denominators) or "\\text{none}"
    lines.append(f"% valid for N >= {d.n_min} where no denominator vanishes:")
    lines.append(f"\\[ {dens} \\neq 0 \\]" if r.denominators else "% (no denominators)")
    return "\n".join(lines)


# ---- JSON -------------------------------------------------------------------------------------
def derivation_data(d: Derivation, r: Readable | None = None) -> dict[str, Any]:
    """A JSON-ready dict: every expression a string that ``sympy.parse_expr`` reads back with the
    symbol table ``symbols`` (see the module docstring); series as lists, order by order."""
    r = r or readable(d)
    m = d.model
    return {
        "model": m.name,
        "description": m.description,
        "hamiltonian": m.texts["hamiltonian"],
        "rates": {k: m.texts[k] for k in m.rates},
        "small": None if d.formal else d.lam.name,
        "method": d.method,
        "order": d.order,
        "sector": d.sector,
        "n_min": d.n_min,
        "symbols": r.symbols,
        "rho": [{orbit_name(key): sympy.sstr(v) for key, v in group} for group in r.rho],
        "pieces": {name: [sympy.sstr(c) for c in r.pieces[name]] for name in PIECES},
        "definitions": {s.name: sympy.sstr(v) for s, v in r.definitions.items()},
        "denominators": [sympy.sstr(x) for x in r.denominators],
        "xi2_R": "a_R - sqrt(b_R**2 + c_R**2), each piece the sum of its coefficients times small**k",
    }


def format_json(d: Derivation, r: Readable | None = None) -> str:
    """:func:`derivation_data` as indented JSON."""
    return json.dumps(derivation_data(d, r), indent=1)


FORMATS = {"text": format_text, "latex": format_latex, "json": format_json}
