"""Benchmarks of the high-order numeric series, as ratios against peers measured in the same run.

1. points per second of the batched series (``evaluate`` at orders 10, 20, 40, i.e. the
   series to K + 4 for the error bar) for xyz at N = 100, against one exact solve at N = 100
   (goal at order 20: 10⁴ points in at most 10 exact solves' time);
2. resonance fluorescence at N = 3·10⁴, order 40 (ball arithmetic: double precision cancels
   there), seconds per point (goal: under 2 s), against the same point in exact rationals;
3. the order-24 check of resonance fluorescence at N = 1000 (x = 1/2): value and time.

Each number is the best of ``--repeat`` runs (the machine is shared); the script checks its
numbers (the series against exact solves) and exits non-zero when a check fails.
Run: ``python bench/series.py [--points 10000] [--repeat 2]``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from symsteady import builtin, evaluate, exact_solve
from symsteady.evaluation import point_quadratics
from symsteady.series import batched


def best(fn, repeat: int) -> tuple[float, object]:
    out, t_best = None, float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        t_best = min(t_best, time.perf_counter() - t)
    return t_best, out


def xyz_points(n_points: int, N: int = 100) -> list[dict]:
    rng = np.random.default_rng(0)
    return [{"N": N, "J": 0.5, "Jz": 1.0, "gamma": 1.0, "delta": float(d)}
            for d in rng.uniform(0.01, 0.15, n_points)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--points", type=int, default=10_000, help="points of the order-20 run (default 10^4)")
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args(argv)
    ok = True
    xyz = builtin("xyz")
    exact_point = {"N": 100, "J": 0.5, "Jz": 1.0, "gamma": 1.0, "delta": 0.1}
    t_exact, solution = best(lambda: exact_solve(xyz, exact_point), args.repeat)
    exact_xi2 = float(solution.observables()["xi2_R"])
    print(f"one exact solve, xyz N = 100: {t_exact:.2f} s")
    for order, n in ((10, args.points), (20, args.points), (40, max(1, args.points // 20))):
        pts = xyz_points(n)
        batched.plan(xyz, 100, order + 4)  # compiled once per (model, N, order): not per point
        t, rows = best(lambda: evaluate(xyz, order, pts), args.repeat)
        rate = n / t
        print(f"xyz N = 100, order {order}: {n} points in {t:.1f} s = {rate:.0f} points/s "
              f"= {t / n * 1e3:.2f} ms/point; {n} points / exact solves in the same time: "
              f"{t / t_exact:.1f} solves ({rate * t_exact:.0f} points per exact solve)")
        if order == 20 and n >= 10_000:
            print(f"  goal (10^4 points in <= 10 exact solves): {'met' if t / t_exact * 10_000 / n <= 10 else 'NOT met'}")
        check = evaluate(xyz, order, [exact_point])[0]
        err = abs(check["xi2_R"] - exact_xi2)
        if not err <= check["xi2_R_error"]:
            print(f"  CHECK FAILED: |series - exact| = {err:.2e} > its estimate {check['xi2_R_error']:.2e}")
            ok = False
    rf = builtin("resonance_fluorescence")
    big = {"N": 30_000, "Omega": 0.75 * 30_000 / 4, "Gamma": 1.0}
    t_rf, row = best(lambda: evaluate(rf, 40, [big])[0], args.repeat)
    t_q, q = best(lambda: point_quadratics(rf, 44, big, exact=True), 1)
    print(f"resonance fluorescence N = 3e4, order 40 (series to 44, ball arithmetic): {t_rf:.2f} s/point "
          f"(goal < 2 s: {'met' if t_rf < 2 else 'NOT met'}); exact rationals to order 44: {t_q:.2f} s "
          f"(ratio {t_q / t_rf:.1f}); xi2_R = {row['xi2_R']:.10f} +- {row['xi2_R_error']:.1e}")
    exact_q = sum(float(c.x) * big["Omega"] ** k for k, c in enumerate(q["a_R"].c[:41])) - abs(
        sum(float(c.x) * big["Omega"] ** k for k, c in enumerate(q["b_R"].c[:41])))
    if abs(exact_q - row["xi2_R"]) > 1e-10:
        print(f"  CHECK FAILED: ball arithmetic {row['xi2_R']} against exact rationals {exact_q}")
        ok = False
    t24, row = best(lambda: evaluate(rf, 24, [{"N": 1000, "Omega": 125, "Gamma": 1}])[0], args.repeat)
    print(f"resonance fluorescence N = 1000, order 24: xi2_R = {row['xi2_R']:.10f} +- {row['xi2_R_error']:.1e} "
          f"(exact 0.8660313972) in {t24:.2f} s")
    if abs(row["xi2_R"] - 0.8660313972) > 1e-9:
        print("  CHECK FAILED: order 24 is not within 1e-9 of the exact value")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
