"""Benchmark of the exact solver against QuTiP's permutation-invariant solver, in one run.

Model: xyz with local emission (J = 0.5, δ = 0.05, Jz = 1, γ = 1). For N = 20, 40, 60 it times
one steady state of ours (``symsteady.exact``: vectorised build of L0 and L, then LU(L0) +
GMRES) and of QuTiP (``piqs.Dicke(N, hamiltonian=H, emission=γ).liouvillian()`` then
``qutip.steadystate``), build and solve apart, and prints the ratios and the agreement of
ξ²_R. Both run with one BLAS thread (ours always does; QuTiP's SuperLU is then not slowed by
busy cores); each time is the fastest of three runs (QuTiP at N = 60: one run of ~10 s).
Then ours alone at N = 200 (one run, observables included).

Goals: ≥ 100x faster than QuTiP at N = 60 (whole steady state, build included); N = 200 in
≤ 30 s. Run: ``python bench/exact.py [--quick]`` (needs the test extra for QuTiP;
``--quick`` stops at N = 40 and skips N = 200).
"""

from __future__ import annotations

import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from symsteady import builtin
from symsteady.exact import ExactSolution, exact_solve
from symsteady.exact.matrix import build_exact_liouvillian
from symsteady.exact.solve import solve_exact_liouvillian
from symsteady.observables import exact_observables
from symsteady.threads import single_blas_thread

POINT = {"J": 0.5, "delta": 0.05, "Jz": 1.0, "gamma": 1.0}


def ours(N: int, repeat: int = 3) -> tuple[float, float, float, int]:
    """(build s, solve s, ξ²_R, GMRES iterations) of one exact steady state (the solve includes
    the observables); the fastest of ``repeat`` runs."""
    model, point = builtin("xyz"), {"N": N, **POINT}
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        with single_blas_thread():
            t0 = time.perf_counter()
            system = build_exact_liouvillian(model, point)
            t1 = time.perf_counter()
            x, info = solve_exact_liouvillian(system)
            xi2 = float(ExactSolution(system.space, x, info).observables()["xi2_R"])
            t2 = time.perf_counter()
        if t2 - t0 < sum(best):
            best = (t1 - t0, t2 - t1)
    return best[0], best[1], xi2, info.iterations


def qutip_piqs(N: int, repeat: int) -> tuple[float, float, float]:
    """(build s, solve s, ξ²_R) of QuTiP piqs: Dicke(...).liouvillian() + qutip.steadystate;
    the fastest of ``repeat`` runs."""
    import qutip
    from qutip import piqs

    J, d, Jz, g = POINT["J"], POINT["delta"], POINT["Jz"], POINT["gamma"]
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        with threadpool_limits(limits=1, user_api="blas"):
            t0 = time.perf_counter()
            jx, jy, jz = piqs.jspin(N)
            H = (2 / N) * ((J + d) * jx * jx + (J - d) * jy * jy + Jz * jz * jz)
            L = piqs.Dicke(N, hamiltonian=H, emission=g).liouvillian()
            t1 = time.perf_counter()
            rho = qutip.steadystate(L)
            t2 = time.perf_counter()
        if t2 - t0 < sum(best):
            best = (t1 - t0, t2 - t1)
    S = [jx, jy, jz]
    mean = np.array([qutip.expect(s, rho).real for s in S])
    second = np.array([[0.5 * qutip.expect(S[a] * S[b] + S[b] * S[a], rho).real for b in range(3)]
                       for a in range(3)])
    return best[0], best[1], float(exact_observables(N, mean, second)["xi2_R"])


def main(quick: bool = False) -> None:
    sizes = (20, 40) if quick else (20, 40, 60)
    print("exact steady state of xyz (local emission), ours vs QuTiP piqs, same run, 1 BLAS thread")
    print(f"{'N':>4} {'ours build':>11} {'ours solve':>11} {'GMRES its':>9} {'piqs build':>11} "
          f"{'piqs solve':>11} {'total ratio':>12} {'|Δξ²_R|':>9}")
    try:
        import qutip  # noqa: F401
    except ImportError:
        print("QuTiP not installed: pip install '.[test]'")
        return
    for N in sizes:
        ob, os_, oxi, its = ours(N)
        qb, qs, qxi = qutip_piqs(N, repeat=3 if N <= 40 else 1)
        ratio = (qb + qs) / (ob + os_)
        goal = "" if N != 60 else ("  (goal >= 100x: met)" if ratio >= 100 else "  (goal >= 100x: NOT met)")
        print(f"{N:>4} {ob:>10.3f}s {os_:>10.3f}s {its:>9} {qb:>10.3f}s {qs:>10.3f}s {ratio:>11.0f}x "
              f"{abs(oxi - qxi):>9.1e}{goal}")
    if quick:
        return
    t = time.perf_counter()
    solution = exact_solve(builtin("xyz"), {"N": 200, **POINT})
    xi2 = float(solution.observables()["xi2_R"])
    total = time.perf_counter() - t
    info = solution.info
    print(f"N = 200 (dimension {info.dimension}): build {info.build_seconds:.1f} s, solve "
          f"{info.solve_seconds:.1f} s ({info.iterations} GMRES iterations), total {total:.1f} s "
          f"(goal <= 30 s: {'met' if total <= 30 else 'NOT met'}); xi2_R = {xi2:.10f}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
