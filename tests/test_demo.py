"""The main job, as the README's first command runs it (small batch to stay quick)."""

from conftest import slimcompat


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
    keras_era = out.split("$ slimcompat run keras_era_resnet.py", 1)[1]
    assert "resnet_v1_18: 11,191,242 parameters" in keras_era and "within 1e-05" in keras_era.splitlines()[-1]
    assert "against resnet18: DIFFERENT: 5 structural differences" in keras_era
