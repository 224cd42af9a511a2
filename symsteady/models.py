"""Built-in models and loading a model by name or from a TOML file.

The built-in models are model files themselves (``symsteady/model_files/*.toml``, the same
keys as a user's file); ``docs/algorithm/conventions.md#conventions-models`` describes them.
"""

from __future__ import annotations

import importlib.resources
from functools import cache
from pathlib import Path

from .errors import ModelError
from .model import Model

#: The built-in models, in the order the docs list them.
BUILTIN: tuple[str, ...] = ("xyz", "tfi", "driven_ising", "resonance_fluorescence")
DEFAULT_MODEL = "xyz"


def builtin_file(name: str) -> Path:
    """The model file of a built-in model."""
    return Path(str(importlib.resources.files("symsteady") / "model_files" / f"{name}.toml"))


@cache
def builtin(name: str) -> Model:
    """A built-in model by name.

    Parameters
    ----------
    name : str
        One of ``xyz``, ``tfi``, ``driven_ising``, ``resonance_fluorescence``
        (``docs/algorithm/conventions.md#conventions-models``).

    Returns
    -------
    Model

    Raises
    ------
    ModelError
        For an unknown name.

    Examples
    --------
    >>> from symsteady import builtin
    >>> builtin("tfi").rates, builtin("tfi").small
    ({'local_emission': gamma}, Jx)
    """
    if name not in BUILTIN:
        raise ModelError(f"unknown built-in model {name!r}; built-in: {', '.join(BUILTIN)}")
    return Model.from_toml(builtin_file(name))


def load(spec: str | Path) -> Model:
    """A model from a built-in name or the path of a TOML model file.

    Parameters
    ----------
    spec : str or Path
        A built-in name, or a TOML file with the keys of :class:`Model` (``hamiltonian``,
        ``small``, ``name``, ``description`` and a rate per process, e.g.
        ``local_emission = "gamma"``).

    Returns
    -------
    Model

    Raises
    ------
    ModelError
        When ``spec`` is neither, or the file does not hold a valid model.

    Examples
    --------
    >>> from symsteady import load
    >>> load("resonance_fluorescence").sector
    'symmetric'
    """
    if str(spec) in BUILTIN:
        return builtin(str(spec))
    path = Path(spec)
    if path.suffix == ".toml" or path.exists():
        return Model.from_toml(path)
    raise ModelError(f"{spec!r} is neither a built-in model ({', '.join(BUILTIN)}) nor a TOML file")
