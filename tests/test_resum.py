"""Robust Padé approximants (Gonnet–Güttel–Trefethen) against functions with known Padé
forms, parity detection, and resummation judged per point in ``evaluate``."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import binom

from symsteady import builtin, evaluate, exact_solve
from symsteady.resum import evaluate_pade, pade_sum, parity, robust_pade


def taylor_of_rational(num, den, n):
    """Taylor coefficients of num/den (ascending coefficient lists) to order n."""
    c = np.zeros(n + 1)
    for k in range(n + 1):
        acc = num[k] if k < len(num) else 0.0
        for j in range(1, min(k, len(den) - 1) + 1):
            acc -= den[j] * c[k - j]
        c[k] = acc / den[0]
    return c


def test_a_rational_function_is_recovered_at_its_own_type():
    """(1 + 2x)/(1 - x/2 + x²/5): asking for [10/10] must give back [1/2], no spurious poles."""
    c = taylor_of_rational([1.0, 2.0], [1.0, -0.5, 0.2], 20)
    a, b = robust_pade(c, 10, 10)
    assert len(a) == 2 and len(b) == 3
    assert np.allclose(a.real, [1, 2]) and np.allclose(b.real, [1, -0.5, 0.2])


def test_noise_does_not_make_froissart_doublets():
    """exp(x) with 1e-15 noise: the approximant keeps no pole–zero pair near the disk."""
    rng = np.random.default_rng(1)
    c = np.array([1 / math.factorial(k) for k in range(31)]) * (1 + 1e-15 * rng.standard_normal(31))
    a, b = robust_pade(c, 15, 15)
    poles = np.roots(b[::-1])
    assert np.all(np.abs(poles) > 2), poles
    assert abs(evaluate_pade(a, b, 1.0) - math.e) < 1e-12


def test_log_and_the_series_that_diverges_at_the_point():
    """log(1+x) at x = 1 (the edge of its disk): Padé converges where the series crawls."""
    c = np.array([0.0] + [(-1) ** (k + 1) / k for k in range(1, 31)])
    a, b = robust_pade(c, 15, 15)
    assert abs(evaluate_pade(a, b, 1.0) - math.log(2)) < 1e-12
    assert abs(np.sum(c) - math.log(2)) > 1e-2


def test_parity_detection():
    assert parity(np.array([1.0, 0, 2, 0, 3])) == "even"
    assert parity(np.array([0.0, 1, 0, 2, 0])) == "odd"
    assert parity(np.array([1.0, 1, 2, 0, 3])) == "none"


@pytest.mark.parametrize("x", [0.5, 0.75, 0.9, 0.95])
def test_pade_estimate_covers_sqrt(x):
    """sqrt(1 - x²) (the large-N squeezing of resonance fluorescence) from 21 even terms."""
    t = np.zeros(41)
    for j in range(21):
        t[2 * j] = binom(0.5, j) * (-1) ** j * x ** (2 * j)
    p = pade_sum(t)
    true = abs(p.value - math.sqrt(1 - x * x))
    assert true <= p.error <= max(1000 * true, 1e-9)
    if x >= 0.75:
        assert true < abs(np.sum(t) - math.sqrt(1 - x * x))


def test_resummation_is_judged_per_point():
    """xyz at N = 20: where the truncated series is already excellent the row keeps it (or a
    Padé value with a smaller estimate); every row's estimate covers its true error."""
    model = builtin("xyz")
    points = [{"N": 20, "J": 0.5, "Jz": 1.0, "gamma": 1.0, "delta": d} for d in (0.05, 0.3, 0.45)]
    exact = [float(exact_solve(model, p).observables()["xi2_R"]) for p in points]
    plain = evaluate(model, 16, points)
    resummed = evaluate(model, 16, points, resum="pade")
    for r0, r1, e in zip(plain, resummed, exact):
        assert r1["resum"] in (None, "pade")
        if r1["resum"] == "pade":
            assert r1["xi2_R_error"] < r0["xi2_R_error"]
        else:
            assert r1["xi2_R"] == r0["xi2_R"]
        assert abs(r1["xi2_R"] - e) <= max(r1["xi2_R_error"], 1e-12)
