"""Mean-field linearisation around the dark state (derived from the model) and the divergence report
of perturbative against exact sweeps."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

import symsteady
import symsteady.model
from symsteady import Model, builtin, evaluate
from symsteady.meanfield import MX, MY, MZ, equations_of_motion, mean_field
from symsteady.sweep.compare import compare, difference
from symsteady.errors import MeanFieldError, ParameterError

g, Jx, Jy, Jz, J, d, Delta = sympy.symbols("gamma Jx Jy Jz J delta Delta", real=True)
XYZ_XY = Model("(2/N)*(Jx*Sx**2 + Jy*Sy**2 + Jz*Sz**2)", local_emission="gamma", name="xyz_xy")


def test_xyz_matrix_is_designs():
    mf = mean_field(XYZ_XY)
    expected = sympy.Matrix([[-g / 2, -2 * (Jy - Jz)], [2 * (Jx - Jz), -g / 2]])
    assert sympy.simplify(mf.jacobian - expected) == sympy.zeros(2, 2)
    # unstable where 16 (Jx - Jz)(Jy - Jz) < -gamma^2, and the trace (-gamma) never is
    assert sympy.expand(4 * mf.det - (16 * (Jx - Jz) * (Jy - Jz) + g**2)) == 0
    assert mf.condition == sympy.StrictLessThan(mf.det, 0)


def test_builtin_xyz_in_J_delta_is_the_same_matrix():
    mf = mean_field(builtin("xyz"))
    expected = sympy.Matrix([[-g / 2, -2 * (J - d - Jz)], [2 * (J + d - Jz), -g / 2]])
    assert sympy.simplify(mf.jacobian - expected) == sympy.zeros(2, 2)


def test_tfi_line():
    mf = mean_field(builtin("tfi"))
    assert sympy.simplify(mf.jacobian - sympy.Matrix([[-g / 2, -Delta], [Delta + 4 * Jx, -g / 2]])) == sympy.zeros(2, 2)
    (line,) = mf.line("Jx")
    assert sympy.simplify(line + (4 * Delta**2 + g**2) / (16 * Delta)) == 0


def test_heisenberg_equations_exact_in_n():
    """dS/dt of tfi, factorised: the Ising term keeps its 1/N ordering correction (dropped at large N)."""
    fx, fy, fz = equations_of_motion(builtin("tfi"))
    N = symsteady.model.N
    assert sympy.simplify(fx - (-Delta * MY - g * MX / 2 + 2 * Jx * MY / N)) == 0
    assert sympy.simplify(fy - (Delta * MX - 8 * Jx * MX * MZ / N - 2 * Jx * MX / N - g * MY / 2)) == 0
    assert sympy.simplify(fz - (-g * (MZ + N / 2) + 8 * Jx * MX * MY / N)) == 0


def test_rates_enter_from_single_site_matrices():
    """Dephasing damps coherences at 2 gamma_phi, collective emission at Gamma N / 2."""
    G, gp = sympy.symbols("Gamma gp", real=True)
    mf = mean_field(Model("(2/N)*(Jx*Sx**2 + Jy*Sy**2)", collective_emission="Gamma", local_dephasing="gp"))
    N = symsteady.model.N
    assert sympy.simplify(mf.jacobian[0, 0] + G * N / 2 + 2 * gp) == 0
    assert sympy.simplify(mf.jacobian[0, 1] + 2 * Jy) == 0


@pytest.mark.parametrize("name", ["driven_ising", "resonance_fluorescence"])
def test_linear_driving_has_no_line(name):
    with pytest.raises(MeanFieldError, match="not a mean-field fixed point"):
        mean_field(builtin(name))


def test_pumping_has_no_line():
    with pytest.raises(MeanFieldError, match="dm_z/dt"):
        mean_field(Model("(2/N)*Jx*Sx**2", local_emission="gamma", local_pumping="gp"))


def test_growth_rate_numeric():
    mf = mean_field(XYZ_XY)
    jx = np.array([0.0, 3.0, 1.0])
    jy = np.array([0.0, -1.0, 1.0])
    rate = mf.growth_rate({"Jx": jx, "Jy": jy, "Jz": 1.0, "gamma": 1.0})
    for r, a, b in zip(rate, jx, jy):
        M = np.array([[-0.5, -2 * (b - 1)], [2 * (a - 1), -0.5]])
        assert r == pytest.approx(np.linalg.eigvals(M).real.max())
    assert mf.unstable([{"N": 20, "Jx": 3, "Jy": -1, "Jz": 1, "gamma": 1}]).tolist() == [True]
    with pytest.raises(ParameterError, match="needs"):
        mf.growth_rate({"Jx": 1.0})


def test_theta_difference_is_modulo_pi():
    assert difference("theta", [np.pi / 2 - 0.01], [-np.pi / 2 + 0.01])[0] == pytest.approx(0.02)
    assert np.isnan(difference("xi2_R", [None], [1.0])[0])


def test_report_flags_points_beyond_the_mean_field_line():
    """xyz along delta at J = Jz: unstable beyond |delta| = gamma/4; perturbation theory fails there."""
    model = builtin("xyz")
    deltas = [0.005, 0.02, 0.1, 0.2, 0.35, 0.5, 0.8]
    points = [{"N": 10, "J": 1.0, "Jz": 1.0, "gamma": 1.0, "delta": x} for x in deltas]
    rep = compare(evaluate(model, 2, points), evaluate(model, None, points, "exact"), 0.05, model=model)
    assert rep.beyond_line.tolist() == [x > 0.25 for x in deltas]
    assert rep.flagged[rep.beyond_line].all()
    assert not rep.flagged[:2].any() and rep.difference[0] < 1e-5
    text = rep.summary()
    assert "full order 2" in text and f"{int(rep.flagged.sum())} of 7 points" in text
    assert "beyond the mean-field instability line: 3 points, 3 of them flagged" in text


@pytest.mark.slow
def test_compare_checks_rows():
    model = builtin("tfi")
    p = [{"N": 6, "Jx": 0.1, "Delta": -1, "gamma": 1}]
    q = [{"N": 6, "Jx": 0.2, "Delta": -1, "gamma": 1}]
    with pytest.raises(ParameterError, match="row 0"):
        compare(evaluate(model, 1, p), evaluate(model, None, q, "exact"))
    with pytest.raises(ParameterError, match="exact"):
        compare(evaluate(model, 1, p), evaluate(model, 2, p))
    with pytest.raises(ParameterError, match="quantity"):
        compare(evaluate(model, 1, p), evaluate(model, None, p, "exact"), quantity="nope")
