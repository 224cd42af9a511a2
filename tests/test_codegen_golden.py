"""Golden files: the generated NumPy module, C kernel and LaTeX document of every built-in
model at order 2, checked in under tests/golden/ and reviewed in diffs.

Regenerate after an intended change with

    SYMSTEADY_UPDATE_GOLDEN=1 python -m pytest tests/test_codegen_golden.py
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest
from codegen_helpers import derivation

import symsteady
from symsteady.codegen import c_sources, latex_document, numpy_module

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("SYMSTEADY_UPDATE_GOLDEN") == "1"


def outputs(name: str) -> dict[str, str]:
    d = derivation(name)
    c = c_sources(d)
    stem = f"{name}_o2"
    return {f"{stem}.py": numpy_module(d), f"{c.prefix}.c": c.c, f"{c.prefix}.h": c.h,
            f"{stem}.tex": latex_document(d)}


@pytest.mark.parametrize("name", list(symsteady.BUILTIN))
def test_golden(name):
    for filename, text in outputs(name).items():
        path = GOLDEN / filename
        if UPDATE:
            GOLDEN.mkdir(exist_ok=True)
            path.write_text(text)
            continue
        assert path.is_file(), f"missing golden {path}; regenerate: see this module's docstring"
        want = path.read_text()
        if text != want:
            diff = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True),
                                                f"golden/{filename}", "generated", n=1))
            pytest.fail(f"{filename} changed (regenerate if intended, see the docstring):\n{diff[:4000]}")


def test_goldens_have_no_strays():
    """Every golden file belongs to a built-in model (a removed model leaves no stale file)."""
    if UPDATE:
        pytest.skip("updating")
    expected = {f for name in symsteady.BUILTIN for f in outputs(name)}
    present = {p.name for p in GOLDEN.iterdir() if p.is_file()}
    assert present == expected
