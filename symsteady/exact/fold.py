"""The Hermitian fold: the complex system ``L̂ x̂ = b`` as a real one of the same dimension.

L maps Hermitian operators to Hermitian ones, and the adjoint of an orbit element swaps its
first two labels, ``B(a, b, c)^† = B(b, a, c)`` (symmetric sector: ``E(a, b)^† = E(b, a)``),
with the same Hilbert–Schmidt norm. So with ``σ`` that swap, the antilinear map
``(J x)_j = conj(x_σj)`` commutes with L̂, and the steady state is J-invariant:
``x̂_σj = conj(x̂_j)`` (``docs/algorithm/exact-convergence.md#convergence-fold``).

Unknowns: a label with ``a = b`` (charge 0, its own partner) keeps one real unknown ``x_j``;
a pair ``j, σj`` with ``a > b`` at ``j`` gets two, ``y + i z = x_j`` and ``y - i z = x_σj``. In
matrix form ``x = T w`` (``T`` the unfold), and the real matrix is ``M = D T^H L̂ T`` with
``D = diag(1/2 on pairs, 1 on fixed labels)``; its rows are the real and imaginary parts of the
rows ``a >= b`` of ``L̂ T``, so M is real by construction (L̂'s own rounding asymmetry stays
in the residual, which is taken with L̂ itself). Then for any right-hand side
``L̂^-1 r = T M^-1 (D T^H r)`` and ``L̂^-H r = T D M^-T (T^H r)``: one real factorisation
serves the solves of the direct path, the refinement and the condition estimate.

The folded unknowns are ordered as their labels ``a >= b`` in the key order (a pair's ``y, z``
adjacent), so the dark state (last key, fixed) and the trace row stay last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.sparse

from .space import KeySpace


@dataclass
class HermitianFold:
    """The fold of one CSC pattern of L̂ over ``space``: ``matrix(A)`` gives M (real CSC, on a
    fixed pattern, so an analysed factorisation is reused across points), ``fold(r) = D T^H r``
    and ``unfold(w) = T w``; ``coordinates`` are the folded unknowns' labels (each pair's
    ``(a, b, ...)`` with ``a > b`` twice) for a geometric ordering."""

    space: KeySpace
    upper: np.ndarray  # positions j with a > b (their partner σj has a < b)
    partner: np.ndarray  # σj for each of upper
    fixed: np.ndarray  # positions with a = b
    y: np.ndarray  # folded position of each upper label's real part (its imaginary part: y + 1)
    f_fixed: np.ndarray  # folded position of each fixed label
    indices: np.ndarray
    indptr: np.ndarray
    gather: scipy.sparse.csr_matrix  # M.data = gather @ [Re A.data, Im A.data]
    half: np.ndarray  # the diagonal D

    @classmethod
    def of(cls, space: KeySpace, A: scipy.sparse.csc_matrix) -> "HermitianFold":
        """The fold of A's pattern (CSC with sorted indices, as the pieces give it)."""
        n = space.dim
        a, b = space.labels[0], space.labels[1]
        sigma = space.index((b, a, *space.labels[2:]))
        if sigma.min(initial=0) < 0:  # pragma: no cover - every sector is closed under the swap
            raise ValueError("the charge sector is not closed under the adjoint")
        is_upper, is_fixed = a > b, a == b
        width = np.where(is_upper, 2, np.where(is_fixed, 1, 0))
        start = np.cumsum(width) - width
        home = np.where(a < b, sigma, np.arange(n))
        f = start[home]  # folded position of each label's real part
        zsign = np.where(a < b, -1.0, 1.0)  # x_σj = y - i z

        cols = np.repeat(np.arange(n), np.diff(A.indptr))
        rows = np.asarray(A.indices)
        k = np.arange(len(rows))
        keep = a[rows] >= b[rows]  # rows a < b are the conjugates of their partners'
        rows, cols, k = rows[keep], cols[keep], k[keep]
        nnz = A.nnz
        re, im = k, k + nnz
        R, up_r = f[rows], is_upper[rows]
        Y, has_z = f[cols], ~is_fixed[cols]
        zs = zsign[cols]
        # M[Re_i, y_j] += Re A_ij, M[Im_i, y_j] += Im A_ij; z_j carries ±i A_ij
        parts = [(R, Y, re, np.ones(len(k))),
                 (R[up_r] + 1, Y[up_r], im[up_r], np.ones(int(up_r.sum()))),
                 (R[has_z], Y[has_z] + 1, im[has_z], -zs[has_z])]
        both = up_r & has_z
        parts.append((R[both] + 1, Y[both] + 1, re[both], zs[both]))
        mr, mc, src, sign = (np.concatenate([p[i] for p in parts]) for i in range(4))
        key = mc.astype(np.int64) * n + mr
        slots, slot = np.unique(key, return_inverse=True)
        indices = (slots % n).astype(A.indices.dtype)
        indptr = np.searchsorted(slots // n, np.arange(n + 1)).astype(A.indptr.dtype)
        gather = scipy.sparse.csr_matrix((sign, (slot, src)), shape=(len(slots), 2 * nnz))
        half = np.ones(n)
        ups = np.flatnonzero(is_upper)
        half[f[ups]] = half[f[ups] + 1] = 0.5
        return cls(space, ups, sigma[ups], np.flatnonzero(is_fixed), f[ups], f[is_fixed], indices, indptr,
                   gather, half)

    @property
    def nbytes(self) -> int:
        """Bytes held (the gather map dominates: about twice L̂'s entries)."""
        g = self.gather
        arrays = (self.upper, self.partner, self.fixed, self.y, self.f_fixed, self.indices, self.indptr, self.half,
                  g.data, g.indices, g.indptr)
        return int(sum(a.nbytes for a in arrays))

    @property
    def coordinates(self) -> tuple[np.ndarray, ...]:
        """Labels of the folded unknowns (for :func:`symsteady.exact.ordering.nested_dissection`)."""
        out = tuple(np.empty(self.space.dim, dtype=lab.dtype) for lab in self.space.labels)
        for o, lab in zip(out, self.space.labels):
            o[self.y] = o[self.y + 1] = lab[self.upper]
            o[self.f_fixed] = lab[self.fixed]
        return out

    def matrix(self, A: scipy.sparse.csc_matrix) -> scipy.sparse.csc_matrix:
        """M (real) from L̂ given as CSC on the folded pattern's source pattern."""
        data = self.gather @ np.concatenate([A.data.real, A.data.imag])
        n = self.space.dim
        return scipy.sparse.csc_matrix((data, self.indices, self.indptr), shape=(n, n))

    def weights(self, w: np.ndarray) -> np.ndarray:
        """A per-label weight, the same on a label and its partner, on the folded unknowns."""
        out = np.empty(self.space.dim)
        out[self.y] = out[self.y + 1] = w[self.upper]
        out[self.f_fixed] = w[self.fixed]
        return out

    def fold(self, r: np.ndarray) -> np.ndarray:
        """``D T^H r`` (real when r is J-invariant); r may hold several vectors in its rows."""
        w = np.empty(r.shape, dtype=complex)
        ri, rs = r[..., self.upper], r[..., self.partner]
        w[..., self.y] = 0.5 * (ri + rs)
        w[..., self.y + 1] = 0.5j * (rs - ri)
        w[..., self.f_fixed] = r[..., self.fixed]
        return w

    def unfold(self, w: np.ndarray) -> np.ndarray:
        """``T w`` (J-invariant when w is real); w may hold several vectors in its rows."""
        x = np.empty(w.shape, dtype=complex)
        y, z = w[..., self.y], w[..., self.y + 1]
        x[..., self.upper] = y + 1j * z
        x[..., self.partner] = y - 1j * z
        x[..., self.fixed] = w[..., self.f_fixed]
        return x

    def solve(self, real_solve: Callable[[np.ndarray, str], np.ndarray], r: np.ndarray, trans: str = "N",
              hermitian: bool = False) -> np.ndarray:
        """``L̂^-1 r`` (``trans`` ``"N"``), ``L̂^-T r`` (``"T"``) or ``L̂^-H r`` (``"H"``) for any
        complex r, from ``real_solve(v, t)``: ``M^-1 v`` (``t`` ``"N"``) or ``M^-T v`` (``"T"``)
        for real v (a J-invariant r, as the steady state's, needs one real solve; else two).
        ``hermitian=True``: ``L̂^-1`` of r's J-invariant part ``(r + J r)/2`` only (one solve; a
        J-invariant result); then r may hold several right-hand sides in its rows (one solve
        with them all, where ``real_solve`` takes them so)."""
        r = np.asarray(r, dtype=complex)
        if hermitian:
            return self.unfold(real_solve(np.ascontiguousarray(self.fold(r).real), "N"))
        if trans == "N":
            return self.unfold(_complex_solve(real_solve, self.fold(r), "N"))
        rr = r.conj() if trans == "T" else r  # L̂^-T r = conj(L̂^-H conj r)
        out = self.unfold(self.half * _complex_solve(real_solve, self.fold(rr) / self.half, "T"))
        return out.conj() if trans == "T" else out


def _complex_solve(real_solve: Callable[[np.ndarray, str], np.ndarray], v: np.ndarray, trans: str) -> np.ndarray:
    """A real matrix' solve on a complex vector: its real and imaginary parts apart (the second
    skipped when zero)."""
    out = real_solve(np.ascontiguousarray(v.real), trans).astype(complex)
    if np.any(v.imag):
        out += 1j * real_solve(np.ascontiguousarray(v.imag), trans)
    return out
