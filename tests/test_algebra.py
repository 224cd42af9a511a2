"""The orbit-basis algebra (``symsteady.algebra``, ``symsteady.liouvillian``) against explicit
2^N matrices built in ``exact_reference`` (which does not import symsteady).

Every check compares full matrices: an operator dict ``{key: coef}`` is turned into
``sum coef * B(key)`` (orbit basis) or ``sum coef * E(key)`` (symmetric sector), and compared
with the product / dissipator evaluated with Kronecker-product matrices.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import pytest
import sympy

from exact_reference import apply_lindblad_full, local_ops, orbit_matrix, symmetric_basis
from symsteady.algebra import (
    OrbitBasis,
    SymmetricBasis,
    site_z_sandwich,
    site_lower_sandwich,
    site_number,
    site_raise_sandwich,
)
from symsteady.errors import MethodError
from symsteady.fields import ComplexField, DomainField
from symsteady.processes import PROCESSES, process
from symsteady.liouvillian import Superoperator
from symsteady.model import N as N_SYM

TOL = 1e-12
LETTERS = ("p", "m", "z")
WORDS_1 = [(x,) for x in LETTERS]
WORDS_2 = list(itertools.product(LETTERS, repeat=2))
WORDS_3 = list(itertools.product(LETTERS, repeat=3))
FIELDS = ("complex", "exact")


# ---------------------------------------------------------------- helpers
def make_field(kind: str, N: int):
    return ComplexField(N) if kind == "complex" else DomainField(n=N)


def to_complex(v) -> complex:
    """A coefficient as a Python complex: floats/ints, or an element of QQ_I (.x, .y)."""
    if isinstance(v, (int, float, complex)):
        return complex(v)
    return complex(float(v.x), float(v.y))


@functools.lru_cache(maxsize=None)
def ops(N: int) -> dict:
    return local_ops(N)


@functools.lru_cache(maxsize=None)
def letter_matrices(N: int) -> dict:
    o = ops(N)
    return {"p": o["Sp"], "m": o["Sm"], "z": o["Sz"]}


def word_matrix(N: int, word) -> np.ndarray:
    """S_{w0} S_{w1} ... S_{wk} (the last letter acts first)."""
    out = np.eye(2**N, dtype=complex)
    L = letter_matrices(N)
    for x in word:
        out = out @ L[x]
    return out


@functools.lru_cache(maxsize=None)
def B_matrix(N: int, key) -> np.ndarray:
    m = orbit_matrix(N, *key)
    m.setflags(write=False)
    return m


@functools.lru_cache(maxsize=None)
def dicke_ket(N: int, a: int) -> np.ndarray:
    """|a>> = sum_{|A|=a} |A> (unnormalised), from the normalised column of symmetric_basis.

    symmetric_basis(N) column i holds N - i excitations, normalised by C(N, n)^(-1/2).
    """
    V = symmetric_basis(N)
    v = V[:, N - a] * math.sqrt(math.comb(N, a))
    v.setflags(write=False)
    return v


@functools.lru_cache(maxsize=None)
def E_matrix(N: int, key) -> np.ndarray:
    a, b = key
    if not (0 <= a <= N and 0 <= b <= N):
        return np.zeros((2**N, 2**N), dtype=complex)
    m = np.outer(dicke_ket(N, a), dicke_ket(N, b).conj())
    m.setflags(write=False)
    return m


def key_matrix(N: int, key) -> np.ndarray:
    return B_matrix(N, key) if len(key) == 3 else E_matrix(N, key)


def pairs_matrix(N: int, pairs) -> np.ndarray:
    """sum coef * B(key) for an iterable of (coef, key) pairs."""
    out = np.zeros((2**N, 2**N), dtype=complex)
    for v, k in pairs:
        out = out + to_complex(v) * key_matrix(N, k)
    return out


def op_matrix(N: int, op: dict) -> np.ndarray:
    return pairs_matrix(N, ((v, k) for k, v in op.items()))


def assert_close(got: np.ndarray, want: np.ndarray, what: str = "") -> None:
    err = float(np.abs(got - want).max()) if got.size else 0.0
    scale = max(1.0, float(np.abs(want).max()) if want.size else 0.0)
    assert err <= TOL * scale, f"{what}: max |got - want| = {err:.3e} (scale {scale:.3e})"


@functools.lru_cache(maxsize=None)
def orbit_triples(N: int) -> frozenset:
    """Every (|A|, |B|, |A ∩ B|) that occurs among pairs of basis states |A><B| (bitmasks)."""
    pc = [bin(k).count("1") for k in range(2**N)]
    return frozenset((pc[i], pc[j], pc[i & j]) for i in range(2**N) for j in range(2**N))


def all_keys(basis, N: int) -> list:
    return [k for a in range(N + 1) for b in range(N + 1) for k in basis.block_keys(a, b)]


def rand_rational(rng, lo=-9, hi=10, den=8) -> sympy.Rational:
    return sympy.Rational(int(rng.integers(lo, hi)), int(rng.integers(1, den)))


def rand_complex_rational(rng) -> sympy.Expr:
    return rand_rational(rng) + sympy.I * rand_rational(rng)


def random_operator(basis, N: int, rng) -> dict:
    """Random complex (Gaussian-rational) coefficients on every valid key, in the basis' field."""
    return {k: basis.F.convert(rand_complex_rational(rng)) for k in all_keys(basis, N)}


