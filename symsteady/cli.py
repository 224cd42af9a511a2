"""symsteady: closed-form steady states and spin squeezing of driven-dissipative ensembles of N
two-level emitters, by perturbation theory around the all-down dark state.

Commands (symsteady COMMAND --help for the options of each):
  derive     closed-form rho_k and xi2_R, symbolic in N and the couplings (text, LaTeX or JSON)
  evaluate   numbers at given points: xi2_R, xi2_S, theta, with error bars (or the exact solver)
  sweep      a grid of points to a CSV file, optionally a plot
  generate   a NumPy module, a C99 kernel or a LaTeX document of the closed forms
  plot-state the Husimi function of a steady state on the Bloch sphere, with its axes

A model is a built-in name (xyz, tfi, driven_ising, resonance_fluorescence) or a TOML file with
a hamiltonian, rates such as local_emission and optionally the small parameter. Without a command,
prints the order-2 closed form of xyz and a short table.

Example: symsteady derive xyz --order 2
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any, Sequence

import sympy

from .derivation import Derivation, derive
from .errors import ParameterError, SymsteadyError
from .evaluation import METHODS, evaluate
from .files import check_file_target
from .models import BUILTIN, DEFAULT_MODEL, load
from .points import settings_point
from .series import METHODS as PERTURBATIVE_METHODS
from .version import __version__

DEFAULT_POINT = {"J": 0.5, "Jz": 1.0, "gamma": 1.0}


def format_derivation(d: Derivation, latex: bool = False) -> str:
    """The closed forms as readable text (or LaTeX): see :mod:`symsteady.codegen.display`."""
    from .codegen.display import format_latex, format_text

    return (format_latex if latex else format_text)(d)


def _points(args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.points:
        try:
            data = json.loads(Path(args.points).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ParameterError(f"cannot read points file {args.points}: {exc}") from None
        if not isinstance(data, list) or not all(isinstance(p, dict) for p in data):
            raise ParameterError(f"{args.points} must hold a JSON list of objects")
        if not data:
            raise ParameterError(f"{args.points} holds no points (an empty list)")
        return data
    if args.N is None:
        raise ParameterError("give --N and --set name=value, or --points FILE.json")
    return [settings_point(args.set, args.N)]


def _table(rows: list[dict[str, Any]]) -> str:
    names = list(rows[0]["params"])
    extra = ["xi2_R_error"] if rows[0]["method"] != "exact" else []
    extra += ["fq_N"] if "fq_N" in rows[0] else []
    head = names + ["xi2_R", "xi2_S", "theta", "rs_gap"] + extra
    lines = ["  ".join(f"{h:>12}" for h in head)]
    for r in rows:
        vals = [r["params"][n] for n in names] + [r["xi2_R"], r["xi2_S"], r["theta"], r["rs_gap"]]
        vals += [r[k] for k in extra]
        lines.append("  ".join(f"{v:>12.6g}" if v is not None else f"{'nan':>12}" for v in vals))
    return "\n".join(lines)


def main_job() -> str:
    """The default job: order-2 closed form of the built-in xyz model and a short table."""
    model = load(DEFAULT_MODEL)
    d = derive(model, 2)
    points = [{"N": n, **DEFAULT_POINT, "delta": delta} for n in (10, 20, 100) for delta in (0.01, 0.05, 0.1)]
    rows = evaluate(model, 2, points)
    return format_derivation(d) + "\n\nvalues at order 2 (J = 0.5, Jz = 1, gamma = 1):\n" + _table(rows)


def order_argument(text: str) -> int | str:
    """``--order``: a non-negative integer, or ``auto`` (with ``--tol``)."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--order takes an integer or 'auto', not {text!r}") from None


ORDER_HELP = "perturbative order K in the small parameter (or the formal lambda)"
SET_HELP = "a parameter value: a number (0.5, 1/2, 1e-3) or an expression of N and other set names"


