"""Reads that must not write, and reads that must not be silently wrong.

A crafted install journal beside a downloaded checkpoint (paths through `..`,
absolute paths, symbolic links, names the installer never writes, malformed
records) is refused in one line by every command, and nothing in or outside the
checkpoint's folder changes: names, bytes and mtimes are compared before and
after. A genuine interrupted install is refused by reads and finished only by
`slimcompat convert --recover`.

A `.keras` re-saved without slimcompat.json reads its stem pool from the stem;
config.json disagreeing with slimcompat.json, a safetensors header naming a
tensor twice, a truncated V1 checkpoint and damaged `.keras` configs are one
line each; bad values are named as the file names them; every output kind gets
the same file mode.

Sources: an inception10 (the smallest slim net) written by slim_checkpoint.write
from seeded random weights, V2 and V1; a resnet_v2_18 (slim's, and one with
Keras names) and a torchvision resnet18 from seeded random weights, written by
keras_io and torch_io. Journals and damage are made by hand.
"""

import json
import os
import shutil
import struct
import zipfile

import h5py
import numpy as np
import pytest

from fixtures.weights import random_weights
from slimcompat.cli.main import main
from slimcompat.weights import canonical, journal, keras_io, slim_checkpoint, torch_io


def run_cli(capsys, *args):
    """(exit code, stdout, stderr lines) of an in-process `slimcompat ARGS`."""
    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err.strip().splitlines()


def refused(capsys, *args, words=()):
    rc, _, err = run_cli(capsys, *args)
    assert rc == 2 and len(err) == 1 and err[0].startswith("slimcompat: error:"), (rc, err)
    for word in words:
        assert str(word) in err[0], (word, err[0])
    return err[0]


def snapshot(root):
    """{relative path: (kind, bytes or link target, mtime_ns)} of everything under `root`, links unfollowed."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            if os.path.islink(path):
                content = ("link", os.readlink(path))
            elif os.path.isdir(path):
                content = ("dir", None)
            else:
                with open(path, "rb") as f:
                    content = ("file", f.read())
            out[os.path.relpath(path, root)] = (*content, info.st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def pristine(module_tmp):
    root = module_tmp("pristine")
    weights = random_weights("inception10", "slim", seed=1)
    slim_checkpoint.write(root / "model.ckpt", weights)
    slim_checkpoint.write(root / "v1.ckpt", weights, version="V1")
    other = random_weights("inception10", "slim", seed=2, num_classes=7)
    slim_checkpoint.write(root / "new.ckpt", other)
    canonical.write(root / "w.h5", weights)
    return root


@pytest.fixture
def scene(pristine, tmp_path):
    """tmp_path/ckpt: the downloaded checkpoint; tmp_path/outside: what an attacker's journal aims at."""
    ckpt, outside = tmp_path / "ckpt", tmp_path / "outside"
    ckpt.mkdir()
    for name in ("model.ckpt.index", "model.ckpt.data-00000-of-00001", "v1.ckpt"):
        shutil.copy2(pristine / name, ckpt / name)
    (outside / "victim").mkdir(parents=True)
    (outside / "victim" / "precious.txt").write_text("keep me")
    (outside / "secret.txt").write_text("attacker's payload")
    return ckpt, outside


def _partial(ckpt, prefix="model.ckpt"):
    folder = ckpt / f".{prefix}.abcd1234.partial"
    folder.mkdir()
    return folder


def _attacks(ckpt, outside):
    """{case: journal record}; some set up the folder (symlinks, a partial folder) as an attacker would."""
    victim = outside / "victim"
    cases = {
        "partial ../": {"partial": os.path.relpath(victim, ckpt), "moves": [], "first": [], "last": []},
        "partial absolute": {"partial": str(victim), "moves": [], "first": [], "last": []},
        "last absolute": {"partial": ".model.ckpt.abcd1234.partial", "moves": [], "first": [],
                          "last": [str(victim / "precious.txt")]},
        "first ../": {"partial": ".model.ckpt.abcd1234.partial", "moves": [],
                      "first": ["../outside/victim/precious.txt"], "last": []},
        "move out ../": {"partial": ".model.ckpt.abcd1234.partial", "first": [], "last": [],
                         "moves": [["../../outside/secret.txt", "../outside/victim/planted.txt"]]},
        "move absolute": {"partial": ".model.ckpt.abcd1234.partial", "first": [], "last": [],
                          "moves": [[str(outside / "secret.txt"), str(victim / "planted.txt")]]},
    }
    return cases


