"""Tests of the independent exact-reference helpers in ``exact_reference.py``.

These tests exercise only the helpers (not ``symsteady``), so that a broken
reference cannot silently validate a broken implementation.
"""

from __future__ import annotations

import math
import os
import sys
import warnings

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
warnings.filterwarnings("ignore", message="matplotlib not found")

import qutip  # noqa: E402

import exact_reference as er  # noqa: E402

XYZ = dict(J=0.5, delta=0.1, Jz=1.0, gamma=1.0)
RATE_KEYS = ("local_emission", "collective_emission", "local_dephasing", "local_pumping")


def _rand_herm(rng, d):
    X = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    return 0.5 * (X + X.conj().T)


def _max_diff(a, b):
    return max(np.abs(a[0] - b[0]).max(), np.abs(a[1] - b[1]).max())


# ---------------------------------------------------------------- operators
@pytest.mark.parametrize("N", [1, 2, 3, 4])
def test_local_ops_algebra(N):
    ops = er.local_ops(N)
    Sx, Sy, Sz, Sp, Sm = (ops[k] for k in ("Sx", "Sy", "Sz", "Sp", "Sm"))
    assert np.allclose(Sx @ Sy - Sy @ Sx, 1j * Sz)
    assert np.allclose(Sp, Sx + 1j * Sy)
    assert np.allclose(Sm, Sx - 1j * Sy)
    assert np.allclose(Sm, Sp.conj().T)
    d = er.dark_state(N)
    assert np.allclose(Sz @ d, -N / 2 * d)
    assert np.allclose(Sm @ d, 0)
    for i in range(N):
        # sigma^+ = |up><down|, sigma^z = up - down
        assert np.allclose(ops["sp"][i] @ ops["sm"][i] - ops["sm"][i] @ ops["sp"][i], ops["sz"][i])
        assert np.allclose(ops["sm"][i] @ d, 0)
    # basis ordering: site 0 excited <-> most significant bit
    v = ops["sp"][0] @ d
    assert np.argmax(np.abs(v)) == 2 ** (N - 1)


# ---------------------------------------------------------------- orbits
@pytest.mark.parametrize("N", [1, 3, 5])
def test_orbit_dark_projector(N):
    d = er.dark_state(N)
    assert np.array_equal(er.orbit_matrix(N, 0, 0, 0), np.outer(d, d.conj()))


@pytest.mark.parametrize("N", [2, 4, 5])
def test_orbit_traces_and_identities(N):
    ops = er.local_ops(N)
    total = np.zeros((2**N, 2**N), dtype=complex)
    for a in range(N + 1):
        Bsum = sum(er.orbit_matrix(N, a, a, c) for c in range(a + 1))
        assert np.trace(Bsum).real == pytest.approx(math.comb(N, a))
        assert np.trace(er.orbit_matrix(N, a, a, a)).real == pytest.approx(math.comb(N, a))
        for b in range(N + 1):
            for c in range(N + 1):
                B = er.orbit_matrix(N, a, b, c)
                valid = c <= min(a, b) and a + b - c <= N
                if not valid:
                    assert not B.any()
                else:
                    assert np.array_equal(B.T, er.orbit_matrix(N, b, a, c))
                    # number of (A,B) pairs
                    npairs = math.comb(N, c) * math.comb(N - c, a - c) * math.comb(N - a, b - c)
                    assert B.sum().real == npairs
                total += B
    assert np.array_equal(total, np.ones_like(total))
    # S_+ = sum_a B(a+1, a, a);  S_z = sum_a (a - N/2) B(a, a, a)
    Sp = sum(er.orbit_matrix(N, a + 1, a, a) for a in range(N))
    Sz = sum((a - N / 2) * er.orbit_matrix(N, a, a, a) for a in range(N + 1))
    assert np.allclose(Sp, ops["Sp"])
    assert np.allclose(Sz, ops["Sz"])
    assert not er.orbit_matrix(N, 1, 1, 2).any()
    assert not er.orbit_matrix(N, N, N, N - 1).any()


# ---------------------------------------------------------------- Lindblad
@pytest.mark.parametrize("N", [2, 3])
def test_lindblad_superoperator_matches_direct(N):
    rng = np.random.default_rng(1234 + N)
    d = 2**N
    H = _rand_herm(rng, d)
    rates = dict(local_emission=0.9, collective_emission=0.7, local_dephasing=0.3, local_pumping=0.2)
    L = er.lindblad_full(N, H, **rates)
    assert L.shape == (d * d, d * d)
    for _ in range(3):
        rho = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
        direct = er.apply_lindblad_full(N, H, rho, **rates)
        via = (L @ rho.reshape(-1, order="F")).reshape(d, d, order="F")
        assert np.abs(direct - via).max() < 1e-12
        assert abs(np.trace(direct)) < 1e-12  # trace preserving
    # each process separately
    for k in RATE_KEYS:
        Lk = er.lindblad_full(N, 0 * H, **{k: 1.3})
        rho = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
        direct = er.apply_lindblad_full(N, 0 * H, rho, **{k: 1.3})
        assert np.abs(direct - (Lk @ rho.reshape(-1, order="F")).reshape(d, d, order="F")).max() < 1e-12


