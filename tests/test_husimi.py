"""The Husimi function as a closed sum over orbit labels (docs/algorithm/metrology.md#metrology-husimi)."""

from __future__ import annotations

import numpy as np
import pytest

import exact_reference as ref
from symsteady import builtin, exact_solve
from symsteady.algebra import OrbitBasis, SymmetricBasis
from symsteady.fields import ComplexField
from symsteady.husimi import OrbitState, husimi, model_state, sphere_integral

ANGLES = (np.array([0.0, 0.4, 1.3, 2.0, np.pi]), np.array([0.0, 2.2, -0.7, 5.0, 1.0]))


def coherent_vector(N, theta, phi):
    u = np.array([np.exp(1j * phi) * np.sin(theta / 2), np.cos(theta / 2)])  # (down, up)
    v = np.ones(1, dtype=complex)
    for _ in range(N):
        v = np.kron(v, u)
    return v


def full_matrix(op, N):
    return sum(v * (ref.orbit_matrix(N, *key) if len(key) == 3 else
                    sum(ref.orbit_matrix(N, key[0], key[1], c) for c in range(min(key) + 1)))
               for key, v in op.items())


@pytest.mark.parametrize("N", [1, 3, 5, 6])
@pytest.mark.parametrize("kind", ["orbit", "symmetric"])
def test_q_equals_the_2N_value_on_random_operators(N, kind, rng):
    basis = (OrbitBasis if kind == "orbit" else SymmetricBasis)(ComplexField(N))
    keys = [k for k in ((a, b, c) for a in range(N + 1) for b in range(N + 1) for c in range(N + 1))
            if basis.valid(k if kind == "orbit" else k[:2])]
    keys = sorted({k if kind == "orbit" else k[:2] for k in keys})
    op = {k: complex(rng.normal(), rng.normal()) for k in keys}
    op = {k: (v + np.conj(op[basis.swap(k)])) / 2 for k, v in op.items()}  # Hermitian
    X = full_matrix(op, N)
    Q = husimi(OrbitState.from_operator(basis, N, op), *ANGLES)
    for q, t, p in zip(Q, *ANGLES):
        psi = coherent_vector(N, t, p)
        assert q == pytest.approx(np.vdot(psi, X @ psi).real, abs=1e-9 * np.abs(X).max())


def test_q_of_the_exact_state_equals_the_2N_state():
    N, params = 4, {"Delta": 1.0, "Jx": 0.3, "gamma": 1.0}
    ops = ref.local_ops(N)
    rho = ref.steady_state_full(N, ref.h_tfi(ops["Sx"], ops["Sy"], ops["Sz"], N, **params), local_emission=1.0)
    Q = husimi(model_state(builtin("tfi"), {"N": N, **params}), *ANGLES)
    want = [np.vdot(coherent_vector(N, t, p), rho @ coherent_vector(N, t, p)).real for t, p in zip(*ANGLES)]
    np.testing.assert_allclose(Q, want, atol=1e-10)
    assert Q[-1] == pytest.approx(rho[0, 0].real)  # θ = π: the dark state


@pytest.mark.parametrize("name,point", [
    ("tfi", {"N": 7, "Delta": 1.0, "Jx": 0.4, "gamma": 1.0}),
    ("xyz", {"N": 12, "J": 0.5, "Jz": 1.0, "gamma": 1.0, "delta": 0.3}),
    ("resonance_fluorescence", {"N": 9, "Omega": 1.1, "Gamma": 1.0}),
])
def test_sphere_integral_is_the_symmetric_weight(name, point):
    model = builtin(name)
    weight = exact_solve(model, point).dicke_blocks()[point["N"] / 2][0].trace().real
    assert sphere_integral(model_state(model, point)) == pytest.approx(weight, abs=1e-10)
    if model.sector == "symmetric":
        assert weight == pytest.approx(1.0)
    else:
        assert weight < 1 - 1e-3


def test_perturbative_state_is_summed_at_lambda():
    model, point = builtin("xyz"), {"N": 10, "J": 0.5, "Jz": 1.0, "gamma": 1.0, "delta": 0.01}
    exact = husimi(model_state(model, point), *ANGLES)
    pert = husimi(model_state(model, point, "full", 2), *ANGLES)
    assert np.abs(pert - exact).max() < 1e-4
    assert sphere_integral(model_state(model, point, "full", 2)) == pytest.approx(1.0, abs=1e-3)


def test_plot_state_cli_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    from symsteady.cli import main

    out = tmp_path / "q.png"
    assert main(["plot-state", "tfi", "--N", "8", "--set", "Delta=-1", "--set", "Jx=0.3", "--set", "gamma=1",
                 "-o", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    out2 = tmp_path / "q2.png"
    assert main(["plot-state", "xyz", "--N", "10", "--set", "J=0.5", "--set", "Jz=1", "--set", "gamma=1",
                 "--set", "delta=0.05", "--method", "full", "--order", "2", "-o", str(out2)]) == 0
    assert out2.exists()
    assert main(["plot-state", "xyz", "--N", "10", "--set", "J=0.5", "--set", "Jz=1", "--set", "gamma=1",
                 "--set", "delta=0.05", "--method", "full", "-o", str(tmp_path / "no.png")]) == 2
    assert not (tmp_path / "no.png").exists()
