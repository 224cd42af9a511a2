"""The wheel ships the templates: build it, install it without -e into a fresh venv, and run
``symsteady generate`` there (about a minute: the build fetches setuptools)."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest
from codegen_helpers import in_ci

ROOT = Path(__file__).resolve().parents[1]


def run(cmd: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, check=False, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.slow
def test_wheel_installs_and_generates(tmp_path):
    dist = tmp_path / "dist"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
                          cwd=tmp_path, capture_output=True, text=True, check=False, timeout=300)
    if proc.returncode != 0 and not in_ci() and "Could not find a version" in proc.stderr:
        pytest.skip("cannot fetch the build backend (offline)")
    assert proc.returncode == 0, proc.stderr[-3000:]
    wheel = next(dist.glob("symsteady-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "symsteady/templates/numpy_module.py.j2" in names
    assert "symsteady/templates/c_kernel.c.j2" in names and "symsteady/templates/latex_document.tex.j2" in names
    packages = {str(p.parent.relative_to(ROOT)) for p in (ROOT / "symsteady").rglob("__init__.py")}
    for package in packages:  # every subpackage of the source tree is in the wheel
        assert f"{package}/__init__.py" in names, f"{package} missing from the wheel: add it to pyproject.toml"

    env = tmp_path / "env"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    purelib = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path).stdout.strip())
    # install first (an installed symsteady in the outer environment must not satisfy pip), then
    # take the dependencies from this interpreter's environment, after the venv's own site
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
         "--ignore-installed", "-q", wheel], tmp_path)
    (purelib / "_outer_env.pth").write_text("\n".join({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}) + "\n")
    work = tmp_path / "work"
    work.mkdir()
    probe = "import symsteady, symsteady.codegen.render as r; print(symsteady.__file__); print(r.template_dir())"
    where = run([python, "-c", probe], work).stdout.split()
    assert all(Path(p).is_relative_to(env) for p in where), where
    script = env / "bin" / "symsteady"
    run([script, "generate", "xyz", "--order", "2", "--lang", "numpy", "-o", "xyz_o2.py"], work)
    run([script, "generate", "tfi", "--lang", "c", "-o", "kernel"], work)
    run([script, "generate", "tfi", "--lang", "latex", "-o", "tfi.tex"], work)
    check = run([python, "-c", "import xyz_o2; print(xyz_o2.xi2_R(N=20, J=0.5, delta=0.05, Jz=1.0, gamma=1.0))"], work)
    assert abs(float(check.stdout) - 0.9166901072270034) < 1e-13
    assert (work / "kernel" / "symsteady_tfi_o2.c").is_file() and "\\begin{document}" in (work / "tfi.tex").read_text()
