"""One entry point for every target: ``generate(model, lang, path, order=…)``."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from ..derivation import Derivation, derive
from ..errors import CodegenError
from ..files import atomic_path
from ..model import Model
from ..models import load
from .c_backend import c_sources
from .c_loader import compile_library
from .config import CConfig, LatexConfig, NumpyConfig
from .latex import compile_pdf, write_latex
from .numpy_backend import write_numpy_module

LANGS = ("numpy", "c", "latex")


def derivation_of(model: Model | Derivation | str | Path, order: int = 2, method: str = "full") -> Derivation:
    """A Derivation from a Derivation, a Model, a built-in name or a TOML path."""
    if isinstance(model, Derivation):
        return model
    if not isinstance(model, Model):
        model = load(model)
    return derive(model, order, method)


def generate(model: Model | Derivation | str | Path, lang: str, path: str | Path, order: int = 2,
             method: str = "full", config: NumpyConfig | CConfig | LatexConfig | None = None,
             snippets: bool = False, build: bool = False, command: str | None = None) -> list[Path]:
    """Write the NumPy module (``path`` a file), the C kernel (``path`` a folder) or the LaTeX
    document (``path`` a file; equation snippets only with ``snippets``). ``build`` also
    compiles the output (the C shared library into the folder, the PDF next to the .tex) and
    raises :class:`~symsteady.errors.ToolError` when the compiler or pdflatex is missing or
    fails. Returns the paths written."""
    if lang not in LANGS:
        raise CodegenError(f"unknown language {lang!r}; choose one of {', '.join(LANGS)}")
    if snippets and lang != "latex":
        raise CodegenError("snippets are LaTeX only")
    d = derivation_of(model, order, method)
    expected = {"numpy": NumpyConfig, "c": CConfig, "latex": LatexConfig}[lang]
    config = config or expected()
    if not isinstance(config, expected):
        raise CodegenError(f"--lang {lang} takes a {expected.__name__}, not {type(config).__name__}")
    if command is not None:
        config = dataclasses.replace(config, command=command)
    path = Path(path)
    if lang == "numpy":
        if path.is_dir():
            raise CodegenError(f"{path} is a folder; the NumPy output is a .py file")
        return [write_numpy_module(d, path, config)]  # type: ignore[arg-type]
    if lang == "c":
        sources = c_sources(d, config)  # type: ignore[arg-type]
        written = sources.write(path)
        if build:
            library = compile_library(sources, config.compiler, config.flags)  # type: ignore[union-attr]
            target = path / f"lib{sources.prefix}.so"
            with atomic_path(target) as tmp:
                shutil.copyfile(library, tmp)
            written.append(target)
        return written
    if path.is_dir():
        raise CodegenError(f"{path} is a folder; the LaTeX output is a .tex file")
    written = [write_latex(d, path, config, snippets)]  # type: ignore[arg-type]
    if build and not snippets:
        written.append(compile_pdf(path))
    return written
