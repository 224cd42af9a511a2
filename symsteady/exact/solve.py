"""Solving ``L̂ x̂ = e_trace`` for the steady state, in double precision, with a forward error.

Paths (``docs/algorithm/exact-convergence.md#convergence-paths``):

* ``"lu"``: no U(1)-breaking part; L = L0 is block lower triangular in the excitation blocks
  (a, b), so its sparse LU in natural order is cheap and exact;
* ``"gmres"``: ``scipy.sparse.linalg.gmres`` on the correction to a starting vector (the
  neighbour's solution in a sweep, else L0's steady state), preconditioned by LU(L0), in
  unknowns weighted to the population scale (its tolerance is the moments'); it converges
  fast while the breaking part is weak;
* ``"direct"``: a sparse LU of the full L, straight away when the dimension is at most
  DIRECT_FIRST_DIMENSION (there one LU of L costs less than LU(L0) plus GMRES, and it gives the
  refinement and the condition estimate) or, in the symmetric sector, while it is cheap
  (:func:`direct_at_once`), else when GMRES does not converge, its state's backward error is
  not accepted, or L0 is singular; and, where it fits in memory, to refine a GMRES state left
  without an error bar (its correction runs stalled). Either factors the real matrix of the
  Hermitian fold (:mod:`symsteady.exact.fold`: the same dimension, 2.3-2.7 times fewer flops
  than the complex LU). With pypardiso installed (USE_PARDISO) it is MKL PARDISO's
  (:mod:`symsteady.exact.pardiso`: METIS order, its analysis kept on the pieces for the next
  point of a sweep, its memory checked from PARDISO's own count after the analysis); else
  SuperLU's in a nested-dissection order (:mod:`symsteady.exact.ordering`; MMD_AT_PLUS_A up to
  DIRECT_FIRST_DIMENSION), its memory estimated from the measured fill. PARDISO's must fit in
  PARDISO_MEMORY_FRACTION of the available memory, else its factor goes to disk (OUT_OF_CORE);
  SuperLU's must fit in DIRECT_MEMORY_FRACTION; otherwise an
  :class:`~symsteady.errors.ExactSolverError` names the memory (and disk) it would need.

Every solution then gets a step of iterative refinement with the residual in extended
precision (on the direct path more while they converge: :func:`_refine_with_lu`); the first
step's correction and the state's responses to the rounding of L̂ itself
(:func:`rounding_response`) give the forward error. ILU of the full L
(natural, excitation or nested-dissection order) was measured as a GMRES preconditioner and
needs nearly the full LU's fill before it converges, so it is not a path.
"""

from __future__ import annotations

import math
import resource
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from ..errors import ExactSolverError, ExactSolverWarning, NonUniqueSteadyStateError
from .matrix import ExactLiouvillian
from . import pardiso
from .fold import HermitianFold
from .ordering import nested_dissection
from .space import KeySpace

