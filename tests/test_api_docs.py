"""The public API: every name in ``symsteady.__all__`` has a numpydoc docstring (parameters,
returns or attributes, raises where it raises) and its examples run and print what they say."""

from __future__ import annotations

import doctest
import inspect

import pytest

import symsteady

NAMES = [n for n in symsteady.__all__ if n != "__version__"]


@pytest.mark.parametrize("name", NAMES)
def test_docstring_sections(name):
    obj = getattr(symsteady, name)
    doc = inspect.getdoc(obj) or ""
    assert len(doc.splitlines()) >= 3, f"{name} needs a docstring"
    if inspect.isfunction(obj):
        assert "Parameters\n----------" in doc and "Returns\n-------" in doc, name
    else:
        assert "Parameters\n----------" in doc or "Attributes\n----------" in doc, name


@pytest.mark.parametrize("name", NAMES)
def test_examples_run(name):
    obj = getattr(symsteady, name)
    tests = doctest.DocTestFinder(recurse=False).find(obj, name, globs={})
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        runner.run(test)
    assert runner.failures == 0, f"the examples of {name} do not print what they say"
