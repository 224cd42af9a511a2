"""A plain 2^N steady-state solver: explicit Kronecker matrices, an independent cross-check.

Nothing here uses the orbit algebra: the Hamiltonian is the model's normal-ordered word
polynomial with each letter replaced by its 2^N matrix, the dissipators are written out site
by site, and the Liouvillian acts on ``vec(rho)`` (column stacking,
``vec(A X B) = (B^T ⊗ A) vec(X)``). Conventions (DESIGN §2): single-site basis
(|↓>, |↑>), ``sigma^+ = |↑><↓|``, ``S_a = (1/2) sum_i sigma^a_i``; site 0 is the leftmost
Kronecker factor. Collective-only models are solved in the symmetric (Dicke) subspace, whose
isometry is built from subsets of excited emitters. Meant for N <= 6 (dimension 4^N).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Mapping

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from .errors import ExactSolverError, NonUniqueSteadyStateError
from .model import Model
from .observables import exact_observables
from .points import point_field
from .threads import single_blas_thread

#: Largest N the 2^N solver accepts (the Liouvillian has dimension 4^N).
MAX_FULL_N = 8

_SP = scipy.sparse.csr_matrix(np.array([[0, 0], [1, 0]], dtype=complex))  # |up><down|
_SZ = scipy.sparse.csr_matrix(np.diag([-1.0, 1.0]).astype(complex))


def site_operator(op: scipy.sparse.spmatrix, i: int, n: int) -> scipy.sparse.csr_matrix:
    """``op`` on emitter i of n."""
    out = scipy.sparse.identity(1, dtype=complex, format="csr")
    for k in range(n):
        out = scipy.sparse.kron(out, op if k == i else scipy.sparse.identity(2, dtype=complex), format="csr")
    return out


def collective_letters(n: int) -> dict[str, scipy.sparse.csr_matrix]:
    """The letters of a word as 2^n matrices: p = S+ = sum sigma^+, m = S-, z = Sz."""
    sp = sum(site_operator(_SP, i, n) for i in range(n))
    sz = 0.5 * sum(site_operator(_SZ, i, n) for i in range(n))
    return {"p": sp.tocsr(), "m": sp.T.conj().tocsr(), "z": sz.tocsr()}


def hamiltonian_matrix(model: Model, point: Mapping[str, Any]) -> scipy.sparse.csr_matrix:
    """H at a point: every word of ``model.poly`` as a product of letter matrices."""
    _, convert, _ = point_field(model, point)
    n = int(point["N"])
    letters = collective_letters(n)
    H = scipy.sparse.csr_matrix((2**n, 2**n), dtype=complex)
    for word, coeff in model.poly.items():
        term = scipy.sparse.identity(2**n, dtype=complex, format="csr")
        for letter in word:
            term = term @ letters[letter]
        H = H + complex(convert(coeff)) * term
    return H


def jump_operators(model: Model, point: Mapping[str, Any]) -> list[tuple[float, scipy.sparse.csr_matrix]]:
    """``(rate, L)`` for every jump: sigma^-_i, S-, sigma^z_i, sigma^+_i (DESIGN §2)."""
    _, convert, _ = point_field(model, point)
    n = int(point["N"])
    out = []
    for name, expr in model.rates.items():
        rate = complex(convert(expr)).real
        if rate == 0:
            continue
        if name == "local_emission":
            out += [(rate, site_operator(_SP.T, i, n)) for i in range(n)]
        elif name == "collective_emission":
            out.append((rate, collective_letters(n)["m"]))
        elif name == "local_dephasing":
            out += [(rate, site_operator(_SZ, i, n)) for i in range(n)]
        elif name == "local_pumping":
            out += [(rate, site_operator(_SP, i, n)) for i in range(n)]
    return out


def liouvillian_matrix(H: scipy.sparse.spmatrix, jumps: list[tuple[float, scipy.sparse.spmatrix]]
                       ) -> scipy.sparse.csr_matrix:
    """``-i[H, .] + sum r D[L]`` on ``vec(rho)`` (column stacking)."""
    d = H.shape[0]
    eye = scipy.sparse.identity(d, dtype=complex, format="csr")
    L = -1j * scipy.sparse.kron(eye, H) + 1j * scipy.sparse.kron(H.T, eye)
    for rate, J in jumps:
        JdJ = (J.conj().T @ J).tocsr()
        L = L + rate * (scipy.sparse.kron(J.conj(), J) - 0.5 * scipy.sparse.kron(eye, JdJ)
                        - 0.5 * scipy.sparse.kron(JdJ.T, eye))
    return L.tocsr()


def symmetric_isometry(n: int) -> scipy.sparse.csr_matrix:
    """Columns ``|a>> / sqrt(C(n, a))`` with ``|a>> = sum_{|A|=a} |A>``, a = 0..n."""
    rows, cols, vals = [], [], []
    for a in range(n + 1):
        for A in itertools.combinations(range(n), a):
            rows.append(sum(1 << (n - 1 - i) for i in A))
            cols.append(a)
            vals.append(1 / math.sqrt(math.comb(n, a)))
    return scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(2**n, n + 1), dtype=complex)


def _steady(L: scipy.sparse.csr_matrix, d: int, n: int) -> np.ndarray:
    """``L vec(rho) = 0`` with ``Tr rho = 1`` (row 0, a diagonal element's, replaced by the trace)."""
    A = L.tolil()
    A[0, :] = 0
    A[0, np.arange(d) * (d + 1)] = 1
    rhs = np.zeros(d * d, dtype=complex)
    rhs[0] = 1
    try:
        with single_blas_thread():
            x = scipy.sparse.linalg.splu(A.tocsc(), permc_spec="MMD_AT_PLUS_A").solve(rhs)
    except RuntimeError:
        x = np.full(d * d, np.nan)
    if not np.all(np.isfinite(x)) or np.abs(L @ x).max() > 1e-9 * max(1.0, abs(L).max()):
        raise NonUniqueSteadyStateError(f"the 2^N Liouvillian at N = {n} is singular: the steady state is not unique")
    rho = x.reshape(d, d, order="F")
    return 0.5 * (rho + rho.conj().T)


def full_steady_state(model: Model, point: Mapping[str, Any]) -> np.ndarray:
    """The 2^N x 2^N steady state; collective-only models start in (and stay in) the symmetric subspace."""
    n = int(point["N"])
    if not 1 <= n <= MAX_FULL_N:
        raise ExactSolverError(f"the 2^N solver takes 1 <= N <= {MAX_FULL_N}, not N = {n}")
    H = hamiltonian_matrix(model, point)
    jumps = jump_operators(model, point)
    if model.has_local_processes:
        return _steady(liouvillian_matrix(H, jumps), 2**n, n)
    V = symmetric_isometry(n)
    Vh = V.conj().T
    small = liouvillian_matrix((Vh @ H @ V).tocsr(), [(r, (Vh @ J @ V).tocsr()) for r, J in jumps])
    rho = _steady(small, n + 1, n)
    return (V @ scipy.sparse.csr_matrix(rho) @ Vh).toarray()


def full_moments(model: Model, point: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """``m_a = Tr(S_a rho)`` and ``Tr({S_a, S_b} rho)/2`` of the 2^N steady state."""
    n = int(point["N"])
    rho = full_steady_state(model, point)
    letters = collective_letters(n)
    S = [0.5 * (letters["p"] + letters["m"]), -0.5j * (letters["p"] - letters["m"]), letters["z"]]
    S = [s.toarray() for s in S]
    mean = np.array([np.trace(s @ rho).real for s in S])
    second = np.array([[0.5 * np.trace((S[a] @ S[b] + S[b] @ S[a]) @ rho).real for b in range(3)]
                       for a in range(3)])
    return mean, second


def full_observables_at(model: Model, point: Mapping[str, Any]) -> dict[str, Any]:
    """Squeezing, direction, mean, covariance and rs_gap of the 2^N steady state (same format
    and observable code as :func:`symsteady.exact.exact_observables_at`)."""
    mean, second = full_moments(model, point)
    return exact_observables(int(point["N"]), mean, second)
