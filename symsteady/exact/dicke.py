"""From orbit coefficients to Dicke blocks: ``rho = ⊕_j rho_j ⊗ 1_{d_j}``.

A permutation-invariant state decomposes over the total spin j (Schur–Weyl):
``rho = ⊕_j rho_j ⊗ 1_{d_j}`` with ``rho_j`` the (2j+1)×(2j+1) block of *one* copy of the
spin-j representation and ``d_j = C(N, N/2-j) - C(N, N/2-j-1)`` its multiplicity, so that
``Σ_j d_j Tr rho_j = Tr rho``. Rows and columns of ``rho_j`` run over ``m = j, j-1, ..., -j``
(the order of ``qutip.jmat`` and of piqs' blocks); the phases of ``|j, m>`` are those of
``S_+`` with positive matrix elements. piqs stores ``d_j rho_j`` instead (its Dicke-basis
matrix has unit ordinary trace); :func:`piqs_matrix` converts.

The map (``docs/algorithm/metrology.md#metrology-dicke-map``): with ``k = N/2 - j`` singlet
pairs and ``M = 2j`` free emitters, ``<j, m_a| B(a, b, c) |j, m_b>
= sqrt(C(M, a-k) / C(M, b-k)) · s_k(a, b, c)`` where ``Σ_c s_k(a, b, c) z^c
= (z - 1)^k Σ_u C(a-k, u) C(M-a+k, b-k-u) z^u`` (exact integers). In the symmetric sector
``<N/2, m_a| E(a, b) |N/2, m_b> = sqrt(C(N, a) C(N, b))``.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from ..algebra import Basis, Key, OrbitBasis
from .space import log_binomial, log_factorials, log_norms

Blocks = dict[float, tuple[np.ndarray, int]]


def multiplicity(n: int, k: int) -> int:
    """``d_j`` for ``j = n/2 - k``: the number of copies of the spin-j irrep among n spin-1/2s."""
    return math.comb(n, k) - (math.comb(n, k - 1) if k > 0 else 0)


def dicke_blocks_from_labels(basis: Basis, n: int, labels: tuple[np.ndarray, ...], values: np.ndarray,
                             log_norm: np.ndarray, lowest: int | None = None) -> Blocks:
    """Dicke blocks of ``rho = Σ values[i] B̂_i`` with ``B̂ = B / ||B||`` (``log_norm = log ||B||``).

    Working with normalised coefficients keeps large N in range (no ``||B||`` is formed).
    ``lowest``: keep only the ``lowest`` states of each block with the fewest excitations (the
    last rows and columns, m = -j + lowest - 1, ..., -j) and only the blocks the operator
    reaches — exact for an operator supported there (a perturbative order near the dark
    state), and the way to large N."""
    values = np.asarray(values, dtype=complex)
    log_fact = log_factorials(n)
    if not isinstance(basis, OrbitBasis):
        a, b = (np.asarray(lab, dtype=int) for lab in labels)
        w = n + 1 if lowest is None else min(n + 1, lowest)
        rho = np.zeros((w, w), dtype=complex)
        # <a|E(a, b)|b> in normalised Dicke states is sqrt(C(N,a) C(N,b)) = ||E(a, b)||
        scale = np.exp(0.5 * (log_binomial(n, a, log_fact) + log_binomial(n, b, log_fact)) - log_norm)
        np.add.at(rho, (w - 1 - a, w - 1 - b), values * scale)
        return {n / 2: (rho, 1)}
    a, b, c = (np.asarray(lab, dtype=int) for lab in labels)
    keep = np.flatnonzero(values)
    a, b, c, values, log_norm = a[keep], b[keep], c[keep], values[keep], np.asarray(log_norm, dtype=float)[keep]
    top = n // 2 if lowest is None else min(n // 2, int(np.max(np.minimum(a, b)))) if len(keep) else 0
    blocks: Blocks = {}
    for k in range(top + 1):
        w = n - 2 * k + 1 if lowest is None else min(n - 2 * k + 1, lowest)
        blocks[(n - 2 * k) / 2] = (np.zeros((w, w), dtype=complex), multiplicity(n, k))
    for chunk in _pair_chunks(a, b, n):
        _add_pair_chunk(blocks, n, chunk, a, b, c, values, log_norm, log_fact)
    return blocks


#: Elements (pairs × overlaps) handled at once by :func:`_add_pair_chunk` (bounds its memory).
CHUNK_ELEMENTS = 1 << 20


def _pair_chunks(a: np.ndarray, b: np.ndarray, n: int) -> list[np.ndarray]:
    """The label indices grouped by block (a, b), blocks sorted by their deepest singlet count
    ``kmax = min(a, b, n - a, n - b)`` descending, cut into chunks of about
    :data:`CHUNK_ELEMENTS` (pairs × (kmax + 1)) elements (a whole block per chunk at least)."""
    pair = a * (n + 1) + b
    uniq, first, inverse = np.unique(pair, return_index=True, return_inverse=True)
    kmax = np.minimum(np.minimum(a[first], b[first]), n - np.maximum(a[first], b[first]))
    order = np.argsort(-kmax, kind="stable")
    rank = np.empty(len(uniq), dtype=int)
    rank[order] = np.arange(len(uniq))
    by_rank = np.argsort(rank[inverse.ravel()], kind="stable")
    ends = np.cumsum(np.bincount(rank[inverse.ravel()], minlength=len(uniq)))
    chunks, start, pos = [], 0, 0
    for i in range(len(order)):
        if (i + 1 - start) * (int(kmax[order[start]]) + 1) > CHUNK_ELEMENTS and i > start:
            chunks.append(by_rank[pos:ends[i - 1]])
            start, pos = i, int(ends[i - 1])
    if len(order):
        chunks.append(by_rank[pos:])
    return chunks


def _add_pair_chunk(blocks: Blocks, n: int, idx: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray,
                    values: np.ndarray, log_norm: np.ndarray, log_fact: np.ndarray) -> None:
    """Add the labels ``idx`` (whole blocks (a, b), kmax descending) to ``blocks`` (entries
    outside a block's window dropped), vectorised over the pairs.

    Pairing with ``(z - 1)^k Q`` is pairing the finite difference ``Δ^k y`` with Q
    (``Σ_c y_c [z^c](z - 1)R = Σ_c (y_{c+1} - y_c) R_c``), so with ``y_c = x̂(a, b, c)/||B||``
    ``(rho_k)_{ab} = sqrt(C(M, a-k)/C(M, b-k)) Σ_u (Δ^k y)_u C(a-k, u) C(M-a+k, b-k-u)``: one
    difference per k for every pair at once. y lives on ``u0 <= c <= min(a, b)``,
    ``u0 = max(0, a + b - n)``: kmax + 1 values, kmax - k + 1 after k differences. Rounding
    is bounded as for exact integers ``s_k``: ``eps Σ_c |y_c| [z^c](z + 1)^k Q <= eps Σ_c |x̂_c|``
    (``docs/algorithm/metrology.md#metrology-dicke-map``), with ``eps`` there the relative error
    of ``y_c``: a few ``eps log||B_c||`` from the scaling's exponent, which exact rows' error bars
    probe (``docs/algorithm/metrology.md#metrology-error``)."""
    pair = a[idx] * (n + 1) + b[idx]
    new = np.r_[True, pair[1:] != pair[:-1]]
    starts, row = np.flatnonzero(new), np.cumsum(new) - 1
    A, B = a[idx[starts]], b[idx[starts]]
    u0 = np.maximum(0, A + B - n)
    kmax = np.minimum(np.minimum(A, B), n - np.maximum(A, B))
    # y per pair in a common scale, y_c = x̂_c exp(-log||B_c|| - shift) with shift = max_c(-log||B_c||),
    # column c - u0; real and imaginary parts as the last axis
    neg = -log_norm[idx]
    shift = np.maximum.reduceat(neg, starts)
    width = int(kmax[0]) + 1
    Y = np.zeros((len(starts), width), dtype=complex)
    Y[row, c[idx] - u0[row]] = values[idx] * np.exp(neg - shift[row])
    Y = Y.view(float).reshape(len(starts), width, 2)
    # log C(na, u) C(M - na, nb - u) = lf[na] + lf[M-na] - lf[u] - lf[na-u] - lf[nb-u] - lf[M-na-nb+u] with
    # na = A - k, nb = B - k, M = n - 2k, u = u0 + j: the j-dependent part at step k is
    # lead[:, j + k] + tail[:, j], lead = -lf[A-u0-j] - lf[B-u0-j], tail = -lf[u0+j] - lf[n-A-B+u0+j]
    # (-lf = -inf for a negative argument: an absent binomial factor)
    table = -np.r_[np.full(n + 1, np.inf), log_factorials(2 * n + 1)]  # -lf[i] at index i + n + 1
    j = np.arange(width)[None, :] + (n + 1)
    lead = table[(A - u0)[:, None] - j + 2 * (n + 1)] + table[(B - u0)[:, None] - j + 2 * (n + 1)]
    tail = table[u0[:, None] + j] + table[(n - A - B + u0)[:, None] + j]
    for k in range(width):
        live = int(np.searchsorted(-kmax, -k, side="right"))
        cols = width - k
        Y = Y[:live]
        M, na, nb = n - 2 * k, A[:live] - k, B[:live] - k
        rho = blocks[M / 2][0]
        w = rho.shape[0]
        head = (log_fact[na] + log_fact[M - na] + shift[:live]
                + 0.5 * (log_binomial(M, na, log_fact) - log_binomial(M, nb, log_fact)))
        weight = lead[:live, k:] + tail[:live, :cols]
        weight += head[:, None]
        np.exp(weight, out=weight)
        total = np.einsum("puc,pu->pc", Y, weight)
        inside = np.flatnonzero((na < w) & (nb < w))
        rho[w - 1 - na[inside], w - 1 - nb[inside]] += total[inside, 0] + 1j * total[inside, 1]
        Y = Y[:, 1:] - Y[:, :-1]


def normalised_arrays(basis: Basis, n: int, op: Mapping[Key, complex]
                      ) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    """``(labels, values, log_norm)`` of an operator given by plain orbit coefficients
    ``{key: value}``: its nonzero labels as arrays, its coefficients in the normalised basis
    ``B̂ = B / ||B||`` and ``log ||B||`` (the layout of an exact solution)."""
    keys = [key for key, v in op.items() if complex(v) != 0]
    labels = tuple(np.array([key[i] for key in keys], dtype=int) for i in range(len(basis.dark)))
    log_norm = log_norms(basis, labels, n, log_factorials(n))
    values = np.array([complex(op[key]) for key in keys], dtype=complex) * np.exp(log_norm)
    return labels, values, log_norm


def dicke_blocks_from_operator(basis: Basis, n: int, op: Mapping[Key, complex], lowest: int | None = None
                               ) -> Blocks:
    """Dicke blocks of an operator given by plain orbit coefficients ``{key: value}``
    (``lowest`` as for :func:`dicke_blocks_from_labels`)."""
    return dicke_blocks_from_labels(basis, n, *normalised_arrays(basis, n, op), lowest=lowest)


def piqs_matrix(blocks: Blocks, n: int) -> np.ndarray:
    """The block-diagonal matrix of piqs' Dicke basis at N = n: blocks ``d_j rho_j`` for
    j = N/2, N/2 - 1, ... (zero where ``blocks`` has none, e.g. the symmetric sector's other j)."""
    widths = [n - 2 * k + 1 for k in range(n // 2 + 1)]
    out = np.zeros((sum(widths), sum(widths)), dtype=complex)
    pos = 0
    for w in widths:
        if (w - 1) / 2 in blocks:
            rho, d = blocks[(w - 1) / 2]
            out[pos:pos + w, pos:pos + w] = d * rho
        pos += w
    return out


__all__ = ["Blocks", "dicke_blocks_from_labels", "dicke_blocks_from_operator", "multiplicity", "normalised_arrays",
           "piqs_matrix"]
