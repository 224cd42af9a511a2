"""The pure-state approximation: ``|psi> = |dark> + λ|psi_1> + ...`` from the non-Hermitian
``H_eff = H - (i/2) sum_k r_k L_k^dag L_k`` (Rayleigh–Schrödinger, intermediate normalisation),
``rho = |psi><psi| / <psi|psi>`` expanded in λ. A labelled approximation: it misses the mixed
part that quantum jumps add at second order (``docs/algorithm/perturbation-theory.md#pt-pure-state``).
"""

from __future__ import annotations

import sympy

from ..algebra import Key, Operator, SymmetricBasis
from ..errors import MethodError, NonUniqueSteadyStateError
from ..fields import Field, SingularBlock
from ..model import Model
from ..powerseries import PowerSeries
from ..processes import BY_KEY
from ..spinpoly import Word
from .base import Series


class PureSeries(Series):
    """``|psi><psi|/<psi|psi>`` from the non-Hermitian effective Hamiltonian (an approximation)."""

    method = "pure"

    def __init__(self, model: Model, field: Field, convert, max_order: int):
        for p in model.processes:
            if not p.annihilates_dark:
                raise MethodError(
                    f"the pure-state method cannot treat {p.key} = {model.rate(p.key)}: its jump "
                    "operator does not annihilate the dark state, so H_eff misses the damping it "
                    "causes already at first order; use method 'full'"
                )
        super().__init__(model, field, SymmetricBasis(field), convert, max_order)
        self.V = [self._heff(h, rates) for h, rates in model.expansion(max_order)]
        self._inverses: dict[Key, object] = {}
        self._psi: list[Operator] = []
        self._energy: list[object] = []
        self.psi(0)
        self._diagonal_inverse((1, 0))  # a single excitation must decay

    def _heff(self, h: dict[Word, sympy.Expr], rates: dict[str, sympy.Expr]) -> dict[Word, object]:
        """H_eff words: H plus ``-(i r/2) sum L^dag L`` of every process (e.g. local emission
        gives ``-(i gamma/2)(Sz + N/2)``, collective emission ``-(i Gamma/2) S+S-``)."""
        out = {w: self.convert(c) for w, c in h.items()}
        i_half = self.F.convert(sympy.I / 2)
        for key, r in rates.items():
            r = self.convert(r)
            for word, c in BY_KEY[key].loss(self.F.N).items():
                out[word] = out.get(word, self.F.zero) - i_half * r * c
        return out

    def _act(self, V: dict[Word, object], ket: Operator) -> Operator:
        out: Operator = {}
        for w, h in V.items():
            for k, v in self.basis.apply_left(w, ket).items():
                out[k] = out.get(k, self.F.zero) + h * v
        return out

    def psi(self, k: int) -> Operator:
        """The order-k ket correction, as E(a, 0) = |a>><<0| coefficients."""
        F, dark = self.F, self.basis.dark
        while len(self._psi) <= k:
            n = len(self._psi)
            if n == 0:
                self._psi.append({dark: F.one})
                self._energy.append(self._act(self.V[0], {dark: F.one}).get(dark, F.zero))
                continue
            rhs: Operator = {}
            energy = F.zero
            for j in range(1, n + 1):
                vpsi = self._act(self.V[j], self._psi[n - j])
                energy = energy + vpsi.get(dark, F.zero)
                for key, v in vpsi.items():
                    rhs[key] = rhs.get(key, F.zero) - v
            self._energy.append(energy)
            for j in range(1, n):
                for key, v in self._psi[n - j].items():
                    rhs[key] = rhs.get(key, F.zero) + self._energy[j] * v
            new: Operator = {}
            for key, r in rhs.items():
                if key != dark and not F.is_zero(r):
                    new[key] = r * self._diagonal_inverse(key)
            self._psi.append(new)
        return self._psi[k]

    def _diagonal_inverse(self, key: Key) -> object:
        """1 / (H_eff - E_0) on the Dicke state |a>> (H_eff conserves the excitation number)."""
        hit = self._inverses.get(key)
        if hit is None:
            F = self.F
            diag = self._act(self.V[0], {key: F.one}).get(key, F.zero) - self._energy[0]
            try:
                hit = F.inverse([[diag]])[0][0]
            except SingularBlock:
                raise NonUniqueSteadyStateError(
                    f"H_eff - E_0 vanishes on the Dicke state with {key[0]} excitation(s): it does "
                    "not decay, so the steady state is not unique"
                ) from None
            self._record_denominator([[diag]])
            self._inverses[key] = hit
        return hit

    def _next(self, k: int) -> Operator:
        F = self.F
        K = self.max_order
        psis = [self.psi(j) for j in range(K + 1)]
        if not hasattr(self, "_inv_norm"):
            norm = [F.zero] * (K + 1)
            for j in range(K + 1):
                for l in range(K + 1 - j):
                    for (a, _), x in psis[j].items():
                        y = psis[l].get((a, 0))
                        if y is not None:
                            norm[j + l] = norm[j + l] + F.conj(x) * y * F.binomial(a)
            self._inv_norm = PowerSeries(norm).inverse().c
        out: Operator = {}
        for m in range(k + 1):
            for j in range(k - m + 1):
                l = k - m - j
                for (a, _), x in psis[j].items():
                    for (b, _), y in psis[l].items():
                        key = (a, b)
                        out[key] = out.get(key, F.zero) + self._inv_norm[m] * x * F.conj(y)
        return {key: v for key, v in out.items() if not F.is_zero(v)}
