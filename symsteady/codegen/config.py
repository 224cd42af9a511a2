"""Small per-backend configuration objects (one per target, in the spirit of SymForce)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: the loader's flags: the kernel also compiles warning-free with -std=c99 -O2 -Wall -Werror;
#: -O3 -fno-math-errno let gcc vectorise the loops (sqrt without errno), IEEE semantics kept
DEFAULT_C_FLAGS = ("-std=c99", "-O3", "-fno-math-errno", "-Wall", "-Werror")


@dataclass(frozen=True)
class NumpyConfig:
    """NumPy module: ``cse`` shares common subexpressions inside each function;
    ``quantities`` restricts the functions emitted (None: all); ``command`` is recorded in the
    docstring as the command that generated the module (None: the equivalent CLI command)."""

    cse: bool = True
    quantities: tuple[str, ...] | None = None
    command: str | None = None


@dataclass(frozen=True)
class CConfig:
    """C99 kernel: ``prefix`` of every exported symbol and of the file names (None:
    ``symsteady_<model>_o<order>``); ``compiler`` (None: ``$CC``, else ``cc`` or ``gcc``) and
    ``flags`` used by the loader; ``cse`` and ``quantities`` as for NumPy."""

    prefix: str | None = None
    cse: bool = True
    quantities: tuple[str, ...] | None = None
    command: str | None = None
    compiler: str | None = None
    flags: tuple[str, ...] = DEFAULT_C_FLAGS


@dataclass(frozen=True)
class LatexConfig:
    """LaTeX: ``line_width`` is the target width of one typeset line, in average math
    characters (estimated from the source); longer sums and products are broken across lines.
    ``symbol_names`` overrides how a parameter prints (e.g. ``{"Jz": "J_{z}"}``; the default
    rule is :func:`symsteady.codegen.latex.typeset_name`); ``name_denominators`` writes shared
    multi-term denominators as D_1, D_2, … defined once; ``conjugate_pairs`` prints only the
    ρ_k coefficients with a >= b (the others are complex conjugates, ρ_k being Hermitian)."""

    line_width: int = 60
    symbol_names: Mapping[str, str] = field(default_factory=dict)
    name_denominators: bool = True
    conjugate_pairs: bool = True
    command: str | None = None