#: GMRES: tolerance of the weighted correction, relative to the weighted steady state of L0; Krylov vectors per cycle (between the
#: bounds, within GMRES_MEMORY bytes; scipy allocates them up front, so a cycle is kept short);
#: at most GMRES_ITERATIONS inner iterations; stalled when the residual has not halved over the
#: last STALL_WINDOW restart cycles, and then accepted if it is below ROUNDOFF_FLOOR times the
#: weighted state's norm (the refinement step and the error bar take it from there).
GMRES_RTOL = 1e-13
GMRES_RESTART_MIN, GMRES_RESTART_MAX = 20, 100
GMRES_MEMORY = 1_000_000_000
GMRES_ITERATIONS = 1600
STALL_WINDOW = 2
ROUNDOFF_FLOOR = 1e-9
#: Within a restart cycle, once GMRES has run BUDGET_SHARE of the direct LU's time (and at least
#: INNER_MIN_SECONDS), its rate over the last INNER_WINDOW iterations projects the rest too (a cycle
#: of 100 iterations took 8 s in the symmetric sector at N = 600, where the direct LU takes 4:
#: GMRES ran 17 s before its first projection at the end of two cycles).
INNER_WINDOW, BUDGET_SHARE, INNER_MIN_SECONDS = 20, 0.25, 0.5
#: Seconds of the direct LU of a strongly broken L with local processes, one thread:
#: DIRECT_SECONDS * (dim / 12341) ** DIRECT_SECONDS_POWER (MKL PARDISO on the Hermitian fold,
#: driven_ising Ω = 0.7, Δ = 0.5, U = 0.5, least squares through N = 40 (12341 unknowns) 0.37 s,
#: N = 60 1.5 s, N = 80 6.3 s, N = 100 21 s, N = 120 67 s; SuperLU SUPERLU_SLOWER times that).
#: GMRES stops early when the rest of its run, projected from its rate over the last
#: STALL_WINDOW cycles, would take longer than this (while the direct LU fits in memory;
#: docs/algorithm/exact-convergence.md#convergence-paths).
DIRECT_SECONDS, DIRECT_SECONDS_POWER, SUPERLU_SLOWER = 0.3, 1.62, 5.0
#: The same in the symmetric sector (a 2-d lattice of labels, far less fill):
#: DIRECT_SECONDS_2D * (dim / 90601) ** DIRECT_SECONDS_2D_POWER, the whole direct solve with
#: PARDISO (resonance fluorescence past the transition, one thread: N = 100 (10 201 unknowns)
#: 0.13 s, N = 300 (90 601) 1.35 s, N = 600 3.7-6.5 s, N = 1000 25 s); with the 3-d fit GMRES
#: ran on for its budget where it could not converge (N = 600: 27.8 s against 3.8 s direct).
DIRECT_SECONDS_2D, DIRECT_SECONDS_2D_POWER = 1.35, 1.2
#: PARDISO's peak memory on the Hermitian fold with local processes, about
#: PARDISO_BYTES * dim * N ** PARDISO_BYTES_POWER (bench/exact.py --strong-table, growth of the
#: process' peak: 7.2, 8.2, 10.1, 11.7, 14.0, 16.7 kB per unknown at N = 40, 60, 80, 100, 120, 150);
#: GMRES' time budget holds while this fits.
PARDISO_BYTES, PARDISO_BYTES_POWER = 700.0, 0.64
#: Tolerance of the refinement step's GMRES (the correction is needed to a few digits only);
#: where it stalls short of that (an ill-conditioned L: its residual is rounding in every direction),
#: its correction is kept if the residual fell below REFINE_STALL_RTOL (measured: local pumping
#: 0.3 against emission 1, U = 1, Ω = 0.5, N = 150 stalled at 1.4e-3 after reaching 1.05e-3).
REFINE_RTOL, REFINE_STALL_RTOL = 1e-4, 1e-2
#: On the direct path (a solve costs little beside the factorisation) refinement goes on while
#: its correction ||δ||/||x|| exceeds REFINE_AGAIN and shrinks by REFINE_CONTRACTION a step (a
#: good LU's steps shrink it by κε), up to REFINE_STEPS steps, then by GMRES preconditioned by
#: the LU where they stagnated; the first step's correction and the responses to L̂'s rounding
#: give the error bar (docs/algorithm/exact-convergence.md#convergence-forward-error; the
#: product state at N = 200, out of core with 8 perturbed pivots: the first correction was 1.3,
#: the second not smaller, ξ²_R 3.8e-8 off after the first).
REFINE_STEPS, REFINE_AGAIN, REFINE_CONTRACTION = 8, 1e-8, 0.1
#: The GMRES steps start while the factorisation's time (or this) has not passed since they
#: began, or while the state's backward error is not accepted: out of core each iteration reads
#: the factor from disk (at N = 200, 28 GB: about a minute), and the bar holds without them.
REFINE_GMRES_MIN_SECONDS = 10.0
#: The rounding of L̂'s entries, relative, for the state's response to it (:func:`rounding_response`):
#: each entry is a short sum of the pieces' products with the parameters' monomials, each rounded
#: (the normalisation ``exp(ℓ_i - ℓ_j)`` of an entry, from the rounded log norms ℓ, is a diagonal
#: similarity, which the observables undo with the same ℓ); ROUNDING_PROBES random perturbations,
#: the largest effect counting (one probe's effect on a scalar is a random variable that can come
#: out small; of three, the largest rarely does).
MATRIX_ROUNDING_ULPS, ROUNDING_PROBES = 8, 3
#: GMRES' tolerance for those responses, with restart cycles of GMRES_RESTART_MIN vectors: their
#: size is wanted, to a digit (at REFINE_RTOL, with the state's cycles of 91 vectors, the three
#: took 3.0 s of an xyz point at N = 200; scipy allocates a cycle's vectors at each call)
ROUNDING_RTOL = 0.1
#: The adjoint solve's relative tolerance (:func:`_adjoint_bar`): its changes are wanted to a
#: digit; a run that stalls is kept where its best residual reached ADJOINT_STALL_RTOL (local
#: pumping 0.3 against emission 1, U = 1, Omega = 0.5, N = 176: the true residual went 1, 4.1e-2,
#: 3.3e-2, 1.1e-2, 7.6e-2 over short restart cycles, its rounding floor near 1e-2).
ADJOINT_RTOL, ADJOINT_STALL_RTOL = 1e-2, 0.1
#: Accepted backward error ``||L̂ x̂ - b|| / (||L̂|| ||x̂||)`` (infinity norms) of a solution, or
#: of the same system on the population scale (:func:`_backward_error`).
ACCEPTED_BACKWARD_ERROR = 1e-10
#: The direct LU may use this fraction of the memory available when it starts: SuperLU's need
#: is estimated (FILL), PARDISO's is its own count after the analysis (8.7 GB against a peak
#: growth of 9.8 GB at N = 150, the matrix and pieces included), so it may use more.
DIRECT_MEMORY_FRACTION, PARDISO_MEMORY_FRACTION = 0.6, 0.8
#: Fill of the nested-dissection LU with local processes (a 3-d lattice of labels (a, b, c)),
#: nnz(L+U) ≈ FILL * dim * N^1.5 (measured: 1.61 at N = 40, 1.59 at N = 60); in the symmetric
#: sector (a 2-d lattice (a, b)) nnz(L+U) ≈ FILL_2D * dim * log2(dim) (measured on resonance
#: fluorescence past the transition: 7.2 at N = 100, 7.8 at N = 200, 8.4 at N = 300); bytes per
#: stored entry (value, index and SuperLU's bookkeeping).
FILL, FILL_2D, BYTES_PER_ENTRY = 1.7, 10.0, 32
#: A U(1)-breaking L of at most this dimension is solved by a direct LU at once, ordered by
#: SuperLU's MMD_AT_PLUS_A (bench/exact.py --map, xyz at N = 20, dimension 1771: 24 ms per point
#: against 85 ms for LU(L0) + GMRES from the neighbour's solution; at N = 20 that order fills
#: 171 000 entries against 274 000 for nested dissection, which wins at N >= 40 with strong
#: breaking). N = 26 has dimension 3654; N = 30 (5456) keeps GMRES; in the charge sector of
#: xyz and tfi (docs/algorithm/exact-solver.md#exact-sector) N = 20 has 891, N <= 34 goes direct.
DIRECT_FIRST_DIMENSION = 4000
#: The direct path factors with MKL PARDISO when pypardiso is installed (the extra ``pardiso``),
#: else with SuperLU (``docs/algorithm/exact-convergence.md#convergence-pardiso``).
USE_PARDISO = pardiso.available()
#: Where PARDISO's in-core need is above its memory limit, its factor goes to disk
#: (OUT_OF_CORE; files in a temporary directory, :data:`symsteady.exact.pardiso.OUT_OF_CORE_DIRECTORY`)
#: if it takes at most OUT_OF_CORE_DISK_FRACTION of the free disk, with at most
#: OUT_OF_CORE_RAM_FRACTION of the available memory in core. Measured on driven_ising (Ω = 0.7,
#: Δ = 0.5, U = 0.5), one thread: N = 150 factorisation 235 s against 231 s in core, peak 4.2 GB
#: against 9.8 GB (3 GB in core, an 8 GB factor on disk); N = 100 a solve 2.3 s against 0.18 s
#: (docs/algorithm/exact-convergence.md#convergence-out-of-core).
OUT_OF_CORE, OUT_OF_CORE_DISK_FRACTION, OUT_OF_CORE_RAM_FRACTION = True, 0.8, 0.4
#: After perturbed pivots in PARDISO, SuperLU refactors L (to tell a singular L) while its
#: estimated memory is below this (N of about 60 with local processes, seconds).
PIVOT_CHECK_BYTES = 1_000_000_000


@dataclass
class SolveInfo:
    """How a steady state was obtained.

    ``method``: ``"lu"``, ``"gmres"`` or ``"direct"`` (module docstring); ``note`` says why a
    fallback ran. ``iterations`` counts GMRES inner iterations; ``backward_error`` is
    ``||L̂ x̂ - b||_inf / (||L̂||_inf ||x̂||_inf)`` after refinement; ``correction`` is
    ``||δx̂||_inf / ||x̂||_inf`` of the refinement step (the forward error's estimate);
    ``condition`` estimates κ_1(L̂) (``condition_kind``: ``"onenormest"`` from an LU of L, or
    ``"lower bound"`` ``||L̂|| ||δx̂|| / ||r||`` from the refinement); ``memory_bytes`` is the
    solver's peak working memory estimated from what it stored (matrix, LU, Krylov vectors);
    ``rss_growth_bytes`` the growth of the process' peak resident memory during the solve;
    ``backend`` the direct path's factorisation (``"pardiso"`` or ``"superlu"``); ``disk_bytes``
    the size of PARDISO's factor on disk when it ran out of core (else 0);
    ``refinement_steps`` the steps of iterative refinement taken; ``refinement`` the first step's
    correction δx̂ itself and ``rounding`` the state's responses to L̂'s rounding
    (:func:`rounding_response`): the observables' error directions (:meth:`error_directions`);
    ``adjoint_changes``, where GMRES' state has no such directions and the direct LU does not
    serve, the first-order changes of one functional of the state (the caller's ``gradient``, e.g.
    ξ²_R's) under the solve's error and under L̂'s rounding, from one adjoint solve
    (:func:`_adjoint_bar`).
    """

    method: str
    dimension: int
    iterations: int = 0
    backward_error: float = float("nan")
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    note: str = ""
    correction: float = float("nan")
    condition: float = float("nan")
    condition_kind: str = ""
    memory_bytes: int = 0
    rss_growth_bytes: int = 0
    backend: str = ""
    disk_bytes: int = 0
    refinement_steps: int = 0
    refinement: np.ndarray | None = field(default=None, repr=False, compare=False)
    rounding: list[np.ndarray] = field(default_factory=list, repr=False, compare=False)
    adjoint_changes: tuple[float, float] | None = None

    def error_directions(self) -> list[list[np.ndarray]]:
        """Groups of vectors v whose effects on an observable f, ``|f(x̂ - v) - f(x̂)|``, estimate
        its error: the largest in each group, summed over the groups
        (``docs/algorithm/exact-convergence.md#convergence-forward-error``). The refinement step
        (the solve's error); the responses to L̂'s rounding (the matrix' own error)."""
        refinement = [self.refinement] if self.refinement is not None and np.any(self.refinement) else []
        return [group for group in (refinement, self.rounding) if group]


