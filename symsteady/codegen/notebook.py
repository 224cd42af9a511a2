"""Derivations rendered as LaTeX in IPython and Jupyter (the engine itself knows no output format)."""

from __future__ import annotations

from ..derivation import Derivation
from .latex import typeset


def derivation_latex(d: Derivation) -> str:
    """The notebook rendering of a derivation: a_R, b_R, c_R, ξ²_R and the named denominators."""
    return typeset(d)._repr_latex_()


def register_notebook_rendering() -> bool:
    """Register :func:`derivation_latex` as the ``text/latex`` formatter of :class:`Derivation` in
    the running IPython shell; False (and nothing done) outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    shell.display_formatter.formatters["text/latex"].for_type(Derivation, derivation_latex)
    return True
