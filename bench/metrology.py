"""Benchmark of the exact Dicke blocks + QFI, purity and entropy against QuTiP, in one run.

States:

* the product state ρ₁^{⊗N} of a mixed qubit with Bloch vector r: dense in every orbit label
  (a, b, c) — the worst case for the blocks — and known in closed form:
  F = N(|r|² 1 − r rᵀ), purity ((1 + |r|²)/2)^N, entropy N·H((1 ± |r|)/2);
* the exact steady state of xyz (local emission) at N = 40, δ = 0.3 (strong breaking).

Ours: ``dicke_blocks_from_labels`` (orbit coefficients → blocks ρ_j, one copy each) then
``metrology`` (block-by-block eigendecomposition). Peer: the same state in piqs' Dicke layout
(the matrix ``ExactSolution.to_qutip()`` returns, blocks d_j ρ_j) diagonalised whole by
``qutip.Qobj.eigenstates``, the QFI formula evaluated on that eigenbasis with
``piqs.jspin(N, basis="dicke")``, purity and entropy by ``piqs.purity_dicke`` and
``piqs.entropy_vn_dicke``. Both on one BLAS thread; fastest of three runs (one at N >= 100).
At N = 200 the peer's dense matrix has dimension 10201 (1.7 GB): ours alone.

Accuracy: the orbit → Dicke map is evaluated in double precision from coefficients in double
precision; blocks of large multiplicity d_j lose relative precision as N grows (the printed
deviation from the closed form; the former per-entry integer evaluation lost the same). The
error bar ``fq_N_error`` of exact rows is printed next to the true error of fq_N and checked to
cover it (``docs/algorithm/metrology.md#metrology-error``).

Run: ``python bench/metrology.py [--quick]`` (needs the test extra for QuTiP; ``--quick``:
N = 40 only).
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable

import numpy as np

from symsteady import builtin
from symsteady.algebra import OrbitBasis
from symsteady.exact import exact_solve
from symsteady.exact.dicke import Blocks, dicke_blocks_from_labels, piqs_matrix
from symsteady.exact.space import all_labels, log_binomial, log_factorials
from symsteady.fields import ComplexField
from symsteady.metrology import metrology, metrology_with_errors
from symsteady.threads import single_blas_thread

BLOCH = np.array([0.5, 0.2, -0.6])
XYZ = {"J": 0.5, "delta": 0.3, "Jz": 1.0, "gamma": 1.0}


def product_state(N: int, r: np.ndarray) -> tuple[OrbitBasis, tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    """Orbit labels, normalised coefficients and log ||B|| of ρ₁^{⊗N}, ρ₁ = (1 + r·σ)/2:
    ``x(a, b, c) = p↑^c q^(a-c) q̄^(b-c) p↓^(N-a-b+c)`` with q = <↑|ρ₁|↓>."""
    basis = OrbitBasis(ComplexField(N))
    a, b, c = all_labels(basis, N)
    log_fact = log_factorials(N)
    log_norm = 0.5 * sum((log_binomial(n, k, log_fact) for n, k in basis.norm2_binomials(a, b, c, N)),
                         np.zeros(len(a)))
    up, down, q = (1 + r[2]) / 2, (1 - r[2]) / 2, (r[0] - 1j * r[1]) / 2
    log_x = c * np.log(up) + (a + b - 2 * c) * np.log(abs(q)) + (N - a - b + c) * np.log(down)
    values = np.exp(log_x + log_norm + 1j * np.angle(q) * (a - b))
    return basis, (a, b, c), values, log_norm


def closed_form(N: int, r: np.ndarray) -> dict[str, Any]:
    R = float(np.linalg.norm(r))
    p = np.array([(1 + R) / 2, (1 - R) / 2])
    return {"qfi": N * (R**2 * np.eye(3) - np.outer(r, r)), "purity": ((1 + R**2) / 2) ** N,
            "entropy": -N * float(np.sum(p * np.log(p)))}


def best_of(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        with single_blas_thread():
            t = time.perf_counter()
            out = run()
            best = min(best, time.perf_counter() - t)
    return best, out


def peer(matrix: np.ndarray, N: int) -> dict[str, Any]:
    """QFI, purity, entropy of piqs' Dicke-layout matrix by QuTiP (whole-matrix eigenstates)."""
    import qutip
    from qutip import piqs

    rho = qutip.Qobj(matrix)
    p, vecs = rho.eigenstates()
    p = np.clip(p, 0, None)
    U = np.column_stack([v.full().ravel() for v in vecs])
    S = [U.conj().T @ s.full() @ U for s in piqs.jspin(N, basis="dicke")]
    total = p[:, None] + p[None, :]
    weight = np.where(total > 0, 2 * (p[:, None] - p[None, :]) ** 2 / np.where(total > 0, total, 1), 0)
    F = np.array([[np.sum(weight * (S[i] * S[j].T).real) for j in range(3)] for i in range(3)])
    return {"qfi": F, "purity": piqs.purity_dicke(rho), "entropy": piqs.entropy_vn_dicke(rho)}