def random_hamiltonian(rng) -> dict:
    """A random Hermitian collective Hamiltonian as word -> sympy coefficient."""
    hz, hzz, hpm = rand_rational(rng), rand_rational(rng), rand_rational(rng)
    g, w, u = rand_complex_rational(rng), rand_complex_rational(rng), rand_complex_rational(rng)
    return {
        ("z",): hz,
        ("z", "z"): hzz,
        ("p", "m"): hpm,
        ("p", "p"): g,
        ("m", "m"): sympy.conjugate(g),
        ("p",): w,
        ("m",): sympy.conjugate(w),
        ("p", "z"): u,  # (Sp Sz)^dag = Sz Sm
        ("z", "m"): sympy.conjugate(u),
    }


def hamiltonian_matrix(N: int, ham: dict) -> np.ndarray:
    H = sum(complex(c) * word_matrix(N, w) for w, c in ham.items())
    assert np.abs(H - H.conj().T).max() < 1e-14
    return H


# ---------------------------------------------------------------- 1. letters and words
@pytest.mark.slow
@pytest.mark.parametrize("kind", FIELDS)
@pytest.mark.parametrize("N", [1, 2, 3, 4, 5])
def test_orbit_words_left_and_right(N, kind):
    """word * B(a,b,c) and B(a,b,c) * word for every valid key and every word of length <= 3."""
    basis = OrbitBasis(make_field(kind, N))
    words = WORDS_1 + WORDS_2 + WORDS_3
    keys = all_keys(basis, N)
    assert keys
    for key in keys:
        B = B_matrix(N, key)
        for word in words:
            W = word_matrix(N, word)
            assert_close(pairs_matrix(N, basis.left_word(word, key)), W @ B, f"left {word} {key}")
            assert_close(pairs_matrix(N, basis.right_word(word, key)), B @ W, f"right {word} {key}")


@pytest.mark.parametrize("N", [2, 4, 5])
def test_orbit_random_long_words(N):
    """Random words of length 4-5 (left and right), exact field."""
    rng = np.random.default_rng(100 + N)
    basis = OrbitBasis(DomainField(n=N))
    keys = all_keys(basis, N)
    for _ in range(40):
        word = tuple(rng.choice(list(LETTERS), size=int(rng.integers(4, 6))))
        key = keys[int(rng.integers(len(keys)))]
        B, W = B_matrix(N, key), word_matrix(N, word)
        assert_close(pairs_matrix(N, basis.left_word(word, key)), W @ B, f"left {word} {key}")
        assert_close(pairs_matrix(N, basis.right_word(word, key)), B @ W, f"right {word} {key}")


@pytest.mark.parametrize("N", [3, 5])
def test_orbit_apply_left_operator(N):
    rng = np.random.default_rng(7 * N)
    basis = OrbitBasis(DomainField(n=N))
    op = random_operator(basis, N, rng)
    M = op_matrix(N, op)
    for word in WORDS_2 + [("p", "z", "m")]:
        assert_close(op_matrix(N, basis.apply_left(word, op)), word_matrix(N, word) @ M, str(word))


# ---------------------------------------------------------------- 2. local rules
def _local_sums(N: int, B: np.ndarray) -> dict:
    o = ops(N)
    sp, sm, sz = o["sp"], o["sm"], o["sz"]
    return {
        "emission_jump": sum(sm[i] @ B @ sp[i] for i in range(N)),
        "number": sum(sp[i] @ sm[i] @ B for i in range(N)),
        "dephasing_sandwich": sum(sz[i] @ B @ sz[i] for i in range(N)),
        "pumping_jump": sum(sp[i] @ B @ sm[i] for i in range(N)),
    }


