"""The exact Liouvillian as fixed sparse pieces, built once per (model, N), combined per point.

``L = sum_w h_w(p) [-i w X + i X w] + sum_r r(p) D_r X``: each word w of the Hamiltonian and
each dissipative process r gives one sparse matrix with unit coefficient (the chains of
:class:`symsteady.liouvillian.Superoperator`, evaluated on every label by
:func:`symsteady.exact.matrix.run_chain`); at a point only the coefficients ``h_w(p)``, ``r(p)``
(the model's expressions at N) are evaluated and the pieces summed — a sparse linear
combination, no re-derivation (``docs/algorithm/exact-convergence.md#convergence-pieces``). Pieces are
CSC (the order the LU wants; built column by column, which is also the fast order for the COO
conversion), in the normalised basis, without the dark state's row (the trace row replaces it).

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
from ..liouvillian import Superoperator, make_basis
from ..model import Model
from ..points import point_field
from ..spinpoly import charge
from .matrix import ExactLiouvillian, check_size, normalised_matrix, trace_row
from .space import KeySpace

#: Largest total size (bytes) of one model's pieces kept in the cache (about N = 200 with
#: local processes); larger ones are rebuilt at every point.
PIECE_CACHE_BYTES = 3_000_000_000
#: Most (model, N) entries kept (least recently used dropped first).
PIECE_CACHE_ENTRIES = 4


@dataclass
class Piece:
    """One term of L with unit coefficient: ``matrix`` (CSC, normalised basis, dark row empty),
    ``coefficient`` (its sympy expression in the parameters and N), ``breaking``
    (a Hamiltonian word of nonzero U(1) charge)."""

    matrix: scipy.sparse.csc_matrix
    coefficient: sympy.Expr
    breaking: bool
    largest: float = field(init=False)  # max |entry|

    def __post_init__(self) -> None:
        self.largest = float(np.abs(self.matrix.data).max(initial=0.0))


@dataclass
class LiouvillianPieces:
    """Every piece of one model at one N on a common pattern.

    ``pattern`` (CSC, no values) is the union of every piece and the trace row; ``positions[k]``
    places piece k's entries in it; ``pattern0`` and ``positions0`` do the same for L0 (the
    pieces of zero charge and the trace row), which keeps its own, sparser pattern for its LU.
    """

    space: KeySpace
    pieces: list[Piece]
    trace: scipy.sparse.csc_matrix
    trace_rhs: float
    pattern: scipy.sparse.csc_matrix = field(init=False, repr=False)
    positions: list[np.ndarray] = field(init=False, repr=False)
    pattern0: scipy.sparse.csc_matrix = field(init=False, repr=False)
    positions0: np.ndarray = field(init=False, repr=False)
    trace_positions: np.ndarray = field(init=False, repr=False)
    #: the solver's state between points on this pattern (symsteady.exact.solve: analysed PARDISO handles)
    workspace: dict = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        every = [p.matrix for p in self.pieces] + [self.trace]
        self.pattern = _union(every)
        self.positions = [_positions(self.pattern, p.matrix) for p in self.pieces]
        self.trace_positions = _positions(self.pattern, self.trace)
        self.pattern0 = _union([p.matrix for p in self.pieces if not p.breaking] + [self.trace])
        self.positions0 = _positions(self.pattern, self.pattern0)

    def __getstate__(self) -> dict:
        """Pickled without the workspace (solver handles hold memory of this process only)."""
        return {**self.__dict__, "workspace": {}}

    @property
    def nbytes(self) -> int:
        return (sum(_nbytes(p.matrix) for p in self.pieces) + _nbytes(self.trace) + _nbytes(self.pattern)
                + _nbytes(self.pattern0) + sum(x.nbytes for x in self.positions) + self.positions0.nbytes)

    def combine(self, model: Model, values: Mapping[str, Any]) -> ExactLiouvillian:
        """L0 and L at a checked point: ``sum coefficient(point) * piece`` plus the trace row."""
        _, convert, _ = point_field(model, values)
        data = np.zeros(self.pattern.nnz, dtype=complex)
        broken = False
        scale = 0.0  # an upper bound of max |L0_ij| (the trace row's scale)
        for p, pos in sorted(zip(self.pieces, self.positions), key=lambda t: t[0].breaking):
            c = complex(convert(p.coefficient))
            if c == 0:
                continue
            if p.breaking and not broken:  # L0 is complete: its scale fixes the trace row's
                scale = scale or 1.0
                data[self.trace_positions] += scale * self.trace.data
                data0 = data[self.positions0]
                broken = True
            data[pos] += c * p.matrix.data
            if not p.breaking:
                scale += abs(c) * p.largest
        if not broken:
            scale = scale or 1.0
            data[self.trace_positions] += scale * self.trace.data
            data0 = data[self.positions0]
        A0 = _with_data(self.pattern0, data0)
        A = _with_data(self.pattern, data) if broken else A0
        return ExactLiouvillian(self.space, A0, A, scale * self.trace_rhs, broken, self.workspace)


def _with_data(pattern: scipy.sparse.csc_matrix, data: np.ndarray) -> scipy.sparse.csc_matrix:
    return scipy.sparse.csc_matrix((data, pattern.indices, pattern.indptr), shape=pattern.shape)


def _union(matrices: list[scipy.sparse.csc_matrix]) -> scipy.sparse.csc_matrix:
    """The union of the patterns (CSC, sorted indices, values 1)."""
    out = None
    for M in matrices:
        P = scipy.sparse.csc_matrix((np.ones(M.nnz), M.indices, M.indptr), shape=M.shape)
        out = P if out is None else out + P
    out.sort_indices()
    out.data[:] = 1.0
    return out


def _positions(pattern: scipy.sparse.csc_matrix, M: scipy.sparse.csc_matrix) -> np.ndarray:
    """Where M's entries (CSC, sorted) sit in ``pattern`` (a superset)."""
    dim = pattern.shape[0]
    def keys(X: scipy.sparse.csc_matrix) -> np.ndarray:
        return np.repeat(np.arange(X.shape[1], dtype=np.int64) * dim, np.diff(X.indptr)) + X.indices
    M.sort_indices()
    return np.searchsorted(keys(pattern), keys(M)).astype(np.int64)


