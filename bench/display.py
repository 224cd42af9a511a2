"""Benchmark of ``symsteady derive``'s display, against sympy's factoring measured in the same run.

1. XXZ + field with collective emission, local emission and local dephasing, order 2: the
   derivation and its readable text (goal: both together <= 15 s);
2. the readable forms (FLINT factoring, :mod:`symsteady.codegen.readable`) against sympy's
   (:func:`symsteady.codegen.tidy.tidy`, ``sympy.factor`` and collection) on the same
   coefficients: the rho_k of xyz at order 2, and of the three-process model at order 1.

Run: ``python bench/display.py``.
"""

from __future__ import annotations

import time

import symsteady
from symsteady.codegen.display import format_text, readable
from symsteady.codegen.readable import rewriter
from symsteady.codegen.tidy import tidy

THREE_PROCESSES = dict(hamiltonian="(2/N)*(J*(Sx**2 + Sy**2) + Jz*Sz**2) + h*Sx", collective_emission="Gc",
                       local_emission="gamma", local_dephasing="gamma_phi", small="h", name="xxz_field")


def seconds(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def compare(d) -> tuple[float, float]:
    """(ours, sympy's) seconds to make every rho_k coefficient readable."""
    ours = seconds(lambda: [rewriter(d)(v) for rho in d.rho_factored for v in rho.values()])
    theirs = seconds(lambda: [tidy(v) for rho in d.rho for v in rho.values()])
    return ours, theirs


def main() -> None:
    model = symsteady.Model(**THREE_PROCESSES)
    t = time.perf_counter()
    d3 = symsteady.derive(model, 2)
    t_derive = time.perf_counter() - t
    t_text = seconds(lambda: format_text(d3, readable(d3)))
    total = t_derive + t_text
    print(f"1. three processes, order 2: derive {t_derive:.2f} s + display {t_text:.2f} s = {total:.2f} s "
          f"({'ok' if total <= 15 else 'SLOWER THAN GOAL'}: goal <= 15 s)")
    for name, d in (("xyz order 2", symsteady.derive(symsteady.builtin("xyz"), 2)),
                    ("three processes order 1", symsteady.derive(model, 1))):
        ours, theirs = compare(d)
        print(f"2. {name}: readable rho_k {ours:.3f} s, sympy tidy {theirs:.3f} s: {theirs / ours:.1f}x")


if __name__ == "__main__":
    main()
