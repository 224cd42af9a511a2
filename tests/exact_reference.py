"""Independent exact-reference helpers for the ``symsteady`` test suite.

Nothing here imports ``symsteady``: everything is computed from the
definitions with numpy / scipy / qutip (+ ``qutip.piqs``).

Conventions (fixed by the project)
----------------------------------
* sigma^+ = |up><down|, sigma^- = |down><up|, sigma^z = |up><up| - |down><down|.
* S_a = (1/2) sum_i sigma^a_i, S_+ = sum_i sigma^+_i, S_- = S_+^dag.
* Lindblad: drho/dt = -i[H, rho] + sum_k r_k D[L_k] rho with
  D[L]rho = L rho L^dag - {L^dag L, rho}/2 and the rates
  local emission gamma * sum_i D[sigma^-_i], collective emission Gamma * D[S_-],
  local dephasing gamma_phi * sum_i D[sigma^z_i],
  local pumping gamma_p * sum_i D[sigma^+_i].

Full-space basis ordering (``local_ops``, ``dark_state``, ``orbit_matrix``)
---------------------------------------------------------------------------
Single site basis is ``(|down>, |up>)`` i.e. index 0 = down, index 1 = up, so
``sigma^+ = [[0, 0], [1, 0]]``.  The N-site space is ``kron(site_0, site_1, ...,
site_{N-1})`` (site 0 is the most significant bit).  Hence the computational
basis index ``k`` has emitter ``i`` excited iff bit ``N-1-i`` of ``k`` is set,
and the dark state ``|down...down>`` is basis vector 0.

Density matrices are vectorised column-stacked (Fortran order):
``vec(rho) = rho.reshape(-1, order='F')``, so that
``vec(A X B) = kron(B.T, A) vec(X)``.

Convention notes found while writing these helpers (verified in
``test_exact_reference.py``)
---------------------------------------------------------------------------
* ``qutip.piqs.Dicke`` rates map as emission = gamma, dephasing = 4 * gamma_phi
  (piqs uses the local operator sigma^z/2), pumping = gamma_p,
  collective_emission = Gamma.  ``piqs.jspin(N)`` returns J_x, J_y, J_z equal to
  our S_x, S_y, S_z (spin-1/2 normalisation).  The piqs density matrix in the
  Dicke basis has unit trace and Tr(J_a rho) are the physical expectation values.
* ``qutip/piqs/_piqs.pyx`` stores *all* rates as C ``float`` (single precision)
  and evaluates the diagonal coefficient (gamma1, which contains the emission,
  dephasing, pumping and collective-emission "loss" terms) in single
  precision.  Several off-diagonal coefficients are evaluated in double
  precision, but from the float32-rounded rates.  Consequently piqs results are
  only good to ~1e-7 relative (worse for pumping and dephasing, whose
  gamma1 terms involve non-dyadic float32 arithmetic) unless the rates are
  exactly representable dyadic numbers.  ``piqs_lindbladian_float64`` is a
  line-by-line double-precision port of the piqs Lindbladian (same Dicke-basis
  layout), used when ``precision='double'`` is requested.
* ``qutip.jmat(j)`` is ordered m = +j, j-1, ..., -j (index 0 is the *top*,
  fully excited state); the dark state is the last basis vector.
  ``jmat(j, '-')`` is S_- (lower-triangular, positive Condon-Shortley entries).
"""

from __future__ import annotations

import itertools
import math
from functools import partial
from typing import Callable, Mapping

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import qutip
from qutip import piqs

__all__ = [
    "local_ops",
    "dark_state",
    "orbit_matrix",
    "symmetric_basis",
    "spin_j_basis",
    "lindblad_full",
    "apply_lindblad_full",
    "steady_state_full",
    "symmetric_subspace_steady_state_full",
    "moments_from_state",
    "full_steady_state_moments",
    "piqs_lindbladian_float64",
    "piqs_steady_state",
    "piqs_steady_state_moments",
    "qfi_from_state",
    "symmetric_sector_steady_state_moments",
    "squeezing_from_moments",
    "h_xyz",
    "h_tfi",
    "h_driven_ising",
    "h_resonance_fluorescence",
    "MODELS",
    "reference_moments",
    "product_state_xi2_R",
]

RATE_NAMES = ("local_emission", "collective_emission", "local_dephasing", "local_pumping",
              "collective_dephasing")