def deviation(x: dict[str, Any], y: dict[str, Any], N: int) -> tuple[float, float, float]:
    """(max |ΔF|/N, relative Δpurity, relative Δentropy)."""
    return (float(np.abs(np.subtract(x["qfi"], y["qfi"])).max()) / N,
            abs(x["purity"] / y["purity"] - 1), abs(x["entropy"] / y["entropy"] - 1))


def row(name: str, N: int, blocks_of: Callable[[], Blocks], want: dict[str, Any] | None, with_peer: bool,
        bar_of: Callable[[], dict[str, Any]] | None = None) -> None:
    repeat = 3 if N < 100 else 1
    t_ours, (blocks, ours) = best_of(repeat, lambda: (lambda b: (b, metrology(b, N)))(blocks_of()))
    cells = [f"{name:>8} {N:>4} {t_ours:>9.3f}s"]
    if with_peer:
        t_peer, theirs = best_of(repeat, lambda: peer(piqs_matrix(blocks, N), N))
        agree = deviation(ours, theirs, N)
        cells.append(f"{t_peer:>9.3f}s {t_peer / t_ours:>7.0f}x  ours-peer "
                     f"{agree[0]:.0e} {agree[1]:.0e} {agree[2]:.0e}")
        assert max(agree) < 1e-8, agree
    else:
        cells.append(f"{'-':>10} {'-':>8}  {'(peer: 10201-dim dense matrix, skipped)':<36}")
    if want is not None:
        err = deviation(ours, want, N)
        cells.append(f"  ours-exact {err[0]:.0e} {err[1]:.0e} {err[2]:.0e}")
    if want is not None and bar_of is not None:
        fq_error = abs(ours["fq_N"] - float(np.linalg.eigvalsh(want["qfi"])[-1]) / N)
        bar = bar_of()["fq_N_error"]
        cells.append(f"  fq_N error {fq_error:.0e} <= bar {bar:.0e}")
        assert fq_error <= bar, (fq_error, bar)
    print(" ".join(cells))


def main(quick: bool = False) -> None:
    try:
        import qutip  # noqa: F401
    except ImportError:
        print("QuTiP not installed: pip install '.[test]'")
        return
    print("Dicke blocks + QFI/purity/entropy: ours (block by block) vs QuTiP (whole piqs-layout matrix), "
          "1 BLAS thread")
    print("deviations: max|ΔF|/N, relative Δpurity, relative Δentropy; 'exact' = closed form")
    print(f"{'state':>8} {'N':>4} {'ours':>10} {'QuTiP':>10} {'ratio':>8}")
    solution = exact_solve(builtin("xyz"), {"N": 40, **XYZ})
    row("xyz", 40, solution.dicke_blocks, None, True)
    for N in (40,) if quick else (40, 100, 200):
        basis, labels, values, log_norm = product_state(N, BLOCH)
        row("product", N, lambda: dicke_blocks_from_labels(basis, N, labels, values, log_norm), closed_form(N, BLOCH),
            N <= 100, lambda: metrology_with_errors(basis, N, labels, values, log_norm))


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
