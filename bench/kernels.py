"""Speed of the generated kernels, as ratios measured in the same run.

For ξ²_R of ``xyz`` at order 2 over 10^6 random points (N in 2…1000, J, Jz in [-2, 2]γ,
δ in [-0.1, 0.1]γ, γ in [0.5, 2]): points per second of

* the generated NumPy kernel (``symsteady generate xyz --lang numpy``),
* the generated C kernel (compiled with ``cc -std=c99 -O2``, called through ctypes),
* ``sympy.lambdify`` of the unsimplified expression ``Derivation.xi2_R`` (NumPy backend),

and one QuTiP piqs steady state of xyz at N = 20. Goals: NumPy kernel >= 2x lambdify,
C >= 5x the NumPy kernel, and >= 10^5x faster per point than one exact solve at N = 20.

Run: ``python bench/kernels.py`` (needs a C compiler, and the test extra for QuTiP).
"""

from __future__ import annotations

import time

import numpy as np
import sympy

import symsteady
import symsteady.model
from symsteady.codegen import c_sources, load_c_kernel, load_numpy_module, numpy_module

POINTS = 1_000_000


def best_of(fn, repeat: int = 5) -> float:
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
    return qutip.steadystate(piqs.Dicke(N, hamiltonian=H, emission=gamma).liouvillian())


def main() -> None:
    d = symsteady.derive(symsteady.builtin("xyz"), 2)
    rng = np.random.default_rng(0)
    gamma = rng.uniform(0.5, 2.0, POINTS)
    p = {"N": rng.integers(2, 1001, POINTS).astype(float), "J": rng.uniform(-2, 2, POINTS) * gamma,
         "Jz": rng.uniform(-2, 2, POINTS) * gamma, "delta": rng.uniform(-0.1, 0.1, POINTS) * gamma,
         "gamma": gamma}

    module = load_numpy_module(numpy_module(d), "xyz_o2_bench")
    kernel = load_c_kernel(c_sources(d))
    args = [symsteady.model.N, *d.parameters]
    raw = sympy.lambdify(args, d.xi2_R, modules="numpy")
    columns = [p[a.name] for a in args]

    ref = module.xi2_R(**p)
    agree_c = float(np.max(np.abs(kernel.xi2_R(**p) - ref)))
    agree_l = float(np.max(np.abs(raw(*columns) - ref)))
    t_np = best_of(lambda: module.xi2_R(**p))
    t_c = best_of(lambda: kernel.xi2_R(**p))
    t_l = best_of(lambda: raw(*columns))
    print(f"xi2_R of xyz at order 2 over {POINTS:.0e} points (best of 5)")
    for label, t in (("NumPy kernel", t_np), ("C kernel", t_c), ("sympy.lambdify (raw)", t_l)):
        print(f"  {label:22s} {t * 1e3:9.2f} ms   {POINTS / t:12.4g} points/s")
    print(f"  max |C - NumPy| = {agree_c:.1e}, max |lambdify - NumPy| = {agree_l:.1e}")
    r1, r2 = t_l / t_np, t_np / t_c
    print(f"  NumPy kernel / lambdify: {r1:6.2f}x   (goal >= 2: {'ok' if r1 >= 2 else 'MISSED'})")
    print(f"  C kernel / NumPy kernel: {r2:6.2f}x   (goal >= 5: {'ok' if r2 >= 5 else 'MISSED'})")
    try:
        t_piqs = best_of(lambda: piqs_xyz_steady_state(20), repeat=3)
    except ImportError:
        print("QuTiP not installed: pip install '.[test]' for the exact-solve comparison")
        return
    per_np, per_c = t_np / POINTS, t_c / POINTS
    print(f"one QuTiP piqs steady state at N = 20: {t_piqs * 1e3:.1f} ms")
    for label, per in (("NumPy kernel", per_np), ("C kernel", per_c)):
        ratio = t_piqs / per
        print(f"  {label:12s} per point: {per * 1e9:7.1f} ns = {ratio:9.3g}x faster than one solve "
              f"(goal >= 1e5: {'ok' if ratio >= 1e5 else 'MISSED'})")


if __name__ == "__main__":
    main()