LOCAL_RATE_NAMES = ("local_emission", "local_dephasing", "local_pumping")

_SP1 = np.array([[0, 0], [1, 0]], dtype=complex)  # |up><down| in (down, up) basis
_SM1 = _SP1.T.copy()
_SZ1 = np.array([[-1, 0], [0, 1]], dtype=complex)


# --------------------------------------------------------------------------
# Full 2^N space
# --------------------------------------------------------------------------
def _site_op(op: np.ndarray, i: int, N: int) -> np.ndarray:
    out = np.ones((1, 1), dtype=complex)
    for k in range(N):
        out = np.kron(out, op if k == i else np.eye(2, dtype=complex))
    return out


def local_ops(N: int) -> dict:
    """Per-site and collective spin operators as dense 2^N x 2^N complex arrays.

    Keys: 'sp', 'sm', 'sz' (lists over sites of sigma^+, sigma^-, sigma^z) and
    'Sx', 'Sy', 'Sz', 'Sp', 'Sm' (collective).  Basis ordering: see module doc
    (site basis (down, up); site 0 = leftmost Kronecker factor).
    """
    sp_l = [_site_op(_SP1, i, N) for i in range(N)]
    sm_l = [_site_op(_SM1, i, N) for i in range(N)]
    sz_l = [_site_op(_SZ1, i, N) for i in range(N)]
    Sp = sum(sp_l)
    Sm = sum(sm_l)
    Sz = 0.5 * sum(sz_l)
    Sx = 0.5 * (Sp + Sm)
    Sy = -0.5j * (Sp - Sm)
    return {"sp": sp_l, "sm": sm_l, "sz": sz_l,
            "Sx": Sx, "Sy": Sy, "Sz": Sz, "Sp": Sp, "Sm": Sm}


def dark_state(N: int) -> np.ndarray:
    """State vector |down,...,down> (basis vector 0 in our ordering)."""
    v = np.zeros(2**N, dtype=complex)
    v[0] = 1.0
    return v


def _set_index(A: tuple[int, ...] | set[int], N: int) -> int:
    """Basis index of |A> = prod_{i in A} sigma^+_i |dark>."""
    return sum(1 << (N - 1 - i) for i in A)


def orbit_matrix(N: int, a: int, b: int, c: int) -> np.ndarray:
    """Explicit 2^N matrix of B(a,b,c) = sum_{|A|=a,|B|=b,|A∩B|=c} |A><B|.

    Returns the zero matrix when (a, b, c) is not a valid orbit label
    (needs 0 <= c <= min(a, b) and a + b - c <= N).
    """
    M = np.zeros((2**N, 2**N), dtype=complex)
    if not (0 <= c <= min(a, b) and a + b - c <= N and a >= 0 and b >= 0):
        return M
    sets_a = [frozenset(s) for s in itertools.combinations(range(N), a)]
    sets_b = [frozenset(s) for s in itertools.combinations(range(N), b)]
    for A in sets_a:
        ia = _set_index(A, N)
        for B in sets_b:
            if len(A & B) == c:
                M[ia, _set_index(B, N)] += 1.0
    return M


def orbit_coefficients(X: np.ndarray, N: int) -> dict[tuple[int, int, int], complex]:
    """Orbit coefficients of a permutation-invariant 2^N matrix, every label: x = <B, X> / ||B||^2."""
    from symsteady.algebra import OrbitBasis
    from symsteady.exact.space import all_labels
    from symsteady.fields import ComplexField

    out = {}
    for key in zip(*(lab.tolist() for lab in all_labels(OrbitBasis(ComplexField(N)), N))):
        B = orbit_matrix(N, *key)
        out[key] = np.vdot(B, X) / np.vdot(B, B).real
    return out


def symmetric_basis(N: int) -> np.ndarray:
    """Isometry V (2^N x (N+1)) whose columns are the Dicke states |N/2, m>.

    Column ordering follows qutip.jmat: column i has m = N/2 - i, i.e.
    N - i excitations; column i = C(N, n)^(-1/2) sum_{|A|=n} |A>.
    """
    V = np.zeros((2**N, N + 1), dtype=complex)
    for i in range(N + 1):
        n = N - i
        for A in itertools.combinations(range(N), n):
            V[_set_index(A, N), i] = 1.0
        V[:, i] /= math.sqrt(math.comb(N, n))
    return V