RULES = {
    "emission_jump": site_lower_sandwich,
    "number": site_number,
    "dephasing_sandwich": site_z_sandwich,
    "pumping_jump": site_raise_sandwich,
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", FIELDS)
@pytest.mark.parametrize("N", [1, 2, 3, 4, 5, 6])
def test_local_rules_vs_site_sums(N, kind):
    basis = OrbitBasis(make_field(kind, N))
    for key in all_keys(basis, N):
        want = _local_sums(N, B_matrix(N, key))
        for name, fn in RULES.items():
            assert_close(pairs_matrix(N, basis.rule(fn, key)), want[name], f"{name} {key}")


# ---------------------------------------------------------------- 3. trace, adjoint, expect, validity
@pytest.mark.parametrize("kind", FIELDS)
@pytest.mark.parametrize("N", [1, 2, 3, 4, 5, 6])
def test_orbit_trace_each_key(N, kind):
    basis = OrbitBasis(make_field(kind, N))
    for key in all_keys(basis, N):
        want = np.trace(B_matrix(N, key))
        got = to_complex(basis.tr({key: basis.F.one}))
        assert abs(got - want) <= TOL * max(1.0, abs(want)), key
        t = basis.trace(key)
        assert (t is None) == (want == 0), key
        if t is not None:
            assert to_complex(t) == want


@pytest.mark.parametrize("kind", FIELDS)
@pytest.mark.parametrize("N", [1, 2, 3, 4, 5])
def test_orbit_adjoint_and_trace_of_random_operator(N, kind):
    rng = np.random.default_rng(11 + N)
    basis = OrbitBasis(make_field(kind, N))
    op = random_operator(basis, N, rng)
    M = op_matrix(N, op)
    assert_close(op_matrix(N, basis.adjoint(op)), M.conj().T, "adjoint")
    got_tr = to_complex(basis.tr(op))
    assert abs(got_tr - np.trace(M)) <= TOL * max(1.0, abs(np.trace(M)))


@pytest.mark.slow
@pytest.mark.parametrize("kind", FIELDS)
@pytest.mark.parametrize("N", [1, 2, 3, 4, 5])
def test_orbit_expect(N, kind):
    """expect(word, op) = Tr(word * op)."""
    rng = np.random.default_rng(23 + N)
    basis = OrbitBasis(make_field(kind, N))
    op = random_operator(basis, N, rng)
    M = op_matrix(N, op)
    for word in [()] + WORDS_1 + WORDS_2 + WORDS_3:
        want = np.trace(word_matrix(N, word) @ M)
        got = to_complex(basis.expect(word, op))
        assert abs(got - want) <= TOL * max(1.0, abs(want)), word


@pytest.mark.parametrize("N", [1, 2, 3, 4, 5, 6])
def test_orbit_valid_and_block_keys_enumerate_nonzero_orbits(N):
    triples = orbit_triples(N)
    for kind in FIELDS:
        basis = OrbitBasis(make_field(kind, N))
        rng_ = range(-1, N + 3)
        for key in itertools.product(rng_, rng_, rng_):
            assert basis.valid(key) == (key in triples), (kind, key)
        for a in range(N + 3):
            for b in range(N + 3):
                want = sorted(k for k in triples if k[:2] == (a, b))
                assert sorted(basis.block_keys(a, b)) == want, (kind, a, b)
                assert all(basis.valid(k) for k in basis.block_keys(a, b))
    # B(a,b,c) is nonzero iff the key is valid, and the valid orbits partition all matrix units
    total = np.zeros((2**N, 2**N), dtype=complex)
    for key in triples:
        B = B_matrix(N, key)
        assert np.abs(B).max() > 0, key
        assert set(np.unique(B.real)) <= {0.0, 1.0}
        total = total + B
    assert np.array_equal(total, np.ones((2**N, 2**N)))


def test_orbit_valid_symbolic_N():
    basis = OrbitBasis(DomainField([N_SYM], n=N_SYM))
    rng_ = range(-1, 6)
    for a, b, c in itertools.product(rng_, rng_, rng_):
        assert basis.valid((a, b, c)) == (a >= 0 and b >= 0 and 0 <= c <= min(a, b)), (a, b, c)
    for a in range(5):
        for b in range(5):
            assert basis.block_keys(a, b) == [(a, b, c) for c in range(min(a, b) + 1)]


# ---------------------------------------------------------------- 4. the assembled Lindbladian
RATES = {
    "local_emission": sympy.Rational(3, 7),
    "collective_emission": sympy.Rational(5, 11),
    "local_dephasing": sympy.Rational(2, 9),
    "local_pumping": sympy.Rational(7, 13),
    "collective_dephasing": sympy.Rational(4, 15),
}
RATE_CASES = {
    "hamiltonian_only": {},
    **{name: {name: value} for name, value in RATES.items()},
    "collective": {k: v for k, v in RATES.items() if not process(k).local},
    "all": dict(RATES),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(RATE_CASES))
@pytest.mark.parametrize("kind", FIELDS)
@pytest.mark.parametrize("N", [2, 3, 4, 5])
def test_superoperator_orbit_vs_full(N, kind, case):
    rng = np.random.default_rng(1000 * N + 17 * list(RATE_CASES).index(case) + FIELDS.index(kind))
    field = make_field(kind, N)
    basis = OrbitBasis(field)
    ham = random_hamiltonian(rng)
    rates = RATE_CASES[case]
    L = Superoperator(basis, {w: field.convert(c) for w, c in ham.items()},
                      {r: field.convert(v) for r, v in rates.items()})
    op = random_operator(basis, N, rng)
    got = op_matrix(N, L.apply(op))
    want = apply_lindblad_full(N, hamiltonian_matrix(N, ham), op_matrix(N, op),
                               **{r: float(v) for r, v in rates.items()})
    assert_close(got, want, f"L rho, rates {rates}")
    # the image must stay inside the valid orbit space
    assert all(basis.valid(k) for k in L.apply(op))


@pytest.mark.parametrize("N", [2, 4])
def test_superoperator_orbit_single_keys_all_rates(N):
    """L on each basis element separately (catches errors hidden by cancellations in a sum)."""
    rng = np.random.default_rng(5 + N)
    field = DomainField(n=N)
    basis = OrbitBasis(field)
    ham = random_hamiltonian(rng)
    L = Superoperator(basis, {w: field.convert(c) for w, c in ham.items()},
                      {r: field.convert(v) for r, v in RATES.items()})
    H = hamiltonian_matrix(N, ham)
    for key in all_keys(basis, N):
        want = apply_lindblad_full(N, H, B_matrix(N, key), **{r: float(v) for r, v in RATES.items()})
        assert_close(op_matrix(N, L.apply({key: field.one})), want, str(key))


@pytest.mark.slow
@pytest.mark.parametrize("N", [2, 3, 4, 5])
def test_superoperator_exact_equals_complex(N):
    """The exact and the float field give the same image, coefficient by coefficient."""
    rng = np.random.default_rng(77 + N)
    ham = random_hamiltonian(rng)
    coeffs = {k: rand_complex_rational(rng) for k in orbit_triples(N)}
    images = []
    for kind in FIELDS:
        F = make_field(kind, N)
        L = Superoperator(OrbitBasis(F), {w: F.convert(c) for w, c in ham.items()},
                          {r: F.convert(v) for r, v in RATES.items()})
        img = L.apply({k: F.convert(v) for k, v in coeffs.items()})
        images.append({k: to_complex(v) for k, v in img.items()})
    keys = set(images[0]) | set(images[1])
    for k in keys:
        a, b = images[0].get(k, 0), images[1].get(k, 0)
        assert abs(a - b) <= TOL * max(1.0, abs(b)), k


# ---------------------------------------------------------------- 5. symmetric sector
@pytest.mark.parametrize("N", [1, 2, 3, 4, 5, 6])
def test_dicke_E_is_sum_of_orbits(N):
    for a in range(N + 1):
        for b in range(N + 1):
            want = sum(B_matrix(N, (a, b, c)) for c in range(min(a, b) + 1))
            assert np.abs(E_matrix(N, (a, b)) - want).max() < 1e-12, (a, b)


@pytest.mark.parametrize("N", [1, 2, 3, 4, 5, 6])
def test_symmetric_valid_and_block_keys(N):
    for kind in FIELDS:
        basis = SymmetricBasis(make_field(kind, N))
        for a, b in itertools.product(range(-2, N + 3), repeat=2):
            assert basis.valid((a, b)) == (0 <= a <= N and 0 <= b <= N), (a, b)
            assert basis.block_keys(a, b) == [(a, b)]


@pytest.mark.slow
@pytest.mark.parametrize("kind", FIELDS)
@pytest.mark.parametrize("N", [1, 2, 3, 4, 5])
def test_symmetric_words_left_and_right(N, kind):
    basis = SymmetricBasis(make_field(kind, N))
    keys = [(a, b) for a in range(N + 1) for b in range(N + 1)]
    for key in keys:
        E = E_matrix(N, key)
        for word in WORDS_1 + WORDS_2 + WORDS_3:
            W = word_matrix(N, word)
            assert_close(pairs_matrix(N, basis.left_word(word, key)), W @ E, f"left {word} {key}")
            assert_close(pairs_matrix(N, basis.right_word(word, key)), E @ W, f"right {word} {key}")


@pytest.mark.parametrize("kind", FIELDS)
@pytest.mark.parametrize("N", [1, 2, 3, 4, 5])
def test_symmetric_trace_adjoint_expect(N, kind):
    rng = np.random.default_rng(31 + N)
    basis = SymmetricBasis(make_field(kind, N))
    keys = [(a, b) for a in range(N + 1) for b in range(N + 1)]
    for key in keys:
        want = np.trace(E_matrix(N, key))
        assert abs(to_complex(basis.tr({key: basis.F.one})) - want) <= TOL * max(1.0, abs(want)), key
    op = {k: basis.F.convert(rand_complex_rational(rng)) for k in keys}
    M = op_matrix(N, op)
    assert_close(op_matrix(N, basis.adjoint(op)), M.conj().T, "adjoint")
    for word in [()] + WORDS_1 + WORDS_2:
        want = np.trace(word_matrix(N, word) @ M)
        assert abs(to_complex(basis.expect(word, op)) - want) <= TOL * max(1.0, abs(want)), word


@pytest.mark.parametrize("case", ["hamiltonian_only", "collective_emission", "collective_dephasing", "collective"])
@pytest.mark.parametrize("kind", FIELDS)
@pytest.mark.parametrize("N", [1, 2, 3, 4, 5])
def test_superoperator_symmetric_vs_full(N, kind, case):
    rng = np.random.default_rng(300 + N + 50 * FIELDS.index(kind))
    field = make_field(kind, N)
    basis = SymmetricBasis(field)
    ham = random_hamiltonian(rng)
    rates = RATE_CASES[case]
    L = Superoperator(basis, {w: field.convert(c) for w, c in ham.items()},
                      {r: field.convert(v) for r, v in rates.items()})
    keys = [(a, b) for a in range(N + 1) for b in range(N + 1)]
    op = {k: field.convert(rand_complex_rational(rng)) for k in keys}
    got = op_matrix(N, L.apply(op))
    want = apply_lindblad_full(N, hamiltonian_matrix(N, ham), op_matrix(N, op),
                               **{r: float(v) for r, v in rates.items()})
    assert_close(got, want, f"L rho, rates {rates}")


@pytest.mark.parametrize("N", [2, 4])
def test_symmetric_and_orbit_superoperators_agree(N):
    """The same collective L on sum_c B(a,b,c) (orbit basis) and on E(a,b) (symmetric)."""
    rng = np.random.default_rng(900 + N)
    ham = random_hamiltonian(rng)
    F = DomainField(n=N)
    rates = {k: F.convert(v) for k, v in RATE_CASES["collective"].items()}
    Lo = Superoperator(OrbitBasis(F), {w: F.convert(c) for w, c in ham.items()}, rates)
    Ls = Superoperator(SymmetricBasis(F), {w: F.convert(c) for w, c in ham.items()}, rates)
    for a in range(N + 1):
        for b in range(N + 1):
            img_s = Ls.apply({(a, b): F.one})
            img_o = Lo.apply({(a, b, c): F.one for c in range(min(a, b) + 1)})
            assert_close(op_matrix(N, img_o), op_matrix(N, img_s), str((a, b)))


@pytest.mark.parametrize("rate", [p.key for p in PROCESSES if p.local])
def test_symmetric_superoperator_refuses_local_rates(rate):
    F = ComplexField(3)
    with pytest.raises(MethodError):
        Superoperator(SymmetricBasis(F), {("z",): 1.0}, {rate: 1.0})


# ---------------------------------------------------------------- 6. symbolic N
@functools.lru_cache(maxsize=None)
def symbolic_basis(kind: str):
    field = DomainField([N_SYM], n=N_SYM)
    return field, (OrbitBasis(field) if kind == "orbit" else SymmetricBasis(field))


def _sym(field, v) -> sympy.Expr:
    # left_word may hand back plain Python ints for N-independent coefficients
    # (see test_word_coefficients_are_field_elements); the value is still checked here.
    return sympy.Integer(v) if isinstance(v, int) else field.to_sympy(v)


SYMBOLIC_WORDS = WORDS_1 + WORDS_2 + [("p", "m", "z"), ("m", "p", "p"), ("m", "m", "p"), ("z", "m", "m"),
                                      ("p", "p", "m"), ("m", "z", "p")]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["orbit", "symmetric"])
