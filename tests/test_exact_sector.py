"""The exact space holds only the steady state's charge sector q ≡ 0 (mod g)
(docs/algorithm/exact-solver.md#exact-sector): every consumer of the solution reads the labels
outside it as zero coefficients, checked against 2^N steady states."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sympy.polys.domains import QQ_I

import exact_reference as ref
from symsteady import Model, builtin, exact_solve
from symsteady.algebra import OrbitBasis
from symsteady.exact import exact_steady_state
from symsteady.exact.matrix import run_chain
from symsteady.exact.space import KeySpace, all_labels, charge_period, exact_dimension
from symsteady.fields import ComplexField
from symsteady.husimi import husimi, model_state
from symsteady.liouvillian import Superoperator
from symsteady.processes import PROCESSES

ANGLES = (np.array([0.0, 0.4, 1.3, 2.0, np.pi]), np.array([0.0, 2.2, -0.7, 5.0, 1.0]))


@pytest.mark.parametrize("model,g", [
    (builtin("xyz"), 2), (builtin("tfi"), 2), (builtin("driven_ising"), 1), (builtin("resonance_fluorescence"), 1),
    (Model("a*Sx + b*Sx**2", local_emission="g"), 1),  # mixed charges ±1, ±2
    (Model("K*(Sp**3 + Sm**3) + J*Sz", local_emission="g"), 3),
    (Model("J*Sz + U*Sz**2/N", local_emission="g", local_pumping="p"), 0),  # U(1) symmetric: q = 0 only
])
def test_charge_period_is_the_gcd_of_the_word_charges(model, g):
    assert charge_period(model) == g
    N = 10
    full = math.comb(N + 3, 3) if model.has_local_processes else (N + 1) ** 2
    dim = exact_dimension(model, N)
    if model.has_local_processes:
        assert dim == len(all_labels(OrbitBasis(ComplexField(N)), N, g)[0])
    assert (dim == full) if g == 1 else (dim < full)


@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.key)
def test_every_process_keeps_the_charge(process):
    """The premise of charge_period: each dissipator maps a label to labels of the same q."""
    N = 6
    basis = OrbitBasis(ComplexField(N))
    space = KeySpace(basis, N)
    for _, chain in Superoperator(basis, {}, {process.key: basis.F.convert(1)}).terms:
        src, _, targets = run_chain(basis, chain, space.labels, N)
        assert len(src) > 0
        assert np.array_equal(targets[0] - targets[1], space.labels[0][src] - space.labels[1][src])


CASES = [
    # (model, point, 2^N rates, H from the collective spins)
    (builtin("xyz"), {"N": 5, "J": 0.5, "delta": 0.4, "Jz": 1.0, "gamma": 1.0}, {"local_emission": 1.0},
     lambda S, N: (2 / N) * (0.9 * S["Sx"] @ S["Sx"] + 0.1 * S["Sy"] @ S["Sy"] + S["Sz"] @ S["Sz"])),
    (Model("K*(Sp**3 + Sm**3) + J*Sz", local_emission="g", local_pumping="p"),
     {"N": 4, "K": 0.3, "J": 0.7, "g": 1.0, "p": 0.2}, {"local_emission": 1.0, "local_pumping": 0.2},
     lambda S, N: 0.3 * (np.linalg.matrix_power(S["Sp"], 3) + np.linalg.matrix_power(S["Sm"], 3)) + 0.7 * S["Sz"]),
    (Model("J*Sz + U*Sz**2/N", local_emission="g", local_pumping="p"),
     {"N": 4, "J": 0.7, "U": 0.5, "g": 1.0, "p": 0.3}, {"local_emission": 1.0, "local_pumping": 0.3},
     lambda S, N: 0.7 * S["Sz"] + (0.5 / N) * S["Sz"] @ S["Sz"]),
]


@pytest.mark.parametrize("model,point,rates,hamiltonian", CASES)
def test_every_consumer_reads_the_missing_labels_as_zero(model, point, rates, hamiltonian):
    """Moments, orbit coefficients, Dicke blocks and the Husimi function of the sector's
    solution equal those of the 2^N steady state, whose coefficients outside the sector vanish."""
    N = point["N"]
    S = ref.local_ops(N)
    rho = ref.steady_state_full(N, hamiltonian(S, N), **rates)
    s = exact_solve(model, point)
    g = charge_period(model)
    assert s.info.dimension == exact_dimension(model, N) < math.comb(N + 3, 3)
    # moments: <S_x> vanishes unless g = 1 (a consumer reading a missing label as the dark
    # state's coefficient would not give 0)
    mean, second = s.moments()
    want = [np.trace(S[a] @ rho) for a in ("Sx", "Sy", "Sz")]
    np.testing.assert_allclose(np.array(mean, dtype=complex), want, atol=1e-12)
    if g != 1:
        assert abs(mean[0]) < 1e-14 and abs(mean[1]) < 1e-14
    ops = [S["Sx"], S["Sy"], S["Sz"]]
    for i in range(3):
        for j in range(3):
            assert complex(second[i][j]) == pytest.approx(
                0.5 * np.trace((ops[i] @ ops[j] + ops[j] @ ops[i]) @ rho), abs=1e-11)
    # orbit coefficients: the full space's, zero outside the sector
    ours = s.coefficients()
    for key, value in ref.orbit_coefficients(rho, N).items():
        assert ours.get(key, 0) == pytest.approx(value, abs=1e-11), key
        q = key[0] - key[1]
        if (q != 0) if g == 0 else (q % g != 0):
            assert key not in ours and abs(value) < 1e-12
    # the exact-arithmetic solver works on the same sector and agrees
    if N <= 4:
        _, exact = exact_steady_state(model, point, "exact")
        assert set(exact) <= set(ours)
        for key, value in exact.items():
            assert complex(QQ_I.to_sympy(value)) == pytest.approx(ours[key], abs=1e-11)
    # Dicke blocks against the 2^N state's spin-j blocks
    blocks = s.dicke_blocks()
    for k in range(N // 2 + 1):
        V = ref.spin_j_basis(N, k)
        np.testing.assert_allclose(blocks[N / 2 - k][0], V.conj().T @ rho @ V, atol=1e-11)
    # the Husimi function
    Q = husimi(model_state(model, point), *ANGLES)
    for q_val, t, p in zip(Q, *ANGLES):
        u = np.array([np.exp(1j * p) * np.sin(t / 2), np.cos(t / 2)])
        psi = u
        for _ in range(N - 1):
            psi = np.kron(psi, u)
        assert q_val == pytest.approx(np.vdot(psi, rho @ psi).real, abs=1e-11)


def test_symmetric_sector_keeps_the_charge_sector_too():
    """Collective-only xyz-like model with g = 2 in the symmetric sector: the dimension is the
    even-q half of (N+1)^2 and the state is the 2^N one restricted to the symmetric subspace."""
    model = Model("(J + d)*Sx**2 + (J - d)*Sy**2 + D*Sz", collective_emission="G")
    N, point = 5, {"J": 0.4, "d": 0.3, "D": 1.0, "G": 1.0}
    assert charge_period(model) == 2 and exact_dimension(model, N) == 18
    s = exact_solve(model, {"N": N, **point})
    S = ref.local_ops(N)
    H = 0.7 * S["Sx"] @ S["Sx"] + 0.1 * S["Sy"] @ S["Sy"] + S["Sz"]
    rho = ref.symmetric_subspace_steady_state_full(N, H, collective_emission=1.0)
    V = ref.symmetric_basis(N)
    np.testing.assert_allclose(s.dicke_blocks()[N / 2][0], V.conj().T @ rho @ V, atol=1e-11)
    assert abs(s.expect(("p",))) < 1e-15
