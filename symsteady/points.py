"""Numeric points: validation of N and parameter values, and the field a point computes in."""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Mapping

import numpy as np
import sympy

from .errors import ParameterError, RateError
from .fields import ComplexField, DomainField, Field
from .model import N, Model, parameter

Point = Mapping[str, Any]


def _real(value: Any) -> float:
    """A finite-or-not float from a number or a numeric string such as '1/2' (no names)."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, str):
        if not re.fullmatch(r"\s*[-+]?[0-9.eE+-]+(\s*/\s*[0-9.eE+-]+)?\s*", value):
            raise ValueError(value)
        return float(sympy.Rational(value.replace(" ", "")))
    if isinstance(value, complex):
        raise TypeError("complex")
    return float(value)


def point_table(model: Model, points: list[Point]) -> dict[str, np.ndarray]:
    """Validate points (N a positive integer, every parameter given and finite, rates >= 0)
    and return one float array per name (``N`` as integers)."""
    names = {p.name for p in model.parameters}
    table: dict[str, list[Any]] = {name: [] for name in ["N", *sorted(names)]}
    for i, point in enumerate(points):
        where = f" (point {i})" if len(points) > 1 else ""
        if "N" not in point:
            raise ParameterError(f"every point needs N, the number of emitters{where}")
        n = point["N"]
        try:
            n_ok = not isinstance(n, bool) and _real(n) == int(_real(n)) >= 1
        except (TypeError, ValueError, OverflowError):
            n_ok = False
        if not n_ok:
            raise ParameterError(f"N must be a positive integer, not {n!r}{where}")
        unknown = set(point) - names - {"N"}
        if unknown:
            raise ParameterError(f"unknown parameter(s) {sorted(unknown)}{where}; the model has {sorted(names)}")
        missing = names - set(point)
        if missing:
            raise ParameterError(f"missing value(s) for {sorted(missing)}{where}")
        table["N"].append(int(_real(n)))
        for name in names:
            v = point[name]
            try:
                x = _real(v)
            except (TypeError, ValueError, OverflowError):
                raise ParameterError(f"{name} = {v!r} is not a real number{where}") from None
            if not math.isfinite(x):
                raise ParameterError(f"{name} = {v!r} must be finite{where}")
            table[name].append(x)
    arrays = {k: np.array(v, dtype=int if k == "N" else float) for k, v in table.items()}
    symbols = [N, *model.parameters]
    for rate_name, rate in model.rates.items():
        if rate.free_symbols:
            values = np.broadcast_to(
                sympy.lambdify(symbols, rate, "numpy")(*[arrays[s.name] for s in symbols]), (len(points),)
            )
            bad = np.flatnonzero(~(np.asarray(values, dtype=float) >= 0))
            if bad.size:
                i = int(bad[0])
                raise RateError(f"{rate_name} = {rate} = {values[i]} is negative at point {i}")
    return arrays


def point_field(model: Model, point: Point, exact: bool = False) -> tuple[Field, Callable[[sympy.Expr], Any], dict]:
    """The field of one point (double precision, or exact Gaussian rationals), the map of model
    coefficients into it, and the parameter values as sympy substitutions."""
    point_table(model, [point])
    n = int(_real(point["N"]))
    values: dict[sympy.Symbol, Any] = {
        parameter(k): sympy.Rational(str(v)) if exact else _real(v) for k, v in point.items() if k != "N"
    }
    values[N] = n
    field = DomainField(n=n) if exact else ComplexField(n)

    def convert(expr: sympy.Expr) -> Any:
        return field.convert(sympy.sympify(expr).xreplace(values))

    return field, convert, values
