"""Quantum Fisher information, purity and entropy (docs/algorithm/metrology.md#metrology-qfi),
exact and perturbative (docs/algorithm/metrology.md#metrology-perturbative), and the QuTiP export."""

from __future__ import annotations

import importlib.util
import json
import math
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import qutip
from qutip import piqs

import exact_reference as ref
from symsteady import Model, builtin, evaluate, exact_solve
from symsteady.cli import main
from symsteady.errors import ParameterError
from symsteady.metrology import exact_metrology, metrology, metrology_with_errors

EXTRA = {"local_dephasing": "gphi", "local_pumping": "gp", "collective_emission": "Gam",
         "collective_dephasing": "Gphi"}
TFI = {"Delta": 1.0, "Jx": 0.3, "gamma": 1.0}


def tfi_with(**extra: float) -> tuple[Model, dict]:
    model = builtin("tfi").replace(name="tfi+", **{k: EXTRA[k] for k in extra})
    return model, {**TFI, **{EXTRA[k]: v for k, v in extra.items()}}


def assert_matches_state(row: dict, rho: np.ndarray, spins, N: int, dicke: bool = False) -> None:
    """``dicke``: rho is piqs' Dicke-basis matrix (blocks d_j rho_j; F is homogeneous, so the plain
    formula holds, but purity and entropy need the multiplicities: piqs' own functions)."""
    F = ref.qfi_from_state(rho, *spins)
    scale = max(1.0, np.abs(F).max())
    np.testing.assert_allclose(row["qfi"], F, atol=1e-8 * scale)
    assert row["fq_N"] == pytest.approx(np.linalg.eigvalsh(F)[-1] / N, abs=1e-8)
    if dicke:
        assert row["purity"] == pytest.approx(piqs.purity_dicke(qutip.Qobj(rho)), abs=1e-9)
        assert row["entropy"] == pytest.approx(piqs.entropy_vn_dicke(qutip.Qobj(rho)), abs=1e-8)
        return
    p = np.clip(np.linalg.eigvalsh(0.5 * (rho + rho.conj().T)), 0, None)
    assert row["purity"] == pytest.approx(float(np.sum(p**2)), abs=1e-9)
    q = p[p > 1e-300]
    assert row["entropy"] == pytest.approx(float(-np.sum(q * np.log(q))), abs=1e-8)


@pytest.mark.parametrize("extra", [{}, {"local_dephasing": 0.15}, {"local_pumping": 0.2},
                                   {"collective_emission": 0.4}, {"collective_dephasing": 0.3},
                                   {"local_dephasing": 0.1, "local_pumping": 0.1, "collective_emission": 0.2}])
def test_exact_qfi_equals_the_2N_state(extra):
    N = 4
    model, params = tfi_with(**extra)
    row = evaluate(model, None, [{"N": N, **params}], "exact", qfi=True)[0]
    ops = ref.local_ops(N)
    H = ref.h_tfi(ops["Sx"], ops["Sy"], ops["Sz"], N, **params)
    rho = ref.steady_state_full(N, H, local_emission=1.0, **extra)
    assert_matches_state(row, rho, (ops["Sx"], ops["Sy"], ops["Sz"]), N)


@pytest.mark.parametrize("extra", [{"local_dephasing": 0.15}, {"local_pumping": 0.2}, {"collective_emission": 0.4}])
def test_exact_qfi_equals_piqs_at_N_8(extra):
    N = 8
    model, params = tfi_with(**extra)
    row = evaluate(model, None, [{"N": N, **params}], "exact", qfi=True)[0]
    h = partial(ref.h_tfi, N=N, **params)
    rho, spins = ref.piqs_steady_state(N, lambda Sx, Sy, Sz: h(Sx, Sy, Sz), local_emission=1.0, **extra)
    assert_matches_state(row, rho, spins, N, dicke=True)


def test_symmetric_sector_qfi_equals_a_direct_eigendecomposition():
    N = 10
    row = evaluate(builtin("resonance_fluorescence"), None, [{"N": N, "Omega": 1.3, "Gamma": 1.0}], "exact",
                   qfi=True)[0]
    j = N / 2
    Sx, Sy, Sz = (qutip.jmat(j, a) for a in "xyz")
    rho = qutip.steadystate(2 * 1.3 * Sx, [qutip.jmat(j, "-")])
    assert_matches_state(row, rho.full(), (Sx.full(), Sy.full(), Sz.full()), N)


