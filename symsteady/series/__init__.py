"""Lazy steady-state series ``rho[k]`` around the dark state: the full Liouvillian expansion
(:class:`FullSeries`, exact order by order) and the pure-state approximation (:class:`PureSeries`).

Both run on any arithmetic of :mod:`symsteady.fields` (closed forms over ``QQ(N, params)``,
exact rationals, floats or balls at a point); ``docs/algorithm/perturbation-theory.md`` explains
them. For numbers at many points and high orders, :mod:`symsteady.series.numeric` picks the
batched double-precision series (:mod:`~symsteady.series.batched`) or ball arithmetic
(:mod:`~symsteady.series.precise`) per point (``docs/algorithm/high-order.md``).
"""

from __future__ import annotations

from typing import Any, Callable

import sympy

from ..errors import DarkStateError, MethodError
from ..fields import Field
from ..model import Model
from .base import Series
from .full import FullSeries
from .pure import PureSeries

#: The perturbative methods, by name.
METHODS: dict[str, type[Series]] = {"full": FullSeries, "pure": PureSeries}


def check_perturbative(model: Model) -> None:
    """The dark state must be a steady state of L0 (local pumping, for one, excites it)."""
    for p in model.processes:
        if not p.keeps_dark:
            raise DarkStateError(
                f"{p.key} = {model.rate(p.key)} destroys the dark state, so there is no "
                "perturbation series around it; use the exact method"
            )


def make_series(model: Model, field: Field, convert: Callable[[sympy.Expr], Any], order: int,
                method: str = "full") -> Series:
    """The lazy steady-state series of a model on a field (``method``: 'full' or 'pure')."""
    if method not in METHODS:
        raise MethodError(f"unknown method {method!r}; perturbative methods: {', '.join(METHODS)}")
    check_perturbative(model)
    return METHODS[method](model, field, convert, order)


__all__ = ["METHODS", "FullSeries", "PureSeries", "Series", "check_perturbative", "make_series"]
