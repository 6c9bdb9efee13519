"""simlock's test suite, a regular package so its helpers import as `tests.<module>`.

A regular package (not a namespace one) because installed distributions may ship their own
top-level `tests` package (Ciw 3.2.7 does): a namespace package loses to any regular package of
the same name anywhere on `sys.path`, while a regular package is found in path order, and pytest
puts the repository first (`pythonpath = ["."]` in pyproject.toml). `test_test_suite.py` checks it.
"""
