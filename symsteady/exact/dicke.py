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
from .space import log_binomial, log_factorials

Blocks = dict[float, tuple[np.ndarray, int]]


def multiplicity(n: int, k: int) -> int:
    """``d_j`` for ``j = n/2 - k``: the number of copies of the spin-j irrep among n spin-1/2s."""
    return math.comb(n, k) - (math.comb(n, k - 1) if k > 0 else 0)


def _overlap_polynomial(n: int, k: int, a: int, b: int) -> list[int]:
    """``s_k(a, b, c)`` for c = 0..min(a, b) (exact integers; see the module docstring)."""
    free, na, nb = n - 2 * k, a - k, b - k
    poly = [0] * (min(a, b) + 1)
    for u in range(max(0, na + nb - free), min(na, nb) + 1):
        poly[u] = math.comb(na, u) * math.comb(free - na, nb - u)
    for _ in range(k):  # multiply by (z - 1)
        poly = [(poly[c - 1] if c else 0) - poly[c] for c in range(len(poly))]
    return poly


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
    by_block: dict[tuple[int, int], list[int]] = {}
    for i in keep:
        by_block.setdefault((int(a[i]), int(b[i])), []).append(int(i))
    blocks: Blocks = {}
    reach = max((min(ka, kb) for ka, kb in by_block), default=0) if lowest is not None else n // 2
    for k in range(min(n // 2, reach) + 1):
        free = n - 2 * k
        w = free + 1 if lowest is None else min(free + 1, lowest)
        rho = np.zeros((w, w), dtype=complex)
        for (ka, kb), idx in by_block.items():
            if not (k <= min(ka, kb) and max(ka, kb) <= n - k):
                continue
            poly = _overlap_polynomial(n, k, ka, kb)
            ratio = 0.5 * (log_binomial(free, ka - k, log_fact) - log_binomial(free, kb - k, log_fact))
            total = 0j
            for i in idx:
                s = poly[int(c[i])]
                if s:
                    total += values[i] * math.copysign(math.exp(math.log(abs(s)) + ratio - log_norm[i]), s)
            rho[w - 1 - (ka - k), w - 1 - (kb - k)] += total
        blocks[free / 2] = (rho, multiplicity(n, k))
    return blocks


def normalised_arrays(basis: Basis, n: int, op: Mapping[Key, complex]
                      ) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    """``(labels, values, log_norm)`` of an operator given by plain orbit coefficients
    ``{key: value}``: its nonzero labels as arrays, its coefficients in the normalised basis
    ``B̂ = B / ||B||`` and ``log ||B||`` (the layout of an exact solution)."""
    keys = [key for key, v in op.items() if complex(v) != 0]
    labels = tuple(np.array([key[i] for key in keys], dtype=int) for i in range(len(basis.dark)))
    log_fact = log_factorials(n)
    log_norm = 0.5 * sum((log_binomial(nn, kk, log_fact) for nn, kk in basis.norm2_binomials(*labels, n)),
                         np.zeros(len(keys)))
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