def _nbytes(M: scipy.sparse.spmatrix) -> int:
    return int(M.data.nbytes + M.indices.nbytes + M.indptr.nbytes)


def _piece_matrix(space: KeySpace, terms: list[tuple[Any, Chain]]) -> scipy.sparse.csc_matrix:
    """The terms on every label as CSC, the dark state's (last) row dropped."""
    M = normalised_matrix(space, terms)
    keep = M.indices != space.dim - 1
    indptr = np.concatenate([[0], np.cumsum(keep)])[M.indptr]
    return scipy.sparse.csc_matrix((M.data[keep], M.indices[keep], indptr), shape=M.shape)


def build_pieces(model: Model, n: int) -> LiouvillianPieces:
    """Every piece of ``model`` at N = n (no cache; :func:`pieces_for` caches)."""
    numbers, _, _ = point_field(model, {"N": n})
    basis = make_basis(model, numbers)
    check_size(basis, n)
    space = KeySpace(basis, n)
    one = numbers.convert(sympy.Integer(1))
    pieces = []
    for word, expr in model.poly.items():
        S = Superoperator(basis, {word: one}, {})
        pieces.append(Piece(_piece_matrix(space, S.terms), sympy.sympify(expr), charge(word) != 0))
    for key, expr in model.rates.items():
        S = Superoperator(basis, {}, {key: one})
        pieces.append(Piece(_piece_matrix(space, S.terms), sympy.sympify(expr), False))
    cols, vals, rhs = trace_row(space, 1.0)
    dim = space.dim
    trace = scipy.sparse.csc_matrix((vals, (np.full(len(cols), dim - 1), cols)), shape=(dim, dim))
    return LiouvillianPieces(space, pieces, trace, rhs)


_CACHE: OrderedDict[tuple[Any, int], LiouvillianPieces] = OrderedDict()
_LOCK = threading.Lock()


def _model_key(model: Model) -> Any:
    """A model's content (its Hamiltonian words and rates), independent of its name."""
    return (tuple(sorted((w, sympy.srepr(c)) for w, c in model.poly.items())),
            tuple(sorted((k, sympy.srepr(v)) for k, v in model.rates.items())))


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
