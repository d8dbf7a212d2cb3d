"""Count the checks of each test file: `assert` statements and `pytest.raises`/`pytest.warns` uses, by tier.

    python tools/count_asserts.py [TESTS_DIR]      # file, tier markers seen, asserts, raises

Used to show a change of tiers or fixtures lost no check: compare the output before and after.
"""

import ast
import pathlib
import sys

TIER_MARKERS = ("slow", "programs", "zoo", "corpus", "tfslim", "first_hour", "gpu")


def _markers(node):
    found = set()
    for deco in getattr(node, "decorator_list", []):
        text = ast.unparse(deco)
        found.update(m for m in TIER_MARKERS if f"mark.{m}" in text)
    return found


def count(path):
    """{tier markers (sorted tuple): [asserts, raises]} for the test functions of one file."""
    tree = ast.parse(path.read_text())
    module_marks = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "pytestmark" for t in node.targets):
            module_marks.update(m for m in TIER_MARKERS if f"mark.{m}" in ast.unparse(node.value))
    totals = {}
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        tier = tuple(sorted(module_marks | _markers(node))) or ("-",)
        row = totals.setdefault(tier, [0, 0])
        for inner in ast.walk(node):
            if isinstance(inner, ast.Assert):
                row[0] += 1
            elif isinstance(inner, ast.Call) and ast.unparse(inner.func) in ("pytest.raises", "pytest.warns"):
                row[1] += 1
    return totals


def main(argv):
    folder = pathlib.Path(argv[0] if argv else pathlib.Path(__file__).resolve().parent.parent / "tests")
    grand = [0, 0]
    for path in sorted(folder.glob("test_*.py")):
        for tier, (asserts, raises) in sorted(count(path).items()):
            print(f"{path.name:28} {'+'.join(tier):18} {asserts:4} {raises:4}")
            grand[0] += asserts
            grand[1] += raises
    print(f"{'total':28} {'':18} {grand[0]:4} {grand[1]:4}")


if __name__ == "__main__":
    main(sys.argv[1:])