def _symlink_attacks(ckpt, outside):
    """Journals whose names look like ours but lead outside through symbolic links."""
    victim = outside / "victim"
    partial = ckpt / ".model.ckpt.abcd1234.partial"
    return {
        # the partial folder is a link to outside: its files would be moved in, the folder removed
        "partial symlink": (lambda: partial.symlink_to(outside),
                            {"partial": partial.name, "moves": [["secret.txt", "model.ckpt.index"]],
                             "first": [], "last": []}),
        # a member name that is a link to a folder outside: the move would write there
        "member symlink": (lambda: (partial.mkdir(), (partial / "ckpt.index").write_text("x"),
                                    (ckpt / "model.ckpt.data-00001-of-00002").symlink_to(victim / "precious.txt")),
                           {"partial": partial.name, "first": [], "last": [],
                            "moves": [["ckpt.index", "model.ckpt.data-00001-of-00002"]]}),
        # a moved file that is a link to a file outside
        "moved symlink": (lambda: (partial.mkdir(), (partial / "ckpt.index").symlink_to(outside / "secret.txt")),
                          {"partial": partial.name, "first": [], "last": [],
                           "moves": [["ckpt.index", "model.ckpt.index"]]}),
    }


def _journal(ckpt, record, prefix="model.ckpt"):
    record = {"format": "slimcompat-install/1", **record}
    journal.journal_path(ckpt / prefix).write_text(json.dumps(record))


def _every_command(capsys, ckpt, outside, tmp_path, source, prefix="model.ckpt"):
    """inspect, validate, convert from it, convert onto it, convert --recover: each refused, nothing changed."""
    before = snapshot(tmp_path)
    target = ckpt / prefix
    refused(capsys, "inspect", target, words=[prefix])
    refused(capsys, "validate", target, words=[prefix])
    refused(capsys, "convert", target, outside / "out.h5", words=[prefix])
    refused(capsys, "convert", source, target, "--force", words=[journal.journal_path(target).name])
    refused(capsys, "convert", "--recover", target, words=[journal.journal_path(target).name, "refusing"])
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("case", ["partial ../", "partial absolute", "last absolute", "first ../", "move out ../",
                                  "move absolute"])
def test_a_journal_naming_paths_outside_its_folder_changes_nothing(scene, pristine, tmp_path, capsys, case):
    ckpt, outside = scene
    _partial(ckpt)
    _journal(ckpt, _attacks(ckpt, outside)[case])
    _every_command(capsys, ckpt, outside, tmp_path, pristine / "w.h5")


@pytest.mark.parametrize("case", ["partial symlink", "member symlink", "moved symlink"])
def test_a_journal_leading_outside_through_symlinks_changes_nothing(scene, pristine, tmp_path, capsys, case):
    ckpt, outside = scene
    setup, record = _symlink_attacks(ckpt, outside)[case]
    setup()
    _journal(ckpt, record)
    _every_command(capsys, ckpt, outside, tmp_path, pristine / "w.h5")


@pytest.mark.parametrize("record", [
    {"partial": 5, "moves": [], "first": [], "last": []},
    {"partial": ".model.ckpt.abcd1234.partial", "moves": 5, "first": [], "last": []},
    {"partial": ".model.ckpt.abcd1234.partial", "moves": [["a"]], "first": [], "last": []},
    {"partial": ".model.ckpt.abcd1234.partial", "moves": [], "first": None, "last": []},
    {"partial": ".model.ckpt.abcd1234.partial", "moves": [], "first": [], "last": [["x"]]},
    {"moves": [], "first": [], "last": []},
    # names inside the folder, but not files an install of model.ckpt writes
    {"partial": ".model.ckpt.abcd1234.partial", "moves": [], "first": [], "last": ["v1.ckpt"]},
    {"partial": ".other.abcd1234.partial", "moves": [], "first": [], "last": []},
])
def test_a_malformed_journal_is_one_line_and_changes_nothing(scene, pristine, tmp_path, capsys, record):
    ckpt, outside = scene
    _partial(ckpt)
    _journal(ckpt, record)
    _every_command(capsys, ckpt, outside, tmp_path, pristine / "w.h5")


