"""Lindbladians as linear maps on the orbit basis, order by order in the small parameter.

``L X = -i[H, X] + sum_p r_p D_p X`` over the model's dissipative processes
(:mod:`symsteady.processes`, ``docs/algorithm/conventions.md#conventions-processes``). Every action comes
from :mod:`symsteady.algebra`; the same terms serve the series (one key at a time) and the
exact solver (arrays of keys, :mod:`symsteady.exact.matrix`).
"""

from __future__ import annotations

from typing import Mapping

import sympy

from .algebra import Basis, Chain, Key, Operator, OrbitBasis, SymmetricBasis
from .fields import Elem, Field
from .model import Model
from .processes import BY_KEY
from .spinpoly import SpinPoly, Word


def make_basis(model: Model, field: Field) -> Basis:
    """The orbit basis B(a,b,c) when a local process is on; the symmetric (Dicke) sector
    E(a,b) for collective-only dissipation (``docs/algorithm/orbit-basis.md#orbit-symmetric``)."""
    return OrbitBasis(field) if model.has_local_processes else SymmetricBasis(field)


class Superoperator:
    """``-i[H, .]`` plus dissipators, with coefficients already in the basis' field.

    The map is a list of *terms* ``(coefficient, chain)`` (:attr:`terms`): the image of a key is
    ``sum coefficient * chain(key)``. ``on_key`` evaluates the terms on one key (the series);
    :mod:`symsteady.exact.matrix` evaluates the same terms on arrays of keys (the exact solver).
    ``rates`` maps process keys to rates; each process gives its own terms.
    """

    def __init__(self, basis: Basis, hamiltonian: Mapping[Word, Elem], rates: Mapping[str, Elem]):
        self.basis = basis
        self.hamiltonian = dict(hamiltonian)
        self.rates = {r: v for r, v in rates.items() if not basis.F.is_zero(v)}
        self._cache: dict[Key, Operator] = {}
        self._i = basis.F.convert(sympy.I)
        self.terms: list[tuple[Elem, Chain]] = self._terms()

    @property
    def is_zero(self) -> bool:
        return not self.hamiltonian and not self.rates

    def _terms(self) -> list[tuple[Elem, Chain]]:
        """``-i[H, X]`` as ``-i h w X + i h X w`` for every word w of H, then each process' terms."""
        B = self.basis
        out: list[tuple[Elem, Chain]] = []
        for word, h in self.hamiltonian.items():
            out.append((-self._i * h, B.word_chain(word, "ket")))
            out.append((self._i * h, B.word_chain(word, "bra")))
        for key, r in self.rates.items():
            out += BY_KEY[key].terms(B, r)
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


def superoperators(basis: Basis, orders: list[tuple[SpinPoly, Mapping[str, sympy.Expr]]],
                   convert) -> list[Superoperator]:
    """L_0, L_1, ... from the model's expansion; ``convert`` maps sympy coefficients into the field."""
    return [
        Superoperator(basis, {w: convert(c) for w, c in h.items()}, {r: convert(v) for r, v in rates.items()})
        for h, rates in orders
    ]
