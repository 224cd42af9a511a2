"""``symsteady generate`` and ``symsteady.codegen.generate``: outputs, errors, models without
a small parameter (formal λ set to 1)."""

from __future__ import annotations

import numpy as np
import pytest
from codegen_helpers import random_points, require_tool

import symsteady
from symsteady.cli import main
from symsteady.codegen import (
    HighPrecision,
    generate,
    load_c_kernel,
    load_numpy_module,
    max_relative_error,
)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_generate_numpy(tmp_path, capsys):
    target = tmp_path / "xyz_o2.py"
    code, out, err = run(capsys, "generate", "xyz", "--order", "2", "--lang", "numpy", "-o", str(target))
    assert code == 0 and err == "" and f"wrote {target}" in out
    module = load_numpy_module(target)
    assert module.ORDER == 2 and module.PARAMETERS == ("N", "J", "Jz", "delta", "gamma")
    assert f"symsteady generate xyz --order 2 --lang numpy -o {target}" in module.__doc__
    row = symsteady.evaluate(symsteady.builtin("xyz"), 2, [{"N": 30, "J": 0.5, "Jz": 1, "gamma": 1, "delta": 0.05}])[0]
    assert module.xi2_R(N=30, J=0.5, Jz=1, gamma=1, delta=0.05) == pytest.approx(row["xi2_R"], rel=1e-13)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.slow
def test_generate_c_and_latex(tmp_path, capsys):
    code, _, _ = run(capsys, "generate", "tfi", "--order", "1", "--lang", "c", "-o", str(tmp_path / "kern"))
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "kern").iterdir()) == ["symsteady_tfi_o1.c", "symsteady_tfi_o1.h"]
    code, _, _ = run(capsys, "generate", "tfi", "--lang", "latex", "-o", str(tmp_path / "tfi.tex"))
    assert code == 0 and "\\documentclass" in (tmp_path / "tfi.tex").read_text()
    code, _, _ = run(capsys, "generate", "tfi", "--lang", "latex", "--snippets", "-o", str(tmp_path / "s.tex"))
    assert code == 0 and "\\documentclass" not in (tmp_path / "s.tex").read_text()


@pytest.mark.slow
def test_generate_build(tmp_path, capsys):
    require_tool("cc", "gcc")
    require_tool("pdflatex")
    code, _, err = run(capsys, "generate", "resonance_fluorescence", "--lang", "c", "--build", "-o", str(tmp_path / "k"))
    assert code == 0, err
    assert (tmp_path / "k" / "libsymsteady_resonance_fluorescence_o2.so").is_file()
    code, _, err = run(capsys, "generate", "resonance_fluorescence", "--lang", "latex", "--build",
                         "-o", str(tmp_path / "rf.tex"))
    assert code == 0, err
    assert (tmp_path / "rf.pdf").is_file()


@pytest.mark.slow
def test_generate_errors(tmp_path, capsys):
    taken = tmp_path / "file.txt"
    taken.write_text("keep")
    code, _, err = run(capsys, "generate", "xyz", "--lang", "c", "-o", str(taken))
    assert code == 2 and "is a file" in err and taken.read_text() == "keep"
    code, _, err = run(capsys, "generate", "xyz", "--lang", "numpy", "-o", str(tmp_path))
    assert code == 2 and "folder" in err
    code, _, err = run(capsys, "generate", "nosuchmodel", "--lang", "numpy", "-o", str(tmp_path / "x.py"))
    assert code == 2 and "nosuchmodel" in err and not (tmp_path / "x.py").exists()
    with pytest.raises(SystemExit):
        main(["generate", "xyz", "--lang", "fortran", "-o", str(tmp_path / "x.f")])
    with pytest.raises(symsteady.errors.SymsteadyError):
        generate("xyz", "fortran", tmp_path / "x.f")
    with pytest.raises(symsteady.errors.SymsteadyError):
        generate("xyz", "numpy", tmp_path / "x.py", snippets=True)


@pytest.mark.slow
def test_toml_model_without_small_parameter(tmp_path, capsys):
    """A formal λ on the U(1)-breaking part, set to 1: the kernels evaluate at λ = 1."""
    spec = tmp_path / "ising.toml"
    spec.write_text('name = "ising"\nhamiltonian = "Delta*Sz + (4*Jx/N)*Sx**2"\nlocal_emission = "gamma"\n')
    target = tmp_path / "ising.py"
    code, _, err = run(capsys, "generate", str(spec), "--lang", "numpy", "-o", str(target))
    assert code == 0, err
    module = load_numpy_module(target)
    assert module.SMALL == "lambda" and "lambda" not in module.PARAMETERS
    d = symsteady.derive(symsteady.load(spec), 2)
    pts = random_points(d, 60, seed=3)
    pts["Jx"] = pts["Jx"] * 0.05
    hp = HighPrecision(d, dps=40)
    for q in ("xi2_R", "theta", "mean", "cov", "rho_2"):
        assert max_relative_error(getattr(module, q)(**pts), hp.table(q, pts)) <= 1e-12, q
    rows = symsteady.evaluate(symsteady.load(spec), 2, [{k: float(v[i]) for k, v in pts.items()} for i in range(5)])
    keep = pts["N"][:5] >= d.n_min
    got = module.xi2_R(**{k: v[:5] for k, v in pts.items()})
    assert np.allclose(got[keep], np.array([r["xi2_R"] for r in rows])[keep], rtol=1e-12)
    if require_tool_quiet():
        kernel = load_c_kernel(generate(d, "c", tmp_path / "c")[1])
        assert max_relative_error(kernel.xi2_R(**pts), hp.table("xi2_R", pts)) <= 1e-12


def require_tool_quiet() -> bool:
    import shutil

    return bool(shutil.which("cc") or shutil.which("gcc"))
