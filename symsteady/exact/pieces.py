"""The exact Liouvillian as fixed sparse pieces, built once per (model, N), combined per point.

``L = sum_w h_w(p) [-i w X + i X w] + sum_r r(p) D_r X``: each word w of the Hamiltonian and
each dissipative process r gives one piece with unit coefficient (the chains of
:class:`symsteady.liouvillian.Superoperator`, evaluated on every label by
:func:`symsteady.exact.matrix.term_entries`); at a point only the coefficients ``h_w(p)``, ``r(p)``
(the model's expressions at N) are evaluated and the pieces summed — a sparse linear
combination, no re-derivation (``docs/algorithm/exact-convergence.md#convergence-pieces``).

Every piece lives on one common CSC pattern (normalised basis, the dark state's row replaced by
the trace row) and is stored as its values and their positions in that pattern. The pattern is
built without sorting (``docs/algorithm/exact-convergence.md#convergence-pieces``): an entry is
the pair (source label, shift of the target label), the shifts are a few dozen for any model,
and for a fixed source the target's row order is a function of the shift and of the source's
charge alone (the key order of :mod:`symsteady.exact.space`); so entry ``(j, shift)`` gets the
slot ``j * width + rank(shift | q_j)``, duplicates are summed by a ``bincount`` over the slots,
and the pattern with sorted row indices is the set of occupied slots in order. Measured on xyz
in its charge sector, CPU seconds of one build in the same run: N = 200 1.6 s against 3.0 s for one
CSC matrix per piece with summed patterns and ``searchsorted`` positions, N = 300 6.9 s against
12.6 s; values and positions 2.5x smaller (1.8x with the row order for CSR, below)
(``docs/algorithm/exact-convergence.md#convergence-pieces``).

Pieces are cached per (model content, N) while their total size is below PIECE_CACHE_BYTES
(checked before caching); a sweep over one N builds them once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import scipy.sparse
import sympy

from ..algebra import Chain
from ..errors import ExactSolverError
from ..liouvillian import Superoperator, make_basis
from ..model import Model
from ..points import point_field
from ..spinpoly import charge
from .matrix import ExactLiouvillian, check_size, term_entries, trace_row
from .space import INDEX, KeySpace, charge_period

#: Largest total size (bytes) of one model's pieces kept in the cache (xyz at N = 300 in its
#: charge sector: 0.63 GB, at N = 410, the dimension limit, about 1.6 GB); larger ones are
#: rebuilt at every point.
PIECE_CACHE_BYTES = 3_000_000_000
#: Most (model, N) entries kept (least recently used dropped first).
PIECE_CACHE_ENTRIES = 4
#: Most steps of one chain (a word of at most this many letters), hence the largest change of a
#: label coordinate under it (every rule of :mod:`symsteady.algebra` moves each by at most one).
SHIFT_BOUND = 15


@dataclass
class Piece:
    """One term of L with unit coefficient: ``phase * values`` at ``positions`` of the common
    pattern (normalised basis, dark row dropped; ``values`` real where the piece is a real
    multiple of one phase — every word's ``-i[w, .]`` and every dissipator — which halves its
    memory), ``breaking`` (a Hamiltonian word of nonzero U(1) charge); its coefficient at a
    point is :func:`term_coefficients`' entry in the same place."""

    values: np.ndarray
    phase: complex
    positions: np.ndarray
    breaking: bool
    largest: float = field(init=False)  # max |entry|

    def __post_init__(self) -> None:
        self.largest = float(np.abs(self.values).max(initial=0.0))


@dataclass
class Pattern:
    """A CSC sparsity pattern (sorted row indices) of a square matrix."""

    indices: np.ndarray
    indptr: np.ndarray
    dim: int

    @property
    def nnz(self) -> int:
        return len(self.indices)

    @property
    def nbytes(self) -> int:
        return int(self.indices.nbytes + self.indptr.nbytes)

    def with_data(self, data: np.ndarray) -> scipy.sparse.csc_matrix:
        return scipy.sparse.csc_matrix((data, self.indices, self.indptr), shape=(self.dim, self.dim))

    def restricted(self, keep: np.ndarray) -> "Pattern":
        """The entries where ``keep`` (a mask over this pattern's entries) holds."""
        indptr = np.concatenate([[0], np.cumsum(keep, dtype=self.indptr.dtype)])[self.indptr]
        return Pattern(self.indices[keep], indptr.astype(self.indptr.dtype), self.dim)


