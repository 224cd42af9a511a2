"""Polynomials in the collective spin operators, in normal (PBW) order.

Conventions: ``S_a = (1/2) sum_i sigma^a_i``, ``Sp = Sx + i Sy = sum_i sigma^+_i``,
``Sm = Sx - i Sy``. A *word* is a tuple of letters ``'p'`` (Sp), ``'z'`` (Sz), ``'m'`` (Sm)
read left to right as an operator product. A *spin polynomial* is a dict word -> coefficient
(a sympy expression in N and real parameters). Normal order is ``Sp^i Sz^j Sm^k``; the
commutators used are ``[Sz, Sp] = Sp``, ``[Sz, Sm] = -Sm``, ``[Sp, Sm] = 2 Sz``. Normal-ordered
words form a basis, so two polynomials are equal iff their normal forms are.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Mapping

import sympy

from .errors import MalformedExpressionError

Word = tuple[str, ...]
SpinPoly = dict[Word, sympy.Expr]

Sp, Sm, Sz = sympy.symbols("Sp Sm Sz", commutative=False)
Sx = (Sp + Sm) / 2
Sy = (Sp - Sm) / (2 * sympy.I)
OPERATOR_SYMBOLS = {Sp: "p", Sm: "m", Sz: "z"}
_ORDER = {"p": 0, "z": 1, "m": 2}
# Reordering rules for an adjacent pair out of order: XY = YX + [X, Y].
_SWAP = {
    ("z", "p"): ((1, ("p",)),),  # Sz Sp = Sp Sz + Sp
    ("m", "p"): ((-2, ("z",)),),  # Sm Sp = Sp Sm - 2 Sz
    ("m", "z"): ((1, ("m",)),),  # Sm Sz = Sz Sm + Sm
}


@lru_cache(maxsize=None)
def normal_order(word: Word) -> tuple[tuple[Word, int], ...]:
    """Normal form of a word: integer coefficients of normal-ordered words."""
    for i in range(len(word) - 1):
        x, y = word[i], word[i + 1]
        if _ORDER[x] > _ORDER[y]:
            out: dict[Word, int] = {}
            head, tail = word[:i], word[i + 2 :]
            for w, c in normal_order(head + (y, x) + tail):
                out[w] = out.get(w, 0) + c
            for coeff, mid in _SWAP[(x, y)]:
                for w, c in normal_order(head + mid + tail):
                    out[w] = out.get(w, 0) + coeff * c
            return tuple((w, c) for w, c in out.items() if c != 0)
    return ((word, 1),)


def charge(word: Word) -> int:
    """Change of the excitation number Sz + N/2 caused by the word (U(1) charge)."""
    return word.count("p") - word.count("m")


def word_to_expr(word: Word) -> sympy.Expr:
    letters = {"p": Sp, "m": Sm, "z": Sz}
    return sympy.Mul(*[letters[x] for x in word]) if word else sympy.Integer(1)


def add_term(poly: SpinPoly, word: Word, coeff: sympy.Expr) -> None:
    """Add ``coeff * word`` to ``poly`` in normal form, dropping cancelled words."""
    for w, c in normal_order(word):
        new = sympy.expand(poly.get(w, 0) + c * coeff)
        if new == 0:
            poly.pop(w, None)
        else:
            poly[w] = new


def from_expr(expr: sympy.Expr) -> SpinPoly:
    """Normal-ordered spin polynomial of an expression in Sp, Sm, Sz (Sx, Sy substituted)."""
    poly: SpinPoly = {}
    for term in sympy.Add.make_args(sympy.expand(expr)):
        commutative, factors = term.args_cnc()
        word: list[str] = []
        for f in factors:
            base, exp = f.as_base_exp()
            if base not in OPERATOR_SYMBOLS or not (exp.is_Integer and exp >= 0):
                raise MalformedExpressionError(
                    f"term {term} is not a polynomial in the collective spin operators"
                )
            word += [OPERATOR_SYMBOLS[base]] * int(exp)
        coeff = sympy.Mul(*commutative)
        if coeff.free_symbols & set(OPERATOR_SYMBOLS):
            raise MalformedExpressionError(f"operator inside a function in term {term}")
        add_term(poly, tuple(word), coeff)
    return poly


_FLIP = {"p": "m", "m": "p", "z": "z"}


def adjoint_word(word: Word) -> Word:
    """The word of the Hermitian conjugate: reversed, Sp and Sm swapped (Sz is Hermitian)."""
    return tuple(_FLIP[x] for x in reversed(word))


def adjoint(poly: Mapping[Word, sympy.Expr]) -> SpinPoly:
    """Hermitian conjugate (parameters are real): adjoint words, conjugate coefficients."""
    out: SpinPoly = {}
    for w, c in poly.items():
        add_term(out, adjoint_word(w), sympy.conjugate(c))
    return out