def test_dissipator_physics_single_emitter():
    """Population decays at rate gamma, coherence at gamma/2 + 2 gamma_phi."""
    g, gphi, gp = 0.8, 0.3, 0.25
    L = er.lindblad_full(1, np.zeros((2, 2)), local_emission=g, local_dephasing=gphi, local_pumping=gp)
    # index 1 = up: rho_uu' = -g rho_uu + gp rho_dd
    up = np.zeros((2, 2)); up[1, 1] = 1
    dr = (L @ up.reshape(-1, order="F")).reshape(2, 2, order="F")
    assert dr[1, 1] == pytest.approx(-g)
    coh = np.zeros((2, 2)); coh[1, 0] = 1
    dr = (L @ coh.reshape(-1, order="F")).reshape(2, 2, order="F")
    assert dr[1, 0] == pytest.approx(-(g + gp) / 2 - 2 * gphi)
    rho = er.steady_state_full(1, np.zeros((2, 2)), local_emission=g, local_pumping=gp)
    assert rho[1, 1].real == pytest.approx(gp / (g + gp), abs=1e-14)


def test_steady_state_full_is_stationary():
    N = 4
    ops = er.local_ops(N)
    H = er.h_driven_ising(ops["Sx"], ops["Sy"], ops["Sz"], N, Omega=0.6, Delta=0.3, U=0.8)
    rates = dict(local_emission=1.0, local_dephasing=0.2)
    rho = er.steady_state_full(N, H, **rates)
    assert np.trace(rho).real == pytest.approx(1, abs=1e-13)
    assert np.abs(rho - rho.conj().T).max() < 1e-14
    assert np.linalg.eigvalsh(rho).min() > -1e-12
    assert np.abs(er.apply_lindblad_full(N, H, rho, **rates)).max() < 1e-11


# ---------------------------------------------------------------- piqs vs full
EXTRAS = [
    ({}, 1e-9),
    ({"local_dephasing": 0.3}, 1e-9),
    ({"local_dephasing": 0.3, "collective_emission": 0.7}, 1e-9),
    ({"local_pumping": 0.2}, 1e-9),
]


@pytest.mark.slow
@pytest.mark.parametrize("N", [4, 5])
@pytest.mark.parametrize("extra,tol", EXTRAS)
def test_piqs_matches_full_xyz(N, extra, tol):
    full = er.reference_moments("xyz", N, XYZ, extra, backend="full")
    # float64 port of the piqs Lindbladian: machine precision
    p64 = er.reference_moments("xyz", N, XYZ, extra, backend="piqs")
    assert _max_diff(full, p64) < 1e-12
    # qutip.piqs.Dicke as shipped (float32 internally)
    p32 = er.reference_moments("xyz", N, XYZ, extra, backend="piqs32")
    tol32 = 1e-6 if "local_pumping" in extra else 1e-8
    assert _max_diff(full, p32) < tol32
    # auto backend = piqs
    auto = er.reference_moments("xyz", N, XYZ, extra)
    assert _max_diff(full, auto) < tol


@pytest.mark.slow
def test_piqs_matches_full_xyz_N6_all_processes():
    extra = dict(local_dephasing=0.3, collective_emission=0.7, local_pumping=0.2)
    full = er.reference_moments("xyz", 6, XYZ, extra, backend="full")
    assert _max_diff(full, er.reference_moments("xyz", 6, XYZ, extra)) < 1e-12


def test_piqs_rate_mapping_is_sensitive():
    """dephasing must be 4*gamma_phi: the 1x mapping visibly disagrees."""
    N = 4
    h = lambda Sx, Sy, Sz: er.h_xyz(Sx, Sy, Sz, N, **XYZ)  # noqa: E731
    full = er.full_steady_state_moments(N, h, local_emission=1.0, local_dephasing=0.3)
    right = er.piqs_steady_state_moments(N, h, local_emission=1.0, local_dephasing=0.3)
    wrong = er.piqs_steady_state_moments(N, h, local_emission=1.0, local_dephasing=0.3 / 4)
    assert _max_diff(full, right) < 1e-12
    assert _max_diff(full, wrong) > 1e-4