def _backward_error(system: ExactLiouvillian, x: np.ndarray, b: np.ndarray) -> float:
    """``||r||_inf / (||L̂||_inf ||x̂||_inf)`` with ``r = L̂ x̂ - b``; where that is above
    ACCEPTED_BACKWARD_ERROR, the smaller of it and the same on the population scale
    (:func:`_population_backward_error`)."""
    if not np.all(np.isfinite(x)):
        return float("inf")
    r = system.A @ x - b
    plain = float(np.abs(r).max() / (system.norm_inf * np.abs(x).max()))
    return plain if plain <= ACCEPTED_BACKWARD_ERROR else min(plain, _population_backward_error(system, x, r))


def _population_backward_error(system: ExactLiouvillian, x: np.ndarray, r: np.ndarray) -> float:
    """The backward error of the system scaled to the population scale, ``W L̂ W^-1 (W x̂) = W b``
    (W = diag w, :meth:`~symsteady.exact.space.KeySpace.log_population_weight`; the trace row,
    in the dark state's place, weighs 1): the measure GMRES converges in. In an inverted state
    the plain one is ruled by the populations near the dark state, ~1e-17 and irrelevant to
    every moment (local pumping 1 against emission 0.3, N = 200: plain 7.5e-5, here 7e-17)."""
    lw = system.space.log_population_weight()
    A = system.A.tocsr()
    rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = np.abs(A.data) * np.exp(lw[rows] - lw[A.indices])
        norm = float(np.bincount(rows, scaled, minlength=A.shape[0]).max())
        w = np.exp(lw)
        value = float(np.abs(w * r).max() / (norm * np.abs(w * x).max()))
    return value if math.isfinite(value) else math.inf


def _nbytes(M: Any) -> int:
    return int(M.data.nbytes + M.indices.nbytes + M.indptr.nbytes)


def _rss_bytes() -> int:
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


#: available_memory reads the system's count at most this often (seconds): a map's small points
#: took 0.14 ms each to read it.
MEMORY_READ_INTERVAL = 1.0
_MEMORY_READ: list[float] = [-math.inf, 0.0]  # (time, bytes) of the last read


def available_memory() -> int:
    """Bytes of memory available now (``MemAvailable``, read at most every
    MEMORY_READ_INTERVAL seconds; 8 GB where the system does not say)."""
    now = time.monotonic()
    if now - _MEMORY_READ[0] < MEMORY_READ_INTERVAL:
        return int(_MEMORY_READ[1])
    _MEMORY_READ[:] = [now, _read_available_memory()]
    return int(_MEMORY_READ[1])


def _read_available_memory() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 2**30


def direct_memory_estimate(space: KeySpace) -> int:
    """Bytes the nested-dissection LU of L needs at this size (from the measured fill)."""
    if len(space.labels) == 2:  # symmetric sector: a 2-d lattice of labels
        return int(FILL_2D * space.dim * np.log2(max(space.dim, 2)) * BYTES_PER_ENTRY)
    return int(FILL * space.dim * space.n ** 1.5 * BYTES_PER_ENTRY)


def pardiso_memory_estimate(space: KeySpace) -> int:
    """Bytes PARDISO's LU of the fold needs at this size (PARDISO_BYTES; the symmetric sector's
    2-d lattice: SuperLU's estimate, an upper bound)."""
    if len(space.labels) == 2:
        return direct_memory_estimate(space)
    return int(PARDISO_BYTES * space.dim * space.n ** PARDISO_BYTES_POWER)


def direct_seconds(space: KeySpace) -> float:
    """A rough single-thread time of the direct LU at this size (DIRECT_SECONDS; in the symmetric
    sector DIRECT_SECONDS_2D)."""
    if len(space.labels) == 2:
        t = DIRECT_SECONDS_2D * (space.dim / 90601) ** DIRECT_SECONDS_2D_POWER
    else:
        t = DIRECT_SECONDS * (space.dim / 12341) ** DIRECT_SECONDS_POWER
    return t if USE_PARDISO else SUPERLU_SLOWER * t


def direct_at_once(space: KeySpace) -> bool:
    """Whether a U(1)-breaking L goes to the direct LU without GMRES first: up to
    DIRECT_FIRST_DIMENSION, and in the symmetric sector while the direct LU's expected time T is
    at most twice INNER_MIN_SECONDS, the least GMRES runs before it can give way. There the
    direct LU at once loses at most about 2T/3 where GMRES converges (it takes about T/3),
    GMRES first loses at least INNER_MIN_SECONDS where it does not (resonance fluorescence past
    the transition, N = 100: 0.06 s direct against 0.62 s with GMRES first; N = 200: 0.46 against
    1.34 s; a weak drive at N = 200: 0.60 s direct against 0.35 s of GMRES)."""
    if space.dim <= DIRECT_FIRST_DIMENSION:
        return True
    return len(space.labels) == 2 and direct_seconds(space) <= 2 * INNER_MIN_SECONDS


def projected_seconds(history: list[float], target: float, elapsed: float, window: int = STALL_WINDOW) -> float:
    """Seconds GMRES still needs to bring its residual (``history``: one entry per restart cycle,
    or per inner iteration, the start first; ``elapsed`` seconds so far) down to ``target`` at its
    rate over the last ``window`` entries: 0 before ``window`` of them, infinite when it does not
    decrease."""
    cycles = len(history) - 1
    if cycles < window or history[-1] <= target:
        return 0.0
    rate = (history[-1] / history[-1 - window]) ** (1 / window)
    if not rate < 1:
        return math.inf
    return elapsed / cycles * math.log(target / history[-1]) / math.log(rate)


