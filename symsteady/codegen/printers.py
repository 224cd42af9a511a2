"""sympy code printers of the kernels: small integer powers become products.

``x**3`` is printed ``(x*x*x)`` and ``x**-1`` as ``(1.0/x)`` (numpy's and C's ``pow`` are
slower than a few products); other powers are left to the parent printer.
"""

from __future__ import annotations

from typing import Any

import sympy
from sympy.printing.c import C99CodePrinter
from sympy.printing.numpy import NumPyPrinter

MAX_PRODUCT_POWER = 4


class _ProductPowers:
    def _print_Pow(self, expr, rational=False):
        base, exp = expr.as_base_exp()
        if exp == -1:
            b = self._print(base)
            return f"(1.0/{b})" if base.is_Symbol else f"(1.0/({b}))"
        if exp.is_Integer and 2 <= abs(int(exp)) <= MAX_PRODUCT_POWER:
            b = self._print(base)
            if not (base.is_Symbol or (base.is_Integer and base >= 0)):
                b = f"({b})"
            prod = "*".join([b] * abs(int(exp)))
            return f"({prod})" if exp > 0 else f"(1.0/({prod}))"
        return super()._print_Pow(expr, rational=rational)


class NumpyKernelPrinter(_ProductPowers, NumPyPrinter):
    """NumPy printer (``numpy.``-qualified functions) with products for small powers."""

    def __init__(self, settings=None):
        super().__init__({"fully_qualified_modules": True, **(settings or {})})


class CKernelPrinter(_ProductPowers, C99CodePrinter):
    """C99 printer with products for small powers and large integers as doubles."""

    def _print_Integer(self, expr):
        return f"{int(expr)}.0" if abs(int(expr)) >= 2**31 else str(int(expr))


def cse(exprs: list[sympy.Expr], prefix: str, enabled: bool = True
        ) -> tuple[list[tuple[sympy.Symbol, sympy.Expr]], list[sympy.Expr]]:
    """``sympy.cse`` over all outputs of one function (or nothing when disabled)."""
    if not enabled:
        return [], list(exprs)
    replacements, reduced = sympy.cse(exprs, symbols=sympy.numbered_symbols(prefix))
    return list(replacements), list(reduced)


def function_context(qs: Any, q: Any, printer: Any, prefix: str, use_cse: bool, args: list[str]) -> dict[str, Any]:
    """What a template needs to emit one function of a :class:`~symsteady.codegen.quantities.Quantity`:
    the arguments it uses, the shared subexpressions and the output expressions, printed."""
    exprs = list(qs.tidy(q))
    used = {s.name for e in exprs for s in e.free_symbols}
    replacements, reduced = cse(exprs, prefix, use_cse)
    return {
        "name": q.name,
        "doc": q.doc,
        "kind": q.kind,
        "components": list(q.components),
        "keys": [list(k) for k in q.keys],
        "used": [a for a in args if a in used],
        "assignments": [(str(s), printer.doprint(e)) for s, e in replacements],
        "outputs": [printer.doprint(e) for e in reduced],
    }
