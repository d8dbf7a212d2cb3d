"""`slimcompat parity`: name parity, per-endpoint numbers, the first divergence and its cause.

Real sources: a tf_slim resnet_v2_50 checkpoint saved by Saver, the Keras-1
ResNet50 file as published (fixture writer), canonical weights. A seeded batch
of 2 x 64 x 64 pixels. Tests that compute run on every device TensorFlow sees:
the CPU one here, GPUs as `-m gpu` (deselected by default; CI runs the CPU path).
Run with -s to print the measured figures.
"""

import json

import numpy as np
import pytest
import tensorflow as tf

from fixtures.weights import random_weights
from slimcompat.parity import check, environment, inputs, render_html, render_json, render_text
from slimcompat.parity.endpoints import endpoint_of
from slimcompat.parity.implementation import Variable, create
from slimcompat.parity.name_parity import name_parity
from slimcompat.weights import canonical, convert, transforms
from slimcompat.arch import INPUTS

SHAPE = (2, 64, 64, 3)
BATCH = inputs.random_batch(SHAPE, seed=1)
DEVICES = ["CPU"] + [pytest.param(d.name.split("device:")[-1], marks=pytest.mark.gpu)
                     for d in tf.config.list_logical_devices("GPU")]


def found(report):
    return {f["cause"] for f in report["diagnosis"] if f["status"] == "found"}


@pytest.fixture(scope="module")
def slim_ckpt(fixture_files):
    return fixture_files.slim_checkpoint("resnet_v2", 1001, seed=3)["V2"]


@pytest.fixture(scope="module")
def weights(slim_ckpt):
    return convert.load(slim_ckpt)


@pytest.fixture(scope="module")
def legacy_file(fixture_files):
    return fixture_files.keras1_resnet50(seed=5)[0]


@pytest.fixture(scope="module")
def built(weights):
    """build(key, device, weights=None): one implementation per (key, device, weights), built once."""
    cache = {}

    def build(key, device="CPU", source=None):
        source = source or weights
        if (key, device, id(source)) not in cache:
            cache[key, device, id(source)] = create(key, source, SHAPE[1:], device)
        return cache[key, device, id(source)]
    return build


def run(built, a_key, b_key, device="CPU", weights_b=None, batch=BATCH):
    environment.configure(False)
    a, b = built(a_key, device), built(b_key, device, weights_b)
    return check.compare(a, b, name_parity(a.variables(), b.variables()), batch, device)


def worst(report):
    return max(r["relative"] for r in report["endpoints"])


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
def test_slim_graph_and_faithful_keras_agree_at_every_endpoint(built, device):
    report = run(built, "slim-graph", "keras-faithful", device)
    print(f"\nslim resnet_v2_50 graph vs faithful Keras on {device}: worst endpoint relative error {worst(report):.2e}")
    assert report["names"]["ok"] and report["names"]["matched"] == 272
    assert [r["endpoint"] for r in report["endpoints"]] == built("slim-graph").arch.endpoint_names()
    assert len(report["endpoints"]) == 19 and report["ok"] and report["first_divergence"] is None
    assert worst(report) <= report["tolerance"]["relative"]
    assert all(r["cosine"] > 0.99999 for r in report["endpoints"])
    assert report["environment"]["tf32"] is False and report["diagnosis"] == []


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
def test_slim_graph_and_slim_eager_are_identical(built, device):
    report = run(built, "slim-graph", "slim-eager", device)
    identical = sum(r["identical"] for r in report["endpoints"])
    print(f"\nslim graph vs slim eager on {device}: {identical}/19 endpoints bit-identical, worst {worst(report):.1e}")
    names = report["names"]
    assert names["ok"] and names["matched"] == 272 == names["variables_a"] == names["variables_b"]
    assert all(p["a"] == p["b"] for p in names["pairs"])
    assert report["ok"] and worst(report) <= 1e-6


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
def test_stock_resnet50v2_diverges_first_at_the_stem_pool(built, device):
    report = run(built, "slim-graph", "keras-stock", device)
    causes = {f["cause"]: f for f in report["diagnosis"]}
    print(f"\nslim vs stock ResNet50V2: first divergence {report['first_divergence']}; "
          + "; ".join(f"{f['label']}: {f['status']}" for f in report["diagnosis"]))
    assert report["names"]["ok"] and not report["ok"]
    assert report["first_divergence"] == "stem"
    assert causes["stem_pool"]["status"] == "found" and causes["stem_pool"]["first_divergence"] == "stem"
    assert causes["bn_epsilon"]["status"] == "no measurable effect"
    assert "FAIL: first divergence at stem; cause found: stem pooling padding" in render_text.render(report)