def spin_j_basis(N: int, k: int) -> np.ndarray:
    """Isometry (2^N x (N-2k+1)) onto one copy of the spin j = N/2 - k irrep.

    Singlets (|up,down> - |down,up>)/sqrt(2) on the site pairs (0,1), ..., (2k-2, 2k-1), times
    the Dicke states of the remaining N - 2k sites; columns ordered m = j, j-1, ..., -j as in
    ``qutip.jmat``. Built from explicit vectors only.
    """
    up, down = np.array([0, 1], dtype=complex), np.array([1, 0], dtype=complex)
    singlet = (np.kron(up, down) - np.kron(down, up)) / math.sqrt(2)
    pairs = np.ones(1, dtype=complex)
    for _ in range(k):
        pairs = np.kron(pairs, singlet)
    rest = symmetric_basis(N - 2 * k) if N > 2 * k else np.ones((1, 1), dtype=complex)
    return np.kron(pairs[:, None], rest)


def _check_rates(rates: Mapping[str, float]) -> dict:
    bad = set(rates) - set(RATE_NAMES)
    if bad:
        raise TypeError(f"unknown rate keyword(s): {sorted(bad)}")
    return {k: float(rates.get(k, 0.0)) for k in RATE_NAMES}


def _jump_operators_full(N: int, rates: Mapping[str, float]) -> list[tuple[float, np.ndarray]]:
    """List of (rate, L) pairs for the full-space dissipator."""
    r = _check_rates(rates)
    ops = local_ops(N)
    out: list[tuple[float, np.ndarray]] = []
    if r["local_emission"]:
        out += [(r["local_emission"], L) for L in ops["sm"]]
    if r["local_dephasing"]:
        out += [(r["local_dephasing"], L) for L in ops["sz"]]
    if r["local_pumping"]:
        out += [(r["local_pumping"], L) for L in ops["sp"]]
    if r["collective_emission"]:
        out.append((r["collective_emission"], ops["Sm"]))
    if r["collective_dephasing"]:
        out.append((r["collective_dephasing"], ops["Sz"]))
    return out


def _liouvillian_sparse(H: np.ndarray, jumps: list[tuple[float, np.ndarray]]) -> sp.csr_matrix:
    """Column-stacking Liouvillian as a sparse matrix (any dimension)."""
    d = H.shape[0]
    Id = sp.identity(d, dtype=complex, format="csr")
    Hs = sp.csr_matrix(np.asarray(H, dtype=complex))
    Lv = -1j * sp.kron(Id, Hs) + 1j * sp.kron(Hs.T, Id)
    for rate, L in jumps:
        Ls = sp.csr_matrix(np.asarray(L, dtype=complex))
        LdL = (Ls.conj().T @ Ls).tocsr()
        Lv = Lv + rate * (sp.kron(Ls.conj(), Ls)
                          - 0.5 * sp.kron(Id, LdL)
                          - 0.5 * sp.kron(LdL.T, Id))
    return Lv.tocsr()


def lindblad_full(N: int, H: np.ndarray, local_emission: float = 0, collective_emission: float = 0,
                  local_dephasing: float = 0, local_pumping: float = 0) -> np.ndarray:
    """Dense 4^N x 4^N Liouvillian acting on vec(rho) = rho.reshape(-1, order='F')."""
    jumps = _jump_operators_full(N, dict(local_emission=local_emission,
                                         collective_emission=collective_emission,
                                         local_dephasing=local_dephasing,
                                         local_pumping=local_pumping))
    return _liouvillian_sparse(np.asarray(H), jumps).toarray()


def apply_lindblad_full(N: int, H: np.ndarray, rho: np.ndarray, **rates: float) -> np.ndarray:
    """drho/dt from the explicit Lindblad formula (no superoperator)."""
    H = np.asarray(H, dtype=complex)
    rho = np.asarray(rho, dtype=complex)
    out = -1j * (H @ rho - rho @ H)
    for rate, L in _jump_operators_full(N, rates):
        Ld = L.conj().T
        LdL = Ld @ L
        out = out + rate * (L @ rho @ Ld - 0.5 * (LdL @ rho + rho @ LdL))
    return out


