"""What the commands say: one line that names the file and what to do, quiet start-up, a doctor verdict.

Sources: canonical files of seeded random weights (slimcompat's own writer), a
tf_slim-named slim checkpoint saved by Saver from them (slim_checkpoint.write),
a Keras-1 ResNet50 notop file (the session's shared one) and a Keras-2 weights file written by
keras_files.write_keras2_h5.
"""

import hashlib
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import run_python, slimcompat
from fixtures.weights import random_weights
from slimcompat.cli import quiet
from slimcompat.cli.inspect_file import describe
from slimcompat.cli.main import main
from slimcompat.errors import SlimcompatError
from slimcompat.parity import environment, inputs
from slimcompat.weights import canonical, convert, keras_files, slim_checkpoint


def one_line_error(out, *words):
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and lines[0].startswith("slimcompat: error:"), out.stderr
    for word in words:
        assert str(word) in lines[0], (word, lines[0])
    return lines[0]


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def sources(module_tmp):
    root = module_tmp("sources")
    weights = random_weights("resnet_v2_50", "slim", seed=8, source_kind="slim-checkpoint-v2",
                             source_file="resnet_v2_50.ckpt")
    canonical.write(root / "resnet_v2_50.h5", weights)
    slim_checkpoint.write(root / "resnet_v2_50.ckpt", weights)
    keras_files.write_keras2_h5(root / "dense.h5", [("dense", [("kernel", np.zeros((2, 3), np.float32))])])
    return root


# ---------------------------------------------------------------- errors and messages

def test_validate_says_what_a_non_canonical_file_is_and_what_to_run(sources, cli):
    ckpt = sources / "resnet_v2_50.ckpt"
    line = one_line_error(cli("validate", ckpt, check=False), "a slim checkpoint (V2",
                          f"slimcompat convert {ckpt}", f"slimcompat inspect {ckpt}")
    assert "no such file" not in line
    one_line_error(cli("validate", sources / "dense.h5", check=False), "a Keras 2 weight file",
                   "convert it first")
    assert "valid slimcompat-canonical" in cli("validate", sources / "resnet_v2_50.h5").stdout


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_convert_onto_a_folder_is_one_line(sources, tmp_path, force, cli):
    folder = tmp_path / "out"
    folder.mkdir()
    for src, suggestion in [(sources / "resnet_v2_50.h5", "resnet_v2_50.h5"),
                            (sources / "resnet_v2_50.ckpt", "resnet_v2_50.h5")]:
        line = one_line_error(cli("convert", src, folder, *force, check=False), "is a folder",
                              folder / suggestion)
        assert "Errno" not in line and "--force" not in line
    assert list(folder.iterdir()) == []


def test_convert_refuses_to_rewrite_its_own_source(sources, tmp_path, cli):
    src = tmp_path / "w.h5"
    src.write_bytes((sources / "resnet_v2_50.h5").read_bytes())
    before = sha(src)
    (tmp_path / "link.h5").symlink_to(src)
    (tmp_path / "hard.h5").hardlink_to(src)
    for dst in (src, tmp_path / "." / "w.h5", tmp_path / "link.h5", tmp_path / "hard.h5"):
        one_line_error(cli("convert", src, dst, "--force", check=False), "is the source itself")
    assert sha(src) == before and (tmp_path / "link.h5").is_symlink()
    ckpt = sources / "resnet_v2_50.ckpt"
    one_line_error(cli("convert", ckpt, ckpt, "--force", check=False), "is the source itself")


def test_a_ckpt_h5_name_is_written_as_a_canonical_file(sources, tmp_path, cli):
    assert convert.kind_for_destination("model.ckpt.h5") == "canonical"
    assert convert.kind_for_destination("model.ckpt-1000") == "slim"
    assert convert.kind_for_destination("model.ckpt") == "slim"
    cli("convert", sources / "resnet_v2_50.h5", tmp_path / "model.ckpt.h5", "--quiet")
    assert canonical.is_canonical(tmp_path / "model.ckpt.h5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.ckpt.h5"]


def test_inspect_of_a_slim_checkpoint_reads_no_tensor_data(sources, monkeypatch):
    def refuse(*args):
        raise AssertionError("inspect read tensor data")
    monkeypatch.setattr(slim_checkpoint, "get_tensor", refuse)
    info = describe(sources / "resnet_v2_50.ckpt")
    assert info["kind"] == "slim" and info["architecture"] == "resnet_v2_50" and info["tensors"] == 272
    assert info["bytes"] == sum(t.nbytes for t in canonical.read(sources / "resnet_v2_50.h5").tensors.values())


