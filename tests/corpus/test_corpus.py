"""The corpus tier: the era's programs, unmodified, run plain, under `slimcompat run`, and migrated.

One test per program per mode. `plain` is today's baseline: it is recorded, not
required to pass; it fails only if the program hangs, or exits 0 with results
that do not mean what the program means. `run` and `migrate` must exit 0 with
such results (e.g. a loss that falls), and agree with each other: the same fits,
epochs and metrics, or the same number of printed losses. The table (program,
plain, run, migrate, note) is printed at the end and kept as results.json in
the corpus cache; `python tools/corpus.py table` prints it again.
"""

import pytest

from slimcompat.testing import corpus as harness

pytestmark = pytest.mark.corpus

LIST = harness.load_list()
PARAMS = []
for _program in LIST["programs"]:
    if _program.get("skip"):
        continue
    for _mode in harness.MODES:
        PARAMS.append(pytest.param(_program["name"], _mode, id=f"{_program['name']}-{_mode}"))


@pytest.fixture(scope="module")
def corpus(request, tmp_path_factory):
    """The tier's run: every selected program's jobs queued at once (at most SLIMCOMPAT_CORPUS_JOBS, 2, at a time)."""
    corpus = harness.Corpus(tmp_path_factory.mktemp("corpus"))
    corpus.verdicts = {}
    selected = [item.callspec.params["name"] for item in request.session.items
                if getattr(item, "callspec", None) and item.module.__name__ == __name__]
    corpus.submit(dict.fromkeys(selected))
    yield corpus
    corpus.pool.shutdown(wait=True)
    text = harness.table(corpus.save(corpus.verdicts))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_line(text)


@pytest.mark.parametrize("name,mode", PARAMS)
def test_program(corpus, name, mode):
    if name not in corpus.paths:
        pytest.skip("; ".join(corpus.missing))
    program = corpus.programs[name]
    outcome = corpus.outcome(name, mode)
    problems = []
    if mode == "migrate":
        problems += corpus.migrate_errors.get(name, [])
    if outcome.returncode != 0 and (mode != "plain" or outcome.error.startswith("timed out")):
        problems.append(f"exit {outcome.returncode}: {outcome.error}")
    elif outcome.returncode == 0:
        wrong = harness.meaning(program, outcome)
        if wrong:
            problems.append(wrong)
    if mode == "migrate" and not problems:
        ran = corpus.outcome(name, "run")
        if ran.returncode == 0 and harness.shape(program, ran) != harness.shape(program, outcome):
            problems.append(f"run and migrate disagree: {harness.shape(program, ran)} vs "
                            f"{harness.shape(program, outcome)}")
    if mode == "plain":
        corpus.verdicts[name, mode] = "ok" if outcome.returncode == 0 and not problems else "fail"
    else:
        corpus.verdicts[name, mode] = "ok" if not problems else "FAIL"
    assert not problems, f"{name} ({mode}): " + "; ".join(problems) + "\n" + outcome.stderr[-3000:]