@dataclass
class LiouvillianPieces:
    """Every piece of one model at one N on the common ``pattern`` (every piece and the trace
    row); ``pattern0`` is L0's own, sparser pattern (the pieces of zero charge and the trace
    row) for its LU, ``positions0`` its entries' places in ``pattern``. With a U(1)-breaking
    piece, ``rows`` (CSR indices, indptr) and ``row_order`` (the pattern's entries in row order)
    give L as CSR: the order of GMRES' products, the refinement's residual and row-based direct
    solvers, one gather per point instead of two CSC -> CSR conversions in the solve (measured on
    xyz at N = 300, same run: combine +0.4 s, solve -3.1 s, peak memory -0.37 GB)."""

    space: KeySpace
    pieces: list[Piece]
    trace_values: np.ndarray
    trace_positions: np.ndarray
    trace_rhs: float
    pattern: Pattern
    pattern0: Pattern = field(init=False, repr=False)
    positions0: np.ndarray = field(init=False, repr=False)
    rows: tuple[np.ndarray, np.ndarray] | None = field(init=False, repr=False)
    row_order: np.ndarray | None = field(init=False, repr=False)
    #: state kept between points on this pattern: analysed PARDISO handles, the Hermitian fold
    #: (symsteady.exact.solve)
    workspace: dict = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        keep0 = np.zeros(self.pattern.nnz, dtype=bool)
        for p in self.pieces:
            if not p.breaking:
                keep0[p.positions] = True
        keep0[self.trace_positions] = True
        self.pattern0 = self.pattern.restricted(keep0)
        self.positions0 = np.flatnonzero(keep0)
        self.rows, self.row_order = None, None
        if any(p.breaking for p in self.pieces):
            P = self.pattern
            order = np.arange(P.nnz, dtype=P.indices.dtype)
            T = scipy.sparse.csc_matrix((order, P.indices, P.indptr), shape=(P.dim, P.dim)).tocsr()
            self.rows, self.row_order = (T.indices, T.indptr), T.data

    def __getstate__(self) -> dict:
        """Pickled without the workspace (solver handles and folds belong to this process)."""
        return {**self.__dict__, "workspace": {}}

    @property
    def nbytes(self) -> int:
        rows = 0 if self.rows is None else self.rows[0].nbytes + self.rows[1].nbytes + self.row_order.nbytes
        kept = sum(int(getattr(v, "nbytes", 0)) for v in list(self.workspace.values()))  # e.g. a Hermitian fold
        return (sum(p.values.nbytes + p.positions.nbytes for p in self.pieces) + self.trace_values.nbytes
                + self.trace_positions.nbytes + self.pattern.nbytes + self.pattern0.nbytes + self.positions0.nbytes
                + rows + kept)

    def combine(self, model: Model, values: Mapping[str, Any]) -> ExactLiouvillian:
        """L0 and L at a checked point: ``sum coefficient(point) * piece`` plus the trace row."""
        coefficients = term_coefficients(model, values)
        data = np.zeros(self.pattern.nnz, dtype=complex)
        broken = False
        scale = 0.0  # an upper bound of max |L0_ij| (the trace row's scale)
        for c, p in sorted(zip(coefficients, self.pieces), key=lambda cp: cp[1].breaking):
            if c == 0:
                continue
            if p.breaking and not broken:  # L0 is complete: its scale fixes the trace row's
                scale = scale or 1.0
                data[self.trace_positions] += scale * self.trace_values
                data0 = data[self.positions0]
                broken = True
            data[p.positions] += (c * p.phase) * p.values
            if not p.breaking:
                scale += abs(c) * p.largest
        if not broken:
            scale = scale or 1.0
            data[self.trace_positions] += scale * self.trace_values
            data0 = data[self.positions0]
        A0 = self.pattern0.with_data(data0)
        if not broken:
            return ExactLiouvillian(self.space, A0, A0, scale * self.trace_rhs, False, self.workspace)
        dim = self.pattern.dim
        A = scipy.sparse.csr_matrix((data[self.row_order], *self.rows), shape=(dim, dim))
        return ExactLiouvillian(self.space, A0, A, scale * self.trace_rhs, True, self.workspace,
                                A_csc=self.pattern.with_data(data))


@dataclass
class _Entries:
    """One piece's entries by (source position, shift code), duplicates summed: ``phase * values``."""

    src: np.ndarray
    code: np.ndarray
    rows: np.ndarray
    values: np.ndarray
    phase: complex = 1.0