@pytest.mark.parametrize("name,params", [
    ("tfi", dict(Delta=0.7, Jx=0.9, gamma=1.0)),
    ("driven_ising", dict(Omega=0.6, Delta=0.3, U=0.8, gamma=1.0)),
])
def test_piqs_matches_full_other_models(name, params):
    full = er.reference_moments(name, 4, params, backend="full")
    assert _max_diff(full, er.reference_moments(name, 4, params)) < 1e-12


# ---------------------------------------------------------------- jmat sector
@pytest.mark.parametrize("N", [2, 3, 4])
def test_symmetric_basis_matches_jmat(N):
    V = er.symmetric_basis(N)
    assert np.allclose(V.conj().T @ V, np.eye(N + 1))
    ops = er.local_ops(N)
    j = N / 2
    for a, key in (("x", "Sx"), ("y", "Sy"), ("z", "Sz"), ("-", "Sm"), ("+", "Sp")):
        assert np.allclose(V.conj().T @ ops[key] @ V, qutip.jmat(j, a).full())
    # jmat ordering: m = +j first, dark state last
    assert np.allclose(np.diag(qutip.jmat(j, "z").full()).real, j - np.arange(N + 1))
    assert np.allclose(V[:, -1], er.dark_state(N))
    # model Hamiltonians: numpy (@) and Qobj (@) give the same thing
    for name, params in [("xyz", XYZ), ("tfi", dict(Delta=0.7, Jx=0.9)),
                         ("driven_ising", dict(Omega=0.6, Delta=0.3, U=0.8)),
                         ("resonance_fluorescence", dict(Omega=0.4))]:
        hfn = er.MODELS[name][0]
        Hf = hfn(ops["Sx"], ops["Sy"], ops["Sz"], N, **params)
        Hq = hfn(qutip.jmat(j, "x"), qutip.jmat(j, "y"), qutip.jmat(j, "z"), N, **params)
        assert isinstance(Hq, qutip.Qobj)
        assert np.allclose(V.conj().T @ Hf @ V, Hq.full())


@pytest.mark.parametrize("N", [3, 4])
def test_resonance_fluorescence_jmat_vs_full(N):
    params = dict(Omega=0.45, Gamma=1.0)
    jm = er.reference_moments("resonance_fluorescence", N, params)  # auto -> jmat
    full = er.reference_moments("resonance_fluorescence", N, params, backend="full")
    assert _max_diff(jm, full) < 1e-10
    # the embedded symmetric-subspace state is a genuine full-space steady state
    ops = er.local_ops(N)
    H = er.h_resonance_fluorescence(ops["Sx"], ops["Sy"], ops["Sz"], N, **params)
    rho = er.symmetric_subspace_steady_state_full(N, H, params["Gamma"])
    assert np.trace(rho).real == pytest.approx(1, abs=1e-13)
    assert np.abs(er.apply_lindblad_full(N, H, rho, collective_emission=1.0)).max() < 1e-11
    # and not trivially the dark state
    assert jm[0][2] > -N / 2 + 1e-3


# ---------------------------------------------------------------- squeezing
@pytest.mark.parametrize("N", [1, 4, 7])
def test_squeezing_coherent_state_down(N):
    ops = er.local_ops(min(N, 4))
    n = min(N, 4)
    d = er.dark_state(n)
    mean, second = er.moments_from_state(np.outer(d, d.conj()), ops["Sx"], ops["Sy"], ops["Sz"])
    assert np.allclose(mean, [0, 0, -n / 2])
    s = er.squeezing_from_moments(n, mean, second)
    assert s["xi2_R"] == pytest.approx(1, abs=1e-13)
    assert s["xi2_S"] == pytest.approx(1, abs=1e-13)
    assert math.isnan(s["theta"])
    assert s["rs_gap"] == pytest.approx(0, abs=1e-13)
    # analytic moments for general N
    mean = np.array([0, 0, -N / 2])
    second = np.diag([N / 4, N / 4, N**2 / 4])
    s = er.squeezing_from_moments(N, mean, second)
    assert s["xi2_R"] == pytest.approx(1) and math.isnan(s["theta"])


