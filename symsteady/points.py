"""Numeric points: checked once where they enter (``evaluate``, ``exact_solve``, the CLI), then
passed on as :class:`Points`; and the one parser of ``name=value`` settings.

A point is a mapping with ``N`` (a positive integer) and a value for every parameter of the
model (finite reals; numbers or numeric strings such as ``"1/2"``); every rate must be >= 0
there (0 switches a process off).
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import sympy

from .errors import ParameterError, RateError, SymsteadyError
from .fields import ComplexField, DomainField, Field
from .model import N, Model, parameter, parse

Point = Mapping[str, Any]
_NUMBER = re.compile(r"\s*[-+]?[0-9.eE+-]+(\s*/\s*[0-9.eE+-]+)?\s*")


def _real(value: Any) -> float:
    """A float from a number or a numeric string such as '1/2' (no names)."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, str):
        if not _NUMBER.fullmatch(value):
            raise ValueError(value)
        return float(sympy.Rational(value.replace(" ", "")))
    if isinstance(value, complex):
        raise TypeError("complex")
    return float(value)


def _rational(value: Any) -> sympy.Rational:
    """The exact rational a value stands for ('1/3' and Rational(1, 3) stay 1/3; a float is its
    shortest decimal repr, 0.1 -> 1/10)."""
    if isinstance(value, str):
        return sympy.Rational(value.replace(" ", ""))
    if isinstance(value, (float, np.floating)):
        return sympy.Rational(repr(float(value)))
    if isinstance(value, np.integer):
        return sympy.Integer(int(value))
    return sympy.Rational(value)


class Points:
    """Points checked against a model: ``rows`` (``N`` int, parameters float, by name) and one
    array per name (``arrays``). Raises :class:`ParameterError` or :class:`RateError` naming
    the point and the value at fault."""

    def __init__(self, model: Model, points: Sequence[Point]):
        self.model = model
        names = sorted(p.name for p in model.parameters)
        self.names = ["N", *names]
        self.rows: list[dict[str, Any]] = []
        self._given = [dict(p) for p in points]
        for i, point in enumerate(self._given):
            self.rows.append(self._check(point, names, f" (point {i})" if len(points) > 1 else ""))
        self.arrays = {k: np.array([r[k] for r in self.rows], dtype=int if k == "N" else float)
                       for k in self.names}
        self._check_rates()

    @staticmethod
    def _check(point: Point, names: list[str], where: str) -> dict[str, Any]:
        if not isinstance(point, Mapping):
            raise ParameterError(f"a point is a mapping of names to values, not {point!r}{where}")
        if "N" not in point:
            raise ParameterError(f"every point needs N, the number of emitters{where}")
        n = point["N"]
        try:
            n_ok = not isinstance(n, bool) and _real(n) == int(_real(n)) >= 1
        except (TypeError, ValueError, OverflowError):
            n_ok = False
        if not n_ok:
            raise ParameterError(f"N must be a positive integer, not {n!r}{where}")
        unknown = set(point) - set(names) - {"N"}
        if unknown:
            raise ParameterError(f"unknown parameter(s) {sorted(unknown)}{where}; the model has {names}")
        missing = set(names) - set(point)
        if missing:
            raise ParameterError(f"missing value(s) for {sorted(missing)}{where}")
        row: dict[str, Any] = {}
        for name in point:  # in the order given
            if name == "N":
                row[name] = int(_real(n))
                continue
            v = point[name]
            try:
                x = _real(v)
            except (TypeError, ValueError, OverflowError):
                raise ParameterError(f"{name} = {v!r} is not a real number{where}") from None
            if not math.isfinite(x):
                raise ParameterError(f"{name} = {v!r} must be finite{where}")
            row[name] = x
        return row

    def _check_rates(self) -> None:
        symbols = [N, *self.model.parameters]
        for key, rate in self.model.rates.items():
            if not rate.free_symbols:
                continue
            values = sympy.lambdify(symbols, rate, "numpy")(*[self.arrays[s.name] for s in symbols])
            values = np.broadcast_to(np.asarray(values, dtype=float), (len(self),))
            bad = np.flatnonzero(~(values >= 0))
            if bad.size:
                i = int(bad[0])
                raise RateError(f"{key} = {rate} = {values[i]} is negative at point {i} ({self._given[i]})")

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.rows[i]

    def subset(self, indices: Sequence[int]) -> "Points":
        """The points at the given positions (already checked)."""
        out = object.__new__(Points)
        out.model, out.names = self.model, self.names
        out.rows = [self.rows[i] for i in indices]
        out._given = [self._given[i] for i in indices]
        out.arrays = {k: v[list(indices)] for k, v in self.arrays.items()}
        return out

    def exact_values(self, i: int) -> dict[str, Any]:
        """Point i with exact rational parameter values (for arithmetic in the rationals)."""
        given = self._given[i]
        return {"N": self.rows[i]["N"], **{k: _rational(given[k]) for k in self.names[1:]}}