def _packed(space: KeySpace, labels: tuple[np.ndarray, ...]) -> np.ndarray:
    """Labels as one integer in base ``_base(space)`` (the first coordinate most significant)."""
    base, out = _base(space), np.zeros(len(labels[0]), dtype=np.int32)
    for lab in labels:
        out *= base
        out += lab
    return out


def _base(space: KeySpace) -> int:
    """A base above every coordinate (N) and above twice the largest shift."""
    return max(space.n + 1, 2 * SHIFT_BOUND + 1)


def _shift_code(space: KeySpace, src: np.ndarray, targets: tuple[np.ndarray, ...]) -> np.ndarray:
    """``target - label[src]`` packed into one small non-negative integer: the difference of the
    packed labels (one gather instead of one per coordinate) plus :func:`_code_offset`."""
    if "_packed" not in space.__dict__:
        space.__dict__["_packed"] = _packed(space, space.labels)
    code = _packed(space, targets)
    code -= space.__dict__["_packed"][src]
    code += _code_offset(space)
    return code


def _code_offset(space: KeySpace) -> int:
    """The packed value of the shift (SHIFT_BOUND, ...): codes of all shifts are then >= 0."""
    return int(_packed(space, (np.full(1, SHIFT_BOUND),) * len(space.labels))[0])


def _shifts(space: KeySpace, codes: np.ndarray) -> list[np.ndarray]:
    """The coordinate shifts of shift codes, first coordinate first (each within SHIFT_BOUND,
    below half the base: the digits are unique)."""
    base, rest, out = _base(space), codes.astype(np.int64) - _code_offset(space), []
    for _ in space.labels:
        d = (rest + SHIFT_BOUND) % base - SHIFT_BOUND
        out.append(d)
        rest = (rest - d) // base
    return out[::-1]


#: Labels per chunk of :func:`_piece_entries`: its temporaries (about 0.4 kB per label and term)
#: then stay below glibc's largest mmap threshold (32 MB), reused without page faults (measured
#: on xyz at N = 300 against all labels at once: build 6.9 s against 8.4 s CPU, its peak 1.65
#: against 1.83 GB; no difference beyond noise at N = 200).
CHUNK_LABELS = 1 << 15


def _piece_entries(space: KeySpace, terms: list[tuple[Any, Chain]]) -> _Entries:
    """The terms on every label, the dark state's (last) row dropped, duplicates summed (a
    ``bincount`` over the (source, shift) slots of a chunk of sources), exact cancellations dropped."""
    for _, chain in terms:
        if len(chain) > SHIFT_BOUND:  # a rule step moves each coordinate by at most one
            raise ExactSolverError(f"a term of L has {len(chain)} steps, more than the exact solver's "
                                   f"{SHIFT_BOUND}: a word longer than {SHIFT_BOUND} letters")
    terms = [(complex(f), chain) for f, chain in terms if f != 0]
    has_re, has_im = any(f.real != 0 for f, _ in terms), any(f.imag != 0 for f, _ in terms)
    slot_of = np.full(2 * _code_offset(space) + 1, -1, dtype=np.int32)
    codes: list[int] = []
    out = []
    for start in range(0, space.dim if terms else 0, CHUNK_LABELS):
        stop = min(space.dim, start + CHUNK_LABELS)
        parts = []
        for factor, chain in terms:
            src, rows, targets, values = term_entries(space, chain, start, stop)
            code = _shift_code(space, src, targets)
            slot = slot_of[code]
            if slot.size and slot.min() < 0:  # shifts not met before
                new = np.unique(code[slot < 0])
                slot_of[new] = np.arange(len(codes), len(codes) + len(new))
                codes += new.tolist()
                slot = slot_of[code]
            src -= start
            parts.append((src, slot, rows, factor, values))
        out.append(_chunk_sums(parts, len(codes), (stop - start) * len(codes), has_re, has_im, space.dim))
        src, slot, rows, values = out[-1]
        src += start
        out[-1] = (src, np.asarray(codes, dtype=np.int32)[slot], rows, values)
    if not out:
        empty = np.zeros(0, dtype=INDEX)
        return _Entries(empty, empty.astype(np.int32), empty, np.zeros(0))
    src, code, rows, values = (np.concatenate([o[i] for o in out]) for i in range(4))
    return _Entries(src, code, rows, values, 1j if has_im and not has_re else 1.0)


