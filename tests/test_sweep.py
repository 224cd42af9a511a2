"""Sweeps: grids from --vary/--set, CSV rows equal to evaluate's, Dask equal to serial, plots."""

from __future__ import annotations

import csv
import io
import math
import sys

import numpy as np
import pytest

import symsteady
from symsteady import builtin, evaluate
from symsteady import sweep as sw
from symsteady.sweep import run as sweep_run
from symsteady.sweep import table as sweep_table
from symsteady.cli import main
from symsteady.errors import MissingDependencyError, ParameterError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
XYZ_PLANE = ["J=(Jx+Jy)/2", "delta=(Jx-Jy)/2", "Jz=1", "gamma=1"]


def assert_png(path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    import matplotlib.image

    img = matplotlib.image.imread(path)
    assert img.shape[0] > 200 and img.shape[1] > 200
    assert img.std() > 0.01  # not blank


# ---- grid ------------------------------------------------------------------------------------


def test_parse_vary():
    assert sw.parse_vary("delta=0:0.5:11") == sw.Axis("delta", 0.0, 0.5, 11)
    assert sw.parse_vary(" Jx = -1:3:5").values().tolist() == [-1, 0, 1, 2, 3]
    log = sw.parse_vary("delta=1e-3:1e-1:3:log")
    assert log.values() == pytest.approx([1e-3, 1e-2, 1e-1])
    assert sw.parse_vary("N=10:30:3").values().tolist() == [10, 20, 30]
    for bad in ["delta", "delta=0:1", "delta=0:1:x", "delta=a:1:3", "delta=0:1:0", "d=0:1:3:cubic",
                "d=0:1:3:log"]:
        with pytest.raises(ParameterError):
            sw.parse_vary(bad)
    with pytest.raises(ParameterError, match="non-integer N"):
        sw.parse_vary("N=10:11:3").values()


def test_grid_order_and_derived_parameters():
    grid = sw.make_grid(builtin("xyz"), ["Jx=-1:3:3", "Jy=0:1:2"], XYZ_PLANE, N=10)
    assert grid.shape == (3, 2) and grid.extra_axes == ["Jx", "Jy"]
    pts = grid.points()
    assert [(c["Jx"], c["Jy"]) for c in grid.coordinate_rows()] == [(-1, 0), (-1, 1), (1, 0), (1, 1), (3, 0), (3, 1)]
    assert pts[1] == {"N": 10, "J": 0.0, "Jz": 1.0, "delta": -1.0, "gamma": 1.0}
    assert pts[4] == {"N": 10, "J": 1.5, "Jz": 1.0, "delta": 1.5, "gamma": 1.0}
    assert isinstance(pts[0]["N"], int)


def test_grid_with_n_in_an_expression():
    grid = sw.make_grid(builtin("resonance_fluorescence"), ["x=0:1:3"], ["Gamma=2", "Omega=x*N*Gamma/4"], N=8)
    assert [p["Omega"] for p in grid.points()] == pytest.approx([0, 2, 4])


@pytest.mark.parametrize("vary, sets, N, match", [
    (["delta=0:1:2"], ["J=1", "Jz=1"], 10, r"no value for \['gamma'\]"),
    (["delta=0:1:2"], ["J=1", "Jz=1", "gamma=1"], None, "give --N"),
    (["delta=0:1:2"], ["J=1", "Jz=1", "gamma=1", "gama=1"], 10, "gama"),
    (["delta=0:1:2", "Jx=0:1:2"], ["J=1", "Jz=1", "gamma=1"], 10, "Jx"),
    (["delta=0:1:2"], ["J=1", "Jz=1", "gamma=1", "delta=2"], 10, "more than once"),
    (["delta=0:1:2"], ["J=K", "K=J", "Jz=1", "gamma=1"], 10, "circular"),
    (["delta=0:1:2"], ["J=Q+1", "Jz=1", "gamma=1"], 10, "unknown name"),
    ([], ["J=1"], 10, "at least one"),
])
def test_grid_errors(vary, sets, N, match):
    with pytest.raises(ParameterError, match=match):
        sw.make_grid(builtin("xyz"), vary, sets, N)


# ---- CSV -------------------------------------------------------------------------------------


def test_csv_rows_equal_evaluate_rows(tmp_path, monkeypatch):
    model = builtin("xyz")
    grid = sw.make_grid(model, ["Jx=0:1:3", "Jy=0.5:1:2"], XYZ_PLANE, N=12)
    calls = []
    real = sweep_run.evaluate
    monkeypatch.setattr(sweep_run, "evaluate", lambda *a, **k: calls.append(a) or real(*a, **k))
    result = sw.sweep(model, grid, ["full"], order=2)
    assert len(calls) == 1 and len(calls[0][2]) == 6  # one vectorised call
    path = result.write_csv(tmp_path / "out" / "s.csv")
    header = next(csv.reader(path.open()))
    assert header[:7] == ["Jx", "Jy", "N", "J", "Jz", "delta", "gamma"]
    assert header[7:13] == ["order", "method", "sector", "xi2_R", "xi2_S", "theta"]
    assert header[13:] == ["direction_x", "direction_y", "direction_z", "mean_x", "mean_y", "mean_z",
                           "cov_xx", "cov_xy", "cov_xz", "cov_yx", "cov_yy", "cov_yz",
                           "cov_zx", "cov_zy", "cov_zz", "rs_gap",
                           "xi2_R_error", "converged", "radius", "resum", "note"]
    rows = sw.read_csv(path)
    expected = evaluate(model, 2, grid.points())
    assert len(rows) == len(expected) == 6
    for got, want, coord in zip(rows, expected, grid.coordinate_rows()):
        assert (got["Jx"], got["Jy"]) == (coord["Jx"], coord["Jy"])
        assert got["xi2_R"] == want["xi2_R"] and got["theta"] == want["theta"]
        assert got["cov_xy"] == want["cov"][0][1] and got["mean_z"] == want["mean"][2]
        assert {k: got[k] for k in want["params"]} == want["params"]
        assert got == {**{"Jx": coord["Jx"], "Jy": coord["Jy"]}, **sw.flatten(want)}
    # the dark state (Jx = Jy) has no squeezing direction: empty cells
    iso = [r for r in rows if r["delta"] == 0]
    assert iso and all(r["theta"] is None and r["direction_x"] is None for r in iso)


def test_csv_is_written_atomically(tmp_path, monkeypatch):
    model = builtin("tfi")
    grid = sw.make_grid(model, ["Jx=0:0.1:3"], ["Delta=-2", "gamma=1"], N=8)
    result = sw.sweep(model, grid, ["full"], order=1)
    target = tmp_path / "s.csv"
    target.write_text("old\n")

    class Boom(Exception):
        pass

    real_writer = csv.writer

    def broken_writer(fh):
        w = real_writer(fh)

        class W:
            writerow = w.writerow

            def writerows(self, rows):
                fh.write("partial")
                raise Boom

        return W()

    monkeypatch.setattr(sweep_table.csv, "writer", broken_writer)
    with pytest.raises(Boom):
        result.write_csv(target)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["s.csv"]  # no temp file left behind


# ---- exact sweeps: serial, local Dask cluster, existing scheduler ------------------------------


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    import logging

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=logging.ERROR) as c:
        yield c


