"""Truncated power series in the small parameter, over any coefficient arithmetic.

``PowerSeries([c0, c1, ..., cK])`` stands for ``c0 + c1 λ + ... + cK λ^K + O(λ^{K+1})``.
Products, inverses and square roots are truncated at the common order K, which is what the
consistent order-K expansion of ``docs/algorithm/squeezing.md`` needs.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence


class PowerSeries:
    __slots__ = ("c",)

    def __init__(self, coeffs: Sequence[Any]):
        self.c = list(coeffs)

    @property
    def order(self) -> int:
        return len(self.c) - 1

    def _lift(self, other: Any) -> "PowerSeries":
        if isinstance(other, PowerSeries):
            return other
        return PowerSeries([other] + [0 * other] * self.order)

    def __add__(self, other: Any) -> "PowerSeries":
        o = self._lift(other)
        return PowerSeries([x + y for x, y in zip(self.c, o.c)])

    __radd__ = __add__

    def __neg__(self) -> "PowerSeries":
        return PowerSeries([-x for x in self.c])

    def __sub__(self, other: Any) -> "PowerSeries":
        return self + (-self._lift(other))

    def __rsub__(self, other: Any) -> "PowerSeries":
        return self._lift(other) - self

    def __mul__(self, other: Any) -> "PowerSeries":
        if not isinstance(other, PowerSeries):
            return PowerSeries([x * other for x in self.c])
        K = min(self.order, other.order)
        return PowerSeries(
            [sum((self.c[i] * other.c[k - i] for i in range(1, k + 1)), self.c[0] * other.c[k])
             for k in range(K + 1)]
        )

    __rmul__ = __mul__

    def inverse(self) -> "PowerSeries":
        """1/s, given an invertible constant term."""
        inv0 = 1 / self.c[0]
        out = [inv0]
        for k in range(1, self.order + 1):
            acc = sum((self.c[i] * out[k - i] for i in range(2, k + 1)), self.c[1] * out[k - 1])
            out.append(-acc * inv0)
        return PowerSeries(out)

    def __truediv__(self, other: Any) -> "PowerSeries":
        if isinstance(other, PowerSeries):
            return self * other.inverse()
        return PowerSeries([x / other for x in self.c])

    def __rtruediv__(self, other: Any) -> "PowerSeries":
        return self._lift(other) * self.inverse()

    def sqrt(self, root0: Any) -> "PowerSeries":
        """sqrt(s) given ``root0`` = sqrt(c0) (chosen by the caller: the field may lack roots)."""
        out = [root0]
        two_r0 = 2 * root0
        for k in range(1, self.order + 1):
            acc = sum((out[i] * out[k - i] for i in range(1, k)), 0 * root0)
            out.append((self.c[k] - acc) / two_r0)
        return PowerSeries(out)

    def map(self, f: Callable[[Any], Any]) -> "PowerSeries":
        return PowerSeries([f(x) for x in self.c])

    def at(self, lam: Any) -> Any:
        """The truncated polynomial evaluated at λ (Horner)."""
        acc = self.c[-1]
        for x in reversed(self.c[:-1]):
            acc = acc * lam + x
        return acc
