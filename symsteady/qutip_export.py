"""QuTiP export (``pip install 'symsteady[qutip]'``; qutip is imported only when called).

* :func:`dicke_qobj`: a state given by its Dicke blocks as a ``qutip.Qobj`` in piqs' Dicke
  basis, the layout ``qutip.piqs.Dicke(N).liouvillian()`` acts on (blocks ``d_j rho_j``,
  j = N/2 first, m = j..-j inside a block; unit ordinary trace);
* :func:`model_to_qutip`: a model at a point as a ``qutip.piqs.Dicke`` system (Hamiltonian
  from ``piqs.jspin``; every process mapped with its piqs keyword and rate factor,
  ``docs/algorithm/conventions.md#conventions-processes``).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import sympy

from . import processes
from .errors import MissingDependencyError, ParameterError, RateError


def _qutip() -> Any:
    try:
        import qutip
        from qutip import piqs
    except ImportError:
        raise MissingDependencyError("the QuTiP export needs qutip: pip install 'symsteady[qutip]'") from None
    return qutip, piqs


def dicke_qobj(matrix: np.ndarray) -> Any:
    """A ``qutip.Qobj`` of a matrix already in piqs' Dicke-basis layout."""
    qutip, _ = _qutip()
    return qutip.Qobj(np.asarray(matrix, dtype=complex))


def _values(model: Any, N: int, point: Mapping[str, Any]) -> dict[sympy.Symbol, float]:
    """Substitutions for N and every parameter of the model (checked: present, real, finite)."""
    if isinstance(N, bool) or not float(N) == int(N) >= 1:
        raise ParameterError(f"N must be a positive integer, not {N!r}")
    subs: dict[sympy.Symbol, float] = {sympy.Symbol("N", positive=True, integer=True): int(N)}
    for sym in model.parameters:
        if sym.name not in point:
            raise ParameterError(f"missing value for {sym.name}")
        try:
            value = float(point[sym.name])
        except (TypeError, ValueError):
            raise ParameterError(f"{sym.name} = {point[sym.name]!r} is not a real number") from None
        if not np.isfinite(value):
            raise ParameterError(f"{sym.name} = {point[sym.name]!r} must be finite")
        subs[sym] = value
    extra = set(point) - {s.name for s in model.parameters} - {"N"}
    if extra:
        raise ParameterError(f"unknown parameter(s) {sorted(extra)}")
    return subs


def _number(expr: sympy.Expr, subs: Mapping[sympy.Symbol, float]) -> complex:
    by_name = {s.name: v for s, v in subs.items()}
    value = sympy.sympify(expr).xreplace({s: by_name[s.name] for s in sympy.sympify(expr).free_symbols})
    return complex(sympy.N(value))


def model_to_qutip(model: Any, N: int, point: Mapping[str, Any]) -> Any:
    """The model at one point as a ``qutip.piqs.Dicke`` system (zero rates: process off).

    ``system.liouvillian()`` is the Liouvillian in piqs' Dicke basis (Hamiltonian included),
    ``system.hamiltonian`` the Hamiltonian from ``piqs.jspin(N)``. With collective processes
    only, the steady state in that basis is not unique (one per j); restrict to the j = N/2
    block, or add a local process.
    """
    qutip, piqs = _qutip()
    subs = _values(model, N, point)
    n = int(N)
    letters = {"p": piqs.jspin(n, "+"), "m": piqs.jspin(n, "-"), "z": piqs.jspin(n, "z")}
    H = 0 * letters["z"]
    for word, coeff in model.poly.items():
        term = qutip.qeye(letters["z"].dims[0])
        for letter in word:
            term = term @ letters[letter]
        H = H + _number(coeff, subs) * term
    rates: dict[str, float] = {}
    for key, rate in model.rates.items():
        value = _number(rate, subs).real
        if value < 0:
            raise RateError(f"{key} = {rate} = {value} is negative")
        keyword, factor = processes.process(key).piqs
        rates[keyword] = factor * value
    return piqs.Dicke(n, hamiltonian=H, **rates)


__all__ = ["dicke_qobj", "model_to_qutip"]
