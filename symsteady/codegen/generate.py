"""One entry point for every target: ``generate(model, lang, path, order=…)``."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path

from ..derivation import Derivation, derive
from ..errors import CodegenError, OutputError
from ..files import atomic_path, check_file_target, write_atomic
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
    text = str(path)
    path = Path(path)
    if lang == "c":
        check_c_folder(text)
        sources = c_sources(d, config)  # type: ignore[arg-type]
        library = (compile_library(sources, config.compiler, config.flags)  # type: ignore[union-attr]
                   if build else None)  # compiled first: a failing compiler leaves no files behind
        written = sources.write(path)
        if library is not None:
            target = path / f"lib{sources.prefix}.so"
            with atomic_path(target) as tmp:
                shutil.copyfile(library, tmp)
            written.append(target)
        return written
    kind = {"numpy": "a .py file", "latex": "a .tex file"}[lang]
    if path.is_dir() or text.endswith(("/", os.sep)):
        raise OutputError(f"{text} is a folder; --lang {lang} writes {kind} (give its name)")
    check_file_target(path)
    if lang == "numpy":
        return [write_numpy_module(d, path, config)]  # type: ignore[arg-type]
    if not (build and not snippets):
        return [write_latex(d, path, config, snippets)]  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory(prefix="symsteady-build-") as tmp:
        staged = write_latex(d, Path(tmp) / path.name, config)  # type: ignore[arg-type]
        pdf = compile_pdf(staged)  # a pdflatex failure leaves no .tex behind
        written = [write_atomic(path, staged.read_bytes()), write_atomic(path.with_suffix(".pdf"), pdf.read_bytes())]
    return written


#: file suffixes that show a -o target of --lang c was meant as a file
FILE_SUFFIXES = (".py", ".c", ".h", ".tex", ".pdf", ".so", ".txt", ".json", ".csv")


def check_c_folder(text: str) -> None:
    """``--lang c`` writes PREFIX.c and PREFIX.h into a folder: refuse an existing file and a
    name that looks like one (``kernel.c``)."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{text} is a file; --lang c writes PREFIX.c and PREFIX.h into a folder")
    if not path.exists() and path.suffix.lower() in FILE_SUFFIXES:
        raise OutputError(f"{text} looks like a file name; --lang c writes PREFIX.c and PREFIX.h "
                          "into a folder (give a folder name, created if missing)")