def _chunk_sums(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, complex, np.ndarray]], width: int,
                size: int, has_re: bool, has_im: bool, dim: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sum one chunk's entries ``(source, slot, row, factor, value)`` by (source, slot):
    ``(source, slot, row, value)`` sorted by source, values real unless the piece has both a
    real and an imaginary part (then complex), the dark row and exact zeros dropped."""
    keys = [p[0].astype(np.int64) * width + p[1] for p in parts]
    rows_at = np.empty(size, dtype=INDEX)
    for p, k in zip(parts, keys):
        rows_at[k] = p[2]
    sums = []
    for wanted, part in ((has_re, lambda f: f.real), (has_im, lambda f: f.imag)):
        chosen = [(k, part(p[3]) * p[4]) for p, k in zip(parts, keys) if wanted and part(p[3]) != 0]
        sums.append(np.bincount(np.concatenate([c[0] for c in chosen]), np.concatenate([c[1] for c in chosen]),
                                minlength=size) if chosen else None)
    re, im = sums
    nonzero = (re != 0) if re is not None else (im != 0)
    if re is not None and im is not None:
        nonzero |= im != 0
    nz = np.flatnonzero(nonzero)
    nz = nz[rows_at[nz] != dim - 1]  # the dark state's row: the trace row's place
    if re is None:
        values = im[nz]
    elif im is None:
        values = re[nz]
    else:
        values = re[nz] + 1j * im[nz]
    return (nz // width).astype(INDEX), (nz % width).astype(np.int32), rows_at[nz], values


def _shift_ranks(space: KeySpace, codes: np.ndarray) -> tuple[np.ndarray, int]:
    """``rank[class, k]``: the place of shift ``codes[k]``'s target among a source's targets in
    the key order, by the source's charge class (``q + Q`` for ``|q| <= Q``, else ``2Q + 1``;
    Q the largest charge shift): order by (target charge = 0, charge shift, -(a + b) shift,
    c shift), the key order of :func:`symsteady.exact.space.all_labels`."""
    d = _shifts(space, codes)
    dq, ds = d[0] - d[1], d[0] + d[1]
    dc = d[2] if len(d) == 3 else np.zeros_like(dq)
    Q = int(np.abs(dq).max(initial=0))
    rank = np.empty((2 * Q + 2, len(codes)), dtype=np.int64)
    for cls in range(2 * Q + 2):
        lands_at_zero = (dq == Q - cls) if cls <= 2 * Q else np.zeros(len(codes), dtype=bool)
        rank[cls, np.lexsort((dc, -ds, dq, lands_at_zero))] = np.arange(len(codes))
    return rank, Q


def assemble(space: KeySpace, entries: list[_Entries], trace_cols: np.ndarray
             ) -> tuple[Pattern, list[np.ndarray], np.ndarray]:
    """The common pattern of ``entries`` and the trace row (last row, columns ``trace_cols``),
    and the positions of each piece's entries and of the trace row's in it."""
    dim = space.dim
    codes = np.flatnonzero(np.bincount(np.concatenate([e.code for e in entries] + [np.zeros(0, np.int32)]),
                                       minlength=1))
    slot = np.zeros(int(codes[-1]) + 1 if len(codes) else 1, dtype=np.int64)
    slot[codes] = np.arange(len(codes))
    rank, Q = _shift_ranks(space, codes)
    width = len(codes) + 1  # the last slot of a column: the trace row
    key_type = INDEX if dim * width < 2**31 else np.int64  # 4-byte slots halve the passes' memory
    q = space.labels[0] - space.labels[1]
    cls = np.where(np.abs(q) <= Q, q + Q, 2 * Q + 1)
    rank = rank.astype(key_type)
    keys = []
    for e in entries:
        k = e.src.astype(key_type)
        k *= width
        k += rank[cls[e.src], slot[e.code]]
        keys.append(k)
    trace_keys = trace_cols.astype(key_type) * width + (width - 1)
    occupied = np.zeros(dim * width, dtype=bool)
    for k in keys:
        occupied[k] = True
    occupied[trace_keys] = True
    place = np.cumsum(occupied, dtype=key_type)  # nnz <= dim * width: the same type holds it
    del occupied
    nnz = int(place[-1]) if len(place) else 0
    place -= 1
    index_type = key_type
    indptr = np.concatenate([[0], place.reshape(dim, width)[:, -1].astype(np.int64) + 1]).astype(index_type)
    indices = np.empty(nnz, dtype=INDEX)
    positions = [place[k] for k in keys]
    for e, pos in zip(entries, positions):
        indices[pos] = e.rows
    trace_positions = place[trace_keys]
    indices[trace_positions] = dim - 1
    return Pattern(indices, indptr, dim), positions, trace_positions


def build_pieces(model: Model, n: int) -> LiouvillianPieces:
    """Every piece of ``model`` at N = n (no cache; :func:`pieces_for` caches)."""
    numbers, _, _ = point_field(model, {"N": n})
    basis = make_basis(model, numbers)
    period = charge_period(model)
    check_size(basis, n, period)
    space = KeySpace(basis, n, period)
    one = numbers.convert(sympy.Integer(1))
    specs = [(Superoperator(basis, {word: one}, {}), charge(word) != 0) for word in model.poly]
    specs += [(Superoperator(basis, {}, {key: one}), False) for key in model.rates]
    entries = [_piece_entries(space, S.terms) for S, _ in specs]
    cols, vals, rhs = trace_row(space, 1.0)
    pattern, positions, trace_positions = assemble(space, entries, cols)
    pieces = [Piece(e.values, e.phase, pos, breaking) for e, pos, (_, breaking) in zip(entries, positions, specs)]
    return LiouvillianPieces(space, pieces, vals, trace_positions, rhs, pattern)


_CACHE: OrderedDict[tuple[Any, int], LiouvillianPieces] = OrderedDict()
_LOCK = threading.Lock()


_KEYS: OrderedDict[int, tuple[Model, Any]] = OrderedDict()  # id -> (model, key): srepr took 0.4 ms a point


def _model_key(model: Model) -> Any:
    """A model's content (its Hamiltonian words and rates), independent of its name."""
    with _LOCK:
        hit = _KEYS.get(id(model))
        if hit is not None and hit[0] is model:
            return hit[1]
    key = (tuple(sorted((w, sympy.srepr(c)) for w, c in model.poly.items())),
           tuple(sorted((k, sympy.srepr(v)) for k, v in model.rates.items())))
    with _LOCK:
        _KEYS[id(model)] = (model, key)  # the model kept: its id cannot be reused while here
        while len(_KEYS) > 32:
            _KEYS.popitem(last=False)
    return key


