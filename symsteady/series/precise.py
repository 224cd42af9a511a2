"""The series at one point in ball arithmetic (python-flint ``acb``), with certified radii.

Used where double precision cannot be trusted (the rounding estimate of
:mod:`symsteady.series.batched` is too large: collective emission near a coherent spin state,
where the order-k moments cancel by ``N^{k/2}``), and for the pure-state method. The working
precision starts at what that cancellation needs, ``64 + (K/2) log2 N`` bits, and doubles until
every coefficient's radius is below :data:`TARGET` relative to the largest coefficient of its
order (``docs/algorithm/high-order.md#representation``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import sympy

from ..fields import BallField
from ..model import Model
from ..observables import QUADRATIC_KEYS, moments_from_expectations, quadratics
from ..powerseries import PowerSeries
from ..points import point_field
from . import make_series

#: Wanted radius of a coefficient relative to the largest coefficient of its order.
TARGET = 1e-14
#: Precision (bits) beyond which a point is given up as not computable to TARGET.
MAX_PREC = 8192


@dataclass
class BallResult:
    """Midpoints (complex arrays over orders) and radii of the pieces, mean and covariance."""

    pieces: dict[str, np.ndarray]
    radius: dict[str, np.ndarray]
    mean: list[np.ndarray]
    cov: list[list[np.ndarray]]
    prec: int
    certified: bool


def _mid(x: Any) -> complex:
    return complex(float(x.real.mid()), float(x.imag.mid()))


def _rad(x: Any) -> float:
    return float(x.real.rad()) + float(x.imag.rad())


def _series_quadratics(series: Any, order: int) -> dict[str, Any]:
    """:func:`symsteady.observables.series_quadratics`, with each word's chain built once and
    only the keys near the diagonal visited (the rest cannot reach a traced key)."""
    F, B = series.F, series.basis
    chains: dict[tuple[str, ...], Any] = {}

    def moments(rho: dict) -> tuple[list[Any], list[list[Any]]]:
        def expectation(word: tuple[str, ...]) -> Any:
            chain = chains.get(word)
            if chain is None:
                chain = chains[word] = B.word_chain(word, "ket")
            reach = len(word)
            total = F.zero
            for key, x in rho.items():
                if abs(key[0] - key[1]) > reach or (len(key) == 3 and min(key[0], key[1]) - key[2] > reach):
                    continue
                for v, k in B.chain(chain, key):
                    t = B.trace(k)
                    if t is not None:
                        total = total + t * v * x
            return total

        return moments_from_expectations(F, expectation)

    per_order = [moments(series[k]) for k in range(order + 1)]
    mean = [PowerSeries([per_order[k][0][a] for k in range(order + 1)]) for a in range(3)]
    second = [[PowerSeries([per_order[k][1][a][b] for k in range(order + 1)]) for b in range(3)]
              for a in range(3)]
    out = quadratics(mean, second, F.N, lambda s: s.sqrt(F.N / 2))
    out["mean"] = mean
    return out


def ball_coefficients(model: Model, order: int, values: Mapping[str, Any], method: str = "full",
                      prec: int | None = None) -> BallResult:
    """Coefficients of the order-``order`` series at one point with exact (rational) parameter
    ``values``, in ball arithmetic at increasing precision until the radii meet :data:`TARGET`
    (``certified``) or the precision reaches :data:`MAX_PREC` (``certified`` False)."""
    import flint

    n = int(values["N"])
    if prec is None:
        prec = 64 + int(math.ceil(order / 2 * math.log2(max(n, 2)))) + 16
    _, _, subs = point_field(model, values, exact=True)
    while True:
        with flint.ctx.workprec(prec):
            field = BallField(n)

            def convert(expr: sympy.Expr) -> Any:
                return field.convert(sympy.sympify(expr).xreplace(subs))

            series = make_series(model, field, convert, order, method)
            q = _series_quadratics(series, order)
            pieces = {k: np.array([_mid(c) for c in q[k].c]) for k in QUADRATIC_KEYS}
            radius = {k: np.array([_rad(c) for c in q[k].c]) for k in QUADRATIC_KEYS}
            mean = [np.array([_mid(c) for c in s.c]) for s in q["mean"]]
            cov = [[np.array([_mid(c) for c in s.c]) for s in row] for row in q["cov"]]
        ok = True
        for tag in ("R", "S"):
            keys = [f"a_{tag}", f"b_{tag}", f"c_{tag}"]
            scale = np.max([np.abs(pieces[k]) for k in keys], axis=0)
            worst = np.max([radius[k] for k in keys], axis=0)
            ok &= bool(np.all(worst <= TARGET * scale) and np.all(np.isfinite(worst)))
        if ok or 2 * prec > MAX_PREC:
            return BallResult(pieces, radius, mean, cov, prec, ok)
        prec *= 2


__all__ = ["BallResult", "MAX_PREC", "TARGET", "ball_coefficients"]
