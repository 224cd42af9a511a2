"""The points of a sweep: the Cartesian product of ``name=start:stop:count[:log]`` axes (the
first axis slowest: ``numpy`` "ij" order, so ``values.reshape(grid.shape)`` gives
``[i_axis0, i_axis1, …]``), with ``--set`` values that are numbers or expressions of the axes,
of ``N`` and of other set names — so an axis need not be a model parameter: ``--vary Jx=…
--vary Jy=… --set "J=(Jx+Jy)/2" --set "delta=(Jx-Jy)/2"`` sweeps xyz over the (Jx, Jy) plane.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import sympy

from ..errors import ParameterError, SymsteadyError
from ..model import Model, parse
from ..points import parse_setting, resolve_settings


@dataclass(frozen=True)
class Axis:
    """A varied name with ``count`` values from ``start`` to ``stop`` (both included), evenly
    spaced, or geometrically with ``scale="log"`` (start and stop of the same sign, not 0)."""

    name: str
    start: float
    stop: float
    count: int
    scale: str = "linear"

    def values(self) -> np.ndarray:
        if self.scale == "log":
            v = np.sign(self.start) * np.geomspace(abs(self.start), abs(self.stop), self.count)
        else:
            v = np.linspace(self.start, self.stop, self.count)
        if self.name == "N":
            r = np.rint(v)
            if not np.allclose(v, r) or r.min() < 1:
                raise ParameterError(f"--vary N={self.start:g}:{self.stop:g}:{self.count} gives non-integer N")
            return r.astype(int)
        return v


def parse_vary(spec: str) -> Axis:
    """``name=start:stop:count`` (or ``name=start:stop:count:log``) → :class:`Axis`."""
    name, eq, rng = spec.partition("=")
    parts = [x.strip() for x in rng.split(":")]
    scale = parts.pop() if len(parts) == 4 else "linear"
    if not eq or not name.strip() or len(parts) != 3 or scale not in ("linear", "log"):
        raise ParameterError(f"--vary takes name=start:stop:count[:log], not {spec!r}")
    try:
        start, stop = float(parse(parts[0])), float(parse(parts[1]))
        count = int(parts[2])
    except (ValueError, TypeError, SymsteadyError):
        raise ParameterError(f"--vary {spec!r}: start and stop must be numbers, count an integer") from None
    if count < 1 or not (math.isfinite(start) and math.isfinite(stop)):
        raise ParameterError(f"--vary {spec!r}: count must be >= 1 and the bounds finite")
    if scale == "log" and not start * stop > 0:
        raise ParameterError(f"--vary {spec!r}: a log axis needs start and stop of one sign, not 0")
    return Axis(name.strip(), start, stop, count, scale)


@dataclass(frozen=True)
class Grid:
    """The points of a sweep: axes (varied) and settings (numbers or expressions)."""

    model: Model
    axes: tuple[Axis, ...]
    settings: tuple[tuple[str, sympy.Expr], ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(a.count for a in self.axes)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def axis_names(self) -> list[str]:
        return [a.name for a in self.axes]

    @property
    def parameter_names(self) -> list[str]:
        """``N`` and the model's parameters, in the order the CSV writes them."""
        return ["N", *(p.name for p in self.model.parameters)]

    @property
    def extra_axes(self) -> list[str]:
        """Axes that are not model parameters (coordinates such as Jx, Jy for xyz)."""
        return [a for a in self.axis_names if a not in self.parameter_names]

    def coordinates(self) -> dict[str, np.ndarray]:
        """Axis values at every point (flattened, first axis slowest)."""
        mesh = np.meshgrid(*[a.values() for a in self.axes], indexing="ij")
        return {a.name: m.ravel() for a, m in zip(self.axes, mesh)}

    def parameters(self, coordinates: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """``N`` and every model parameter from axis values (arrays broadcast together)."""
        values: dict[str, Any] = {k: np.asarray(v) for k, v in coordinates.items()}
        shape = np.broadcast(*values.values()).shape if values else ()
        for name, expr in resolve_settings(dict(self.settings), list(values)):
            args = sorted(expr.free_symbols, key=lambda s: s.name)
            fn = sympy.lambdify(args, expr, "numpy")
            values[name] = np.broadcast_to(np.asarray(fn(*[values[a.name] for a in args]), dtype=float), shape)
        return {k: values[k] for k in self.parameter_names}

    def points(self) -> list[dict[str, Any]]:
        """One dict per point, as :func:`~symsteady.evaluation.evaluate` takes it."""
        table = self.parameters(self.coordinates())
        n = self.size
        cols = {k: np.broadcast_to(v, (n,)) for k, v in table.items()}
        out = []
        for i in range(n):
            p: dict[str, Any] = {}
            for k, v in cols.items():
                x = v[i].item()
                if k == "N":
                    if float(x) != int(round(float(x))) or x < 1:
                        raise ParameterError(f"N = {x} is not a positive integer at point {i}")
                    x = int(round(float(x)))
                p[k] = x
            out.append(p)
        return out

    def coordinate_rows(self) -> list[dict[str, Any]]:
        """Axis values of each point, as dicts (ints for N)."""
        coords = self.coordinates()
        return [{k: v[i].item() for k, v in coords.items()} for i in range(self.size)]


def make_grid(model: Model, vary: Sequence[str | Axis], sets: Mapping[str, Any] | Sequence[str] = (),
              N: int | str | None = None) -> Grid:
    """Check and build a sweep grid: every model parameter and ``N`` must be given by an axis
    or a setting, and every axis and setting must be used."""
    axes = tuple(parse_vary(v) if isinstance(v, str) else v for v in vary)
    if not axes:
        raise ParameterError("a sweep needs at least one --vary name=start:stop:count")
    if isinstance(sets, Mapping):
        settings = {k: parse_setting(f"{k}={v}")[1] for k, v in sets.items()}
    else:
        settings = dict(parse_setting(s) for s in sets)
    if N is not None:
        if "N" in settings:
            raise ParameterError("N is given twice (--N and --set N=...)")
        settings["N"] = parse_setting(f"N={N}")[1]  # 20, "20" or "1e6"
    names = [a.name for a in axes]
    dup = sorted({n for n in names if names.count(n) > 1} | (set(names) & set(settings)))
    if dup:
        raise ParameterError(f"{dup} given more than once (--vary and --set)")
    grid = Grid(model, axes, tuple(settings.items()))
    needed = set(grid.parameter_names)
    missing = sorted(needed - set(names) - set(settings))
    if missing:
        hint = " (give --N n)" if "N" in missing else ""
        raise ParameterError(f"no value for {missing}{hint}; {model.name} has parameters {grid.parameter_names}")
    used = set()
    for expr in settings.values():
        used |= {s.name for s in expr.free_symbols}
    unused = sorted((set(names) | set(settings)) - needed - used)
    if unused:
        raise ParameterError(
            f"{unused} is neither a parameter of {model.name} ({', '.join(grid.parameter_names)}) "
            "nor used in a --set expression"
        )
    resolve_settings(settings, names)
    return grid
