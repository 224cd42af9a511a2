"""Built-in models (DESIGN §2) and loading a model by name or from a TOML file."""

from __future__ import annotations

from pathlib import Path

from .errors import ModelError
from .model import Model

BUILTIN: dict[str, dict[str, str]] = {
    "xyz": {
        "description": "XYZ model with two-emitter driving: Jx = J + delta, Jy = J - delta",
        "hamiltonian": "(2/N)*((J + delta)*Sx**2 + (J - delta)*Sy**2 + Jz*Sz**2)",
        "local_emission": "gamma",
        "small": "delta",
    },
    "tfi": {
        "description": "dissipative transverse-field Ising model: field along z, Ising along x",
        "hamiltonian": "Delta*Sz + (4*Jx/N)*Sx**2",
        "local_emission": "gamma",
        "small": "Jx",
    },
    "driven_ising": {
        "description": "single-emitter driving Omega with Ising interaction U along z",
        "hamiltonian": "2*Omega*Sx + Delta*Sz + (4*U/N)*Sz**2",
        "local_emission": "gamma",
        "small": "Omega",
    },
    "resonance_fluorescence": {
        "description": "collective resonance fluorescence (symmetric sector)",
        "hamiltonian": "2*Omega*Sx",
        "collective_emission": "Gamma",
        "small": "Omega",
    },
}
DEFAULT_MODEL = "xyz"


def builtin(name: str) -> Model:
    """A built-in model by name: one of ``xyz``, ``tfi``, ``driven_ising``, ``resonance_fluorescence``."""
    if name not in BUILTIN:
        raise ModelError(f"unknown built-in model {name!r}; built-in: {', '.join(BUILTIN)}")
    return Model.from_dict({"name": name, **BUILTIN[name]})


def load(spec: str | Path) -> Model:
    """A built-in model name or the path of a TOML model file."""
    if str(spec) in BUILTIN:
        return builtin(str(spec))
    path = Path(spec)
    if path.suffix == ".toml" or path.exists():
        return Model.from_toml(path)
    raise ModelError(f"{spec!r} is neither a built-in model ({', '.join(BUILTIN)}) nor a TOML file")
