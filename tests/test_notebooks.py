"""Every notebook runs (reduced size, SYMSTEADY_NOTEBOOK_QUICK=1) and saves its figure.

The notebooks assert that perturbative and exact results meet as the small parameter goes to
zero (error slopes, or the largest difference near the U(1) line), so a failing check fails here.
Figures go to a temporary directory: the committed full-size figures are left alone.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_the_notebooks_are_there():
    assert set(NAMES) >= {"xyz_fig3_squeezing_vs_delta", "xyz_fig4_theta_map", "tfi_fig6_squeezing_vs_Jx",
                          "tfi_fig7_theta_map", "resonance_fluorescence_fig9", "xyz_pure_vs_full"}


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_is_clean(name):
    """No outputs or execution counts (nothing machine-specific), and its full-size figure exists."""
    nbformat = pytest.importorskip("nbformat")
    book = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(book)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        assert not re.search(r"/(work|home|root|Users|tmp)/", cell.source), "machine path in a notebook"
    saved = re.findall(r'FIGURES / "([^"]+\.png)"', "\n".join(c.source for c in book.cells))
    assert saved == [f"{name}.png"]
    assert (NOTEBOOKS / "figures" / f"{name}.png").read_bytes()[:8] == PNG_MAGIC


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_quick(name, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("SYMSTEADY_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("SYMSTEADY_FIGURE_DIR", str(tmp_path))
    book = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbclient.NotebookClient(book, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    png = tmp_path / f"{name}.png"
    assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 20_000
