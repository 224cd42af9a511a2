"""Figures of sweeps (matplotlib, imported lazily; ``pip install 'symsteady[plot]'``).

* one varied axis: ξ²_R (or another field) against it, one curve per method, with the
  mean-field instability of the dark state marked where the axis crosses it;
* two varied axes: a colour map of the squeezing angle θ ∈ (−π/2, π/2] (cyclic colour map:
  θ and θ ± π are the same axis; grey where θ is undefined) for each method side by side, the
  first axis horizontal; the mean-field instability line (black dashed) and, with an exact
  run, the contour where ``|perturbative − exact|`` of ξ²_R reaches the tolerance.

Figures are built with matplotlib's object API (``matplotlib.figure.Figure``), so the global
pyplot state and backend are left alone; :func:`save` writes a PNG. Every figure of symsteady
(the command line's and the notebooks') uses one small style, :data:`STYLE`: inside
:func:`style` (a context), or for a whole notebook after :func:`use_style`. Angles are radians
in (−π/2, π/2] everywhere (θ and θ ± π are the same axis).
"""

from __future__ import annotations

from pathlib import Path
import functools
from typing import Any, Callable, Sequence

import numpy as np

from .errors import MeanFieldError, MissingDependencyError, ParameterError
from .files import atomic_path
from .meanfield import mean_field as _mean_field
from .sweep import Grid, SweepResult

LABELS = {
    "xi2_R": r"$\xi^2_R$", "xi2_S": r"$\xi^2_S$", "theta": r"$\theta$", "rs_gap": "rs_gap",
    "delta": r"$\delta$", "Delta": r"$\Delta$", "gamma": r"$\gamma$", "Gamma": r"$\Gamma$",
    "Omega": r"$\Omega$", "Jx": r"$J_x$", "Jy": r"$J_y$", "Jz": r"$J_z$", "J": r"$J$",
}
STYLES = {"exact": dict(color="black", lw=1.8), "full": dict(ls="--", lw=1.6), "pure": dict(ls=":", lw=1.6)}
#: the shared look of symsteady's figures (matplotlib rcParams): serif text with Computer
#: Modern mathematics, ticks inside on all four sides, compact legends
STYLE = {
    "font.family": "serif",
    "font.size": 10,
    "mathtext.fontset": "cm",
    "axes.labelsize": 11,
    "axes.titlesize": 10,
    "axes.linewidth": 0.8,
    "legend.fontsize": 8.5,
    "legend.framealpha": 0.85,
    "lines.linewidth": 1.6,
    "xtick.direction": "in",
    "ytick.direction": "in",
    "xtick.top": True,
    "ytick.right": True,
    "figure.dpi": 100,
    "savefig.dpi": 150,
}
#: colour of cells where θ is undefined (an isotropic state: no preferred direction)
UNDEFINED = "0.75"
#: colour of the hatching where a perturbative map disagrees with the exact one
DISAGREE = "tab:red"


def style() -> Any:
    """A context in which figures are drawn in :data:`STYLE`."""
    import matplotlib

    return matplotlib.rc_context(STYLE)


