"""Where a perturbative sweep departs from the exact one: ``|perturbative − exact|`` per point
for a quantity (``xi2_R``, ``xi2_S``, ``rs_gap`` or ``theta``, whose difference is taken modulo
π), the points beyond a tolerance, and which of them lie beyond the mean-field line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import MeanFieldError, ParameterError
from ..meanfield import mean_field
from ..model import Model

QUANTITIES = ("xi2_R", "xi2_S", "rs_gap", "theta")


@dataclass
class DivergenceReport:
    """``|perturbative − exact|`` of one quantity at each point of a sweep.

    ``difference`` is NaN where either value is undefined (θ of an isotropic state);
    ``flagged`` marks points with ``difference > tolerance``; ``beyond_line`` marks points
    where the mean-field dark state is unstable (None when there is no mean-field line)."""

    quantity: str
    tolerance: float
    label: str
    points: list[dict[str, Any]]
    difference: np.ndarray
    flagged: np.ndarray
    beyond_line: np.ndarray | None

    @property
    def max_difference(self) -> float:
        d = self.difference[np.isfinite(self.difference)]
        return float(d.max()) if d.size else float("nan")

    def summary(self) -> str:
        """A few lines for a terminal: how many points diverge, the worst, the mean-field count."""
        n, k = len(self.points), int(self.flagged.sum())
        lines = [f"{self.quantity}: |{self.label} − exact| > {self.tolerance:g} at {k} of {n} points "
                 f"(max {self.max_difference:.3g})"]
        if k:
            i = int(np.flatnonzero(self.flagged)[0])
            first = ", ".join(f"{a}={_fmt(v)}" for a, v in self.points[i].items())
            lines.append(f"  first flagged point: {first} (difference {self.difference[i]:.3g})")
        if self.beyond_line is not None:
            b = int(self.beyond_line.sum())
            both = int((self.flagged & self.beyond_line).sum())
            lines.append(f"  beyond the mean-field instability line: {b} points, {both} of them flagged")
        return "\n".join(lines)


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def difference(quantity: str, a: Sequence[float | None], b: Sequence[float | None]) -> np.ndarray:
    """``|a − b|`` per point; for θ the distance modulo π (θ and θ + π are the same axis)."""
    x = np.array([np.nan if v is None else v for v in a], dtype=float)
    y = np.array([np.nan if v is None else v for v in b], dtype=float)
    d = np.abs(x - y)
    if quantity == "theta":
        d = np.mod(d, np.pi)
        d = np.minimum(d, np.pi - d)
    return d


def compare(perturbative: Sequence[Mapping[str, Any]], exact: Sequence[Mapping[str, Any]],
            tolerance: float = 0.01, quantity: str = "xi2_R", model: Model | None = None,
            coordinates: Sequence[Mapping[str, Any]] | None = None) -> DivergenceReport:
    """Compare rows of ``evaluate`` (same points, same order) from a perturbative and the exact
    method; with ``model``, also mark the points beyond its mean-field instability line.
    ``coordinates`` (default: each row's params) label the points in the summary."""
    if quantity not in QUANTITIES:
        raise ParameterError(f"unknown quantity {quantity!r}; one of {', '.join(QUANTITIES)}")
    if len(perturbative) != len(exact):
        raise ParameterError(f"{len(perturbative)} perturbative rows but {len(exact)} exact rows")
    for i, (p, e) in enumerate(zip(perturbative, exact)):
        if p["params"] != e["params"]:
            raise ParameterError(f"row {i} is at {p['params']} in one sweep and {e['params']} in the other")
    if exact and exact[0]["method"] != "exact":
        raise ParameterError("the second set of rows must come from method 'exact'")
    d = difference(quantity, [r[quantity] for r in perturbative], [r[quantity] for r in exact])
    beyond = None
    if model is not None:
        try:
            beyond = mean_field(model).unstable([r["params"] for r in exact])
        except MeanFieldError:
            beyond = None
    label = perturbative[0]["method"] if perturbative else "perturbative"
    if perturbative and perturbative[0].get("order") is not None:
        label = f"{label} order {perturbative[0]['order']}"
    points = [dict(c) for c in coordinates] if coordinates is not None else [dict(r["params"]) for r in exact]
    return DivergenceReport(quantity=quantity, tolerance=float(tolerance), label=label, points=points,
                            difference=d, flagged=np.nan_to_num(d, nan=0.0) > tolerance, beyond_line=beyond)
