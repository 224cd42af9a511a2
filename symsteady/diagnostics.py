"""Where perturbation theory stops holding: the mean-field instability of the dark state, and
where a perturbative sweep departs from the exact one.

**Mean field** (derived from the model, symbolically). For ``A = S_x, S_y, S_z`` the
Heisenberg–Lindblad equation is ``dA/dt = i[H, A] + Σ_k r_k D†[L_k] A`` with
``D†[L] A = L† A L − ½{L†L, A}``. Conventions as everywhere in symsteady:
``S_a = ½ Σ_i σ^a_i``, ``Sp = Sx + i Sy``, ``[Sz, Sp] = Sp``, ``[Sp, Sm] = 2 Sz``; local emission
``γ Σ D[σ⁻_i]``, collective emission ``Γ D[S−]``, local dephasing ``γ_φ Σ D[σᶻ_i]``, local
pumping ``γ_p Σ D[σ⁺_i]``.

* Hamiltonian: ``i[w, A]`` for each normal-ordered word ``w = l_1 … l_L`` of ``model.poly`` by
  the Leibniz rule ``[l_1 … l_L, A] = Σ_j l_1 … [l_j, A] … l_L``; every term is a product of
  collective spins, factorised ``⟨S_a S_b …⟩ → m_a m_b …`` (exact at large N).
* Local rates: the single-emitter adjoint dissipator acts linearly on Pauli matrices, derived
  here from explicit 2×2 matrices and summed over emitters — no factorisation needed.
* Collective emission: ``Γ D†[S−] A = (Γ/2)(S+ [A, S−] + [S+, A] S−)``, factorised.

The equations for ``m = (m_x, m_y, m_z)`` are linearised around the dark state
``m = (0, 0, −N/2)``; the transverse 2×2 block is kept to leading order at large N (the
polynomial part in N of each entry: ordering corrections of relative order 1/N drop out).
The dark state is unstable where an eigenvalue has a positive real part: ``tr > 0`` or
``det < 0``. For ``xyz`` in (Jx, Jy, Jz) this gives DESIGN §7's
``[[−γ/2, −2(Jy−Jz)], [2(Jx−Jz), −γ/2]]`` and ``16(Jx−Jz)(Jy−Jz) < −γ²``; for ``tfi``
``[[−γ/2, −Δ], [Δ + 4Jx, −γ/2]]`` and the line ``Jx = −(4Δ² + γ²)/(16Δ)``.

**Divergence** (:func:`compare`): ``|perturbative − exact|`` per point for a quantity
(``xi2_R``, ``xi2_S``, ``rs_gap`` or ``theta``, whose difference is taken modulo π), the
points beyond a tolerance, and which of them lie beyond the mean-field line.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import sympy

from .errors import MeanFieldError, ParameterError
from .model import N, Model
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
_SINGLE_SITE = {  # basis (|↑⟩, |↓⟩)
    "local_emission": sympy.Matrix([[0, 0], [1, 0]]),   # σ⁻
    "local_dephasing": sympy.Matrix([[1, 0], [0, -1]]),  # σᶻ
    "local_pumping": sympy.Matrix([[0, 1], [0, 0]]),    # σ⁺
}
_PAULI = (sympy.Matrix([[0, 1], [1, 0]]), sympy.Matrix([[0, -sympy.I], [sympy.I, 0]]),
          sympy.Matrix([[1, 0], [0, -1]]))


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


def equations_of_motion(model: Model) -> list[sympy.Expr]:
    """Mean-field ``dm_a/dt`` (a = x, y, z) in the symbols ``m_x, m_y, m_z`` (exact in N)."""
    mvec = (MX, MY, MZ)
    out = []
    for a, combo in enumerate(_AXES):
        f = sympy.Integer(0)
        for word, coeff in model.poly.items():
            f += coeff * _hamiltonian_rate(word, combo)
        for rate_name, L in _SINGLE_SITE.items():
            rate = model.rates[rate_name]
            if rate != 0:
                c0, c = _local_adjoint(L, a)
                f += rate * (c0 * N / 2 + sum(cb * mb for cb, mb in zip(c, mvec)))
        gamma_c = model.rates["collective_emission"]
        if gamma_c != 0:
            left = _VALUE["p"] * _value({l: -v for l, v in _commutator("m", combo).items()})  # S+[A, S−]
            right = _value(_commutator("p", combo)) * _VALUE["m"]                             # [S+, A] S−
            f += gamma_c / 2 * (left + right)
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

    def line(self, name: str) -> list[sympy.Expr]:
        """Solutions for parameter ``name`` of ``det = 0``: where a real eigenvalue crosses zero."""
        sym = {s.name: s for s in self.symbols}.get(name)
        if sym is None:
            raise ParameterError(f"{name!r} is not a parameter of {self.model.name}")
        return [sympy.simplify(s) for s in sympy.solve(sympy.Eq(self.det, 0), sym)]

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

    Raises :class:`MeanFieldError` when the dark state is not a mean-field fixed point (linear
    driving such as ``2Ω Sx``, or local pumping) or when the longitudinal component couples to
    the transverse ones at linear order."""
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