def styled(draw: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a figure function so that it draws (and saves) in :data:`STYLE`."""
    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with style():
            return draw(*args, **kwargs)
    return wrapper


def use_style() -> None:
    """Apply :data:`STYLE` for the rest of the session (notebooks)."""
    import matplotlib

    matplotlib.rcParams.update(STYLE)


def _figure_class():
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingDependencyError("plots need matplotlib: pip install 'symsteady[plot]'") from None
    return Figure


def label(name: str) -> str:
    """An axis label for a parameter or field name (parameters as the LaTeX output writes them)."""
    if name in LABELS:
        return LABELS[name]
    from .codegen.latex import typeset_name

    return f"${typeset_name(name)}$" if name.replace("_", "").isalnum() else name


def fixed_values(grid: Grid) -> str:
    """``N = 20, J = 0.5, …``: the settings of a sweep that are not varied (mathtext)."""
    parts = []
    for name, expr in sorted(grid.settings, key=lambda kv: (kv[0] != "N", kv[0])):
        value = f"{float(expr):g}" if expr.is_number else f"${sympy_latex(expr)}$"
        parts.append(f"{label(name)} = {value}")
    return ", ".join(parts)


def sympy_latex(expr: Any) -> str:
    """An expression of the sweep's names in mathtext, names typeset as in :func:`label`."""
    import sympy

    names = {s: label(s.name).strip("$") for s in expr.free_symbols}
    return sympy.latex(sympy.factor(expr), symbol_names=names)


def angle_axis(ax: Any, which: str = "y") -> None:
    """Ticks of an angle axis in (−π/2, π/2], labelled in units of π."""
    ticks = [-np.pi / 2, -np.pi / 4, 0, np.pi / 4, np.pi / 2]
    labels = [r"$-\pi/2$", r"$-\pi/4$", "0", r"$\pi/4$", r"$\pi/2$"]
    getattr(ax, f"set_{which}ticks")(ticks, labels)
    getattr(ax, f"set_{which}lim")(-np.pi / 2 - 0.1, np.pi / 2 + 0.1)


def angle_curve(theta: np.ndarray) -> np.ndarray:
    """θ with NaN inserted where it wraps from π/2 to −π/2 (the same axis), for line plots."""
    theta = np.asarray(theta, dtype=float)
    out = theta.copy()
    jumps = np.flatnonzero(np.abs(np.diff(theta)) > np.pi / 2)
    out[jumps] = np.nan
    return out


def new_figure(ncols: int = 1, width: float = 5.0, height: float = 4.0, **kw: Any):
    """``(figure, axes list)`` without touching pyplot."""
    Figure = _figure_class()
    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False, **kw)[0]
    return fig, list(axes)