@pytest.mark.parametrize("n", [4, 5])
def test_symbolic_N_words_reduce_to_integer_N(kind, n):
    field, basis = symbolic_basis(kind)
    exact = DomainField(n=n)
    ebasis = OrbitBasis(exact) if kind == "orbit" else SymmetricBasis(exact)
    checked = 0
    for key in all_keys(ebasis, n):
        for word in SYMBOLIC_WORDS:
            for side in ("left_word", "right_word"):
                sym = getattr(basis, side)(word, key)
                got = {}
                for v, k in sym:
                    expr = sympy.expand(_sym(field, v))
                    assert expr.is_polynomial(N_SYM), (word, key, expr)
                    assert not (expr.free_symbols - {N_SYM}), expr
                    if ebasis.valid(k):
                        val = expr.subs(N_SYM, n)
                        if val != 0:
                            got[k] = val
                want = {}
                for v, k in getattr(ebasis, side)(word, key):
                    val = _sym(exact, v)
                    if val != 0:
                        want[k] = val
                assert got == want, (side, word, key)
                checked += 1
    assert checked > 0


@pytest.mark.slow
@pytest.mark.parametrize("n", [4, 5])
def test_symbolic_N_words_match_matrices(n):
    """The symbolic coefficients at N = n reproduce W @ B directly (not only via the integer field)."""
    field, basis = symbolic_basis("orbit")
    keys = all_keys(OrbitBasis(ComplexField(n)), n)
    for key in keys:
        B = B_matrix(n, key)
        for word in SYMBOLIC_WORDS:
            pairs = [(complex(_sym(field, v).subs(N_SYM, n)), k) for v, k in basis.left_word(word, key)]
            assert_close(pairs_matrix(n, pairs), word_matrix(n, word) @ B, f"{word} {key}")


