"""The LaTeX printer of symsteady: sympy's ``LatexPrinter`` with line breaking.

Setting ``line_width`` (typeset width of a line in average math characters, estimated from
the source by :func:`visible_width`): :meth:`SymsteadyLatexPrinter.lines`
breaks a long sum at its top-level ``+``/``-`` and a long product between its factors,
bracketing a long factor with ``\\Big( … \\Big)`` that may itself span lines (``\\Big``
delimiters need no partner on the same line, unlike ``\\left``/``\\right``);
:meth:`SymsteadyLatexPrinter.series_lines` writes ``c_0 + λ c_1 + …`` order by order. Every
piece is printed by the printer itself; lines are only joined, never edited.
"""

from __future__ import annotations

import re

import sympy
from sympy.printing.latex import LatexPrinter
_COMMAND = re.compile(r"\\([A-Za-z]+|.)")
#: estimated widths (in average math characters) of commands that are not one glyph
_ZERO = {"left", "right", "big", "Big", "bigg", "Bigg", "nonumber", "displaystyle", "limits"}
_SPACES = {",": 0.3, ";": 0.5, ":": 0.4, " ": 0.4, "!": 0.0, "quad": 2.0, "qquad": 4.0}
_RELATIONS = {"times", "cdot", "neq", "le", "ge", "leq", "geq", "in", "pm", "mp", "approx"}
_WRAPPERS = {"mathrm", "operatorname", "text", "mathbf", "mathit", "boldsymbol", "mathcal"}
_FRACTIONS = {"frac", "tfrac", "dfrac"}


def _group(s: str, i: int) -> tuple[str, int]:
    """The argument starting at s[i]: a braced group's inside, a command, or one character."""
    while i < len(s) and s[i] == " ":
        i += 1
    if i >= len(s):
        return "", i
    if s[i] == "{":
        depth, j = 0, i
        while j < len(s):
            depth += {"{": 1, "}": -1}.get(s[j], 0)
            if depth == 0:
                return s[i + 1:j], j + 1
            j += 1 + (s[j] == "\\")
        return s[i + 1:], len(s)
    m = _COMMAND.match(s, i)
    if m:
        return m.group(0), m.end()
    return s[i], i + 1


def visible_width(s: str) -> float:
    """Estimated typeset width of LaTeX math, in average characters: a fraction is as wide as
    its wider part, scripts count 0.7, delimiter sizing and braces nothing, binary operators
    and relations with their spacing 2."""
    w, i = 0.0, 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            m = _COMMAND.match(s, i)
            cmd, i = m.group(1), m.end()
            if cmd in _FRACTIONS:
                a, i = _group(s, i)
                b, i = _group(s, i)
                w += max(visible_width(a), visible_width(b)) + 0.5
            elif cmd == "sqrt":
                a, i = _group(s, i)
                w += visible_width(a) + 1.0
            elif cmd in _WRAPPERS:
                a, i = _group(s, i)
                w += visible_width(a)
            elif cmd in _ZERO:
                pass
            elif cmd in _SPACES:
                w += _SPACES[cmd]
            elif cmd in _RELATIONS:
                w += 2.0
            else:
                w += 1.0
        elif c in "^_":
            a, i = _group(s, i + 1)
            w += 0.7 * visible_width(a)
        elif c in "{} &":
            i += 1
        elif c in "+-=<>":
            w += 2.0
            i += 1
        else:
            w += 1.0
            i += 1
    return w



class SymsteadyLatexPrinter(LatexPrinter):
    """LaTeX printer with line breaking (setting ``line_width``, in estimated typeset characters)."""

    _default_settings = {**LatexPrinter._default_settings, "line_width": 60}

    def _as_ordered_terms(self, expr, order=None):
        """Terms in sympy's order, the imaginary ones last (``re + i im``)."""
        terms = super()._as_ordered_terms(expr, order=order)
        return sorted(terms, key=lambda t: t.has(sympy.I))

    # ---- breaking -----------------------------------------------------------------------
    def lines(self, expr: sympy.Expr, width: int | None = None) -> list[str]:
        """expr printed as one or more lines no longer than ``width`` where it can be broken."""
        width = width or self._settings["line_width"]
        text = self._print(expr)
        if visible_width(text) <= width:
            return [text]
        if isinstance(expr, sympy.Add):
            return self._pack(self._signed_terms(expr, width), width)
        if isinstance(expr, sympy.Mul):
            return self._product_lines(expr, width)
        return [text]

    def _signed_terms(self, expr: sympy.Add, width: float | None = None) -> list[str]:
        """The terms with their signs; with ``width``, a product too wide for it is itself
        broken (:meth:`_product_lines`), so every piece fits."""
        out = []
        for i, term in enumerate(self._as_ordered_terms(expr, order=None)):
            negative = term.could_extract_minus_sign()
            if negative:
                term = -term
            sign = "- " if negative else ("" if i == 0 else "+ ")
            text = self._print(term)
            if width is not None and isinstance(term, sympy.Mul) and visible_width(text) + 2 > width:
                sub = self._product_lines(term, width - 2)
                out.extend([sign + sub[0], *sub[1:]])
            else:
                out.append(sign + self._bracket_sum(term, text))
        return out

    def _bracket_sum(self, term: sympy.Expr, text: str) -> str:
        return f"\\left({text}\\right)" if isinstance(term, sympy.Add) else text

    def _product_lines(self, expr: sympy.Mul, width: float) -> list[str]:
        """A product broken between its factors; a factor too long for a line is a sum broken
        inside ``\\Big( … \\Big)`` (recursively, so every line fits where it can)."""
        num, den = sympy.fraction(expr)
        coeff, factors = num.as_coeff_mul()
        long = [f for f in factors if isinstance(f.as_base_exp()[0], sympy.Add)
                and visible_width(self._print(f)) > width / 3]
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
            if visible_width(inner) + visible_width(power) + 6 <= width:
                parts.append(f"\\left({inner}\\right){power}")
                continue
            sub = self._pack(self._signed_terms(base, width - 3), width - 3)
            sub[0] = "\\Big(" + sub[0]
            sub[-1] = sub[-1] + "\\Big)" + power
            parts.extend(sub)
        return self._pack([p for p in [head] if p] + parts, width, glue=" ")

    @staticmethod
    def _pack(parts: list[str], width: int, glue: str = " ") -> list[str]:
        lines: list[str] = []
        current = ""
        for part in parts:
            if current and visible_width(current) + visible_width(part) + 0.5 > width:
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
            body = self.lines(c, width - visible_width(lam_k) - 4)
            if k > 0 and (len(body) > 1 or isinstance(c, sympy.Add)):
                body[0] = "\\Big[" + body[0]
                body[-1] = body[-1] + "\\Big]"
            body[0] = f"{sign}{lam_k}{body[0]}"
            if len(body) == 1 and joinable and visible_width(lines[-1]) + 0.5 + visible_width(body[0]) <= width:
                lines[-1] += " " + body[0]
            else:
                lines.extend(body)
            joinable = len(body) == 1
        return lines or ["0"]