@pytest.mark.slow
def test_dask_sweep_equals_serial_sweep(cluster):
    model = builtin("xyz")
    grid = sw.make_grid(model, ["Jx=-1:3:4", "Jy=-1:3:3"], XYZ_PLANE, N=6)
    serial = sw.sweep(model, grid, ["exact"], serial=True).run("exact").rows
    parallel = sw.sweep(model, grid, ["exact"], scheduler=cluster.scheduler_address, chunk_size=2).run("exact").rows
    assert len(parallel) == grid.size
    # each point's solve starts from its neighbour's solution, so rows agree to within their
    # error bars rather than bit for bit
    assert_rows_close(parallel, serial)
    assert_rows_close(serial, evaluate(model, None, grid.points(), "exact"))


def assert_rows_close(rows: list[dict], others: list[dict]) -> None:
    assert len(rows) == len(others)
    for row, other in zip(rows, others):
        assert {k: v for k, v in row.items() if k not in NUMERIC} == {k: v for k, v in other.items() if k not in NUMERIC}
        bar = row["xi2_R_error"] + other["xi2_R_error"]
        assert abs(row["xi2_R"] - other["xi2_R"]) <= bar
        assert np.allclose(row["cov"], other["cov"], rtol=1e-9, atol=1e-12)
        assert np.allclose(row["mean"], other["mean"], rtol=1e-9, atol=1e-12)


NUMERIC = ("xi2_R", "xi2_S", "theta", "direction", "mean", "cov", "rs_gap", "xi2_R_error")


def test_worker_errors_reach_the_caller(cluster):
    model = builtin("tfi")
    grid = sw.make_grid(model, ["Jx=0:0.1:4"], ["Delta=-2", "gamma=-1"], N=4)
    with pytest.raises(symsteady.errors.RateError, match="negative"):
        sw.sweep(model, grid, ["exact"], scheduler=cluster.scheduler_address, chunk_size=1)


