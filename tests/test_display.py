"""``symsteady derive`` output: readable text, pure LaTeX (compiles line by line) and JSON that
sympy parses back to the derived expressions."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import pytest
import sympy
from codegen_helpers import require_tool

import symsteady
from symsteady.cli import main
from symsteady.codegen.display import derivation_data, format_latex, format_text, readable
from symsteady.model import N

THREE_PROCESSES = {
    "description": "XXZ model in a transverse field h: collective and local emission, local dephasing",
    "hamiltonian": "(2/N)*(J*(Sx**2 + Sy**2) + Jz*Sz**2) + h*Sx",
    "collective_emission": "Gc",
    "local_emission": "gamma",
    "local_dephasing": "gamma_phi",
    "small": "h",
}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def parse_back(data: dict, text: str) -> sympy.Expr:
    """A JSON string as sympy reads it (the recipe of the module docstring), D_i substituted."""
    table = {name: sympy.Symbol(name) for name in data["symbols"]}
    expr = sympy.parse_expr(text, table)
    defs = {table[k]: sympy.parse_expr(v, table) for k, v in data["definitions"].items()}
    return expr.xreplace(defs)


def same(parsed: sympy.Expr, derived: sympy.Expr) -> bool:
    """Equal as rational functions once symbols are matched by name."""
    by_name = {s.name: s for s in derived.free_symbols}
    parsed = parsed.xreplace({s: by_name.get(s.name, s) for s in parsed.free_symbols})
    return sympy.cancel(sympy.together(parsed - derived)) == 0


def test_text_is_factored_with_named_denominators(capsys):
    code, out, err = run(capsys, "derive", "xyz", "--order", "1")
    assert code == 0 and err == ""
    assert "# H = (2/N)*((J + delta)*Sx**2 + (J - delta)*Sy**2 + Jz*Sz**2)" in out  # as written
    assert "**1" not in out and "*delta**1" not in out
    assert "b_R = -16*(J - Jz)*(N - 2)*(N - 1)/D1*delta" in out
    assert out.count("D1 = ") == 1
    assert "D1 = N**2*gamma**2 + 16*(J - Jz)**2*(N - 2)**2" in out
    assert "16*J**2*N**2" not in out  # nothing expanded
    assert "valid for N >= 2 where no denominator vanishes: D1" in out


def test_order_0_lists_no_later_denominators(capsys):
    code, out, err = run(capsys, "derive", "xyz", "--order", "0")
    assert code == 0 and err == ""
    assert "no denominator vanishes: none" in out
    assert "D1" not in out


def test_json_parses_back_to_the_derivation(capsys):
    code, out, err = run(capsys, "derive", "xyz", "--order", "2", "--format", "json")
    assert code == 0 and err == ""
    data = json.loads(out)
    d = symsteady.derive(symsteady.builtin("xyz"), 2)
    assert data["small"] == "delta" and data["order"] == 2 and data["n_min"] == d.n_min
    for k, group in enumerate(data["rho"]):
        assert set(group) == {symsteady.codegen.quantities.orbit_name(key) for key in d.rho[k]}
        for key, value in d.rho[k].items():
            assert same(parse_back(data, group[symsteady.codegen.quantities.orbit_name(key)]), value)
    for name in ("a_R", "b_R", "c_R"):
        coeffs = sympy.Poly(d.pieces[name], d.lam).all_coeffs()[::-1]
        coeffs += [sympy.Integer(0)] * (d.order + 1 - len(coeffs))
        assert [same(parse_back(data, c), v) for c, v in zip(data["pieces"][name], coeffs)] == [True] * 3


def test_json_of_a_formal_model_has_no_lambda():
    d = symsteady.derive(symsteady.Model("Delta*Sz + (4*Jx/N)*Sx**2", local_emission="gamma"), 1)
    data = derivation_data(d)
    assert data["small"] is None
    assert "lambda" not in json.dumps(data["rho"]) + json.dumps(data["pieces"])


def test_latex_lines_compile(tmp_path):
    """Every line of ``derive --latex`` is a comment or a display formula; the lines compile."""
    pdflatex = require_tool("pdflatex")
    d = symsteady.derive(symsteady.builtin("tfi"), 2)
    text = format_latex(d)
    for line in text.splitlines():
        assert line == "" or line.startswith("%") or re.fullmatch(r"\\\[ .* \\\]", line), line
        if not line.startswith("%"):
            assert "**" not in line and "*" not in line.replace("^{*}", ""), line
    doc = ("\\documentclass{article}\\usepackage{amsmath}\\usepackage[landscape,margin=1cm]{geometry}"
           "\\begin{document}\n" + text + "\n\\end{document}\n")
    (tmp_path / "lines.tex").write_text(doc)
    proc = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "lines.tex"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]


def test_three_process_model_reads_well():
    """XXZ + field with three processes: denominators named and collected, values unchanged."""
    model = symsteady.Model(name="xxz_field", **THREE_PROCESSES)
    d = symsteady.derive(model, 1)
    r = readable(d)
    text = format_text(d, r)
    assert "# local_emission = gamma; local_dephasing = gamma_phi; collective_emission = Gc" in text
    D1 = sympy.Symbol("D1", positive=True)
    J, Jz, Gc, gamma, gamma_phi = (sympy.Symbol(n, real=True) for n in ("J", "Jz", "Gc", "gamma", "gamma_phi"))
    expected = N**2 * (Gc * N + gamma + 4 * gamma_phi) ** 2 + 16 * (J - Jz) ** 2 * (N - 1) ** 2
    assert sympy.expand(r.definitions[D1] - expected) == 0
    assert sympy.sstr(r.definitions[D1]) == "N**2*(Gc*N + gamma + 4*gamma_phi)**2 + 16*(J - Jz)**2*(N - 1)**2"
    values = {D: sympy.expand(v) for D, v in r.definitions.items()}
    for group, rho in zip(r.rho, d.rho):
        for key, value in group:
            assert sympy.cancel(value.xreplace(values) - rho[key]) == 0


@pytest.mark.slow
def test_three_process_model_order_2_round_trip():
    model = symsteady.Model(name="xxz_field", **THREE_PROCESSES)
    d = symsteady.derive(model, 2)
    data = derivation_data(d)
    for k, group in enumerate(data["rho"]):
        for key, value in d.rho[k].items():
            assert same(parse_back(data, group[symsteady.codegen.quantities.orbit_name(key)]), value)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_only_on_a_terminal(monkeypatch, terminal):
    stream = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    d = symsteady.derive(symsteady.builtin("tfi"), 1)
    readable(d)
    text = stream.getvalue()
    assert ("derive tfi order 1" in text and "display tfi" in text) == terminal, text
