"""Benchmark of the exact solver against QuTiP's permutation-invariant solver, in one run.

1. xyz with local emission (J = 0.5, δ = 0.05, Jz = 1, γ = 1), N = 20 ... 300: one steady state
   of ours per N, each in a fresh process (so its peak memory is its own): dim (the labels of the
   charge sector q ≡ 0 mod 2, ``docs/algorithm/exact-solver.md#exact-sector``), build (the pieces
   of :mod:`symsteady.exact.pieces` and their first combination, first point at this N), pieces
   (their bytes; cached when below PIECE_CACHE_BYTES), combine (a further point at the same N,
   pieces cached), solve (path, iterations), ξ²_R with its error bar, peak resident memory.
   QuTiP piqs (``Dicke(N, hamiltonian=H, emission=γ).liouvillian()`` + ``qutip.steadystate``)
   at N = 20 and 40, same run; the ratio of whole steady states. Then the largest N whose
   memory fits in 24 GB, extrapolated from the measured peaks (power law through the two
   largest N).
2. Strong U(1) breaking (driven_ising, Ω = 0.7, Δ = 0.5, U = 0.5), the direct path with MKL
   PARDISO against SuperLU, same run, each in a fresh process: time, peak memory, PARDISO's own
   count, backward error, refinement correction, κ_1 (the refinement's lower bound out of core),
   ξ²_R's error bar, the factor's size on disk where PARDISO ran out of core (``--strong-table
   40,60,80,100 60``: those N, SuperLU up to 60; the largest N that fits in 24 GB in core).
3. The symmetric sector past the transition (resonance_fluorescence, Ω = N Γ / 4): the
   solver's own path (GMRES gives way to the direct LU mid-cycle) against the direct LU at once,
   same run, N = 300 and 600 (``--symmetric``: only this); the two ξ²_R must agree within the bars.
4. The 41 × 41 exact θ map of Fig. 4 (xyz, N = 20, (Jx, Jy) in [-1, 3]^2) with the sweep's
   own choice of serial or Dask, against one QuTiP piqs solve at N = 40 (goal: at most three);
   with PARDISO installed, once with each direct backend (``--map``: only this).

Everything runs with one BLAS thread. Goals: xyz at N = 200 end to end faster than one piqs solve
at N = 40; N = 300 in under a minute. Run: ``python bench/exact.py [--quick]`` (``--quick``:
N <= 60, an 11 × 11 map).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

POINT = {"J": 0.5, "delta": 0.05, "Jz": 1.0, "gamma": 1.0}
MEMORY_GOAL = 24 * 2**30


def _memory(key: str) -> int:
    """This process' resident memory now (``VmRSS``) or its peak (``VmHWM``), bytes. Not
    ``ru_maxrss``: that keeps the forking parent's peak across exec."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)


def one(N: int) -> dict:
    """Our steady state at one N (called in a fresh process by :func:`measured`)."""
    from symsteady import builtin
    from symsteady.exact import solve_at, xi2_R_error
    from symsteady.exact.pieces import PIECE_CACHE_BYTES, pieces_for
    from symsteady.points import check_points

    model = builtin("xyz")
    base = _memory("VmRSS")
    p1, p2 = check_points(model, [{"N": N, **POINT}, {"N": N, **POINT, "delta": 1.01 * POINT["delta"]}])
    t0 = time.perf_counter()
    s = solve_at(model, p1)
    xi2 = float(s.observables()["xi2_R"])
    err = xi2_R_error(s, xi2)
    total = time.perf_counter() - t0
    s2 = solve_at(model, p2)  # pieces cached: the per-point build of a sweep
    peak = _memory("VmHWM")
    pieces = pieces_for(model, N).nbytes  # cached by now unless too large
    return {"pieces": pieces, "cached": pieces <= PIECE_CACHE_BYTES, "N": N, "dim": s.info.dimension,
            "build": s.info.build_seconds, "combine": s2.info.build_seconds,
            "solve": s.info.solve_seconds, "total": total, "method": s.info.method, "its": s.info.iterations,
            "xi2": xi2, "err": err, "peak": peak - base, "estimate": s.info.memory_bytes}


STRONG = {"Omega": 0.7, "Delta": 0.5, "U": 0.5, "gamma": 1.0}


