"""LaTeX: the printer, the document (compiles with pdflatex) and a round trip — the typeset
formulas parsed back with sympy.parsing.latex equal the derived expressions at random points."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
import sympy
from codegen_helpers import derivation, random_points, require_module, require_tool
from sympy.core.function import AppliedUndef
from sympy.printing.latex import LatexPrinter

import symsteady
import symsteady.model
import symsteady.models
from symsteady.codegen import (
    LatexConfig,
    SymsteadyLatexPrinter,
    compile_pdf,
    latex_document,
    latex_snippets,
    typeset,
)
from symsteady.codegen.latex import symbol_names, typeset_name
from symsteady.codegen.latex_printer import visible_width
from symsteady.errors import ToolError
from symsteady.spinpoly import Sm, Sp, Sz

MODELS = list(symsteady.models.BUILTIN)
LAYOUT = (r"\nonumber", r"\Big", r"\big", r"\quad", "&", r"\\*", r"\\")


def formulas(tex: str) -> dict[str, str]:
    """Bodies of the formulas marked ``% symsteady-formula NAME`` in a document."""
    out: dict[str, list[str]] = {}
    name = None
    for line in tex.splitlines():
        marker = re.match(r"% symsteady-formula (\S+)", line)
        if marker:
            name = marker.group(1)
            out[name] = []
        elif name is not None and line.startswith(("\\end{", "%")):
            name = None
        elif name is not None:
            out[name].append(line)
    return {k: " ".join(v) for k, v in out.items()}


def parse_rhs(body: str, symbols: dict[str, sympy.Expr]) -> sympy.Expr:
    """Parse the right-hand side of one formula; layout commands (line breaks, alignment,
    \\Big delimiters) are dropped, ``x (y)`` read as a product, ``O(...)`` as 0."""
    from sympy.parsing.latex import parse_latex

    body = re.sub(r"\\label\{[^}]*\}", "", body)
    for token in LAYOUT:
        body = body.replace(token, " ")
    _, _, rhs = body.partition("=")
    expr = parse_latex(rhs)
    expr = expr.replace(lambda e: isinstance(e, AppliedUndef) and e.func.__name__ == "O", lambda e: 0)
    expr = expr.replace(lambda e: isinstance(e, AppliedUndef),
                        lambda e: sympy.Symbol(e.func.__name__) * e.args[0])
    return expr.xreplace({s: symbols[s.name] for s in expr.free_symbols if s.name in symbols})


def parsed_names(d, names) -> dict[str, sympy.Expr]:
    """How each symbol comes back from parse_latex (e.g. 'J_{z}' -> Jz, 'gamma' -> gamma)."""
    from sympy.parsing.latex import parse_latex

    printer = SymsteadyLatexPrinter({"symbol_names": names})
    table: dict[str, sympy.Expr] = {"i": sympy.I}
    for s in (symsteady.model.N, *d.parameters, d.lam):
        table[str(parse_latex(printer.doprint(s)))] = s
    return table


def at(expr: sympy.Expr, point: dict[sympy.Symbol, float]) -> complex:
    return complex(sympy.N(expr.xreplace(point), 30))


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_round_trip(name):
    require_module("antlr4")
    d = derivation(name)
    tex = latex_document(d)
    found = formulas(tex)
    table = parsed_names(d, symbol_names(d, LatexConfig()))
    names = {}
    for key in [k for k in found if re.fullmatch(r"D_\d+", k)]:
        names[f"D_{{{key[2:]}}}"] = parse_rhs(found[key], table)
    table.update(names)
    expected: dict[str, sympy.Expr] = {p: d.pieces[p] for p in ("a_R", "b_R", "c_R")}
    expected["xi2_R"] = d.xi2_R
    for k, rho in enumerate(d.rho):
        for key, value in rho.items():
            expected[f"rho_{k}[{','.join(map(str, key))}]"] = value
    printed = {k: v for k, v in found.items() if k in expected}
    assert {"a_R", "b_R", "c_R", "xi2_R"} <= set(printed)
    # every coefficient of rho_1, rho_2 is printed, or its conjugate partner is (rho_0 = B(0,0,0))
    for k, rho in enumerate(d.rho[1:], start=1):
        for key in rho:
            mirror = (key[1], key[0], *key[2:])
            assert f"rho_{k}[{','.join(map(str, key))}]" in printed or \
                f"rho_{k}[{','.join(map(str, mirror))}]" in printed
    pts = random_points(d, 3, seed=7)
    pieces = {sympy.Symbol(f"{x}_{{R}}"): None for x in "abc"}
    for i in range(3):
        point = {symsteady.model.N: int(pts["N"][i]), **{p: sympy.Rational(str(round(pts[p.name][i], 6)))
                                                   for p in d.parameters}}
        for fname, body in printed.items():
            got = parse_rhs(body, table)
            if fname == "xi2_R":
                got = got.xreplace({s: parse_rhs(printed[f"{s.name[0]}_R"], table) for s in pieces
                                    if s in got.free_symbols})
            want = at(expected[fname], point)
            assert abs(at(got, point) - want) <= 1e-20 * max(1, abs(want)), (name, fname)


@pytest.mark.slow
def test_round_trip_can_fail():
    """A formula with a wrong coefficient is caught by the same comparison."""
    require_module("antlr4")
    d = derivation("xyz")
    table = parsed_names(d, symbol_names(d, LatexConfig()))
    printer = SymsteadyLatexPrinter({"symbol_names": symbol_names(d, LatexConfig())})
    good = d.pieces["b_R"]
    bad_tex = "b_{R} &= " + printer.doprint(good * sympy.Rational(1001, 1000))
    point = {symsteady.model.N: 9, **{p: sympy.Rational(i + 1, 3) for i, p in enumerate(d.parameters)}}
    assert abs(at(parse_rhs(bad_tex, table), point) - at(good, point)) > 1e-6


@pytest.mark.slow
def test_hamiltonian_is_the_model():
    require_module("antlr4")
    for name in MODELS:
        d = derivation(name)
        body = formulas(latex_document(d))["H"]
        table = parsed_names(d, symbol_names(d, LatexConfig()))
        ops = {"S_{x}": sympy.Symbol("x"), "S_{y}": sympy.Symbol("y"), "S_{z}": sympy.Symbol("z"),
               "S_{+}": sympy.Symbol("x") + sympy.I * sympy.Symbol("y"),
               "S_{-}": sympy.Symbol("x") - sympy.I * sympy.Symbol("y")}
        got = parse_rhs(body, {**table, **ops})
        x, y, z = sympy.symbols("x y z")
        want = d.model.hamiltonian.subs({Sp: x + sympy.I * y, Sm: x - sympy.I * y, Sz: z})
        assert sympy.expand(got - want) == 0, name


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_document_compiles(name, tmp_path):
    require_tool("pdflatex")
    tex = tmp_path / f"{name}.tex"
    tex.write_text(latex_document(derivation(name)))
    pdf = compile_pdf(tex)
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000


@pytest.mark.slow
def test_snippets_compile_inside_a_document(tmp_path):
    require_tool("pdflatex")
    snippets = latex_snippets(derivation("driven_ising"))
    assert "\\documentclass" not in snippets and "\\begin{align}" in snippets
    tex = tmp_path / "paper.tex"
    tex.write_text("\\documentclass{article}\\usepackage{amsmath}\\begin{document}\n" + snippets
                   + "\n\\end{document}\n")
    assert compile_pdf(tex).is_file()


@pytest.mark.slow
def test_document_contents():
    tex = latex_document(derivation("xyz"))
    for needle in ("Generated by symsteady", "Do not edit", r"\mathcal{D}[L]\rho", r"\sum_{i=1}^{N} \mathcal{D}[\sigma^{-}_{i}]\rho",
                   r"\section{Conventions}", r"r^{(1)}_{2,0,0}", r"r^{(2)}_{4,0,0}", r"\xi^{2}_{R} &= a_{R}",
                   r"O\big(\delta^{3}\big)", r"N \ge 4", "16 \\left(J - J_{z}\\right)^{2} \\left(N - 2\\right)^{2}"):
        assert needle in tex, needle
    assert "r^{(1)}_{0,2,0}" not in tex  # conjugate of r^{(1)}_{2,0,0}
    full = latex_document(derivation("xyz"), LatexConfig(conjugate_pairs=False, name_denominators=False))
    assert "r^{(1)}_{0,2,0}" in full and "D_{1}" not in full


@pytest.mark.slow
def test_printer_breaks_long_expressions():
    d = derivation("driven_ising")
    printer = SymsteadyLatexPrinter({"symbol_names": symbol_names(d, LatexConfig()), "line_width": 60})
    assert isinstance(printer, LatexPrinter)
    expr = sympy.expand(sympy.numer(sympy.together(d.pieces["b_R"])))
    lines = printer.lines(expr)
    assert len(lines) > 3 and max(map(visible_width, lines)) <= 60
    assert printer.lines(sympy.Symbol("x") + 1) == ["x + 1"]
    t = typeset(d, LatexConfig(line_width=50))
    assert max(visible_width(line) for f in t.pieces for line in f.lines) < 75
    wide = typeset(d, LatexConfig(line_width=400))
    assert all(len(f.lines) == 1 for f in wide.pieces)


@pytest.mark.slow
def test_derivations_render_in_notebooks():
    """Importing symsteady.codegen in IPython registers the LaTeX rendering of a Derivation."""
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell

    from symsteady.codegen.notebook import register_notebook_rendering

    d = derivation("xyz")
    assert not hasattr(d, "_repr_latex_")  # the engine knows no output format
    shell = InteractiveShell.instance()
    try:
        assert register_notebook_rendering()
        text = shell.display_formatter.format(d)[0]["text/latex"]
    finally:
        InteractiveShell.clear_instance()
    assert text.startswith("$$") and "\\xi^{2}_{R}" in text and "D_{2} &=" in text
    assert typeset(d)._repr_latex_() == text


def test_missing_pdflatex_is_a_tool_error(tmp_path, monkeypatch):
    tex = tmp_path / "doc.tex"
    tex.write_text(latex_document(derivation("tfi")))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ToolError, match="pdflatex not found"):
        compile_pdf(tex)
    assert not tex.with_suffix(".pdf").exists()


@pytest.mark.slow
def test_failing_document_is_a_tool_error(tmp_path):
    require_tool("pdflatex")
    tex = tmp_path / "bad.tex"
    tex.write_text(latex_document(derivation("tfi")).replace("\\end{document}", "\\undefinedmacro\n\\end{document}"))
    with pytest.raises(ToolError, match="pdflatex failed"):
        compile_pdf(tex)
    assert not list(tmp_path.glob("*.pdf"))


@pytest.mark.slow
def test_formal_lambda_document():
    model = symsteady.Model("Delta*Sz + (4*Jx/N)*Sx**2", local_emission="gamma", name="tfi_formal")
    d = symsteady.derive(model, 2)
    tex = latex_document(d)
    assert r"\lambda = 1" in tex and r"O\big(\lambda^{3}\big)" in tex
    assert np.isfinite(random_points(d, 2)["Jx"]).all()


# ---- paper-ready document ------------------------------------------------------------------------
@pytest.mark.parametrize("name, tex", [
    ("gamma_phi", r"\gamma_{\phi}"), ("Gc", "G_{c}"), ("Jz", "J_{z}"), ("gphi", r"\mathrm{gphi}"),
    ("Omega", r"\Omega"), ("gamma", r"\gamma"), ("J_perp", r"J_{\mathrm{perp}}"), ("gamma2", r"\gamma_{2}"),
    ("h", "h"), ("Gamma_c", r"\Gamma_{c}"), ("Jxy", "J_{xy}"),
])
def test_parameter_names_typeset_as_symbols(name, tex):
    assert typeset_name(name) == tex


def _three_process_model(description: str = "") -> symsteady.Model:
    return symsteady.Model("(2/N)*(J*(Sx**2 + Sy**2) + Jz*Sz**2) + h*Sx", collective_emission="Gc",
                           local_emission="gamma", local_dephasing="gphi", small="h", name="xxz_field",
                           description=description)


def test_multi_letter_names_are_one_symbol():
    d = symsteady.derive(_three_process_model(), 1)
    tex = latex_document(d)
    assert r"\mathrm{gphi}" in tex and "G_{c}" in tex
    assert "g p h i" not in tex and "p h i" not in tex


def test_denominators_are_not_products_of_others():
    """Every named denominator is an irreducible polynomial: none equals a product of two others."""
    for name in MODELS:
        t = typeset(derivation(name))
        factors = [sympy.expand(f) for f in t.names.values()]
        for i, f in enumerate(factors):
            others = factors[:i] + factors[i + 1:]
            for a in others:
                for b in others:
                    assert sympy.expand(a * b - f) != 0, (name, f)


def test_document_states_every_quantity():
    tex = latex_document(derivation("tfi"))
    for formula in ("a_R", "b_R", "c_R", "xi2_R", "theta", "a_S", "b_S", "c_S", "xi2_S", "m_x", "m_y", "m_z",
                    "C_xx", "C_xy", "C_xz", "C_yy", "C_yz", "C_zz", "rho_1[2,0,0]", "rho_2[0,0,0]"):
        assert f"% symsteady-formula {formula}\n" in tex, formula


def test_mean_and_covariance_formulas_are_the_derivation():
    d = derivation("tfi")
    t = typeset(d)
    values = {s: f for s, f in t.names.items()}
    for i, f in enumerate(t.mean):
        assert sympy.cancel(f.value.xreplace(values) - d.mean[i]) == 0, f.name
    for f in t.cov:
        i, j = ("xyz".index(f.name[2]), "xyz".index(f.name[3]))
        assert sympy.cancel(f.value.xreplace(values) - d.cov[i][j]) == 0, f.name


@pytest.mark.slow
def test_description_is_escaped(tmp_path):
    require_tool("pdflatex")
    text = r"\alpha & 50% of a_b, x^2 ~ {y} #1 $5 <a|b>"
    d = symsteady.derive(symsteady.Model("Delta*Sz + (4*Jx/N)*Sx**2", local_emission="gamma", small="Jx",
                                         name="esc", description=text), 1)
    tex = tmp_path / "esc.tex"
    tex.write_text(latex_document(d))
    assert compile_pdf(tex).is_file()
    assert r"\textbackslash{}alpha \& 50\% of a\_b" in tex.read_text()


def overfull_boxes(tex: str, tmp_path) -> int:
    """``Overfull \\hbox`` warnings of pdflatex on a document."""
    import subprocess

    pdflatex = require_tool("pdflatex")
    (tmp_path / "doc.tex").write_text(tex)
    proc = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]
    return (tmp_path / "doc.log").read_text(errors="replace").count("Overfull \\hbox")


def test_overfull_count_can_fail(tmp_path):
    """The count sees an overfull line (so the test below can fail)."""
    tex = latex_document(derivation("tfi")).replace(r"\section{Validity}", r"\section{Validity}" + "\n$$" + "x+" * 200 + "x$$")
    assert overfull_boxes(tex, tmp_path) > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS + ["three_processes"])
def test_no_overfull_lines(name, tmp_path):
    d = symsteady.derive(_three_process_model(), 2) if name == "three_processes" else derivation(name)
    assert overfull_boxes(latex_document(d), tmp_path) == 0
