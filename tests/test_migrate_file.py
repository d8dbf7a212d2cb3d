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


def test_two_existing_files_are_still_two_inputs(tmp_path, capsys):
    first, second = tmp_path / "a.py", tmp_path / "b.py"
    first.write_text(SOURCE)
    second.write_text(SOURCE)
    assert main(["migrate", str(first), str(second)]) == 0
    capsys.readouterr()
    assert "epochs=2" in first.read_text() and "epochs=2" in second.read_text()
