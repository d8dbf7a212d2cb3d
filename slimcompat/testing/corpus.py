"""The corpus tier's machinery: get the listed programs, give them data, run them three ways, tabulate.

The repository keeps only tests/corpus/programs.json (package, version, path
and sha256 of each program; the team's own programs live in tests/corpus/own/),
the shim (tests/corpus/shim/) and this module.
Programs of a registry package are fetched on first use with pip (the sdist)
into the cache ($SLIMCOMPAT_CORPUS_CACHE, default ~/.cache/slimcompat-corpus),
and each file is checked against its listed sha256 before it is used.

Every program runs in a fresh folder with its own HOME whose Keras cache holds
the synthetic data sets (corpus_data.py), with the shim (shim/sitecustomize.py)
on PYTHONPATH: plain `python`, `python -m slimcompat run`, and `python` on the
copy `slimcompat migrate` wrote.
"""

import concurrent.futures
import dataclasses
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time

from slimcompat.testing import corpus_data as synthetic
from slimcompat.weights.canonical import sha256

REPO = pathlib.Path(__file__).resolve().parents[2]
HERE = REPO / "tests" / "corpus"
LIST = HERE / "programs.json"
MODES = ("plain", "run", "migrate")
TIMEOUT = int(os.environ.get("SLIMCOMPAT_CORPUS_TIMEOUT", "300"))
_ERROR = re.compile(r"^(\w[\w.]*(Error|Exception|Exit)\b.*|slimcompat: error: .*)$")


def cache_dir():
    return pathlib.Path(os.environ.get("SLIMCOMPAT_CORPUS_CACHE") or
                        pathlib.Path("~/.cache/slimcompat-corpus").expanduser())


def load_list():
    with open(LIST) as handle:
        return json.load(handle)


def fetch(corpus, cache=None):
    """({program name: checked local path}, [one line per thing it could not get]).

    A registry program comes from its package's sdist, downloaded once with pip
    into the cache; only listed files are extracted, each checked by sha256.
    """
    cache = pathlib.Path(cache or cache_dir())
    found, missing = {}, []
    wanted = {}
    for program in corpus["programs"]:
        if "own" in program:
            found[program["name"]] = HERE / program["own"]
        elif not program.get("skip"):
            wanted.setdefault(program["source"], []).append(program)
    for source, programs in wanted.items():
        spec = corpus["sources"][source]
        folder = cache / source
        stale = [p for p in programs
                 if not (folder / p["path"]).is_file() or sha256(folder / p["path"]) != p["sha256"]]
        problem = _extract(spec, stale, cache) if stale else None
        bad = []
        for program in programs:
            path = folder / program["path"]
            if path.is_file() and sha256(path) == program["sha256"]:
                found[program["name"]] = path
            else:
                bad.append(program["name"])
        if bad:
            missing.append(f"corpus: could not get {len(bad)} program(s) of {spec['requirement']} "
                           f"({problem or 'sha256 differs from the list'}): {', '.join(bad)}")
    return found, missing


