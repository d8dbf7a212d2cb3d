"""Every Keras 2 module (and name) the README lists as served imports, under Keras 2 (`run`) and Keras 3 (migrated)."""

import re

import pytest

from conftest import REPO, run_python, slimcompat

# Names a Keras-era program imports from those modules that the README names in prose.
EXTRA = ["from keras.engine import Layer, InputSpec, Input, Model, get_source_inputs",
         "from keras.utils.layer_utils import convert_all_kernels_in_model",
         "from keras.backend.common import epsilon, floatx, image_data_format, set_epsilon",
         # a star import of a served package gives its names (Keras 2.2.4 examples/cifar10_cnn_capsule.py)
         "from keras.layers import *; Input, Conv2D, Dense, Layer"]

CHECK = """
import sys
failed = []
for statement in sys.argv[2:]:
    try:
        exec(statement, {})
    except Exception as error:
        failed.append(f"{statement}: {type(error).__name__}: {error}")
open(sys.argv[1], "w").write("\\n".join(failed))
"""


def readme_statements():
    """`import M` / `from M import N` for each module and name in the README's table of served modules."""
    text = (REPO / "README.md").read_text()
    table = text.split("| legacy import | served by, under Keras 2 / under Keras 3 |", 1)[1].split("\n\n", 1)[0]
    statements = []
    for row in table.splitlines()[2:]:
        module = None
        for token in re.findall(r"`([^`]+)`", row.split("|")[1]):
            if token.startswith("keras"):
                module = token.rstrip(".*").split(" ")[0]
                statements.append(f"import {module}")
            elif token.startswith(".") and module:
                module = module.rsplit(".", 1)[0] + token
                statements.append(f"import {module}")
            elif module and re.fullmatch(r"[A-Za-z_][\w.]*", token):
                inner, _, name = token.rpartition(".")
                statements.append(f"from {module + '.' + inner if inner else module} import {name}")
    return statements


def test_the_readme_table_is_read():
    statements = readme_statements()
    assert "from keras.engine.topology import Network" in statements and "import keras.utils.vis_utils" in statements
    assert len(statements) > 15


@pytest.mark.parametrize("keras", ["2", "3"])
def test_every_module_the_readme_lists_is_served(write, tmp_path, keras):
    program = write("served.py", CHECK)
    statements = readme_statements() + EXTRA
    if keras == "2":
        slimcompat("run", "--keras", "2", program, tmp_path / "failed.txt", *statements, cwd=tmp_path)
    else:
        program.write_text("import slimcompat.keras2\n" + CHECK)
        run_python(program, tmp_path / "failed.txt", *statements, cwd=tmp_path, env={"TF_USE_LEGACY_KERAS": None})
    assert (tmp_path / "failed.txt").read_text() == ""