@pytest.mark.slow
def test_cli_sweep_on_existing_scheduler(cluster, tmp_path, capsys):
    out, png = tmp_path / "s.csv", tmp_path / "s.png"
    code = main(["sweep", "tfi", "--vary", "Jx=0:2:5", "--set", "Delta=-6", "--set", "gamma=1", "--N", "8",
                 "--method", "full", "--method", "exact", "--order", "2", "-o", str(out), "--plot", str(png),
                 "--scheduler", cluster.scheduler_address, "--tolerance", "0.01"])
    text, err = capsys.readouterr()
    assert code == 0, err
    assert "5 points x 2 method(s)" in text
    assert "|full order 2 − exact| > 0.01" in text and "beyond the mean-field instability line: 1 points" in text
    rows = sw.read_csv(out)
    assert [r["method"] for r in rows] == ["full"] * 5 + ["exact"] * 5
    exact = evaluate(builtin("tfi"), None, [{"N": 8, "Jx": x, "Delta": -6.0, "gamma": 1.0}
                                             for x in (0.0, 0.5, 1.0, 1.5, 2.0)], "exact")
    assert [r["xi2_R"] for r in rows[5:]] == [e["xi2_R"] for e in exact]
    assert_png(png)


@pytest.mark.slow
def test_cli_sweep_default_local_cluster(tmp_path, capsys):
    pytest.importorskip("distributed")
    out = tmp_path / "s.csv"
    code = main(["sweep", "xyz", "--vary", "delta=0:0.2:3", "--set", "J=0.5", "--set", "Jz=1", "--set", "gamma=1",
                 "--N", "6", "--method", "exact", "--workers", "2", "-o", str(out)])
    text, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""  # no progress bar when stderr is not a terminal
    rows = sw.read_csv(out)
    assert [r["order"] for r in rows] == [None] * 3
    assert [r["xi2_R"] for r in rows] == [r["xi2_R"] for r in
                                         evaluate(builtin("xyz"), None, sw.make_grid(
                                             builtin("xyz"), ["delta=0:0.2:3"], ["J=0.5", "Jz=1", "gamma=1"],
                                             6).points(), "exact")]


@pytest.mark.slow
def test_local_cluster_workers_keep_the_default_malloc(tmp_path):
    """Dask's MALLOC_TRIM_THRESHOLD_ slows the exact solver down; our local cluster unsets it."""
    pytest.importorskip("distributed")
    import os

    with sw.dask_client(n_workers=1) as client:
        (env,) = client.run(lambda: dict(os.environ)).values()
        model = builtin("tfi")
        points = [{"N": 4, "Jx": 0.1, "Delta": -1.0, "gamma": 1.0}]
        assert sw.run_exact(model, points, client=client) == evaluate(model, None, points, "exact")
    assert "MALLOC_TRIM_THRESHOLD_" not in env and env.get("OMP_NUM_THREADS") == "1"


def test_cli_sweep_errors(tmp_path, capsys):
    out = tmp_path / "s.csv"
    code = main(["sweep", "xyz", "--vary", "delta=0:0.2:3", "--set", "J=0.5", "--N", "6", "-o", str(out),
                 "--order", "1"])
    assert code == 2 and "no value for ['Jz', 'gamma']" in capsys.readouterr().err
    code = main(["sweep", "xyz", "--vary", "delta=0:0.2:3", "--set", "J=0.5", "--set", "Jz=1", "--set", "gamma=1",
                 "--N", "6", "-o", str(out)])
    assert code == 2 and "--order K is required" in capsys.readouterr().err
    assert not out.exists()


def test_threaded_in_process_sweep_gives_the_one_thread_rows(capsys):
    """A small sweep runs its chunks on a thread per core: the same chunks, so the same rows bit
    for bit (each chunk's warm starts included); the progress line says which path ran."""
    model = builtin("xyz")
    grid = sw.make_grid(model, ["Jx=-1:3:5", "Jy=-1:3:4"], XYZ_PLANE, N=8)
    one = sw.run_exact(model, grid.points(), serial=True, chunk_size=3, progress=True)
    assert "exact (serial)" in capsys.readouterr().err
    threaded = sw.run_exact(model, grid.points(), n_workers=2, chunk_size=3, progress=True)
    assert "exact (2 threads)" in capsys.readouterr().err
    assert threaded == one


def test_threaded_sweep_errors_reach_the_caller():
    model = builtin("tfi")
    grid = sw.make_grid(model, ["Jx=0:0.1:4"], ["Delta=-2", "gamma=-1"], N=4)
    with pytest.raises(symsteady.errors.RateError, match="negative"):
        sw.run_exact(model, grid.points(), n_workers=2, chunk_size=1)


