"""Models: a collective-spin Hamiltonian and dissipation rates, parsed and checked.

Conventions (fixed, ``docs/algorithm/conventions.md``): ``S_a = (1/2) sum_i sigma^a_i``,
``Sp = Sx + i Sy = sum_i sigma^+_i``, ``Sm = Sx - i Sy``; ``drho/dt = -i[H, rho] + sum_k r_k
D[L_k] rho`` with ``D[L]rho = L rho L^dag - {L^dag L, rho}/2``. The dissipative processes and
their model-file keys are those of :mod:`symsteady.processes`.

Every free name in a model string is a real parameter, except ``N`` (the emitter number) and
the operators ``Sx, Sy, Sz, Sp, Sm``.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import sympy

from . import processes, spinpoly
from .errors import (
    MalformedExpressionError,
    ModelError,
    NotHermitianError,
    RateError,
    SymmetryError,
    UnknownOperatorError,
)
from .spinpoly import SpinPoly

N = sympy.Symbol("N", positive=True, integer=True)
#: The formal expansion parameter of a model without a small parameter (set to 1 in results).
LAMBDA = sympy.Symbol("lambda", real=True)
_OPERATORS = {"Sx": spinpoly.Sx, "Sy": spinpoly.Sy, "Sz": spinpoly.Sz, "Sp": spinpoly.Sp, "Sm": spinpoly.Sm}
_FUNCTIONS = {"sqrt": sympy.sqrt, "Rational": sympy.Rational}
_CONSTANTS = {"pi": sympy.pi}
_OPERATOR_LIKE = re.compile(r"^(S[a-zA-Z]|S(plus|minus)|sigma_?[xyzpm].*)$")
_LITERALS = {
    "_Int": sympy.Integer,
    "_Float": lambda text: sympy.Rational(text),  # 0.5 -> 1/2: closed forms stay exact
    "_Imag": lambda imag: sympy.I * sympy.Rational(repr(imag)),
}


def parameter(name: str) -> sympy.Symbol:
    """The real symbol symsteady uses for a parameter name."""
    return N if name == "N" else sympy.Symbol(name, real=True)


def parse(text: str, what: str = "expression") -> sympy.Expr:
    """Parse a model string with an explicit symbol table (no sympy names leak in)."""
    source = str(text).replace("^", "**")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        reserved = [w for w in re.findall(r"[A-Za-z_]\w*", source) if keyword.iskeyword(w)]
        hint = (f" ({reserved[0]!r} is a reserved word of the expression syntax: rename the parameter, "
                f"e.g. {reserved[0][:3]!r})" if reserved else "")
        raise MalformedExpressionError(f"cannot parse {what} {text!r}: {exc.msg}{hint}") from None
    table: dict[str, object] = {"N": N, **_OPERATORS, **_FUNCTIONS, **_CONSTANTS, **_LITERALS}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS):
                name = ast.unparse(node.func)
                raise MalformedExpressionError(f"unknown function {name!r} in {what} {text!r}")
        elif isinstance(node, ast.Name) and node.id not in table:
            if _OPERATOR_LIKE.match(node.id):
                raise UnknownOperatorError(
                    f"unknown operator {node.id!r} in {what} {text!r}; "
                    "the collective operators are Sx, Sy, Sz, Sp, Sm"
                )
            table[node.id] = parameter(node.id)
        elif not isinstance(
            node,
            (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Load,
             ast.operator, ast.unaryop, ast.Call),
        ):
            raise MalformedExpressionError(
                f"unsupported syntax {type(node).__name__} in {what} {text!r}"
            )
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            _check_exponent(node.right, text, what)
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float, complex)):
            raise MalformedExpressionError(f"unexpected literal {node.value!r} in {what} {text!r}")
    try:
        value = eval(compile(_exact_literals(tree), "<model>", "eval"), {"__builtins__": {}}, table)
    except Exception as exc:  # arithmetic on the parsed names failed
        raise MalformedExpressionError(f"cannot evaluate {what} {text!r}: {exc}") from None
    return sympy.sympify(value)


MAX_EXPONENT = 64


def _check_exponent(node: ast.AST, text: str, what: str) -> None:
    """Exponents are names or small numeric constants (so ``9**9**9`` cannot stall the parser)."""
    if isinstance(node, ast.Name):
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        parts = [node.left, node.right]
    else:
        parts = [node]
    for part in parts:
        if not (isinstance(part, ast.Constant) and isinstance(part.value, (int, float))
                and not isinstance(part.value, bool) and abs(part.value) <= MAX_EXPONENT):
            raise MalformedExpressionError(
                f"exponent {ast.unparse(node)} in {what} {text!r} must be a name or a number of "
                f"magnitude at most {MAX_EXPONENT}"
            )


def _exact_literals(tree: ast.Expression) -> ast.Expression:
    """Make integer literals sympy Integers so that 2/N stays exact, and 1j the unit I."""

    class Exact(ast.NodeTransformer):
        def visit_Constant(self, node: ast.Constant) -> ast.AST:
            if isinstance(node.value, bool):
                return node
            if isinstance(node.value, int):
                return ast.Call(ast.Name("_Int", ast.Load()), [node], [])
            if isinstance(node.value, float):
                return ast.Call(ast.Name("_Float", ast.Load()), [ast.Constant(repr(node.value))], [])
            if isinstance(node.value, complex):
                return ast.Call(ast.Name("_Imag", ast.Load()), [ast.Constant(node.value.imag)], [])
            return node

    new = ast.fix_missing_locations(Exact().visit(ast.parse(ast.unparse(tree), mode="eval")))
    return new


def coerce_expression(value: object, what: str) -> sympy.Expr:
    if isinstance(value, str):
        return parse(value, what)
    if value is None:
        return sympy.Integer(0)
    if isinstance(value, bool) or not isinstance(value, (int, float, sympy.Basic)):
        raise MalformedExpressionError(
            f"{what} must be a string, a number or a sympy expression, not {type(value).__name__} {value!r}"
        )
    if isinstance(value, float):
        if not math.isfinite(value):
            raise MalformedExpressionError(f"{what} = {value} is not a finite number")
        value = sympy.Rational(repr(value))
    expr = sympy.sympify(value)
    # map user symbols onto symsteady's real parameters by name
    subs = {s: parameter(s.name) for s in expr.free_symbols if s.is_commutative and s.name != "N"}
    subs.update({s: N for s in expr.free_symbols if s.is_commutative and s.name == "N"})
    return expr.xreplace(subs)


@dataclass(frozen=True, init=False)
class Model:
    """A driven-dissipative emitter model.

    Parameters
    ----------
    hamiltonian : str or sympy expression
        A polynomial in ``Sx, Sy, Sz, Sp, Sm`` with coefficients in ``N`` and real parameters.
    small : str, optional
        The expansion parameter: H at ``small = 0`` must commute with Sz. Without it, H0 is
        the U(1)-conserving part of H and a formal λ multiplies the rest (results at λ = 1).
    name, description : str
        Labels used in outputs.
    **rates : str, number or sympy expression
        The rate of each dissipative process, by its key in :mod:`symsteady.processes`
        (``local_emission``, ``local_dephasing``, ``local_pumping``, ``collective_emission``,
        ``collective_dephasing``); a rate must be real and non-negative, 0 switches it off.

    Raises
    ------
    ModelError
        (or a subclass) naming the term or rate at fault: not a spin polynomial, not
        Hermitian, H0 not U(1) symmetric, a negative or complex rate, an unknown key.

    Examples
    --------
    >>> from symsteady import Model
    >>> m = Model("Delta*Sz + (4*Jx/N)*Sx**2", local_emission="gamma", small="Jx", name="tfi")
    >>> m.parameters
    (Delta, Jx, gamma)
    """

    hamiltonian: sympy.Expr
    small: sympy.Symbol | None
    name: str
    description: str
    _rates: tuple[tuple[str, sympy.Expr], ...]
    poly: SpinPoly = field(compare=False, repr=False)
    #: the Hamiltonian and the rates as the user wrote them (for display), by key
    texts: dict[str, str] = field(compare=False, repr=False)

    def __init__(self, hamiltonian: object, *, small: str | sympy.Symbol | None = None,
                 name: str = "model", description: str = "", **rates: object):
        set_ = object.__setattr__
        unknown = sorted(set(rates) - set(processes.KEYS))
        if unknown:
            raise ModelError(f"unknown process(es) {unknown}; the processes are {', '.join(processes.KEYS)}")
        set_(self, "hamiltonian", coerce_expression(hamiltonian, "hamiltonian"))
        texts = {"hamiltonian": _as_written(hamiltonian, self.hamiltonian)}
        given = []
        for key in processes.KEYS:
            rate = coerce_expression(rates.get(key, 0), key)
            if rate.free_symbols & set(spinpoly.OPERATOR_SYMBOLS):
                raise MalformedExpressionError(f"{key} = {rate} contains a spin operator")
            check_rate(key, rate)
            if rate != 0:
                given.append((key, rate))
                texts[key] = _as_written(rates[key], rate)
        set_(self, "_rates", tuple(given))
        set_(self, "texts", texts)
        set_(self, "small", None if small is None else parameter(str(small)))
        set_(self, "name", name)
        set_(self, "description", description)
        set_(self, "poly", spinpoly.from_expr(self.hamiltonian))
        self._check()

    # ---- checks -----------------------------------------------------------------------------
    def _check(self) -> None:
        diff: SpinPoly = dict(self.poly)
        for w, c in spinpoly.adjoint(self.poly).items():
            spinpoly.add_term(diff, w, -c)
        if diff:
            word, coeff = next(iter(diff.items()))
            term = spinpoly.word_to_expr(word)
            raise NotHermitianError(
                f"the Hamiltonian is not Hermitian: H - H^dag contains {sympy.factor(coeff)}*{term} "
                f"(the term {term} needs its Hermitian conjugate with the conjugate coefficient)"
            )
        if self.small is not None:
            if self.small == N:
                raise ModelError("N cannot be the small parameter")
            if self.small not in self.hamiltonian.free_symbols:
                raise ModelError(
                    f"the small parameter {self.small} does not appear in H: it must multiply the "
                    f"terms that change the excitation number (H = {self.texts['hamiltonian']})"
                )
            for word, coeff in self.poly.items():
                c0 = coeff.subs(self.small, 0)
                if spinpoly.charge(word) != 0 and sympy.simplify(c0) != 0:
                    term = spinpoly.word_to_expr(word)
                    raise SymmetryError(
                        f"H0 = H({self.small}=0) is not U(1) symmetric: its term {c0}*{term} "
                        f"changes the excitation number by {spinpoly.charge(word)}"
                    )
        if self.small is not None and self.small not in self.parameters:
            raise ModelError(f"the small parameter {self.small} does not appear in the model")

    # ---- derived data -------------------------------------------------------------------------
    @property
    def rates(self) -> dict[str, sympy.Expr]:
        """The processes that are on, ``{key: rate}``, in the order of :mod:`symsteady.processes`."""
        return dict(self._rates)

    def rate(self, key: str) -> sympy.Expr:
        """The rate of a process (0 when the model does not have it)."""
        return self.rates.get(key, sympy.Integer(0))

    @property
    def processes(self) -> list[processes.Process]:
        """The dissipative processes that are on."""
        return [processes.BY_KEY[k] for k in self.rates]

    @property
    def lam(self) -> sympy.Symbol:
        """λ: the small parameter, or the formal ``lambda`` of the U(1)-breaking part (:attr:`formal`)."""
        return self.small if self.small is not None else LAMBDA

    @property
    def formal(self) -> bool:
        """Whether λ is formal (no small parameter): results are then taken at λ = 1."""
        return self.small is None

    @property
    def parameters(self) -> tuple[sympy.Symbol, ...]:
        """Real parameters (N excluded), sorted by name; the small parameter included."""
        syms = set(self.hamiltonian.free_symbols)
        for r in self.rates.values():
            syms |= r.free_symbols
        syms -= set(spinpoly.OPERATOR_SYMBOLS) | {N}
        return tuple(sorted(syms, key=lambda s: s.name))

    @property
    def has_local_processes(self) -> bool:
        return any(p.local for p in self.processes)

    @property
    def sector(self) -> str:
        """``symmetric`` for collective-only dissipation (no local process), else permutation-invariant."""
        return "permutation-invariant" if self.has_local_processes else "symmetric"

    def expansion(self, order: int) -> list[tuple[SpinPoly, dict[str, sympy.Expr]]]:
        """Orders 0..order of (H_j, rates_j) in the small parameter (or the formal lambda)."""
        out: list[tuple[SpinPoly, dict[str, sympy.Expr]]] = [({}, {}) for _ in range(order + 1)]
        if self.small is None:
            for w, c in self.poly.items():
                j = 0 if spinpoly.charge(w) == 0 else 1
                if j <= order:
                    out[j][0][w] = c
            out[0][1].update(self.rates)
            return out
        for w, c in self.poly.items():
            for j, cj in enumerate(_taylor(c, self.small, order)):
                if cj != 0:
                    out[j][0][w] = cj
        for r, v in self.rates.items():
            for j, vj in enumerate(_taylor(v, self.small, order)):
                if vj != 0:
                    out[j][1][r] = vj
        return out

    def replace(self, **changes: object) -> "Model":
        """A new model with some fields changed: ``hamiltonian``, ``small``, ``name``,
        ``description`` or process rates (``model.replace(local_dephasing="gphi")``; a rate of
        0 removes the process)."""
        data: dict[str, object] = {"hamiltonian": self.texts["hamiltonian"], "small": self.small, "name": self.name,
                                   "description": self.description, **{k: self.texts[k] for k in self.rates}}
        data.update(changes)
        return Model(**data)  # type: ignore[arg-type]

    def to_qutip(self, N: int, point: Mapping[str, object]):
        """The model at one point as a ``qutip.piqs.Dicke`` system (needs qutip:
        ``pip install 'symsteady[qutip]'``); see :func:`symsteady.qutip_export.model_to_qutip`."""
        from .qutip_export import model_to_qutip

        return model_to_qutip(self, N, point)

    def summary(self) -> str:
        """One line: name, H and the rates as the user wrote them, the small parameter."""
        rates = ", ".join(f"{r} = {self.texts[r]}" for r in self.rates) or "no dissipation"
        small = f"small parameter {self.small}" if self.small else "formal lambda on the U(1)-breaking part"
        return f"{self.name}: H = {self.texts['hamiltonian']}; {rates}; {small}"

    # ---- constructors ---------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> "Model":
        known = {"name", "description", "hamiltonian", "small", *processes.KEYS}
        unknown = set(data) - known
        if unknown:
            raise ModelError(f"unknown model keys {sorted(unknown)}; known: {sorted(known)}")
        if "hamiltonian" not in data:
            raise ModelError("a model needs a 'hamiltonian'")
        return cls(**dict(data))  # type: ignore[arg-type]

    @classmethod
    def from_toml(cls, path: str | Path) -> "Model":
        import tomllib

        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ModelError(f"cannot read model file {path}: {exc}") from None
        data.setdefault("name", path.stem)
        return cls.from_dict(data)


def _as_written(given: object, value: sympy.Expr) -> str:
    """The text of a model string as given (whitespace normalised), else the sympy form."""
    return " ".join(given.split()) if isinstance(given, str) else str(value)


def check_rate(name: str, rate: sympy.Expr) -> None:
    """Rates must be real (parameters are real) and non-negative wherever that can be decided."""
    if rate.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        raise RateError(f"{name} = {rate} is not a finite number")
    if sympy.simplify(sympy.im(rate)) != 0:
        raise RateError(f"{name} = {rate} is not real")
    if rate.is_number and rate.is_negative:
        raise RateError(f"{name} = {rate} must be non-negative")
    positive = {s: sympy.Symbol(s.name, positive=True) for s in rate.free_symbols}
    if rate.xreplace(positive).is_negative:
        raise RateError(
            f"{name} = {rate} is negative for all positive values of {', '.join(sorted(map(str, positive)))}: "
            "a rate must be non-negative (0 switches the process off)"
        )


def _taylor(expr: sympy.Expr, x: sympy.Symbol, order: int) -> list[sympy.Expr]:
    """Taylor coefficients of expr in x up to x**order (exact for polynomials)."""
    if x not in expr.free_symbols:
        return [expr] + [sympy.Integer(0)] * order
    try:
        poly = sympy.Poly(expr, x)
        coeffs = [poly.coeff_monomial(x**j) for j in range(order + 1)]
        return [sympy.expand(c) for c in coeffs]
    except sympy.PolynomialError:
        series = sympy.series(expr, x, 0, order + 1).removeO()
        return [sympy.expand(series.coeff(x, j)) for j in range(order + 1)]
