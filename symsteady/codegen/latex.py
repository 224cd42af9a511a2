"""LaTeX of a Derivation: a ``sympy.printing`` printer, equation snippets and a full document.

:class:`SymsteadyLatexPrinter` is a :class:`sympy.printing.latex.LatexPrinter` with one more
setting, ``line_width``: :meth:`~SymsteadyLatexPrinter.lines` breaks a long sum at its top-level
``+``/``-`` and a long product between its factors (``\\times`` on the next line), bracketing a
long factor with ``\\Big( … \\Big)`` that may itself span lines. Shared multi-term denominators
are named D_1, D_2, … (defined once) by substituting symbols into the expressions before
printing — never by editing printed strings. The document states the model, the conventions,
the Lindbladian, every ρ_k and ξ²_R to the order asked, and compiles with pdflatex.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sympy

from ..derivation import Derivation
from ..errors import ToolError
from ..spinpoly import Sm, Sp, Sz
from .config import LatexConfig
from .latex_printer import SymsteadyLatexPrinter
from .naming import default_command, default_stem
from .quantities import orbit_name
from ..files import atomic_path, write_atomic
from .render import render
from .readable import rewriter

S_x, S_y, S_z = sympy.symbols("S_x S_y S_z", commutative=False)
S_plus, S_minus = sympy.symbols("S_+ S_-", commutative=False)
GREEK = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho "
         "sigma tau upsilon phi chi psi omega").split()
_UPPER_GREEK = {"Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega"}
_SHORT_SUFFIX = re.compile(r"^([A-Z])([a-z0-9]{1,2})$")
_DIGITS = re.compile(r"^(.*?[A-Za-z])(\d+)$")


def _word(word: str) -> str:
    """One word of a name: a Greek letter's name -> the letter, one letter -> itself, else upright."""
    if word in GREEK or word in _UPPER_GREEK:
        return "\\" + word
    if len(word) == 1 or word.isdigit():
        return word
    return f"\\mathrm{{{word}}}"


def typeset_name(name: str) -> str:
    """How a parameter name prints in LaTeX (the rule of ``docs/algorithm/conventions.md#latex-names``).

    1. ``base_sub``: the base by rules 2–4, the subscript word by word (``gamma_phi`` -> γ_φ,
       ``J_perp`` -> J_perp upright, ``g_1`` -> g_1);
    2. a Greek letter's name is the letter (``gamma`` -> γ, ``Omega`` -> Ω, ``Delta`` -> Δ);
    3. a capital followed by one or two lower-case letters or digits is that capital with the
       rest as subscript (``Jz`` -> J_z, ``Gc`` -> G_c, ``Jxy`` -> J_xy, ``U1`` -> U_1); a name
       ending in digits takes them as subscript (``gamma2`` -> γ_2);
    4. any other name of several letters is one upright symbol (``gphi`` -> \\mathrm{gphi},
       never a product g·p·h·i).
    """
    base, sep, sub = name.partition("_")
    if sep and base and sub:
        return f"{typeset_name(base)}_{{{' '.join(_word(w) for w in sub.split('_'))}}}"
    if name in GREEK or name in _UPPER_GREEK or len(name) == 1:
        return _word(name)
    m = _SHORT_SUFFIX.match(name)
    if m:
        return f"{m.group(1)}_{{{m.group(2)}}}"
    m = _DIGITS.match(name)
    if m:
        return f"{typeset_name(m.group(1))}_{{{m.group(2)}}}"
    return _word(name)


def symbol_names(d: Derivation, config: LatexConfig) -> dict[sympy.Symbol, str]:
    """How symbols print: parameters by :func:`typeset_name`, overrides from the config, the
    operators ``S_{x}``…"""
    names: dict[sympy.Symbol, str] = {}
    for p in d.parameters:
        names[p] = config.symbol_names.get(p.name, typeset_name(p.name))
    names.update({S_x: "S_{x}", S_y: "S_{y}", S_z: "S_{z}", S_plus: "S_{+}", S_minus: "S_{-}"})
    return names


@dataclass
class Formula:
    """One typeset equation: ``lhs = lines[0] …``; ``value`` is the printed expression (with
    named denominators as symbols) and ``name`` the marker used by round-trip tests."""

    name: str
    lhs: str
    lines: list[str]
    value: sympy.Expr | None = None


@dataclass
class Typeset:
    """Every formula of a derivation, ready for the templates (and for notebooks)."""

    d: Derivation
    lam: str
    denominators: list[Formula] = field(default_factory=list)
    rho: list[list[Formula]] = field(default_factory=list)
    pieces: list[Formula] = field(default_factory=list)
    xi2: Formula | None = None
    pieces_S: list[Formula] = field(default_factory=list)
    xi2_S: Formula | None = None
    theta: Formula | None = None
    mean: list[Formula] = field(default_factory=list)
    cov: list[Formula] = field(default_factory=list)
    names: dict[sympy.Symbol, sympy.Expr] = field(default_factory=dict)

    def _repr_latex_(self) -> str:
        rows = []
        for f in [*self.pieces, *([self.xi2] if self.xi2 else []), *self.denominators]:
            rows.append(f"{f.lhs} &= " + " \\\\ &\\quad ".join(f.lines))
        return "$$\\begin{aligned}" + " \\\\ ".join(rows) + "\\end{aligned}$$"