# The exact test sets: every built-in, small and large N, weak and strong breaking.
BOUND_POINTS = {
    "xyz": [{"J": 0.5, "Jz": 1.0, "gamma": 1.0, "delta": d} for d in (0.005, 0.05, 0.2, 0.6)],
    "tfi": [{"Delta": D, "Jx": x, "gamma": 1.0} for D in (-1.0, 1.0) for x in (0.01, 0.3, 0.8)],
    "driven_ising": [{"Omega": o, "Delta": 0.5, "U": 0.7, "gamma": 1.0} for o in (0.02, 0.4, 1.5)],
    "resonance_fluorescence": [{"Omega": o, "Gamma": 1.0} for o in (0.05, 1.3, 4.0)],
}


@pytest.mark.parametrize("name", sorted(BOUND_POINTS))
@pytest.mark.parametrize("N", [3, 10, 20])
def test_pezze_smerzi_bound_at_every_exact_point(name, N):
    rows = evaluate(builtin(name), None, [{"N": N, **p} for p in BOUND_POINTS[name]], "exact", qfi=True)
    for row in rows:
        if row["xi2_R"] is not None:
            assert row["fq_N"] >= 1 / row["xi2_R"] - 1e-9, row["params"]
        assert 0 < row["purity"] <= 1 + 1e-12 and row["entropy"] >= -1e-12


@pytest.mark.parametrize("extra", [{"local_dephasing": 0.2}, {"local_pumping": 0.1}, {"collective_emission": 0.5},
                                   {"collective_dephasing": 0.3}, {"local_dephasing": 0.05, "local_pumping": 0.3}])
def test_pezze_smerzi_bound_with_every_process(extra):
    model, params = tfi_with(**extra)
    points = [{"N": N, **params, "Delta": D, "Jx": x} for N in (5, 16) for D in (-1.0, 2.0) for x in (0.05, 0.6)]
    for row in evaluate(model, None, points, "exact", qfi=True):
        if row["xi2_R"] is not None:
            assert row["fq_N"] >= 1 / row["xi2_R"] - 1e-9, row["params"]


SLOPE_CASES = [("xyz", {"N": 8, "J": 0.5, "Jz": 1.0, "gamma": 1.0}, "delta"),
               ("tfi", {"N": 8, "Delta": 1.0, "gamma": 1.0}, "Jx"),
               ("driven_ising", {"N": 6, "Delta": 0.5, "U": 0.7, "gamma": 1.0}, "Omega"),
               ("resonance_fluorescence", {"N": 6, "Gamma": 1.0}, "Omega")]


@pytest.mark.parametrize("name,base,small", SLOPE_CASES)
def test_perturbative_qfi_converges_at_the_right_rate(name, base, small):
    model, lams = builtin(name), (0.02, 0.01, 0.005)
    points = [{**base, small: x} for x in lams]
    exact = evaluate(model, None, points, "exact", qfi=True)
    for order, slope in ((1, 1.8), (2, 2.8)):
        pert = evaluate(model, order, points, "full", qfi=True)
        err = [np.abs(np.subtract(p["qfi"], e["qfi"])).max() / base["N"] for p, e in zip(pert, exact)]
        slopes = np.diff(np.log(err)) / np.diff(np.log(lams))
        assert np.all(slopes >= slope), (order, err, slopes)
        if order == 1:  # pure to this order
            assert all(p["purity"] == 1.0 and p["entropy"] == 0.0 for p in pert)


# (purity error slope, entropy relative error slope) predicted at order 2: the errors are O(λ³)
# and O(λ³ ln λ) against a λ² ln λ entropy, i.e. slopes 3 and 1 (the log factors cost < 0.05
# here); 4 and 2 for xyz, whose purity and entropy are even in δ (δ -> -δ is a rotation by π/2 about z).
MIXED_CASES = [("xyz", {}, {"N": 8, "J": 0.5, "Jz": 1.0, "gamma": 1.0}, "delta", 3.8, 1.8),
               ("tfi", {}, {"N": 8, "Delta": 1.0, "gamma": 1.0}, "Jx", 2.8, 0.8),
               ("tfi", {"local_dephasing": 0.15}, {"N": 6, "Delta": 1.0, "gamma": 1.0, "gphi": 0.15}, "Jx", 2.8, 0.8)]


