"""Sweep tables: one CSV row per point and method.

Columns: the axes that are not model parameters, then ``N`` and the model parameters, then
every field of the ``evaluate`` row flattened (``direction_x``, ``mean_x``, ``cov_xy``, …).
Floats are written with ``repr`` (they read back exactly), booleans as ``True``/``False``;
``None`` (θ of an isotropic state, the order of an exact row) is an empty cell. The file is written to a temporary file and
renamed: never a partial file.
"""

from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..files import write_atomic
from .grid import Grid

Row = dict[str, Any]
AXIS_KEYS = "xyz"


def flatten(row: Mapping[str, Any]) -> dict[str, Any]:
    """An ``evaluate`` row as one flat dict: ``N`` and the other params first, then every
    field in the row's order; vectors become ``name_x…z`` (``direction_x``, ``mean_x``) and
    3×3 matrices ``name_xx, name_xy, …, name_zz`` (all nine)."""
    out: dict[str, Any] = {"N": row["N"]}
    out.update({k: v for k, v in row["params"].items() if k != "N"})
    for key, value in row.items():
        if key in ("params", "N"):
            continue
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple)):
            out.update({f"{key}_{a}{b}": value[i][j] for i, a in enumerate(AXIS_KEYS)
                        for j, b in enumerate(AXIS_KEYS)})
        elif isinstance(value, (list, tuple)):
            out.update({f"{key}_{a}": v for a, v in zip(AXIS_KEYS, value)})
        else:
            out[key] = value
    return out


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    return str(v)


def write_csv(path: str | Path, grid: Grid, runs: Sequence[Any]) -> Path:
    """Write every run's rows (each a :class:`~symsteady.sweep.run.Run`: grid order, runs one
    after the other), atomically."""
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
    text = io.StringIO(newline="")
    w = csv.writer(text)
    w.writerow(header or [])
    w.writerows(lines)
    return write_atomic(path, text.getvalue())


def read_csv(path: str | Path) -> list[dict[str, Any]]:
    """Read a sweep CSV back: numbers as int/float, empty cells as None, text as str."""
    def value(s: str) -> Any:
        if s == "":
            return None
        if s in ("True", "False"):
            return s == "True"
        for conv in (int, float):
            with contextlib.suppress(ValueError):
                return conv(s)
        return s

    with open(path, newline="") as fh:
        return [{k: value(v) for k, v in r.items()} for r in csv.DictReader(fh)]
