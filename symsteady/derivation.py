"""Closed-form steady states and squeezing, symbolic in N and in the couplings.

``derive(model, order, method)`` runs the series of :mod:`symsteady.series` over the field
``QQ(N, params)`` (python-flint rational functions, :class:`symsteady.fields.FlintField`;
a progress bar on stderr when it is a terminal) and returns a :class:`Derivation`: the orbit coefficients of each rho_k and
the consistent order-K squeezing expressions (``docs/algorithm/squeezing.md``), with the N
from which they hold and the denominators that must not vanish.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any
from functools import cached_property

import sympy

from .algebra import Key
from .errors import MethodError
from .fields import FlintField
from .model import N, Model
from .observables import QUADRATIC_KEYS, minimise, series_quadratics
from .series import make_series


@dataclass
class Derivation:
    """Closed-form results of the order-K perturbative steady state (made by :func:`derive`).

    Attributes
    ----------
    rho : list of dict
        ``rho[k]`` maps orbit keys to the coefficients of ρ_k: ``(a, b, c)`` for B(a,b,c), or
        ``(a, b)`` for E(a,b) in the symmetric sector (``sector``).
    pieces : dict
        a, b, c of ξ²_R and ξ²_S (``"a_R"`` …) and ``"rs_gap"``, polynomials of degree K in
        ``lam``; ``xi2_R = a_R - sqrt(b_R² + c_R²)`` (``docs/algorithm/squeezing.md``).
    mean, cov
        Mean spin and covariance, polynomials of degree K in ``lam``.
    n_min : int
        The formulas hold for N >= n_min (every orbit element they use exists) …
    denominators : list
        … and where none of these expressions vanishes.
    lam : sympy.Symbol
        The small parameter, or the formal ``lambda`` (``formal``: results at λ = 1).
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
    #: rho_k and the order-by-order coefficients of the pieces with real and imaginary parts
    #: factored (by FLINT, at derivation time), for display
    rho_factored: list[dict[Key, sympy.Expr]] = field(default_factory=list)
    factored_pieces: dict[str, list[sympy.Expr]] = field(default_factory=dict)
    #: the same for the mean spin (``[axis][order]``) and the covariance (``[a][b][order]``)
    factored_mean: list[list[sympy.Expr]] = field(default_factory=list)
    factored_cov: list[list[list[sympy.Expr]]] = field(default_factory=list)

    @cached_property
    def xi2_R(self) -> sympy.Expr:
        """Wineland squeezing ``a_R - sqrt(b_R² + c_R²)`` to order K."""
        return minimise(self.pieces["a_R"], self.pieces["b_R"], self.pieces["c_R"], sympy)[0]

    @cached_property
    def xi2_S(self) -> sympy.Expr:
        """Kitagawa–Ueda squeezing ``a_S - sqrt(b_S² + c_S²)`` to order K."""
        return minimise(self.pieces["a_S"], self.pieces["b_S"], self.pieces["c_S"], sympy)[0]

    @cached_property
    def theta(self) -> sympy.Expr:
        """Squeezing angle ``atan2(-c_R, -b_R)/2`` in the frame of ``docs/algorithm/conventions.md#conventions-squeezing``."""
        return minimise(self.pieces["a_R"], self.pieces["b_R"], self.pieces["c_R"], sympy)[1]

    @property
    def rs_gap(self) -> sympy.Expr:
        """Minimal-uncertainty gap ``4 det C⊥ / |m|² - 1`` to order K."""
        return self.pieces["rs_gap"]

    def coefficients(self, name: str) -> list[sympy.Expr]:
        """Order-by-order coefficients (factored) of a piece, e.g. ``'b_R'``."""
        if name in self.factored_pieces:
            return list(self.factored_pieces[name])
        poly = sympy.Poly(self.pieces[name], self.lam)
        return [sympy.factor(poly.coeff_monomial(self.lam**k)) for k in range(self.order + 1)]

    @property
    def formal(self) -> bool:
        """Whether λ is formal (the model has no small parameter): results hold at λ = 1."""
        return self.model.formal

    def at_lambda_one(self, expr: sympy.Expr) -> sympy.Expr:
        """The expression at λ = 1 when λ is formal (unchanged with a small parameter)."""
        return expr.subs(self.lam, 1) if self.formal else expr


def progress(total: int, label: str) -> Any:
    """A tqdm bar on stderr, shown only when stderr is a terminal."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=label, unit="step", disable=not sys.stderr.isatty(), file=sys.stderr,
                leave=False)


def derive(model: Model, order: int = 2, method: str = "full") -> Derivation:
    """Closed-form steady state and squeezing to order K, symbolic in N and the couplings.

    Parameters
    ----------
    model : Model
        A model whose dark state is a steady state of its U(1)-symmetric part.
    order : int
        The order K in the small parameter (or in the formal λ).
    method : {"full", "pure"}
        ``full``: the Liouvillian expansion, exact order by order; ``pure``: the pure-state
        (non-Hermitian H_eff) approximation, which misses the quantum-jump part from order 2
        on (``docs/algorithm/perturbation-theory.md``).

    Returns
    -------
    Derivation

    Raises
    ------
    DarkStateError
        A process destroys the dark state (local pumping).
    NonUniqueSteadyStateError
        Some excitation block does not decay (no emission).
    MethodError
        An unknown method, or ``pure`` with a process whose jumps do not annihilate the dark state.

    Examples
    --------
    >>> import sympy
    >>> from symsteady import builtin, derive
    >>> d = derive(builtin("tfi"), 1)            # ξ²_R = 1 - 4|Jx|(N-1)/(N sqrt(4Δ² + γ²))
    >>> b, c = d.coefficients("b_R")[1], d.coefficients("c_R")[1]
    >>> d.n_min, sympy.factor(b**2 + c**2)
    (2, 16*(N - 1)**2/(N**2*(4*Delta**2 + gamma**2)))
    """
    if order < 0:
        raise MethodError(f"order must be >= 0, not {order}")
    lam = model.lam
    params = tuple(p for p in model.parameters if p != model.small)
    F = FlintField([N, *params], n=N)
    series = make_series(model, F, F.convert, order, method)
    with progress(order + 2, f"derive {model.name} order {order}") as bar:
        for k in range(order + 1):
            series[k]
            bar.update(1)
        q = series_quadratics(series, order)
        bar.update(1)

    def poly(ps) -> sympy.Expr:
        return sympy.Add(*[F.to_sympy(c) * lam**k for k, c in enumerate(ps.c)])

    def factored(ps) -> list[sympy.Expr]:
        return [sympy.re(F.factored(c)) if not c.im else F.factored(c) for c in ps.c]

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
        rho_factored=[{k: F.factored(v) for k, v in series[j].items() if v} for j in range(order + 1)],
        factored_pieces={k: factored(q[k]) for k in QUADRATIC_KEYS},
        factored_mean=[factored(m) for m in q["mean"]],
        factored_cov=[[factored(c) for c in row] for row in q["cov"]],
    )
