"""The full Liouvillian expansion: ``L0 rho_k = -sum_{j>=1} L_j rho_{k-j}``, ``Tr rho_k = 0``.

L0 conserves the excitation block (a, b) up to jumps that lower both, so it is solved block by
block from the highest a + b down, the dark-state coefficient fixed last by the trace
(``docs/algorithm/perturbation-theory.md#pt-order-equations``).
"""

from __future__ import annotations

import heapq

from ..algebra import Key, Operator
from ..errors import NonUniqueSteadyStateError
from ..fields import Field, SingularBlock
from ..liouvillian import Superoperator, make_basis, superoperators
from ..model import Model
from .base import Series


class FullSeries(Series):
    """Order-by-order steady state of the full Liouvillian (exact at each order)."""

    method = "full"

    def __init__(self, model: Model, field: Field, convert, max_order: int):
        basis = make_basis(model, field)
        super().__init__(model, field, basis, convert, max_order)
        self.L: list[Superoperator] = superoperators(basis, model.expansion(max_order), convert)
        self._inverses: dict[tuple[int, int], tuple[list[Key], list[list[object]]]] = {}
        self._rows: dict[tuple[int, int], list[list[object]]] = {}
        self._recorded: set[tuple[int, int]] = set()
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
        self._inverses[block] = (keys, inv)
        self._rows[block] = rows
        return keys, inv

    def _used_inverse(self, block: tuple[int, int]) -> tuple[list[Key], list[list[object]]]:
        """The inverse of a block used by the closed form: its determinant's factors recorded
        (the blocks only checked at construction are not denominators of the result)."""
        out = self._block_inverse(block)
        if block not in self._recorded:
            self._recorded.add(block)
            self._record_denominator(self._rows[block])
        return out

    def solve(self, rhs: Operator) -> Operator:
        """The X with ``L0 X = rhs`` and ``Tr X = 0`` (rhs must be traceless)."""
        B, F = self.basis, self.F
        pending: dict[tuple[int, int], Operator] = {}
        for k, v in rhs.items():
            pending.setdefault(B.block(k), {})[k] = v
        # blocks by decreasing (a + b, block): L0 only feeds lower a + b, so a heap suffices
        heap = [(-(b[0] + b[1]), (-b[0], -b[1])) for b in pending]
        heapq.heapify(heap)
        X: Operator = {}
        dark_block = B.block(B.dark)
        while heap:
            _, (ma, mb) = heapq.heappop(heap)
            block = (-ma, -mb)
            r = pending.pop(block)
            if block == dark_block:
                continue  # fixed by the trace condition; consistent since Tr rhs = 0
            keys, inv = self._used_inverse(block)
            vec = [r.get(k, F.zero) for k in keys]
            for i, k in enumerate(keys):
                x = sum((inv[i][j] * vec[j] for j in range(1, len(keys))), inv[i][0] * vec[0])
                if F.is_zero(x):
                    continue
                X[k] = x
                for k2, v in self.L[0].on_key(k).items():
                    b2 = B.block(k2)
                    if b2 != block:
                        if b2 not in pending:
                            heapq.heappush(heap, (-(b2[0] + b2[1]), (-b2[0], -b2[1])))
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