@pytest.mark.parametrize("name,extra,base,small,purity_slope,entropy_slope", MIXED_CASES)
def test_perturbative_purity_and_entropy_converge_at_the_predicted_rate(name, extra, base, small, purity_slope,
                                                                        entropy_slope):
    """docs/algorithm/metrology.md#metrology-perturbative-purity: purity 1 - 2λ² Tr σ₂, entropy
    from the spectrum of λ²σ₂ (leading term λ² ln λ)."""
    model = tfi_with(**extra)[0] if extra else builtin(name)
    lams = (0.02, 0.01, 0.005)
    points = [{**base, small: x} for x in lams]
    exact = evaluate(model, None, points, "exact", qfi=True)
    pert = evaluate(model, 2, points, "full", qfi=True)
    purity_err = [abs(p["purity"] - e["purity"]) for p, e in zip(pert, exact)]
    entropy_err = [abs(p["entropy"] - e["entropy"]) / e["entropy"] for p, e in zip(pert, exact)]
    for err, slope in ((purity_err, purity_slope), (entropy_err, entropy_slope)):
        slopes = np.diff(np.log(err)) / np.diff(np.log(lams))
        assert np.all(slopes >= slope), (err, slopes)
    assert entropy_err[-1] < 0.02 and all(1 - p["purity"] > 0 for p in pert)


def test_mixed_purity_entropy_is_that_of_the_distribution_and_none_out_of_range():
    from symsteady.metrology import _mixed_purity_entropy

    spectra = [(3.0, 1, np.array([0.0, 0.2, 0.1]), None), (2.0, 4, np.array([0.05]), None)]
    purity, entropy = _mixed_purity_entropy(spectra, 0.5)
    p = np.array([0.05, 0.025] + [0.0125] * 4)
    full = np.r_[1 - p.sum(), p]
    assert purity == pytest.approx(1 - 2 * p.sum()) and entropy == pytest.approx(-np.sum(full * np.log(full)))
    assert _mixed_purity_entropy(spectra, 2.0) == (pytest.approx(1 - 2 * 16 * p.sum()), None)  # w = 2


def test_no_mixed_part_at_order_2_when_the_jumps_return_to_the_dark_state():
    """driven_ising: ψ₁ holds one excitation and its decay lands on |D>, so σ₂ = 0; the state is
    pure to order 2 and the exact purity and entropy deviate at O(λ⁴) and O(λ⁴ ln λ)."""
    model, base, lams = builtin("driven_ising"), {"N": 6, "Delta": 0.5, "U": 0.7, "gamma": 1.0}, (0.02, 0.01)
    points = [{**base, "Omega": x} for x in lams]
    for row in evaluate(model, 2, points, "full", qfi=True):  # σ₂ = 0 up to rounding
        assert row["purity"] == pytest.approx(1.0, abs=1e-14) and 0 <= row["entropy"] < 1e-14
    exact = evaluate(model, None, points, "exact", qfi=True)
    for err in ([1 - e["purity"] for e in exact], [e["entropy"] for e in exact]):
        assert np.log(err[0] / err[1]) / np.log(2) >= 3.5, err


def test_leading_order_is_degenerate_in_the_transverse_plane():
    row = evaluate(builtin("xyz"), 1, [{"N": 10, "J": 0.5, "Jz": 1.0, "gamma": 1.0, "delta": 0.0}], "full",
                   qfi=True)[0]
    np.testing.assert_allclose(row["qfi"], np.diag([10.0, 10.0, 0.0]), atol=1e-12)


def test_order_2_qfi_is_the_order_2_expansion_of_inverse_squeezing_for_xyz():
    """F/N and 1/ξ²_R at order 2 differ by O(δ³)."""
    model, base = builtin("xyz"), {"N": 20, "J": 0.5, "Jz": 1.0, "gamma": 1.0}
    deltas = (0.004, 0.002, 0.001)
    rows = evaluate(model, 2, [{**base, "delta": d} for d in deltas], "full", qfi=True)
    diff = [abs(r["fq_N"] - 1 / r["xi2_R"]) for r in rows]
    gain = [r["fq_N"] - 1 for r in rows]
    assert all(g > 10 * d for g, d in zip(gain, diff))  # the two agree on the first orders
    assert np.all(np.diff(np.log(diff)) / np.diff(np.log(deltas)) >= 2.8), diff