def residual_extended(A: scipy.sparse.spmatrix, x: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``b - A x`` with products and sums in extended precision (``numpy.clongdouble``), rounded
    to double at the end; each row summed on its own (no differences of running sums, which
    would cancel), rows in chunks to bound the temporary memory."""
    A = A.tocsr()
    out = b.astype(complex)
    xe = x.astype(np.clongdouble)
    step = max(1, 4_000_000 // max(1, A.nnz // max(1, A.shape[0])))
    for start in range(0, A.shape[0], step):
        stop = min(A.shape[0], start + step)
        lo, hi = A.indptr[start], A.indptr[stop]
        if hi == lo:
            continue
        prod = A.data[lo:hi].astype(np.clongdouble) * xe[A.indices[lo:hi]]
        starts = A.indptr[start:stop] - lo
        filled = starts < A.indptr[start + 1:stop + 1] - lo  # rows with entries
        sums = np.add.reduceat(prod, starts[filled])
        rows = np.arange(start, stop)[filled]
        out[rows] = (b[rows].astype(np.clongdouble) - sums).astype(complex)
    return out


def _lu_of_l0(system: ExactLiouvillian) -> tuple[Any, str]:
    """SuperLU of L0 in natural order (diagonal pivots preferred: block-triangular L0, little
    fill-in), or None and the reason it is unusable. A zero on the diagonal means a block that
    does not decay at all (L0 singular); it is caught before SuperLU, which can crash on it."""
    singular = "L0 (the U(1)-symmetric part) is singular"
    if np.any(system.A0.diagonal()[:-1] == 0):
        return None, singular
    try:
        lu = scipy.sparse.linalg.splu(system.A0.tocsc(), permc_spec="NATURAL", diag_pivot_thresh=0.1)
    except RuntimeError:
        return None, singular
    pivots = np.abs(lu.U.diagonal())[:-1]
    if pivots.size and pivots.min() <= 1e-12 * pivots.max():
        return None, singular
    return lu, ""


def _singular(system: ExactLiouvillian) -> NonUniqueSteadyStateError:
    return NonUniqueSteadyStateError(
        f"the exact Liouvillian at N = {system.space.n} ({system.space.basis.name} space) is singular: "
        "its steady state is not unique (some excitations never decay — is there no emission or pumping?)")


@dataclass
class DirectLU:
    """A factorisation of the Hermitian fold M of the full L (:mod:`symsteady.exact.fold`):
    ``real_solve(v, t)`` solves with M (``t="N"``) or M^T (``"T"``); its ``nbytes`` (measured:
    SuperLU's stored L + U, or PARDISO's reported peak), ``backend`` (``"pardiso"`` or
    ``"superlu"``), ``release()`` (call when the point is done), a ``note`` for ``info``
    (perturbed pivots, out of core), ``disk_bytes`` (the factor's, out of core) and ``seconds``
    (the factorisation's, analysis included)."""

    fold: HermitianFold
    real_solve: Callable[[np.ndarray, str], np.ndarray]
    nbytes: int
    backend: str
    release: Callable[[], None] = lambda: None
    note: str = ""
    disk_bytes: int = 0
    seconds: float = 0.0

    def solve(self, r: np.ndarray, trans: str = "N") -> np.ndarray:
        """``L̂^-1 r``, ``L̂^-T r`` or ``L̂^-H r`` (``trans`` ``"N"``, ``"T"``, ``"H"``) for any r."""
        return self.fold.solve(self.real_solve, r, trans)

    def steady(self, r: np.ndarray) -> np.ndarray:
        """``L̂^-1`` on r's Hermitian (J-invariant) part, one real solve: the steady state's
        right-hand side and its refinement's residual (whose other part is L̂'s rounding)."""
        return self.fold.solve(self.real_solve, r, hermitian=True)


def _memory_error(space: KeySpace, note: str, need: int, have: int, measured: str,
                  fraction: float = DIRECT_MEMORY_FRACTION, disk: str = "") -> ExactSolverError:
    return ExactSolverError(
        f"N = {space.n}: {note + ', and ' if note else ''}a direct LU of dimension {space.dim} needs "
        f"{measured} {need / 2**30:.1f} GB, more than the memory limit of {fraction:.0%} of the "
        f"{have / 2**30:.1f} GB available{disk}; use a smaller N, a weaker U(1)-breaking term, or a "
        "machine with more memory" + (" or disk" if disk else ""))


def _direct_lu(system: ExactLiouvillian, note: str, out_of_core: bool = True) -> DirectLU:
    """The LU of the full L after a memory check: MKL PARDISO when pypardiso is installed
    (USE_PARDISO; ``out_of_core=False``: an ExactSolverError rather than a factor on disk), else
    SuperLU (nested-dissection order; MMD_AT_PLUS_A up to DIRECT_FIRST_DIMENSION)."""
    if note:
        warnings.warn(ExactSolverWarning(f"N = {system.space.n}: {note}; solving L by a direct sparse LU "
                                         "instead (slower)"), stacklevel=5)
    t0 = time.perf_counter()
    direct = _pardiso_lu(system, note, out_of_core) if USE_PARDISO else _superlu(system, note)
    direct.seconds = time.perf_counter() - t0
    return direct


def _folded(system: ExactLiouvillian) -> tuple[HermitianFold, scipy.sparse.csc_matrix]:
    """The Hermitian fold of L̂'s pattern (kept in the pieces' workspace, per pattern) and the
    real matrix M at this point."""
    A = system.columns()
    key = ("fold", A.nnz)  # L0's pattern (no breaking term at this point) differs from L's
    fold = system.workspace.get(key) if system.workspace is not None else None
    if fold is None:
        fold = HermitianFold.of(system.space, A)
        if system.workspace is not None:
            system.workspace[key] = fold
    return fold, fold.matrix(A)


def _pardiso_lu(system: ExactLiouvillian, note: str, out_of_core: bool = True) -> DirectLU:
    """PARDISO (real unsymmetric on the Hermitian fold, METIS order): the analysis is taken from
    the pieces' workspace when a point on the same pattern left one there, else made; the
    memory PARDISO reports after it is checked before the numeric factorisation
    (``docs/algorithm/exact-convergence.md#convergence-pardiso``)."""
    space = system.space
    fold, M = _folded(system)
    pool: list[pardiso.Pardiso] = (system.workspace.setdefault(("pardiso", M.nnz), [])
                                   if system.workspace is not None else [])
    try:
        handle = pool.pop()  # atomic: a handle serves one point at a time
    except IndexError:
        handle = pardiso.Pardiso(M)
        try:
            handle.analyse(M)
        except pardiso.PardisoError as e:
            handle.free()
            if e.code in (-2, -9):
                raise _memory_error(space, note, pardiso_memory_estimate(space), available_memory(),
                                    "(PARDISO's analysis ran out of memory) about", PARDISO_MEMORY_FRACTION) from None
            raise ExactSolverError(f"N = {space.n}: PARDISO's analysis failed ({e})") from None
    need, have = handle.peak_bytes, available_memory()
    on_disk_note = ""
    if need > PARDISO_MEMORY_FRACTION * have:
        factor_bytes = handle.factor_bytes
        if not out_of_core:
            pool.append(handle)
            raise _memory_error(space, note, need, have, "(PARDISO's own count after its analysis)",
                                PARDISO_MEMORY_FRACTION)
        handle.free()  # its analysis' memory too: the out-of-core handle makes its own
        handle = _out_of_core_handle(system, M, note, need, have, factor_bytes)
        on_disk = handle.factor_bytes  # its analysis' count (after the factorisation, the part in core)
        on_disk_note = (f"PARDISO out of core: its in-core need of {need / 2**30:.1f} GB is above "
                        f"{PARDISO_MEMORY_FRACTION:.0%} of the {have / 2**30:.1f} GB available, so its factor "
                        f"({on_disk / 2**30:.1f} GB) is on disk")
    try:
        handle.factor(M)
    except pardiso.PardisoError as e:
        if handle.out_of_core:
            handle.free()
            if e.code in (-2, -9, -10, -11):
                raise ExactSolverError(
                    f"N = {space.n}: {on_disk_note}, and its out-of-core factorisation failed ({e}) "
                    f"under {pardiso.OUT_OF_CORE_DIRECTORY or tempfile.gettempdir()}") from None
        else:
            handle.release_factor()
            pool.append(handle)
        if e.code in (-2, -9):
            raise _memory_error(space, note, need, have, "(PARDISO ran out of memory) at least",
                                PARDISO_MEMORY_FRACTION) from None
        raise _singular(system) from None
    if handle.out_of_core:
        # not pooled: its files are removed with it when the point is done
        return DirectLU(fold, handle.solve, handle.in_core_bytes, "pardiso", handle.free,
                        "; ".join(filter(None, [on_disk_note, _pivots_note(handle)])), on_disk)
    if handle.perturbed_pivots:
        # a pivot below 1e-13 ||L||, replaced by PARDISO: L may be singular (a second steady
        # state), which SuperLU's threshold pivoting detects (an exact zero pivot) — while that
        # is cheap (PIVOT_CHECK_BYTES); else (strong breaking at N = 120: L is merely
        # ill-conditioned, κ_1 > 1e18) PARDISO's factor is kept and the refinement and the
        # checks of the result (backward error, Hilbert–Schmidt norm) decide
        if direct_memory_estimate(space) <= min(PIVOT_CHECK_BYTES, DIRECT_MEMORY_FRACTION * have):
            handle.release_factor()
            pool.append(handle)
            return _superlu(system, note)
    pivots_note = _pivots_note(handle)

    def release() -> None:
        handle.release_factor()
        pool.append(handle)

    return DirectLU(fold, handle.solve, need, "pardiso", release, pivots_note)


def _pivots_note(handle: pardiso.Pardiso) -> str:
    return f"PARDISO perturbed {handle.perturbed_pivots} pivots" if handle.perturbed_pivots else ""


def _out_of_core_handle(system: ExactLiouvillian, M: scipy.sparse.csc_matrix, note: str, need: int, have: int,
                        factor_bytes: int) -> pardiso.Pardiso:
    """An analysed out-of-core PARDISO handle, its factor (``factor_bytes`` by the in-core
    analysis) in files under :data:`symsteady.exact.pardiso.OUT_OF_CORE_DIRECTORY`, at most
    OUT_OF_CORE_RAM_FRACTION of the available memory ``have`` in core; an ExactSolverError naming
    memory and disk where the disk has no room for the factor (OUT_OF_CORE_DISK_FRACTION of its
    free bytes) or out-of-core factors are switched off (OUT_OF_CORE)."""
    space = system.space
    disk = pardiso.free_disk_bytes()
    if not OUT_OF_CORE or factor_bytes > OUT_OF_CORE_DISK_FRACTION * disk:
        where = (f"; out of core its factor needs {factor_bytes / 2**30:.1f} GB of disk, and "
                 f"{disk / 2**30:.1f} GB are free" if OUT_OF_CORE else "")
        raise _memory_error(space, note, need, have, "(PARDISO's own count after its analysis)",
                            PARDISO_MEMORY_FRACTION, where)
    handle = pardiso.Pardiso(M, out_of_core=True, core_bytes=int(OUT_OF_CORE_RAM_FRACTION * have))
    try:
        handle.analyse(M)
    except pardiso.PardisoError as e:
        handle.free()
        raise ExactSolverError(f"N = {space.n}: PARDISO's out-of-core analysis failed ({e})") from None
    return handle


def _superlu(system: ExactLiouvillian, note: str) -> DirectLU:
    """SuperLU of the Hermitian fold of L (nested-dissection order; SuperLU's MMD_AT_PLUS_A up
    to DIRECT_FIRST_DIMENSION), after a memory check from the measured fill (FILL)."""
    space = system.space
    need, have = direct_memory_estimate(space), available_memory()
    if need > DIRECT_MEMORY_FRACTION * have:
        raise _memory_error(space, note, need, have, "about")
    fold, M = _folded(system)
    small = space.dim <= DIRECT_FIRST_DIMENSION
    p = np.arange(space.dim) if small else nested_dissection(M, fold.coordinates)
    try:
        lu = scipy.sparse.linalg.splu(M if small else M[p][:, p].tocsc(),
                                      permc_spec="MMD_AT_PLUS_A" if small else "NATURAL",
                                      diag_pivot_thresh=0.001, options={"SymmetricMode": True})
    except RuntimeError:
        raise _singular(system) from None
    if not np.all(lu.U.diagonal()):  # an exact zero pivot (near-zero ones: the backward error check)
        raise _singular(system)

    def real_solve(v: np.ndarray, trans: str) -> np.ndarray:
        """M^-1 v or M^-T v; a 2-d v holds right-hand sides in its rows (SuperLU's in its columns)."""
        if small:
            return lu.solve(v.T, trans=trans).T
        out = np.empty_like(v)
        out[..., p] = lu.solve(np.ascontiguousarray(v[..., p].T), trans=trans).T
        return out

    return DirectLU(fold, real_solve, _nbytes(lu.L) + _nbytes(lu.U), "superlu")


def _direct_fits(space: KeySpace, out_of_core: bool = False) -> bool:
    """Whether the direct LU of L fits in memory by its estimate (PARDISO's, or SuperLU's from
    the measured fill), or with ``out_of_core`` on disk where PARDISO may go out of core."""
    need, fraction = ((pardiso_memory_estimate(space), PARDISO_MEMORY_FRACTION) if USE_PARDISO
                      else (direct_memory_estimate(space), DIRECT_MEMORY_FRACTION))
    return need <= fraction * available_memory() or (
        out_of_core and USE_PARDISO and OUT_OF_CORE and need <= OUT_OF_CORE_DISK_FRACTION * pardiso.free_disk_bytes())


def stalled(history: list[float], window: int = STALL_WINDOW) -> bool:
    """GMRES' stopping rule besides convergence: the residual after the latest restart cycle
    (``history``: one entry per cycle, the start first) is not below half of what it was
    ``window`` cycles earlier."""
    return len(history) > window and not history[-1] < 0.5 * history[-1 - window]


class _OverBudget(Exception):
    """Raised from GMRES' callback to end a restart cycle that would outlast the direct LU."""


def _krylov_size(dim: int) -> int:
    """Krylov vectors per GMRES cycle: up to GMRES_RESTART_MAX, within GMRES_MEMORY bytes."""
    return int(min(GMRES_RESTART_MAX, max(GMRES_RESTART_MIN, GMRES_MEMORY // (16 * dim))))


def _gmres_solver(system: ExactLiouvillian, precondition: Callable[[np.ndarray], np.ndarray],
                  A: scipy.sparse.csr_matrix | None = None, w: np.ndarray | None = None,
                  seconds: Callable[[], float] | None = None
                  ) -> tuple[Callable[..., tuple[np.ndarray | None, int, str]], int]:
    """``(solve, bytes)``: ``solve(r, rtol, atol) -> (δ or None, inner iterations, why not)``:
    ``A δ = r`` (A = L̂ by default) by scipy's restarted GMRES on ``P = W precondition(A W^-1 ·)``
    (left preconditioned, e.g. by LU(L0)^-1; unknowns ``y = W δ`` on the population scale,
    ``w = diag W`` by default ``exp(log_population_weight)``, so the stopping test weighs every
    element as the moments do); real for a real A (the Hermitian fold). A run's time budget is
    the direct LU's estimated time, or at least ``seconds()`` where given."""
    A = system.A.tocsr() if A is None else A  # CSR: the faster product
    w = np.exp(system.space.log_population_weight()) if w is None else w
    dim, dtype = A.shape[0], A.dtype
    fits = _direct_fits(system.space, out_of_core=True)
    direct_budget = direct_seconds(system.space) if fits else math.inf  # GMRES against the direct LU's time
    op = scipy.sparse.linalg.LinearOperator((dim, dim), matvec=lambda y: w * precondition(A @ (y / w)), dtype=dtype)
    restart = _krylov_size(dim)

    def solve(r: np.ndarray, rtol: float, atol: float = 0.0, floor: float = 0.0, floor_rtol: float = 0.0,
              krylov: int = restart) -> tuple[np.ndarray | None, int, str]:
        """Restart cycles of ``krylov`` vectors run one by one, each checked on its true
        (preconditioned) residual: converged at ``max(rtol ||rhs||, atol)``; stopped when
        :func:`stalled` or when the rest would take longer than the direct LU
        (:func:`projected_seconds`), accepted then if the residual is below ``floor`` (the
        roundoff floor of the weighted operator) or ``floor_rtol ||rhs||``."""
        budget = max(direct_budget, seconds()) if seconds is not None else direct_budget
        rhs = w * precondition(r)
        target = max(rtol * float(np.linalg.norm(rhs)), atol)
        y = np.zeros(dim, dtype=dtype)
        count, history = [0], [float(np.linalg.norm(rhs))]
        inner = [1.0]  # scipy's estimate of the relative residual, per inner iteration
        best = y  # the iterate of the smallest residual (a stalled run's last one may be worse)
        t0 = time.perf_counter()
        over_budget = f"at its rate it would take longer than the direct LU (about {budget:.2g} s)"

        def step(relative: float) -> None:
            count[0] += 1
            inner.append(relative)
            elapsed = time.perf_counter() - t0
            if elapsed > max(BUDGET_SHARE * budget, INNER_MIN_SECONDS) and projected_seconds(
                    inner, target / history[0], elapsed, INNER_WINDOW) > budget:
                raise _OverBudget

        while history[-1] > target and count[0] < GMRES_ITERATIONS:
            try:
                y, _ = scipy.sparse.linalg.gmres(op, rhs, x0=y, rtol=0.0, atol=target, restart=krylov,
                                                 maxiter=1, callback=step, callback_type="pr_norm")
            except _OverBudget:
                why = over_budget
                break
            history.append(float(np.linalg.norm(rhs - op.matvec(y))))
            if history[-1] <= min(history[:-1]):
                best = y
            if stalled(history):
                why = "it stalled"
                break
            if projected_seconds(history, target, time.perf_counter() - t0) > budget:
                why = over_budget
                break
        else:
            why = "" if history[-1] <= target else f"the limit of {GMRES_ITERATIONS} iterations"
        if min(history) <= max(target, floor, floor_rtol * history[0]):
            return best / w, count[0], ""
        return None, count[0], why

    return solve, 16 * dim * (restart + 4) + _nbytes(A)


def _rhs(system: ExactLiouvillian) -> np.ndarray:
    b = np.zeros(system.space.dim, dtype=complex)
    b[-1] = system.rhs
    return b


def solve_exact_liouvillian(system: ExactLiouvillian, x0: np.ndarray | None = None, condition: bool = True,
                            gradient: Callable[[np.ndarray], np.ndarray | None] | None = None
                            ) -> tuple[np.ndarray, SolveInfo]:
    """The normalised steady-state coordinates x̂ (``rho = sum x̂_j B̂_j``) and how they were found.

    ``x0`` (optional) is a starting vector for GMRES, e.g. a neighbouring point's solution;
    ``condition=False`` skips ``onenormest`` (about eight solves: 20 % of a small direct point),
    leaving the refinement's lower bound in ``info.condition``; ``gradient(x)`` (optional): G
    with ``f(x + δ) - f(x) ≈ Re(G·δ)`` for the functional f whose error bar is wanted where
    GMRES' state has none (:func:`_adjoint_bar`), or None where f is undefined."""
    rss0 = _rss_bytes()
    dim = system.space.dim
    b = _rhs(system)
    info = SolveInfo(method="lu", dimension=dim)
    matrix_bytes = _nbytes(system.A) + (_nbytes(system.A0) if system.A0 is not system.A else 0)
    direct_first = system.broken and direct_at_once(system.space)
    lu, note = (None, "") if direct_first else _lu_of_l0(system)
    solver: Callable[..., np.ndarray] | None = None
    probe: Callable[[np.ndarray], np.ndarray] | None = None  # GMRES' looser solves for rounding_response
    full_lu: Callable[..., np.ndarray] | None = None
    x = None
    if lu is not None:
        lu_bytes = _nbytes(lu.L) + _nbytes(lu.U)
        if not system.broken:
            solver = full_lu = lambda r, trans="N": lu.solve(r.T, trans=trans).T  # rows of r: right-hand sides
            x = lu.solve(b)
            info.memory_bytes = matrix_bytes + lu_bytes
        else:
            info.method = "gmres"
            gmres, krylov_bytes = _gmres_solver(system, lu.solve)
            x_l0 = lu.solve(b)
            start = x0 if x0 is not None and x0.shape == (dim,) and np.all(np.isfinite(x0)) else x_l0
            # the target is absolute, on the scale of the weighted state (a warm start that is
            # already close needs fewer iterations, not a tighter relative tolerance)
            scale = float(np.linalg.norm(np.exp(system.space.log_population_weight()) * x_l0))
            delta, info.iterations, why = gmres(b - system.A @ start, 0.0, GMRES_RTOL * scale, ROUNDOFF_FLOOR * scale)
            info.memory_bytes = matrix_bytes + lu_bytes + krylov_bytes
            if delta is not None:

                solver = _correction_solver(gmres, info)
                probe = _probe_solver(solver)

                x, note = _accepted_gmres_state(system, refine(system, start + delta, b, solver, info), b, info)
            else:
                note = (f"GMRES preconditioned by LU(L0) did not converge ({info.iterations} iterations; {why}): "
                        "the U(1)-breaking part is too strong for this preconditioner")
    release: Callable[[], None] = lambda: None
    direct: DirectLU | None = None
    if x is None:
        direct = _direct_lu(system, note)
        _took_direct(info, direct, note)
        solver, full_lu, probe = direct.steady, direct.solve, None
        release = direct.release
        info.memory_bytes = matrix_bytes + direct.nbytes
    try:
        if direct is not None:
            x = _refine_with_lu(system, solver(b), b, direct, info)
        elif info.method == "lu":
            x = refine(system, x, b, solver, info)
        if info.correction == math.inf:  # the (first) refinement step's solve failed
            _add_note(info, "refinement failed")
        if solver is not None and math.isfinite(info.correction):
            rounding_response(system, x, solver if probe is None else probe, info)
        if info.method == "gmres" and not math.isfinite(info.correction) and _direct_fits(system.space):
            x, direct = _direct_bar(system, x, b, info)
            if direct is not None:
                full_lu, release = direct.solve, direct.release
                info.memory_bytes = max(info.memory_bytes, matrix_bytes + direct.nbytes)
        if info.method == "gmres" and not math.isfinite(info.correction) and gradient is not None and lu is not None:
            _adjoint_bar(system, x, b, lu, gradient, info)
        # out of core every solve reads the factor from disk: no onenormest (the refinement's bound stays)
        if full_lu is not None and condition and not info.disk_bytes:
            info.condition, info.condition_kind = _condition(system, full_lu), "onenormest"
    finally:
        release()
    _check(system, x, b, info)
    info.rss_growth_bytes = max(0, _rss_bytes() - rss0)
    return x, info


def _direct_bar(system: ExactLiouvillian, x: np.ndarray, b: np.ndarray, info: SolveInfo
                ) -> tuple[np.ndarray, DirectLU | None]:
    """GMRES' state without an error bar (its refinement or a rounding response failed: their
    correction runs may stall where the state's converged), refined with the direct LU, which
    also takes its rounding responses, where that fits in memory (the caller checks; ``info``
    then says ``"direct"``); the state kept, and a note, where the LU fails after all
    (``docs/algorithm/exact-convergence.md#convergence-forward-error``)."""
    reason = f"GMRES' state had no error bar ({info.note})"
    try:
        direct = _direct_lu(system, reason, out_of_core=False)
    except (ExactSolverError, NonUniqueSteadyStateError) as e:
        _add_note(info, f"the direct LU for its error bar failed: {e}")
        return x, None
    _took_direct(info, direct, reason)
    info.correction, info.refinement, info.rounding = float("nan"), None, []
    x = _refine_with_lu(system, x, b, direct, info)
    if math.isfinite(info.correction):
        rounding_response(system, x, direct.steady, info)
    else:
        _add_note(info, "refinement failed")
    return x, direct


def _adjoint_bar(system: ExactLiouvillian, x: np.ndarray, b: np.ndarray, lu: Any,
                 gradient: Callable[[np.ndarray], np.ndarray | None], info: SolveInfo) -> None:
    """GMRES' state without an error bar, where the direct LU does not fit (or failed): the
    first-order changes of one functional f, ``Re(G·δ)`` with ``G = gradient(x)``, from one
    adjoint solve ``L̂^T z = G`` (GMRES preconditioned by LU(L0)^T, to ADJOINT_RTOL, or
    ADJOINT_STALL_RTOL where it stalls, in the unknowns ``w z`` on the population scale: the
    residuals z is dotted with are on that scale, so its error counts there): under the solve's
    error ``|Re(z·r)|`` (r the residual in extended precision, as for a refinement step) and under
    L̂'s rounding the bound ``sum_i |z_i| u (|L̂| |x̂|)_i`` (:func:`rounding_size`), in
    ``info.adjoint_changes`` (``docs/algorithm/exact-convergence.md#convergence-adjoint``). G is
    smooth (the moments read the labels near the diagonal), unlike the rounding noise the
    correction runs failed on."""
    G = gradient(x)
    if G is None:
        return
    adjoint = _gmres_solver(system, lambda v: lu.solve(v, trans="T"), system.columns().T.tocsr())[0]
    z, its, why = adjoint(np.asarray(G, dtype=complex), ADJOINT_RTOL, floor_rtol=ADJOINT_STALL_RTOL)
    info.iterations += its
    if z is None:
        _add_note(info, f"the adjoint solve for its error bar did not converge ({its} iterations; {why})")
        return
    r = residual_extended(system.A, x, b)
    info.adjoint_changes = (abs(float(np.real(z @ r))), float(np.abs(z) @ rounding_size(system, x)))
    _add_note(info, f"its error bar from one adjoint solve ({its} iterations)")


def _took_direct(info: SolveInfo, direct: DirectLU, why: str) -> None:
    """``info`` of the direct path: its method, why it ran, the LU's backend, disk bytes and note."""
    info.method, info.note, info.backend, info.disk_bytes = "direct", why, direct.backend, direct.disk_bytes
    if direct.note:
        _add_note(info, direct.note)


def _accepted_gmres_state(system: ExactLiouvillian, x: np.ndarray, b: np.ndarray, info: SolveInfo
                          ) -> tuple[np.ndarray | None, str]:
    """GMRES' refined state, or None and why when its backward error (:func:`_backward_error`)
    is not accepted although GMRES converged to its tolerance: then the direct LU takes over,
    its refinement afresh, rather than the state being called non-unique."""
    be = _backward_error(system, x, b)
    if be <= ACCEPTED_BACKWARD_ERROR:
        return x, ""
    info.refinement_steps, info.refinement, info.correction = 0, None, float("nan")
    return None, (f"GMRES preconditioned by LU(L0) converged on the population scale ({info.iterations} "
                  f"iterations) to a state of backward error {be:.1e}, above the accepted {ACCEPTED_BACKWARD_ERROR:.0e}")


def _refine_with_lu(system: ExactLiouvillian, x: np.ndarray, b: np.ndarray, direct: DirectLU,
                    info: SolveInfo) -> np.ndarray:
    """Refinement on the direct path: steps with the LU of L while their correction exceeds
    REFINE_AGAIN and shrinks by REFINE_CONTRACTION a step, up to REFINE_STEPS (a step that does
    not shrink it at all is undone). Where they stagnate above REFINE_AGAIN (the LU is that of a
    nearby matrix: PARDISO perturbed pivots), GMRES preconditioned by that LU solves the
    corrections instead (:func:`_folded_corrections`), under the same rule, for at most the
    factorisation's time (or REFINE_GMRES_MIN_SECONDS) once the state's backward error is accepted.
    ``info`` keeps the *first* step's correction for the error bar: a later one need not show
    the error left in a direction where the steps stagnate
    (docs/algorithm/exact-convergence.md#convergence-forward-error)."""
    x = refine(system, x, b, direct.steady, info)
    first = (info.correction, info.refinement, info.condition, info.condition_kind)
    x, last, stagnated = ((x, info.correction, "") if info.correction == math.inf  # the solve failed
                          else _converging_steps(system, x, b, direct.steady, info, info.correction))
    if stagnated:
        _add_note(info, "refinement by GMRES preconditioned by the LU")
        seconds = max(direct.seconds, REFINE_GMRES_MIN_SECONDS)
        deadline = time.perf_counter() + seconds
        krylov = _folded_corrections(system, direct, info, deadline)
        x, last, ended = _converging_steps(system, x, b, krylov, info, math.inf, deadline)  # its first step kept
        if ended == "deadline":
            _add_note(info, f"stopped at a correction of {last:.1e}: its steps took longer than the "
                      f"factorisation ({seconds:.3g} s)")
    info.correction, info.refinement, info.condition, info.condition_kind = first
    return x


def _folded_corrections(system: ExactLiouvillian, direct: DirectLU, info: SolveInfo, deadline: float
                        ) -> Callable[[np.ndarray], np.ndarray]:
    """``solve(r)``: the correction for r's J-invariant part by GMRES on the Hermitian fold
    (real unknowns, one real solve with the LU an iteration, where the complex system takes two:
    out of core each reads the factor), preconditioned by the LU, on the population scale; a run
    may take until the ``deadline`` (``time.perf_counter()``), or the direct LU's estimated time."""
    fold, M = _folded(system)
    weights = fold.weights(np.exp(system.space.log_population_weight()))
    gmres = _gmres_solver(system, lambda v: direct.real_solve(v, "N"), M.tocsr(), weights,
                          lambda: deadline - time.perf_counter())[0]
    solve = _correction_solver(gmres, info)
    return lambda r: fold.unfold(solve(np.ascontiguousarray(fold.fold(r).real)))


def _add_note(info: SolveInfo, note: str) -> None:
    info.note = f"{info.note}; {note}" if info.note else note


def _probe_solver(solver: Callable[..., np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """The rounding responses' solves on the GMRES path (the rows of R): ``solver`` (of
    :func:`_correction_solver`) to ROUNDING_RTOL with cycles of GMRES_RESTART_MIN vectors, and
    where those stall, with the state's cycles (local pumping 0.3 against emission 1, U = 1,
    Ω = 0.5, N = 120: the short cycles stalled, and the row had no bar)."""
    def probe(R: np.ndarray) -> np.ndarray:
        out = []
        for r in R:
            d = solver(r, ROUNDING_RTOL, GMRES_RESTART_MIN)
            out.append(d if np.all(np.isfinite(d)) else solver(r, ROUNDING_RTOL))
        return np.array(out)

    return probe


def _correction_solver(gmres: Callable[..., tuple[np.ndarray | None, int, str]], info: SolveInfo
                       ) -> Callable[..., np.ndarray]:
    """``solve(r, rtol=REFINE_RTOL, krylov=None)``: a refinement correction by ``gmres`` (of
    :func:`_gmres_solver`), kept where it stalls below REFINE_STALL_RTOL (or ``rtol``), its
    iterations counted in ``info``; NaN where it fails (a later refinement step is then undone;
    a failed first one leaves the state without a bar, and ``info.note`` says so, unless the
    direct LU gives one: :func:`_direct_bar`)."""
    def solve(r: np.ndarray, rtol: float = REFINE_RTOL, krylov: int | None = None) -> np.ndarray:
        d, its, _ = gmres(r, rtol, floor_rtol=max(rtol, REFINE_STALL_RTOL),
                          **({} if krylov is None else {"krylov": krylov}))
        info.iterations += its
        return np.full(len(r), np.nan, dtype=complex) if d is None else d

    return solve


def _converging_steps(system: ExactLiouvillian, x: np.ndarray, b: np.ndarray,
                      solve: Callable[[np.ndarray], np.ndarray], info: SolveInfo, last: float,
                      deadline: float = math.inf) -> tuple[np.ndarray, float, str]:
    """Up to REFINE_STEPS refinement steps while the previous correction (``last``; infinite: the
    first step is kept) exceeds REFINE_AGAIN: a step that does not shrink it is undone, one that
    shrinks it by less than REFINE_CONTRACTION is kept, and either ends the run as stagnated; so
    does the ``deadline`` (``time.perf_counter()``) passing with a state of accepted backward
    error. The state, the last kept correction and why the run ended above REFINE_AGAIN
    (``"stagnated"``, ``"deadline"``; ``""`` where it did not)."""
    def above(last: float) -> str:
        return "stagnated" if last > REFINE_AGAIN else ""

    for _ in range(REFINE_STEPS):
        if not REFINE_AGAIN < last:
            return x, last, ""
        if time.perf_counter() > deadline and _backward_error(system, x, b) <= ACCEPTED_BACKWARD_ERROR:
            return x, last, "deadline"
        kept = x
        x = refine(system, x, b, solve, info)
        if not info.correction < last:
            return kept, last, "stagnated"
        stagnated = not info.correction < REFINE_CONTRACTION * last
        last = info.correction
        if stagnated:
            return x, last, above(last)
    return x, last, above(last)


def refine(system: ExactLiouvillian, x: np.ndarray, b: np.ndarray, solve: Callable[[np.ndarray], np.ndarray],
           info: SolveInfo) -> np.ndarray:
    """A step of iterative refinement: ``r = b - L̂ x`` in extended precision, ``δ = solve(r)``,
    ``x + δ``. Records ``correction = ||δ||/||x||`` (an estimate of x's relative forward error,
    of which the refined x keeps at most a fraction) and the lower bound of κ it implies."""
    r = residual_extended(system.A, x, b)
    delta = solve(r)
    info.refinement_steps += 1
    if not np.all(np.isfinite(delta)):  # the correction's solve failed: x kept, its error unknown
        info.correction = float("inf")
        return x
    size_x = float(np.abs(x).max())
    info.correction = float(np.abs(delta).max()) / size_x if size_x else float("inf")
    info.refinement = delta
    r_norm = float(np.abs(r).max())
    if r_norm > 0:
        info.condition = system.norm_inf * float(np.abs(delta).max()) / r_norm
        info.condition_kind = "lower bound"
    return x + delta


def rounding_response(system: ExactLiouvillian, x: np.ndarray, solve: Callable[[np.ndarray], np.ndarray],
                      info: SolveInfo) -> None:
    """The state's responses to the rounding of L̂ itself, which refinement (solving the rounded
    L̂) cannot see: ``info.rounding``, ROUNDING_PROBES vectors ``L̂^-1 r`` with ``r_i = u (|L̂|
    |x̂|)_i e^{iφ_i}``, u = MATRIX_ROUNDING_ULPS ε and seeded random phases — a perturbation δL̂
    with ``|δL̂| <= u |L̂|`` entrywise acts on x̂ as such an r, whose phases rounding leaves
    uncorrelated. ``solve`` takes the right-hand sides as the rows of one array. Where a solve
    fails, the error is unknown (``info.correction`` infinite), as for a failed refinement."""
    rng = np.random.default_rng(0)
    size = rounding_size(system, x)
    responses = solve(size * np.exp(2j * np.pi * rng.random((ROUNDING_PROBES, len(x)))))  # one per row
    if np.all(np.isfinite(responses)):
        info.rounding = list(responses)
    else:
        info.correction = float("inf")
        _add_note(info, "the response to L's rounding failed")


def rounding_size(system: ExactLiouvillian, x: np.ndarray) -> np.ndarray:
    """``u (|L̂| |x̂|)_i``, u = MATRIX_ROUNDING_ULPS ε: the largest effect of L̂'s entrywise
    rounding on each equation at the state x̂."""
    return MATRIX_ROUNDING_ULPS * float(np.finfo(float).eps) * (abs(system.A) @ np.abs(x))


def _condition(system: ExactLiouvillian, solve: Callable[..., np.ndarray]) -> float:
    """κ_1(L̂) = ||L̂||_1 ||L̂^-1||_1, the second by ``onenormest`` (a few solves with the LU;
    ``solve(r, trans)``)."""
    dim = system.space.dim
    inv = scipy.sparse.linalg.LinearOperator(
        (dim, dim), matvec=lambda v: solve(np.asarray(v, dtype=complex).ravel()),
        rmatvec=lambda v: solve(np.asarray(v, dtype=complex).ravel(), trans="H"), dtype=complex)
    try:
        est = scipy.sparse.linalg.onenormest(inv)
    except Exception:  # an estimate only: never a reason to fail
        return float("nan")
    return float(abs(system.A).sum(axis=0).max()) * float(est)


def _check(system: ExactLiouvillian, x: np.ndarray, b: np.ndarray, info: SolveInfo) -> None:
    info.backward_error = _backward_error(system, x, b)
    if not info.backward_error <= ACCEPTED_BACKWARD_ERROR:
        raise NonUniqueSteadyStateError(
            f"the exact Liouvillian at N = {system.space.n} is (numerically) singular: the solve "
            f"has backward error {info.backward_error:.1e}, so the steady state is not unique or "
            "not resolvable in double precision")
    hs_norm = float(np.linalg.norm(x))
    if hs_norm > 1 + 1e-6:
        raise NonUniqueSteadyStateError(
            f"the exact solve at N = {system.space.n} gives an operator of Hilbert–Schmidt norm "
            f"{hs_norm:.3g} > 1, not a density matrix: the Liouvillian is numerically singular "
            "(the steady state is not unique)")
    if not math.isfinite(info.correction):
        info.correction = float("inf")