def _null_vector_trace_one(Lv: sp.spmatrix, d: int, check: bool = True,
                           residual_tol: float = 1e-9) -> np.ndarray:
    """Solve Lv vec(rho) = 0 with Tr rho = 1 (unique steady state assumed).

    Row 0 of Lv (the equation for rho[0,0], a diagonal element) is redundant
    because the diagonal rows sum to zero (trace preservation); it is
    replaced by the trace condition and the system is solved by sparse LU.
    """
    A = sp.lil_matrix(Lv, dtype=complex)
    trace_row = np.zeros(d * d, dtype=complex)
    trace_row[np.arange(d) * (d + 1)] = 1.0
    A[0, :] = trace_row
    rhs = np.zeros(d * d, dtype=complex)
    rhs[0] = 1.0
    x = spla.spsolve(A.tocsc(), rhs)
    if check and not np.all(np.isfinite(x)):
        raise np.linalg.LinAlgError("steady state not unique / singular system")
    rho = x.reshape(d, d, order="F")
    rho = 0.5 * (rho + rho.conj().T)
    rho /= np.trace(rho).real
    if check:
        res = np.abs(Lv @ rho.reshape(-1, order="F")).max()
        scale = max(1.0, abs(Lv).max())
        if res > residual_tol * scale:
            raise np.linalg.LinAlgError(f"steady-state residual too large: {res:.3e}")
    return rho


def steady_state_full(N: int, H: np.ndarray, **rates: float) -> np.ndarray:
    """Unique steady state (2^N x 2^N) by an exact sparse-LU null-space solve.

    Requires a unique steady state (some local process present).  For
    collective-only dynamics use ``symmetric_subspace_steady_state_full``.
    """
    Lv = _liouvillian_sparse(np.asarray(H), _jump_operators_full(N, rates))
    return _null_vector_trace_one(Lv, 2**N)


def symmetric_subspace_steady_state_full(N: int, H: np.ndarray, collective_emission: float,
                                         collective_dephasing: float = 0.0) -> np.ndarray:
    """Steady state of collective emission (and dephasing) starting in the symmetric subspace.

    For collective-only dynamics (H a function of S_a, jumps S_-) the full-space
    steady state is not unique (every j sector and every permutation irrep
    multiplicity is conserved).  Here the full-space generators are compressed
    to the symmetric subspace with the explicit isometry V from
    ``symmetric_basis`` (built from subsets, not from jmat), the reduced
    problem is solved exactly, and the result is embedded back:
    rho_full = V rho_sym V^dag.  Its full-space Liouvillian residual is zero
    because H and S_- leave span(V) invariant (checked in the tests).
    """
    V = symmetric_basis(N)
    ops = local_ops(N)
    H = np.asarray(H, dtype=complex)
    leak = np.abs(H @ V - V @ (V.conj().T @ H @ V)).max()
    if leak > 1e-10 * max(1.0, np.abs(H).max()):
        raise ValueError("H does not leave the symmetric subspace invariant")
    Hr = V.conj().T @ H @ V
    jumps = [(float(collective_emission), V.conj().T @ ops["Sm"] @ V)]
    if collective_dephasing:
        jumps.append((float(collective_dephasing), V.conj().T @ ops["Sz"] @ V))
    Lv = _liouvillian_sparse(Hr, jumps)
    rho_r = _null_vector_trace_one(Lv, N + 1)
    return V @ rho_r @ V.conj().T


def moments_from_state(rho, Sx, Sy, Sz) -> tuple[np.ndarray, np.ndarray]:
    """(mean[a] = Re Tr(S_a rho), second[a,b] = Re Tr({S_a,S_b} rho)/2).

    Works for numpy arrays and qutip Qobj alike.
    """
    S = [Sx, Sy, Sz]
    if isinstance(rho, qutip.Qobj):
        tr = lambda X: complex((X @ rho).tr())  # noqa: E731
    else:
        tr = lambda X: complex(np.trace(X @ rho))  # noqa: E731
    mean = np.array([tr(S[a]).real for a in range(3)])
    second = np.empty((3, 3))
    for a in range(3):
        for b in range(3):
            second[a, b] = 0.5 * tr(S[a] @ S[b] + S[b] @ S[a]).real
    return mean, second


