"""Stand-in for the `nose` package, for tf-slim's evaluation_test.py only.

nose 1.3.7 (its last release) does not import on Python 3.10+. The test file
needs a single decorator, `nose.tools.nottest`, which marks a function as not a
test by setting `__test__ = False`; pytest honours the same attribute.
"""
