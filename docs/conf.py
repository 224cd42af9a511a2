"""Sphinx configuration of the symsteady documentation.

Build (from the repository root, with the package and the documentation requirements installed):

    python -m sphinx -W -b html docs OUT

The notebooks of ``notebooks/`` (linked into ``docs/tutorials/``) are executed during the build
in their reduced-size mode, so the command needs no environment variables.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Notebooks: reduced size (coarse grids, small N) and figures written to a throw-away folder,
# never over the committed full-size figures. The kernels inherit this environment.
os.environ.setdefault("SYMSTEADY_NOTEBOOK_QUICK", "1")
if "SYMSTEADY_FIGURE_DIR" not in os.environ:
    os.environ["SYMSTEADY_FIGURE_DIR"] = tempfile.mkdtemp(prefix="symsteady-docs-figures-")
    atexit.register(shutil.rmtree, os.environ["SYMSTEADY_FIGURE_DIR"], True)  # removed after the build
os.environ.setdefault("MPLBACKEND", "Agg")

import symsteady  # noqa: E402  (after the path is set)

project = "symsteady"
author = "the symsteady developers"
copyright = "the symsteady developers"
release = symsteady.__version__
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "numpydoc",
    "sphinx.ext.mathjax",
]

root_doc = "index"
exclude_patterns = ["_build", "**/.ipynb_checkpoints", "jupyter_execute"]

# ---- MyST ---------------------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
# GitHub-style anchors for headings (``page.md#actions``), besides the explicit (label)= targets
myst_heading_anchors = 3

# ---- notebooks (myst-nb) ------------------------------------------------------------------------
nb_execution_mode = "force"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# ---- API reference ------------------------------------------------------------------------------
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()
numpydoc_xref_param_type = False

# ---- HTML ---------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"symsteady {release}"
html_static_path: list[str] = []
