"""The Hermitian fold of the exact system (docs/algorithm/exact-convergence.md#convergence-fold):
L̂ commutes with x -> conj(x∘σ), the real matrix M is D T^H L̂ T, and solves through it are
the complex solves of L̂, its transpose and adjoint."""

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

from symsteady import builtin
from symsteady.exact.fold import HermitianFold
from symsteady.exact.pieces import build_at
from symsteady.points import check_points

CASES = [
    ("xyz", {"N": 8, "J": 0.5, "delta": 0.7, "Jz": 1.0, "gamma": 1.0}),
    ("tfi", {"N": 7, "Jx": 2.0, "Delta": -1.0, "gamma": 1.0}),
    ("driven_ising", {"N": 7, "Omega": 0.9, "Delta": 0.5, "U": 0.5, "gamma": 1.0}),
    ("resonance_fluorescence", {"N": 9, "Omega": 3.0, "Gamma": 1.0}),  # the symmetric sector
]


def _system(name, point):
    model = builtin(name)
    return build_at(model, check_points(model, [point])[0])


def _swap(space):
    a, b = space.labels[0], space.labels[1]
    return space.index((b, a, *space.labels[2:]))


@pytest.mark.parametrize("name, point", CASES)
def test_the_liouvillian_commutes_with_the_adjoint(name, point):
    system = _system(name, point)
    A = system.columns().toarray()
    s = _swap(system.space)
    assert sorted(s) == list(range(len(s)))  # the sector is closed under the swap
    assert np.abs(A[np.ix_(s, s)].conj() - A).max() <= 1e-14 * np.abs(A).max()
    assert np.abs(A[np.ix_(s, s)] - A).max() > 1e-3 * np.abs(A).max()  # the check can fail: A is not real


@pytest.mark.parametrize("name, point", CASES)
def test_the_folded_matrix_is_d_t_adjoint_a_t(name, point):
    system = _system(name, point)
    A = system.columns()
    fold = HermitianFold.of(system.space, A)
    M = fold.matrix(A)
    assert M.dtype == float
    n = A.shape[0]
    T = np.column_stack([fold.unfold(e) for e in np.eye(n)])  # x = T w
    want = np.diag(fold.half) @ T.conj().T @ A.toarray() @ T
    assert np.abs(want.imag).max() <= 1e-13 * np.abs(want).max()
    assert np.abs(M.toarray() - want.real).max() <= 1e-13 * np.abs(want).max()
    r = np.random.default_rng(0).normal(size=n) + 0j
    assert np.allclose(fold.fold(r), np.diag(fold.half) @ T.conj().T @ r)


@pytest.mark.parametrize("name, point", CASES)
def test_solves_through_the_fold_are_the_complex_solves(name, point):
    system = _system(name, point)
    A = system.columns()
    fold = HermitianFold.of(system.space, A)
    lu = scipy.sparse.linalg.splu(fold.matrix(A))
    rng = np.random.default_rng(1)
    r = rng.normal(size=A.shape[0]) + 1j * rng.normal(size=A.shape[0])  # not J-invariant
    for trans, B in (("N", A), ("T", A.T), ("H", A.conj().T)):
        x = fold.solve(lambda v, t: lu.solve(v, trans=t), r, trans)
        assert np.abs(B @ x - r).max() <= 1e-11 * np.abs(r).max() * np.abs(x).max(), trans
    s = _swap(system.space)
    part = fold.solve(lambda v, t: lu.solve(v, trans=t), r, hermitian=True)  # of (r + J r) / 2 only
    assert np.array_equal(part[s], part.conj())
    assert np.abs(A @ part - (r + r[s].conj()) / 2).max() <= 1e-11 * np.abs(r).max() * np.abs(part).max()
    b = np.zeros(A.shape[0], dtype=complex)
    b[-1] = system.rhs
    x = fold.solve(lambda v, t: lu.solve(v, trans=t), b)
    assert np.array_equal(x[s], x.conj())  # the steady state: Hermitian by construction
    assert np.abs(x - scipy.sparse.linalg.spsolve(A, b)).max() <= 1e-12 * np.abs(x).max()


def test_folded_coordinates_are_the_labels_with_a_at_least_b():
    system = _system(*CASES[0])
    fold = HermitianFold.of(system.space, system.columns())
    a, b, c = fold.coordinates
    assert np.all(a >= b) and len(a) == system.space.dim
    assert (a[-1], b[-1], c[-1]) == (0, 0, 0)  # the dark state (trace row) stays last


def test_the_pieces_count_their_kept_fold():
    """The fold lives in the pieces' workspace; the cache's size limit sees its bytes."""
    from symsteady.exact import solve_at
    from symsteady.exact.pieces import clear_piece_cache, pieces_for

    model = builtin("driven_ising")
    clear_piece_cache()
    point = check_points(model, [{"N": 6, "Omega": 0.9, "Delta": 0.5, "U": 0.5, "gamma": 1.0}])[0]
    before = pieces_for(model, 6).nbytes
    assert solve_at(model, point).info.method == "direct"
    pieces = pieces_for(model, 6)
    [fold] = [v for k, v in pieces.workspace.items() if k[0] == "fold"]
    assert fold.nbytes > 0 and pieces.nbytes == before + fold.nbytes
    clear_piece_cache()
