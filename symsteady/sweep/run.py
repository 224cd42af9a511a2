"""Running a sweep: perturbative methods as one vectorised ``evaluate`` call; the exact method
point by point, in this process (chunks one after the other, or on a thread per core) or in
chunks on a Dask client (a ``LocalCluster`` with one
single-threaded worker process per core by default, or an existing cluster by address).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from ..errors import MissingDependencyError, ParameterError
from ..evaluation import METHODS, evaluate
from ..exact.rotation import rotation_classes
from ..exact.space import exact_dimension
from ..model import Model
from ..threads import single_blas_thread
from .grid import Grid
from .table import Row, flatten, write_csv


def progress_bar(total: int, label: str, enabled: bool | None = None) -> Any:
    """A tqdm progress bar on stderr, shown only when stderr is a terminal (or ``enabled``)."""
    from tqdm.auto import tqdm

    show = sys.stderr.isatty() if enabled is None else enabled
    return tqdm(total=total, desc=label, unit="point", disable=not show, file=sys.stderr, leave=False)


def _distributed():
    try:
        import distributed
    except ImportError:
        raise MissingDependencyError(
            "exact sweeps run in parallel through Dask: pip install 'symsteady[dask]' "
            "(or run serially: serial=True, --serial)"
        ) from None
    return distributed


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, n_workers: int | None = None) -> Iterator[Any]:
    """A Dask client: connected to ``scheduler`` (an address such as ``tcp://host:8786``; its
    workers need symsteady installed), or to a fresh ``LocalCluster`` of ``n_workers``
    single-threaded processes (default: the cores this process may use)."""
    distributed = _distributed()
    if scheduler:
        with distributed.Client(scheduler) as client:
            yield client
        return
    import logging

    import dask

    workers = n_workers or cores()
    # Dask sets MALLOC_TRIM_THRESHOLD_=65536 in its workers (and leaves it in this process's
    # environment, where later workers inherit it); with the exact solver's large sparse
    # allocations that costs as much system time as the solve itself (measured: 1.4-2x slower
    # per point than in-process). Our workers keep glibc's adaptive default instead.
    key = "MALLOC_TRIM_THRESHOLD_"
    saved = os.environ.pop(key, None)
    try:
        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{key}": None}):
            cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                               dashboard_address=":0", silence_logs=logging.ERROR)
    finally:
        if saved is not None:
            os.environ[key] = saved
    with cluster, distributed.Client(cluster) as client:
        yield client


def _chunks(n: int, size: int, starts: Sequence[int] | None = None) -> list[range]:
    """Consecutive ranges over ``range(n)`` of at least ``size`` points (the last one shorter),
    cut only at ``starts`` (the first points of rotation classes; default: anywhere)."""
    out, begin = [], 0
    for cut in range(n) if starts is None else starts:
        if cut - begin >= size:
            out.append(range(begin, cut))
            begin = cut
    return out + ([range(begin, n)] if begin < n else [])


#: Estimated seconds per basis element of one exact point (measured on xyz: N = 20 to 120),
#: and the least estimated serial time for which a local Dask cluster (a few seconds to
#: start, a copy of the pieces per worker) pays.
SECONDS_PER_ELEMENT = 1e-5
DASK_MIN_SECONDS = 30.0
#: Largest exact dimension solved on several threads of one process: above it a direct LU may
#: need gigabytes, and concurrent ones would each check their memory against the other's start.
THREADS_MAX_DIMENSION = 100_000
#: Points per serial chunk: each point's solve starts from the previous one's solution
#: within a chunk.
SERIAL_CHUNK = 64
#: The interpreter's thread switch interval (seconds) while a sweep runs on threads: a thread
#: back from the LU (which releases the GIL) waits at most this long for the other thread's
#: Python work (measured, 41 x 41 map at N = 20, 2 cores, same run: 4.5 s with Python's
#: default 5 ms, 4.1 s with 1 ms, 4.0 s with 0.2 ms).
THREAD_SWITCH_SECONDS = 0.0005


def estimated_seconds(model: Model, points: Sequence[Mapping[str, Any]]) -> float:
    """A rough serial time of the exact points: basis elements per point, summed, times
    SECONDS_PER_ELEMENT."""
    return SECONDS_PER_ELEMENT * sum(exact_dimension(model, int(p["N"])) for p in points)


def choose_serial(model: Model, points: Sequence[Mapping[str, Any]], scheduler: str | None, client: Any,
                  n_workers: int | None) -> bool:
    """Serial unless a scheduler or client is given, or the estimated work pays for a local cluster."""
    if scheduler or client is not None:
        return False
    if (n_workers or cores()) < 2:
        return True
    return estimated_seconds(model, points) < DASK_MIN_SECONDS


def run_exact(model: Model, points: Sequence[Mapping[str, Any]], *, client: Any = None,
              scheduler: str | None = None, n_workers: int | None = None, serial: bool | None = None,
              chunk_size: int | None = None, progress: bool | None = None, qfi: bool = False) -> list[Row]:
    """``evaluate(model, None, points, "exact", qfi=qfi)`` in chunks: serially, on ``client``, or on a
    client made by :func:`dask_client` (``scheduler``, ``n_workers``). ``serial=None`` decides
    from the estimated work (:func:`choose_serial`) and runs a small sweep in this process on a
    thread per core (``n_workers`` of them); ``serial=True`` runs it on one thread. The progress
    line says which ran. Points a quarter turn about z apart run in one chunk, where the first
    one's solution serves the others (:mod:`symsteady.exact.rotation`); the work is estimated
    from the points solved. Rows in point order."""
    given = [dict(p) for p in points]
    classes = rotation_classes(model, given)  # a point's quarter-turn partners in its chunk: solved once
    order = [i for members in classes for i in members]
    points = [given[i] for i in order]
    starts = list(itertools.accumulate((len(members) for members in classes[:-1]), initial=0))
    n = len(points)
    threads = 1
    if serial is None:
        serial = choose_serial(model, [given[members[0]] for members in classes], scheduler, client, n_workers)
        if max((exact_dimension(model, int(p["N"])) for p in points), default=0) <= THREADS_MAX_DIMENSION:
            threads = min(n_workers or cores(), -(-n // (chunk_size or SERIAL_CHUNK)))
    label = "exact (dask)" if not serial else "exact (serial)" if threads < 2 else f"exact ({threads} threads)"
    bar = progress_bar(n, label, progress)
    try:
        if serial:
            ran = _run_in_process(model, points, chunk_size or SERIAL_CHUNK, threads, bar, qfi, starts)
        elif client is None:
            with dask_client(scheduler, n_workers) as c:
                ran = _run_on(c, model, points, chunk_size, bar, qfi, starts)
        else:
            ran = _run_on(client, model, points, chunk_size, bar, qfi, starts)
    finally:
        bar.close()
    rows: list[Row] = [None] * n  # type: ignore[list-item]
    for i, row in zip(order, ran):
        rows[i] = row
    return rows


def _run_in_process(model: Model, points: list[dict[str, Any]], chunk_size: int, threads: int, bar: Any,
                    qfi: bool, starts: Sequence[int] | None = None) -> list[Row]:
    """The chunks in this process: one after the other, or on ``threads`` threads (the same
    chunks, hence the same rows). Threads pay because the LU and its solves release the GIL
    (bench/exact.py --map, 2 cores: 41 × 41 points at N = 20 in 5.4-5.9 s against about 10 s one
    after the other); BLAS stays at one thread per solve throughout."""
    chunks = _chunks(len(points), chunk_size, starts)

    def run(r: range) -> list[Row]:
        return evaluate(model, None, [points[i] for i in r], "exact", qfi=qfi)

    rows: list[Row] = []
    if threads < 2:
        for r in chunks:
            rows += run(r)
            bar.update(len(r))
        return rows
    # one limit around the pool: the solvers' own (nested) limits then restore one thread, not
    # the caller's setting while another thread still solves
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, THREAD_SWITCH_SECONDS))
    try:
        with single_blas_thread(), ThreadPoolExecutor(threads) as pool:
            try:
                for r, part in zip(chunks, pool.map(run, chunks)):  # in order; a chunk's error re-raised here
                    rows += part
                    bar.update(len(r))
            except BaseException:
                pool.shutdown(cancel_futures=True)
                raise
    finally:
        sys.setswitchinterval(interval)
    return rows


def _run_on(client: Any, model: Model, points: list[dict[str, Any]], chunk_size: int | None,
            bar: Any, qfi: bool = False, starts: Sequence[int] | None = None) -> list[Row]:
    distributed = _distributed()
    workers = max(1, len(client.scheduler_info().get("workers", {})) or cores())
    size = chunk_size or max(1, min(16, len(points) // (4 * workers)))
    chunks = _chunks(len(points), size, starts)
    [model_future] = client.scatter([model], broadcast=True)
    futures = {client.submit(evaluate, model_future, None, [points[i] for i in r], "exact", qfi=qfi, pure=False): r
               for r in chunks}
    out: list[Row | None] = [None] * len(points)
    try:
        for fut in distributed.as_completed(futures):
            r = futures[fut]
            for i, row in zip(r, fut.result()):  # re-raises a worker's error here
                out[i] = row
            bar.update(len(r))
    except BaseException:
        client.cancel(list(futures))
        raise
    return out  # type: ignore[return-value]


def cores() -> int:
    """Cores this process may use (the CPU affinity where the platform reports it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@dataclass
class Run:
    """The rows of one method over a grid, and how long they took."""

    method: str
    order: int | None
    rows: list[Row]
    seconds: float

    @property
    def label(self) -> str:
        return "exact" if self.method == "exact" else f"{self.method} order {self.order}"

    def values(self, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
        """A flattened field (``xi2_R``, ``theta``, ``mean_z``, ``cov_xy`` …) as floats, NaN for None."""
        v = np.array([np.nan if (x := flatten(r)[name]) is None else x for r in self.rows], dtype=float)
        return v.reshape(shape) if shape is not None else v


@dataclass
class SweepResult:
    """A grid and one :class:`Run` per method."""

    grid: Grid
    runs: list[Run] = field(default_factory=list)

    def run(self, method: str) -> Run:
        for r in self.runs:
            if r.method == method:
                return r
        raise ParameterError(f"this sweep has no {method!r} run (it has {[r.method for r in self.runs]})")

    def values(self, method: str, name: str) -> np.ndarray:
        """A field on the grid, shaped like the axes."""
        return self.run(method).values(name, self.grid.shape)

    def compare(self, tolerance: float = 0.01, quantity: str = "xi2_R"):
        """The :class:`~symsteady.sweep.compare.DivergenceReport` of the perturbative run against the exact one."""
        from .compare import compare

        pert = [r for r in self.runs if r.method != "exact"]
        if not pert:
            raise ParameterError("comparing needs a perturbative run and an exact run")
        return compare(pert[0].rows, self.run("exact").rows, tolerance, quantity, self.grid.model,
                       self.grid.coordinate_rows())

    def write_csv(self, path: str | Path) -> Path:
        return write_csv(path, self.grid, self.runs)


def sweep(model: Model, grid: Grid, methods: Sequence[str] = ("full",), order: int | str | None = None,
          series: Mapping[str, Any] | None = None, qfi: bool = False, **exact_options: Any) -> SweepResult:
    """Run each method over the grid. Perturbative methods need ``order`` (an int or
    ``"auto"``); ``series`` (``tol``, ``max_order``, ``resum``) goes to their ``evaluate``;
    ``exact_options`` (``client``, ``scheduler``, ``n_workers``, ``serial``, ``chunk_size``,
    ``progress``) go to :func:`run_exact`. ``qfi`` adds the quantum Fisher information, purity
    and entropy to every row (``evaluate(..., qfi=True)``)."""
    if grid.model != model:
        raise ParameterError("the grid was made for another model")
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ParameterError(f"unknown method(s) {unknown}; methods: {', '.join(METHODS)}")
    if any(m != "exact" for m in methods) and order is None:
        raise ParameterError("--order K is required for the perturbative methods")
    points = grid.points()
    result = SweepResult(grid)
    for method in dict.fromkeys(methods):
        t0 = time.perf_counter()
        if method == "exact":
            rows = run_exact(model, points, qfi=qfi, **exact_options)
        else:
            rows = evaluate(model, order, points, method, qfi=qfi,
                            **{k: v for k, v in (series or {}).items() if v is not None})
        result.runs.append(Run(method, None if method == "exact" else order, rows, time.perf_counter() - t0))
    return result
