"""Lazy steady-state series ``rho[k]``: the full Liouvillian expansion and the pure-state one.

Full (DESIGN §3): ``L0 rho_0 = 0`` with ``rho_0 = |dark><dark|`` and
``L0 rho_k = -sum_{j>=1} L_j rho_{k-j}``, ``Tr rho_k = 0``. L0 conserves the excitation block
(a, b) up to jumps that lower both, so it is solved block by block from the highest a + b down.

Pure (a labelled approximation): ``|psi> = |dark> + λ|psi_1> + ...``, the eigenvector of
``H_eff = H - (i/2) sum_k r_k L_k^dag L_k`` continued from the dark state (Rayleigh–Schrödinger,
intermediate normalisation), and ``rho = |psi><psi| / <psi|psi>`` expanded in λ.
"""

from __future__ import annotations

from typing import Callable

import sympy

from .algebra import Basis, Key, Operator, OrbitBasis, SymmetricBasis
from .errors import DarkStateError, MethodError, NonUniqueSteadyStateError
from .fields import DomainField, Field, SingularBlock
from .liouvillian import Superoperator, superoperators
from .model import N, Model
from .powerseries import PowerSeries
from .spinpoly import Word

METHODS = ("full", "pure")


def check_perturbative(model: Model) -> None:
    """The dark state must be a steady state of L0: local pumping excites it."""
    if model.local_pumping != 0:
        raise DarkStateError(
            f"local_pumping = {model.local_pumping} destroys the dark state, so there is no "
            "perturbation series around it; use the exact method"
        )


def make_basis(model: Model, field: Field) -> Basis:
    """Orbit basis with local processes; the symmetric sector for collective-only dissipation."""
    return OrbitBasis(field) if model.has_local_processes else SymmetricBasis(field)


class _Series:
    """Shared bookkeeping: cached orders, the keys touched (for N_min), the denominators."""

    method: str

    def __init__(self, model: Model, field: Field, basis: Basis, convert: Callable[[sympy.Expr], object],
                 max_order: int):
        check_perturbative(model)
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
            det = sympy.factor(self.F.determinant(rows))
            for factor in sympy.Mul.make_args(det):
                base = factor.as_base_exp()[0]
                if base.free_symbols and base not in self.denominators and base != N:
                    self.denominators.append(base)


class FullSeries(_Series):
    """Order-by-order steady state of the full Liouvillian (exact at each order)."""

    method = "full"

    def __init__(self, model: Model, field: Field, convert, max_order: int):
        basis = make_basis(model, field)
        super().__init__(model, field, basis, convert, max_order)
        self.L: list[Superoperator] = superoperators(basis, model.expansion(max_order), convert)
        self._inverses: dict[tuple[int, int], tuple[list[Key], list[list[object]]]] = {}
        for block in ((1, 0), (0, 1), (1, 1)):  # no decay of one excitation: refuse at once
            self._block_inverse(block)

    def _block_inverse(self, block: tuple[int, int]) -> tuple[list[Key], list[list[object]]]:
        hit = self._inverses.get(block)
        if hit is not None:
            return hit
        keys = self.basis.block_keys(*block)
        index = {k: i for i, k in enumerate(keys)}
        rows = [[self.F.zero for _ in keys] for _ in keys]
        for j, k in enumerate(keys):
            for k2, v in self.L[0].on_key(k).items():
                if k2 in index:
                    rows[index[k2]][j] = rows[index[k2]][j] + v
        try:
            inv = self.F.inverse(rows)
        except SingularBlock:
            raise NonUniqueSteadyStateError(
                f"L0 is singular on the excitation block (a, b) = {block}: states with {block[0]} "
                f"excitation(s) in the ket and {block[1]} in the bra do not decay, so the steady "
                "state is not unique (is there no emission, or collective emission only outside "
                "the symmetric sector?)"
            ) from None
        self._record_denominator(rows)
        self._inverses[block] = (keys, inv)
        return keys, inv

    def solve(self, rhs: Operator) -> Operator:
        """The X with ``L0 X = rhs`` and ``Tr X = 0`` (rhs must be traceless)."""
        B, F = self.basis, self.F
        pending: dict[tuple[int, int], Operator] = {}
        for k, v in rhs.items():
            pending.setdefault(B.block(k), {})[k] = v
        X: Operator = {}
        dark_block = B.block(B.dark)
        while pending:
            block = max(pending, key=lambda b: (b[0] + b[1], b))
            r = pending.pop(block)
            if block == dark_block:
                continue  # fixed by the trace condition; consistent since Tr rhs = 0
            keys, inv = self._block_inverse(block)
            vec = [r.get(k, F.zero) for k in keys]
            for i, k in enumerate(keys):
                x = sum((inv[i][j] * vec[j] for j in range(1, len(keys))), inv[i][0] * vec[0])
                if F.is_zero(x):
                    continue
                X[k] = x
                for k2, v in self.L[0].on_key(k).items():
                    b2 = B.block(k2)
                    if b2 != block:
                        target = pending.setdefault(b2, {})
                        target[k2] = target.get(k2, F.zero) - v * x
        trace = B.tr(X)
        if not F.is_zero(trace):
            X[B.dark] = -trace
        return X

    def _next(self, k: int) -> Operator:
        if k == 0:
            return {self.basis.dark: self.F.one}
        rhs: Operator = {}
        for j in range(1, k + 1):
            if self.L[j].is_zero:
                continue
            for key, v in self.L[j].apply(self[k - j]).items():
                rhs[key] = rhs.get(key, self.F.zero) - v
        return self.solve(rhs)


class PureSeries(_Series):
    """``|psi><psi|/<psi|psi>`` from the non-Hermitian effective Hamiltonian (an approximation)."""

    method = "pure"

    def __init__(self, model: Model, field: Field, convert, max_order: int):
        if model.local_dephasing != 0:
            raise MethodError(
                f"the pure-state method cannot treat local_dephasing = {model.local_dephasing}: "
                "sigma^z does not annihilate the dark state, so H_eff misses its damping of the "
                "first-order coherences; use method 'full'"
            )
        super().__init__(model, field, SymmetricBasis(field), convert, max_order)
        self.V = [self._heff(h, rates) for h, rates in model.expansion(max_order)]
        self._inverses: dict[Key, object] = {}
        self._psi: list[Operator] = []
        self._energy: list[object] = []
        self.psi(0)
        self._diagonal_inverse((1, 0))  # a single excitation must decay

    def _heff(self, h: dict[Word, sympy.Expr], rates: dict[str, sympy.Expr]) -> dict[Word, object]:
        """H_eff words: local emission gives -(i gamma/2)(Sz + N/2), collective -(i Gamma/2) S+S-."""
        out = {w: self.convert(c) for w, c in h.items()}
        i_half = self.F.convert(sympy.I / 2)

        def add(word: Word, c) -> None:
            out[word] = out.get(word, self.F.zero) + c

        for name, r in rates.items():
            r = self.convert(r)
            if name == "local_emission":
                add(("z",), -i_half * r)
                add((), -i_half * r * self.F.N / 2)
            elif name == "collective_emission":
                add(("p", "m"), -i_half * r)
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
