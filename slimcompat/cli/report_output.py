"""Where a report goes: `parity` and `diff` print a table, and write JSON (`--json FILE`, or `-` for stdout
instead of the table) and HTML (`--html FILE`) atomically."""

__all__ = ["add_arguments", "emit"]


def add_arguments(parser):
    parser.add_argument("--json", metavar="FILE", help="write the JSON report to FILE ('-': stdout, no table)")
    parser.add_argument("--html", metavar="FILE", help="write the HTML report to FILE")


def emit(args, text, json, html):
    """Print and write the report; text, json, html: zero-argument functions rendering it."""
    if args.json == "-":
        print(json(), end="")
    else:
        print(text(), end="")
        if args.json:
            _write(args.json, json())
    if args.html:
        _write(args.html, html())


def _write(path, content):
    from slimcompat.weights.atomic import atomic_output
    with atomic_output(path, overwrite=True, keep_suffix=True) as tmp:
        tmp.write_text(content)
