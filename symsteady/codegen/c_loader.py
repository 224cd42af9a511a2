"""Compile a generated C kernel on demand and call it on numpy arrays (ctypes).

The shared library is built with the system compiler (``$CC``, else ``cc`` or ``gcc``) with
the kernel's warning-free flags plus ``-fPIC -shared``, and cached under
``$SYMSTEADY_CACHE_DIR`` (default ``$XDG_CACHE_HOME/symsteady``, else ``~/.cache/symsteady``)
by a hash of the sources, compiler and flags: the same kernel is compiled once. A missing
compiler or a failing build raises :class:`symsteady.errors.ToolError`; the library appears
in the cache only once complete (:func:`symsteady.files.atomic_path`).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CodegenError, ParameterError, ToolError
from ..files import atomic_path
from .c_backend import CSources
from .config import DEFAULT_C_FLAGS

SHARED_FLAGS = ("-fPIC", "-shared")


def find_compiler(compiler: str | None = None) -> str:
    """The C compiler to use: the given one, ``$CC``, ``cc`` or ``gcc`` (ToolError if none)."""
    candidates = [compiler] if compiler else [os.environ.get("CC"), "cc", "gcc"]
    for name in candidates:
        if name:
            path = shutil.which(name)
            if path:
                return path
    raise ToolError("no C compiler found (tried " + ", ".join(c for c in candidates if c)
                    + "): install gcc, or set CC")


def cache_dir() -> Path:
    if os.environ.get("SYMSTEADY_CACHE_DIR"):
        return Path(os.environ["SYMSTEADY_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "symsteady"


def _version(compiler: str) -> str:
    try:
        out = subprocess.run([compiler, "--version"], capture_output=True, text=True, check=False, timeout=60)
    except OSError as exc:
        raise ToolError(f"cannot run the C compiler {compiler}: {exc}") from None
    return out.stdout.splitlines()[0] if out.stdout else ""


def compile_library(sources: CSources, compiler: str | None = None,
                    flags: Sequence[str] = DEFAULT_C_FLAGS) -> Path:
    """Build (or find in the cache) the shared library of a kernel; its path."""
    cc = find_compiler(compiler)
    command = [*flags, *SHARED_FLAGS]
    digest = hashlib.sha256(
        "\0".join([sources.c, sources.h, cc, _version(cc), *command]).encode()).hexdigest()[:20]
    target = cache_dir() / "c" / f"{sources.prefix}-{digest}.so"
    if target.is_file():
        return target
    with tempfile.TemporaryDirectory(prefix="symsteady-cc-") as tmp, atomic_path(target) as built:
        c_file = Path(tmp) / f"{sources.prefix}.c"
        (Path(tmp) / f"{sources.prefix}.h").write_text(sources.h)
        c_file.write_text(sources.c)
        proc = subprocess.run([cc, *command, "-o", str(built), str(c_file), "-lm"],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not built.stat().st_size:
            raise ToolError(f"compiling {sources.prefix}.c with {cc} {' '.join(command)} failed:\n"
                            + (proc.stderr or proc.stdout).strip())
    return target


def read_sources(path: str | Path) -> CSources:
    """A generated kernel from its ``.c`` file, or a folder holding exactly one ``.c``/``.h`` pair."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob("*.c"))
        if len(found) != 1:
            raise CodegenError(f"{path} must hold exactly one generated .c file, found {len(found)}")
        path = found[0]
    header = path.with_suffix(".h")
    if not path.is_file() or not header.is_file():
        raise CodegenError(f"need both {path.name} and {header.name} in {path.parent}")
    return CSources(path.stem, path.read_text(), header.read_text(), {})


class CKernel:
    """A compiled kernel. Each quantity is a method taking keyword arrays ``N=…, <param>=…``
    (broadcast together) and returning arrays shaped as the NumPy module's functions do."""

    def __init__(self, library: Path, prefix: str):
        self.library = Path(library)
        self.prefix = prefix
        self._lib = ctypes.CDLL(str(self.library))
        manifest_fn = getattr(self._lib, f"{prefix}_manifest")
        manifest_fn.restype = ctypes.c_char_p
        self.manifest: dict[str, Any] = json.loads(manifest_fn().decode())
        self.arguments: list[str] = self.manifest["arguments"]
        self.quantities = {q["name"]: q for q in self.manifest["quantities"]}
        self.n_min: int = self.manifest["n_min"]

    def __dir__(self):
        return [*super().__dir__(), *self.quantities]

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_") or name not in self.__dict__.get("quantities", {}):
            raise AttributeError(name)
        return lambda **kwargs: self.call(name, **kwargs)

    def call(self, name: str, **kwargs: Any) -> Any:
        q = self.quantities[name]
        missing = [a for a in self.arguments if a not in kwargs]
        unknown = sorted(set(kwargs) - set(self.arguments))
        if missing or unknown:
            raise ParameterError(f"{name}() needs the keyword arguments {self.arguments}; "
                                 f"missing {missing}, unknown {unknown}")
        arrays = np.broadcast_arrays(*[np.asarray(kwargs[a], dtype=np.float64) for a in self.arguments])
        shape = arrays[0].shape
        flat = [np.ascontiguousarray(a).reshape(-1) for a in arrays]
        n = flat[0].size if flat else 1
        outs = [np.empty(n) for _ in q["components"]]
        fn = getattr(self._lib, f"{self.prefix}_{name}")
        fn.restype = None
        fn(ctypes.c_size_t(n), *[a.ctypes.data_as(ctypes.c_void_p) for a in flat],
           *[o.ctypes.data_as(ctypes.c_void_p) for o in outs])
        outs = [o.reshape(shape) for o in outs]
        kind = q["kind"]
        if kind in ("scalar", "minimum", "angle"):
            return outs[0]
        if kind in ("vector", "direction"):
            return np.stack(outs, axis=-1)
        if kind == "matrix":
            xx, xy, xz, yy, yz, zz = outs
            return np.stack([xx, xy, xz, xy, yy, yz, xz, yz, zz], axis=-1).reshape(shape + (3, 3))
        return {tuple(k): outs[2 * i] + 1j * outs[2 * i + 1] for i, k in enumerate(q["keys"])}


def load_c_kernel(source: CSources | str | Path, compiler: str | None = None,
                  flags: Sequence[str] = DEFAULT_C_FLAGS) -> CKernel:
    """Compile (cached) and load a kernel from generated sources, a ``.c`` file or its folder."""
    sources = source if isinstance(source, CSources) else read_sources(source)
    return CKernel(compile_library(sources, compiler, flags), sources.prefix)