def strong_one(N: int, backend: str) -> dict:
    """driven_ising at strong breaking (STRONG), the direct path at once with ``backend``
    (``"pardiso"`` or ``"superlu"``), in a fresh process (called by :func:`measured`)."""
    import symsteady.exact.solve as solve_module
    from symsteady import builtin
    from symsteady.exact import solve_at, xi2_R_error
    from symsteady.points import check_points

    solve_module.GMRES_ITERATIONS = 0  # no GMRES first (it stalls here): the direct path after LU(L0)
    solve_module.USE_PARDISO = backend == "pardiso"
    model = builtin("driven_ising")
    base = _memory("VmRSS")
    [p] = check_points(model, [{"N": N, **STRONG}])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the direct path's "GMRES did not converge"
        s = solve_at(model, p)
    xi2 = float(s.observables()["xi2_R"])
    peak = _memory("VmHWM")
    return {"N": N, "dim": s.info.dimension, "backend": s.info.backend, "build": s.info.build_seconds,
            "solve": s.info.solve_seconds, "xi2": xi2, "err": xi2_R_error(s, xi2), "be": s.info.backward_error,
            "correction": s.info.correction, "condition": s.info.condition, "peak": peak - base,
            "estimate": s.info.memory_bytes, "disk": s.info.disk_bytes}


def strong_rows(sizes: tuple[int, ...], superlu_up_to: int) -> list[dict]:
    """PARDISO against SuperLU on driven_ising at strong breaking, same run (SuperLU up to
    ``superlu_up_to``: it takes minutes beyond N = 60)."""
    print(f"driven_ising {STRONG} (strong U(1) breaking), direct path, 1 thread; fresh process each")
    print(f"{'N':>4} {'dim':>8} {'backend':>8} {'solve':>8} {'peak MB':>8} {'est MB':>8} {'backward':>9} "
          f"{'correction':>10} {'kappa_1':>8} {'xi2_R_error':>11} {'disk GB':>7} {'speed-up':>8}")
    rows = []
    for N in sizes:
        pair = {}
        for backend in ("superlu", "pardiso") if N <= superlu_up_to else ("pardiso",):
            r = measured(N, "--strong", backend)
            if "error" in r:
                print(f"{N:>4} {backend:>17} failed: {r['error']}")
                continue
            pair[backend] = r
            ratio = (f"{pair['superlu']['solve'] / r['solve']:>7.1f}x" if backend == "pardiso" and "superlu" in pair
                     else "")
            print(f"{N:>4} {r['dim']:>8} {backend:>8} {r['solve']:>7.2f}s {r['peak'] / 2**20:>8.0f} "
                  f"{r['estimate'] / 2**20:>8.0f} {r['be']:>9.1e} {r['correction']:>10.1e} {r['condition']:>8.1e} "
                  f"{r['err']:>11.1e} {r['disk'] / 2**30:>7.1f} {ratio}", flush=True)
            if backend == "pardiso":
                rows.append(r)
    if len(rows) >= 2:
        print(f"strong breaking: largest N in 24 GB (PARDISO, measured peaks, power law through N = "
              f"{rows[-2]['N']}, {rows[-1]['N']}): about {largest_fitting(rows)}")
    return rows


