"""The corpus tier: the era's programs, unmodified, run plain, under `slimcompat run`, and migrated.

One test per program for `run` and for `migrate`: each must exit 0 with results
that mean what the program means (e.g. a loss that falls), and the two must
agree with each other: the same fits, epochs and metrics, or the same number of
printed losses. `plain` (today's TensorFlow and Keras with no help) is the
baseline: every program runs that way too and the table records it as ok, fail
(an error) or wrong (exit 0 with results that do not mean what the program
means, such as a Keras 1 CNN left at Keras 3's Adadelta rate), but it is not a
test: what plain Python does with these programs is not slimcompat's to pass.
The table (program, plain, run, migrate, note) is printed at the end and kept
as results.json in the corpus cache; `python tools/corpus.py table` prints it again.
"""

import pytest

from slimcompat.testing import corpus as harness

pytestmark = pytest.mark.corpus

LIST = harness.load_list()
PARAMS = []
for _program in LIST["programs"]:
    if _program.get("skip"):
        continue
    for _mode in ("run", "migrate"):
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
    for name in dict.fromkeys(selected):
        plain = corpus.results().get(name, {}).get("plain")
        if plain is not None:
            corpus.verdicts[name, "plain"] = ("fail" if plain.returncode != 0 else
                                              "wrong" if harness.meaning(corpus.programs[name], plain) else "ok")
    request.config.slimcompat_corpus_table = harness.table(corpus.save(corpus.verdicts))  # tests/conftest.py prints it


@pytest.mark.parametrize("name,mode", PARAMS)
def test_program(corpus, name, mode):
    if name not in corpus.paths:
        pytest.skip("; ".join(corpus.missing))
    program = corpus.programs[name]
    outcome = corpus.outcome(name, mode)
    problems = []
    if mode == "migrate":
        problems += corpus.migrate_errors.get(name, [])
    if outcome.returncode != 0:
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
    corpus.verdicts[name, mode] = "ok" if not problems else "FAIL"
    assert not problems, f"{name} ({mode}): " + "; ".join(problems) + "\n" + outcome.stderr[-3000:]
