"""The exact steady state in exact arithmetic (Gaussian rationals): a reference at small N.

The same system as the double-precision solver — every label at N of :func:`all_labels` in the steady state's charge sector, the
dark state's row replaced by the trace row — assembled from
:meth:`symsteady.liouvillian.Superoperator.on_key` and solved by sympy's ``DomainMatrix``
over ``QQ_I``. Its cost grows fast with N (N <= 8 in seconds).
"""

from __future__ import annotations

from typing import Any, Mapping

from sympy.polys.domains import QQ_I
from sympy.polys.matrices import DomainMatrix

from ..algebra import Basis, Operator
from ..errors import NonUniqueSteadyStateError
from ..liouvillian import Superoperator, make_basis
from ..model import Model
from ..points import point_field
from .space import all_labels, charge_period


def rational_steady_state(model: Model, values: Mapping[str, Any]) -> tuple[Basis, Operator]:
    """The steady state at a checked point with rational ``values``, as exact orbit coefficients."""
    field, convert, _ = point_field(model, values, True)
    n = field.n_int
    basis = make_basis(model, field)
    L = Superoperator(basis, {w: convert(c) for w, c in model.poly.items()},
                      {r: convert(v) for r, v in model.rates.items()})
    keys = list(zip(*(lab.tolist() for lab in all_labels(basis, n, charge_period(model)))))
    index = {k: i for i, k in enumerate(keys)}
    dim = len(keys)
    rows: dict[int, dict[int, Any]] = {}
    for j, k in enumerate(keys):
        for k2, v in L.on_key(k).items():
            i = index[k2]
            if i != dim - 1:
                rows.setdefault(i, {})[j] = v
    for j, k in enumerate(keys):
        t = basis.trace(k)
        if t is not None:
            rows.setdefault(dim - 1, {})[j] = t
    M = DomainMatrix(rows, (dim, dim), QQ_I).to_field()
    rhs = DomainMatrix({dim - 1: {0: QQ_I(1)}}, (dim, 1), QQ_I).to_field()
    try:
        x = M.lu_solve(rhs).to_Matrix()
    except Exception as exc:
        raise NonUniqueSteadyStateError(
            f"the exact Liouvillian at N = {n} is singular: its steady state is not unique") from exc
    sol = [QQ_I.from_sympy(x[i, 0]) for i in range(dim)]
    return basis, {k: v for k, v in zip(keys, sol) if v}
