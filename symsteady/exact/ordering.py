"""A fill-reducing order for the direct LU: nested dissection on the labels' lattice.

The orbit labels (a, b, c) (symmetric sector: (a, b)) form a lattice on which L couples only
near neighbours, so geometric nested dissection applies: split the labels at the median of
their widest coordinate, take as separator the labels of one half coupled (in L + L^T) to the
other half, order both halves recursively and the separator last
(``docs/algorithm/exact-convergence.md#convergence-direct``). Measured against SuperLU's own
COLAMD on driven_ising (Ω = 0.7, Δ = 0.5, U = 0.5): N = 40 fill 408 vs 622 per row, N = 60
7.8 s vs 21 s; MMD_AT_PLUS_A is worse than both.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

#: Label sets at most this large are not split further.
LEAF_SIZE = 256


def nested_dissection(A: scipy.sparse.spmatrix, labels: tuple[np.ndarray, ...]) -> np.ndarray:
    """A permutation p of range(dim) (``A[p][:, p]`` factors with little fill), the last
    position kept last (the trace row's column stays the final pivot)."""
    dim = A.shape[0]
    graph = abs(A).tocsr()
    graph = (graph + graph.T).tocsr()
    coords = np.array(labels, dtype=float)
    out: list[np.ndarray] = []
    stack: list[tuple[np.ndarray, bool]] = [(np.arange(dim - 1), False)]
    # iterative post-order: (set, expanded) — a separator is emitted after both halves
    while stack:
        idx, done = stack.pop()
        if done or len(idx) <= LEAF_SIZE:
            out.append(idx)
            continue
        X = coords[:, idx]
        axis = int(np.argmax(X.max(axis=1) - X.min(axis=1)))
        median = np.median(X[axis])
        left = X[axis] < median
        if left.all() or not left.any():
            left = X[axis] <= median
            if left.all() or not left.any():
                out.append(idx)
                continue
        lo, hi = idx[left], idx[~left]
        touches = np.diff(graph[hi][:, lo].indptr) > 0
        separator, hi = hi[touches], hi[~touches]
        stack += [(separator, True), (hi, False), (lo, False)]
    return np.concatenate(out + [np.array([dim - 1])]).astype(np.int64)
