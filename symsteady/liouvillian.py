"""Lindbladians as linear maps on the orbit basis, order by order in the small parameter.

``L rho = -i[H, rho] + gamma sum_i D[sigma^-_i] + Gamma D[S-] + gamma_phi sum_i D[sigma^z_i]
+ gamma_p sum_i D[sigma^+_i]`` (DESIGN §2). Every action comes from :mod:`symsteady.algebra`.
"""

from __future__ import annotations

from typing import Mapping

import sympy

from .algebra import (
    Basis,
    Key,
    Operator,
    OrbitBasis,
    local_dephasing_sandwich,
    local_emission_jump,
    local_number,
    local_pumping_jump,
)
from .errors import MethodError
from .fields import Elem
from .model import LOCAL_RATES
from .spinpoly import Word


class Superoperator:
    """``-i[H, .]`` plus dissipators, with coefficients already in the basis' field."""

    def __init__(self, basis: Basis, hamiltonian: Mapping[Word, Elem], rates: Mapping[str, Elem]):
        self.basis = basis
        self.hamiltonian = dict(hamiltonian)
        self.rates = {r: v for r, v in rates.items() if not basis.F.is_zero(v)}
        if not isinstance(basis, OrbitBasis):
            local = [r for r in self.rates if r in LOCAL_RATES]
            if local:
                raise MethodError(f"{local[0]} acts outside the symmetric sector")
        self._cache: dict[Key, Operator] = {}
        self._i = basis.F.convert(sympy.I)

    @property
    def is_zero(self) -> bool:
        return not self.hamiltonian and not self.rates

    def on_key(self, key: Key) -> Operator:
        """The image of one basis element (cached)."""
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        B = self.basis
        out: Operator = {}

        def add(pairs, factor):
            for v, k in pairs:
                out[k] = out.get(k, 0) + factor * v

        for word, h in self.hamiltonian.items():
            add(B.left_word(word, key), -self._i * h)
            add(B.right_word(word, key), self._i * h)
        for rate_name, r in self.rates.items():
            if rate_name == "collective_emission":
                jump = {}
                for v, k in B.left_word(("m",), key):
                    for v2, k2 in B.right_word(("p",), k):
                        jump[k2] = jump.get(k2, 0) + v * v2
                add([(v, k) for k, v in jump.items()], r)
                add(B.left_word(("p", "m"), key), -r / 2)
                add(B.right_word(("p", "m"), key), -r / 2)
            elif rate_name == "local_emission":
                add(B.rule(local_emission_jump, key), r)
                add(B.rule(local_number, key), -r / 2)
                add([(v, B.swap(k)) for v, k in B.rule(local_number, B.swap(key))], -r / 2)
            elif rate_name == "local_dephasing":
                add(B.rule(local_dephasing_sandwich, key), r)
                add([(B.F.N, key)], -r)
            elif rate_name == "local_pumping":
                # sigma^- sigma^+ = 1 - sigma^+ sigma^-: anticommutator part -(N - (a+b)/2)
                add(B.rule(local_pumping_jump, key), r)
                add(B.rule(local_number, key), r / 2)
                add([(v, B.swap(k)) for v, k in B.rule(local_number, B.swap(key))], r / 2)
                add([(B.F.N, key)], -r)
        out = {k: v for k, v in out.items() if not B.F.is_zero(v)}
        self._cache[key] = out
        return out

    def apply(self, op: Operator) -> Operator:
        out: Operator = {}
        for key, x in op.items():
            for k, v in self.on_key(key).items():
                out[k] = out.get(k, 0) + v * x
        return {k: v for k, v in out.items() if not self.basis.F.is_zero(v)}


def superoperators(basis: Basis, orders: list[tuple[Mapping[Word, sympy.Expr], Mapping[str, sympy.Expr]]],
                   convert) -> list[Superoperator]:
    """L_0, L_1, ... from the model's expansion; ``convert`` maps sympy coefficients into the field."""
    return [
        Superoperator(basis, {w: convert(c) for w, c in h.items()}, {r: convert(v) for r, v in rates.items()})
        for h, rates in orders
    ]
