"""Quarter turns about z: points whose steady states are rotations of one another, solved once.

Every dissipative process keeps the U(1) charge, so the rotation ``R = exp(-i φ S_z)`` maps the
steady state at Hamiltonian coefficients ``c_w`` to the one at ``c_w e^{-i q_w φ}`` (``q_w`` the
word's charge), ``ρ' = R ρ R^†``: the coordinate of a label of charge ``q = a - b`` gains
``e^{-i q φ}`` (``docs/algorithm/exact-convergence.md#convergence-rotations``). For quarter
turns, ``φ = k π/2``, the phases are ±1 and ±i, and multiplying by them is exact in floating
point. So points are grouped by the *bitwise* equality of their coefficients turned to a
canonical quarter turn — never by a tolerance, so a point is never taken for a merely nearby
one — and a point whose class was solved is that solution turned, not solved again (xyz:
``delta -> -delta``, the Jx <-> Jy mirror of a (Jx, Jy) map; driven_ising: ``Omega -> -Omega``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Hashable, Mapping, Sequence

import numpy as np

from ..model import Model
from ..spinpoly import charge
from .pieces import term_coefficients
from .solution import ExactSolution

#: ``e^{-i k π/2}`` for k = 0, 1, 2, 3 (exact).
QUARTER = (1 + 0j, -1j, -1 + 0j, 1j)


def term_charges(model: Model) -> list[int]:
    """The U(1) charge of each term of :func:`~symsteady.exact.pieces.term_coefficients`: a
    Hamiltonian word's, 0 for every dissipative rate."""
    return [charge(w) for w in model.poly] + [0] * len(model.rates)


def rotation_class(model: Model, values: Mapping[str, Any]) -> tuple[Hashable, int]:
    """``(key, k)`` of a checked point: ``key`` its N and its term coefficients turned by ``k``
    quarter turns, ``k`` the turn that makes them least; two points of one key have steady
    states related by a quarter turn (:func:`turned`)."""
    coefficients = term_coefficients(model, values)
    charges = term_charges(model)
    best: tuple[tuple[float, ...], int] | None = None
    for k in range(4):
        turned_ = [c * QUARTER[(k * q) % 4] for c, q in zip(coefficients, charges)]
        flat = tuple(part for z in turned_ for part in (z.real, z.imag))
        if best is None or flat < best[0]:
            best = (flat, k)
    assert best is not None
    return (int(values["N"]), best[0]), best[1]


def quarter_turn(k_source: int, k_target: int) -> int:
    """The turns taking the steady state of a point of class turn ``k_source`` to that of a
    point of the same key and turn ``k_target``."""
    return (k_source - k_target) % 4


def turned(solution: ExactSolution, k: int, source: Mapping[str, Any]) -> ExactSolution:
    """``solution`` turned by ``k`` quarter turns about z (its state and the vectors of its error
    bar; phases ±1, ±i: exact), ``info.note`` naming the ``source`` point it came from."""
    space = solution.space
    phase = np.asarray(QUARTER)[(k * (space.labels[0] - space.labels[1])) % 4]
    info = solution.info
    how = f"turned by {k} quarter turn{'s' if k > 1 else ''} about z" if k else "the same coefficients"
    note = f"the steady state at {dict(source)}, {how} (not solved again)"
    info = dataclasses.replace(
        info, note=f"{info.note}; {note}" if info.note else note, build_seconds=0.0, solve_seconds=0.0,
        refinement=None if info.refinement is None else phase * info.refinement,
        rounding=[phase * v for v in info.rounding])
    return ExactSolution(space, phase * solution.x, info)


def rotation_classes(model: Model, points: Sequence[Mapping[str, Any]]) -> list[list[int]]:
    """The points' positions by rotation class (:func:`rotation_class`), classes in the order of
    their first point: a sweep that runs them in this order keeps neighbours next to each other
    and a point's turned partners in its chunk (solved once)."""
    classes: dict[Hashable, list[int]] = {}
    for i, p in enumerate(points):
        classes.setdefault(rotation_class(model, p)[0], []).append(i)
    return list(classes.values())