@pytest.mark.parametrize("phi", [0.3, -1.2, 1.4, -1.4, math.pi / 2])
def test_squeezing_synthetic_direction(phi):
    """m = (0,0,-M): e1 = x, e2 = x × (-z) = y; C_perp = R(phi) diag(a,b) R(phi)^T."""
    N, M, a, b = 10, 4.0, 0.6, 3.5
    R = np.array([[math.cos(phi), -math.sin(phi)], [math.sin(phi), math.cos(phi)]])
    C = np.zeros((3, 3))
    C[:2, :2] = R @ np.diag([a, b]) @ R.T
    C[2, 2] = 0.9
    mean = np.array([0, 0, -M])
    s = er.squeezing_from_moments(N, mean, C + np.outer(mean, mean))
    assert s["xi2_R"] == pytest.approx(N * a / M**2)
    assert s["xi2_S"] == pytest.approx(4 * a / N)
    assert s["rs_gap"] == pytest.approx(4 * a * b / M**2 - 1)
    assert np.allclose(s["cov"], C)
    expected = phi if phi <= math.pi / 2 else phi - math.pi
    assert s["theta"] == pytest.approx(expected, abs=1e-12)
    assert np.allclose(s["direction"], [math.cos(expected), math.sin(expected), 0])
    # m along +x: e1 = y-hat fallback, e2 = y × x = -z
    C2 = np.zeros((3, 3))
    C2[1:, 1:] = R @ np.diag([a, b]) @ R.T
    mean2 = np.array([M, 0, 0])
    s2 = er.squeezing_from_moments(N, mean2, C2 + np.outer(mean2, mean2))
    assert s2["theta"] == pytest.approx(-expected if abs(expected) < math.pi / 2 else expected, abs=1e-12)
    n = s2["direction"]
    assert n @ C2 @ n == pytest.approx(a)
    assert abs(n[0]) < 1e-14


@pytest.mark.slow
@pytest.mark.parametrize("N,chit", [(10, 0.05), (20, 0.03), (7, 0.2)])
def test_squeezing_one_axis_twisting_kitagawa_ueda(N, chit):
    """H = chi Sz^2 on a CSS along +x (Kitagawa & Ueda 1993 closed form)."""
    j = N / 2
    Sx, Sy, Sz = (qutip.jmat(j, a) for a in "xyz")
    up = qutip.basis(N + 1, 0)
    psi0 = (-1j * (math.pi / 2) * Sy).expm() * up  # CSS along +x
    psi = (-1j * chit * Sz @ Sz).expm() * psi0
    mean, second = er.moments_from_state(psi.proj(), Sx, Sy, Sz)
    mu = 2 * chit
    A = 1 - math.cos(mu) ** (N - 2)
    B = 4 * math.sin(mu / 2) * math.cos(mu / 2) ** (N - 2)
    xi2_S = 1 + (N - 1) / 4 * (A - math.sqrt(A**2 + B**2))
    assert mean[0] == pytest.approx(j * math.cos(mu / 2) ** (N - 1), abs=1e-12)
    s = er.squeezing_from_moments(N, mean, second)
    assert s["xi2_S"] == pytest.approx(xi2_S, abs=1e-10)
    assert s["xi2_S"] < 1
    assert s["xi2_R"] == pytest.approx(xi2_S * (N / 2) ** 2 / mean[0] ** 2, rel=1e-12)
    n = s["direction"]
    assert abs(n @ mean) < 1e-12 and np.linalg.norm(n) == pytest.approx(1)
    # brute-force minimum over the plane ⊥ m (e1 = y, e2 = -z)
    th = np.linspace(-np.pi / 2, np.pi / 2, 20001)
    C = s["cov"]
    vals = [(math.cos(t) * np.array([0, 1, 0]) + math.sin(t) * np.array([0, 0, -1])) for t in th]
    vals = np.array([v @ C @ v for v in vals])
    assert s["xi2_S"] == pytest.approx(4 * vals.min() / N, rel=1e-6)
    assert s["theta"] == pytest.approx(th[vals.argmin()], abs=1e-3)


# ---------------------------------------------------------------- closed form
def test_product_state_xi2_R_vs_full():
    N, Omega, Delta, gamma = 3, 0.3, 0.4, 1.0
    params = dict(Omega=Omega, Delta=Delta, U=0.0, gamma=gamma)
    mean, second = er.reference_moments("driven_ising", N, params, backend="full")
    s = er.squeezing_from_moments(N, mean, second)
    assert s["xi2_R"] == pytest.approx(er.product_state_xi2_R(Omega, Delta, gamma), abs=1e-11)
    assert _max_diff((mean, second), er.reference_moments("driven_ising", N, params)) < 1e-12


def test_product_state_xi2_R_single_emitter_bloch():
    """Product-state xi2_R is N independent: check the N = 1 optical Bloch solution."""
    for Omega, Delta, gamma in [(0.3, 0.4, 1.0), (1.1, -0.2, 0.5)]:
        mean, second = er.reference_moments("driven_ising", 1, dict(Omega=Omega, Delta=Delta, U=0.0, gamma=gamma),
                                            backend="full")
        s = er.squeezing_from_moments(1, mean, second)
        assert s["xi2_R"] == pytest.approx(er.product_state_xi2_R(Omega, Delta, gamma), abs=1e-12)