# ---- error bars of exact rows (docs/algorithm/metrology.md#metrology-error) -------------------


def bench_metrology():
    """bench/metrology.py as a module: its product state ρ₁^{⊗N} (orbit coefficients and closed form)."""
    path = Path(__file__).resolve().parents[1] / "bench" / "metrology.py"
    spec = importlib.util.spec_from_file_location("bench_metrology", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("N", [40, 100, pytest.param(160, marks=pytest.mark.slow)])
def test_exact_error_bars_cover_the_product_state_and_are_not_loose(N):
    """Dense in every label: the Dicke map cancels strongly in the blocks of large multiplicity
    (true fq_N errors 2e-14, 1e-9, 7e-6). The bar covers and is within 10^4 of the true error."""
    bench = bench_metrology()
    r = bench.BLOCH
    basis, labels, values, log_norm = bench.product_state(N, r)
    row = metrology_with_errors(basis, N, labels, values, log_norm)
    want = bench.closed_form(N, r)
    fq_error = abs(row["fq_N"] - float(r @ r))
    purity_error = abs(row["purity"] - want["purity"])
    assert fq_error <= row["fq_N_error"] <= 1e4 * max(fq_error, 1e-12)
    eps = np.finfo(float).eps
    assert purity_error <= row["purity_error"] <= 1e4 * max(purity_error, eps * want["purity"])


@pytest.mark.parametrize("N", [20, 60])
def test_exact_error_bars_stay_small_near_the_dark_state(N):
    point = {"N": N, "J": 0.5, "Jz": 1.0, "gamma": 1.0, "delta": 0.05}
    row = evaluate(builtin("xyz"), None, [point], "exact", qfi=True)[0]
    assert 0 < row["fq_N_error"] <= 1e-8
    assert 0 < row["purity_error"] <= 1e-8


def test_exact_error_bars_cover_a_solver_error():
    """Coefficients off by a known δ, reported as the refinement step: the bar covers the change."""
    solution = exact_solve(builtin("xyz"), {"N": 12, "J": 0.5, "Jz": 1.0, "gamma": 1.0, "delta": 0.3})
    space = solution.space
    delta = 1e-6 * np.random.default_rng(3).standard_normal(len(solution.x)) * np.abs(solution.x)
    row = metrology_with_errors(space.basis, space.n, space.labels, solution.x + delta, space.log_norm, [[delta]])
    exact = exact_metrology(solution)
    assert abs(row["fq_N"] - exact["fq_N"]) <= row["fq_N_error"] <= 1e4 * abs(row["fq_N"] - exact["fq_N"])
    assert abs(row["purity"] - exact["purity"]) <= row["purity_error"]


def test_perturbative_rows_have_no_error_bars():
    point = {"N": 10, "J": 0.5, "Jz": 1.0, "gamma": 1.0, "delta": 0.01}
    row = evaluate(builtin("xyz"), 2, [point], "full", qfi=True)[0]
    assert row["fq_N_error"] is None and row["purity_error"] is None


def test_qfi_needs_an_exact_or_low_order_method():
    with pytest.raises(ParameterError, match="--qfi"):
        evaluate(builtin("xyz"), 3, [{"N": 10, "J": 0.5, "Jz": 1.0, "gamma": 1.0, "delta": 0.01}], "full",
                 qfi=True)


def test_evaluate_cli_qfi_keys(capsys):
    assert main(["evaluate", "tfi", "--method", "exact", "--N", "6", "--set", "Delta=1", "--set", "Jx=0.2",
                 "--set", "gamma=1", "--qfi", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    for key in ("qfi", "fq_N", "fq_direction", "purity", "entropy", "fq_N_error", "purity_error"):
        assert key in row
    assert np.linalg.norm(row["fq_direction"]) == pytest.approx(1.0)


def test_sweep_cli_qfi_columns(tmp_path):
    out = tmp_path / "s.csv"
    assert main(["sweep", "tfi", "--vary", "Jx=0.05:0.1:2", "--set", "Delta=1", "--set", "gamma=1", "--N", "6",
                 "--method", "exact", "--serial", "--qfi", "-o", str(out)]) == 0
    head = out.read_text().splitlines()[0].split(",")
    assert {"fq_N", "purity", "entropy", "qfi_xx", "fq_direction_z"} <= set(head)


# ---- QuTiP export ------------------------------------------------------------------------------


@pytest.mark.parametrize("N", [4, 11, 20])
def test_to_qutip_is_the_piqs_steady_state(N):
    """Near the U(1) point (dyadic rates: piqs keeps them exactly in single precision)."""
    model = builtin("xyz")
    params = {"J": 0.5, "Jz": 1.0, "gamma": 1.0, "delta": 1 / 64}
    state = exact_solve(model, {"N": N, **params}).to_qutip()
    system = model.to_qutip(N, params)
    assert isinstance(system, piqs.Dicke)
    steady = qutip.steadystate(system.liouvillian())
    assert state.shape == (piqs.num_dicke_states(N),) * 2
    assert (state - steady).norm() <= 1e-8
    assert state.tr() == pytest.approx(1.0)
    blocks = exact_solve(model, {"N": N, **params}).dicke_blocks()
    assert piqs.purity_dicke(state) == pytest.approx(metrology(blocks, N)["purity"], rel=1e-9)
    assert sum(d * np.trace(r).real for r, d in blocks.values()) == pytest.approx(1.0)


def test_model_to_qutip_with_a_zero_rate():
    model = builtin("tfi").replace(local_dephasing="gphi")
    params = {"Delta": 1.0, "Jx": 0.25, "gamma": 1.0, "gphi": 0.0}
    system = model.to_qutip(6, params)
    steady = qutip.steadystate(system.liouvillian())
    state = exact_solve(model, {"N": 6, **params}).to_qutip()
    assert (state - steady).norm() <= 1e-8
    with pytest.raises(ParameterError, match="Jx"):
        model.to_qutip(6, {"Delta": 1.0, "gamma": 1.0, "gphi": 0.0})


def test_symmetric_sector_to_qutip_is_the_top_block():
    N = 5
    state = exact_solve(builtin("resonance_fluorescence"), {"N": N, "Omega": 0.7, "Gamma": 1.0}).to_qutip()
    full = state.full()
    assert np.abs(full[N + 1:, :]).max() == 0 and state.tr() == pytest.approx(1.0)
    Sx, Sy, Sz = (qutip.jmat(N / 2, a) for a in "xyz")
    ref_state = qutip.steadystate(2 * 0.7 * Sx, [qutip.jmat(N / 2, "-")])
    assert np.abs(full[:N + 1, :N + 1] - ref_state.full()).max() < 1e-9
    assert not math.isnan(full[0, 0].real)


def test_perturbative_qfi_at_large_N():
    """The blocks of ρ₁, ρ₂ are kept on the few states they reach: any N."""
    rows = evaluate(builtin("xyz"), 2, [{"N": n, "J": 0.5, "Jz": 1.0, "gamma": 1.0, "delta": 0.01}
                                         for n in (100, 10**5)], "full", qfi=True)
    exact = evaluate(builtin("xyz"), None, [rows[0]["params"]], "exact", qfi=True)[0]
    assert rows[0]["fq_N"] == pytest.approx(exact["fq_N"], abs=1e-6)
    assert rows[0]["purity"] == pytest.approx(exact["purity"], abs=1e-7)
    assert rows[0]["entropy"] == pytest.approx(exact["entropy"], rel=1e-3)
    assert 0 < 1 - rows[1]["purity"] < 1e-3 and 0 < rows[1]["entropy"] < 1e-2
    assert abs(rows[1]["fq_N"] - 1 / rows[1]["xi2_R"]) < 1e-4 and rows[1]["fq_N"] > 1.01


def test_core_imports_qutip_only_for_an_export():
    import subprocess
    import sys

    code = ("import sys, symsteady, symsteady.metrology, symsteady.husimi, symsteady.qutip_export\n"
            "symsteady.evaluate(symsteady.builtin('tfi'), None, [{'N': 4, 'Delta': 1, 'Jx': 0.2, 'gamma': 1}],"
            " 'exact', qfi=True)\n"
            "assert 'qutip' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
