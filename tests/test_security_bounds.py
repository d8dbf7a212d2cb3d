"""Bounds before allocation, and one line for every bad input (issue 17, third round).

Crafted files (tests/fixtures/crafted.py) declare more than they hold: a
description claiming a network past its knobs' ranges or past the parameter
cap (in a canonical file, in a safetensors file's metadata, on the command
line), HDF5 datasets declared but never written, a parity reference whose
arrays inflate past their caps or disagree with their zip sizes. Each is
refused on one line naming the file, before the tensor list is expanded or a
value is read. Sizes stay small here (just past each bound, or a bound
lowered for the test): tools/probe_memory.py measures the full-size files.

Malformed records are one line too: parity references (the environment a
list, a key missing, malformed variables, a bad seed, no endpoints), object
graphs of TF checkpoints (children out of range, no nodes); and Ctrl-C is one
line and exit 130, with nothing half-written.
"""

import json
import os
import pathlib

import numpy as np
import pytest

from slimcompat.testing.crafted import (declared_canonical, described_canonical, described_safetensors, inflating_member,
                              write_reference)
from fixtures.weights import random_weights
from slimcompat.arch import FAMILIES, describe, ops
from slimcompat.arch import description
from slimcompat.cli.main import main
from slimcompat.weights import canonical, hdf5_walk

REPO = pathlib.Path(__file__).resolve().parent.parent
SPEC = REPO / "weights" / "SPEC.md"


def one_line(capsys, rc, *words):
    """The command failed with exit 2 and said one line holding `words`."""
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("slimcompat: error:"), (rc, err)
    for word in words:
        assert str(word) in err[0], (word, err[0])
    return err[0]


@pytest.fixture
def no_tensor_list(monkeypatch):
    """Fail the test if any description's tensors are listed (its plan walked for parametric ops)."""
    def refuse(plan):
        raise AssertionError(f"a tensor list was expanded ({len(plan)} top-level ops)")
    monkeypatch.setattr(ops, "parametric", refuse)


# ---------------------------------------------------------------- knob ranges

def test_every_knob_declares_its_range_and_the_spec_lists_it():
    spec = SPEC.read_text()
    section = spec[spec.index("## Ranges and caps"):spec.index("## Validation")]
    for family, cls in FAMILIES.items():
        ranges = dict(cls.ranges())
        assert set(ranges) == {name for name, _, _ in cls.knobs()}
        for name, words in ranges.items():
            row = next((line for line in section.splitlines() if line.startswith(f"| `{name}` |")), None)
            assert row is not None and words in row, (family, name, words, row)
    assert f"{description.MAX_PARAMETERS:,}" in section


# Just past a bound each (cheap to read even where the bound is missing).
PAST_A_RANGE = [
    ({"family": "resnet", "depth": 407, "block": "bottleneck", "units": [129, 2, 2, 2]}, "units", "each in 1..128"),
    ({"family": "resnet", "depth": 26, "block": "bottleneck", "units": [1, 1, 1, 1, 1, 1, 2]}, "units",
     "1..5 integers"),
    ({"family": "resnet", "depth": 50, "base_width": 1025}, "base_width", "1..1024"),
    ({"family": "resnet", "depth": 50, "groups": 2048, "width_per_group": 4}, "groups", "1..1024"),
    ({"family": "resnet", "depth": 50, "num_classes": 100_001}, "num_classes", "1..100000"),
    ({"family": "resnet", "depth": 50, "stem_kernel": 31}, "stem_kernel", "1..15"),
    ({"family": "inception10", "num_blocks": 9}, "num_blocks", "1..8"),
    ({"family": "inception10", "init_ch": 4096}, "init_ch", "1..1024"),
]


