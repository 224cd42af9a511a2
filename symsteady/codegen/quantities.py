"""The quantities a generated kernel exposes, read off a :class:`~symsteady.derivation.Derivation`.

Every quantity is a list of real sympy expressions (its *inputs*, sharing one CSE) and a *kind*
that says how the backends combine them (``docs/algorithm/conventions.md``, the conventions of
:mod:`symsteady.observables`):

* ``scalar``: the one input (``a_R``, …, ``rs_gap``);
* ``minimum``: ``a - sqrt(b² + c²)`` from ``(a, b, c)`` (ξ²_R, ξ²_S);
* ``angle``: ``θ = atan2(-c, -b)/2`` in (-π/2, π/2] from ``(a, b, c)``, NaN where
  ``sqrt(b² + c²) <= 1e-14 max(1, |a|)`` (isotropic, no preferred direction);
* ``vector`` (mean spin, 3 inputs), ``matrix`` (covariance, 6 inputs xx, xy, xz, yy, yz, zz);
* ``direction``: ``n = cos θ e1 + sin θ e2`` from ``(a, b, c, m_x, m_y, m_z)``, with the frame
  of :func:`symsteady.observables.frame`;
* ``orbit``: the coefficients of ρ_k on the orbit basis, as (real, imaginary) input pairs.

Without a ``small`` parameter the formal λ is set to 1. ``raw`` inputs are the Derivation's
expressions (the high-precision reference); ``tidy`` inputs the same values in the form the
backends print (:mod:`symsteady.codegen.tidy`).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from ..algebra import Key
from ..derivation import Derivation
from ..model import N
from ..observables import AXES
from .tidy import real_imag, tidy_series

KINDS = ("scalar", "minimum", "angle", "vector", "matrix", "direction", "orbit")
COV_PAIRS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))
PIECE_DOCS = {
    "a_R": "a of xi2_R(theta) = a + b cos(2 theta) + c sin(2 theta) (Wineland, P = N/|m|**2)",
    "b_R": "b of xi2_R(theta) = a + b cos(2 theta) + c sin(2 theta) (Wineland)",
    "c_R": "c of xi2_R(theta) = a + b cos(2 theta) + c sin(2 theta) (Wineland)",
    "a_S": "a of xi2_S(theta) = a + b cos(2 theta) + c sin(2 theta) (Kitagawa-Ueda, P = 4/N)",
    "b_S": "b of xi2_S(theta) (Kitagawa-Ueda)",
    "c_S": "c of xi2_S(theta) (Kitagawa-Ueda)",
    "rs_gap": "minimal-uncertainty gap 4 det(C_perp)/|m|**2 - 1 (0 for a minimal-uncertainty state)",
}


@dataclass(frozen=True)
class Quantity:
    """One generated function: its name, doc line, kind, C output components and inputs.

    ``source`` holds the Derivation's expressions (polynomials in λ, or ρ_k coefficient parts).
    """

    name: str
    doc: str
    kind: str
    components: tuple[str, ...]
    source: tuple[sympy.Expr, ...]
    keys: tuple[Key, ...] = ()


def orbit_label(key: Key) -> str:
    """``B_2_0_0`` for B(2,0,0) (permutation-invariant), ``E_1_1`` for E(1,1) (symmetric)."""
    return ("B_" if len(key) == 3 else "E_") + "_".join(str(i) for i in key)


def orbit_name(key: Key) -> str:
    """``B(2,0,0)`` or ``E(1,1)``."""
    return ("B" if len(key) == 3 else "E") + "(" + ",".join(str(i) for i in key) + ")"


class Quantities:
    """The quantities of a derivation, in a fixed order, with tidy inputs computed once."""

    def __init__(self, d: Derivation):
        self.d = d
        self.formal = d.formal
        self.arguments: tuple[sympy.Symbol, ...] = (N, *d.parameters)
        self._series_cache: dict[sympy.Expr, sympy.Expr] = {}
        self._tidy_cache: dict[str, tuple[sympy.Expr, ...]] = {}
        self.items: list[Quantity] = self._build()

    def __iter__(self):
        return iter(self.items)

    def __getitem__(self, name: str) -> Quantity:
        for q in self.items:
            if q.name == name:
                return q
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [q.name for q in self.items]

    def at_one(self, expr: sympy.Expr) -> sympy.Expr:
        """The expression with a formal λ set to 1 (unchanged with a small parameter)."""
        return self.d.at_lambda_one(expr)

    def raw(self, q: Quantity) -> tuple[sympy.Expr, ...]:
        """Inputs of q as derived (λ = 1 if formal): the high-precision reference."""
        return tuple(self.at_one(e) for e in q.source)

    def tidy(self, q: Quantity) -> tuple[sympy.Expr, ...]:
        """Inputs of q in printable form (:mod:`symsteady.codegen.tidy`), same values as ``raw``."""
        if q.name not in self._tidy_cache:
            self._tidy_cache[q.name] = tuple(self._tidy_one(e) for e in q.source)
        return self._tidy_cache[q.name]

    def _tidy_one(self, expr: sympy.Expr) -> sympy.Expr:
        if expr not in self._series_cache:
            self._series_cache[expr] = (tidy_series(expr, self.d.lam, self.formal)
                                        if expr.free_symbols else expr)
        return self._series_cache[expr]

    def _build(self) -> list[Quantity]:
        d = self.d
        p = d.pieces
        order = f"order {d.order} in {d.lam}"
        out = [
            Quantity("xi2_R", f"Wineland squeezing xi2_R = a_R - sqrt(b_R**2 + c_R**2), {order}",
                     "minimum", ("xi2_R",), (p["a_R"], p["b_R"], p["c_R"])),
            Quantity("xi2_S", f"Kitagawa-Ueda squeezing xi2_S = a_S - sqrt(b_S**2 + c_S**2), {order}",
                     "minimum", ("xi2_S",), (p["a_S"], p["b_S"], p["c_S"])),
            Quantity("theta", "Squeezing angle theta = atan2(-c_R, -b_R)/2 in (-pi/2, pi/2], NaN if isotropic",
                     "angle", ("theta",), (p["a_R"], p["b_R"], p["c_R"])),
            Quantity("direction", "Squeezed direction n = cos(theta) e1 + sin(theta) e2 (unit vector, last axis)",
                     "direction", tuple(f"direction_{a}" for a in AXES),
                     (p["a_R"], p["b_R"], p["c_R"], *d.mean)),
            Quantity("mean", f"Mean spin m = <S> (last axis x, y, z), {order}", "vector",
                     tuple(f"mean_{a}" for a in AXES), tuple(d.mean)),
            Quantity("cov", f"Covariance C_ab = <{{S_a, S_b}}>/2 - m_a m_b (last two axes), {order}",
                     "matrix", tuple(f"cov_{AXES[i]}{AXES[j]}" for i, j in COV_PAIRS),
                     tuple(d.cov[i][j] for i, j in COV_PAIRS)),
        ]
        out += [Quantity(k, f"{PIECE_DOCS[k]}, {order}", "scalar", (k,), (p[k],)) for k in PIECE_DOCS]
        for k, rho in enumerate(d.rho):
            keys = tuple(sorted(rho))
            source: list[sympy.Expr] = []
            comps: list[str] = []
            for key in keys:
                source += list(real_imag(rho[key]))
                comps += [f"{orbit_label(key)}_re", f"{orbit_label(key)}_im"]
            out.append(Quantity(f"rho_{k}", f"Orbit coefficients of rho_{k} (complex), keyed by orbit",
                                "orbit", tuple(comps), tuple(source), keys))
        return out
