"""Lindbladians as linear maps on the orbit basis, order by order in the small parameter.

``L rho = -i[H, rho] + gamma sum_i D[sigma^-_i] + Gamma D[S-] + gamma_phi sum_i D[sigma^z_i]
+ gamma_p sum_i D[sigma^+_i]`` (DESIGN §2). Every action comes from :mod:`symsteady.algebra`.
"""

from __future__ import annotations

from typing import Mapping

import sympy

from .algebra import (
    Basis,
    Chain,
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
    """``-i[H, .]`` plus dissipators, with coefficients already in the basis' field.

    The map is a list of *terms* ``(coefficient, chain)`` (:attr:`terms`): the image of a key is
    ``sum coefficient * chain(key)``. ``on_key`` evaluates the terms on one key (the series);
    :mod:`symsteady.exact_matrix` evaluates the same terms on arrays of keys (the exact solver).
    """

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
        self.terms: list[tuple[Elem, Chain]] = self._terms()

    @property
    def is_zero(self) -> bool:
        return not self.hamiltonian and not self.rates

    def _terms(self) -> list[tuple[Elem, Chain]]:
        """``L X`` as ``sum coefficient * chain(X)`` (DESIGN §2, §4):

        * ``-i[H, X]``: ``-i h w X + i h X w`` for every word w of H;
        * ``Gamma D[S-]``: ``Gamma S- X S+ - Gamma/2 (S+S- X + X S+S-)``;
        * ``gamma sum_i D[sigma^-_i]``: the jump rule, ``-gamma/2`` the number rule on either side;
        * ``gamma_phi sum_i D[sigma^z_i]``: the sandwich rule minus ``gamma_phi N X``;
        * ``gamma_p sum_i D[sigma^+_i]``: sigma^- sigma^+ = 1 - sigma^+ sigma^-, so the jump rule,
          ``+gamma_p/2`` the number rule on either side and ``-gamma_p N X``.
        """
        B, N = self.basis, self.basis.F.N
        ket = lambda rule: ("ket", rule)  # noqa: E731
        bra = lambda rule: ("bra", rule)  # noqa: E731
        out: list[tuple[Elem, Chain]] = []
        for word, h in self.hamiltonian.items():
            out.append((-self._i * h, B.word_chain(word, "ket")))
            out.append((self._i * h, B.word_chain(word, "bra")))
        for rate_name, r in self.rates.items():
            if rate_name == "collective_emission":
                out.append((r, B.word_chain(("m",), "ket") + B.word_chain(("p",), "bra")))
                out.append((-r / 2, B.word_chain(("p", "m"), "ket")))
                out.append((-r / 2, B.word_chain(("p", "m"), "bra")))
            elif rate_name == "local_emission":
                out += [(r, (ket(local_emission_jump),)), (-r / 2, (ket(local_number),)),
                        (-r / 2, (bra(local_number),))]
            elif rate_name == "local_dephasing":
                out += [(r, (ket(local_dephasing_sandwich),)), (-r * N, ())]
            elif rate_name == "local_pumping":
                out += [(r, (ket(local_pumping_jump),)), (r / 2, (ket(local_number),)),
                        (r / 2, (bra(local_number),)), (-r * N, ())]
            else:  # pragma: no cover - Model validates rate names
                raise MethodError(f"unknown rate {rate_name}")
        return out

    def on_key(self, key: Key) -> Operator:
        """The image of one basis element (cached)."""
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        B = self.basis
        out: Operator = {}
        for factor, chain in self.terms:
            for v, k in B.chain(chain, key):
                out[k] = out.get(k, 0) + factor * v
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