def measured(N: int, mode: str = "--one", *args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, mode, str(N), *args], capture_output=True, text=True)
    if out.returncode:
        return {"N": N, "error": (out.stderr.strip().splitlines() or ["killed (out of memory?)"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def qutip_piqs(N: int) -> tuple[float, float]:
    """(seconds, ξ²_R) of QuTiP piqs: Dicke(...).liouvillian() + qutip.steadystate."""
    import qutip
    from qutip import piqs

    from symsteady.observables import exact_observables

    J, d, Jz, g = POINT["J"], POINT["delta"], POINT["Jz"], POINT["gamma"]
    with threadpool_limits(limits=1, user_api="blas"):
        t0 = time.perf_counter()
        jx, jy, jz = piqs.jspin(N)
        H = (2 / N) * ((J + d) * jx * jx + (J - d) * jy * jy + Jz * jz * jz)
        rho = qutip.steadystate(piqs.Dicke(N, hamiltonian=H, emission=g).liouvillian())
        t = time.perf_counter() - t0
    S = [jx, jy, jz]
    mean = np.array([qutip.expect(s, rho).real for s in S])
    second = np.array([[0.5 * qutip.expect(S[a] * S[b] + S[b] * S[a], rho).real for b in range(3)]
                       for a in range(3)])
    return t, float(exact_observables(N, mean, second)["xi2_R"])


def largest_fitting(rows: list[dict]) -> int | None:
    """The largest N whose peak memory fits MEMORY_GOAL, from a power law through the two largest N
    (None where the peaks do not grow: too small to register above the interpreter's own)."""
    a, b = rows[-2], rows[-1]
    if not 0 < a["peak"] < b["peak"]:
        return None
    power = np.log(b["peak"] / a["peak"]) / np.log(b["N"] / a["N"])
    return int(b["N"] * (MEMORY_GOAL / b["peak"]) ** (1 / power))


def theta_map(n: int) -> tuple[float, int]:
    from symsteady import builtin
    from symsteady.sweep import make_grid, sweep

    model = builtin("xyz")
    grid = make_grid(model, [f"Jx=-1:3:{n}", f"Jy=-1:3:{n}"],
                     ["J=(Jx+Jy)/2", "delta=(Jx-Jy)/2", "Jz=1", "gamma=1"], N=20)
    t0 = time.perf_counter()
    rows = sweep(model, grid, ["exact"]).run("exact").rows
    return time.perf_counter() - t0, len(rows)


def main(quick: bool = False) -> None:
    sizes = (20, 40, 60) if quick else (20, 40, 60, 100, 150, 200, 300)
    try:
        import qutip  # noqa: F401
        have_qutip = True
    except ImportError:
        have_qutip = False
        print("QuTiP not installed (pip install '.[test]'): no peer column")
    piqs = {N: qutip_piqs(N) for N in (20, 40)} if have_qutip else {}
    print("exact steady state of xyz (local emission), 1 BLAS thread; each N in a fresh process; "
          "pieces: their cached bytes (! above PIECE_CACHE_BYTES: rebuilt per point)")
    print(f"{'N':>4} {'dim':>9} {'build':>8} {'pieces':>9} {'combine':>8} {'solve':>8} {'total':>8} {'path':>7} "
          f"{'its':>4} {'peak MB':>8} {'est MB':>8} {'xi2_R_error':>11} {'piqs s':>7} {'ratio':>6} {'|Δξ²_R|':>8}")
    rows = []
    for N in sizes:
        r = measured(N)
        if "error" in r:
            print(f"{N:>4} failed: {r['error']}")
            continue
        rows.append(r)
        peer = piqs.get(N)
        extra = (f"{peer[0]:>7.2f} {peer[0] / r['total']:>5.0f}x {abs(peer[1] - r['xi2']):>8.1e}" if peer else "")
        pieces = f"{r['pieces'] / 2**20:.0f} MB" + ("" if r["cached"] else "!")
        print(f"{N:>4} {r['dim']:>9} {r['build']:>7.2f}s {pieces:>9} {r['combine']:>7.2f}s {r['solve']:>7.2f}s "
              f"{r['total']:>7.2f}s {r['method']:>7} {r['its']:>4} {r['peak'] / 2**20:>8.0f} {r['estimate'] / 2**20:>8.0f} "
              f"{r['err']:>11.1e} {extra}", flush=True)
        assert r["err"] < 1e-8, "the error bar must stay small on this weakly broken point"
    fits = largest_fitting(rows)
    print(f"largest N in 24 GB (measured peaks, power law through N = {rows[-2]['N']}, {rows[-1]['N']}): about {fits}")
    by_n = {r["N"]: r for r in rows}
    if 40 in piqs and 200 in by_n:
        print(f"N = 200 end to end {by_n[200]['total']:.1f} s vs one piqs solve at N = 40 {piqs[40][0]:.1f} s "
              f"(goal: faster — {'met' if by_n[200]['total'] < piqs[40][0] else 'NOT met'})")
    if 300 in by_n:
        print(f"N = 300 end to end {by_n[300]['total']:.1f} s, peak {by_n[300]['peak'] / 2**30:.2f} GB "
              f"(goal: under a minute — {'met' if by_n[300]['total'] < 60 else 'NOT met'})")
    strong_rows((40,) if quick else (40, 60), superlu_up_to=60)
    from symsteady.threads import single_blas_thread

    with single_blas_thread():
        symmetric_rows((100,) if quick else (300, 600))
    map_line(11 if quick else 41, piqs)


def symmetric_rows(sizes: tuple[int, ...]) -> None:
    """Resonance fluorescence past the transition: the solver's path against the direct LU at once."""
    import symsteady.exact.solve as solve_module
    from symsteady import builtin
    from symsteady.exact import exact_solve, xi2_R_error
    from symsteady.exact.pieces import pieces_for

    model = builtin("resonance_fluorescence")
    print("resonance_fluorescence, Omega = N Gamma / 4 (symmetric sector), 1 thread: own path vs direct LU at once")
    print(f"{'N':>5} {'dim':>8} {'path':>7} {'its':>4} {'seconds':>8} {'direct s':>8} {'ratio':>6} {'|Δξ²_R|':>8} {'bars':>8}")
    exact_solve(model, {"N": 10, "Omega": 2.5, "Gamma": 1.0})  # imports and first calls, untimed
    for N in sizes:
        point = {"N": N, "Omega": N / 4, "Gamma": 1.0}
        pieces = pieces_for(model, N)  # built before either run is timed
        runs = []
        for iterations in (solve_module.GMRES_ITERATIONS, 0):  # 0: no GMRES, the direct LU at once
            pieces.workspace.clear()  # neither run reuses the other's PARDISO analysis
            saved, solve_module.GMRES_ITERATIONS = solve_module.GMRES_ITERATIONS, iterations
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # "GMRES did not converge"
                    t0 = time.perf_counter()
                    s = exact_solve(model, point)
                    seconds = time.perf_counter() - t0
            finally:
                solve_module.GMRES_ITERATIONS = saved
            xi2 = float(s.observables()["xi2_R"])
            runs.append((s, seconds, xi2, xi2_R_error(s, xi2)))
        (own, t_own, xi_own, e_own), (_, t_direct, xi_direct, e_direct) = runs
        print(f"{N:>5} {own.info.dimension:>8} {own.info.method:>7} {own.info.iterations:>4} {t_own:>7.2f}s "
              f"{t_direct:>7.2f}s {t_own / t_direct:>5.1f}x {abs(xi_own - xi_direct):>8.1e} {e_own + e_direct:>8.1e}",
              flush=True)
        assert abs(xi_own - xi_direct) <= e_own + e_direct, "the two paths must agree within their bars"


def map_line(n: int, piqs: dict) -> None:
    """The n × n θ map's time, per point, and against one piqs solve at N = 40; with PARDISO
    installed, the same map with SuperLU for the direct path too (same run)."""
    import symsteady.exact.solve as solve_module

    backends = ["pardiso", "superlu"] if solve_module.pardiso.available() else ["superlu"]
    for backend in backends:
        solve_module.USE_PARDISO = backend == "pardiso"
        try:
            seconds, points = theta_map(n)
        finally:
            solve_module.USE_PARDISO = solve_module.pardiso.available()
        _map_report(n, seconds, points, piqs, backend)


def _map_report(n: int, seconds: float, points: int, piqs: dict, backend: str) -> None:
    line = (f"{n} x {n} exact theta map (xyz, N = 20, {backend}): {seconds:.1f} s for {points} points "
            f"({1e3 * seconds / points:.1f} ms/point)")
    if 40 in piqs:
        line += f" = {seconds / piqs[40][0]:.1f} piqs solves at N = 40 (goal <= 3: {'met' if seconds <= 3 * piqs[40][0] else 'NOT met'})"
    print(line)


if __name__ == "__main__":
    if sys.argv[1:2] in (["--one"], ["--strong"]):
        from symsteady.threads import single_blas_thread

        with single_blas_thread():
            print(json.dumps(one(int(sys.argv[2])) if sys.argv[1] == "--one" else strong_one(int(sys.argv[2]), sys.argv[3])))
    elif sys.argv[1:2] == ["--strong-table"]:
        strong_rows(tuple(int(n) for n in sys.argv[2].split(",")), int(sys.argv[3]) if sys.argv[3:] else 60)
    elif sys.argv[1:2] == ["--symmetric"]:
        from symsteady.threads import single_blas_thread

        with single_blas_thread():
            symmetric_rows((300, 600))
    elif sys.argv[1:2] == ["--map"]:
        t_piqs = qutip_piqs(40)[0]
        print(f"one QuTiP piqs solve at N = 40: {t_piqs:.2f} s")
        map_line(41, {40: (t_piqs, float("nan"))})
    else:
        main(quick="--quick" in sys.argv[1:])
