"""Execute the notebooks with nbclient, without writing outputs back into them.

    python notebooks/run_all.py                 # full size: regenerates notebooks/figures/*.png
    python notebooks/run_all.py --quick         # reduced size (as CI), figures to a temp dir
    python notebooks/run_all.py --figures DIR xyz_fig3_squeezing_vs_delta

The notebooks read ``SYMSTEADY_NOTEBOOK_QUICK=1`` (coarse grids, small N) and
``SYMSTEADY_FIGURE_DIR`` (where to save PNGs; default ``figures`` next to the notebooks).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def notebooks() -> list[Path]:
    return sorted(HERE.glob("*.ipynb"))


def execute(path: Path, quick: bool, figures: Path | None, timeout: int = 7200) -> tuple[float, str]:
    """Run one notebook in its directory: (seconds, printed text). Raises on any cell error."""
    import nbclient
    import nbformat

    env = {"SYMSTEADY_NOTEBOOK_QUICK": "1" if quick else "0"}
    if figures is not None:
        env["SYMSTEADY_FIGURE_DIR"] = str(figures)
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits the environment
    try:
        book = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        nbclient.NotebookClient(book, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}}).execute()
        text = "".join(o.get("text", "") for c in book.cells if c.cell_type == "code" for o in c.outputs
                       if o.get("output_type") == "stream" and o.get("name") == "stdout")
        return time.perf_counter() - t0, text
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", help="notebook names (default: all)")
    p.add_argument("--quick", action="store_true", help="reduced size, as in CI")
    p.add_argument("--verbose", action="store_true", help="print what the notebooks print")
    p.add_argument("--figures", type=Path, help="figure directory (default: notebooks/figures, or a temp dir with --quick)")
    args = p.parse_args(argv)
    figures = args.figures
    if figures is None and args.quick:
        figures = Path(tempfile.mkdtemp(prefix="symsteady-figures-"))
    chosen = [n for n in notebooks() if not args.names or n.stem in args.names]
    for path in chosen:
        seconds, text = execute(path, args.quick, figures)
        print(f"{path.name}: {seconds:.1f} s", flush=True)
        if args.verbose:
            print(text, flush=True)
    if figures is not None:
        print(f"figures in {figures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
