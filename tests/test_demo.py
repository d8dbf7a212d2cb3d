"""The main job, as the README's first command runs it (small batch to stay quick)."""

import re

import pytest

from conftest import slimcompat

pytestmark = pytest.mark.programs   # the whole demo, minutes: tier programs


def test_demo_runs_migrates_converts_and_checks_parity_on_the_example(tmp_path):
    out = slimcompat("demo", "--batch-size", "2", "--image-size", "64", "--num-batches", "1",
                     "--workdir", tmp_path).stdout
    assert "Forward across 1 steps" in out
    assert "run vs migrate bit-identical (max |diff| 0.0)" in out
    assert "faithful Keras ResNetV2 from resnet_v2_50.h5" in out and "(within 1e-05)" in out
    for other in ("slim-eager", "keras-faithful"):
        verdict = out.split(f"$ slimcompat parity slim-graph {other}", 1)[1].splitlines()[1]
        assert verdict.strip().startswith("PASS: names map one-to-one and all 19 endpoints"), verdict
    assert (tmp_path / "resnet_v2_50.h5").exists() and (tmp_path / "migrated" / "legacy_resnet_v2.py").exists()
    assert "3 warning(s)" in out and "the 3 warning(s) are tf_upgrade_v2's `*.save requires manual check`" in out
    assert re.fullmatch(rf"demo: 5/5 checks passed in \d+ s; files kept in {re.escape(str(tmp_path))} .*",
                        out.strip().splitlines()[-1]), out.strip().splitlines()[-1]
    for other in ("slim-eager", "keras-faithful"):
        assert (tmp_path / f"parity-{other}.html").exists() and (tmp_path / f"parity-{other}.json").exists()
    keras_era = out.split("$ slimcompat run keras_era_resnet.py", 1)[1]
    verdict = next(line for line in keras_era.splitlines() if line.startswith("keras-era example:"))
    assert "resnet_v1_18: 11,191,242 parameters" in keras_era and "within 1e-05" in verdict
    assert "against resnet18: DIFFERENT: 5 structural differences" in keras_era