def full_steady_state_moments(N: int, hamiltonian_fn: Callable, symmetric: bool | None = None,
                              **rates: float) -> tuple[np.ndarray, np.ndarray]:
    """Steady-state moments in the full 2^N space.

    ``hamiltonian_fn(Sx, Sy, Sz)`` receives numpy arrays.  If ``symmetric`` is
    None it is set to True when no local process is present (collective
    emission only), in which case ``symmetric_subspace_steady_state_full`` is
    used; otherwise the unique steady state is computed.
    """
    r = _check_rates(rates)
    if symmetric is None:
        symmetric = not any(r[k] for k in LOCAL_RATE_NAMES)
    ops = local_ops(N)
    H = np.asarray(hamiltonian_fn(ops["Sx"], ops["Sy"], ops["Sz"]), dtype=complex)
    if symmetric:
        if any(r[k] for k in LOCAL_RATE_NAMES):
            raise ValueError("symmetric=True only makes sense for collective-only dynamics")
        rho = symmetric_subspace_steady_state_full(N, H, r["collective_emission"], r["collective_dephasing"])
    else:
        rho = steady_state_full(N, H, **r)
    return moments_from_state(rho, ops["Sx"], ops["Sy"], ops["Sz"])


# --------------------------------------------------------------------------
# piqs (Dicke basis, permutation-invariant density matrices)
# --------------------------------------------------------------------------
def piqs_lindbladian_float64(N: int, emission: float = 0.0, dephasing: float = 0.0,
                             pumping: float = 0.0, collective_emission: float = 0.0) -> qutip.Qobj:
    """Double-precision port of ``qutip.piqs._piqs.Dicke.lindbladian``.

    Same Dicke-basis layout (piqs's ``jmm1_dictionary``) and same gamma1..gamma9
    formulas as qutip 5.3.1's ``_piqs.pyx``, but evaluated in float64 (piqs
    uses C ``float``).  Collective pumping/dephasing are not ported.
    Rates are in piqs's convention (dephasing = 4 * gamma_phi).
    """
    yE, yD, yP, yCE = float(emission), float(dephasing), float(pumping), float(collective_emission)
    Nf = float(N)
    nds = piqs.num_dicke_states(N)
    from qutip.piqs._piqs import jmm1_dictionary
    _, _, jmm1_row, jmm1_inv = jmm1_dictionary(N)
    sq = math.sqrt

    def g1(j, m, m1):
        spont = yCE / 2 * (2 * j * (j + 1) - m * (m - 1) - m1 * (m1 - 1))
        losses = yE / 2 * (Nf + m + m1)
        pump = yP / 2 * (Nf - m - m1)
        if j <= 0:
            deph = yD * Nf / 4
        else:
            deph = yD / 2 * (Nf / 2 - m * m1 * (Nf / 2 + 1) / j / (j + 1))
        return -(spont + losses + pump + deph)

    def g2(j, m, m1):
        root = sq(max((j + m) * (j - m + 1) * (j + m1) * (j - m1 + 1), 0.0))
        out = yCE * root
        if j > 0:
            out += yE / 2 * root * (Nf / 2 + 1) / (j * (j + 1))
        return out

    def g3(j, m, m1):
        if j <= 0:
            return 0.0
        return yE / 2 * sq(max((j + m) * (j + m - 1) * (j + m1) * (j + m1 - 1), 0.0)) \
            * (Nf / 2 + j + 1) / (j * (2 * j + 1))

    def g4(j, m, m1):
        if j + 1 <= 0:
            return 0.0
        return yE / 2 * sq(max((j - m + 1) * (j - m + 2) * (j - m1 + 1) * (j - m1 + 2), 0.0)) \
            * (Nf / 2 - j) / ((j + 1) * (2 * j + 1))

    def g5(j, m, m1):
        if j <= 0:
            return 0.0
        return yD / 2 * sq(max((j**2 - m**2) * (j**2 - m1**2), 0.0)) \
            * (Nf / 2 + j + 1) / (j * (2 * j + 1))

    def g6(j, m, m1):
        return yD / 2 * sq(max(((j + 1)**2 - m**2) * ((j + 1)**2 - m1**2), 0.0)) \
            * (Nf / 2 - j) / ((j + 1) * (2 * j + 1))

    def g7(j, m, m1):
        if j <= 0:
            return 0.0
        return yP / 2 * sq(max((j - m - 1) * (j - m) * (j - m1 - 1) * (j - m1), 0.0)) \
            * (Nf / 2 + j + 1) / (j * (2 * j + 1))

    def g8(j, m, m1):
        if j <= 0:
            return 0.0
        return yP / 2 * sq(max((j + m + 1) * (j - m) * (j + m1 + 1) * (j - m1), 0.0)) \
            * (Nf / 2 + 1) / (j * (j + 1))

    def g9(j, m, m1):
        return yP / 2 * sq(max((j + m + 1) * (j + m + 2) * (j + m1 + 1) * (j + m1 + 2), 0.0)) \
            * (Nf / 2 - j) / ((j + 1) * (2 * j + 1))

    rows, cols, data = [], [], []
    for r, (j, m, m1) in jmm1_row.items():
        terms = [((j, m, m1), g1), ((j, m + 1, m1 + 1), g2), ((j + 1, m + 1, m1 + 1), g3),
                 ((j - 1, m + 1, m1 + 1), g4), ((j + 1, m, m1), g5), ((j - 1, m, m1), g6),
                 ((j + 1, m - 1, m1 - 1), g7), ((j, m - 1, m1 - 1), g8), ((j - 1, m - 1, m1 - 1), g9)]
        for key, g in terms:
            if key in jmm1_inv:
                rows.append(int(r))
                cols.append(int(jmm1_inv[key]))
                data.append(g(*(float(x) for x in key)))
    mat = sp.csr_matrix((np.asarray(data, dtype=complex), (rows, cols)), shape=(nds**2, nds**2))
    return qutip.Qobj(mat, dims=[[[nds], [nds]], [[nds], [nds]]])


