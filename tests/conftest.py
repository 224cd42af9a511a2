"""Shared fixtures and options of the test suite.

* ``rng``: a NumPy generator seeded per test (reproducible random points);
* ``--update-golden``: rewrite the golden files of ``test_codegen_golden.py`` instead of
  comparing (review the diff afterwards);
* the ``slow`` marker: ``pytest -m "not slow"`` is the quick loop (about a minute on two
  cores); CI runs everything but
* the ``huge`` marker: tests of about 40 minutes and tens of GB of disk, skipped unless
  ``--huge`` is given (whatever ``-m`` selects).
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/ from the current code generators")
    parser.addoption("--huge", action="store_true", default=False,
                     help="run the tests marked huge (N = 200 out of core: about 40 minutes, 30 GB of disk)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--huge"):
        return
    skip = pytest.mark.skip(reason="huge: about 40 minutes and 30 GB of disk (run with --huge)")
    for item in items:
        if "huge" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A generator seeded by the test's name: the same numbers on every run."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
