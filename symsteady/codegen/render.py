"""Jinja2 rendering, the generated-file header and names (files are written by
:func:`symsteady.files.write_atomic`).

Templates live in the top-level ``templates/`` folder, installed as ``symsteady.templates``;
in a source checkout that is not installed that way, the folder next to the package is used.
Rendering uses ``StrictUndefined``, so a typo in a template fails loudly.
"""

from __future__ import annotations

import importlib.resources
import keyword
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from ..errors import CodegenError
from ..version import __version__

GENERATOR = "symsteady"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
C_KEYWORDS = frozenset(
    ["auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "_Bool", "_Complex", "_Imaginary"]
)


def template_dir() -> Path:
    """The folder holding the templates: the source checkout's when this package runs from one
    (next to ``pyproject.toml``; an editable install may map the package data elsewhere), else
    the installed package data."""
    root = Path(__file__).resolve().parents[2]
    checkout = root / "templates"
    if (root / "pyproject.toml").is_file() and (checkout / "numpy_module.py.j2").is_file():
        return checkout
    try:
        path = Path(str(importlib.resources.files("symsteady.templates")))
        if (path / "numpy_module.py.j2").is_file():
            return path
    except ModuleNotFoundError:
        pass
    raise CodegenError("symsteady's templates are missing: reinstall symsteady (pip install .)")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["c_string"] = c_string
    return env


def render(name: str, **context: Any) -> str:
    """Render one template with the common header fields added."""
    context.setdefault("generator", f"{GENERATOR} {__version__}")
    return environment().get_template(name).render(**context)


def c_string(text: str) -> str:
    """A C string literal, split into adjacent literals of 80 source characters each."""
    chunks = [text[i:i + 80] for i in range(0, len(text), 80)] or [""]
    escaped = (c.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") for c in chunks)
    return "\n    ".join(f'"{c}"' for c in escaped)


def check_identifiers(names: Iterable[str], lang: str) -> None:
    """Parameter names must be identifiers of the target language (and not keywords)."""
    for name in names:
        bad = not _IDENTIFIER.match(name) or keyword.iskeyword(name)
        if lang == "c":
            bad = bad or name in C_KEYWORDS
        if bad:
            raise CodegenError(f"parameter name {name!r} is not a valid {lang} identifier; rename it")


def safe_prefix(base: str, names: Iterable[str]) -> str:
    """A prefix for internal names that no user name starts with (``x`` -> ``x_``, ``x__``…)."""
    names = list(names)
    prefix = base
    while any(n.startswith(prefix) for n in names):
        prefix += "_"
    return prefix


def c_name(text: str) -> str:
    """A C identifier from free text (model names may hold dashes or dots)."""
    out = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return out if out and not out[0].isdigit() else f"m_{out}"
