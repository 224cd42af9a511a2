"""Parameter sweeps: a grid of points, every method over it, a table, and a comparison.

* :mod:`~symsteady.sweep.grid`: axes ``name=start:stop:count[:log]`` and settings → points;
* :mod:`~symsteady.sweep.run`: perturbative methods vectorised, the exact method serially or on
  Dask; a :class:`SweepResult` per sweep;
* :mod:`~symsteady.sweep.table`: the CSV (written atomically) and reading it back;
* :mod:`~symsteady.sweep.compare`: where perturbative and exact results part.

Examples
--------
>>> from symsteady import builtin
>>> from symsteady.sweep import make_grid, sweep
>>> model = builtin("xyz")
>>> grid = make_grid(model, ["delta=0:0.2:5"], {"J": 0.5, "Jz": 1, "gamma": 1}, N=10)
>>> result = sweep(model, grid, ["full", "exact"], order=2, serial=True)
>>> result.values("full", "xi2_R").shape
(5,)
"""

from __future__ import annotations

from .compare import DivergenceReport, compare, difference
from .grid import Axis, Grid, make_grid, parse_vary
from .run import Run, SweepResult, dask_client, run_exact, sweep
from .table import flatten, read_csv, write_csv

__all__ = ["Axis", "DivergenceReport", "Grid", "Run", "SweepResult", "compare", "dask_client", "difference",
           "flatten", "make_grid", "parse_vary", "read_csv", "run_exact", "sweep", "write_csv"]
