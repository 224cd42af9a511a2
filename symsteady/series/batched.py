"""The full series for many points at once, in double precision, with an estimate of its rounding.

The order-by-order recursion of :class:`symsteady.series.FullSeries` (``L0 rho_k = -sum_j L_j
rho_{k-j}``, block by block from the highest ``a + b`` down, the dark state fixed by the trace)
is *compiled* once per model, N and order: the keys each order touches, and each ``L_j`` as
``sum_g g(params) M_{j,g}`` with ``g`` one coefficient expression of the model (``delta``,
``gamma``, ``J`` ...) and ``M_{j,g}`` a constant sparse matrix built from the one algebra
(:class:`symsteady.liouvillian.Superoperator`). The recursion then runs on arrays of shape
``(keys, points)``, each order on its own keys: sparse products, and L0 solved level by level
(``a + b``) — one vectorised product for diagonal blocks, batched small inverses
(``np.linalg.inv``) for the others — with one sparse feed per level to the levels below.

Representation (``docs/algorithm/high-order.md#representation``): coefficients in the
Hilbert–Schmidt normalised basis ``B̂ = B / ||B||`` (as the exact solver), so they stay O(1)
where the plain ones span hundreds of orders of magnitude (``C(N, a)`` factors; they would
overflow at N = 10⁶). Normalising does not remove *cancellation*: near a coherent spin state
(collective emission) the order-k moments are sums of terms ``N^{k/2}`` larger than their
value. So every :data:`STRIDE`-th point of a chunk runs a second time beside it, perturbed at
the level of rounding; the difference estimates each coefficient's rounding error, and where it
is too large :mod:`symsteady.series.precise` recomputes the point in ball arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp
import sympy

from ..algebra import Basis, Key
from ..exact.matrix import run_chain
from ..exact.space import INDEX, Labels
from ..errors import NonUniqueSteadyStateError
from ..fields import ComplexField
from ..liouvillian import Superoperator, make_basis
from ..model import N, Model
from ..observables import moments_from_expectations, quadratics
from ..powerseries import PowerSeries
from ..threads import single_blas_thread

#: Relative size of the rounding-level perturbations of the second run (``_run_chunk``).
EPS = 2.0**-52
#: The rounding error estimate is SAFETY times the difference of the two runs (checked against
#: exact rational arithmetic in tests/test_high_order.py).
SAFETY = 10.0
#: Every STRIDE-th point of a chunk is run a second time, perturbed (the amplification of
#: rounding is a property of the recursion that varies slowly with the parameters; the largest
#: over the chunk is used for every point of it).
STRIDE = 4
#: Points per chunk (arrays of shape (keys, chunk)).
CHUNK = 512
#: The words whose expectations give the mean spin and the second moments.
WORDS: tuple[tuple[str, ...], ...] = (("p",), ("m",), ("z",), *[(x, y) for x in "pmz" for y in "pmz"])


class BatchField(ComplexField):
    """Double precision where term coefficients may be NumPy arrays over points."""

    def is_zero(self, x: Any) -> bool:
        if isinstance(x, (int, float, complex)):
            return x == 0
        return not np.any(np.asarray(x) != 0)


@lru_cache(maxsize=65536)
def _log_comb(n: int, k: int) -> float:
    """log C(n, k) from the exact integer (accurate to a few ulps of the result)."""
    return math.log(math.comb(n, k))


def _log_norms(basis: Basis, labels: Labels, n: int) -> np.ndarray:
    """``log ||B||`` of every label (Hilbert–Schmidt norm, ``docs/algorithm/orbit-basis.md``)."""
    out = np.zeros(len(labels[0]))
    for nn, kk in basis.norm2_binomials(*labels, n):
        nn = np.broadcast_to(nn, out.shape)
        out += np.array([_log_comb(int(x), int(y)) for x, y in zip(nn, kk)])
    return 0.5 * out


@dataclass
class Group:
    """``g(params) * M``: a coefficient expression of the model and a constant sparse matrix."""

    expr: sympy.Expr
    M: sp.csr_matrix


@dataclass
class Plan:
    """Everything about one (model, N, order) that does not depend on the point."""

    model: Model
    n: int
    order: int
    keys: list[Key]
    L: list[list[Group]]  # L[j]: the groups of L_j
    blocks: list[list[tuple[int, int]]]  # blocks solved at each order, in solving order
    block_index: dict[tuple[int, int], slice]
    feeds: dict[tuple[int, int], list[tuple[sympy.Expr, slice | np.ndarray, complex, sp.csr_matrix]]]
    block_terms: dict[tuple[int, int], list[tuple[sympy.Expr, np.ndarray]]]
    trace: np.ndarray
    words: sp.csr_matrix  # rows: WORDS with z read as Sz + N/2, columns: keys
    dark: int
    params: tuple[sympy.Symbol, ...]
    steps: list["Step"]  # per order: the same, restricted to that order's keys


@dataclass
class Step:
    """One order of the recursion on its own keys only (``rho_k`` vanishes elsewhere; for xyz
    half the keys up to its level, by the parity of the charge): positions, blocks, feeds,
    ``L_j`` from order k - j, trace and moment weights, all in the order's compact positions."""

    pos: np.ndarray  # global positions of the order's keys (ascending)
    # levels a + b, highest first: their keys' slice, their blocks (and slices), and the feeds
    # of L0 from the level to the rows below it (lower levels come first), as (rows, g, phase, F)
    levels: list[tuple[slice, list[tuple[tuple[int, int], slice]], list[tuple[slice, sympy.Expr, complex, sp.csr_matrix]]]]
    L: dict[int, list[tuple[sympy.Expr, complex, sp.csr_matrix]]]
    traced: np.ndarray
    trace: np.ndarray
    words: sp.csr_matrix
    dark: int


