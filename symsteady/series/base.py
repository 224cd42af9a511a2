"""What every perturbative series shares: cached orders, N_min, the closed form's denominators."""

from __future__ import annotations

from typing import Callable

import sympy

from ..algebra import Basis, Operator
from ..fields import DomainField, Field
from ..model import N, Model


class Series:
    """Shared bookkeeping: cached orders, the keys touched (for N_min), the denominators."""

    method: str

    def __init__(self, model: Model, field: Field, basis: Basis, convert: Callable[[sympy.Expr], object],
                 max_order: int):
        self.model, self.F, self.basis, self.max_order = model, field, basis, max_order
        self.convert = convert
        self._rho: list[Operator] = []
        self.denominators: list[sympy.Expr] = []
        self.n_min = 1

    def __getitem__(self, k: int) -> Operator:
        if k > self.max_order:
            raise IndexError(f"order {k} > max_order {self.max_order}")
        while len(self._rho) <= k:
            self._rho.append(self._next(len(self._rho)))
            for key in self._rho[-1]:
                self.n_min = max(self.n_min, self.basis.size(key))
        return self._rho[k]

    def _next(self, k: int) -> Operator:  # pragma: no cover - interface
        raise NotImplementedError

    def _record_denominator(self, rows: list[list[object]]) -> None:
        """Keep the factors of |det| of a solved block: the closed form fails where one vanishes."""
        if self.F.symbolic and isinstance(self.F, DomainField):
            if hasattr(self.F, "determinant_factors"):  # FLINT factors the determinant itself
                bases = self.F.determinant_factors(rows)
            else:
                det = sympy.factor(self.F.determinant(rows))
                bases = [factor.as_base_exp()[0] for factor in sympy.Mul.make_args(det)]
            for base in bases:
                if base.free_symbols and base not in self.denominators and base != N:
                    self.denominators.append(base)
