"""Golden files: the generated NumPy module, C kernel and LaTeX document of every built-in
model at order 2, checked in under tests/golden/ and reviewed in diffs.

Regenerate after an intended change with

    python -m pytest tests/test_codegen_golden.py --update-golden

The version of symsteady in each file's header is stored as ``VERSION`` (a release does not
change the goldens).
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from codegen_helpers import derivation

import symsteady
import symsteady.models
from symsteady.codegen import c_sources, latex_document, numpy_module
from symsteady.version import __version__

GOLDEN = Path(__file__).parent / "golden"


def outputs(name: str) -> dict[str, str]:
    d = derivation(name)
    c = c_sources(d)
    stem = f"{name}_o2"
    texts = {f"{stem}.py": numpy_module(d), f"{c.prefix}.c": c.c, f"{c.prefix}.h": c.h,
             f"{stem}.tex": latex_document(d)}
    return {k: v.replace(f"symsteady {__version__}", "symsteady VERSION") for k, v in texts.items()}


@pytest.mark.slow
def test_headers_name_the_version():
    d = derivation("xyz")
    assert f"symsteady {__version__}" in numpy_module(d) and f"symsteady {__version__}" in c_sources(d).c


@pytest.mark.slow
@pytest.mark.parametrize("name", list(symsteady.models.BUILTIN))
def test_golden(name, update_golden):
    for filename, text in outputs(name).items():
        path = GOLDEN / filename
        if update_golden:
            GOLDEN.mkdir(exist_ok=True)
            path.write_text(text)
            continue
        assert path.is_file(), f"missing golden {path}; regenerate: see this module's docstring"
        want = path.read_text()
        if text != want:
            diff = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True),
                                                f"golden/{filename}", "generated", n=1))
            pytest.fail(f"{filename} changed (regenerate if intended, see the docstring):\n{diff[:4000]}")


@pytest.mark.slow
def test_goldens_have_no_strays(update_golden):
    """Every golden file belongs to a built-in model (a removed model leaves no stale file)."""
    if update_golden:
        pytest.skip("updating")
    expected = {f for name in symsteady.models.BUILTIN for f in outputs(name)}
    present = {p.name for p in GOLDEN.iterdir() if p.is_file()}
    assert present == expected