def _superoperator_groups(basis: Basis, h: dict, rates: dict) -> list[tuple[sympy.Expr, Superoperator]]:
    """``L_j`` split by coefficient expression: ``[(g, Superoperator with numeric coefficients)]``."""
    groups: dict[sympy.Expr, tuple[dict, dict]] = {}
    for w, c in h.items():
        num, rest = sympy.sympify(c).as_coeff_Mul()
        groups.setdefault(rest, ({}, {}))[0][w] = complex(num)
    for r, v in rates.items():
        num, rest = sympy.sympify(v).as_coeff_Mul()
        groups.setdefault(rest, ({}, {}))[1][r] = complex(num)
    return [(g, Superoperator(basis, hh, rr)) for g, (hh, rr) in groups.items()]


def _labels(keys: Sequence[Key]) -> Labels:
    return tuple(np.array(x, dtype=INDEX) for x in zip(*keys))


def _targets(basis: Basis, sops: Sequence[Superoperator], keys: Sequence[Key], n: int) -> set[Key]:
    """Every key the superoperators reach from ``keys``."""
    if not keys:
        return set()
    labels = _labels(keys)
    out: set[Key] = set()
    for s in sops:
        for _, chain in s.terms:
            _, _, t = run_chain(basis, chain, labels, n)
            out.update(zip(*(x.tolist() for x in t)))
    return out


def _block_keys(basis: Basis, block: tuple[int, int]) -> list[Key]:
    return basis.block_keys(*block)


