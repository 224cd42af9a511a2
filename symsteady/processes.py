"""Dissipative processes: each one defined here, once; the rest of symsteady asks this module.

A process is a Lindblad dissipator ``r D[L]`` (collective: one jump operator L, a word in the
collective spins) or ``r sum_i D[J_i]`` (local: the same single-emitter jump J on every
emitter), with ``D[L]rho = L rho L^dag - {L^dag L, rho}/2`` and a rate r >= 0 (a model may
make it an expression of its parameters; where it is 0 the process is off). Conventions:
``S_a = (1/2) sum_i sigma^a_i``, ``sigma^+ = |up><down|``, ``S_z = (1/2) sum_i sigma^z_i``.
See ``docs/algorithm/conventions.md#conventions-processes`` for the physics and
``docs/algorithm/orbit-basis.md#orbit-actions`` for the orbit-basis actions used here.

For each process this module holds: its key in a model file, local or collective, its terms
on the orbit basis (a list of ``(coefficient, chain)`` as :class:`symsteady.liouvillian.Superoperator`
takes them), its single-emitter jump matrix or collective jump word, its loss operator
``sum L^dag L`` (the effective-Hamiltonian term ``-(i/2) r sum L^dag L``), whether the dark
state stays dark, its LaTeX symbol and its QuTiP piqs counterpart (``piqs.Dicke`` keyword
and the factor between piqs' rate and ours).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy

from .algebra import (
    Basis,
    Chain,
    OrbitBasis,
    Rule,
    site_lower_sandwich,
    site_number,
    site_raise_sandwich,
    site_z_sandwich,
)
from .errors import MethodError
from .spinpoly import Word, adjoint_word


@dataclass(frozen=True)
class Process:
    """What every process tells the rest of symsteady.

    ``key``: the model-file key (``local_emission = "gamma"``); ``scope``: ``"local"`` or
    ``"collective"``; ``rate_name``: the conventional name of its rate in the docs;
    ``formula``: the dissipator in plain text; ``latex``: the dissipator acting on rho, in
    LaTeX; ``annihilates_dark``: every jump operator annihilates the dark state (the pure-state
    method applies); ``keeps_dark``: the dark state is a steady state of the dissipator (the
    perturbative methods apply); ``piqs``: ``(keyword of qutip.piqs.Dicke, factor)`` with
    piqs' rate = factor * our rate.
    """

    key: str
    scope: str
    rate_name: str
    formula: str
    latex: str
    annihilates_dark: bool
    keeps_dark: bool
    piqs: tuple[str, float]

    @property
    def local(self) -> bool:
        return self.scope == "local"

    def terms(self, basis: Basis, rate: Any) -> list[tuple[Any, Chain]]:  # pragma: no cover - interface
        """``r D[...] X`` as ``sum coefficient * chain(X)`` on the basis (rate in the basis' field)."""
        raise NotImplementedError

    def loss(self, n: Any) -> dict[Word, Any]:  # pragma: no cover - interface
        """``sum L^dag L`` as a spin polynomial ``{word: coefficient}`` (N = n)."""
        raise NotImplementedError


@dataclass(frozen=True)
class LocalProcess(Process):
    """``r sum_i D[J_i]``: ``site_matrix`` is J in the single-emitter basis ``(|down>, |up>)``;
    ``sandwich`` is the orbit rule of ``sum_i J_i X J_i^dag``; ``one_body = (u, v)`` writes
    ``sum_i J_i^dag J_i = u N + v sum_i sigma^+_i sigma^-_i``."""

    site_matrix: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))
    sandwich: Rule | None = None
    one_body: tuple[int, int] = (0, 0)

    def terms(self, basis: Basis, rate: Any) -> list[tuple[Any, Chain]]:
        if not isinstance(basis, OrbitBasis):
            raise MethodError(f"{self.key} acts on single emitters: it leaves the symmetric sector")
        u, v = self.one_body
        out: list[tuple[Any, Chain]] = [(rate, (("ket", self.sandwich),))]
        if v:
            out += [(-rate * v / 2, (("ket", site_number),)), (-rate * v / 2, (("bra", site_number),))]
        if u:
            out.append((-rate * u * basis.F.N, ()))
        return out

    def loss(self, n: Any) -> dict[Word, Any]:
        u, v = self.one_body
        out: dict[Word, Any] = {}
        if v:  # sum_i sigma^+_i sigma^-_i = Sz + N/2
            out[("z",)] = v
        if u or v:
            out[()] = u * n + v * n / 2
        return out


