"""The ``symsteady`` command line: derive, evaluate, the default job, and its error messages."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys

import pytest

from symsteady.cli import main

ROW_KEYS = {"params", "N", "order", "method", "sector", "xi2_R", "xi2_S", "theta", "direction",
            "mean", "cov", "rs_gap", "xi2_R_error", "converged", "radius", "resum", "note"}
XYZ_SETS = ["--set", "J=0.5", "--set", "delta=0.001", "--set", "Jz=1", "--set", "gamma=1"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str) -> list[dict]:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    assert err == ""
    return json.loads(out)


def xyz_first_order(N: int, J: float, Jz: float, delta: float, gamma: float) -> float:
    return 1 - 4 * abs(delta) * (N - 1) / N / math.sqrt(16 * (J - Jz) ** 2 * (N - 2) ** 2 / N**2 + gamma**2)


def console_script() -> list[str]:
    exe = shutil.which("symsteady")
    return [exe] if exe else [sys.executable, "-m", "symsteady.cli"]


# ---- evaluate ---------------------------------------------------------------------------------


def test_evaluate_json_row(capsys):
    rows = run_json(capsys, "evaluate", "xyz", "--order", "1", "--N", "20", *XYZ_SETS)
    assert isinstance(rows, list) and len(rows) == 1
    row = rows[0]
    assert set(row) == ROW_KEYS
    assert row["N"] == 20 and row["order"] == 1
    assert row["method"] == "full"
    assert row["sector"] == "permutation-invariant"
    assert row["params"] == {"N": 20, "J": 0.5, "delta": 0.001, "Jz": 1.0, "gamma": 1.0}
    assert row["xi2_R"] == pytest.approx(xyz_first_order(20, 0.5, 1.0, 0.001, 1.0), abs=1e-9)
    assert row["xi2_R"] < 1
    assert len(row["direction"]) == 3 and len(row["mean"]) == 3
    assert len(row["cov"]) == 3 and all(len(r) == 3 for r in row["cov"])
    assert row["mean"] == pytest.approx([0.0, 0.0, -10.0])
    n = row["direction"]
    assert math.hypot(*n) == pytest.approx(1.0)
    assert n[0] == pytest.approx(math.cos(row["theta"]))  # m along -z: e1 = x, e2 = e1 x m = y
    assert -math.pi / 2 < row["theta"] <= math.pi / 2


@pytest.mark.slow
def test_evaluate_json_subprocess():
    """The installed console script, end to end."""
    proc = subprocess.run(
        [*console_script(), "evaluate", "xyz", "--order", "1", "--N", "20", *XYZ_SETS, "--json"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert len(rows) == 1 and set(rows[0]) == ROW_KEYS
    assert rows[0]["xi2_R"] == pytest.approx(xyz_first_order(20, 0.5, 1.0, 0.001, 1.0), abs=1e-9)


def test_evaluate_table(capsys):
    code, out, err = run(capsys, "evaluate", "xyz", "--order", "1", "--N", "20", *XYZ_SETS)
    assert code == 0 and err == ""
    header, line = out.strip().splitlines()
    assert header.split() == ["N", "J", "delta", "Jz", "gamma", "xi2_R", "xi2_S", "theta", "rs_gap", "xi2_R_error"]
    assert float(line.split()[5]) == pytest.approx(xyz_first_order(20, 0.5, 1, 0.001, 1), abs=1e-5)


POINTS = [
    {"N": 20, "J": 0.5, "Jz": 1.0, "delta": 0.01, "gamma": 1.0},
    {"N": 2, "J": 0.5, "Jz": 1.0, "delta": 0.01, "gamma": 1.0},  # below N_min = 4: numeric series
    {"N": 7, "J": -0.3, "Jz": 0.4, "delta": 0.02, "gamma": 0.5},
    {"N": 3, "J": 1.0, "Jz": 0.0, "delta": 0.005, "gamma": 2.0},  # below N_min too
    {"N": 100, "J": 0.5, "Jz": 1.0, "delta": 0.05, "gamma": 1.0},
]


def _sets(point: dict) -> list[str]:
    out = ["--N", str(point["N"])]
    for k, v in point.items():
        if k != "N":
            out += ["--set", f"{k}={v!r}"]
    return out


@pytest.mark.slow
def test_evaluate_points_file(capsys, tmp_path):
    path = tmp_path / "points.json"
    path.write_text(json.dumps(POINTS))
    rows = run_json(capsys, "evaluate", "xyz", "--order", "2", "--points", str(path))
    assert len(rows) == len(POINTS)
    for point, row in zip(POINTS, rows):
        assert set(row) == ROW_KEYS
        assert row["N"] == point["N"]
        assert row["params"] == pytest.approx(point)
        assert row["order"] == 2
        single = run_json(capsys, "evaluate", "xyz", "--order", "2", *_sets(point))
        assert len(single) == 1
        for key in ("xi2_R", "xi2_S", "theta", "rs_gap"):
            assert row[key] == pytest.approx(single[0][key], rel=1e-9, abs=1e-12), (point, key)
        for r1, r2 in zip(row["cov"], single[0]["cov"]):
            assert r1 == pytest.approx(r2, rel=1e-9, abs=1e-12)
        assert 0 < row["xi2_R"] <= 1


def test_points_below_n_min_use_numeric_series(capsys, tmp_path):
    """N = 2, 3 lie below the order-2 closed form's N_min = 4; their values still make sense:
    order 2 differs from order 1 by O(delta^2), and order 1 there matches the closed form."""
    path = tmp_path / "small.json"
    small = [p for p in POINTS if p["N"] < 4]
    path.write_text(json.dumps(small))
    order2 = run_json(capsys, "evaluate", "xyz", "--order", "2", "--points", str(path))
    order1 = run_json(capsys, "evaluate", "xyz", "--order", "1", "--points", str(path))
    for p, r1, r2 in zip(small, order1, order2):
        assert r1["xi2_R"] == pytest.approx(xyz_first_order(**p), abs=1e-9)
        assert abs(r2["xi2_R"] - r1["xi2_R"]) < 50 * p["delta"] ** 2
        assert math.isfinite(r2["xi2_R"])


@pytest.mark.slow
def test_method_pure(capsys):
    rows = run_json(capsys, "evaluate", "xyz", "--order", "1", "--N", "20", *XYZ_SETS, "--method", "pure")
    assert rows[0]["method"] == "pure"
    # pure-state and Liouvillian theories agree at first order with emission only (docs/algorithm/perturbation-theory.md)
    assert rows[0]["xi2_R"] == pytest.approx(xyz_first_order(20, 0.5, 1.0, 0.001, 1.0), abs=1e-9)
    rows2 = run_json(capsys, "evaluate", "xyz", "--order", "2", "--N", "20", *XYZ_SETS, "--method", "pure")
    assert rows2[0]["method"] == "pure" and rows2[0]["order"] == 2


def test_order_3_numeric_series(capsys):
    r3 = run_json(capsys, "evaluate", "xyz", "--order", "3", "--N", "20", *XYZ_SETS)[0]
    r2 = run_json(capsys, "evaluate", "xyz", "--order", "2", "--N", "20", *XYZ_SETS)[0]
    assert r3["order"] == 3 and r3["method"] == "full"
    assert set(r3) == ROW_KEYS
    assert abs(r3["xi2_R"] - r2["xi2_R"]) < 1e-6  # delta = 1e-3: the order-3 term is O(1e-9)


# ---- derive -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_derive_xyz_order_2(capsys):
    code, out, err = run(capsys, "derive", "xyz", "--order", "2")
    assert code == 0 and err == ""
    lines = out.splitlines()
    for k in range(3):
        assert f"rho_{k}:" in lines
    assert "rho_3:" not in lines
    for name in ("a_R", "b_R", "c_R"):
        assert any(line.strip().startswith(f"{name} =") for line in lines), name
    assert "valid for N >= 4" in out
    assert "B(0,0,0)" in out
    assert "sector permutation-invariant" in out


@pytest.mark.slow
def test_derive_latex(capsys):
    code, out, err = run(capsys, "derive", "xyz", "--order", "2", "--latex")
    assert code == 0 and err == ""
    assert "\\frac" in out
    assert "r^{(2)}_{0,0,0}" in out


def test_derive_resonance_fluorescence(capsys):
    code, out, err = run(capsys, "derive", "resonance_fluorescence")
    assert code == 0 and err == ""
    assert "sector symmetric" in out
    assert "E(0,0)" in out


def test_derive_toml_file(capsys, tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('hamiltonian = "Delta*Sz + (4*Jx/N)*Sx**2"\nlocal_emission = "gamma"\nsmall = "Jx"\n')
    code, out, err = run(capsys, "derive", str(path), "--order", "1")
    assert code == 0 and err == ""
    assert out.startswith("# mine\n# H = Delta*Sz + (4*Jx/N)*Sx**2\n")
    assert "rho_1:" in out


# ---- the default job --------------------------------------------------------------------------


@pytest.mark.slow
def test_no_arguments(capsys):
    code, out, err = run(capsys)
    assert code == 0 and err == ""
    assert "order 2" in out
    assert "rho_2:" in out and "valid for N >= 4" in out
    assert "xi2_R = a_R - sqrt(b_R**2 + c_R**2)" in out
    table = out.split("values at order 2", 1)[1].strip().splitlines()[1:]
    header, rows = table[0].split(), table[1:]
    assert "xi2_R" in header and len(rows) == 9
    i_n, i_x = header.index("N"), header.index("xi2_R")
    i_d = header.index("delta")
    for line in rows:
        cols = line.split()
        assert 0 < float(cols[i_x]) < 1
    first = rows[0].split()
    assert float(first[i_x]) == pytest.approx(
        xyz_first_order(int(first[i_n]), 0.5, 1.0, float(first[i_d]), 1.0), abs=5e-3
    )


@pytest.mark.slow
def test_no_arguments_subprocess():
    proc = subprocess.run(console_script(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "rho_2:" in proc.stdout and "xi2_R" in proc.stdout
    assert "Traceback" not in proc.stderr


# ---- errors: exit code 2, one line on stderr, no traceback -------------------------------------


def assert_clean_error(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("symsteady: error: ")
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def _bad_json(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text("[{'N': 4,")
    return str(p)


def _not_a_list(tmp_path):
    p = tmp_path / "obj.json"
    p.write_text(json.dumps({"N": 4}))
    return str(p)


ERROR_CASES = {
    "bad-model": (["derive", "nosuchmodel"], ["nosuchmodel"]),
    "bad-model-evaluate": (["evaluate", "nosuchmodel", "--order", "1", "--N", "4"], ["nosuchmodel"]),
    "missing-parameters": (["evaluate", "xyz", "--order", "1", "--N", "4", "--set", "J=1"],
                           ["Jz", "delta", "gamma"]),
    "no-points": (["evaluate", "xyz", "--order", "1"], ["--N"]),
    "set-no-equals": (["evaluate", "xyz", "--order", "1", "--N", "4", "--set", "J"], ["J"]),
    "set-not-number": (["evaluate", "xyz", "--order", "1", "--N", "4", "--set", "J=abc",
                        "--set", "Jz=1", "--set", "delta=0.1", "--set", "gamma=1"], ["abc"]),
    "set-empty-name": (["evaluate", "xyz", "--order", "1", "--N", "4", "--set", "=1"], ["=1"]),
    "unknown-parameter": (["evaluate", "xyz", "--order", "1", "--N", "4", *XYZ_SETS, "--set", "foo=1"],
                          ["foo"]),
    "N-zero": (["evaluate", "xyz", "--order", "1", "--N", "0", *XYZ_SETS], ["N"]),
    "negative-rate": (["evaluate", "xyz", "--order", "1", "--N", "4", "--set", "J=0.5", "--set", "Jz=1",
                       "--set", "delta=0.1", "--set", "gamma=-1"], ["gamma"]),
    "negative-order": (["derive", "xyz", "--order", "-1"], ["-1"]),
}


@pytest.mark.parametrize("argv, needles", list(ERROR_CASES.values()), ids=list(ERROR_CASES))
def test_errors(capsys, argv, needles):
    assert_clean_error(*run(capsys, *argv), *needles)


@pytest.mark.parametrize("make", [lambda p: str(p / "missing.json"), _bad_json, _not_a_list],
                         ids=["missing", "invalid-json", "not-a-list"])
def test_unreadable_points_file(capsys, tmp_path, make):
    path = make(tmp_path)
    assert_clean_error(*run(capsys, "evaluate", "xyz", "--order", "1", "--points", path), path)


def test_points_file_with_infinite_N(capsys, tmp_path):
    """BUG: json reads ``Infinity``; the point check's int(float('inf')) raises a raw OverflowError,
    so the command dies with a traceback instead of 'symsteady: error: N must be ...'."""
    path = tmp_path / "inf.json"
    path.write_text('[{"N": Infinity, "J": 0.5, "Jz": 1, "delta": 0.01, "gamma": 1}]')
    assert_clean_error(*run(capsys, "evaluate", "xyz", "--order", "1", "--points", str(path)), "N")


def test_unreadable_model_file(capsys, tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('hamiltonian = "Sx\n')
    assert_clean_error(*run(capsys, "derive", str(path)), "broken.toml")


def test_model_file_with_list_rate(capsys, tmp_path):
    """BUG: a TOML list value reaches sympy and the command dies with AttributeError."""
    path = tmp_path / "listrate.toml"
    path.write_text('hamiltonian = "Sz"\nlocal_emission = [1]\n')
    assert_clean_error(*run(capsys, "derive", str(path), "--order", "1"), "local_emission")


def test_model_errors_on_the_command_line(capsys, tmp_path):
    path = tmp_path / "nonherm.toml"
    path.write_text('hamiltonian = "Sp*Sz"\nlocal_emission = "gamma"\n')
    assert_clean_error(*run(capsys, "derive", str(path)), "Sp*Sz")
    path = tmp_path / "pump.toml"
    path.write_text('hamiltonian = "J*Sz + delta*Sx"\nlocal_emission = "gamma"\nlocal_pumping = "p"\n'
                    'small = "delta"\n')
    assert_clean_error(*run(capsys, "derive", str(path)), "local_pumping")


@pytest.mark.slow
def test_error_subprocess_no_traceback():
    proc = subprocess.run([*console_script(), "derive", "nosuchmodel"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith("symsteady: error: ") and "nosuchmodel" in proc.stderr


def test_argparse_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["evaluate"])  # MODEL is required
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_perturbative_evaluate_needs_order(capsys):
    assert main(["evaluate", "xyz", "--N", "4", "--set", "J=1"]) == 2
    assert "--order" in capsys.readouterr().err