@pytest.mark.slow
def test_a_stock_side_is_never_rebuilt_the_other_side_is(built):
    """keras.applications cannot be rebuilt with another knob: as B, A (the slim graph) is rebuilt with B's
    stem pool instead; as A, B (the slim graph, rebuildable with any knob) takes A's."""
    report = run(built, "slim-graph", "keras-stock")
    causes = {f["cause"]: f for f in report["diagnosis"]}
    assert report["first_divergence"] == "stem" and causes["stem_pool"]["status"] == "found"
    assert "A rebuilt with B's stem pooling padding" in causes["stem_pool"]["evidence"]
    report = run(built, "keras-stock", "slim-graph")
    causes = {f["cause"]: f for f in report["diagnosis"]}
    assert report["first_divergence"] == "stem" and causes["stem_pool"]["status"] == "found"
    assert "B rebuilt with A's stem pooling padding" in causes["stem_pool"]["evidence"]


@pytest.mark.slow
def test_legacy_keras_resnet50_versus_modern_names_both_causes(legacy_file):
    weights = convert.load(legacy_file)
    batch = inputs.random_batch(SHAPE, seed=2)
    report = check.parity("keras-legacy", "keras-stock", weights, batch)
    causes = {f["cause"]: f for f in report["diagnosis"]}
    print(f"\nKeras-1 ResNet50 vs keras.applications ResNet50: first divergence {report['first_divergence']}; "
          + "; ".join(f"{f['label']}: {f['status']}" for f in report["diagnosis"]))
    assert report["names"]["ok"] and report["names"]["matched"] == 320
    assert report["first_divergence"] == "stem"
    stem = report["endpoints"][0]
    assert not stem["comparable"] and stem["shape_a"][1] == stem["shape_b"][1] - 1
    assert found(report) == {"stem_pool", "bn_epsilon"}
    assert causes["bn_epsilon"]["evidence"].startswith("A 0.001, B 1.001e-05")


PERTURBED = ["stem/conv/kernel", "stage1/unit1/shortcut/kernel", "stage1/unit3/conv2/kernel",
             "stage3/unit4/conv2/bn/gamma", "stage4/unit2/preact/moving_mean", "postnorm/beta", "logits/bias"]