_COMPILED: OrderedDict[Any, tuple[list[sympy.Symbol], Any]] = OrderedDict()  # model key -> coefficients


def term_coefficients(model: Model, values: Mapping[str, Any]) -> list[complex]:
    """The coefficient of each term of L at a checked point, in double precision: the
    Hamiltonian's words, then the dissipative rates, in the model's order (the order of the
    pieces). One function per model, compiled (``sympy.lambdify``) once: substituting into the
    sympy expressions took a millisecond per point of a map."""
    key = _model_key(model)
    with _LOCK:
        compiled = _COMPILED.get(key)
    if compiled is None:
        expressions = [sympy.sympify(e) for e in (*model.poly.values(), *model.rates.values())]
        symbols = sorted(set().union(*(e.free_symbols for e in expressions)), key=str)
        compiled = symbols, sympy.lambdify(symbols, expressions, modules="numpy")
        with _LOCK:
            _COMPILED[key] = compiled
            while len(_COMPILED) > 32:
                _COMPILED.popitem(last=False)
    symbols, function = compiled
    _, _, subs = point_field(model, values)
    return [complex(c) for c in function(*(complex(subs[s]) for s in symbols))]


def pieces_for(model: Model, n: int) -> LiouvillianPieces:
    """The pieces of ``model`` at N = n, from the cache when built before."""
    key = (_model_key(model), n)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    built = build_pieces(model, n)
    if built.nbytes <= PIECE_CACHE_BYTES:
        with _LOCK:
            _CACHE[key] = built
            total = sum(p.nbytes for p in _CACHE.values())
            while len(_CACHE) > PIECE_CACHE_ENTRIES or (len(_CACHE) > 1 and total > PIECE_CACHE_BYTES):
                _, dropped = _CACHE.popitem(last=False)
                total -= dropped.nbytes
    return built


def clear_piece_cache() -> None:
    """Forget every cached model's pieces."""
    with _LOCK:
        _CACHE.clear()


def build_at(model: Model, values: Mapping[str, Any]) -> ExactLiouvillian:
    """L0 and L at a checked point from the (cached) pieces of its model and N."""
    return pieces_for(model, int(values["N"])).combine(model, values)
