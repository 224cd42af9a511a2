"""The orbit-basis algebra: the one place where operators act on permutation-invariant states.

Permutation-invariant basis (``OrbitBasis``), with ``|A> = prod_{i in A} sigma^+_i |dark>``::

    B(a, b, c) = sum_{|A|=a, |B|=b, |A ∩ B|=c} |A><B|,   0 <= c <= min(a, b),  a + b - c <= N.

Symmetric (Dicke, j = N/2) sector (``SymmetricBasis``), with ``|a>> = sum_{|A|=a} |A>``::

    E(a, b) = |a>><<b| = sum_c B(a, b, c),   0 <= a, b <= N.

The rule functions below hold every action (derived in ``docs/algorithm/orbit-basis.md#orbit-actions``); they are plain arithmetic
in (a, b, c, N), so they work on Python ints, field elements and NumPy arrays alike. Each
returns pairs ``(coefficient, target key)``; targets outside the valid range are dropped by
the basis. Right actions follow from the adjoint: ``X W = (W^dag X^dag)^dag`` and
``B(a,b,c)^dag = B(b,a,c)`` (the rule coefficients are real).

A *step* is ``(side, rule)``: ``"ket"`` applies the rule to the key, ``"bra"`` to its adjoint
and takes the adjoint back (a right action). A *chain* is a tuple of steps applied in order;
``Basis.chain`` runs it on one key, :mod:`symsteady.exact.matrix` on arrays of keys. The
validity, trace-support and norm functions are array-friendly too (``&``, not ``and``).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from .fields import Elem, Field
from .spinpoly import Word, adjoint_word

Key = tuple[int, ...]
Operator = dict[Key, Elem]
Terms = Iterable[tuple[Any, Key]]
Rule = Callable[..., Terms]
Step = tuple[str, Rule]  # ("ket" | "bra", rule)
Chain = tuple[Step, ...]

# ---- which labels exist, which are traced, their Hilbert–Schmidt norms --------------------------


def orbit_valid(a, b, c, N):
    """B(a,b,c) exists: 0 <= c <= min(a, b) and a + b - c <= N (no upper bound for N = None)."""
    ok = (c >= 0) & (c <= a) & (c <= b)
    return ok if N is None else ok & (a + b - c <= N)


def orbit_traced(a, b, c):
    """Where Tr B(a,b,c) = C(N, a) (a = b = c); elsewhere the trace is 0."""
    return (a == b) & (b == c)


def orbit_norm2_binomials(a, b, c, N):
    """||B(a,b,c)||_HS^2 = C(N,a) C(a,c) C(N-a, b-c): the (n, k) of each binomial factor."""
    return ((N, a), (a, c), (N - a, b - c))


def dicke_valid(a, b, N):
    """E(a,b) exists: 0 <= a, b <= N (no upper bound for N = None)."""
    ok = (a >= 0) & (b >= 0)
    return ok if N is None else ok & (a <= N) & (b <= N)


def dicke_traced(a, b):
    """Where Tr E(a,b) = C(N, a) (a = b)."""
    return a == b


def dicke_norm2_binomials(a, b, N):
    """||E(a,b)||_HS^2 = C(N,a) C(N,b)."""
    return ((N, a), (N, b))


# ---- rules on the ket side, orbit basis ------------------------------------------------------


def orbit_raise(a, b, c, N) -> Terms:
    """S+ B(a,b,c) = (c+1) B(a+1,b,c+1) + (a+1-c) B(a+1,b,c)."""
    return ((c + 1, (a + 1, b, c + 1)), (a + 1 - c, (a + 1, b, c)))


def orbit_lower(a, b, c, N) -> Terms:
    """S- B(a,b,c) = (b-c+1) B(a-1,b,c-1) + (N-a-b+c+1) B(a-1,b,c)."""
    return ((b - c + 1, (a - 1, b, c - 1)), (N - a - b + c + 1, (a - 1, b, c)))


def orbit_z(a, b, c, N) -> Terms:
    """Sz B(a,b,c) = (a - N/2) B(a,b,c)."""
    return ((a - N / 2, (a, b, c)),)


def site_lower_sandwich(a, b, c, N) -> Terms:
    """sum_i sigma^-_i B(a,b,c) sigma^+_i = (N-a-b+c+1) B(a-1,b-1,c-1)."""
    return ((N - a - b + c + 1, (a - 1, b - 1, c - 1)),)


def site_number(a, b, c, N) -> Terms:
    """sum_i sigma^+_i sigma^-_i B(a,b,c) = a B(a,b,c)."""
    return ((a, (a, b, c)),)


def site_z_sandwich(a, b, c, N) -> Terms:
    """sum_i sigma^z_i B(a,b,c) sigma^z_i = (N - 2(a+b-2c)) B(a,b,c)."""
    return ((N - 2 * (a + b - 2 * c), (a, b, c)),)


def site_raise_sandwich(a, b, c, N) -> Terms:
    """sum_i sigma^+_i B(a,b,c) sigma^-_i = (c+1) B(a+1,b+1,c+1)."""
    return ((c + 1, (a + 1, b + 1, c + 1)),)


# ---- rules on the ket side, symmetric sector ------------------------------------------------


def dicke_raise(a, b, N) -> Terms:
    """S+ E(a,b) = (a+1) E(a+1,b)."""
    return ((a + 1, (a + 1, b)),)


def dicke_lower(a, b, N) -> Terms:
    """S- E(a,b) = (N-a+1) E(a-1,b)."""
    return ((N - a + 1, (a - 1, b)),)


def dicke_z(a, b, N) -> Terms:
    """Sz E(a,b) = (a - N/2) E(a,b)."""
    return ((a - N / 2, (a, b)),)


class Basis:
    """Common machinery of the two bases: words acting left and right, trace, adjoint."""

    name: str
    ket_rules: dict[str, Rule]
    dark: Key

    def __init__(self, field: Field):
        self.F = field
        self._chain_cache: dict[tuple[Chain, Key], list[tuple[Elem, Key]]] = {}

    # -- to be provided by subclasses
    def valid(self, key: Key) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def swap(self, key: Key) -> Key:  # pragma: no cover
        raise NotImplementedError

    def trace(self, key: Key) -> Elem | None:  # pragma: no cover
        raise NotImplementedError

    def block(self, key: Key) -> tuple[int, int]:
        return key[0], key[1]

    @staticmethod
    def valid_labels(*key_and_n):  # pragma: no cover - interface
        """Array-friendly validity of labels ``(*key, N)``."""
        raise NotImplementedError

    @staticmethod
    def traced(*key):  # pragma: no cover - interface
        """Array-friendly: where the trace of the element is C(N, key[0]) (else 0)."""
        raise NotImplementedError

    @staticmethod
    def norm2_binomials(*key_and_n):  # pragma: no cover - interface
        """The binomials whose product is the squared Hilbert–Schmidt norm of the element."""
        raise NotImplementedError

    def block_keys(self, a: int, b: int) -> list[Key]:  # pragma: no cover
        raise NotImplementedError

    # -- shared
    def rule(self, rule: Callable[..., Terms], key: Key) -> list[tuple[Elem, Key]]:
        """Apply a rule to one key: valid targets with nonzero coefficients."""
        out = []
        for coeff, target in rule(*key, self.F.N):
            if self.valid(target) and not (isinstance(coeff, int) and coeff == 0):
                out.append((self.F.convert(coeff) if isinstance(coeff, int) else coeff, target))
        return out

    def word_chain(self, word: Word, side: str = "ket") -> Chain:
        """Steps of ``word * X`` (side ``"ket"``: the last letter acts first) or of ``X * word``
        (side ``"bra"``: ``X w = (w^dag X^dag)^dag``, the letters of w^dag in the order they act)."""
        if side == "ket":
            return tuple(("ket", self.ket_rules[x]) for x in reversed(word))
        return tuple(("bra", self.ket_rules[x]) for x in reversed(adjoint_word(word)))

    def step(self, step: Step, key: Key) -> list[tuple[Elem, Key]]:
        """One step on one key: a rule on the ket side, or on the adjoint (bra side)."""
        side, rule = step
        if side == "ket":
            return self.rule(rule, key)
        return [(v, self.swap(k)) for v, k in self.rule(rule, self.swap(key))]

    def chain(self, chain: Chain, key: Key) -> list[tuple[Elem, Key]]:
        """The steps of a chain applied in order to one key (cached), as (coefficient, key) pairs."""
        cache_key = (chain, key)
        hit = self._chain_cache.get(cache_key)
        if hit is not None:
            return hit
        current: dict[Key, Elem] = {key: self.F.one}
        for step in chain:
            nxt: dict[Key, Elem] = {}
            for k, v in current.items():
                for coeff, target in self.step(step, k):
                    nxt[target] = nxt.get(target, 0) + coeff * v
            current = nxt
        result = [(v, k) for k, v in current.items() if not self.F.is_zero(v)]
        self._chain_cache[cache_key] = result
        return result

    def left_word(self, word: Word, key: Key) -> list[tuple[Elem, Key]]:
        """``word * key`` as (coefficient, key) pairs; the last letter acts first."""
        return self.chain(self.word_chain(word, "ket"), key)

    def right_word(self, word: Word, key: Key) -> list[tuple[Elem, Key]]:
        """``key * word``, from the left action of the adjoint word on the adjoint key."""
        return self.chain(self.word_chain(word, "bra"), key)

    def apply_left(self, word: Word, op: Operator) -> Operator:
        out: Operator = {}
        for key, x in op.items():
            for v, k in self.left_word(word, key):
                out[k] = out.get(k, 0) + v * x
        return out

    def expect(self, word: Word, op: Operator) -> Elem:
        """``Tr(word * op)``."""
        total = self.F.zero
        for key, x in op.items():
            for v, k in self.left_word(word, key):
                t = self.trace(k)
                if t is not None:
                    total = total + t * v * x
        return total

    def adjoint(self, op: Operator) -> Operator:
        return {self.swap(k): self.F.conj(v) for k, v in op.items()}

    def tr(self, op: Operator) -> Elem:
        total = self.F.zero
        for key, x in op.items():
            t = self.trace(key)
            if t is not None:
                total = total + t * x
        return total


class OrbitBasis(Basis):
    """Permutation-invariant operators B(a, b, c); takes local dissipators too."""

    name = "permutation-invariant"
    ket_rules = {"p": orbit_raise, "m": orbit_lower, "z": orbit_z}
    dark: Key = (0, 0, 0)
    valid_labels = staticmethod(orbit_valid)
    traced = staticmethod(orbit_traced)
    norm2_binomials = staticmethod(orbit_norm2_binomials)

    def valid(self, key: Key) -> bool:
        return bool(orbit_valid(*key, self.F.n_int))

    def swap(self, key: Key) -> Key:
        return (key[1], key[0], key[2])

    def trace(self, key: Key) -> Elem | None:
        return self.F.binomial(key[0]) if orbit_traced(*key) else None

    def block_keys(self, a: int, b: int) -> list[Key]:
        lo = 0 if self.F.n_int is None else max(0, a + b - self.F.n_int)
        return [(a, b, c) for c in range(lo, min(a, b) + 1)]

    def size(self, key: Key) -> int:
        """Emitters an orbit element involves: it exists for N >= a + b - c."""
        return key[0] + key[1] - key[2]


class SymmetricBasis(Basis):
    """Operators on the symmetric (Dicke, j = N/2) sector, E(a, b) = |a>><<b|."""

    name = "symmetric"
    ket_rules = {"p": dicke_raise, "m": dicke_lower, "z": dicke_z}
    dark: Key = (0, 0)
    valid_labels = staticmethod(dicke_valid)
    traced = staticmethod(dicke_traced)
    norm2_binomials = staticmethod(dicke_norm2_binomials)

    def valid(self, key: Key) -> bool:
        return bool(dicke_valid(*key, self.F.n_int))

    def swap(self, key: Key) -> Key:
        return (key[1], key[0])

    def trace(self, key: Key) -> Elem | None:
        return self.F.binomial(key[0]) if dicke_traced(*key) else None

    def block_keys(self, a: int, b: int) -> list[Key]:
        return [(a, b)]

    def size(self, key: Key) -> int:
        return max(key)
