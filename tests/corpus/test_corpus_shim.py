"""The corpus tier's own parts, quickly: the list is well formed and the shim caps and records what it says."""

import json
import os
import re
import subprocess
import sys
import textwrap

from slimcompat.testing import corpus as harness

PROGRAM = textwrap.dedent("""
    import numpy as np
    import tf_keras as keras
    from tf_keras.src.utils import data_utils
    x = np.random.rand(1000, 4).astype('float32')
    y = (x.sum(axis=1) > 2).astype('float32')
    model = keras.Sequential([keras.layers.Dense(1, activation='sigmoid', input_shape=(4,))])
    model.compile('sgd', 'binary_crossentropy')
    history = model.fit(x, y, batch_size=100, epochs=7, verbose=0)
    print('epochs run', len(history.history['loss']))
    print('synthetic accepted', data_utils.validate_file('data.bin', '0' * 64))
    print('other refused', not data_utils.validate_file('other.bin', '0' * 64))
""")


def test_list_is_well_formed():
    corpus = harness.load_list()
    names = [p["name"] for p in corpus["programs"]]
    assert len(names) == len(set(names))
    run = [p for p in corpus["programs"] if not p.get("skip")]
    assert len(run) >= 40
    for program in corpus["programs"]:
        if "own" in program:
            assert (harness.HERE / program["own"]).is_file(), program
        else:
            assert program["source"] in corpus["sources"] and re.fullmatch("[0-9a-f]{64}", program["sha256"])
        for key in ("loss_printed",):
            if key in program:
                re.compile(program[key])


def test_shim_caps_epochs_and_samples_records_them_and_accepts_only_synthetic_files(tmp_path):
    (tmp_path / "program.py").write_text(PROGRAM)
    (tmp_path / "data.bin").write_bytes(b"synthetic")
    (tmp_path / "other.bin").write_bytes(b"something else")
    (tmp_path / "synthetic.json").write_text(json.dumps({"data.bin": harness.sha256(tmp_path / "data.bin")}))
    env = dict(os.environ, PYTHONPATH=str(harness.HERE / "shim"), TF_CPP_MIN_LOG_LEVEL="2",
               SLIMCOMPAT_CORPUS_RECORD=str(tmp_path / "record.jsonl"),
               SLIMCOMPAT_CORPUS_SYNTHETIC=str(tmp_path / "synthetic.json"),
               SLIMCOMPAT_CORPUS_EPOCHS="2", SLIMCOMPAT_CORPUS_SAMPLES="300")
    proc = subprocess.run([sys.executable, "program.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "epochs run 2" in proc.stdout
    assert "synthetic accepted True" in proc.stdout and "other refused True" in proc.stdout
    events = [json.loads(line) for line in (tmp_path / "record.jsonl").read_text().splitlines()]
    caps = {(e["what"], str(e["from"]), str(e["to"])) for e in events if e["event"] == "cap"}
    assert caps == {("epochs", "7", "2"), ("x", "samples", "300"), ("y", "samples", "300")}
    fits = [e for e in events if e["event"] == "fit"]
    assert len(fits) == 1 and len(fits[0]["history"]["loss"]) == 2
