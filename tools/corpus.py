"""The corpus tier outside pytest: fetch and check the listed programs, or print the last run's table.

    python tools/corpus.py fetch    # download (pip) and check every listed program into the cache
    python tools/corpus.py table    # the table of the last tier run (results.json in the cache)

The tier itself: pytest -m corpus tests/corpus (see slimcompat/testing/corpus.py).
"""

import argparse
import json
import pathlib
import sys

from slimcompat.testing import corpus as harness


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["fetch", "table"])
    parser.add_argument("--results", help="results.json to tabulate (default: the cache's)")
    args = parser.parse_args(argv)
    if args.command == "fetch":
        corpus = harness.load_list()
        found, missing = harness.fetch(corpus)
        folder, digests = harness.data_home()
        print(f"corpus: {len(found)} programs checked in {harness.cache_dir()}; "
              f"{len(digests)} synthetic data files in {folder}")
        for line in missing:
            print(line, file=sys.stderr)
        return 1 if missing else 0
    path = pathlib.Path(args.results or harness.cache_dir() / "results.json")
    if not path.is_file():
        print(f"corpus: no results at {path}: run the tier first (pytest -m corpus tests/corpus)", file=sys.stderr)
        return 1
    print(harness.table(json.loads(path.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