def check_points(model: Model, points: Sequence[Point] | Points) -> Points:
    """Check points once (a :class:`Points` passes through)."""
    return points if isinstance(points, Points) and points.model == model else Points(model, list(points))


def point_field(model: Model, values: Mapping[str, Any], exact: bool = False
                ) -> tuple[Field, Callable[[sympy.Expr], Any], dict[sympy.Symbol, Any]]:
    """The field of one checked point (double precision, or exact Gaussian rationals with
    ``exact`` and rational ``values``), the map of model coefficients into it, and the values
    as sympy substitutions."""
    n = int(values["N"])
    subs: dict[sympy.Symbol, Any] = {parameter(k): v for k, v in values.items() if k != "N"}
    subs[N] = n
    field = DomainField(n=n) if exact else ComplexField(n)

    def convert(expr: sympy.Expr) -> Any:
        return field.convert(sympy.sympify(expr).xreplace(subs))

    return field, convert, subs


# ---- settings: name=value ------------------------------------------------------------------------


def parse_setting(spec: str) -> tuple[str, sympy.Expr]:
    """``name=value`` → (name, sympy expression): a number (``0.5``, ``1/2``, ``1e6``) or an
    expression of other names (``(Jx+Jy)/2``); the one parser of ``--set`` for every command."""
    name, eq, value = spec.partition("=")
    name = name.strip()
    if not eq or not name or not value.strip():
        raise ParameterError(f"--set takes name=value, not {spec!r}")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ParameterError(f"--set {spec!r}: {name!r} is not a name")
    try:
        expr = parse(value.strip(), f"--set {name}")
    except SymsteadyError as exc:
        raise ParameterError(str(exc)) from None
    if expr.has(sympy.I) or (expr.is_number and not expr.is_finite):
        raise ParameterError(f"--set {spec!r}: {value.strip()!r} is not a finite real number")
    return name, expr


def resolve_settings(settings: Mapping[str, sympy.Expr], known: Sequence[str] = ()
                     ) -> list[tuple[str, sympy.Expr]]:
    """Settings in an order where each uses only ``known`` names and earlier settings;
    a :class:`ParameterError` names an unknown name or a circular definition."""
    done, order = set(known), []
    pending = dict(settings)
    while pending:
        ready = [k for k, e in pending.items() if {s.name for s in e.free_symbols} <= done]
        if not ready:
            name, expr = next(iter(pending.items()))
            missing = sorted({s.name for s in expr.free_symbols} - done - set(pending))
            why = f"unknown name(s) {missing}" if missing else "a circular definition"
            raise ParameterError(f"--set {name}={expr}: {why}")
        for k in ready:
            order.append((k, pending.pop(k)))
            done.add(k)
    return order


def settings_point(specs: Sequence[str], n: str | int | None = None) -> dict[str, Any]:
    """One point from ``name=value`` settings (values may use each other and N; ``n`` is N,
    e.g. ``"1e6"``): the ``--set`` of ``evaluate`` and ``plot-state``. Rational values stay
    exact (as strings such as ``"1/3"``), others become floats."""
    settings = {}
    if n is not None:
        settings["N"] = parse_setting(f"N={n}")[1]
    for spec in specs:
        name, expr = parse_setting(spec)
        if name in settings:
            raise ParameterError(f"{name} is given twice" + (" (--N and --set N=...)" if name == "N" else ""))
        settings[name] = expr
    values: dict[sympy.Symbol, Any] = {}
    out: dict[str, Any] = dict.fromkeys(settings)  # the order given, N first
    for name, expr in resolve_settings(settings):
        value = sympy.sympify(expr.xreplace(values))
        if not value.is_number:
            raise ParameterError(f"--set {name}={expr} is not a number")
        values[parameter(name)] = value
        if name == "N":
            out[name] = int(value) if value.is_Integer else str(value)
        else:
            out[name] = str(value) if value.is_Rational else float(value)
    return out
