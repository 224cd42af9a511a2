"""The LaTeX printer of symsteady: sympy's ``LatexPrinter`` with line breaking.

Setting ``line_width`` (source characters per typeset line): :meth:`SymsteadyLatexPrinter.lines`
breaks a long sum at its top-level ``+``/``-`` and a long product between its factors,
bracketing a long factor with ``\\Big( … \\Big)`` that may itself span lines (``\\Big``
delimiters need no partner on the same line, unlike ``\\left``/``\\right``);
:meth:`SymsteadyLatexPrinter.series_lines` writes ``c_0 + λ c_1 + …`` order by order. Every
piece is printed by the printer itself; lines are only joined, never edited.
"""

from __future__ import annotations

import sympy
from sympy.printing.latex import LatexPrinter


class SymsteadyLatexPrinter(LatexPrinter):
    """LaTeX printer with line breaking (setting ``line_width``, in source characters)."""

    _default_settings = {**LatexPrinter._default_settings, "line_width": 80}

    # ---- breaking -----------------------------------------------------------------------
    def lines(self, expr: sympy.Expr, width: int | None = None) -> list[str]:
        """expr printed as one or more lines no longer than ``width`` where it can be broken."""
        width = width or self._settings["line_width"]
        text = self._print(expr)
        if len(text) <= width:
            return [text]
        if isinstance(expr, sympy.Add):
            return self._pack(self._signed_terms(expr), width)
        if isinstance(expr, sympy.Mul):
            return self._product_lines(expr, width)
        return [text]

    def _signed_terms(self, expr: sympy.Add) -> list[str]:
        out = []
        for i, term in enumerate(self._as_ordered_terms(expr, order=None)):
            if term.could_extract_minus_sign():
                text = self._print(-term)
                out.append(f"- {self._bracket_sum(-term, text)}")
            else:
                text = self._print(term)
                out.append(text if i == 0 else f"+ {self._bracket_sum(term, text)}")
        return out

    def _bracket_sum(self, term: sympy.Expr, text: str) -> str:
        return f"\\left({text}\\right)" if isinstance(term, sympy.Add) else text

    def _product_lines(self, expr: sympy.Mul, width: int) -> list[str]:
        num, den = sympy.fraction(expr)
        coeff, factors = num.as_coeff_mul()
        long = [f for f in factors if isinstance(f.as_base_exp()[0], sympy.Add)
                and len(self._print(f)) > width // 3]
        if not long:
            return [self._print(expr)]
        rest = sympy.Mul(coeff, *[f for f in factors if f not in long]) / den
        sign = ""
        if rest.could_extract_minus_sign():
            sign, rest = "- ", -rest
        head = sign + ("" if rest == 1 else self._print(rest))
        parts: list[str] = []
        for f in long:
            base, exp = f.as_base_exp()
            inner = self._print(base)
            power = "" if exp == 1 else f"^{{{self._print(exp)}}}"
            if len(inner) + len(power) + 16 <= width:
                parts.append(f"\\left({inner}\\right){power}")
                continue
            sub = self._pack(self._signed_terms(base), width - 8)
            sub[0] = "\\Big(" + sub[0]
            sub[-1] = sub[-1] + "\\Big)" + power
            parts.extend(sub)
        lines = self._pack([p for p in [head] if p] + parts, width, glue=" ")
        return lines

    @staticmethod
    def _pack(parts: list[str], width: int, glue: str = " ") -> list[str]:
        lines: list[str] = []
        current = ""
        for part in parts:
            if current and len(current) + len(glue) + len(part) > width:
                lines.append(current)
                current = part
            else:
                current = f"{current}{glue}{part}" if current else part
        if current:
            lines.append(current)
        return lines

    # ---- series in λ -------------------------------------------------------------------------
    def series_lines(self, coeffs: list[sympy.Expr], lam: sympy.Symbol, formal: bool = False) -> list[str]:
        """``c_0 + λ c_1 + λ² c_2 + …``, each order on its own line(s)."""
        width = self._settings["line_width"]
        lines: list[str] = []
        joinable = False  # the last line holds one whole single-line order
        for k, c in enumerate(coeffs):
            if c == 0:
                continue
            lam_k = "" if k == 0 else self._print(lam**k) + " "
            sign = "+ " if lines else ""
            if c.could_extract_minus_sign():
                sign, c = "- ", -c
            body = self.lines(c, width - len(lam_k) - 10)
            if k > 0 and (len(body) > 1 or isinstance(c, sympy.Add)):
                body[0] = "\\Big[" + body[0]
                body[-1] = body[-1] + "\\Big]"
            body[0] = f"{sign}{lam_k}{body[0]}"
            if len(body) == 1 and joinable and len(lines[-1]) + 1 + len(body[0]) <= width:
                lines[-1] += " " + body[0]
            else:
                lines.extend(body)
            joinable = len(body) == 1
        return lines or ["0"]
