"""The shape of the package: imports point one way, one home per concept, a narrow public API.

Layers, lowest first (a module may import from its own layer and the ones below, never above):
core → solvers (series, exact) → analysis (derivation, evaluation, meanfield, …) → outputs
(codegen, plotting, sweep) → cli. ``symsteady/__init__.py`` is the facade and may import any.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import symsteady

PACKAGE = Path(symsteady.__file__).resolve().parent
CORE = {"errors", "version", "fields", "spinpoly", "algebra", "processes", "model", "models",
        "powerseries", "observables", "points", "liouvillian", "files", "threads", "qutip_export"}
SOLVERS = {"series", "exact"}
OUTPUTS = {"codegen", "plotting", "sweep", "templates"}
ANALYSIS_DEFAULT = "analysis"


def layer(module: str) -> int:
    """0 core, 1 solvers, 2 analysis, 3 outputs, 4 cli, 5 the facade (``module`` is dotted,
    relative to the package)."""
    if module == "":
        return 5
    head = module.split(".")[0]
    if head in CORE:
        return 0
    if head in SOLVERS:
        return 1
    if head in OUTPUTS:
        return 3
    if head == "cli":
        return 4
    return 2


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path) -> set[str]:
    """Package-internal modules imported by a module (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module and node.module.startswith("symsteady"):
                target = node.module[len("symsteady"):].lstrip(".")
            else:
                continue
            if node.module is not None or node.level == 0:  # "from . import x" imports x only
                found.add(target)
            for alias in node.names:  # "from . import krylov" imports a module
                candidate = f"{target}.{alias.name}" if target else alias.name
                if candidate in modules():
                    found.add(candidate)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("symsteady."):
                    found.add(alias.name[len("symsteady."):])
    return {m for m in found if m in modules() or m == ""} - {name}


@pytest.mark.slow
def test_no_import_from_a_higher_layer():
    bad = []
    for name, path in modules().items():
        for target in imports(name, path):
            if layer(target) > layer(name):
                bad.append(f"{name} (layer {layer(name)}) imports {target} (layer {layer(target)})")
    assert not bad, "\n".join(bad)


@pytest.mark.slow
def test_no_import_circle():
    graph = {name: imports(name, path) for name, path in modules().items()}
    graph = {k: {t for t in v if not (k.startswith(t + ".") or t == "")} for k, v in graph.items()}
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])


def test_process_names_live_in_one_module():
    """The model-file keys of the processes appear as strings only in symsteady/processes.py."""
    from symsteady.processes import KEYS

    found = []
    for name, path in modules().items():
        if name == "processes":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in KEYS:
                found.append(f"{name}: {node.value!r}")
    assert not found, found


def test_narrow_public_api():
    assert 8 <= len(symsteady.__all__) <= 12
    for name in symsteady.__all__:
        assert hasattr(symsteady, name)
    for module in ("sweep", "codegen", "errors", "plotting"):
        assert not (module in symsteady.__all__), f"{module} is a documented module, not a name"
    assert "point_series" not in symsteady.__all__ and "SymsteadyError" not in symsteady.__all__


def test_version_has_one_home():
    """pyproject.toml reads the version from symsteady/version.py (no second copy)."""
    import tomllib

    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"]["attr"] == "symsteady.version.__version__"


def test_sympy_runs_on_python_flint():
    """python-flint is a dependency because sympy's polynomial domains use it when installed."""
    from sympy.external.gmpy import GROUND_TYPES

    assert GROUND_TYPES == "flint"


def test_no_reference_to_documents_outside_the_repository():
    root = PACKAGE.parent
    files = [*PACKAGE.rglob("*.py"), *(root / "templates").glob("*.j2"), *(root / "tests").glob("*.py"),
             *(root / "notebooks").glob("*.ipynb"), *(root / "bench").glob("*.py"), root / "README.md"]
    name = "DES" + "IGN"  # split, so this file does not match itself
    offenders = [str(p.relative_to(root)) for p in files
                 if f"{name}.md" in p.read_text() or f"{name} §" in p.read_text()]
    assert not offenders, offenders


def _anchors(page: Path) -> set[str]:
    """Explicit MyST labels ``(label)=`` and GitHub-style heading slugs of a docs page."""
    text = page.read_text()
    labels = set(re.findall(r"^\(([A-Za-z0-9_-]+)\)=\s*$", text, flags=re.M))
    slugs = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
             for h in re.findall(r"^#+\s+(.*)$", text, flags=re.M)}
    return labels | slugs


def test_cited_docs_pages_and_anchors_exist():
    """Every ``docs/...md#anchor`` cited in code, tests, notebooks and the README exists."""
    root = PACKAGE.parent
    files = [*PACKAGE.rglob("*.py"), *(root / "tests").glob("*.py"), *(root / "templates").glob("*.j2"),
             *(root / "notebooks").glob("*.ipynb"), root / "README.md"]
    missing = []
    for path in files:
        for page, anchor in re.findall(r"(docs/[A-Za-z0-9_/-]+\.md)(?:#([A-Za-z0-9_-]+))?", path.read_text()):
            target = root / page
            if not target.is_file():
                missing.append(f"{path.name}: {page}")
            elif anchor and anchor not in _anchors(target):
                missing.append(f"{path.name}: {page}#{anchor}")
    assert not missing, missing
