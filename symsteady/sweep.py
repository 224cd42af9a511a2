"""Parameter sweeps: a grid from ``name=start:stop:count`` specs, ``evaluate`` over it, a CSV.

* Grid: the Cartesian product of the varied axes, the first axis slowest (``numpy`` "ij"
  order, so ``values.reshape(grid.shape)`` gives ``[i_axis0, i_axis1, …]``). ``--set`` values
  are numbers or expressions of the axes, of ``N`` and of other set names, so an axis need
  not be a model parameter: ``--vary Jx=… --vary Jy=… --set "J=(Jx+Jy)/2" --set
  "delta=(Jx-Jy)/2"`` sweeps xyz over the (Jx, Jy) plane.
* Perturbative methods run as one vectorised :func:`~symsteady.evaluation.evaluate` call.
  The exact method runs in chunks on a Dask client: a ``LocalCluster`` with one
  single-threaded worker process per core by default, or an existing cluster by address.
* CSV: one row per point and method; the axes that are not model parameters, then ``N`` and
  the model parameters, then every field of the ``evaluate`` row flattened (``direction_x``,
  ``mean_x``, ``cov_xy``, …). Floats are written with ``repr`` (they read back exactly);
  ``None`` (θ of an isotropic state, the order of an exact row) is an empty cell. The file is
  written to a temporary file and renamed: never a partial file.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import sympy

from .errors import MissingDependencyError, ParameterError, SymsteadyError
from .evaluation import evaluate
from .model import Model, parse

Row = dict[str, Any]
METHODS = ("full", "pure", "exact")
AXIS_KEYS = "xyz"


# ---- grid ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    """A varied name with ``count`` values from ``start`` to ``stop`` (both included), evenly
    spaced, or geometrically with ``scale="log"`` (start and stop of the same sign, not 0)."""

    name: str
    start: float
    stop: float
    count: int
    scale: str = "linear"

    def values(self) -> np.ndarray:
        if self.scale == "log":
            v = np.sign(self.start) * np.geomspace(abs(self.start), abs(self.stop), self.count)
        else:
            v = np.linspace(self.start, self.stop, self.count)
        if self.name == "N":
            r = np.rint(v)
            if not np.allclose(v, r) or r.min() < 1:
                raise ParameterError(f"--vary N={self.start:g}:{self.stop:g}:{self.count} gives non-integer N")
            return r.astype(int)
        return v


def parse_vary(spec: str) -> Axis:
    """``name=start:stop:count`` (or ``name=start:stop:count:log``) → :class:`Axis`."""
    name, eq, rng = spec.partition("=")
    parts = [x.strip() for x in rng.split(":")]
    scale = parts.pop() if len(parts) == 4 else "linear"
    if not eq or not name.strip() or len(parts) != 3 or scale not in ("linear", "log"):
        raise ParameterError(f"--vary takes name=start:stop:count[:log], not {spec!r}")
    try:
        start, stop = float(parse(parts[0])), float(parse(parts[1]))
        count = int(parts[2])
    except (ValueError, TypeError, SymsteadyError):
        raise ParameterError(f"--vary {spec!r}: start and stop must be numbers, count an integer") from None
    if count < 1 or not (math.isfinite(start) and math.isfinite(stop)):
        raise ParameterError(f"--vary {spec!r}: count must be >= 1 and the bounds finite")
    if scale == "log" and not start * stop > 0:
        raise ParameterError(f"--vary {spec!r}: a log axis needs start and stop of one sign, not 0")
    return Axis(name.strip(), start, stop, count, scale)


def parse_set(spec: str) -> tuple[str, sympy.Expr]:
    """``name=value`` → (name, sympy expression); the value may use axes, N and other set names."""
    name, eq, value = spec.partition("=")
    if not eq or not name.strip() or not value.strip():
        raise ParameterError(f"--set takes name=value, not {spec!r}")
    try:
        return name.strip(), parse(value.strip(), f"--set {name.strip()}")
    except SymsteadyError as exc:
        raise ParameterError(str(exc)) from None


@dataclass(frozen=True)
class Grid:
    """The points of a sweep: axes (varied) and settings (numbers or expressions)."""

    model: Model
    axes: tuple[Axis, ...]
    settings: tuple[tuple[str, sympy.Expr], ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(a.count for a in self.axes)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def axis_names(self) -> list[str]:
        return [a.name for a in self.axes]

    @property
    def parameter_names(self) -> list[str]:
        """``N`` and the model's parameters, in the order the CSV writes them."""
        return ["N", *(p.name for p in self.model.parameters)]

    @property
    def extra_axes(self) -> list[str]:
        """Axes that are not model parameters (coordinates such as Jx, Jy for xyz)."""
        return [a for a in self.axis_names if a not in self.parameter_names]

    def coordinates(self) -> dict[str, np.ndarray]:
        """Axis values at every point (flattened, first axis slowest)."""
        mesh = np.meshgrid(*[a.values() for a in self.axes], indexing="ij")
        return {a.name: m.ravel() for a, m in zip(self.axes, mesh)}

    def parameters(self, coordinates: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """``N`` and every model parameter from axis values (arrays broadcast together)."""
        values: dict[str, Any] = {k: np.asarray(v) for k, v in coordinates.items()}
        shape = np.broadcast(*values.values()).shape if values else ()
        for name, expr in _resolve(dict(self.settings), list(values)):
            args = sorted(expr.free_symbols, key=lambda s: s.name)
            fn = sympy.lambdify(args, expr, "numpy")
            values[name] = np.broadcast_to(np.asarray(fn(*[values[a.name] for a in args]), dtype=float), shape)
        return {k: values[k] for k in self.parameter_names}

    def points(self) -> list[dict[str, Any]]:
        """One dict per point, as :func:`~symsteady.evaluation.evaluate` takes it."""
        table = self.parameters(self.coordinates())
        n = self.size
        cols = {k: np.broadcast_to(v, (n,)) for k, v in table.items()}
        out = []
        for i in range(n):
            p: dict[str, Any] = {}
            for k, v in cols.items():
                x = v[i].item()
                if k == "N":
                    if float(x) != int(round(float(x))) or x < 1:
                        raise ParameterError(f"N = {x} is not a positive integer at point {i}")
                    x = int(round(float(x)))
                p[k] = x
            out.append(p)
        return out

    def coordinate_rows(self) -> list[dict[str, Any]]:
        """Axis values of each point, as dicts (ints for N)."""
        coords = self.coordinates()
        return [{k: v[i].item() for k, v in coords.items()} for i in range(self.size)]


def _resolve(settings: dict[str, sympy.Expr], known: list[str]) -> list[tuple[str, sympy.Expr]]:
    """Settings in an order where each uses only axes and earlier settings."""
    done, order = set(known), []
    pending = dict(settings)
    while pending:
        ready = [k for k, e in pending.items() if {s.name for s in e.free_symbols} <= done]
        if not ready:
            name, expr = next(iter(pending.items()))
            missing = sorted({s.name for s in expr.free_symbols} - done - set(pending))
            why = f"unknown name(s) {missing}" if missing else "a circular definition"
            raise ParameterError(f"--set {name}={expr}: {why}")
        for k in ready:
            order.append((k, pending.pop(k)))
            done.add(k)
    return order


def make_grid(model: Model, vary: Sequence[str | Axis], sets: Mapping[str, Any] | Sequence[str] = (),
              N: int | None = None) -> Grid:
    """Check and build a sweep grid: every model parameter and ``N`` must be given by an axis
    or a setting, and every axis and setting must be used."""
    axes = tuple(parse_vary(v) if isinstance(v, str) else v for v in vary)
    if not axes:
        raise ParameterError("a sweep needs at least one --vary name=start:stop:count")
    if isinstance(sets, Mapping):
        settings = {k: parse_set(f"{k}={v}")[1] for k, v in sets.items()}
    else:
        settings = dict(parse_set(s) for s in sets)
    if N is not None:
        if "N" in settings:
            raise ParameterError("N is given twice (--N and --set N=...)")
        settings["N"] = sympy.Integer(int(N))
    names = [a.name for a in axes]
    dup = sorted({n for n in names if names.count(n) > 1} | (set(names) & set(settings)))
    if dup:
        raise ParameterError(f"{dup} given more than once (--vary and --set)")
    grid = Grid(model, axes, tuple(settings.items()))
    needed = set(grid.parameter_names)
    missing = sorted(needed - set(names) - set(settings))
    if missing:
        hint = " (give --N n)" if "N" in missing else ""
        raise ParameterError(f"no value for {missing}{hint}; {model.name} has parameters {grid.parameter_names}")
    used = set()
    for expr in settings.values():
        used |= {s.name for s in expr.free_symbols}
    unused = sorted((set(names) | set(settings)) - needed - used)
    if unused:
        raise ParameterError(
            f"{unused} is neither a parameter of {model.name} ({', '.join(grid.parameter_names)}) "
            "nor used in a --set expression"
        )
    _resolve(settings, names)
    return grid


# ---- running ---------------------------------------------------------------------------------


class Progress:
    """A tiny progress bar on stderr, shown only when stderr is a terminal (or ``force``)."""

    def __init__(self, total: int, label: str = "", enabled: bool | None = None, stream: Any = None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total, self.done, self.label, self.t0 = total, 0, label, time.monotonic()

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.enabled:
            frac = self.done / max(self.total, 1)
            bar = "#" * int(30 * frac)
            elapsed = time.monotonic() - self.t0
            eta = elapsed / frac - elapsed if frac > 0 else float("nan")
            self.stream.write(f"\r{self.label} [{bar:<30}] {self.done}/{self.total} "
                              f"{elapsed:.0f}s elapsed, {eta:.0f}s left ")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


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


def _chunks(n: int, size: int) -> list[range]:
    return [range(i, min(i + size, n)) for i in range(0, n, size)]


def run_exact(model: Model, points: Sequence[Mapping[str, Any]], *, client: Any = None,
              scheduler: str | None = None, n_workers: int | None = None, serial: bool = False,
              chunk_size: int | None = None, progress: bool | None = None) -> list[Row]:
    """``evaluate(model, None, points, "exact")`` in chunks: serially, on ``client``, or on a
    client made by :func:`dask_client` (``scheduler``, ``n_workers``). Rows in point order."""
    points = [dict(p) for p in points]
    n = len(points)
    bar = Progress(n, "exact", progress)
    try:
        if serial:
            rows: list[Row] = []
            for r in _chunks(n, chunk_size or 1):
                rows += evaluate(model, None, [points[i] for i in r], "exact")
                bar.update(len(r))
            return rows
        if client is None:
            with dask_client(scheduler, n_workers) as c:
                return _run_on(c, model, points, chunk_size, bar)
        return _run_on(client, model, points, chunk_size, bar)
    finally:
        bar.close()


def _run_on(client: Any, model: Model, points: list[dict[str, Any]], chunk_size: int | None,
            bar: Progress) -> list[Row]:
    distributed = _distributed()
    workers = max(1, len(client.scheduler_info().get("workers", {})) or cores())
    size = chunk_size or max(1, min(16, len(points) // (4 * workers)))
    chunks = _chunks(len(points), size)
    [model_future] = client.scatter([model], broadcast=True)
    futures = {client.submit(evaluate, model_future, None, [points[i] for i in r], "exact", pure=False): r
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
        """The :class:`~symsteady.diagnostics.DivergenceReport` of the perturbative run against the exact one."""
        from .diagnostics import compare

        pert = [r for r in self.runs if r.method != "exact"]
        if not pert:
            raise ParameterError("comparing needs a perturbative run and an exact run")
        return compare(pert[0].rows, self.run("exact").rows, tolerance, quantity, self.grid.model,
                       self.grid.coordinate_rows())

    def write_csv(self, path: str | Path) -> Path:
        return write_csv(path, self.grid, self.runs)


def sweep(model: Model, grid: Grid, methods: Sequence[str] = ("full",), order: int | None = None,
          **exact_options: Any) -> SweepResult:
    """Run each method over the grid. Perturbative methods need ``order``; ``exact_options``
    (``client``, ``scheduler``, ``n_workers``, ``serial``, ``chunk_size``, ``progress``) go to
    :func:`run_exact`."""
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
            rows = run_exact(model, points, **exact_options)
        else:
            rows = evaluate(model, order, points, method)
        result.runs.append(Run(method, None if method == "exact" else order, rows, time.perf_counter() - t0))
    return result


# ---- CSV -------------------------------------------------------------------------------------

ROW_FIELDS = ("order", "method", "sector", "xi2_R", "xi2_S", "theta")


def flatten(row: Mapping[str, Any]) -> dict[str, Any]:
    """An ``evaluate`` row as one flat dict: params (N first), order, method, sector, ξ²_R, ξ²_S,
    θ, ``direction_x…z``, ``mean_x…z``, ``cov_xx, cov_xy, …, cov_zz`` (all nine), ``rs_gap``."""
    out: dict[str, Any] = {"N": row["N"]}
    out.update({k: v for k, v in row["params"].items() if k != "N"})
    out.update({k: row[k] for k in ROW_FIELDS})
    out.update({f"direction_{a}": v for a, v in zip(AXIS_KEYS, row["direction"])})
    out.update({f"mean_{a}": v for a, v in zip(AXIS_KEYS, row["mean"])})
    out.update({f"cov_{a}{b}": row["cov"][i][j] for i, a in enumerate(AXIS_KEYS) for j, b in enumerate(AXIS_KEYS)})
    out["rs_gap"] = row["rs_gap"]
    return out


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    return str(v)


def write_csv(path: str | Path, grid: Grid, runs: Sequence[Run]) -> Path:
    """Write every run's rows (grid order, runs one after the other), atomically."""
    path = Path(path)
    coords = grid.coordinate_rows()
    extra = grid.extra_axes
    header: list[str] | None = None
    lines: list[list[str]] = []
    for run in runs:
        for c, row in zip(coords, run.rows):
            flat = {**{k: c[k] for k in extra}, **flatten(row)}
            if header is None:
                header = list(flat)
            lines.append([_cell(flat[k]) for k in header])
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header or [])
            w.writerows(lines)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def read_csv(path: str | Path) -> list[dict[str, Any]]:
    """Read a sweep CSV back: numbers as int/float, empty cells as None, text as str."""
    def value(s: str) -> Any:
        if s == "":
            return None
        for conv in (int, float):
            with contextlib.suppress(ValueError):
                return conv(s)
        return s

    with open(path, newline="") as fh:
        return [{k: value(v) for k, v in r.items()} for r in csv.DictReader(fh)]


__all__ = ["Axis", "Grid", "Progress", "Run", "SweepResult", "dask_client", "flatten", "make_grid",
           "parse_set", "parse_vary", "read_csv", "run_exact", "sweep", "write_csv"]