def test_missing_dask_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    model = builtin("tfi")
    grid = sw.make_grid(model, ["Jx=0:0.1:2"], ["Delta=-2", "gamma=1"], N=4)
    with pytest.raises(MissingDependencyError, match=r"symsteady\[dask\]"):
        sw.sweep(model, grid, ["exact"], serial=False)  # small work alone would run serially
    assert len(sw.sweep(model, grid, ["exact"], serial=True).run("exact").rows) == 2


def test_progress_bar_only_on_a_terminal(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    for stream, shown in ((io.StringIO(), False), (Tty(), True)):
        monkeypatch.setattr(sys, "stderr", stream)
        bar = sweep_run.progress_bar(4, "exact")
        bar.update(2)
        bar.update(2)
        bar.close()
        assert ("exact" in stream.getvalue()) == shown, stream.getvalue()


# ---- plots -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_map_plot_with_mean_field_line(tmp_path):
    from symsteady import plotting

    model = builtin("xyz")
    grid = sw.make_grid(model, ["Jx=-1:3:7", "Jy=-1:3:7"], XYZ_PLANE, N=6)
    result = sw.sweep(model, grid, ["full", "exact"], order=2, serial=True)
    fig = plotting.plot_sweep(result, tmp_path / "map.png")
    assert_png(tmp_path / "map.png")
    ax = fig.axes[0]
    assert ax.get_title() == "full order 2" and fig.axes[1].get_title() == "exact"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "mean-field instability" in labels
    assert r"$|\Delta\xi^2_R| > 0.01$ (hatched); agrees elsewhere" in labels
    theta = result.run("full").values("theta", grid.shape)
    assert (r"$\theta$ undefined (isotropic)" in labels) == bool(np.isnan(theta).any())
    assert fig._suptitle.get_text().startswith("xyz: $N$ = 6, ")
    assert "$J_z$ = 1" in fig._suptitle.get_text() and r"$\frac{J_x + J_y}{2}$" in fig._suptitle.get_text()
    assert fig.axes[-1].get_ylabel() == r"squeezing angle $\theta$ (rad)"
    assert ax.title.get_fontfamily() == ["serif"]  # the shared style


def test_grey_cells_and_disagreement_in_the_legend(tmp_path):
    """A map with undefined θ (δ = 0 column: isotropic) and a disagreement region says both."""
    from symsteady import plotting

    model = builtin("xyz")
    grid = sw.make_grid(model, ["delta=0:0.6:3", "J=0:1:3"], ["Jz=1", "gamma=1"], N=4)
    result = sw.sweep(model, grid, ["full", "exact"], order=1, serial=True)
    fig = plotting.plot_sweep(result, tolerance=1e-3)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert r"$\theta$ undefined (isotropic)" in labels
    assert r"$|\Delta\xi^2_R| > 0.001$ (hatched); agrees elsewhere" in labels


def test_angle_lines_break_where_theta_wraps():
    from symsteady import plotting

    theta = np.array([1.4, 1.5, -1.5, -1.4])
    curve = plotting.angle_curve(theta)
    assert np.isnan(curve[1]) and np.allclose(curve[[0, 2, 3]], theta[[0, 2, 3]])


@pytest.mark.slow
def test_line_plot_marks_the_tfi_instability(tmp_path):
    from symsteady import plotting

    model = builtin("tfi")
    grid = sw.make_grid(model, ["Jx=0:2:5"], ["Delta=-6", "gamma=1"], N=6)
    (x,) = plotting.mean_field_crossings(grid)
    assert x == pytest.approx((4 * 36 + 1) / 96, abs=1e-3)
    result = sw.sweep(model, grid, ["full"], order=2)
    fig = plotting.plot_sweep(result, tmp_path / "line.png")
    assert_png(tmp_path / "line.png")
    assert fig.axes[0].get_ylabel() == r"$\xi^2_R$"
    assert fig.axes[0].get_title() == r"tfi: $N$ = 6, $\Delta$ = -6, $\gamma$ = 1"
    assert math.isclose(fig.axes[0].lines[-1].get_xdata()[0], x)


def test_missing_matplotlib_is_a_clear_error(monkeypatch):
    from symsteady import plotting

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(MissingDependencyError, match=r"symsteady\[plot\]"):
        plotting.new_figure()
    assert issubclass(MissingDependencyError, symsteady.errors.SymsteadyError)


def test_values_reshape_to_the_grid():
    model = builtin("xyz")
    grid = sw.make_grid(model, ["Jx=0:1:3", "Jy=0:2:2"], XYZ_PLANE, N=10)
    result = sw.sweep(model, grid, ["full"], order=1)
    v = result.values("full", "mean_z")
    assert v.shape == (3, 2) and np.allclose(v, -5)
    with pytest.raises(ParameterError, match="no 'exact' run"):
        result.values("exact", "xi2_R")