def add_series_options(p: argparse.ArgumentParser) -> None:
    """``--tol``, ``--max-order`` and ``--resum`` (``evaluate`` and ``sweep``)."""
    p.add_argument("--tol", type=float, help="with --order auto: the tolerance on xi2_R")
    p.add_argument("--max-order", type=int, default=40, help="with --order auto: the largest order tried (default 40)")
    p.add_argument("--resum", choices=("pade",), help="robust Pade resummation where its error estimate is smaller")


def series_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"tol": args.tol, "max_order": args.max_order, "resum": args.resum}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="symsteady", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    d = sub.add_parser("derive", help="closed-form rho_k and xi2_R, symbolic in N and couplings")
    d.add_argument("model", help=f"built-in name ({', '.join(BUILTIN)}) or TOML file")
    d.add_argument("--order", type=int, default=2, help=ORDER_HELP + " (default 2)")
    d.add_argument("--method", choices=tuple(PERTURBATIVE_METHODS), default="full",
                   help="full: Liouvillian expansion (exact order by order); pure: pure-state approximation")
    d.add_argument("--format", choices=("text", "latex", "json"), default="text",
                   help="text (default), LaTeX (one formula per line) or JSON (strings sympy parses back)")
    d.add_argument("--latex", action="store_true", help="the same as --format latex")
    e = sub.add_parser("evaluate", help="numbers at given points (closed form derived once)")
    e.add_argument("model")
    e.add_argument("--order", type=order_argument,
                   help=ORDER_HELP + ", or 'auto' with --tol (required unless --method exact)")
    e.add_argument("--N", help="number of emitters (an integer, e.g. 20 or 1e6)")
    e.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help=SET_HELP)
    e.add_argument("--points", metavar="FILE.json", help="JSON list of objects with N and every parameter")
    e.add_argument("--method", choices=METHODS, default="full",
                   help="full (default), pure, or exact: the exact steady state at each point (no --order)")
    e.add_argument("--json", action="store_true", help="print a JSON list, one object per point")
    e.add_argument("--qfi", action="store_true",
                   help="add the quantum Fisher information (qfi, fq_N, fq_direction), purity and entropy")
    add_series_options(e)
    w = sub.add_parser("sweep", help="a grid of points to CSV (and a plot); exact sweeps in parallel (Dask)")
    w.add_argument("model")
    w.add_argument("--vary", action="append", default=[], metavar="NAME=START:STOP:COUNT[:log]", required=True)
    w.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help=SET_HELP + " and the varied names")
    w.add_argument("--N", help="number of emitters (an integer, e.g. 20 or 1e6), unless varied")
    w.add_argument("--method", action="append", choices=METHODS,
                   help="repeat to run several (e.g. --method full --method exact); default full")
    w.add_argument("--order", type=order_argument,
                   help=ORDER_HELP + ", or 'auto' with --tol (required unless only --method exact)")
    add_series_options(w)
    w.add_argument("--qfi", action="store_true",
                   help="add the quantum Fisher information (qfi, fq_N, fq_direction), purity and entropy")
    w.add_argument("-o", "--output", required=True, metavar="OUT.csv")
    w.add_argument("--plot", metavar="OUT.png", help="xi2_R against one varied name, or theta maps over two")
    w.add_argument("--tolerance", type=float, default=0.01,
                   help="report points where |perturbative - exact| of xi2_R exceeds it (default 0.01)")
    w.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler (default: a local cluster)")
    w.add_argument("--workers", type=int, help="local cluster size (default: the machine's cores)")
    w.add_argument("--serial", action="store_true", help="run the exact method in this process on one thread, without Dask")
    g = sub.add_parser("generate", help="NumPy module, C99 kernel or LaTeX of the closed forms")
    g.add_argument("model")
    g.add_argument("--order", type=int, default=2, help=ORDER_HELP + " (default 2)")
    g.add_argument("--method", choices=tuple(PERTURBATIVE_METHODS), default="full",
                   help="full: Liouvillian expansion (exact order by order); pure: pure-state approximation")
    g.add_argument("--lang", choices=("numpy", "c", "latex"), required=True)
    g.add_argument("-o", "--output", required=True, metavar="PATH",
                   help="a .py file (numpy), a folder (c) or a .tex file (latex)")
    g.add_argument("--snippets", action="store_true", help="latex: equation snippets instead of a document")
    g.add_argument("--build", action="store_true",
                   help="also compile: the shared library (c) or the PDF (latex)")
    s = sub.add_parser("plot-state", help="the Husimi function of a steady state around its mean spin (PNG)")
    s.add_argument("model")
    s.add_argument("--N", required=True, help="number of emitters")
    s.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    s.add_argument("--method", choices=METHODS, default="exact")
    s.add_argument("--order", type=int, help="perturbative order (with --method full or pure)")
    s.add_argument("-o", "--output", required=True, metavar="OUT.png")
    return p


