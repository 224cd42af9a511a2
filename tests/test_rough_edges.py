"""What a new user hits first: output targets, files left after a failure, file modes, model
checks that name the problem, CLI help and version, one-line warnings."""

from __future__ import annotations

import json
import os
import stat
import warnings

import pytest

import symsteady
import symsteady.cli
from symsteady.cli import main
from symsteady.codegen import CConfig, generate
from symsteady.errors import ModelError, OutputError, ToolError
from symsteady.model import Model

XYZ_SETS = ["--set", "J=1/2", "--set", "delta=0.001", "--set", "Jz=1", "--set", "gamma=1"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 2 and out == ""
    assert err.startswith("symsteady: error: ") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)


# ---- item 5: points and targets -----------------------------------------------------------------
def test_empty_points_list_is_an_error(capsys, tmp_path):
    path = tmp_path / "empty.json"
    path.write_text("[]")
    one_line_error(*run(capsys, "evaluate", "xyz", "--order", "1", "--points", str(path)), "no points")


def test_file_target_inside_a_file(capsys, tmp_path):
    (tmp_path / "afile").write_text("")
    one_line_error(*run(capsys, "generate", "tfi", "--order", "1", "--lang", "numpy",
                        "-o", str(tmp_path / "afile" / "k.py")), "afile is a file")
    one_line_error(*run(capsys, "sweep", "tfi", "--N", "10", "--vary", "Jx=0:0.1:2", "--set", "Delta=1",
                        "--set", "gamma=1", "--order", "1", "-o", str(tmp_path / "afile" / "s.csv")), "afile")


def test_folder_given_as_a_file_target(capsys, tmp_path):
    one_line_error(*run(capsys, "generate", "tfi", "--order", "1", "--lang", "latex",
                        "-o", str(tmp_path / "gdir") + "/"), "is a folder", ".tex")
    assert not (tmp_path / "gdir").exists()
    (tmp_path / "adir").mkdir()
    one_line_error(*run(capsys, "generate", "tfi", "--order", "1", "--lang", "numpy",
                        "-o", str(tmp_path / "adir")), "is a folder", ".py")


def test_c_target_is_a_folder(capsys, tmp_path):
    one_line_error(*run(capsys, "generate", "tfi", "--order", "1", "--lang", "c",
                        "-o", str(tmp_path / "gc3.py")), "looks like a file name")
    assert not (tmp_path / "gc3.py").exists()
    (tmp_path / "afile").write_text("")
    one_line_error(*run(capsys, "generate", "tfi", "--order", "1", "--lang", "c",
                        "-o", str(tmp_path / "afile")), "is a file")
    code, out, err = run(capsys, "generate", "tfi", "--order", "1", "--lang", "c", "-o", str(tmp_path / "new" / "k"))
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "new" / "k").iterdir()) == ["symsteady_tfi_o1.c", "symsteady_tfi_o1.h"]


def test_unwritable_target(capsys):
    one_line_error(*run(capsys, "generate", "tfi", "--order", "1", "--lang", "numpy",
                        "-o", "/proc/symsteady-nowhere/k.py"), "/proc/symsteady-nowhere")


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_generated_files_respect_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        paths = generate("tfi", "numpy", tmp_path / "k.py", order=1)
        paths += generate("tfi", "c", tmp_path / "kc", order=1)
    finally:
        os.umask(old)
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask, path


# ---- item 6: nothing left behind after a failure -----------------------------------------------
def test_failed_plot_leaves_no_csv(capsys, tmp_path):
    csv, png = tmp_path / "s.csv", tmp_path / "s.png"
    one_line_error(*run(capsys, "sweep", "xyz", "--N", "6", "--vary", "delta=0:0.1:2", "--vary", "J=0:1:2",
                        "--vary", "Jz=0:1:2", "--set", "gamma=1", "--order", "1", "-o", str(csv),
                        "--plot", str(png)), "axes")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_failed_c_build_leaves_no_sources(tmp_path):
    with pytest.raises(ToolError):
        generate("tfi", "c", tmp_path / "k", order=1, build=True, config=CConfig(compiler="false"))
    assert not (tmp_path / "k").exists() or not list((tmp_path / "k").iterdir())


def test_failed_pdf_build_leaves_no_tex(tmp_path, monkeypatch):
    import sys

    gen = sys.modules["symsteady.codegen.generate"]

    def broken(tex, timeout=120):
        raise ToolError(f"pdflatex failed on {tex}")

    monkeypatch.setattr(gen, "compile_pdf", broken)
    with pytest.raises(ToolError):
        generate("tfi", "latex", tmp_path / "t.tex", order=1, build=True)
    assert list(tmp_path.iterdir()) == []


