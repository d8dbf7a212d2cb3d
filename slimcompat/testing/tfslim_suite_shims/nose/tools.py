"""`nose.tools.nottest`: mark a callable as not a test (see package docstring)."""


def nottest(func):
    func.__test__ = False
    return func
