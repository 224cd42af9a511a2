"""Quarter turns about z (docs/algorithm/exact-convergence.md#convergence-rotations): a point whose
coefficients are another's turned by k quarter turns has that point's steady state turned, and a
sweep solves each such class once. Checked against the direct solve of every point and against
2^N steady states."""

from __future__ import annotations

import numpy as np
import pytest

import exact_reference as ref
import symsteady.evaluation as evaluation
from symsteady import Model, builtin
from symsteady.evaluation import evaluate
from symsteady.exact import exact_observables_of, solve_at, xi2_R_error
from symsteady.exact.rotation import quarter_turn, rotation_class, rotation_classes, turned
from symsteady.observables import exact_observables
from symsteady.points import check_points
from symsteady.sweep import make_grid
from symsteady.sweep.run import run_exact

DRIVE_XY = Model("O*(cx*Sx + cy*Sy) + (4*U/N)*Sz**2", local_emission="gamma", local_dephasing="d", small="O")

PARTNERS = [  # (model, point, its partner a quarter turn or two away)
    (builtin("xyz"), {"J": 0.5, "delta": 0.3, "Jz": 1.0, "gamma": 1.0},
     {"J": 0.5, "delta": -0.3, "Jz": 1.0, "gamma": 1.0}),
    (builtin("driven_ising"), {"Omega": 0.4, "Delta": 0.5, "U": 0.5, "gamma": 1.0},
     {"Omega": -0.4, "Delta": 0.5, "U": 0.5, "gamma": 1.0}),
    (DRIVE_XY, {"O": 0.6, "cx": 1.0, "cy": 0.0, "U": 1.0, "gamma": 1.0, "d": 0.2},
     {"O": 0.6, "cx": 0.0, "cy": 1.0, "U": 1.0, "gamma": 1.0, "d": 0.2}),
]


def _pair(model: Model, a: dict, b: dict, N: int):
    return check_points(model, [{"N": N, **a}, {"N": N, **b}])


@pytest.mark.parametrize("model,a,b", PARTNERS, ids=["xyz", "driven_ising", "drive_xy"])
def test_a_turned_solution_is_the_solve_of_the_turned_point(model, a, b):
    p, q = _pair(model, a, b, 8)
    (key_p, k_p), (key_q, k_q) = rotation_class(model, p), rotation_class(model, q)
    assert key_p == key_q
    source, direct = solve_at(model, p), solve_at(model, q)
    derived = turned(source, quarter_turn(k_p, k_q), p)
    assert np.abs(derived.x - direct.x).max() <= 1e-13 * np.abs(direct.x).max()
    assert np.abs(derived.x - source.x).max() > 1e-3 * np.abs(source.x).max()  # not the same state
    got, want = exact_observables_of([derived, direct])
    for key in ("xi2_R", "xi2_S", "theta", "rs_gap"):
        assert got[key] == pytest.approx(want[key], rel=1e-12, abs=1e-13), key
    for key in ("mean", "cov", "direction"):
        assert np.allclose(got[key], want[key], rtol=1e-12, atol=1e-13), key
    # the bars are estimates of one size (the turned rounding probes are not the partner's own)
    assert 0.5 < xi2_R_error(derived) / xi2_R_error(direct) < 2
    assert "turned by" in derived.info.note and derived.info.solve_seconds == 0.0


def test_a_quarter_turn_against_the_2N_steady_state():
    """The drive along y from the drive along x (one quarter turn), N = 4: moments and ξ²_R of the
    turned solution against the 2^N steady state at the y drive."""
    N, (_, a, b) = 4, PARTNERS[2]
    p, q = _pair(DRIVE_XY, a, b, N)
    (_, k_p), (_, k_q) = rotation_class(DRIVE_XY, p), rotation_class(DRIVE_XY, q)
    assert quarter_turn(k_p, k_q) in (1, 3)
    derived = turned(solve_at(DRIVE_XY, p), quarter_turn(k_p, k_q), p)
    mean, second = ref.full_steady_state_moments(
        N, lambda Sx, Sy, Sz: b["O"] * (b["cx"] * Sx + b["cy"] * Sy) + (4 * b["U"] / N) * Sz @ Sz,
        local_emission=b["gamma"], local_dephasing=b["d"])
    got = exact_observables_of([derived])[0]
    assert np.allclose(got["mean"], mean, atol=1e-12) and abs(mean[1]) > 1e-2  # the mean turned to y
    assert np.allclose(got["cov"], second - np.outer(mean, mean), atol=1e-12)
    assert got["xi2_R"] == pytest.approx(exact_observables(N, mean, second)["xi2_R"], rel=1e-10)


def test_rotation_classes_hold_exact_partners_only():
    model = builtin("xyz")
    base = {"J": 0.5, "Jz": 1.0, "gamma": 1.0}
    points = check_points(model, [{"N": 8, **base, "delta": 0.3}, {"N": 8, **base, "delta": 0.0},
                                  {"N": 8, **base, "delta": -0.3}, {"N": 10, **base, "delta": -0.3},
                                  {"N": 8, **base, "delta": -0.3 * (1 + 2e-16)}, {"N": 8, **base, "delta": 0.3}])
    assert rotation_classes(model, list(points)) == [[0, 2, 5], [1], [3], [4]]


@pytest.mark.parametrize("chunk_size", [None, 4])
def test_a_sweep_solves_each_rotation_class_once(monkeypatch, chunk_size):
    """The (Jx, Jy) map's mirror Jx <-> Jy is a quarter turn: 25 points, 15 solves (chunks cut
    only between classes, also when they are small), and every row that of the point solved on
    its own."""
    model = builtin("xyz")
    grid = make_grid(model, ["Jx=-1:3:5", "Jy=-1:3:5"], ["J=(Jx+Jy)/2", "delta=(Jx-Jy)/2", "Jz=1", "gamma=1"], N=8)
    points = grid.points()
    solves = []
    solve = evaluation.solve_at
    monkeypatch.setattr(evaluation, "solve_at", lambda *a, **k: solves.append(a[1]) or solve(*a, **k))
    rows = run_exact(model, points, serial=None, progress=False, chunk_size=chunk_size)
    assert len(solves) == 15
    monkeypatch.setattr(evaluation, "solve_at", solve)
    for p, row in zip(points, rows):
        alone = evaluate(model, None, [p], "exact")[0]
        assert row["params"] == alone["params"]
        for key in ("xi2_R", "theta", "xi2_R_error"):
            assert (row[key] is None) == (alone[key] is None), key
        if row["xi2_R"] is not None:
            assert row["xi2_R"] == pytest.approx(alone["xi2_R"], rel=1e-12)
            assert row["theta"] is None or row["theta"] == pytest.approx(alone["theta"], rel=1e-12, abs=1e-14)
            # the bars differ: the turned rounding probes are not the partner's own seeded probes
            assert 0.5 < row["xi2_R_error"] / alone["xi2_R_error"] < 2
            assert abs(row["xi2_R"] - alone["xi2_R"]) <= row["xi2_R_error"]
        assert np.allclose(row["mean"], alone["mean"], rtol=1e-12, atol=1e-14)


def test_chunks_are_cut_only_between_classes():
    from symsteady.sweep.run import _chunks

    assert _chunks(10, 4) == [range(0, 4), range(4, 8), range(8, 10)]
    assert _chunks(10, 4, [0, 3, 5, 6, 9]) == [range(0, 5), range(5, 9), range(9, 10)]
    assert _chunks(0, 4, []) == []