@lru_cache(maxsize=8)
def plan(model: Model, n: int, order: int) -> Plan:
    """Compile the series of ``model`` at N = n to ``order`` (cached)."""
    basis = make_basis(model, BatchField(n))
    ops = [_superoperator_groups(basis, h, rates) for h, rates in model.expansion(order)]
    dark = basis.dark
    # ---- the blocks of each order (as FullSeries.solve reaches them) and their keys
    supports: list[list[Key]] = [[dark]]
    blocks_per_order: list[list[tuple[int, int]]] = [[]]
    l0 = [s for _, s in ops[0]]
    below: dict[tuple[int, int], set[tuple[int, int]]] = {}
    for k in range(1, order + 1):
        touched: set[Key] = set()
        for j in range(1, k + 1):
            touched |= _targets(basis, [s for _, s in ops[j]], supports[k - j], n)
        blocks = {basis.block(key) for key in touched}
        new = list(blocks)
        while new:
            todo = [b for b in new if b not in below]
            for b in todo:
                below[b] = {basis.block(t) for t in _targets(basis, l0, _block_keys(basis, b), n)}
            new = [b2 for b in new for b2 in below[b] if b2 not in blocks]
            blocks.update(new)
        keys = {key for b in blocks for key in _block_keys(basis, b)} | {dark}
        supports.append(sorted(keys))
        blocks_per_order.append(sorted(blocks, key=lambda b: (b[0] + b[1], b), reverse=True))
    # keys by level a + b first (then by block): every block's keys are consecutive
    all_keys = sorted(set().union(*map(set, supports)), key=lambda key: (key[0] + key[1], key))
    index = {key: i for i, key in enumerate(all_keys)}
    labels = _labels(all_keys)
    ell = _log_norms(basis, labels, n)
    table = np.full((max(max(x) for x in zip(*all_keys)) + 3,) * len(labels), -1, dtype=np.int64)
    table[labels] = np.arange(len(all_keys))

    def lookup(t: Labels) -> np.ndarray:
        ok = np.all([x < table.shape[0] for x in t], axis=0)
        pos = np.full(len(t[0]), -1, dtype=np.int64)
        pos[ok] = table[tuple(x[ok] for x in t)]
        return pos

    L: list[list[Group]] = []
    for groups in ops:
        out = []
        for g, s in groups:
            rows, cols, vals = [], [], []
            for factor, chain in s.terms:
                src, cf, t = run_chain(basis, chain, labels, n)
                pos = lookup(t)
                keep = pos >= 0
                rows.append(pos[keep])
                cols.append(src[keep])
                # plain coefficient -> normalised basis: times ||B_target|| / ||B_source||
                vals.append(complex(factor) * cf[keep] * np.exp(ell[pos[keep]] - ell[src[keep]]))
            M = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                              shape=(len(all_keys),) * 2, dtype=complex)
            M.sum_duplicates()
            M.eliminate_zeros()
            if M.nnz:
                out.append(Group(g, M))
        L.append(out)
    # ---- L0 by blocks: the block itself (dense, per group) and its feed to lower blocks
    all_blocks = sorted({b for bs in blocks_per_order for b in bs})
    block_index = {b: _as_slice(np.array([index[k] for k in _block_keys(basis, b)])) for b in all_blocks}
    block_of = np.array([hash(basis.block(key)) for key in all_keys])
    block_terms: dict[tuple[int, int], list[tuple[sympy.Expr, np.ndarray]]] = {b: [] for b in all_blocks}
    feeds: dict = {b: [] for b in all_blocks}
    for grp in L[0]:
        csc = grp.M.tocsc()
        for b, idx in block_index.items():
            idx = np.arange(idx.start, idx.stop)
            cols = csc[:, idx]
            r, c = cols.nonzero()
            if not len(r):
                continue
            vals = np.asarray(cols[r, c]).ravel()
            same = block_of[r] == hash(b)
            if np.any(same):
                local = {int(i): j for j, i in enumerate(idx)}
                dense = np.zeros((len(idx), len(idx)), dtype=complex)
                for rr, cc, v in zip(r[same], c[same], vals[same]):
                    dense[local[int(rr)], cc] += v
                block_terms[b].append((grp.expr, dense))
            if np.any(~same):
                rows = np.unique(r[~same])
                feed = _real_form(grp.expr, cols[rows, :].tocsr())
                feeds[b].append((grp.expr, _as_slice(rows), feed[1], feed[2]))
    # ---- trace and moment weights in the normalised basis
    for b, terms in block_terms.items():  # diagonal blocks (xyz, tfi, driven Ising) as vectors
        if all(not np.any(d - np.diag(np.diag(d))) for _, d in terms):
            block_terms[b] = [(e, np.diag(d).copy()) for e, d in terms]
    traced = np.asarray(basis.traced(*labels), dtype=bool)
    log_c = np.array([_log_comb(n, int(a)) for a in labels[0]])
    trace = np.where(traced, np.exp(np.where(traced, log_c - ell, 0.0)), 0.0)
    rows, cols, vals = [], [], []
    near = np.flatnonzero(np.abs(labels[0] - labels[1]) <= 2)
    near_labels = tuple(x[near] for x in labels)
    for r, word in enumerate(WORDS):
        src, cf, t = run_chain(basis, _shifted_chain(basis, word), near_labels, n)
        hit = np.asarray(basis.traced(*t), dtype=bool)
        src, cf, a_t = near[src[hit]], cf[hit], t[0][hit]
        log_ct = np.array([_log_comb(n, int(a)) for a in a_t])
        rows.append(np.full(len(src), r))
        cols.append(src)
        vals.append(cf * np.exp(log_ct - ell[src]))
    words = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(len(WORDS), len(all_keys)))
    words.sum_duplicates()
    level_of = np.array([key[0] + key[1] for key in all_keys])
    for b, fd in feeds.items():  # the level-by-level solve needs L0 to feed lower levels only
        for _, rows, _, _ in fd:
            if np.any(level_of[_positions(rows)] >= b[0] + b[1]):
                raise NotImplementedError(f"L0 feeds the block {b} into its own level a + b = {b[0] + b[1]}; "
                                          "the batched series cannot order that solve (use exact=True)")
    last = max([j for j, groups in enumerate(L) if groups] or [0])
    steps: list[Step] = []
    positions = [np.array(sorted(index[key] for key in keys)) for keys in supports]
    for k, pos in enumerate(positions):
        local = np.full(len(all_keys), -1)
        local[pos] = np.arange(len(pos))
        by_level: dict[int, list[tuple[tuple[int, int], slice]]] = {}
        for b in blocks_per_order[k]:
            g = block_index[b]
            by_level.setdefault(b[0] + b[1], []).append(
                (b, slice(int(local[g.start]), int(local[g.start]) + g.stop - g.start)))
        levels = []
        for lev in sorted(by_level, reverse=True):
            blks = sorted(by_level[lev], key=lambda x: x[1].start)
            sl = slice(blks[0][1].start, blks[-1][1].stop)
            if sl.stop - sl.start != sum(x[1].stop - x[1].start for x in blks):
                raise AssertionError("the keys of a level are not consecutive")  # pragma: no cover
            fd = []
            for grp in L[0]:
                F = grp.M[pos[:sl.start]][:, pos[sl]].tocsr()
                F.eliminate_zeros()
                if F.nnz:
                    hit = np.flatnonzero(np.diff(F.indptr))
                    rows = slice(int(hit[0]), int(hit[-1]) + 1)
                    fd.append((rows, *_real_form(grp.expr, F[rows].tocsr())))
            levels.append((sl, blks, fd))
        Lk = {j: [_real_form(g.expr, g.M[pos][:, positions[k - j]].tocsr()) for g in L[j]]
              for j in range(1, min(k, last) + 1) if L[j]}
        t = np.flatnonzero(trace[pos])
        steps.append(Step(pos, levels, Lk, t, trace[pos][t], words[:, pos].tocsr(), int(local[index[dark]])))
    return Plan(model, n, order, all_keys, L[:last + 1], blocks_per_order, block_index, feeds, block_terms,
                trace, words, index[dark], tuple(model.parameters), steps)


