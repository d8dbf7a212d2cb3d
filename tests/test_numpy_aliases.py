"""NumPy's removed aliases (`np.float`, ...): `run` serves those the program uses, `migrate` writes the builtins."""

import builtins
import sys
import textwrap
import types

import pytest

from conftest import slimcompat
from slimcompat import migrate
from slimcompat.legacy import numpy_names
from slimcompat.legacy.program import analyse


def _fake_numpy(**present):
    """A stand-in for numpy (its own __getattr__ refusing the aliases), so the test leaves the real one alone."""
    module = types.ModuleType("numpy")
    module.__dict__.update(present)

    def __getattr__(attr):
        raise AttributeError(f"module 'numpy' has no attribute {attr!r}")

    module.__getattr__ = __getattr__
    return module


def test_the_table_is_what_numpy_1_19_meant():
    assert {name: getattr(builtins, builtin) for name, builtin in numpy_names.ALIASES.items()} == {
        "float": float, "int": int, "bool": bool, "object": object, "str": str, "complex": complex,
        "long": int, "unicode": str}


def test_the_analysis_finds_the_aliases_through_the_files_binding_of_numpy(write):
    program = analyse(write("p.py", textwrap.dedent("""\
        import numpy as np
        import numpy
        a = np.zeros(3, dtype=np.float)
        b = numpy.unicode('x')
        c = np.float(2) + np.float64(1)
        """)))
    assert {name: e.line for name, e in program.numpy_aliases.items()} == {"float": 3, "unicode": 4}
    assert analyse(write("q.py", "import numpy as np\nx = np.float64(1)\nfloat = 2\n")).numpy_aliases == {}


def test_run_serves_only_the_names_the_program_uses_with_one_line_naming_the_first_use(monkeypatch, capsys):
    monkeypatch.setattr(numpy_names, "_SAID", set())
    fake = _fake_numpy(bool=object())   # NumPy 2's own np.bool stays NumPy's
    numpy_names._serve(frozenset({"float", "bool"}), fake)
    assert fake.float is float
    first = sys._getframe().f_lineno - 1
    assert fake.float is float
    with pytest.raises(AttributeError):
        fake.int   # the program does not use it: NumPy 2's error stands
    assert fake.bool is not bool
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"slimcompat run: {__file__}:{first}: np.float: NumPy 1.24 removed this alias of Python's "
                     "float; served as float, as NumPy up to 1.23 meant it"]


def test_migrate_rewrites_the_aliases_to_the_builtins_with_line_and_column():
    text, logs = migrate.migrate_source(textwrap.dedent("""\
        import numpy as np
        import numpy
        x = np.zeros((2, 2), dtype=np.float)
        y = numpy.array([1], dtype=numpy.int) + np.int64(1)
        z = isinstance(x, (np.long, np.unicode))
        """))
    assert text == textwrap.dedent("""\
        import numpy as np
        import numpy
        x = np.zeros((2, 2), dtype=float)
        y = numpy.array([1], dtype=int) + np.int64(1)
        z = isinstance(x, (int, str))
        """)
    changed = sorted((line, col, message) for _, line, col, message in logs if "NumPy 1.24" in message)
    assert changed[0] == (3, 27, "Changed 'np.float' to 'float': NumPy 1.24 removed the alias; it was Python's float")
    assert [(line, col) for line, col, _ in changed] == [(3, 27), (4, 27), (5, 19), (5, 28)]


@pytest.mark.slow
def test_a_program_using_np_float_runs_under_run(write, tmp_path):
    program = write("movies.py", "import numpy as np\nprint(np.zeros(2, dtype=np.float).dtype, np.int(2.5))\n")
    result = slimcompat("run", program, cwd=tmp_path)
    assert result.stdout.split() == ["float64", "2"]
    assert f"{program}:2: np.float: NumPy 1.24 removed" in result.stderr
    assert f"{program}:2: np.int: NumPy 1.24 removed" in result.stderr