@pytest.mark.parametrize("spec,knob,words", PAST_A_RANGE)
@pytest.mark.parametrize("command", ["inspect", "validate", "convert"])
def test_a_canonical_description_past_a_range_is_one_line_before_any_tensor_list(
        tmp_path, capsys, no_tensor_list, command, spec, knob, words):
    path = described_canonical(tmp_path / "crafted.h5", spec)
    argv = [command, str(path)] + ([str(tmp_path / "out.h5")] if command == "convert" else [])
    one_line(capsys, main(argv), "crafted.h5", f"{knob} must be", words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crafted.h5"]


def test_a_description_past_the_parameter_cap_is_one_line(tmp_path, capsys):
    wide = {"family": "resnet", "depth": 50, "base_width": 1024}     # every knob in range, ~6.5G parameters
    path = described_canonical(tmp_path / "wide.h5", wide)
    one_line(capsys, main(["inspect", str(path)]), "wide.h5", "parameters, more than a description may have",
             f"{description.MAX_PARAMETERS:,}")


def test_safetensors_metadata_is_held_to_the_same_ranges(tmp_path, capsys, no_tensor_list):
    pytest.importorskip("safetensors")
    path = described_safetensors(tmp_path / "crafted.safetensors", PAST_A_RANGE[0][0])
    one_line(capsys, main(["inspect", str(path)]), "crafted.safetensors", "units must be", "each in 1..128")


def test_command_line_variants_are_held_to_the_same_ranges(tmp_path, capsys):
    source = tmp_path / "w.h5"
    canonical.write(source, random_weights("inception10", seed=1))
    rc = main(["convert", str(source), str(tmp_path / "out.h5"), "--arch", "resnet_v1_18",
               "--variant", "num_classes=100001"])
    one_line(capsys, rc, "num_classes must be an integer in 1..100000")
    assert not (tmp_path / "out.h5").exists()


# ---------------------------------------------------------------- HDF5 totals

def test_datasets_declared_but_never_written_are_refused_by_the_file_size(tmp_path, capsys, monkeypatch):
    path = declared_canonical(tmp_path / "zeros.h5", {"family": "inception10", "init_ch": 64})
    assert path.stat().st_size < 200_000     # declares 7.2 MiB, every dataset under the 1 GiB a tensor may have
    reads = []
    monkeypatch.setattr(np, "isfinite", lambda *a: reads.append(a) or pytest.fail("a value was read"))
    for command in ("inspect", "validate"):
        one_line(capsys, main([command, str(path)]), "zeros.h5", "152 datasets stored as is declare 7.2 MiB in all",
                 "more than the file's own size", "refusing before reading")
    assert reads == []


def test_compressed_datasets_are_bounded_in_total(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(hdf5_walk, "MAX_FILTERED_BYTES", 1 << 20)     # 1 GiB in use; the rule, cheaply
    path = declared_canonical(tmp_path / "gzip.h5", {"family": "inception10", "init_ch": 32}, compression="gzip")
    one_line(capsys, main(["validate", str(path)]), "gzip.h5", "compressed declare", "more than 1.0 MiB")


# ---------------------------------------------------------------- parity references

@pytest.fixture(scope="module")
def reference_parts():
    """(record, arrays) of a valid reference: resnet_v1_18's endpoints for one 32x32 batch, from PyTorch."""
    pytest.importorskip("torch")
    from slimcompat.parity import inputs, reference, torch_side
    weights = random_weights("resnet_v1_18", seed=0)
    side = torch_side.TorchNet(weights, (32, 32, 3))
    side.source = weights
    side.load()
    batch = inputs.random_batch((1, 32, 32, 3), seed=0)
    model_input = batch.for_side(side)
    points = side.endpoints(model_input)
    record = {"schema": reference.SCHEMA,
              "side": {"implementation": "torch", "title": "crafted", "architecture": side.arch.name,
                       "conventions": side.conventions.as_dict(), "weights": "(random, seed 0)",
                       "weights_source_kind": "random"},
              "input": {"description": batch.describe(), "source": batch.source, "shape": [1, 32, 32, 3],
                        "pixels": True},
              "environment": {"device": "CPU", "tensorflow_runtime": "2.21.0"},
              "endpoints": side.arch.endpoint_names(),
              "variables": [[v.name, v.canonical, list(v.shape)] for v in side.variables()],
              "weights": {"tensors": reference.digests(weights.tensors), "random_seed": 0}}
    arrays = {"batch": batch.values, "model_input": model_input,
              **{f"endpoint:{n}": np.asarray(points[n]) for n in record["endpoints"]}}
    return record, arrays


def _tampered(parts, change):
    record, arrays = json.loads(json.dumps(parts[0])), dict(parts[1])
    change(record, arrays)
    return record, arrays


def test_the_crafted_reference_is_valid(reference_parts, tmp_path, capsys):
    path = write_reference(tmp_path / "ref.npz", *reference_parts)
    assert main(["parity", "torch", "--reference", str(path)]) == 0
    assert "PASS" in capsys.readouterr().out


def _drop_endpoints(record, arrays):
    for name in record["endpoints"]:
        del arrays[f"endpoint:{name}"]
    record["endpoints"] = []


MALFORMED = {
    "environment a list": (lambda r, a: r.__setitem__("environment", ["CPU"]),
                           "record.environment: expected an object"),
    "side without title": (lambda r, a: r["side"].pop("title"), "record.side: no 'title'"),
    "no input": (lambda r, a: r.pop("input"), "input"),
    "variable of two items": (lambda r, a: r["variables"][0].pop(), "record.variables[0]: expected a list of 3"),
    "variable shape of text": (lambda r, a: r["variables"][3].__setitem__(2, "3x3"), "record.variables[3][2]"),
    "seed as text": (lambda r, a: r["weights"].__setitem__("random_seed", "zero"), "record.weights.random_seed"),
    "negative seed": (lambda r, a: r["weights"].__setitem__("random_seed", -1), "a seed in 0..2^63-1"),
    "zero endpoints": (_drop_endpoints, "record.endpoints: expected a non-empty list"),
    "endpoints of another network": (lambda r, a: r.__setitem__("endpoints", r["endpoints"][:3]), "its description"),
    "description past a range": (lambda r, a: r["side"]["conventions"]["description"].update(
        units=[1000, 2, 2, 2]), "units must be"),
    "endpoint of another batch": (lambda r, a: a.__setitem__("endpoint:logits", np.zeros((3, 1000), np.float32)),
                                  "endpoint:logits"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_reference_records_are_one_line(reference_parts, tmp_path, capsys, case):
    change, words = MALFORMED[case]
    path = write_reference(tmp_path / "bad.npz", *_tampered(reference_parts, change))
    one_line(capsys, main(["parity", "torch", "--reference", str(path)]), "bad.npz", words)


def test_a_reference_whose_arrays_inflate_past_the_cap_is_refused_before_inflating(reference_parts, tmp_path,
                                                                                     capsys, monkeypatch):
    from slimcompat.parity import reference
    monkeypatch.setattr(reference, "MAX_REFERENCE_BYTES", 4 << 20)     # 2 GiB in use; the rule, cheaply
    record, arrays = _tampered(reference_parts, lambda r, a: a.pop("endpoint:logits"))
    path = inflating_member(write_reference(tmp_path / "bomb.npz", record, arrays), "endpoint:logits", (1, 1 << 20))
    assert path.stat().st_size < 1 << 20
    loads = []
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: loads.append(a) or pytest.fail("inflated"))
    one_line(capsys, main(["parity", "torch", "--reference", str(path)]), "bomb.npz", "4.0 MiB",
             "refusing before inflating")
    assert loads == []


def test_an_array_header_that_disagrees_with_its_zip_size_is_refused(reference_parts, tmp_path, capsys):
    record, arrays = _tampered(reference_parts, lambda r, a: a.pop("endpoint:logits"))
    path = write_reference(tmp_path / "lying.npz", record, arrays)
    import zipfile
    with zipfile.ZipFile(path, "a") as archive, archive.open("endpoint:logits.npy", "w") as member:
        np.lib.format.write_array_header_1_0(member, {"descr": "<f4", "fortran_order": False,
                                                      "shape": (1, 1 << 28)})
        member.write(bytes(4000))
    one_line(capsys, main(["parity", "torch", "--reference", str(path)]), "lying.npz", "endpoint:logits",
             "declares shape (1, 268435456)")


# ---------------------------------------------------------------- object graphs

def _object_checkpoint(prefix, build):
    """A TF checkpoint holding one variable and an object graph made by `build(graph)`."""
    import tensorflow as tf
    from tensorflow.core.protobuf import trackable_object_graph_pb2
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    build(graph)
    tf.raw_ops.SaveV2(prefix=str(prefix), tensor_names=["_CHECKPOINTABLE_OBJECT_GRAPH", "v/.ATTRIBUTES/VARIABLE_VALUE"],
                      shape_and_slices=["", ""], tensors=[tf.constant(graph.SerializeToString()),
                                                          tf.zeros((3, 3, 3, 8))])
    return prefix


def _child_out_of_range(graph):
    root = graph.nodes.add()
    root.children.add(node_id=1, local_name="v")
    root.children.add(node_id=7, local_name="ghost")
    leaf = graph.nodes.add()
    leaf.attributes.add(name="VARIABLE_VALUE", checkpoint_key="v/.ATTRIBUTES/VARIABLE_VALUE")


@pytest.mark.parametrize("build,words", [
    (lambda graph: None, "object graph has no nodes"),
    (_child_out_of_range, "node 0 has child 'ghost' at node 7"),
])
def test_corrupt_object_graphs_are_one_line(tmp_path, capsys, build, words):
    prefix = _object_checkpoint(tmp_path / "model.ckpt", build)
    one_line(capsys, main(["inspect", str(prefix)]), "model.ckpt", words)


# ---------------------------------------------------------------- Ctrl-C

def test_ctrl_c_is_one_line_exit_130_and_writes_nothing(tmp_path, capsys, monkeypatch):
    source = tmp_path / "w.h5"
    canonical.write(source, random_weights("inception10", seed=1))
    before = sorted(os.listdir(tmp_path))
    real = canonical._group
    calls = []

    def interrupted(groups, path):
        calls.append(path)
        if len(calls) == 5:            # the destination is being written
            raise KeyboardInterrupt
        return real(groups, path)

    monkeypatch.setattr(canonical, "_group", interrupted)
    try:
        rc = main(["convert", str(source), str(tmp_path / "out.h5")])
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped main as a traceback")
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 130 and err == ["slimcompat: interrupted"], (rc, err)
    assert len(calls) == 5 and sorted(os.listdir(tmp_path)) == before
