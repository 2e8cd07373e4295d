"""The `gossamer` command line, run in-process through `main(argv)`."""

import json

import numpy as np
import pytest

from gossamer.cli import main


def test_run_with_input_file_saves_outputs(tmp_path, model_path, capsys):
    x = np.array([[-1, 2, -3, 4]], np.float32)
    np.save(tmp_path / "x.npy", x)
    assert (
        main(
            ["run", str(model_path), "-i", f"x={tmp_path / 'x.npy'}", "-o", str(tmp_path / "o.npz")]
        )
        == 0
    )
    np.testing.assert_array_equal(np.load(tmp_path / "o.npz")["y"], np.maximum(2 * x, 0))
    assert "y: float32[1, 4]" in capsys.readouterr().out


def test_run_random_is_seeded(model_path, tmp_path):
    for k in (1, 2):
        main(["run", str(model_path), "--random", "--seed", "7", "-o", str(tmp_path / f"{k}.npz")])
    np.testing.assert_array_equal(
        np.load(tmp_path / "1.npz")["y"], np.load(tmp_path / "2.npz")["y"]
    )


def test_run_without_inputs_fails_with_one_line(model_path, capsys):
    assert main(["run", str(model_path)]) == 2
    err = capsys.readouterr().err
    assert "error: no value for input(s) x" in err and len(err.splitlines()) == 1


def test_run_on_missing_file_fails_cleanly(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.onnx"), "--random"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_convert_then_run_gives_same_outputs(tmp_path, model_path):
    gsm = tmp_path / "m.gsm"
    assert main(["convert", str(model_path), "-o", str(gsm)]) == 0
    main(["run", str(model_path), "--random", "-o", str(tmp_path / "a.npz")])
    main(["run", str(gsm), "--random", "-o", str(tmp_path / "b.npz")])
    np.testing.assert_array_equal(
        np.load(tmp_path / "a.npz")["y"], np.load(tmp_path / "b.npz")["y"]
    )


def test_dump_writes_every_tensor_and_an_index(tmp_path, model_path):
    out = tmp_path / "dump"
    assert main(["dump", str(model_path), "--random", "-o", str(out)]) == 0
    index = json.loads((out / "index.json").read_text())
    assert [e["op_type"] for e in index] == ["<input>", "Add", "Relu"]
    d = np.load(out / index[1]["outputs"][0]["file"])
    x = np.load(out / index[0]["outputs"][0]["file"])
    np.testing.assert_array_equal(d, 2 * x)


def test_info_prints_inputs_and_histogram(model_path, capsys):
    assert main(["info", str(model_path)]) == 0
    out = capsys.readouterr().out
    assert "x: float32[N, 4]" in out and "Relu" in out and "Add" in out


def test_demo_runs_and_prints_top_ops(capsys):
    assert main(["demo", "--loops", "1"]) == 0
    out = capsys.readouterr().out
    assert "top-5 op timings" in out and "Conv" in out


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("convert", "run", "info", "dump", "demo"):
        assert cmd in out


def test_version_prints_the_package_version(capsys):
    import gossamer

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"gossamer {gossamer.__version__}"


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_is_accepted_before_or_after_the_command(where, model_path):
    argv = ["run", str(model_path), "--random"]
    argv = ["-v", *argv] if where == "before" else [argv[0], "-v", *argv[1:]]
    assert main(argv) == 0


def test_verbose_after_the_command_turns_debug_logging_on():
    from gossamer.cli import _parser

    assert _parser().parse_args(["run", "-v", "m.onnx"]).verbose is True
    assert getattr(_parser().parse_args(["run", "m.onnx"]), "verbose", False) is False
