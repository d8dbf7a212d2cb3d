"""Reads that must not write, and reads that must not be silently wrong.

A crafted install journal beside a downloaded checkpoint (paths through `..`,
absolute paths, symbolic links, names the installer never writes, malformed
records) is refused in one line by every command, and nothing in or outside the
checkpoint's folder changes: names, bytes and mtimes are compared before and
after. A genuine interrupted install is refused by reads and finished only by
`slimcompat convert --recover`.

Sources: an inception10 (the smallest slim net) written by slim_checkpoint.write
from seeded random weights, V2 and V1; journals and damage are made by hand.
"""

import json
import os
import shutil

import pytest

from fixtures.weights import random_weights
from slimcompat.cli.main import main
from slimcompat.weights import canonical, journal, slim_checkpoint


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
def pristine(tmp_path_factory):
    root = tmp_path_factory.mktemp("pristine")
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