def _extract(spec, programs, cache):
    """Download spec's sdist (if absent) and extract `programs` from it; None or the reason it failed."""
    downloads = cache / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    archive = downloads / spec["archive"]
    if not archive.is_file():
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                               "--disable-pip-version-check", "-d", str(downloads), spec["requirement"]],
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0 or not archive.is_file():
            lines = (proc.stderr or proc.stdout).strip().splitlines() or ["no output"]
            return f"pip download failed: {lines[-1]}"
    if sha256(archive) != spec["sha256"]:
        return f"{archive.name}: sha256 {sha256(archive)} is not the listed {spec['sha256']}"
    members = {spec["root"] + "/" + p["path"]: p for p in programs}
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            program = members.get(member.name)
            if program is None or not member.isfile():
                continue
            target = cache / program["source"] / program["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(tar.extractfile(member).read())
    return None


def data_home(cache=None):
    """(folder of the synthetic data sets, {file name: sha256}), made once in the cache."""
    folder = pathlib.Path(cache or cache_dir()) / f"data-{synthetic.VERSION}"
    files = synthetic.write_datasets(str(folder))
    digests_file = folder / "synthetic.json"
    if not digests_file.is_file() or set(json.loads(digests_file.read_text())) != set(files):
        digests_file.write_text(json.dumps(synthetic.sha256_of(files.values()), indent=1))
    return folder, json.loads(digests_file.read_text())


# Keras saves each archive in its cache under the name its loader asks for.
_ALIASES = {"cifar-10-python.tar.gz": ("cifar-10-batches-py.tar.gz", "cifar-10-batches-py-target_archive")}


@dataclasses.dataclass
class Outcome:
    mode: str
    returncode: int
    seconds: float
    stdout: str
    stderr: str
    events: list
    error: str = ""

    @property
    def fits(self):
        return [e["history"] for e in self.events if e["event"] == "fit"]

    @property
    def caps(self):
        return [e for e in self.events if e["event"] == "cap"]


def _error_line(returncode, stderr):
    if returncode == 0:
        return ""
    if returncode in (-9, -15, 124):
        return f"timed out after {TIMEOUT} s"
    lines = [line.strip() for line in stderr.splitlines() if _ERROR.match(line.strip())]
    return (lines[-1] if lines else (stderr.strip().splitlines() or [f"exit {returncode}"])[-1])[:300]


def run(program, mode, script, workdir, data, digests):
    """Run `script` (the program, or its migrated copy) one way in a fresh folder; an Outcome."""
    workdir = pathlib.Path(workdir)
    home = workdir / "home"
    datasets = home / ".keras" / "datasets"
    datasets.mkdir(parents=True)
    for name in digests:
        for alias in (name,) + _ALIASES.get(name, ()):
            (datasets / alias).symlink_to(pathlib.Path(data) / name)
    if "text_corpora" in program.get("data", ()):
        synthetic.write_text_corpora(str(workdir))
    record = workdir / "record.jsonl"
    caps = {**load_list()["caps"], **program.get("caps", {})}
    env = dict(os.environ, HOME=str(home), KERAS_HOME=str(home / ".keras"), MPLBACKEND="Agg",
               TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=os.pathsep.join([str(HERE / "shim"), str(REPO)]),
               SLIMCOMPAT_CORPUS_RECORD=str(record), SLIMCOMPAT_CORPUS_SYNTHETIC=str(pathlib.Path(data) / "synthetic.json"),
               SLIMCOMPAT_CORPUS_EPOCHS=str(caps["epochs"]), SLIMCOMPAT_CORPUS_STEPS=str(caps["steps"]),
               SLIMCOMPAT_CORPUS_SAMPLES=str(caps["samples"]),
               SLIMCOMPAT_TRUST_FILE=",".join(f"{alias}={digest}" for name, digest in digests.items()
                                              for alias in (name,) + _ALIASES.get(name, ())))
    for key in ("SLIMCOMPAT_TF", "SLIMCOMPAT_KERAS", "SLIMCOMPAT_OFFLINE", "SLIMCOMPAT_WEIGHTS_DIR"):
        env.pop(key, None)
    command = [sys.executable] + (["-m", "slimcompat", "run"] if mode == "run" else []) + [str(script)]
    command += program.get("args", [])
    start = time.monotonic()
    proc = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    seconds = time.monotonic() - start
    (workdir / "output.txt").write_text(f"$ {' '.join(command)}\n{out}\n--- stderr ---\n{err}")
    events = [json.loads(line) for line in record.read_text().splitlines()] if record.is_file() else []
    shutil.rmtree(home, ignore_errors=True)
    return Outcome(mode, proc.returncode, seconds, out, err, events, _error_line(proc.returncode, err))


def meaning(program, outcome):
    """None if the outcome means what the program means (its check), else why not.

    loss_falls: in each training run (each fit's History, or the printed losses), the mean of the last
    third of the losses is below the mean of the first third (first and last for two or three values).
    Programs that train two networks (relu against selu) start the second from scratch, so runs are
    judged one by one; thirds keep a long run's epoch-to-epoch noise from deciding.
    """
    check = program.get("check", "loss_falls")
    if check == "exit":
        return None
    runs = _losses(program, outcome)
    losses = [v for run in runs for v in run]
    if not losses:
        return "no loss recorded (no fit History and no printed loss)"
    if any(not (v == v and abs(v) != float("inf")) for v in losses):
        return f"a loss is not finite: {losses}"
    if check == "loss_falls":
        for index, run in enumerate(runs):
            if len(runs) > 1 and len(run) < 2:
                continue
            k = max(1, len(run) // 3)
            first, last = sum(run[:k]) / k, sum(run[-k:]) / k
            if not last < first:
                which = f"fit {index + 1} of {len(runs)}: " if len(runs) > 1 else ""
                return (f"loss did not fall: {which}first {first:.4g}, last {last:.4g}"
                        + (f" (means of {k})" if k > 1 else ""))
    return None


def _losses(program, outcome):
    """The losses of each training run: [[printed losses]] or one list per fit."""
    pattern = program.get("loss_printed")
    if pattern:
        return [[float(v) for v in re.findall(pattern, outcome.stdout)]]
    return [history.get(program.get("loss_key", "loss"), []) for history in outcome.fits]


def shape(program, outcome):
    """What `run` and `migrate` must share: each fit's epochs and metric names, or the count of printed losses."""
    if program.get("loss_printed"):
        return {"printed losses": len(_losses(program, outcome)[0])}
    rename = {"acc": "accuracy", "val_acc": "val_accuracy"}
    return {"fits": [(len(h.get("loss", [])), sorted(rename.get(k, k) for k in h if k != "lr" and k != "learning_rate"))
                     for h in outcome.fits]}


class Corpus:
    """Everything one tier run needs; jobs start on first request, at most `jobs` at a time."""

    def __init__(self, root, jobs=None, cache=None):
        self.root = pathlib.Path(root)
        self.list = load_list()
        self.programs = {p["name"]: p for p in self.list["programs"]}
        self.started = time.monotonic()
        self.paths, self.missing = fetch(self.list, cache)
        self.data, self.digests = data_home(cache)
        self.sources = self.root / "src"
        self.migrated = self.root / "migrated"
        for name, path in self.paths.items():
            target = self.sources / self.location(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        self.migrate_errors = self._migrate()
        self.pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=jobs or int(os.environ.get("SLIMCOMPAT_CORPUS_JOBS", "2")))
        self.futures = {}

    def location(self, name):
        program = self.programs[name]
        return program["own"] if "own" in program else f"{program['source']}/{pathlib.Path(program['path']).name}"

    def _migrate(self):
        """{program name: error lines} of one `slimcompat migrate SRC --output DST` over every program."""
        if not self.paths:
            return {}
        proc = subprocess.run([sys.executable, "-m", "slimcompat", "migrate", str(self.sources),
                               "--output", str(self.migrated)], capture_output=True, text=True,
                              env=dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2"), timeout=600)
        errors = {}
        for name in self.paths:
            location = str(self.sources / self.location(name))
            lines = [line for line in (proc.stdout + proc.stderr).splitlines()
                     if location in line and "error" in line.lower()]
            if not (self.migrated / self.location(name)).is_file():
                lines.append(f"no migrated file (migrate exit {proc.returncode}: "
                             f"{(proc.stderr.strip().splitlines() or [''])[-1]})")
            if lines:
                errors[name] = lines
        return errors

    def submit(self, names):
        for name in names:
            for mode in MODES:
                if (name, mode) not in self.futures and name in self.paths:
                    self.futures[name, mode] = self.pool.submit(self._job, name, mode)

    def _job(self, name, mode):
        folder = self.migrated if mode == "migrate" else self.sources
        script = folder / self.location(name)
        workdir = pathlib.Path(tempfile.mkdtemp(prefix=f"{mode}-", dir=self.root))
        if mode == "migrate" and not script.is_file():
            return Outcome(mode, -1, 0.0, "", "", [], "; ".join(self.migrate_errors.get(name, ["not migrated"])))
        return run(self.programs[name], mode, script, workdir, self.data, self.digests)

    def outcome(self, name, mode):
        self.submit([name])
        return self.futures[name, mode].result()

    def results(self):
        """{program: {mode: outcome}} of every finished job."""
        found = {}
        for (name, mode), future in self.futures.items():
            if future.done() and future.exception() is None:
                found.setdefault(name, {})[mode] = future.result()
        return found

    def save(self, verdicts, path=None):
        """Write the table's data (program, per mode: exit, seconds, error, verdict; caps) as JSON."""
        rows = []
        for program in self.list["programs"]:
            name = program["name"]
            outcomes = self.results().get(name, {})
            row = {"program": name, "note": program.get("skip") or program.get("note", "")}
            for mode in MODES:
                outcome = outcomes.get(mode)
                row[mode] = None if outcome is None else {
                    "exit": outcome.returncode, "seconds": round(outcome.seconds, 1), "error": outcome.error,
                    "verdict": verdicts.get((name, mode), ""),
                    "caps": sorted({f"{c['what']} {c['from']}->{c['to']}" for c in outcome.caps})}
            rows.append(row)
        data = {"seconds": round(time.monotonic() - self.started), "missing": self.missing, "rows": rows}
        path = pathlib.Path(path or cache_dir() / "results.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1))
        return data


def table(data):
    """The tier's table as text: program, plain, run, migrate, note; then the counts."""
    def cell(entry):
        if entry is None:
            return "-"
        if entry["verdict"]:
            return entry["verdict"]
        return "ok" if entry["exit"] == 0 else "fail"

    lines = ["| program | plain | run | migrate | note |", "|---|---|---|---|---|"]
    counts = {mode: {} for mode in MODES}
    for row in data["rows"]:
        notes = [row["note"]] if row["note"] else []
        for mode in ("run", "migrate"):
            if row[mode] and row[mode]["exit"] != 0:
                notes.append(f"{mode}: {row[mode]['error']}")
        caps = sorted({c for mode in MODES if row[mode] for c in row[mode]["caps"]})
        if caps:
            notes.append("caps: " + ", ".join(caps))
        cells = [cell(row[mode]) for mode in MODES]
        for mode, value in zip(MODES, cells):
            counts[mode][value.split(":")[0]] = counts[mode].get(value.split(":")[0], 0) + 1
        lines.append(f"| {row['program']} | " + " | ".join(cells) + " | " + "; ".join(notes).replace("|", "/") + " |")
    lines.append("")
    for mode in MODES:
        lines.append(f"{mode}: " + ", ".join(f"{v} {k}" for k, v in sorted(counts[mode].items())))
    lines.extend(data["missing"])
    lines.append(f"corpus tier: {data['seconds']} s")
    return "\n".join(lines)
