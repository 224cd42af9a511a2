"""Names and descriptions shared by the generated files: argument lists, commands, summaries."""

from __future__ import annotations

import shlex

from ..derivation import Derivation
from ..models import BUILTIN
from .tidy import tidy


def argument_names(d: Derivation) -> list[str]:
    """Keyword arguments of every generated function: ``N`` then the model's parameters."""
    return ["N", *[p.name for p in d.parameters]]


def default_command(d: Derivation, lang: str, output: str | None = None) -> str:
    """The CLI command that generates this output (model by built-in name, else its name)."""
    model = d.model.name if d.model.name in BUILTIN else f"{d.model.name}.toml"
    parts = ["symsteady", "generate", model, "--order", str(d.order), "--lang", lang]
    if d.method != "full":
        parts += ["--method", d.method]
    if output:
        parts += ["-o", output]
    return shlex.join(parts)


def default_stem(d: Derivation) -> str:
    """``xyz_o2`` (``xyz_o2_pure`` for the pure-state method)."""
    stem = f"{d.model.name}_o{d.order}"
    return stem if d.method == "full" else f"{stem}_{d.method}"


def conventions() -> list[str]:
    """The conventions every generated file states (``docs/algorithm/conventions.md``), as short lines."""
    return [
        "S_a = (1/2) sum_i sigma^a_i, Sp = Sx + i Sy = sum_i sigma^+_i, sigma^+ = |up><down|;",
        "the dark state has Sz = -N/2.",
        "drho/dt = -i[H, rho] + sum_k r_k D[L_k] rho, D[L]rho = L rho L^dag - {L^dag L, rho}/2.",
        "m = <S>, C_ab = <{S_a, S_b}>/2 - m_a m_b; xi2_R = N min_{n perp m} n.C.n / |m|^2,",
        "xi2_S = 4 min_{n perp m} n.C.n / N; n = cos(theta) e1 + sin(theta) e2, e1 the normalised",
        "projection of x on the plane perp m (y if m || x), e2 = e1 x m/|m|; theta in (-pi/2, pi/2],",
        "NaN when isotropic; rs_gap = 4 det(C_perp)/|m|^2 - 1.",
        "Order-K squeezing is a consistent expansion: a, b, c of a + b cos 2theta + c sin 2theta",
        "are expanded to order K as a whole, then xi2 = a - sqrt(b^2 + c^2).",
    ]


def model_lines(d: Derivation) -> list[str]:
    """Model, method, order, validity — for headers and docstrings."""
    lam = d.lam.name
    formal = d.formal
    lines = [
        d.model.summary(),
        (f"method {d.method} ({'Liouvillian expansion' if d.method == 'full' else 'pure-state approximation'}), "
         f"order {d.order} in {lam}{' (formal lambda set to 1)' if formal else ''}, sector {d.sector}"),
        f"holds for N >= {d.n_min} where no denominator vanishes:",
    ]
    lines += [f"  {tidy(den)}" for den in d.denominators] or ["  (none)"]
    return lines
