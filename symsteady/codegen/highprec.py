"""High-precision (mpmath) evaluation of any derived result — the reference of the kernels.

``HighPrecision(d, dps)`` evaluates the Derivation's own expressions (not the tidied forms the
kernels print) with mpmath at ``dps`` significant digits, and combines them exactly as the
kernels do (ξ² = a - sqrt(b² + c²), θ = atan2(-c, -b)/2 in (-π/2, π/2], the frame of
:func:`symsteady.observables.frame`).

Where double precision loses digits (and this module is the way to check):

* near a resonance, where one of ``Derivation.denominators`` nearly vanishes (weak decay γ
  with a detuning such as 4(J - Jz)(N - 2)/N ≈ 0 at small γ): relative errors grow like
  ``1e-16 × (size of the terms of the denominator) / |denominator|``;
* in polynomials in N whose large terms cancel: the expanded forms the derivation returns
  lose about ``log10(N^k)`` digits at large N (e.g. ``16 J² N² - 32 J Jz N² + 16 Jz² N²`` at
  J ≈ Jz). The generated kernels print factored forms (``(J - Jz)²(N - 2)²``) that avoid most
  of this, but ``sympy.lambdify`` of the raw expressions does not;
* in θ where b and c both nearly vanish (almost isotropic fluctuations): θ is then
  ill-conditioned whatever the precision of b and c; and in ξ² = a - sqrt(b² + c²) when
  ξ² ≪ 1 (the absolute error stays ~1e-16, the relative one grows like 1/ξ²).

Measured (xyz, order 2, N = 1000, γ = 1e-6, |J - Jz| <= 1e-3): ``sympy.lambdify`` of the
derived expressions is off by 1e-8 (relative) in b_R and 5e-11 in a_R; the generated kernels
by at most 1e-19. At N = 10^9 with γ = 1 both stay below 1e-14.

mpmath numbers keep their digits but print at the global precision: use
``mpmath.nstr(x, 50)`` or print inside ``mpmath.workdps(50)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mpmath
import numpy as np
import sympy

from ..derivation import Derivation
from ..errors import CodegenError, ParameterError
from .quantities import Quantities

ISOTROPIC = 1e-14  # same rule as the kernels and symsteady.observables.minimise


class HighPrecision:
    """mpmath evaluation of a derivation's quantities at ``dps`` significant digits."""

    def __init__(self, d: Derivation, dps: int = 50):
        self.d = d
        self.dps = dps
        self.quantities = Quantities(d)
        self.arguments = [s.name for s in self.quantities.arguments]
        self._functions: dict[str, Any] = {}

    def _function(self, name: str):
        if name not in self._functions:
            try:
                q = self.quantities[name]
            except KeyError:
                raise CodegenError(f"unknown quantity {name!r}; known: {', '.join(self.quantities.names)}") from None
            exprs = list(self.quantities.raw(q))
            fn = sympy.lambdify(list(self.quantities.arguments), exprs, modules="mpmath", cse=True)
            self._functions[name] = (q, fn)
        return self._functions[name]

    def evaluate(self, name: str, **params: Any) -> Any:
        """One quantity at one point: an mpf (scalar kinds), a list of 3 (mean, direction), a
        3×3 nested list (cov) or a dict orbit key -> mpc (rho_k)."""
        missing = [a for a in self.arguments if a not in params]
        unknown = sorted(set(params) - set(self.arguments))
        if missing or unknown:
            raise ParameterError(f"{name} needs {self.arguments}; missing {missing}, unknown {unknown}")
        q, fn = self._function(name)
        with mpmath.workdps(self.dps):
            args = [mpmath.mpf(params[a]) for a in self.arguments]
            values = [mpmath.mpf(v) for v in fn(*args)]
            return combine(q.kind, values, list(q.keys))

    def table(self, name: str, points: Mapping[str, Any]) -> Any:
        """A quantity over arrays of points (broadcast), rounded to float64/complex128 in the
        same layout as the generated kernels return."""
        arrays = np.broadcast_arrays(*[np.asarray(points[a], dtype=np.float64) for a in self.arguments])
        shape = arrays[0].shape
        flat = [a.reshape(-1) for a in arrays]
        rows = [self.evaluate(name, **{a: float(x[i]) for a, x in zip(self.arguments, flat)})
                for i in range(flat[0].size if flat else 1)]
        return to_numpy(self.quantities[name].kind, rows, shape)


