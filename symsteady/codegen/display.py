"""Readable closed forms of a :class:`~symsteady.derivation.Derivation`, for ``symsteady derive``.

One rewriting, three outputs (:func:`format_text`, :func:`format_latex`, :func:`format_json`):

* every coefficient is written as by :mod:`symsteady.codegen.readable`: factored by FLINT,
  multi-term factors collected, ``(re + i im)/D`` over a shared denominator, multi-term
  denominator factors named ``D1, D2, …`` and defined once;
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
from .config import LatexConfig
from .latex import symbol_names
from .latex_printer import SymsteadyLatexPrinter
from .quantities import orbit_name
from .readable import rewriter

PIECES = ("a_R", "b_R", "c_R")


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