@dataclass(frozen=True)
class CollectiveProcess(Process):
    """``r D[L]`` with L a word in the collective spins (``("m",)`` is S-, ``("z",)`` is Sz)."""

    jump: Word = ()

    def terms(self, basis: Basis, rate: Any) -> list[tuple[Any, Chain]]:
        L, Ld = self.jump, adjoint_word(self.jump)
        loss = Ld + L
        return [(rate, basis.word_chain(L, "ket") + basis.word_chain(Ld, "bra")),
                (-rate / 2, basis.word_chain(loss, "ket")),
                (-rate / 2, basis.word_chain(loss, "bra"))]

    def loss(self, n: Any) -> dict[Word, Any]:
        return {adjoint_word(self.jump) + self.jump: 1}


#: Every process symsteady knows, in the order model files and outputs list them.
PROCESSES: tuple[Process, ...] = (
    LocalProcess(
        key="local_emission", scope="local", rate_name="gamma", formula="gamma sum_i D[sigma^-_i]",
        latex=r"\sum_{i=1}^{N} \mathcal{D}[\sigma^{-}_{i}]\rho", annihilates_dark=True, keeps_dark=True,
        piqs=("emission", 1.0), site_matrix=((0, 1), (0, 0)), sandwich=site_lower_sandwich, one_body=(0, 1)),
    LocalProcess(
        key="local_dephasing", scope="local", rate_name="gamma_phi", formula="gamma_phi sum_i D[sigma^z_i]",
        latex=r"\sum_{i=1}^{N} \mathcal{D}[\sigma^{z}_{i}]\rho", annihilates_dark=False, keeps_dark=True,
        # piqs dephases with sigma^z/2: D[sigma^z/2] = D[sigma^z]/4
        piqs=("dephasing", 4.0), site_matrix=((-1, 0), (0, 1)), sandwich=site_z_sandwich, one_body=(1, 0)),
    LocalProcess(
        key="local_pumping", scope="local", rate_name="gamma_p", formula="gamma_p sum_i D[sigma^+_i]",
        latex=r"\sum_{i=1}^{N} \mathcal{D}[\sigma^{+}_{i}]\rho", annihilates_dark=False, keeps_dark=False,
        # sigma^- sigma^+ = 1 - sigma^+ sigma^-
        piqs=("pumping", 1.0), site_matrix=((0, 0), (1, 0)), sandwich=site_raise_sandwich, one_body=(1, -1)),
    CollectiveProcess(
        key="collective_emission", scope="collective", rate_name="Gamma", formula="Gamma D[S_-]",
        latex=r"\mathcal{D}[S_{-}]\rho", annihilates_dark=True, keeps_dark=True,
        piqs=("collective_emission", 1.0), jump=("m",)),
    CollectiveProcess(
        key="collective_dephasing", scope="collective", rate_name="Gamma_phi", formula="Gamma_phi D[S_z]",
        latex=r"\mathcal{D}[S_{z}]\rho", annihilates_dark=False, keeps_dark=True,
        piqs=("collective_dephasing", 1.0), jump=("z",)),
)
BY_KEY: dict[str, Process] = {p.key: p for p in PROCESSES}
KEYS: tuple[str, ...] = tuple(BY_KEY)


def process(key: str) -> Process:
    """The process of a model-file key (KeyError for an unknown key)."""
    return BY_KEY[key]


def site_matrix(p: LocalProcess) -> sympy.Matrix:
    """The single-emitter jump matrix J of a local process, basis ``(|down>, |up>)``."""
    return sympy.Matrix(p.site_matrix)