def test_a_journal_of_another_format_or_not_a_file_changes_nothing(scene, pristine, tmp_path, capsys):
    ckpt, outside = scene
    path = journal.journal_path(ckpt / "model.ckpt")
    path.write_text(json.dumps({"format": "something-else/9", "partial": "..", "moves": [], "first": [],
                                "last": []}))
    _every_command(capsys, ckpt, outside, tmp_path, pristine / "w.h5")
    path.unlink()
    path.symlink_to(outside / "secret.txt")
    _every_command(capsys, ckpt, outside, tmp_path, pristine / "w.h5")


def test_a_journal_beside_a_v1_file_changes_nothing(scene, pristine, tmp_path, capsys):
    ckpt, outside = scene
    _journal(ckpt, {"partial": str(outside / "victim"), "moves": [], "first": [], "last": []}, prefix="v1.ckpt")
    _every_command(capsys, ckpt, outside, tmp_path, pristine / "w.h5", prefix="v1.ckpt")


def test_an_interrupted_install_is_refused_by_reads_and_finished_by_recover(scene, pristine, tmp_path, capsys):
    """A genuine journal (the installer's own names): reads refuse and change nothing; --recover finishes it."""
    ckpt, _ = scene
    partial = _partial(ckpt)
    shutil.copy2(pristine / "new.ckpt.index", partial / "ckpt.index")
    shutil.copy2(pristine / "new.ckpt.data-00000-of-00001", partial / "ckpt.data-00000-of-00001")
    # killed after the old index went and the new data took its place: the set is half old, half new
    (ckpt / "model.ckpt.index").unlink()
    os.replace(partial / "ckpt.data-00000-of-00001", ckpt / "model.ckpt.data-00000-of-00001")
    _journal(ckpt, {"partial": partial.name, "first": ["model.ckpt.index"], "last": [],
                    "moves": [["ckpt.data-00000-of-00001", "model.ckpt.data-00000-of-00001"],
                              ["ckpt.index", "model.ckpt.index"]]})
    before = snapshot(tmp_path)
    for command in (["inspect"], ["validate"], ["convert", "--quiet", "--from", "slim"]):
        extra = [tmp_path / "out.h5"] if command[0] == "convert" else []
        refused(capsys, *command, ckpt / "model.ckpt", *extra,
                words=["interrupted install", f"slimcompat convert --recover {ckpt / 'model.ckpt'}"])
    assert snapshot(tmp_path) == before
    rc, out, err = run_cli(capsys, "convert", "--recover", ckpt / "model.ckpt")
    assert rc == 0 and "interrupted install finished" in out, (out, err)
    assert sorted(os.listdir(ckpt)) == ["model.ckpt.data-00000-of-00001", "model.ckpt.index", "v1.ckpt"]
    rc, out, _ = run_cli(capsys, "inspect", "--json", ckpt / "model.ckpt")
    assert rc == 0 and json.loads(out)["num_classes"] == 7
    rc, out, _ = run_cli(capsys, "convert", "--recover", ckpt / "model.ckpt")
    assert rc == 0 and "no interrupted install" in out


# ---------------------------------------------------------------- reads that were silently wrong

@pytest.fixture(scope="module")
def files(module_tmp):
    """A .keras of slim's resnet_v2_18, a Keras-2 h5 of a Keras-named one, a torchvision resnet18 safetensors."""
    root = module_tmp("files")
    keras_io.write(root / "r18.keras", random_weights("resnet_v2_18", "slim", seed=3))
    keras_io.write(root / "r18.h5", random_weights("resnet_v2_18", "keras", seed=4))
    torch_io.write(root / "r18.safetensors", random_weights("resnet18", seed=5, num_classes=10))
    return root


