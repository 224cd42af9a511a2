"""A C99 kernel (``.c``/``.h`` pair) from a Derivation: one loop over parameter points per quantity.

For a quantity ``q`` with output components ``c1, c2, …`` the exported function is

    void PREFIX_q(size_t n, const double *N, const double *<param>, …, double *c1, double *c2, …);

reading ``n`` points from the input arrays and writing ``n`` values to each output array
(complex ρ_k coefficients as ``B_a_b_c_re``/``B_a_b_c_im`` pairs; ``cov`` as xx, xy, xz, yy,
yz, zz). ``const char *PREFIX_manifest(void)`` returns a JSON description (arguments,
quantities, components) used by :mod:`symsteady.codegen.c_loader`. The file compiles cleanly
with ``-std=c99 -O2 -Wall -Wextra -pedantic -Werror`` (tested); the loader builds it with
:data:`symsteady.codegen.config.DEFAULT_C_FLAGS`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..derivation import Derivation
from ..errors import CodegenError
from .config import CConfig
from .naming import (
    argument_names,
    conventions,
    default_command,
    default_stem,
    model_lines,
)
from .numpy_backend import select
from .printers import CKernelPrinter, function_context
from .quantities import Quantities, Quantity
from ..files import check_folder_target, write_atomic
from .render import c_name, check_identifiers, render, safe_prefix


@dataclass(frozen=True)
class CSources:
    """A generated kernel: file stem (= symbol prefix), source texts and manifest."""

    prefix: str
    c: str
    h: str
    manifest: dict[str, Any]

    def write(self, folder: str | Path) -> list[Path]:
        """Write ``PREFIX.c`` and ``PREFIX.h`` into folder (each atomically)."""
        folder = check_folder_target(folder)
        return [write_atomic(folder / f"{self.prefix}.h", self.h),
                write_atomic(folder / f"{self.prefix}.c", self.c)]


def default_prefix(d: Derivation) -> str:
    return c_name(f"symsteady_{default_stem(d)}")


def c_sources(d: Derivation, config: CConfig | None = None) -> CSources:
    """The ``.c``/``.h`` texts of the kernel for a derivation."""
    config = config or CConfig()
    args = argument_names(d)
    check_identifiers(args, "c")
    prefix = c_name(config.prefix) if config.prefix else default_prefix(d)
    qs = Quantities(d)
    chosen = select(qs, config.quantities)
    for q in chosen:
        clash = set(q.components) & set(args)
        if clash:
            raise CodegenError(f"parameter names {sorted(clash)} clash with output names of {q.name}; rename them")
    tmp = safe_prefix("ss_t", args)
    ns = safe_prefix("ss_", args)
    printer = CKernelPrinter()
    functions = [function_context(qs, q, printer, tmp, config.cse, args) for q in chosen]
    manifest = {
        "prefix": prefix,
        "model": d.model.name,
        "order": d.order,
        "method": d.method,
        "sector": d.sector,
        "n_min": d.n_min,
        "arguments": args,
        "quantities": [{"name": q.name, "kind": q.kind, "components": list(q.components),
                        "keys": [list(k) for k in q.keys]} for q in chosen],
    }
    context = dict(
        prefix=prefix,
        guard=f"{prefix.upper()}_H",
        ns=ns,
        model_name=d.model.name,
        order=d.order,
        n_min=d.n_min,
        arguments=args,
        functions=functions,
        model_lines=model_lines(d),
        conventions=conventions(),
        manifest=json.dumps(manifest, separators=(",", ":")),
        command=config.command or default_command(d, "c", default_stem(d)),
    )
    return CSources(prefix, render("c_kernel.c.j2", **context), render("c_kernel.h.j2", **context), manifest)


def write_c_sources(d: Derivation, folder: str | Path, config: CConfig | None = None) -> list[Path]:
    """Generate the kernel and write ``PREFIX.c``/``PREFIX.h`` into folder."""
    return c_sources(d, config).write(folder)
