"""Where perturbation theory must stop: the mean-field instability of the dark state.

Derived from the model, symbolically (``docs/algorithm/mean-field.md``). For
``A = S_x, S_y, S_z`` the Heisenberg–Lindblad equation is ``dA/dt = i[H, A] + Σ_k r_k D†[L_k] A``
with ``D†[L] A = L† A L − ½{L†L, A}``. Conventions as everywhere in symsteady:
``S_a = ½ Σ_i σ^a_i``, ``Sp = Sx + i Sy``, ``[Sz, Sp] = Sp``, ``[Sp, Sm] = 2 Sz``; the processes
and their rates are those of :mod:`symsteady.processes`.

* Hamiltonian: ``i[w, A]`` for each normal-ordered word ``w = l_1 … l_L`` of ``model.poly`` by
  the Leibniz rule ``[l_1 … l_L, A] = Σ_j l_1 … [l_j, A] … l_L``; every term is a product of
  collective spins, factorised ``⟨S_a S_b …⟩ → m_a m_b …`` (exact at large N).
* Local processes: the single-emitter adjoint dissipator acts linearly on Pauli matrices,
  derived here from each process' 2×2 jump matrix and summed over emitters — no factorisation.
* Collective processes: ``D†[L] A`` computed exactly as a normal-ordered spin polynomial, then
  factorised (for ``Γ D[S−]`` this is ``(Γ/2)(S+ Sz + Sz S−)`` on ``S_x``; for ``D[S_z]`` the
  products cancel and ``D†[S_z] S_x = −S_x/2`` is linear).

The equations for ``m = (m_x, m_y, m_z)`` are linearised around the dark state
``m = (0, 0, −N/2)``; the transverse 2×2 block is kept to leading order at large N (the
polynomial part in N of each entry: ordering corrections of relative order 1/N drop out).
The dark state is unstable where an eigenvalue has a positive real part: ``tr > 0`` or
``det < 0``. For ``xyz`` in (Jx, Jy, Jz) this gives
``[[−γ/2, −2(Jy−Jz)], [2(Jx−Jz), −γ/2]]`` and ``16(Jx−Jz)(Jy−Jz) < −γ²``; for ``tfi``
``[[−γ/2, −Δ], [Δ + 4Jx, −γ/2]]`` and the line ``Jx = −(4Δ² + γ²)/(16Δ)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import sympy

from . import spinpoly
from .errors import MeanFieldError, ParameterError
from .model import N, Model, coerce_expression
from .processes import CollectiveProcess, LocalProcess, site_matrix
from .spinpoly import Word

MX, MY, MZ = sympy.symbols("m_x m_y m_z", real=True)
_VALUE = {"p": MX + sympy.I * MY, "m": MX - sympy.I * MY, "z": MZ}
# letter commutators [x, y] as combinations of letters: [Sp, Sm] = 2 Sz, [Sz, Sp] = Sp, [Sz, Sm] = −Sm
_COMMUTATOR: dict[tuple[str, str], dict[str, int]] = {
    ("p", "m"): {"z": 2}, ("m", "p"): {"z": -2},
    ("z", "p"): {"p": 1}, ("p", "z"): {"p": -1},
    ("z", "m"): {"m": -1}, ("m", "z"): {"m": 1},
}
# S_x, S_y, S_z as letter combinations
_AXES: tuple[dict[str, sympy.Expr], ...] = (
    {"p": sympy.Rational(1, 2), "m": sympy.Rational(1, 2)},
    {"p": -sympy.I / 2, "m": sympy.I / 2},
    {"z": sympy.Integer(1)},
)
# Pauli matrices in the single-emitter basis (|down>, |up>) of symsteady.processes
_PAULI = (sympy.Matrix([[0, 1], [1, 0]]), sympy.Matrix([[0, sympy.I], [-sympy.I, 0]]),
          sympy.Matrix([[-1, 0], [0, 1]]))


def _value(combo: Mapping[str, Any]) -> sympy.Expr:
    return sympy.Add(*[c * _VALUE[l] for l, c in combo.items()])


def _commutator(x: str, combo: Mapping[str, Any]) -> dict[str, Any]:
    """``[x, A]`` for a letter x and a letter combination A."""
    out: dict[str, Any] = {}
    for y, c in combo.items():
        for l, k in _COMMUTATOR.get((x, y), {}).items():
            out[l] = out.get(l, 0) + k * c
    return out


def _hamiltonian_rate(word: Word, combo: Mapping[str, Any]) -> sympy.Expr:
    """Factorised ``i[w, A]`` by the Leibniz rule."""
    total = sympy.Integer(0)
    for j, letter in enumerate(word):
        rest = sympy.Mul(*[_VALUE[l] for k, l in enumerate(word) if k != j])
        total += rest * _value(_commutator(letter, combo))
    return sympy.I * total


def _local_adjoint(L: sympy.Matrix, axis: int) -> tuple[sympy.Expr, list[sympy.Expr]]:
    """``D†[L] σ^a = c0·1 + Σ_b c_b σ^b`` on one emitter: (c0, [c_x, c_y, c_z])."""
    s = _PAULI[axis]
    Ld = L.H
    R = Ld * s * L - (Ld * L * s + s * Ld * L) / 2
    return sympy.nsimplify(R.trace() / 2), [sympy.nsimplify((p * R).trace() / 2) for p in _PAULI]


def _collective_adjoint(jump: Word, combo: Mapping[str, Any]) -> sympy.Expr:
    """``D†[L] A = L† A L − ½{L†L, A}`` for a collective jump word L, exactly (normal-ordered
    spin polynomial), then factorised ``⟨Sp^i Sz^j Sm^k⟩ → (m_x + i m_y)^i m_z^j (m_x − i m_y)^k``."""
    Ld = spinpoly.adjoint_word(jump)
    poly: spinpoly.SpinPoly = {}
    for letter, c in combo.items():
        spinpoly.add_term(poly, Ld + (letter,) + jump, c)
        spinpoly.add_term(poly, Ld + jump + (letter,), -c / 2)
        spinpoly.add_term(poly, (letter,) + Ld + jump, -c / 2)
    return sympy.Add(*[c * sympy.Mul(*[_VALUE[x] for x in w]) for w, c in poly.items()])


def equations_of_motion(model: Model) -> list[sympy.Expr]:
    """Mean-field ``dm_a/dt`` (a = x, y, z) in the symbols ``m_x, m_y, m_z`` (exact in N)."""
    mvec = (MX, MY, MZ)
    out = []
    for a, combo in enumerate(_AXES):
        f = sympy.Integer(0)
        for word, coeff in model.poly.items():
            f += coeff * _hamiltonian_rate(word, combo)
        for p in model.processes:
            rate = model.rate(p.key)
            if isinstance(p, LocalProcess):
                c0, c = _local_adjoint(site_matrix(p), a)
                f += rate * (c0 * N / 2 + sum(cb * mb for cb, mb in zip(c, mvec)))
            elif isinstance(p, CollectiveProcess):
                f += rate * _collective_adjoint(p.jump, combo)
        out.append(sympy.expand(f))
    return out


def _large_n(expr: sympy.Expr) -> sympy.Expr:
    """The polynomial part in N of a rational function of N (the terms that survive N → ∞)."""
    num, den = sympy.fraction(sympy.cancel(sympy.together(expr)))
    if not den.has(N):
        return sympy.expand(expr)
    q, _ = sympy.div(sympy.Poly(num, N), sympy.Poly(den, N))
    return sympy.factor_terms(sympy.expand(q.as_expr()))


@dataclass(frozen=True)
class MeanField:
    """The transverse mean-field dynamics linearised around the dark state, at large N.

    ``jacobian`` acts on ``(δm_x, δm_y)``; ``d/dt δm = jacobian δm``. The dark state is unstable
    where ``trace > 0`` or ``det < 0`` (an eigenvalue with a positive real part).
    """

    model: Model
    jacobian: sympy.ImmutableMatrix
    equations: tuple[sympy.Expr, ...]

    @property
    def trace(self) -> sympy.Expr:
        return sympy.expand(self.jacobian.trace())

    @property
    def det(self) -> sympy.Expr:
        return sympy.expand(self.jacobian.det())

    @property
    def symbols(self) -> list[sympy.Symbol]:
        return [N, *self.model.parameters]

    @property
    def condition(self) -> sympy.Basic:
        """Where the dark state is unstable, as a sympy relation (rates taken positive)."""
        positive = {s: sympy.Symbol(s.name, positive=True) for r in self.model.rates.values()
                    for s in r.free_symbols}
        parts = [sympy.StrictLessThan(self.det, 0)]
        if not self.trace.xreplace(positive).is_negative:
            parts.append(sympy.StrictGreaterThan(self.trace, 0))
        return sympy.Or(*parts)

    def line(self, name: str, **definitions: str | sympy.Expr) -> list[sympy.Expr]:
        """Solutions for ``name`` of ``det = 0``: where a real eigenvalue crosses zero.

        ``name`` is a parameter of the model, or a new name once ``definitions`` write some
        parameters in terms of it: for xyz in the (Jx, Jy) plane,
        ``line("Jy", J="(Jx + Jy)/2", delta="(Jx - Jy)/2")`` gives ``Jy`` as a function of Jx.
        """
        by_name = {s.name: s for s in self.symbols}
        unknown = sorted(set(definitions) - set(by_name))
        if unknown:
            raise ParameterError(f"{', '.join(unknown)}: not parameters of {self.model.name} "
                                 f"(its parameters: {', '.join(by_name)})")
        det = self.det.xreplace({by_name[k]: coerce_expression(v, k) for k, v in definitions.items()})
        sym = {s.name: s for s in det.free_symbols}.get(name)
        if sym is None:
            raise ParameterError(
                f"{name!r} is not a parameter of {self.model.name} (its parameters: {', '.join(by_name)}); "
                f"a new name needs definitions, e.g. line('Jy', J='(Jx + Jy)/2', delta='(Jx - Jy)/2') for xyz")
        return [sympy.simplify(s) for s in sympy.solve(sympy.Eq(det, 0), sym)]

    @property
    def _functions(self):
        return _lambdified(self)

    def growth_rate(self, values: Mapping[str, Any]) -> np.ndarray:
        """Largest real part of the eigenvalues, vectorised over arrays of parameter values
        (``N`` only where the large-N Jacobian still depends on it)."""
        tr_fn, det_fn, needed = self._functions
        missing = [s for s in needed if s not in values]
        if missing:
            raise ParameterError(f"the mean-field line of {self.model.name} needs {missing}")
        args = [np.asarray(values[s], dtype=float) if s in values else np.nan
                for s in (sym.name for sym in self.symbols)]
        tr = np.asarray(tr_fn(*args), dtype=float)
        det = np.asarray(det_fn(*args), dtype=float)
        disc = tr * tr / 4 - det
        return tr / 2 + np.sqrt(np.maximum(disc, 0.0))

    def unstable(self, points: Iterable[Mapping[str, Any]]) -> np.ndarray:
        """For each point (a dict as ``evaluate`` takes), whether it is beyond the mean-field line."""
        points = list(points)
        names = {s.name for s in self.symbols}
        values = {k: np.array([float(p[k]) for p in points]) for k in names if points and k in points[0]}
        return self.growth_rate(values) > 0 if points else np.zeros(0, dtype=bool)


@lru_cache(maxsize=32)
def _lambdified(mf: MeanField):
    syms = mf.symbols
    needed = sorted({s.name for s in (mf.trace.free_symbols | mf.det.free_symbols)})
    return (sympy.lambdify(syms, mf.trace, "numpy"), sympy.lambdify(syms, mf.det, "numpy"), needed)


@lru_cache(maxsize=32)
def mean_field(model: Model) -> MeanField:
    """The large-N mean-field linearisation around the dark state (see the module docstring).

    Parameters
    ----------
    model : Model

    Returns
    -------
    MeanField
        ``jacobian`` (2×2, acting on δm_x, δm_y), ``condition`` (where the dark state is
        unstable), ``line(name)`` (the instability line solved for a parameter),
        ``growth_rate(values)`` and ``unstable(points)`` (vectorised).

    Raises
    ------
    MeanFieldError
        When the dark state is not a mean-field fixed point (linear driving such as ``2Ω Sx``,
        or local pumping) or when m_z couples to the transverse components at linear order.

    Examples
    --------
    >>> from symsteady import builtin, mean_field
    >>> mean_field(builtin("tfi")).line("Jx")    # Jx = -(4Δ² + γ²)/(16Δ)
    [-Delta/4 - gamma**2/(16*Delta)]
    """
    f = equations_of_motion(model)
    dark = {MX: 0, MY: 0, MZ: -N / 2}
    names = ("m_x", "m_y", "m_z")
    for name, fa in zip(names, f):
        at_dark = _large_n(sympy.expand(fa.xreplace(dark)))
        if at_dark != 0:
            raise MeanFieldError(
                f"the dark state is not a mean-field fixed point of {model.name}: d{name}/dt = "
                f"{at_dark} there (linear driving or pumping), so it has no instability line"
            )
    full = sympy.Matrix(3, 3, lambda i, j: _large_n(sympy.diff(f[i], (MX, MY, MZ)[j]).xreplace(dark)))
    if full[2, 0] != 0 or full[2, 1] != 0:
        raise MeanFieldError(
            f"in {model.name} m_z responds to the transverse components at linear order "
            f"({full[2, 0]}, {full[2, 1]}): the transverse block is not closed"
        )
    jac = sympy.ImmutableMatrix(2, 2, lambda i, j: sympy.factor_terms(full[i, j]))
    if any(x.has(sympy.I) for x in jac):
        raise MeanFieldError(f"the linearised mean-field matrix of {model.name} is not real: {jac}")
    return MeanField(model=model, jacobian=jac, equations=tuple(f))