# ---- perturbative vs exact ------------------------------------------------------------------

QUANTITIES = ("xi2_R", "xi2_S", "rs_gap", "theta")


@dataclass
class DivergenceReport:
    """``|perturbative − exact|`` of one quantity at each point of a sweep.

    ``difference`` is NaN where either value is undefined (θ of an isotropic state);
    ``flagged`` marks points with ``difference > tolerance``; ``beyond_line`` marks points
    where the mean-field dark state is unstable (None when there is no mean-field line)."""

    quantity: str
    tolerance: float
    label: str
    points: list[dict[str, Any]]
    difference: np.ndarray
    flagged: np.ndarray
    beyond_line: np.ndarray | None

    @property
    def max_difference(self) -> float:
        d = self.difference[np.isfinite(self.difference)]
        return float(d.max()) if d.size else float("nan")

    def summary(self) -> str:
        """A few lines for a terminal: how many points diverge, the worst, the mean-field count."""
        n, k = len(self.points), int(self.flagged.sum())
        lines = [f"{self.quantity}: |{self.label} − exact| > {self.tolerance:g} at {k} of {n} points "
                 f"(max {self.max_difference:.3g})"]
        if k:
            i = int(np.flatnonzero(self.flagged)[0])
            first = ", ".join(f"{a}={_fmt(v)}" for a, v in self.points[i].items())
            lines.append(f"  first flagged point: {first} (difference {self.difference[i]:.3g})")
        if self.beyond_line is not None:
            b = int(self.beyond_line.sum())
            both = int((self.flagged & self.beyond_line).sum())
            lines.append(f"  beyond the mean-field instability line: {b} points, {both} of them flagged")
        return "\n".join(lines)


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def difference(quantity: str, a: Sequence[float | None], b: Sequence[float | None]) -> np.ndarray:
    """``|a − b|`` per point; for θ the distance modulo π (θ and θ + π are the same axis)."""
    x = np.array([np.nan if v is None else v for v in a], dtype=float)
    y = np.array([np.nan if v is None else v for v in b], dtype=float)
    d = np.abs(x - y)
    if quantity == "theta":
        d = np.mod(d, np.pi)
        d = np.minimum(d, np.pi - d)
    return d


def compare(perturbative: Sequence[Mapping[str, Any]], exact: Sequence[Mapping[str, Any]],
            tolerance: float = 0.01, quantity: str = "xi2_R", model: Model | None = None,
            coordinates: Sequence[Mapping[str, Any]] | None = None) -> DivergenceReport:
    """Compare rows of ``evaluate`` (same points, same order) from a perturbative and the exact
    method; with ``model``, also mark the points beyond its mean-field instability line.
    ``coordinates`` (default: each row's params) label the points in the summary."""
    if quantity not in QUANTITIES:
        raise ParameterError(f"unknown quantity {quantity!r}; one of {', '.join(QUANTITIES)}")
    if len(perturbative) != len(exact):
        raise ParameterError(f"{len(perturbative)} perturbative rows but {len(exact)} exact rows")
    for i, (p, e) in enumerate(zip(perturbative, exact)):
        if p["params"] != e["params"]:
            raise ParameterError(f"row {i} is at {p['params']} in one sweep and {e['params']} in the other")
    if exact and exact[0]["method"] != "exact":
        raise ParameterError("the second set of rows must come from method 'exact'")
    d = difference(quantity, [r[quantity] for r in perturbative], [r[quantity] for r in exact])
    beyond = None
    if model is not None:
        try:
            beyond = mean_field(model).unstable([r["params"] for r in exact])
        except MeanFieldError:
            beyond = None
    label = perturbative[0]["method"] if perturbative else "perturbative"
    if perturbative and perturbative[0].get("order") is not None:
        label = f"{label} order {perturbative[0]['order']}"
    points = [dict(c) for c in coordinates] if coordinates is not None else [dict(r["params"]) for r in exact]
    return DivergenceReport(quantity=quantity, tolerance=float(tolerance), label=label, points=points,
                            difference=d, flagged=np.nan_to_num(d, nan=0.0) > tolerance, beyond_line=beyond)