@pytest.mark.parametrize("n", [4, 5])
def test_symbolic_N_local_rules(n):
    field, basis = symbolic_basis("orbit")
    for key in all_keys(OrbitBasis(ComplexField(n)), n):
        want = _local_sums(n, B_matrix(n, key))
        for name, fn in RULES.items():
            pairs = [(complex(_sym(field, v).subs(N_SYM, n)), k) for v, k in basis.rule(fn, key)]
            assert_close(pairs_matrix(n, pairs), want[name], f"{name} {key}")


def test_symbolic_N_trace_is_binomial():
    field, basis = symbolic_basis("orbit")
    for a in range(5):
        expr = field.to_sympy(basis.tr({(a, a, a): field.one}))
        for n in range(a, 8):
            assert expr.subs(N_SYM, n) == math.comb(n, a)


# ---------------------------------------------------------------- the coefficient type contract
@pytest.mark.parametrize("kind", ["exact", "symbolic"])
def test_word_coefficients_are_field_elements(kind):
    """left_word/right_word return ``list[tuple[Elem, Key]]``: each coefficient must be usable
    with the field's own methods (to_sympy, conj), as Basis.adjoint and callers assume."""
    field = DomainField(n=4) if kind == "exact" else DomainField([N_SYM], n=N_SYM)
    basis = OrbitBasis(field)
    bad = []
    for word in WORDS_1 + WORDS_2:
        for side in ("left_word", "right_word"):
            for v, k in getattr(basis, side)(word, (1, 1, 0)):
                try:
                    field.to_sympy(v)
                    field.conj(v)
                except AttributeError as exc:
                    bad.append((side, word, k, type(v).__name__, str(exc)))
    assert not bad, f"{len(bad)} coefficients are not field elements, e.g. {bad[:3]}"
