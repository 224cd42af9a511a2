"""A standalone NumPy module from a Derivation: one function per quantity.

Each function takes keyword arguments ``N`` and the model's parameters, broadcasts over
arrays, shares common subexpressions (``sympy.cse``) between the inputs of its quantity and
returns float64 arrays (``mean``/``direction`` with a last axis of 3, ``cov`` 3×3,
``rho_k`` a dict orbit key -> complex array). The module imports only numpy.
"""

from __future__ import annotations

import importlib.util
import types
from pathlib import Path
from typing import Any

from ..derivation import Derivation
from ..errors import CodegenError
from .config import NumpyConfig
from .naming import (
    argument_names,
    conventions,
    default_command,
    default_stem,
    model_lines,
)
from .printers import NumpyKernelPrinter, function_context
from .quantities import Quantities, Quantity
from ..files import write_atomic
from .render import check_identifiers, render, safe_prefix


def select(qs: Quantities, names: tuple[str, ...] | None) -> list[Quantity]:
    """The quantities asked for (all when None), in the canonical order."""
    if names is None:
        return list(qs)
    unknown = sorted(set(names) - set(qs.names))
    if unknown:
        raise CodegenError(f"unknown quantities {unknown}; known: {', '.join(qs.names)}")
    return [q for q in qs if q.name in names]


def numpy_module(d: Derivation, config: NumpyConfig | None = None) -> str:
    """Source text of the NumPy module for a derivation."""
    config = config or NumpyConfig()
    args = argument_names(d)
    check_identifiers(args, "python")
    qs = Quantities(d)
    prefix = safe_prefix("_x", args)
    printer = NumpyKernelPrinter()
    functions = [function_context(qs, q, printer, prefix, config.cse, args) for q in select(qs, config.quantities)]
    return render(
        "numpy_module.py.j2",
        model_name=d.model.name,
        order=d.order,
        method=d.method,
        sector=d.sector,
        n_min=d.n_min,
        small=d.lam.name,
        arguments=args,
        functions=functions,
        model_lines=model_lines(d),
        conventions=conventions(),
        command=config.command or default_command(d, "numpy", f"{default_stem(d)}.py"),
    )


def load_numpy_module(path_or_source: str | Path, name: str | None = None) -> types.ModuleType:
    """Import a generated module from a file path, or from its source text."""
    text = str(path_or_source)
    if "\n" not in text and Path(text).is_file():
        path = Path(text)
        spec = importlib.util.spec_from_file_location(name or path.stem, path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        return module
    module = types.ModuleType(name or "symsteady_generated")
    exec(compile(text, f"<{module.__name__}>", "exec"), module.__dict__)
    return module


def write_numpy_module(d: Derivation, path: str | Path, config: NumpyConfig | None = None) -> Path:
    """Generate and write the module atomically (never a partial file)."""
    return write_atomic(path, numpy_module(d, config))


__all__ = ["load_numpy_module", "numpy_module", "select", "write_numpy_module"]
