"""Exact steady states on the untruncated orbit basis (a, b up to N), same algebra as the series.

The steady state solves ``L rho = 0`` with ``Tr rho = 1``: the row of B(0,0,0) (the dark
state, ordered last) is replaced by the trace row. ``arithmetic="exact"`` solves over the
Gaussian rationals (a reference in arbitrary precision at small N); ``"float"`` uses a sparse
LU in double precision. Collective-only models live in the symmetric sector.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
from sympy.polys.domains import QQ_I
from sympy.polys.matrices import DomainMatrix

from .algebra import Basis, Key, Operator
from .errors import NonUniqueSteadyStateError
from .liouvillian import Superoperator
from .model import Model
from .observables import exact_observables, operator_moments
from .points import point_field
from .series import make_basis


def all_keys(basis: Basis, n: int) -> list[Key]:
    """Every basis element at N = n, the dark state last."""
    keys = [k for a in range(n + 1) for b in range(n + 1) for k in basis.block_keys(a, b)]
    keys.remove(basis.dark)
    return keys + [basis.dark]


def exact_steady_state(model: Model, point: Mapping[str, Any], arithmetic: str = "float") -> tuple[Basis, Operator]:
    """The exact steady state at a point, as orbit coefficients (small parameter included)."""
    exact = arithmetic == "exact"
    field, convert, _ = point_field(model, point, exact)
    n = field.n_int
    basis = make_basis(model, field)

    L = Superoperator(basis, {w: convert(c) for w, c in model.poly.items()},
                      {r: convert(v) for r, v in model.rates.items()})
    keys = all_keys(basis, n)
    index = {k: i for i, k in enumerate(keys)}
    dim = len(keys)
    entries: dict[tuple[int, int], Any] = {}
    for j, k in enumerate(keys):
        for k2, v in L.on_key(k).items():
            i = index[k2]
            if i != dim - 1:
                entries[(i, j)] = v
    for j, k in enumerate(keys):
        t = basis.trace(k)
        if t is not None:
            entries[(dim - 1, j)] = t
    if exact:
        rows: dict[int, dict[int, Any]] = {}
        for (i, j), v in entries.items():
            rows.setdefault(i, {})[j] = v
        M = DomainMatrix(rows, (dim, dim), QQ_I).to_field()
        rhs = DomainMatrix({dim - 1: {0: QQ_I(1)}}, (dim, 1), QQ_I).to_field()
        try:
            x = M.lu_solve(rhs).to_Matrix()
        except Exception as exc:
            raise NonUniqueSteadyStateError(f"the exact Liouvillian at N = {n} is singular") from exc
        sol = [QQ_I.from_sympy(x[i, 0]) for i in range(dim)]
    else:
        ij = np.array(list(entries.keys())).T
        M = scipy.sparse.csc_matrix((np.array(list(entries.values()), dtype=complex), (ij[0], ij[1])),
                                    shape=(dim, dim))
        rhs = np.zeros(dim, dtype=complex)
        rhs[-1] = 1
        sol = scipy.sparse.linalg.spsolve(M, rhs)
        if not np.all(np.isfinite(sol)):
            raise NonUniqueSteadyStateError(f"the exact Liouvillian at N = {n} is singular")
        sol = sol.tolist()
    return basis, {k: v for k, v in zip(keys, sol) if v}


def exact_moments(model: Model, point: Mapping[str, Any], arithmetic: str = "float") -> tuple[list[Any], list[list[Any]]]:
    """Mean spin and symmetrised second moments of the exact steady state."""
    basis, rho = exact_steady_state(model, point, arithmetic)
    return operator_moments(basis, rho)


def exact_observables_at(model: Model, point: Mapping[str, Any]) -> dict[str, Any]:
    """Squeezing, direction, mean, covariance and rs_gap of the exact steady state at a point."""
    mean, second = exact_moments(model, point)
    real = np.vectorize(lambda x: complex(x).real)
    return exact_observables(int(point["N"]), real(np.array(mean, dtype=object)),
                             real(np.array(second, dtype=object)))
