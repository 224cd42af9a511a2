"""Code generation and LaTeX from derived results.

* :func:`numpy_module` — a standalone NumPy module (imports only numpy), one function per
  quantity, keyword arguments ``N`` and the model's parameters, common subexpressions shared;
* :func:`c_sources` / :func:`load_c_kernel` — a C99 ``.c``/``.h`` pair looping over arrays of
  parameter points, compiled on demand (cached) and called on numpy arrays;
* :func:`latex_document` / :func:`latex_snippets` — LaTeX through
  :class:`SymsteadyLatexPrinter`; :func:`compile_pdf` runs pdflatex;
* :class:`HighPrecision` — mpmath evaluation at any precision, the kernels' reference;
* :func:`generate` — any of these written to a path (the ``symsteady generate`` command);
* :func:`typeset` — the formulas of a derivation; importing this module in IPython/Jupyter
  also registers it, so a :class:`~symsteady.Derivation` renders as LaTeX in notebooks.

All text comes from the jinja2 templates of the top-level ``templates/`` folder.
"""

from .c_backend import CSources, c_sources, write_c_sources
from .c_loader import CKernel, compile_library, load_c_kernel
from .config import CConfig, LatexConfig, NumpyConfig
from .generate import LANGS, derivation_of, generate
from .highprec import HighPrecision, max_relative_error
from .latex import (
    SymsteadyLatexPrinter,
    Typeset,
    compile_pdf,
    latex_document,
    latex_snippets,
    typeset,
    write_latex,
)
from .numpy_backend import load_numpy_module, numpy_module, write_numpy_module
from .quantities import Quantities, Quantity
from .notebook import register_notebook_rendering

register_notebook_rendering()

__all__ = [
    "LANGS",
    "CConfig",
    "CKernel",
    "CSources",
    "HighPrecision",
    "LatexConfig",
    "NumpyConfig",
    "Quantities",
    "Quantity",
    "SymsteadyLatexPrinter",
    "Typeset",
    "c_sources",
    "compile_library",
    "compile_pdf",
    "derivation_of",
    "generate",
    "latex_document",
    "latex_snippets",
    "load_c_kernel",
    "load_numpy_module",
    "max_relative_error",
    "numpy_module",
    "typeset",
    "write_c_sources",
    "write_latex",
    "write_numpy_module",
]