def save(fig: Any, path: str | Path, dpi: int = 150) -> Path:
    """Write a figure (format from the suffix, PNG by default) atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png")
    return path


def mean_field_growth(grid: Grid, coordinates: dict[str, np.ndarray]) -> np.ndarray | None:
    """Largest mean-field growth rate at the given axis values, or None without a mean-field line."""
    try:
        mf = _mean_field(grid.model)
    except MeanFieldError:
        return None
    return mf.growth_rate(grid.parameters(coordinates))


def mean_field_crossings(grid: Grid, resolution: int = 2001) -> list[float]:
    """Values of the (single) axis where the dark state changes mean-field stability."""
    (axis,) = grid.axes
    x = np.linspace(axis.start, axis.stop, resolution)
    g = mean_field_growth(grid, {axis.name: x})
    if g is None:
        return []
    s = np.sign(g)
    idx = np.flatnonzero(s[:-1] * s[1:] < 0)
    return [float(x[i] - g[i] * (x[i + 1] - x[i]) / (g[i + 1] - g[i])) for i in idx]


def draw_mean_field(ax: Any, grid: Grid, resolution: int = 400, **style: Any) -> bool:
    """Draw the mean-field instability line on a map of ``grid`` (two axes); True if drawn."""
    a0, a1 = grid.axes
    x = np.linspace(a0.start, a0.stop, resolution)
    y = np.linspace(a1.start, a1.stop, resolution)
    X, Y = np.meshgrid(x, y)
    g = mean_field_growth(grid, {a0.name: X, a1.name: Y})
    if g is None or not (np.nanmin(g) < 0 < np.nanmax(g)):
        return False
    ax.contour(X, Y, g, levels=[0.0], colors=style.get("colors", "black"),
               linestyles=style.get("linestyles", "--"), linewidths=style.get("linewidths", 1.5))
    ax.plot([], [], color=style.get("colors", "black"), ls="--", label="mean-field instability")
    return True


def line_plot(result: SweepResult, quantity: str = "xi2_R", ax: Any = None, mean_field: bool = True):
    """``quantity`` against the single varied axis, one curve per run."""
    grid = result.grid
    if len(grid.axes) != 1:
        raise ParameterError(f"a line plot needs one varied axis, not {len(grid.axes)}")
    fig = None
    if ax is None:
        fig, (ax,) = new_figure()
    x = grid.axes[0].values()
    for run in result.runs:
        y = run.values(quantity)
        ax.plot(x, angle_curve(y) if quantity == "theta" else y, label=run.label, **STYLES.get(run.method, {}))
    if mean_field:
        for i, xc in enumerate(mean_field_crossings(grid)):
            ax.axvline(xc, color="grey", ls="-.", lw=1, label="mean-field instability" if i == 0 else None)
    if grid.axes[0].scale == "log":
        ax.set_xscale("log")
    ax.set_xlabel(label(grid.axes[0].name))
    ax.set_ylabel(label(quantity) + (" (rad)" if quantity == "theta" else ""))
    if quantity == "theta":
        angle_axis(ax)
    ax.set_title(f"{grid.model.name}: {fixed_values(grid)}")
    ax.legend()
    return fig if fig is not None else ax.figure


def theta_map(ax: Any, grid: Grid, theta: np.ndarray, title: str = "") -> Any:
    """A colour map of θ (shape of the grid) on ``ax``; returns the mappable for a colour bar."""
    import matplotlib

    a0, a1 = grid.axes
    cmap = matplotlib.colormaps["twilight_shifted"].with_extremes(bad=UNDEFINED)
    mesh = ax.pcolormesh(a0.values(), a1.values(), np.ma.masked_invalid(theta).T, cmap=cmap,
                         vmin=-np.pi / 2, vmax=np.pi / 2, shading="nearest", rasterized=True)
    ax.set_xlabel(label(a0.name))
    ax.set_ylabel(label(a1.name))
    if title:
        ax.set_title(title)
    return mesh


def theta_colorbar(fig: Any, mappable: Any, axes: Sequence[Any]) -> Any:
    cb = fig.colorbar(mappable, ax=list(axes), ticks=[-np.pi / 2, -np.pi / 4, 0, np.pi / 4, np.pi / 2])
    cb.ax.set_yticklabels([r"$-\pi/2$", r"$-\pi/4$", "0", r"$\pi/4$", r"$\pi/2$"])
    cb.set_label(r"squeezing angle $\theta$ (rad)")
    return cb


def map_plot(result: SweepResult, tolerance: float | None = 0.01, mean_field: bool = True):
    """θ maps of every run side by side, with the mean-field line and the divergence contour."""
    grid = result.grid
    if len(grid.axes) != 2:
        raise ParameterError(f"a map needs two varied axes, not {len(grid.axes)}")
    fig, axes = new_figure(len(result.runs), width=4.6, height=4.0)
    diff = None
    has_exact = any(r.method == "exact" for r in result.runs)
    if tolerance is not None and has_exact and len(result.runs) > 1:
        diff = result.compare(tolerance).difference.reshape(grid.shape)
    mesh = None
    for ax, run in zip(axes, result.runs):
        mesh = theta_map(ax, grid, run.values("theta", grid.shape), run.label)
        if mean_field:
            draw_mean_field(ax, grid)
        extra = []
        if diff is not None and run.method != "exact":
            extra += draw_disagreement(ax, grid, diff, tolerance)
        if np.isnan(run.values("theta", grid.shape)).any():
            extra.append(undefined_handle())
        handles = ax.get_legend_handles_labels()[0] + extra
        if handles:
            ax.legend(handles=handles, loc="lower left")
    theta_colorbar(fig, mesh, axes)
    fig.suptitle(f"{grid.model.name}: {fixed_values(grid)}")
    return fig


def undefined_handle() -> Any:
    """Legend entry of the grey cells of a θ map."""
    return _patch(facecolor=UNDEFINED, label=r"$\theta$ undefined (isotropic)")


def _patch(**kw: Any) -> Any:
    from matplotlib.patches import Patch

    return Patch(**kw)


def draw_disagreement(ax: Any, grid: Grid, diff: np.ndarray, tolerance: float) -> list[Any]:
    """Hatch the cells where ``|perturbative − exact|`` of ξ²_R exceeds the tolerance (or is
    undefined) and outline them in red; returns the legend entry (none if all agree)."""
    bad = ~(np.abs(diff) <= tolerance)
    if not bad.any():
        return []
    import matplotlib

    a0, a1 = grid.axes
    with matplotlib.rc_context({"hatch.color": DISAGREE, "hatch.linewidth": 0.8}):
        ax.contourf(a0.values(), a1.values(), bad.T.astype(float), levels=[0.5, 1.5], colors="none",
                    hatches=["////"])
    return [_patch(facecolor="none", edgecolor=DISAGREE, hatch="////",
                   label=rf"$|\Delta\xi^2_R| > {tolerance:g}$ (hatched); agrees elsewhere")]


@styled
def plot_sweep(result: SweepResult, path: str | Path | None = None, tolerance: float | None = 0.01,
               quantity: str = "xi2_R"):
    """The standard figure of a sweep (line plot for one axis, θ maps for two); saved if ``path``."""
    n = len(result.grid.axes)
    if n not in (1, 2):
        raise ParameterError(f"plots take one or two varied axes, not {n}")
    fig = line_plot(result, quantity) if n == 1 else map_plot(result, tolerance)
    if path is not None:
        save(fig, path)
    return fig


@styled
def plot_state(model: Any, point: dict[str, Any], method: str = "exact", order: int | None = None,
               path: str | Path | None = None, resolution: int = 161, radius: float | None = None):
    """The Husimi function Q of a steady state around its mean spin, with the squeezing axis and
    the QFI-optimal rotation axis (``docs/algorithm/metrology.md#metrology-husimi``).

    The chart is the azimuthal equidistant projection about the mean-spin direction m̂: the
    point at distance r (radians) in direction (cos ψ, sin ψ) is ``cos r m̂ + sin r (cos ψ e1 +
    sin ψ e2)`` with the frame e1, e2 of ``docs/algorithm/conventions.md#conventions-frame``.
    ``method``: ``"exact"``, or ``"full"``/``"pure"`` with ``order`` (the state summed at λ).
    ``radius``: the chart's half width in radians (default 4/√N, at most π)."""
    from .evaluation import evaluate
    from .husimi import husimi, model_state
    from .observables import frame

    state = model_state(model, point, method, order)
    with_qfi = method == "exact" or (method == "full" and order in (1, 2))
    row = evaluate(model, None if method == "exact" else order, [point], method, qfi=with_qfi)[0]
    mean = np.asarray(row["mean"], dtype=float)
    mhat = mean / np.linalg.norm(mean)
    e1, e2 = (np.asarray(e, dtype=float) for e in frame(mean))
    n = int(row["N"])
    R = radius if radius is not None else min(np.pi, 4 / np.sqrt(n))
    x = np.linspace(-R, R, resolution)
    X, Y = np.meshgrid(x, x)
    r, psi = np.hypot(X, Y), np.arctan2(Y, X)
    vec = (np.cos(r)[..., None] * mhat + np.sin(r)[..., None]
           * (np.cos(psi)[..., None] * e1 + np.sin(psi)[..., None] * e2))
    Q = husimi(state, np.arccos(np.clip(vec[..., 2], -1, 1)), np.arctan2(vec[..., 1], vec[..., 0]))
    fig, (ax,) = new_figure(width=5.2, height=4.4)
    mesh = ax.pcolormesh(X, Y, np.ma.masked_where(r > np.pi, Q), cmap="magma", shading="nearest", rasterized=True)
    fig.colorbar(mesh, ax=ax, label=r"$Q(\theta, \phi)$")
    ax.contour(X, Y, Q, levels=np.linspace(0.1, 0.9, 5) * np.max(Q), colors="white", linewidths=0.6, alpha=0.7)
    if row["theta"] is not None:
        t = row["theta"]
        ax.plot([-R * np.cos(t), R * np.cos(t)], [-R * np.sin(t), R * np.sin(t)], color="tab:cyan", lw=1.5,
                label=r"squeezed axis $\theta$")
    if row.get("fq_direction") is not None:
        u = np.asarray(row["fq_direction"], dtype=float)
        v = np.array([u @ e1, u @ e2])
        if np.linalg.norm(v) > 1e-6:
            v = v / np.linalg.norm(v)
            ax.plot([-R * v[0], R * v[0]], [-R * v[1], R * v[1]], color="tab:green", ls="--", lw=1.5,
                    label="QFI-optimal rotation axis")
    ax.set_xlim(-R, R)
    ax.set_ylim(-R, R)
    ax.set_aspect("equal")
    ax.set_xlabel(r"along $e_1$ (rad)")
    ax.set_ylabel(r"along $e_2$ (rad)")
    what = "exact" if method == "exact" else f"{method} order {order}"
    title = f"{model.name}, N = {n}, {what}"
    if row["xi2_R"] is not None:
        title += "\n" + rf"$\xi^2_R = {row['xi2_R']:.4f}$"
        if row.get("fq_N") is not None:
            title += rf", $F_Q/N = {row['fq_N']:.4f}$"
    ax.set_title(title, fontsize="medium")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower left", fontsize="small", framealpha=0.8)
    if path is not None:
        save(fig, path)
    return fig