@pytest.mark.slow
@pytest.mark.parametrize("tensor", PERTURBED)
def test_a_single_perturbed_weight_is_found_where_it_sits(built, weights, tensor):
    tensors = dict(weights.tensors)
    value = tensors[tensor].copy()
    value.flat[value.size // 2] += 1.0
    tensors[tensor] = value
    perturbed = canonical.Weights(tensors, weights.meta, weights.sources)
    a, b = built("slim-graph"), built("keras-faithful")
    b.source = perturbed
    try:
        report = check.compare(a, b, name_parity(a.variables(), b.variables()), BATCH)
    finally:
        b.source = weights
    assert report["first_divergence"] == endpoint_of(tensor)
    finding = next(f for f in report["diagnosis"] if f["cause"] == "weights")
    assert finding["status"] == "found" and [t["tensor"] for t in finding["tensors"]] == [tensor]
    assert finding["first_endpoint"] == report["first_divergence"]


@pytest.mark.slow
def test_stride_placement_shows_as_unit_resolutions(tmp_path):
    weights = random_weights("resnet_v1_50", "slim", conv_bias=True)
    report = check.parity("keras-faithful", "keras-stock", weights, BATCH)
    causes = {f["cause"]: f for f in report["diagnosis"]}
    assert report["names"]["ok"] and not report["ok"]
    assert causes["stride_placement"]["status"] == "found"
    assert "stage1: unit3 8x8 vs 16x16" in causes["stride_placement"]["evidence"]
    assert {"stride_placement", "stem_pool"} <= found(report)


@pytest.mark.slow
def test_background_class_offset_is_named(built, weights):
    report = run(built, "slim-graph", "keras-faithful", weights_b=transforms.drop_background(weights))
    names = report["names"]
    assert not names["ok"] and {m["canonical"] for m in names["shape_mismatch"]} == {"logits/kernel", "logits/bias"}
    assert report["first_divergence"] == "logits" and found(report) == {"background"}


@pytest.mark.slow
def test_colour_order_and_preprocessing_are_named(built, weights):
    flipped = transforms.flip_color(weights)
    assert run(built, "slim-graph", "keras-faithful", weights_b=flipped)["ok"]  # its own preprocessing knows
    raw = inputs.random_batch(SHAPE, seed=1, pixels=False)
    report = run(built, "slim-graph", "keras-faithful", weights_b=flipped, batch=raw)
    assert report["first_divergence"] == "stem" and "color" in found(report)
    vgg = canonical.Weights(weights.tensors, weights.meta.replace(input=INPUTS["vgg"]), weights.sources)
    report = run(built, "slim-graph", "keras-faithful", weights_b=vgg)
    assert report["first_divergence"] == "stem" and found(report) == {"preprocessing"}


def test_name_parity_lists_every_kind_of_break():
    a = [Variable("a/w", "stem/conv/kernel", (7, 7, 3, 64)), Variable("a/x", None, (3,)),
         Variable("a/b1", "stem/conv/bias", (64,)), Variable("a/b2", "stem/conv/bias", (64,)),
         Variable("a/l", "logits/bias", (1001,))]
    b = [Variable("b/w", "stem/conv/kernel", (7, 7, 3, 64)), Variable("b/l", "logits/bias", (1000,)),
         Variable("b/p", "postnorm/beta", (2048,))]
    result = name_parity(a, b)
    assert not result["ok"] and result["matched"] == 1
    assert result["unmapped_a"] == ["a/x"] and result["duplicated_a"] == {"stem/conv/bias": ["a/b1", "a/b2"]}
    assert [o["canonical"] for o in result["only_a"]] == ["stem/conv/bias"]
    assert [o["canonical"] for o in result["only_b"]] == ["postnorm/beta"]
    assert result["shape_mismatch"][0]["shape_a"] == [1001] and result["shape_mismatch"][0]["shape_b"] == [1000]


@pytest.mark.slow
def test_reports_and_exit_codes_from_the_command_line(slim_ckpt, tmp_path, cli):
    out = cli("parity", "slim-graph", "keras-stock", "--weights", slim_ckpt, "--size", "64",
                     "--json", tmp_path / "r.json", "--html", tmp_path / "r.html", check=False)
    assert out.returncode == 1, out.stderr
    assert "<- FIRST DIVERGENCE" in next(line for line in out.stdout.splitlines() if line.startswith("stem "))
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["schema"] == "slimcompat-parity/1" and report["first_divergence"] == "stem"
    assert report["input"]["preprocessing"] == "each side's own" and report["environment"]["tf32"] is False
    page = (tmp_path / "r.html").read_text()
    assert page.count("<svg") == 1 and page.count("<circle") >= 19 and "<script" not in page
    assert "src=" not in page and "href=" not in page
    ok = cli("parity", "slim-graph", "keras-faithful", "--size", "64", "--json", "-", check=False)
    report = json.loads(ok.stdout)
    assert ok.returncode == 0 and report["verdict"] == "pass", ok.stderr
    assert report["a"]["weights"] == "(random, seed 0)" and report["a"]["architecture"] == "resnet_v2_50"
    for bad in (["slim-graph", "nothing"], ["slim-graph", "keras-stock", "--weights", slim_ckpt, "--arch", "x"],
                ["slim-graph", "keras-stock", "--weights", tmp_path / "missing.h5"]):
        assert cli("parity", *bad, check=False).returncode == 2


@pytest.mark.slow
def test_renderers_survive_a_load_failure(built, weights):
    v1 = random_weights("resnet_v1_50", "slim")
    report = check.parity("keras-stock", "keras-faithful", v1, BATCH)
    assert report["load_error"] and not report["ok"] and report["endpoints"] == []
    assert "FAIL: layer names do not map" in render_text.render(report)
    assert json.loads(render_json.render(report))["verdict"] == "fail"
    assert "weights did not load" in render_html.render(report)


@pytest.mark.slow
def test_tf32_is_off_for_parity_runs_unless_asked(weights):
    check.parity("keras-faithful", "keras-faithful", weights, inputs.random_batch((1, 32, 32, 3)), tf32=True)
    assert tf.config.experimental.tensor_float_32_execution_enabled()
    report = check.parity("keras-faithful", "keras-faithful", weights, inputs.random_batch((1, 32, 32, 3)))
    assert not tf.config.experimental.tensor_float_32_execution_enabled() and report["ok"]
    assert all(r["identical"] for r in report["endpoints"])
    assert environment.tolerance("GPU:0", True) == ("GPU float32, TF32 on", 1e-2)