def piqs_steady_state(N: int, hamiltonian_fn: Callable, local_emission: float = 0,
                      collective_emission: float = 0, local_dephasing: float = 0,
                      local_pumping: float = 0, collective_dephasing: float = 0,
                      precision: str = "double") -> tuple[np.ndarray, tuple]:
    """Steady state in the permutation-invariant (piqs) Dicke basis, and ``piqs.jspin(N)``.

    The matrix holds d_j rho_j in block j (unit ordinary trace).
    ``hamiltonian_fn(Sx, Sy, Sz)`` receives ``piqs.jspin(N)`` Qobj's.
    Rate mapping (verified numerically): emission = gamma,
    dephasing = 4 * gamma_phi, pumping = gamma_p, collective_emission = Gamma.
    ``precision='single'`` uses ``piqs.Dicke`` as shipped (float32 rates and
    diagonal coefficients, ~1e-7 relative accuracy); ``'double'`` (default)
    uses ``piqs_lindbladian_float64`` with the same formulas in float64.
    """
    Sx, Sy, Sz = piqs.jspin(N)
    H = hamiltonian_fn(Sx, Sy, Sz)
    piqs_rates = dict(emission=float(local_emission), dephasing=4.0 * float(local_dephasing),
                      pumping=float(local_pumping), collective_emission=float(collective_emission))
    if collective_dephasing and precision != "single":
        raise ValueError("collective dephasing is only in piqs as shipped (precision='single')")
    if precision == "single":
        Lind = piqs.Dicke(N, collective_dephasing=float(collective_dephasing), **piqs_rates).lindbladian()
    elif precision == "double":
        Lind = piqs_lindbladian_float64(N, **piqs_rates)
    else:
        raise ValueError("precision must be 'single' or 'double'")
    Liou = Lind - 1j * qutip.spre(H) + 1j * qutip.spost(H)
    # exact sparse LU with the trace condition (qutip.steadystate would also do)
    nds = Sx.shape[0]
    # piqs "trace" of the block-diagonal Dicke-basis matrix is the ordinary trace
    # (the float32 piqs Lindbladian is trace preserving only to ~1e-7)
    rho = _null_vector_trace_one(Liou.to("csr").data_as("csr_matrix"), nds,
                                 residual_tol=1e-9 if precision == "double" else 1e-5)
    return rho, (Sx.full(), Sy.full(), Sz.full())


def piqs_steady_state_moments(N: int, hamiltonian_fn: Callable, precision: str = "double",
                              **rates: float) -> tuple[np.ndarray, np.ndarray]:
    """Steady-state moments from the permutation-invariant (piqs) Dicke basis
    (:func:`piqs_steady_state`)."""
    rho, spins = piqs_steady_state(N, hamiltonian_fn, precision=precision, **rates)
    return moments_from_state(rho, *spins)


