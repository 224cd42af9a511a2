"""Jinja2 templates of symsteady's code generators (NumPy, C99, LaTeX).

Kept in the top-level ``templates/`` folder of the source tree so they are easy to read and
adapt; installed as the package ``symsteady.templates``. Rendered with ``StrictUndefined``.
"""
