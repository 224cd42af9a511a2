"""Benchmarks of the core engine, as ratios against peers measured in the same run.

1. symbolic order-2 derivation of every built-in model (goal: <= 1 s each);
2. numeric order-10 series of xyz at N = 1000 (goal: <= 2 s);
3. one ``evaluate`` call over 10^4 points at N = 40 against one QuTiP piqs steady state of
   xyz at N = 40 (goal: faster).

Run: ``python bench/derive.py`` (needs the test extra for QuTiP).
"""

from __future__ import annotations

import time

import numpy as np

import symsteady
import symsteady.models
from symsteady import builtin, evaluate
from symsteady.evaluation import _closed_form_kernel, point_quadratics


def timed(fn, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def piqs_xyz_steady_state(N: int, J=0.5, delta=0.05, Jz=1.0, gamma=1.0):
    import qutip
    from qutip import piqs

    jx, jy, jz = piqs.jspin(N)
    H = (2 / N) * ((J + delta) * jx * jx + (J - delta) * jy * jy + Jz * jz * jz)
    system = piqs.Dicke(N, hamiltonian=H, emission=gamma)
    return qutip.steadystate(system.liouvillian())


def main() -> None:
    print("1. symbolic order-2 derivation (goal <= 1 s each)")
    for name in symsteady.models.BUILTIN:
        t = timed(lambda: symsteady.derive(builtin(name), 2))
        print(f"   {name:24s} {t:7.3f} s   {'ok' if t <= 1 else 'SLOWER THAN GOAL'}")

    point = {"N": 1000, "J": 0.5, "delta": 0.01, "Jz": 1.0, "gamma": 1.0}
    t10 = timed(lambda: point_quadratics(builtin("xyz"), 10, point), repeat=3)
    print(f"2. numeric order-10 series, xyz, N = 1000: {t10:.3f} s (goal <= 2 s: {t10 / 2:.3f} of the budget)")

    rng = np.random.default_rng(1)
    points = [{"N": 40, "J": float(j), "delta": float(d), "Jz": 1.0, "gamma": 1.0}
              for j, d in zip(rng.uniform(-1, 1, 10_000), rng.uniform(-0.1, 0.1, 10_000))]
    _closed_form_kernel.cache_clear()
    t_eval = timed(lambda: evaluate(builtin("xyz"), 2, points))
    t_eval_warm = timed(lambda: evaluate(builtin("xyz"), 2, points), repeat=3)
    try:
        t_piqs = timed(lambda: piqs_xyz_steady_state(40))
    except ImportError:
        print("3. QuTiP not installed: pip install '.[test]'")
        return
    print(f"3. evaluate, 10^4 points at N = 40: {t_eval:.3f} s including the derivation "
          f"({t_eval_warm:.3f} s once derived)")
    print(f"   one QuTiP piqs steady state at N = 40: {t_piqs:.3f} s")
    print(f"   ratio: 10^4 points take {t_eval / t_piqs:.3f} of one piqs solve "
          f"({t_piqs / t_eval * 1e4:.3g} points per piqs solve; goal < 1)")


if __name__ == "__main__":
    main()