AXES = "xyz"
COV_PAIRS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))


def typeset(d: Derivation, config: LatexConfig | None = None) -> Typeset:
    """All formulas of the document: ρ_k, the pieces of ξ²_R and ξ²_S, θ, the mean spin and
    the covariance order by order, and the named denominators D_1, D_2, … (irreducible real
    polynomials, each defined once; :mod:`symsteady.codegen.display`)."""
    config = config or LatexConfig()
    rewrite = rewriter(d)
    names = symbol_names(d, config)
    printer = SymsteadyLatexPrinter({"symbol_names": names, "line_width": config.line_width})
    formal = d.formal
    out = Typeset(d, printer.doprint(d.lam))

    def shown(expr: sympy.Expr) -> sympy.Expr:
        for symbol in rewrite.definitions:
            names.setdefault(symbol, f"D_{{{symbol.name[1:]}}}")
        return expr if config.name_denominators else expr.xreplace(rewrite.definitions)

    def series(name: str, lhs: str, coeffs: list[sympy.Expr]) -> Formula:
        coeffs = [shown(c) for c in coeffs]
        value = sympy.Add(*[c * d.lam**k for k, c in enumerate(coeffs)])
        return Formula(name, lhs, printer.series_lines(coeffs, d.lam, formal), value)

    def coefficients(factored: list[sympy.Expr]) -> list[sympy.Expr]:
        return [rewrite(c) for c in factored]

    for k, rho in enumerate(d.rho_factored):
        formulas = []
        for key in sorted(rho, key=lambda t: (-t[0] - t[1], t)):
            if config.conjugate_pairs and key[0] < key[1]:
                continue
            value = shown(rewrite(rho[key]))
            idx = ",".join(str(i) for i in key)
            formulas.append(Formula(f"rho_{k}[{idx}]", f"r^{{({k})}}_{{{idx}}}", printer.lines(value), value))
        out.rho.append(formulas)
    big_o = "O\\big(" + printer.doprint(d.lam**(d.order + 1)) + "\\big)"
    for kind, target in (("R", out.pieces), ("S", out.pieces_S)):
        for x in "abc":
            coeffs = [rewrite(c) for c in d.coefficients(f"{x}_{kind}")]
            target.append(series(f"{x}_{kind}", f"{x}_{{{kind}}}", coeffs))
    out.xi2 = Formula("xi2_R", "\\xi^{2}_{R}", [f"a_{{R}} - \\sqrt{{b_{{R}}^{{2}} + c_{{R}}^{{2}}}} + {big_o}"])
    out.xi2_S = Formula("xi2_S", "\\xi^{2}_{S}", [f"a_{{S}} - \\sqrt{{b_{{S}}^{{2}} + c_{{S}}^{{2}}}} + {big_o}"])
    out.theta = Formula("theta", "\\theta", ["\\tfrac{1}{2} \\operatorname{atan2}\\left(-c_{R}, -b_{R}\\right) "
                                            "\\in \\left(-\\tfrac{\\pi}{2}, \\tfrac{\\pi}{2}\\right]"])
    for i, axis in enumerate(AXES):
        out.mean.append(series(f"m_{axis}", f"m_{{{axis}}}", coefficients(d.factored_mean[i])))
    for i, j in COV_PAIRS:
        ab = AXES[i] + AXES[j]
        out.cov.append(series(f"C_{ab}", f"C_{{{ab}}}", coefficients(d.factored_cov[i][j])))
    if config.name_denominators:
        for symbol, factor in rewrite.definitions.items():
            label = f"D_{symbol.name[1:]}"
            out.denominators.append(Formula(label, printer.doprint(symbol), printer.lines(factor), factor))
        out.names = dict(rewrite.definitions)
    return out


def hamiltonian_latex(d: Derivation, printer: SymsteadyLatexPrinter) -> list[str]:
    """H as a sum of operator monomials with factored coefficients, in Sx, Sy, Sz or in S±, Sz
    (whichever has fewer terms); operator order is kept (noncommutative symbols)."""
    H = d.model.hamiltonian
    candidates = [
        sympy.expand(H.subs({Sp: S_x + sympy.I * S_y, Sm: S_x - sympy.I * S_y, Sz: S_z})),
        sympy.expand(H.subs({Sp: S_plus, Sm: S_minus, Sz: S_z})),
    ]
    grouped = [_group_monomials(h) for h in candidates]
    terms = min(grouped, key=len)
    parts = []
    for monomial, coeff in terms:
        c = sympy.factor(coeff)
        if c == 1:
            text = printer.doprint(monomial)
        elif c == -1:
            text = "-" + printer.doprint(monomial)
        else:
            ctext = printer.doprint(c)
            if isinstance(c, sympy.Add):
                ctext = f"\\left({ctext}\\right)"
            text = f"{ctext} {printer.doprint(monomial)}" if monomial != 1 else ctext
        parts.append(text)
    signed = [p if i == 0 or p.startswith("-") else "+ " + p for i, p in enumerate(parts)]
    return printer._pack(signed or ["0"], printer._settings["line_width"])