def qfi_from_state(rho: np.ndarray, Sx, Sy, Sz) -> np.ndarray:
    """The 3x3 quantum Fisher information matrix of a density matrix (direct eigendecomposition):
    F_ab = 2 sum_{p_k + p_l > 0} (p_k - p_l)^2 / (p_k + p_l) Re(<k|S_a|l><l|S_b|k>)."""
    p, U = np.linalg.eigh(0.5 * (rho + rho.conj().T))
    p = np.clip(p, 0.0, None)
    S = [U.conj().T @ np.asarray(X) @ U for X in (Sx, Sy, Sz)]
    F = np.zeros((3, 3))
    for k in range(len(p)):
        for l in range(len(p)):
            if p[k] + p[l] > 0:
                w = 2 * (p[k] - p[l]) ** 2 / (p[k] + p[l])
                for a in range(3):
                    for b in range(3):
                        F[a, b] += w * (S[a][k, l] * S[b][l, k]).real
    return F


# --------------------------------------------------------------------------
# Symmetric j = N/2 sector with qutip.jmat
# --------------------------------------------------------------------------
def symmetric_sector_steady_state_moments(N: int, hamiltonian_fn: Callable, collective_emission: float
                                          ) -> tuple[np.ndarray, np.ndarray]:
    """Moments in the j = N/2 Dicke sector (collective emission only).

    Uses ``qutip.jmat(N/2)``: basis ordered m = +N/2, ..., -N/2 (index 0 =
    fully excited), ``S_- = jmat(j, '-')``.  ``hamiltonian_fn`` receives
    Qobj's.  Steady state from ``qutip.steadystate``.
    """
    j = N / 2
    Sx, Sy, Sz = qutip.jmat(j, "x"), qutip.jmat(j, "y"), qutip.jmat(j, "z")
    Sm = qutip.jmat(j, "-")
    H = hamiltonian_fn(Sx, Sy, Sz)
    rho = qutip.steadystate(H, [math.sqrt(float(collective_emission)) * Sm])
    return moments_from_state(rho, Sx, Sy, Sz)


# --------------------------------------------------------------------------
# Squeezing
# --------------------------------------------------------------------------
def squeezing_from_moments(N: int, mean, second, iso_rtol: float = 1e-12) -> dict:
    """Wineland / Kitagawa-Ueda squeezing from first and second moments.

    Returns dict with xi2_R, xi2_S, theta, direction, rs_gap, cov.
    e1 = normalised projection of x-hat on the plane ⊥ m (y-hat if m ∥ x-hat),
    e2 = e1 × m_hat, direction n = cos(theta) e1 + sin(theta) e2 with
    theta in (-pi/2, pi/2]; theta = NaN (direction = e1) if C_perp is isotropic.
    """
    m = np.asarray(mean, dtype=float).reshape(3)
    second = np.asarray(second, dtype=float).reshape(3, 3)
    cov = 0.5 * (second + second.T) - np.outer(m, m)
    mnorm = float(np.linalg.norm(m))
    if mnorm == 0.0:
        raise ValueError("mean spin vector vanishes; squeezing undefined")
    mhat = m / mnorm
    x = np.array([1.0, 0.0, 0.0])
    p = x - np.dot(x, mhat) * mhat
    if np.linalg.norm(p) <= 1e-12:
        e1 = np.array([0.0, 1.0, 0.0])
        e1 = e1 - np.dot(e1, mhat) * mhat
    else:
        e1 = p
    e1 = e1 / np.linalg.norm(e1)
    e2 = np.cross(e1, mhat)
    E = np.stack([e1, e2], axis=1)  # 3 x 2
    Cp = E.T @ cov @ E
    Cp = 0.5 * (Cp + Cp.T)
    w, v = np.linalg.eigh(Cp)
    vmin = float(w[0])
    if abs(w[1] - w[0]) <= iso_rtol * max(abs(w[0]), abs(w[1]), np.finfo(float).tiny):
        theta = float("nan")
        direction = e1.copy()
    else:
        c, s = v[:, 0]
        theta = math.atan2(s, c)
        if theta <= -math.pi / 2:
            theta += math.pi
        elif theta > math.pi / 2:
            theta -= math.pi
        direction = math.cos(theta) * e1 + math.sin(theta) * e2
    return {
        "xi2_R": N * vmin / mnorm**2,
        "xi2_S": 4.0 * vmin / N,
        "theta": theta,
        "direction": direction,
        "rs_gap": 4.0 * float(np.linalg.det(Cp)) / mnorm**2 - 1.0,
        "cov": cov,
    }