def rezip(src, dst, drop=(), edit=None):
    """A copy of the .keras `src` without the members `drop`, config.json passed through edit(config)."""
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w") as b:
        for info in a.infolist():
            if info.filename in drop:
                continue
            data = a.read(info.filename)
            if info.filename == "config.json" and edit is not None:
                data = json.dumps(edit(json.loads(data))).encode()
            b.writestr(info, data)
    return dst


def test_a_keras3_resave_reads_its_stem_pool_from_the_stem(files, tmp_path):
    """Without slimcompat.json, the padded 3x3 convs inside the units must not make the stem pool `pad1`."""
    resaved = rezip(files / "r18.keras", tmp_path / "resaved.keras", drop=("slimcompat.json",))
    with zipfile.ZipFile(resaved) as archive:
        layers = json.loads(archive.read("config.json"))["config"]["layers"]
    assert any(layer["class_name"] == "ZeroPadding2D" and layer["config"]["padding"] == [[1, 1], [1, 1]]
               for layer in layers)
    assert keras_io.read(resaved).meta.description.stem_pool == "same"

    def padded_stem(config):  # the keras.applications stem: pad 1, then a VALID pool
        layers = config["config"]["layers"]
        i = next(i for i, layer in enumerate(layers) if layer["config"].get("name") == "stem_pool")
        pad = {"module": "keras.layers", "class_name": "ZeroPadding2D",
               "config": {"name": "pool1_pad", "padding": [[1, 1], [1, 1]]},
               "inbound_nodes": layers[i]["inbound_nodes"]}
        layers[i]["config"]["padding"] = "valid"
        layers[i]["inbound_nodes"] = [{"args": [{"class_name": "__keras_tensor__",
                                                 "config": {"keras_history": ["pool1_pad", 0, 0]}}], "kwargs": {}}]
        layers.insert(i, pad)
        return config
    assert keras_io.read(rezip(files / "r18.keras", tmp_path / "pad1.keras", drop=("slimcompat.json",),
                               edit=padded_stem)).meta.description.stem_pool == "pad1"


def _set_epsilon(value):
    def edit(config):
        for layer in config["config"]["layers"]:
            if layer["class_name"] == "BatchNormalization":
                layer["config"]["epsilon"] = value
        return config
    return edit


def test_config_and_slimcompat_json_disagreeing_is_refused_naming_both(files, tmp_path, capsys):
    lying = rezip(files / "r18.keras", tmp_path / "lying.keras", edit=_set_epsilon(1e-3))
    line = refused(capsys, "inspect", lying, words=["lying.keras", "config.json", "slimcompat.json", "0.001",
                                                    "1e-05"])
    assert "disagree" in line


def _layers(value):
    def edit(config):
        config["config"]["layers"] = value
        return config
    return edit


def _insert_string(config):
    config["config"]["layers"].insert(2, "conv1")
    return config


def _drop_class_name(config):
    del config["config"]["layers"][3]["class_name"]
    return config


@pytest.mark.parametrize("case,edit,words", [
    ("epsilon text", _set_epsilon("abc"), ["expected a number for epsilon", "'abc'"]),
    ("epsilon missing", _set_epsilon(None), ["expected a number for epsilon", "None"]),
    ("negative epsilon", _set_epsilon(-1.0), ["bn_epsilon", "-1.0"]),
    ("no layer list", _layers(None), ["config.json", "expected", "layer list"]),
    ("layers a string", _layers("x"), ["config.json", "expected 'config.layers' to be a list", "'x'"]),
    ("a string layer", _insert_string, ["config.json", "expected layer 2 to be an object", "'conv1'"]),
    ("no class_name", _drop_class_name, ["config.json", "layer 3's class_name", "None"]),
    ("not an object", lambda config: [config], ["config.json", "expected a JSON object", "list"]),
])
def test_a_damaged_keras_config_is_one_line_naming_the_file(files, tmp_path, capsys, case, edit, words):
    damaged = rezip(files / "r18.keras", tmp_path / "damaged.keras", drop=("slimcompat.json",), edit=edit)
    refused(capsys, "inspect", damaged, words=["damaged.keras", *words])


