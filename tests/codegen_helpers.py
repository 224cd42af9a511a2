"""Shared helpers of the codegen tests: external tools, random points, derivations."""

from __future__ import annotations

import os
import shutil
from functools import cache

import numpy as np
import pytest

import symsteady

RATES = {"gamma", "Gamma", "gamma_phi", "gamma_p"}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require_tool(*names: str) -> str:
    """The first tool found; skip (outside CI) or fail (CI=true) when none is installed."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    message = f"{' or '.join(names)} is not installed"
    if in_ci():
        pytest.fail(f"{message} (required in CI)")
    pytest.skip(message)


def require_module(name: str):
    try:
        return __import__(name)
    except ImportError:
        if in_ci():
            pytest.fail(f"python module {name} missing (required in CI)")
        pytest.skip(f"python module {name} is not installed")


@cache
def derivation(name: str, order: int = 2) -> symsteady.Derivation:
    return symsteady.derive(symsteady.builtin(name), order)


def random_points(d: symsteady.Derivation, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """N integer in 2..1000; rates (γ) in [0.5, 2]; couplings uniform in [-2, 2]γ; the small
    parameter in [-0.1, 0.1]γ (the issue's test distribution)."""
    rng = np.random.default_rng(seed)
    points: dict[str, np.ndarray] = {"N": rng.integers(2, 1001, n).astype(float)}
    rates = [p.name for p in d.parameters if p.name in RATES]
    for r in rates:
        points[r] = rng.uniform(0.5, 2.0, n)
    scale = points[rates[0]] if rates else np.ones(n)
    small = d.model.small.name if d.model.small is not None else None
    for p in d.parameters:
        if p.name in rates:
            continue
        width = 0.1 if p.name == small else 2.0
        points[p.name] = rng.uniform(-width, width, n) * scale
    return points
