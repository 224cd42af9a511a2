"""The version of symsteady: this line is its one home (``pyproject.toml`` reads it)."""

__version__ = "0.2.0"
