"""Closed-form steady states and squeezing, symbolic in N and in the couplings.

``derive(model, order, method)`` runs the series of :mod:`symsteady.series` over the field
``QQ(N, params)`` and returns a :class:`Derivation`: the orbit coefficients of each rho_k and
the consistent order-K squeezing expressions (DESIGN §3), with the N from which they hold and
the denominators that must not vanish.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

import sympy

from .algebra import Key
from .errors import MethodError
from .fields import DomainField, Field
from .model import N, Model
from .observables import QUADRATIC_KEYS, minimise, series_quadratics
from .series import METHODS, FullSeries, PureSeries

LAMBDA = sympy.Symbol("lambda", real=True)


def make_series(model: Model, field: Field, convert: Callable[[sympy.Expr], Any], order: int,
                method: str = "full"):
    """The lazy steady-state series of a model on a field ('full' or 'pure')."""
    if method not in METHODS:
        raise MethodError(f"unknown method {method!r}; perturbative methods: {', '.join(METHODS)}")
    cls = FullSeries if method == "full" else PureSeries
    return cls(model, field, convert, order)


def expansion_symbol(model: Model) -> sympy.Symbol:
    """λ: the small parameter itself, or a formal λ (set to 1) on the U(1)-breaking part."""
    return model.small if model.small is not None else LAMBDA


@dataclass
class Derivation:
    """Closed-form results of the order-K perturbative steady state.

    ``pieces`` holds a, b, c of ξ²_R and ξ²_S and rs_gap (polynomials of degree K in λ) from
    which ``xi2_R = a_R - sqrt(b_R² + c_R²)``. Formulas hold for ``N >= n_min`` and where no
    expression in ``denominators`` vanishes.
    """

    model: Model
    order: int
    method: str
    sector: str
    lam: sympy.Symbol
    n_min: int
    denominators: list[sympy.Expr]
    rho: list[dict[Key, sympy.Expr]]
    mean: list[sympy.Expr]
    cov: list[list[sympy.Expr]]
    pieces: dict[str, sympy.Expr]
    parameters: tuple[sympy.Symbol, ...] = field(default=())

    @cached_property
    def xi2_R(self) -> sympy.Expr:
        return minimise(self.pieces["a_R"], self.pieces["b_R"], self.pieces["c_R"], sympy)[0]

    @cached_property
    def xi2_S(self) -> sympy.Expr:
        return minimise(self.pieces["a_S"], self.pieces["b_S"], self.pieces["c_S"], sympy)[0]

    @cached_property
    def theta(self) -> sympy.Expr:
        return minimise(self.pieces["a_R"], self.pieces["b_R"], self.pieces["c_R"], sympy)[1]

    @property
    def rs_gap(self) -> sympy.Expr:
        return self.pieces["rs_gap"]

    def coefficients(self, name: str) -> list[sympy.Expr]:
        """Order-by-order coefficients (factored) of a piece, e.g. ``'b_R'``."""
        poly = sympy.Poly(self.pieces[name], self.lam)
        return [sympy.factor(poly.coeff_monomial(self.lam**k)) for k in range(self.order + 1)]

    def at_lambda_one(self, expr: sympy.Expr) -> sympy.Expr:
        return expr.subs(LAMBDA, 1) if self.lam == LAMBDA else expr

    def _repr_latex_(self) -> str:
        """Notebook rendering: a_R, b_R, c_R, ξ²_R and the named denominators (symsteady.codegen.latex)."""
        from .codegen.latex import typeset

        return typeset(self)._repr_latex_()


def derive(model: Model, order: int = 2, method: str = "full") -> Derivation:
    """Closed-form order-``order`` steady state and squeezing of ``model``."""
    if order < 0:
        raise MethodError(f"order must be >= 0, not {order}")
    lam = expansion_symbol(model)
    params = tuple(p for p in model.parameters if p != model.small)
    F = DomainField([N, *params], n=N)
    series = make_series(model, F, F.convert, order, method)
    q = series_quadratics(series, order)

    def poly(ps) -> sympy.Expr:
        return sympy.Add(*[F.to_sympy(c) * lam**k for k, c in enumerate(ps.c)])

    rho = [{k: F.to_sympy(v) for k, v in series[j].items() if v} for j in range(order + 1)]
    return Derivation(
        model=model,
        order=order,
        method=method,
        sector=series.basis.name,
        lam=lam,
        n_min=series.n_min,
        denominators=series.denominators,
        rho=rho,
        mean=[poly(m) for m in q["mean"]],
        cov=[[poly(c) for c in row] for row in q["cov"]],
        pieces={k: poly(q[k]) for k in QUADRATIC_KEYS},
        parameters=model.parameters,
    )