def _group_monomials(h: sympy.Expr) -> list[tuple[sympy.Expr, sympy.Expr]]:
    table: dict[sympy.Expr, sympy.Expr] = {}
    for term in sympy.Add.make_args(h):
        c, nc = term.args_cnc()
        key = sympy.Mul(*nc)
        table[key] = table.get(key, 0) + sympy.Mul(*c)
    items = [(k, v) for k, v in table.items() if sympy.simplify(v) != 0]
    return sorted(items, key=lambda kv: sympy.default_sort_key(kv[0]))


def dissipators(d: Derivation, printer: SymsteadyLatexPrinter) -> list[str]:
    """The dissipative terms of the Lindblad equation, one per nonzero rate."""
    out = []
    for p in d.model.processes:
        value = d.model.rate(p.key)
        text = printer.doprint(value)
        if isinstance(value, sympy.Add):
            text = f"\\left({text}\\right)"
        out.append(f"{text} {p.latex}")
    return out


_TEXT_SPECIALS = {"\\": "\\textbackslash{}", "^": "\\textasciicircum{}", "~": "\\textasciitilde{}",
                  "<": "\\textless{}", ">": "\\textgreater{}", "|": "\\textbar{}",
                  **{c: "\\" + c for c in "_&%$#{}"}}


def tex_escape(text: str) -> str:
    """Text-mode escaping of any string: every LaTeX special character prints as itself."""
    return "".join(_TEXT_SPECIALS.get(c, c) for c in str(text))


def _context(d: Derivation, config: LatexConfig) -> dict[str, Any]:
    t = typeset(d, config)
    printer = SymsteadyLatexPrinter({"symbol_names": symbol_names(d, config), "line_width": config.line_width})
    return dict(
        t=t,
        model_name=tex_escape(d.model.name),
        description=tex_escape(d.model.description),
        order=d.order,
        method=d.method,
        sector=d.sector,
        n_min=d.n_min,
        lam=t.lam,
        formal=d.formal,
        symmetric=d.sector == "symmetric",
        hamiltonian=hamiltonian_latex(d, printer),
        dissipators=dissipators(d, printer),
        parameters=", ".join(f"${printer.doprint(p)}$" for p in d.parameters),
        orbit_name=orbit_name,
        command=config.command or default_command(d, "latex", f"{default_stem(d)}.tex"),
    )


def latex_document(d: Derivation, config: LatexConfig | None = None) -> str:
    """A complete LaTeX document (article, amsmath) of the derivation; compiles with pdflatex."""
    return render("latex_document.tex.j2", **_context(d, config or LatexConfig()))


def latex_snippets(d: Derivation, config: LatexConfig | None = None) -> str:
    """Equation snippets (``align`` environments, need amsmath) for pasting into a paper."""
    return render("latex_snippets.tex.j2", **_context(d, config or LatexConfig()))


def write_latex(d: Derivation, path: str | Path, config: LatexConfig | None = None,
                snippets: bool = False) -> Path:
    """Write the document (or the snippets) atomically."""
    return write_atomic(path, (latex_snippets if snippets else latex_document)(d, config))


def compile_pdf(tex: str | Path, timeout: float = 120) -> Path:
    """Run pdflatex on a document (twice, for references); the PDF next to it. ToolError when
    pdflatex is missing or the document does not compile; the PDF only appears when complete."""
    tex = Path(tex)
    exe = shutil.which("pdflatex")
    if exe is None:
        raise ToolError("pdflatex not found: install a TeX distribution "
                        "(Debian: apt-get install texlive-latex-base texlive-latex-recommended)")
    with tempfile.TemporaryDirectory(prefix="symsteady-tex-") as tmp:
        for _ in range(2):
            try:
                proc = subprocess.run(
                    [exe, "-interaction=nonstopmode", "-halt-on-error", f"-output-directory={tmp}", str(tex.resolve())],
                    capture_output=True, text=True, check=False, cwd=tmp, timeout=timeout)
            except subprocess.TimeoutExpired:
                raise ToolError(f"pdflatex timed out on {tex}") from None
            if proc.returncode != 0:
                tail = "\n".join(proc.stdout.splitlines()[-25:])
                raise ToolError(f"pdflatex failed on {tex}:\n{tail}")
        target = tex.with_suffix(".pdf")
        with atomic_path(target) as partial:
            shutil.copyfile(Path(tmp) / f"{tex.stem}.pdf", partial)
    return target


__all__ = [
    "SymsteadyLatexPrinter",
    "Typeset",
    "compile_pdf",
    "latex_document",
    "latex_snippets",
    "typeset",
    "write_latex",
]