def _positions(rows: slice | np.ndarray) -> np.ndarray:
    return np.arange(rows.start, rows.stop) if isinstance(rows, slice) else rows


def _real_form(expr: sympy.Expr, M: sp.csr_matrix) -> tuple[sympy.Expr, complex, sp.csr_matrix]:
    """``(expr, phase, R)`` with ``M = phase * R``, R real where M is real or imaginary (a real
    sparse product on the interleaved real/imaginary parts costs half a complex one)."""
    if not np.any(M.data.imag):
        return expr, 1.0, M.real.tocsr()
    if not np.any(M.data.real):
        return expr, 1j, M.imag.tocsr()
    return expr, 1.0, M


def _times(M: sp.csr_matrix, y: np.ndarray) -> np.ndarray:
    """``M @ y`` for complex y, through the real view when M is real."""
    if M.dtype == complex:
        return M @ y
    return (M @ y.view(float)).view(complex)


def _as_slice(idx: np.ndarray) -> slice | np.ndarray:
    """Consecutive positions as a slice (no copies when indexing), others as they are."""
    if len(idx) and np.all(np.diff(idx) == 1):
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx


def _shifted_chain(basis: Basis, word: tuple[str, ...]):
    """The ket chain of ``word`` with every ``z`` read as ``n̂ = Sz + N/2`` (the z rule plus
    N/2): the covariance is the same, and moments of n̂ have no ``N²`` terms to cancel."""
    z = basis.ket_rules["z"]

    def n_hat(*args):
        return tuple((cf + args[-1] / 2, t) for cf, t in z(*args))

    return tuple(("ket", n_hat if x == "z" else basis.ket_rules[x]) for x in reversed(word))


@dataclass
class BatchResult:
    """The squeezing pieces, mean and covariance as :class:`PowerSeries` of complex arrays over
    the points, and ``error``: per piece, an estimate of each coefficient's rounding error."""

    pieces: dict[str, PowerSeries]
    mean: list[PowerSeries]
    cov: list[list[PowerSeries]]
    error: dict[str, np.ndarray]  # piece -> (order + 1, points)


def _values(p: Plan, expr: sympy.Expr, columns: dict[str, np.ndarray], size: int) -> np.ndarray:
    fn = _lambdify(expr, p.params)
    return np.broadcast_to(np.asarray(fn(*[columns[s.name] for s in (N, *p.params)]), dtype=complex), (size,))


