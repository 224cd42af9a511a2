"""Dicke blocks from orbit coefficients (docs/algorithm/metrology.md#metrology-dicke-map)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import exact_reference as ref
from symsteady.algebra import OrbitBasis, SymmetricBasis
from symsteady.exact.dicke import dicke_blocks_from_operator, multiplicity
from symsteady.exact.space import all_labels
from symsteady.fields import ComplexField


def random_operator(basis, N, rng):
    labels = all_labels(basis, N)
    keys = list(zip(*(lab.tolist() for lab in labels)))
    return {key: complex(rng.normal(), rng.normal()) for key in keys}


def full_matrix(op, N):
    X = np.zeros((2**N, 2**N), dtype=complex)
    for key, v in op.items():
        if len(key) == 3:
            X += v * ref.orbit_matrix(N, *key)
        else:
            X += v * sum(ref.orbit_matrix(N, key[0], key[1], c) for c in range(min(key) + 1))
    return X


@pytest.mark.parametrize("N", [1, 2, 3, 4, 5, 6])
def test_blocks_equal_explicit_spin_j_matrices(N, rng):
    basis = OrbitBasis(ComplexField(N))
    op = random_operator(basis, N, rng)
    X = full_matrix(op, N)
    blocks = dicke_blocks_from_operator(basis, N, op)
    assert sorted(blocks) == [N / 2 - k for k in range(N // 2, -1, -1)]
    for k in range(N // 2 + 1):
        V = ref.spin_j_basis(N, k)
        rho, d = blocks[N / 2 - k]
        assert d == multiplicity(N, k)
        np.testing.assert_allclose(rho, V.conj().T @ X @ V, atol=1e-9 * np.abs(X).max())
    # complete: the blocks with their multiplicities carry the whole operator
    assert sum(d * np.trace(r) for r, d in blocks.values()) == pytest.approx(np.trace(X))
    assert sum(d * np.vdot(r, r) for r, d in blocks.values()) == pytest.approx(np.vdot(X, X))
    assert sum(d * (2 * j + 1) for j, (_, d) in blocks.items()) == 2**N


@pytest.mark.parametrize("N", [1, 4, 5])
def test_symmetric_sector_is_the_single_block(N, rng):
    basis = SymmetricBasis(ComplexField(N))
    op = random_operator(basis, N, rng)
    blocks = dicke_blocks_from_operator(basis, N, op)
    assert list(blocks) == [N / 2]
    V = ref.symmetric_basis(N)
    np.testing.assert_allclose(blocks[N / 2][0], V.conj().T @ full_matrix(op, N) @ V, atol=1e-9)
    assert blocks[N / 2][1] == 1


def overlap_polynomial(n, k, a, b):
    """``s_k(a, b, c)`` for c = 0..min(a, b) as exact integers: ``(z - 1)^k Σ_u C(a-k, u) C(n-a-k, b-k-u) z^u``."""
    free, na, nb = n - 2 * k, a - k, b - k
    poly = [0] * (min(a, b) + 1)
    for u in range(max(0, na + nb - free), min(na, nb) + 1):
        poly[u] = math.comb(na, u) * math.comb(free - na, nb - u)
    for _ in range(k):
        poly = [(poly[c - 1] if c else 0) - poly[c] for c in range(len(poly))]
    return poly


def blocks_from_the_integer_formula(op, n):
    """``(rho_k)_{ab} = sqrt(C(M, a-k)/C(M, b-k)) Σ_c x(a, b, c) s_k(a, b, c)``, term by term
    (docs/algorithm/metrology.md#metrology-dicke-map), the sum correctly rounded."""
    terms = {}
    for (a, b, c), x in op.items():
        for k in range(min(a, b, n - a, n - b) + 1):
            M = n - 2 * k
            s = overlap_polynomial(n, k, a, b)[c]
            ratio = math.sqrt(math.comb(M, a - k) / math.comb(M, b - k))
            terms.setdefault((k, a, b), []).append(complex(x) * s * ratio)
    blocks = {k: np.zeros((n - 2 * k + 1,) * 2, dtype=complex) for k in range(n // 2 + 1)}
    for (k, a, b), t in terms.items():
        w = n - 2 * k + 1
        total = complex(math.fsum(z.real for z in t), math.fsum(z.imag for z in t))
        blocks[k][w - 1 - (a - k), w - 1 - (b - k)] = total
    return blocks


@pytest.mark.parametrize("chunk", [1 << 20, 40])
def test_vectorised_blocks_equal_the_integer_formula(chunk, rng, monkeypatch):
    """N = 14, every label: the finite-difference evaluation (in chunks of pairs, or all at once)
    against the exact integer polynomials s_k summed term by term."""
    import symsteady.exact.dicke as dicke

    monkeypatch.setattr(dicke, "CHUNK_ELEMENTS", chunk)
    N = 14
    basis = OrbitBasis(ComplexField(N))
    op = random_operator(basis, N, rng)
    want = blocks_from_the_integer_formula(op, N)
    got = dicke_blocks_from_operator(basis, N, op)
    for k, rho in want.items():
        np.testing.assert_allclose(got[N / 2 - k][0], rho, rtol=0, atol=1e-11 * np.abs(rho).max())


def test_multiplicities():
    assert [multiplicity(6, k) for k in range(4)] == [1, 5, 9, 5]
    assert sum(multiplicity(20, k) * (21 - 2 * k) for k in range(11)) == 2**20
    assert multiplicity(7, 3) == math.comb(7, 3) - math.comb(7, 2)


@pytest.mark.parametrize("kind", ["orbit", "symmetric"])
def test_lowest_window_is_the_tail_of_the_full_blocks(kind, rng):
    """An operator near the dark state (a, b <= 2): its blocks restricted to the lowest states."""
    N = 9
    basis = (OrbitBasis if kind == "orbit" else SymmetricBasis)(ComplexField(N))
    op = {k: v for k, v in random_operator(basis, N, rng).items() if max(k[:2]) <= 2}
    full = dicke_blocks_from_operator(basis, N, op)
    window = dicke_blocks_from_operator(basis, N, op, lowest=4)
    assert set(window) <= set(full)
    for j, (rho, d) in full.items():
        if j in window:
            np.testing.assert_allclose(window[j][0], rho[-4:, -4:], atol=1e-12)
            assert window[j][1] == d
        np.testing.assert_allclose(rho[:-4, :], 0, atol=1e-12)


@pytest.mark.parametrize("N", [4, 5])
def test_piqs_dicke_states(N):
    """piqs.dicke(N, j, m) (in piqs' layout: d_j rho_j) from the 2^N projector on (j, m) over d_j."""
    qutip = pytest.importorskip("qutip")
    from qutip import piqs

    from symsteady.exact.dicke import piqs_matrix

    ops = ref.local_ops(N)
    S2 = ops["Sx"] @ ops["Sx"] + ops["Sy"] @ ops["Sy"] + ops["Sz"] @ ops["Sz"]
    w, V = np.linalg.eigh(S2 + 1e-3 * ops["Sz"])  # split the m's inside each j
    basis = OrbitBasis(ComplexField(N))
    for k in range(N // 2 + 1):
        j = N / 2 - k
        for m in (j, -j, j - 1):
            if abs(m) > j:
                continue
            cols = np.abs(w - (j * (j + 1) + 1e-3 * m)) < 1e-6
            P = V[:, cols] @ V[:, cols].conj().T
            X = P / multiplicity(N, k)
            blocks = dicke_blocks_from_operator(basis, N, ref.orbit_coefficients(X, N))
            want = piqs.dicke(N, j, m).full()
            np.testing.assert_allclose(piqs_matrix(blocks, N), want, atol=1e-9)


@pytest.mark.parametrize("N", [3, 6])
def test_piqs_coherent_spin_state(N):
    """A product state: orbit coefficients beta^a alpha^(N-a) conj(beta^b alpha^(N-b)) against piqs.css."""
    pytest.importorskip("qutip")
    from qutip import piqs

    from symsteady.exact.dicke import piqs_matrix

    up, down = 0.6, 0.8 * np.exp(0.7j)  # piqs.css: prod (x |e> + y |g>)
    basis = OrbitBasis(ComplexField(N))
    op = {key: up ** key[0] * down ** (N - key[0]) * np.conj(up ** key[1] * down ** (N - key[1]))
          for key in zip(*(lab.tolist() for lab in all_labels(basis, N)))}
    blocks = dicke_blocks_from_operator(basis, N, op)
    np.testing.assert_allclose(piqs_matrix(blocks, N), piqs.css(N, up, down, basis="dicke").full(), atol=1e-9)