# ---- item 7: model checks name the problem ------------------------------------------------------
def test_negative_symbolic_rate_refused(capsys, tmp_path):
    path = tmp_path / "neg.toml"
    path.write_text('hamiltonian = "(2/N)*J*(Sx**2 + Sy**2) + delta*Sx"\nlocal_emission = "-gamma"\n'
                    'small = "delta"\n')
    one_line_error(*run(capsys, "derive", str(path), "--order", "1"), "local_emission = -gamma", "negative")


def test_small_parameter_absent_from_H_is_named():
    with pytest.raises(ModelError, match="small parameter h does not appear in H"):
        Model("(2/N)*J*(Sx**2 + Sy**2) + Delta*Sz", local_emission="gamma + h", small="h")


def test_reserved_word_gets_a_hint(capsys, tmp_path):
    path = tmp_path / "lam.toml"
    path.write_text('hamiltonian = "lambda*Sx + Delta*Sz"\nlocal_emission = "gamma"\n')
    one_line_error(*run(capsys, "derive", str(path)), "'lambda' is a reserved word", "rename")


# ---- item 8: the command line -------------------------------------------------------------------
def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"symsteady {symsteady.__version__}"


def test_top_level_help_is_for_users(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for word in ("derive", "evaluate", "sweep", "generate", "Example: symsteady derive xyz"):
        assert word in out
    assert "Thin:" not in out and "``" not in out


@pytest.mark.parametrize("command", ["derive", "evaluate", "sweep", "generate"])
def test_options_have_help(command):
    parser = symsteady.cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    for action in sub._actions:
        if action.dest in ("order", "N", "set", "method"):
            assert action.help, (command, action.dest)


def test_N_in_exponent_notation(capsys, tmp_path):
    code, out, err = run(capsys, "evaluate", "xyz", "--order", "1", "--N", "1e6", *XYZ_SETS, "--json")
    assert code == 0, err
    assert json.loads(out)[0]["N"] == 10**6
    code, _, err = run(capsys, "sweep", "tfi", "--N", "1e3", "--vary", "Jx=0:0.1:2", "--set", "Delta=1",
                       "--set", "gamma=1/2", "--order", "1", "-o", str(tmp_path / "s.csv"))
    assert code == 0, err
    assert (tmp_path / "s.csv").read_text().splitlines()[1].startswith("1000,")


def test_evaluate_set_takes_fractions_and_expressions(capsys):
    code, out, err = run(capsys, "evaluate", "xyz", "--order", "1", "--N", "20", "--set", "J=1/2",
                         "--set", "Jz=2*J", "--set", "delta=1e-3", "--set", "gamma=1", "--json")
    assert code == 0, err
    assert json.loads(out)[0]["params"]["Jz"] == 1.0


def test_exact_with_order_is_an_error(capsys):
    one_line_error(*run(capsys, "evaluate", "xyz", "--method", "exact", "--order", "2", "--N", "4", *XYZ_SETS),
                   "--method exact takes no --order")


def test_warnings_print_one_line(capsys, monkeypatch):
    real = symsteady.cli.evaluate

    def noisy(*args, **kwargs):
        warnings.warn("something to know", UserWarning)
        return real(*args, **kwargs)

    monkeypatch.setattr(symsteady.cli, "evaluate", noisy)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        code, out, err = run(capsys, "evaluate", "xyz", "--order", "1", "--N", "20", *XYZ_SETS)
    assert code == 0
    assert err == "symsteady: warning: something to know\n"


def test_mean_field_line_in_new_coordinates():
    """README: the xyz line in (Jx, Jy): 16 (Jx - Jz)(Jy - Jz) = -gamma**2."""
    import sympy

    mf = symsteady.mean_field(symsteady.builtin("xyz"))
    (jy,) = mf.line("Jy", J="(Jx + Jy)/2", delta="(Jx - Jy)/2")
    Jx, Jz, gamma = (sympy.Symbol(n, real=True) for n in ("Jx", "Jz", "gamma"))
    assert sympy.simplify(16 * (Jx - Jz) * (jy - Jz) + gamma**2) == 0
    with pytest.raises(symsteady.errors.ParameterError, match="needs definitions"):
        mf.line("Jy")
    with pytest.raises(symsteady.errors.ParameterError, match="not parameters"):
        mf.line("Jy", Jq="1")
