"""Error bars of the series against exact steady states (docs/algorithm/high-order.md#error-estimate).

Over λ up to the radius of convergence and orders 1–24: the estimate ``xi2_R_error`` must be
at least the true error at >= 95 % of the points, never 10× below it, and at most 100× above it
at >= 80 %. Points whose true error is at the exact solver's own accuracy (1e-12) are left out
of the ratios. ``--order auto`` must never claim a convergence it lacks.
"""

from __future__ import annotations

import numpy as np
import pytest

from symsteady import builtin, evaluate, exact_solve

from puri_lawande import puri_lawande_xi2

ORDERS = (1, 2, 3, 4, 8, 12, 16, 24)


def exact_xi2(model, points):
    return [float(exact_solve(model, p).observables()["xi2_R"]) for p in points]


def coverage(model, points, exact, orders, **options):
    est, true, converged = [], [], []
    for K in orders:
        for row, e in zip(evaluate(model, K, points, **options), exact):
            converged.append(row["converged"])
            if row["converged"]:
                est.append(row["xi2_R_error"])
                true.append(abs(row["xi2_R"] - e))
    est, true = np.array(est), np.array(true)
    keep = true > 1e-12
    est, true = est[keep], true[keep]
    return {"covered": float(np.mean(est >= true)), "worst": float(np.min(est / true)),
            "within_100x": float(np.mean(est <= 100 * true)), "converged": float(np.mean(converged)),
            "compared": int(keep.sum())}


def check(stats):
    assert stats["compared"] >= 20
    assert stats["covered"] >= 0.95, stats
    assert stats["worst"] >= 0.1, stats
    assert stats["within_100x"] >= 0.8, stats


def test_error_bars_xyz():
    """xyz at N = 20 (radius ~0.57 in δ), δ up to 0.5."""
    model = builtin("xyz")
    points = [{"N": 20, "J": 0.5, "Jz": 1.0, "gamma": 1.0, "delta": d} for d in np.linspace(0.02, 0.5, 7)]
    stats = coverage(model, points, exact_xi2(model, points), (1, 2, 3, 4, 8, 16))
    check(stats)
    assert stats["converged"] == 1.0


@pytest.mark.slow
def test_error_bars_tfi_and_driven_ising():
    for model, points in (
        (builtin("tfi"), [{"N": 20, "Delta": -1.0, "gamma": 1.0, "Jx": j} for j in np.linspace(0.02, 0.4, 7)]),
        (builtin("driven_ising"), [{"N": 20, "Delta": 1.0, "U": 0.5, "gamma": 1.0, "Omega": o}
                                   for o in np.linspace(0.02, 0.2, 6)]),
    ):
        check(coverage(model, points, exact_xi2(model, points), ORDERS))


@pytest.mark.slow
def test_error_bars_resonance_fluorescence():
    """Against the Puri–Lawande state at N = 100, x = 4Ω/(NΓ) up to 0.95 (the radius is x = 1)."""
    model = builtin("resonance_fluorescence")
    points = [{"N": 100, "Omega": x * 25, "Gamma": 1.0} for x in np.linspace(0.1, 0.95, 8)]
    exact = [puri_lawande_xi2(100, p["Omega"], 1.0) for p in points]
    check(coverage(model, points, exact, (1, 2, 4, 8, 16, 24)))


def test_divergent_points_say_so():
    """Beyond the radius the series does not converge: no error bar, converged false, a note."""
    row = evaluate(builtin("xyz"), 12, [{"N": 20, "J": 0.5, "Jz": 1.0, "gamma": 1.0, "delta": 0.9}])[0]
    assert row["converged"] is False and row["xi2_R_error"] is None and "exact" in row["note"]
    assert 0.4 < row["radius"] < 0.8


@pytest.mark.parametrize("tol", [1e-4, 1e-8])
def test_order_auto_never_claims_convergence_it_lacks(tol):
    model = builtin("xyz")
    points = [{"N": 20, "J": 0.5, "Jz": 1.0, "gamma": 1.0, "delta": d} for d in (0.05, 0.2, 0.35, 0.5, 0.7)]
    exact = exact_xi2(model, points)
    rows = evaluate(model, "auto", points, tol=tol, max_order=24)
    claimed = 0
    for row, e in zip(rows, exact):
        if row["converged"]:
            claimed += 1
            assert abs(row["xi2_R"] - e) <= tol and row["xi2_R_error"] <= tol
            assert row["order"] <= 24
        else:
            assert row["order"] == 24 and "--method exact" in row["note"]
    assert claimed >= 2  # small δ converges
    assert not rows[-1]["converged"]  # δ = 0.7 is beyond the radius


def test_order_auto_picks_the_smallest_order():
    model = builtin("xyz")
    p = {"N": 20, "J": 0.5, "Jz": 1.0, "gamma": 1.0, "delta": 0.1}
    row = evaluate(model, "auto", [p], tol=1e-6, max_order=20)[0]
    K = row["order"]
    assert row["converged"] and 1 <= K < 20
    below = evaluate(model, K - 1, [p])[0]
    assert below["xi2_R_error"] > 1e-6 * 0.5  # the next order down does not meet it (up to the estimate's spread)


def test_closed_form_rows_carry_an_error_bar():
    model = builtin("xyz")
    p = [{"N": 20, "J": 0.5, "Jz": 1.0, "gamma": 1.0, "delta": 0.1}]
    e = exact_xi2(model, p)[0]
    for K in (1, 2):
        row = evaluate(model, K, p)[0]
        assert row["converged"] and abs(row["xi2_R"] - e) <= row["xi2_R_error"] <= 100 * abs(row["xi2_R"] - e)


def test_options_are_checked():
    from symsteady.errors import ParameterError

    model = builtin("xyz")
    p = [{"N": 20, "J": 0.5, "Jz": 1.0, "gamma": 1.0, "delta": 0.1}]
    with pytest.raises(ParameterError, match="tol"):
        evaluate(model, "auto", p)
    with pytest.raises(ParameterError, match="tol"):
        evaluate(model, 3, p, tol=1e-3)
    with pytest.raises(ParameterError, match="resum"):
        evaluate(model, 3, p, resum="borel")
    with pytest.raises(ParameterError):
        evaluate(model, None, p, method="exact", resum="pade")