# --------------------------------------------------------------------------
# Built-in models.  Products use ``@``, which works for numpy arrays and for
# qutip 5 Qobj alike; scalars multiply with ``*``.
# --------------------------------------------------------------------------
def h_xyz(Sx, Sy, Sz, N: int, J: float, delta: float, Jz: float, **_):
    """H = (2/N)(Jx Sx^2 + Jy Sy^2 + Jz Sz^2), Jx = J + delta, Jy = J - delta."""
    return (2.0 / N) * ((J + delta) * (Sx @ Sx) + (J - delta) * (Sy @ Sy) + Jz * (Sz @ Sz))


def h_tfi(Sx, Sy, Sz, N: int, Delta: float, Jx: float, **_):
    """H = Delta Sz + (4 Jx / N) Sx^2."""
    return Delta * Sz + (4.0 * Jx / N) * (Sx @ Sx)


def h_driven_ising(Sx, Sy, Sz, N: int, Omega: float, Delta: float, U: float, **_):
    """H = 2 Omega Sx + Delta Sz + (4 U / N) Sz^2."""
    return 2.0 * Omega * Sx + Delta * Sz + (4.0 * U / N) * (Sz @ Sz)


def h_resonance_fluorescence(Sx, Sy, Sz, N: int, Omega: float, **_):
    """H = 2 Omega Sx (collective emission Gamma only)."""
    return 2.0 * Omega * Sx


def _local_emission_rates(params: Mapping[str, float]) -> dict:
    return {"local_emission": float(params["gamma"])}


def _collective_emission_rates(params: Mapping[str, float]) -> dict:
    return {"collective_emission": float(params["Gamma"])}


MODELS: dict[str, tuple[Callable, Callable]] = {
    "xyz": (h_xyz, _local_emission_rates),
    "tfi": (h_tfi, _local_emission_rates),
    "driven_ising": (h_driven_ising, _local_emission_rates),
    "resonance_fluorescence": (h_resonance_fluorescence, _collective_emission_rates),
}


def reference_moments(name: str, N: int, params: Mapping[str, float],
                      extra_rates: Mapping[str, float] | None = None,
                      backend: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Steady-state (mean, second) for a built-in model.

    extra_rates are added to the model's own rates.  backend: 'auto' (piqs if
    any local process, jmat if collective emission only), 'piqs' (float64
    port), 'piqs32' (piqs.Dicke as shipped), 'jmat', or 'full' (2^N).
    piqs backends need a local process (collective-only dynamics has one
    steady state per j block, so the Dicke-basis solve is singular); 'full'
    with collective emission only uses the symmetric-subspace construction.
    """
    hfn, rates_fn = MODELS[name]
    rates = {k: 0.0 for k in RATE_NAMES}
    for k, v in rates_fn(params).items():
        rates[k] += v
    for k, v in (extra_rates or {}).items():
        if k not in rates:
            raise TypeError(f"unknown rate keyword {k!r}")
        rates[k] += float(v)
    h = partial(_bind_h, hfn, N, dict(params))
    has_local = any(rates[k] for k in LOCAL_RATE_NAMES)
    if backend == "auto":
        backend = "piqs" if has_local else "jmat"
    if backend == "piqs":
        return piqs_steady_state_moments(N, h, **rates)
    if backend == "piqs32":
        return piqs_steady_state_moments(N, h, precision="single", **rates)
    if backend == "jmat":
        if has_local:
            raise ValueError("jmat backend only supports collective emission")
        return symmetric_sector_steady_state_moments(N, h, rates["collective_emission"])
    if backend == "full":
        return full_steady_state_moments(N, h, **rates)
    raise ValueError(f"unknown backend {backend!r}")


def _bind_h(hfn: Callable, N: int, params: dict, Sx, Sy, Sz):
    return hfn(Sx, Sy, Sz, N, **params)


def product_state_xi2_R(Omega: float, Delta: float, gamma: float) -> float:
    """Closed-form xi2_R of driven_ising at U = 0 (product steady state)."""
    a = 4 * Delta**2 + gamma**2
    return 1.0 + 64 * Omega**4 / (a * (a + 16 * Omega**2))