def _safetensors(src, dst, change):
    """Rewrite a safetensors file: change(header dict as JSON text) -> new header text; data kept."""
    raw = src.read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    header = change(raw[8:8 + size].decode())
    dst.write_bytes(struct.pack("<Q", len(header)) + header.encode() + raw[8 + size:])
    return dst


def test_a_safetensors_header_naming_a_tensor_twice_is_refused(files, tmp_path, capsys):
    """A decoy entry first, the real one last: parsers keeping the first and the last see different tensors."""
    def duplicate(text):
        header = json.loads(text)
        decoy = json.dumps(header["layer1.0.conv2.weight"])
        return '{"layer1.0.conv1.weight": ' + decoy + ", " + text.lstrip()[1:]
    dup = _safetensors(files / "r18.safetensors", tmp_path / "dup.safetensors", duplicate)
    torch_io.read(files / "r18.safetensors")  # the untouched file reads
    refused(capsys, "inspect", dup, words=["dup.safetensors", "'layer1.0.conv1.weight' twice"])


def test_a_truncated_v1_checkpoint_is_reported_as_truncated(pristine, tmp_path, capsys):
    v1 = tmp_path / "model.ckpt"
    v1.write_bytes((pristine / "v1.ckpt").read_bytes()[:-100])
    for command in ("inspect", "validate"):
        line = refused(capsys, command, v1, words=["model.ckpt", "truncated"])
        assert "not a canonical file" not in line


# ---------------------------------------------------------------- names as the file gives them

def test_bad_values_are_named_as_the_file_names_them(files, tmp_path, capsys):
    numpy_io = pytest.importorskip("safetensors.numpy")
    import safetensors
    with safetensors.safe_open(str(files / "r18.safetensors"), framework="np") as f:
        metadata = f.metadata()
    tensors = numpy_io.load_file(str(files / "r18.safetensors"))
    nan = dict(tensors)
    nan["conv1.weight"] = nan["conv1.weight"].copy()
    nan["conv1.weight"][0, 0, 0, 0] = np.nan
    numpy_io.save_file(nan, str(tmp_path / "nan.safetensors"), metadata=metadata)
    refused(capsys, "inspect", tmp_path / "nan.safetensors", words=["tensor conv1.weight (stem/conv/kernel)", "NaN"])
    missing = {k: v for k, v in tensors.items() if k != "layer2.0.bn1.running_var"}
    numpy_io.save_file(missing, str(tmp_path / "missing.safetensors"), metadata=metadata)
    refused(capsys, "inspect", tmp_path / "missing.safetensors", words=["1 missing", "layer2.0.bn1.running_var ("])

    h5 = tmp_path / "int.h5"
    shutil.copy(files / "r18.h5", h5)
    with h5py.File(h5, "r+") as f:
        name = "conv1_conv/conv1_conv/kernel:0"
        value = f[name][()]
        del f[name]
        f[name] = value.astype(np.int32)
    refused(capsys, "inspect", h5, words=["tensor conv1_conv/kernel:0 (stem/conv/kernel)", "int32"])


# ---------------------------------------------------------------- outputs

def test_every_output_kind_gets_the_same_mode(pristine, tmp_path, capsys):
    mask = os.umask(0o022)
    os.umask(mask)
    outputs = ["w.h5", "w.keras", "w.weights.h5", "w.safetensors", "w.ckpt"]
    for name in outputs:
        extra = ["--faithful"] if name.endswith(".safetensors") else []
        rc, _, err = run_cli(capsys, "convert", "--quiet", pristine / "w.h5", tmp_path / name, *extra)
        assert rc == 0, err
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()}
    assert set(modes.values()) == {oct(0o666 & ~mask)}, modes