def test_a_pickled_npy_input_is_one_line(tmp_path, capsys):
    path = tmp_path / "batch.npy"
    np.save(path, np.array([{"cat": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(SlimcompatError) as info:
        inputs.load_batch(path)
    assert "pickled" in str(info.value) and "\n" not in str(info.value)
    strings = tmp_path / "strings.npy"
    np.save(strings, np.array(["a", "b"]))
    with pytest.raises(SlimcompatError, match="numeric"):
        inputs.load_batch(strings)
    assert main(["parity", "slim-graph", "slim-eager", "--input", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pickled" in err[0] and str(path) in err[0]


def test_convert_reports_a_total_before_the_first_tensor(sources, fixture_files):
    class Bar:
        def __init__(self):
            self.total, self.seen, self.total_at_first_call = None, 0, "never called"

        def __call__(self, n):
            if self.seen == 0:
                self.total_at_first_call = self.total
            self.seen += n

    for path in (sources / "resnet_v2_50.h5", sources / "resnet_v2_50.ckpt",
                 fixture_files.keras1_resnet50(include_top=False)[0]):
        bar = Bar()
        weights = convert.load(path, progress=bar)
        expected = sum(t.nbytes for t in weights.tensors.values())
        assert bar.total_at_first_call == expected == bar.seen, path


def test_the_parity_header_names_the_file_given_then_its_source(sources, tmp_path, capsys):
    given = sources / "resnet_v2_50.h5"
    html = tmp_path / "r.html"
    status = main(["parity", "slim-graph", "slim-eager", "--weights", str(given), "--size", "32", "--batch", "1",
                   "--html", str(html), "--json", str(tmp_path / "r.json")])
    out = capsys.readouterr().out
    assert status == 0, out
    header = next(line for line in out.splitlines() if line.startswith("weights"))
    assert header == (f"weights  A: {given} (converted from resnet_v2_50.ckpt, slim-checkpoint-v2)  "
                      f"B: {given} (converted from resnet_v2_50.ckpt, slim-checkpoint-v2)")
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["a"]["weights_file"] == str(given) and report["a"]["weights"] == "resnet_v2_50.ckpt"
    # The same run's page: exact zeros in their own band, the full report wrapped, not cut.
    page = html.read_text()
    zeros = [r["endpoint"] for r in report["endpoints"] if r["comparable"] and r["relative"] == 0]
    assert zeros and page.count('class="identical"') == len(zeros)
    assert page.count("<circle") == len(report["endpoints"]) - len(zeros)
    assert "0 (identical)" in page
    style = re.search(r"pre\{[^}]*\}", page).group(0)
    assert "white-space:pre-wrap" in style and "overflow:auto" not in style
    text = re.search(r"<pre>(.*)</pre>", page, re.S).group(1)
    assert all(line in text for line in out.strip().splitlines()[-3:] if "<" not in line and "&" not in line)


def _limited_file_size(limit):
    def preexec():
        import resource
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))  # Python ignores SIGXFSZ: writes fail EFBIG
    return preexec


@pytest.mark.slow   # over 5 s: default tier, not quick
@pytest.mark.parametrize("name", ["out.h5", "out.ckpt"])
def test_a_write_failing_for_lack_of_space_is_one_line_and_loses_nothing(sources, tmp_path, name):
    dst = tmp_path / name
    convert.save(dst, convert.load(sources / "resnet_v2_50.h5"), convert.kind_for_destination(dst))
    before = {p.name: sha(p) for p in tmp_path.iterdir()}
    out = subprocess.run([sys.executable, "-m", "slimcompat", "convert", sources / "resnet_v2_50.h5", dst,
                          "--force", "--quiet"], capture_output=True, text=True, preexec_fn=_limited_file_size(1 << 20))
    one_line_error(out, name, "file too large", "untouched")
    assert {p.name: sha(p) for p in tmp_path.iterdir()} == before


def test_a_destination_name_that_is_not_utf8_is_one_line(sources, tmp_path):
    for name in (b"\xff\xfe.h5", b"w\xff.ckpt"):
        dst = os.fsencode(tmp_path) + b"/" + name
        out = subprocess.run([sys.executable, "-m", "slimcompat", "convert", sources / "resnet_v2_50.h5", dst],
                             capture_output=True, text=True)
        one_line_error(out, "not valid UTF-8", "choose another name")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- quiet defaults and doctor

@pytest.mark.slow   # over 5 s: default tier, not quick
def test_commands_start_quietly_and_verbose_brings_the_lines_back(sources):
    ckpt = sources / "resnet_v2_50.ckpt"
    unset = {"TF_CPP_MIN_LOG_LEVEL": None}  # TensorFlow's own default: it prints its start-up lines
    quiet_run = slimcompat("inspect", ckpt, env=unset)
    assert quiet_run.stderr == "" and "resnet_v2_50" in quiet_run.stdout
    loud = slimcompat("inspect", ckpt, "--verbose", env=unset, check=False)
    assert loud.returncode == 0
    plain = run_python("-c", "import tensorflow", env=unset)  # what this machine's TensorFlow prints at import
    def noise(text):
        return [line.split("]")[-1] for line in text.splitlines() if quiet.NOISE.fullmatch(line.strip())]
    assert noise(loud.stderr) == noise(plain.stderr), loud.stderr


def test_doctor_reports_tf32_as_parity_does_names_the_distribution_and_ends_with_a_verdict(cli):
    out = cli("doctor")
    lines = out.stdout.strip().splitlines()
    providers = environment.tensorflow_distribution()
    tf_line = next(line for line in lines if line.strip().startswith("tensorflow "))
    assert providers and f"(installed as {providers[0][0]})" in tf_line and "-" != tf_line.split()[1]
    gpu = next(line for line in lines if "GPU visible" in line)
    tf32 = next(line for line in lines if line.strip().startswith("TF32"))
    if gpu.split()[-1] == "no":
        assert tf32.split(None, 1)[1] == "not applicable (no GPU)"
    assert lines[-1].startswith("doctor: OK: TensorFlow ") and "repairs applied, none failed" in lines[-1]
    assert out.returncode == 0
