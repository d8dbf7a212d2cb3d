"""`slimcompat migrate SRC.py DST.py`: tf_upgrade_v2's --infile/--outfile habit; the source is never rewritten."""

from slimcompat.cli.main import main

SOURCE = "from keras.utils.data_utils import get_file\nmodel.fit(x, y, nb_epoch=2)\n"


def test_source_then_new_destination_migrates_into_the_destination(tmp_path, capsys):
    source, destination = tmp_path / "a.py", tmp_path / "a_new.py"
    source.write_text(SOURCE)
    rc = main(["migrate", str(source), str(destination)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert source.read_text() == SOURCE
    assert not (tmp_path / "a.py.tf1.bak").exists()
    assert "epochs=2" in destination.read_text() and "from keras.utils import get_file" in destination.read_text()
    assert "failed" not in out.replace("0 failed", "")


def test_two_existing_files_are_refused_and_both_left_alone(tmp_path, capsys):
    """`migrate a.py b.py` with b.py there (e.g. the same command run again) is SRC DST or two in-place inputs:
    neither guess may rewrite a file the user meant to keep."""
    first, second = tmp_path / "a.py", tmp_path / "b.py"
    first.write_text(SOURCE)
    second.write_text(SOURCE)
    assert main(["migrate", str(first), str(second)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{second} exists" in err[0] and f"slimcompat migrate {first}`" in err[0], err
    assert first.read_text() == SOURCE and second.read_text() == SOURCE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py", "b.py"]


def test_running_src_dst_again_never_touches_the_source(tmp_path, capsys):
    source, destination = tmp_path / "a.py", tmp_path / "a_new.py"
    source.write_text(SOURCE)
    assert main(["migrate", str(source), str(destination)]) == 0
    migrated = destination.read_text()
    assert main(["migrate", str(source), str(destination)]) == 2
    assert source.read_text() == SOURCE and destination.read_text() == migrated


def test_two_files_with_output_are_two_inputs(tmp_path, capsys):
    first, second = tmp_path / "a.py", tmp_path / "b.py"
    first.write_text(SOURCE)
    second.write_text(SOURCE)
    assert main(["migrate", str(first), str(second), "--output", str(tmp_path / "out")]) == 0
    assert first.read_text() == SOURCE and "epochs=2" in (tmp_path / "out" / "b.py").read_text()