def plot_state_command(args: argparse.Namespace) -> str:
    """Run ``symsteady plot-state``: write the figure, return the path written."""
    from .plotting import plot_state

    if args.method == "exact" and args.order is not None:
        raise ParameterError("--method exact takes no --order (the exact steady state has none)")
    if args.method != "exact" and args.order is None:
        raise ParameterError("--order K is required for the perturbative methods")
    plot_state(load(args.model), settings_point(args.set, args.N), args.method, args.order, args.output)
    return f"wrote {args.output}"


def sweep_command(args: argparse.Namespace) -> str:
    """Run ``symsteady sweep``: write the CSV (and plot), return a report for the terminal."""
    from .sweep import make_grid, sweep

    check_file_target(args.output)
    if args.plot:
        check_file_target(args.plot)
    model = load(args.model)
    grid = make_grid(model, args.vary, args.set, args.N)
    result = sweep(model, grid, args.method or ["full"], args.order, scheduler=args.scheduler,
                   n_workers=args.workers, serial=args.serial or None, series=series_options(args), qfi=args.qfi)
    if args.plot:  # the plot first: when it fails, no CSV is left behind
        from .plotting import plot_sweep

        plot_sweep(result, args.plot, args.tolerance)
    result.write_csv(args.output)
    timing = ", ".join(f"{r.label} {r.seconds:.2f} s" for r in result.runs)
    lines = [f"wrote {args.output}: {grid.size} points x {len(result.runs)} method(s) ({timing})"]
    if len(result.runs) > 1 and any(r.method == "exact" for r in result.runs):
        lines.append(result.compare(args.tolerance).summary())
    if args.plot:
        lines.append(f"wrote {args.plot}")
    return "\n".join(lines)


def generate_command(args: argparse.Namespace) -> str:
    """Run ``symsteady generate``: write the output, return the paths written."""
    import shlex

    from .codegen import generate

    argv = ["symsteady", "generate", args.model, "--order", str(args.order), "--lang", args.lang]
    argv += (["--method", args.method] if args.method != "full" else []) + ["-o", args.output]
    argv += ["--snippets"] if args.snippets else []
    paths = generate(args.model, args.lang, args.output, order=args.order, method=args.method,
                     snippets=args.snippets, build=args.build, command=shlex.join(argv))
    return "\n".join(f"wrote {p}" for p in paths)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line on stderr (no source line)."""
    print(f"symsteady: warning: {message}", file=file or sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    warnings.showwarning = _one_line_warning
    try:
        if args.command is None:
            print(main_job())
        elif args.command == "derive":
            from .codegen.display import FORMATS

            d = derive(load(args.model), args.order, args.method)
            print(FORMATS["latex" if args.latex else args.format](d))
        elif args.command == "sweep":
            print(sweep_command(args))
        elif args.command == "generate":
            print(generate_command(args))
        elif args.command == "plot-state":
            print(plot_state_command(args))
        else:
            if args.order is None and args.method != "exact":
                raise ParameterError("--order K is required for the perturbative methods")
            if args.order is not None and args.method == "exact":
                raise ParameterError("--method exact takes no --order (the exact steady state has none)")
            rows = evaluate(load(args.model), args.order, _points(args), args.method, qfi=args.qfi,
                            **series_options(args))
            print(json.dumps(rows, indent=1) if args.json else _table(rows))
    except SymsteadyError as exc:
        print(f"symsteady: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