@lru_cache(maxsize=256)
def _lambdify(expr: sympy.Expr, params: tuple[sympy.Symbol, ...]):
    return sympy.lambdify([N, *params], expr, modules="numpy")


def run(p: Plan, columns: dict[str, np.ndarray]) -> BatchResult:
    """The series at the points given by ``columns`` (``N`` and every parameter, arrays of one
    length; N must equal the plan's): pieces, mean and covariance to the plan's order."""
    size = len(columns["N"])
    with single_blas_thread():
        parts = [_run_chunk(p, {k: v[s:s + CHUNK] for k, v in columns.items()})
                 for s in range(0, size, CHUNK)]
    if len(parts) == 1:
        return parts[0]

    def cat(series: list[PowerSeries]) -> PowerSeries:
        return PowerSeries([np.concatenate([s.c[k] for s in series]) for k in range(len(series[0].c))])

    return BatchResult({k: cat([q.pieces[k] for q in parts]) for k in parts[0].pieces},
                       [cat([q.mean[a] for q in parts]) for a in range(3)],
                       [[cat([q.cov[a][b] for q in parts]) for b in range(3)] for a in range(3)],
                       {k: np.concatenate([q.error[k] for q in parts], axis=1) for k in parts[0].error})


def _run_chunk(p: Plan, columns: dict[str, np.ndarray]) -> BatchResult:
    """One chunk, and beside it every :data:`STRIDE`-th point again with every stored
    coefficient and right-hand side perturbed at the level of rounding (random signs, relative
    :data:`EPS`). The difference, relative to the largest coefficient of each order, measures how
    much the recursion amplifies rounding (it grows where terms cancel); each point's estimate
    is the largest such amplification in its chunk times its own coefficients' size."""
    size = len(columns["N"])
    sample = np.arange(0, size, STRIDE)
    cols2 = {k: np.concatenate([v, v[sample]]) for k, v in columns.items()}
    nk, width = len(p.keys), size + len(sample)
    coef = {}
    for groups in p.L:
        for g in groups:
            if g.expr not in coef:
                coef[g.expr] = _values(p, g.expr, cols2, width)
    # L0 block by block: 1 / diagonal where the block is diagonal (xyz, tfi, driven Ising),
    # else a batched inverse; both checked for a singular block at every point
    inverses: dict[tuple[int, int], tuple[bool, np.ndarray]] = {}
    dark_block = (0, 0)
    for b, terms in p.block_terms.items():
        if b == dark_block:
            continue
        sl0 = p.block_index[b]
        n = sl0.stop - sl0.start
        diagonal = all(dense.ndim == 1 for _, dense in terms)
        if diagonal:
            d = np.zeros((n, width), dtype=complex)
            for e, dense in terms:
                d += dense[:, None] * coef[e][None, :]
            with np.errstate(divide="ignore", invalid="ignore"):
                inv = 1 / d
                scale = np.max(np.abs(d), axis=0) * np.max(np.abs(inv), axis=0)
        else:
            A = np.zeros((width, n, n), dtype=complex)
            for e, dense in terms:
                A += coef[e][:, None, None] * (np.diag(dense) if dense.ndim == 1 else dense)[None]
            try:
                inv = np.linalg.inv(A)
            except np.linalg.LinAlgError:
                inv = np.full_like(A, np.nan)
            scale = np.abs(A).sum(axis=1).max(axis=1) * np.abs(inv).sum(axis=1).max(axis=1)
        bad = ~(scale < 1e13)
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            i = i if i < size else int(sample[i - size])
            point = {k: v[i].item() for k, v in columns.items()}
            raise NonUniqueSteadyStateError(
                f"L0 is singular on the excitation block (a, b) = {b} at {point}: states with {b[0]} "
                f"excitation(s) in the ket and {b[1]} in the bra do not decay, so the steady state is "
                "not unique")
        inverses[b] = (diagonal, inv)
    diag_inv = np.zeros((nk, width), dtype=complex)
    for b, (diagonal, inv) in inverses.items():
        if diagonal:
            diag_inv[p.block_index[b]] = inv
    # the second copy's rounding-level perturbations: random signs, fixed for reproducibility
    signs = 1 + EPS * np.random.default_rng(12345).choice((-1.0, 1.0), size=(max(nk, len(WORDS)), len(sample)))

    def jiggle(x: np.ndarray, rows: slice | np.ndarray = slice(None)) -> None:
        x[..., size:] *= signs[rows] if x.ndim == 2 else signs[0]

    rho: list[np.ndarray] = []
    moments: list[dict[tuple[str, ...], np.ndarray]] = []
    J = len(p.L) - 1
    for k, step in enumerate(p.steps):
        m = len(step.pos)
        x = np.zeros((m, width), dtype=complex)
        if k == 0:
            x[step.dark] = 1.0
        else:
            r = np.zeros((m, width), dtype=complex)
            for j, groups in step.L.items():
                for e, phase, M in groups:
                    r -= _times(M, rho[-j]) * (phase * coef[e])
            jiggle(r, slice(0, m))
            for sl, blks, fd in step.levels:
                if blks[0][0] == dark_block:
                    continue
                if all(inverses[b][0] for b, _ in blks):  # diagonal blocks: one product per level
                    xl = x[sl]
                    np.multiply(diag_inv[step.pos[sl]], r[sl], out=xl)
                    jiggle(xl, sl)
                else:
                    for b, bsl in blks:
                        diagonal, inv = inverses[b]
                        xb = x[bsl]
                        if diagonal:
                            np.multiply(inv, r[bsl], out=xb)
                        else:
                            xb[...] = np.einsum("pij,jp->ip", inv, r[bsl])
                        jiggle(xb, bsl)
                    xl = x[sl]
                for rows, e, phase, F in fd:
                    r[rows] -= _times(F, xl) * (phase * coef[e])
            x[step.dark] = -(step.trace @ x[step.traced])
        if J:
            rho.append(x)
            if len(rho) > J:
                rho.pop(0)
        vals = step.words @ x
        vals[:, size:] *= signs[:len(WORDS)]
        moments.append({w: vals[i] for i, w in enumerate(WORDS)})
    both = _observables(p, moments, width)
    c = {k: np.array([np.asarray(x) for x in s.c]) for k, s in both.pieces.items()}  # (order + 1, width)
    error = {}
    for names in (("a_R", "b_R", "c_R"), ("a_S", "b_S", "c_S"), ("rs_gap",)):
        scale = np.max([np.abs(c[k]) for k in names], axis=0)  # largest coefficient of each order
        diff = np.max([np.abs(c[k][:, size:] - c[k][:, sample]) for k in names], axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(scale[:, sample] > 0, diff / scale[:, sample], diff)
        amplification = np.max(rel, axis=1, keepdims=True)
        for k in names:
            error[k] = SAFETY * amplification * scale[:, :size] + 2.0**-52 * np.abs(c[k][:, :size])

    def first(s: PowerSeries) -> PowerSeries:
        return PowerSeries([np.asarray(x)[:size] for x in s.c])

    return BatchResult({k: first(v) for k, v in both.pieces.items()}, [first(m) for m in both.mean],
                       [[first(c) for c in row] for row in both.cov], error)


def _observables(p: Plan, moments: list[dict[tuple[str, ...], np.ndarray]], size: int) -> BatchResult:
    """Mean, covariance (from the moments of Sx, Sy, n̂ = Sz + N/2) and the squeezing pieces."""
    F = BatchField(p.n)
    K = p.order
    zero = np.zeros(size, dtype=complex)
    per_order = []
    for k in range(K + 1):
        ex = moments[k]
        per_order.append(moments_from_expectations(F, lambda w: ex.get(w, zero) if w else zero))
    mean = [PowerSeries([per_order[k][0][a] for k in range(K + 1)]) for a in range(3)]
    second = [[PowerSeries([per_order[k][1][a][b] for k in range(K + 1)]) for b in range(3)] for a in range(3)]
    cov = [[second[a][b] - mean[a] * mean[b] for b in range(3)] for a in range(3)]
    mean[2] = mean[2] + (-p.n / 2)
    out = quadratics(mean, None, p.n, lambda s: s.sqrt(p.n / 2), cov=cov)
    pieces = {k: out[k] for k in ("a_R", "b_R", "c_R", "a_S", "b_S", "c_S", "rs_gap")}
    return BatchResult(pieces, mean, cov, {})


def batched_coefficients(model: Model, order: int, n: int, columns: dict[str, np.ndarray]) -> BatchResult:
    """:func:`run` with the plan of (model, n, order)."""
    return run(plan(model, n, order), columns)


__all__ = ["BatchField", "BatchResult", "EPS", "Plan", "batched_coefficients", "plan", "run"]