def combine(kind: str, v: list[Any], keys: list[Any]) -> Any:
    """Combine the inputs of a quantity as the kernels do, in mpmath."""
    if kind == "scalar":
        return v[0]
    if kind == "minimum":
        return v[0] - mpmath.sqrt(v[1] ** 2 + v[2] ** 2)
    if kind == "angle":
        return angle(*v[:3])
    if kind == "vector":
        return v[:3]
    if kind == "matrix":
        xx, xy, xz, yy, yz, zz = v
        return [[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]]
    if kind == "direction":
        return direction(*v)
    if kind == "orbit":
        return {tuple(k): mpmath.mpc(v[2 * i], v[2 * i + 1]) for i, k in enumerate(keys)}
    raise CodegenError(f"unknown quantity kind {kind!r}")


def angle(a: Any, b: Any, c: Any) -> Any:
    """θ = atan2(-c, -b)/2 in (-π/2, π/2]; NaN where sqrt(b² + c²) <= 1e-14 max(1, |a|)."""
    if mpmath.sqrt(b * b + c * c) <= ISOTROPIC * max(1, abs(a)):
        return mpmath.mpf("nan")
    theta = mpmath.atan2(-c, -b) / 2
    return theta + mpmath.pi if theta <= -mpmath.pi / 2 else theta


def direction(a: Any, b: Any, c: Any, mx: Any, my: Any, mz: Any) -> list[Any]:
    """n = cos θ e1 + sin θ e2 in the frame of :func:`symsteady.observables.frame`."""
    theta = angle(a, b, c)
    if mpmath.isnan(theta):
        return [mpmath.mpf("nan")] * 3
    norm = mpmath.sqrt(mx * mx + my * my + mz * mz)
    h = [mx / norm, my / norm, mz / norm]
    p = [(1 if i == 0 else 0) - h[0] * h[i] for i in range(3)]
    if mpmath.sqrt(sum(x * x for x in p)) < 1e-12:
        p = [(1 if i == 1 else 0) - h[1] * h[i] for i in range(3)]
    pn = mpmath.sqrt(sum(x * x for x in p))
    e1 = [x / pn for x in p]
    e2 = [e1[1] * h[2] - e1[2] * h[1], e1[2] * h[0] - e1[0] * h[2], e1[0] * h[1] - e1[1] * h[0]]
    ct, st = mpmath.cos(theta), mpmath.sin(theta)
    return [ct * e1[i] + st * e2[i] for i in range(3)]


def to_numpy(kind: str, rows: list[Any], shape: tuple[int, ...]) -> Any:
    """Rows of mpmath values (one per point) as float64/complex128 arrays of the given shape."""
    if kind == "orbit":
        keys = list(rows[0]) if rows else []
        return {k: np.array([complex(r[k]) for r in rows], dtype=np.complex128).reshape(shape) for k in keys}
    arr = np.array([np.array(r, dtype=object).astype(np.float64) if isinstance(r, list) else float(r)
                    for r in rows], dtype=np.float64)
    return arr.reshape(shape + arr.shape[1:])


def max_relative_error(values: Any, reference: Any) -> float:
    """``max |value - reference| / max(1, |reference|)`` over all entries (NaN must match NaN)."""
    if isinstance(reference, dict):
        return max((max_relative_error(values[k], reference[k]) for k in reference), default=0.0)
    v, r = np.asarray(values), np.asarray(reference)
    nan_v, nan_r = np.isnan(v), np.isnan(r)
    if np.any(nan_v != nan_r):
        return float("inf")
    ok = ~nan_r
    if not np.any(ok):
        return 0.0
    return float(np.max(np.abs(v[ok] - r[ok]) / np.maximum(1.0, np.abs(r[ok]))))
