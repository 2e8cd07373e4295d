"""Every subcommand, given bad arguments or bad files, exits 2 with one clear error on stderr and
never a traceback; interrupts exit 130; bugs still print one line (the traceback only with -v)."""

import logging
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import gossamer.commands.running as running
from gossamer.cli import _parser, main

# (command, argv, what stderr must say); {name} is a path from the `files` fixture.
CASES = [
    ("convert", ["convert", "{missing}", "-o", "{out}/m.gsm"], "does not exist"),
    ("convert", ["convert", "{garbage}", "-o", "{out}/m.gsm"], "cannot read ONNX model"),
    ("convert", ["convert", "{empty}", "-o", "{out}/m.gsm"], "is not an ONNX model"),
    ("convert", ["convert", "{folder}", "-o", "{out}/m.gsm"], "Is a directory"),
    ("convert", ["convert", "{model}", "-o", "{out}/m.bin"], "use one of .gsm"),
    ("convert", ["convert", "{model}", "-o", "{out}/nowhere/m.gsm"], "does not exist"),
    ("convert", ["convert", "{model}", "-o", "{folder}"], "use one of .gsm"),
    ("convert", ["convert", "{model}", "-o", "{out}/m.gsm", "-O", "9"], "invalid choice"),
    ("convert", ["convert", "{model}"], "required: -o"),
    ("run", ["run", "{model}"], "no value for input(s) x: float32[N, 4]"),
    ("run", ["run", "{missing}", "--random"], "does not exist"),
    ("run", ["run", "{garbage}", "--random"], "cannot read ONNX model"),
    ("run", ["run", "{model}", "-i", "y={f32}"], "no such input; inputs: x: float32[N, 4]"),
    ("run", ["run", "{model}", "-i", "x"], "expects NAME=FILE"),
    ("run", ["run", "{model}", "-i", "x={missing}.npy"], "No such file or directory"),
    ("run", ["run", "{model}", "-i", "x={pickled}"], "pickled Python objects"),
    ("run", ["run", "{model}", "-i", "x={model}"], "cannot read it as a numpy array"),
    ("run", ["run", "{model}", "-i", "x={i32}"], "expects dtype float32, got int32"),
    ("run", ["run", "{model}", "-i", "x={rank3}"], "expects rank 2"),
    ("run", ["run", "{model}", "-i", "x={f32}", "-i", "x={f32}"], "more than once"),
    ("run", ["run", "{model}", "-i", "x={notimage}"], "not an image Pillow can read"),
    ("run", ["run", "{model}", "-i", "x={rgb}", "--preprocess", "layout=nchw"], "has rank 2"),
    ("run", ["run", "{model}", "--random", "--shape", "y=1,4"], "no input 'y'; inputs: x"),
    ("run", ["run", "{model}", "--random", "--shape", "x=a,b"], "--shape expects NAME="),
    ("run", ["run", "{model}", "--random", "--shape", "x=1,4,1"], "has rank 3"),
    ("run", ["run", "{model}", "--random", "--shape", "x=1,5"], "axis 1 of input 'x' is fixed"),
    ("run", ["run", "{model}", "--random", "--shape", "x=-1,4"], "sizes >= 0"),
    ("run", ["run", "{model}", "--random", "--preprocess", "size=8x8"], "none was given"),
    ("run", ["run", "{model}", "--random", "-o", "{out}/o.txt"], "use one of .npz"),
    ("run", ["run", "{model}", "--random", "-o", "{out}/no/o.npz"], "folder '"),
    ("run", ["run", "{model}", "--random", "--backends", "nope"], "unknown backend(s) ['nope']"),
    ("run", ["run", "{model}", "--random", "--max-memory", "lots"], "--max-memory"),
    ("run", ["run", "{model}", "--random", "-O", "4"], "invalid choice"),
    ("run", ["run", "{model}", "--random", "--seed", "-1"], "expected an integer >= 0"),
    ("run", ["run", "{cnn}", "-i", "image={rgb}", "--preprocess", "mean=1/2"], "2 values"),
    ("run", ["run", "{cnn}", "-i", "image={rgb}", "--preprocess", "size=8"], "WIDTHxHEIGHT"),
    ("run", ["run", "{cnn}", "-i", "image={rgb}", "--preprocess", "bogus=1"], "unknown key"),
    ("run", ["run", "{cnn}", "-i", "image={rgb}", "--preprocess", "dtype=f33"], "not a tensor"),
    ("run", ["run", "{cnn}", "-i", "image={rgb}", "--preprocess", "std=0"], "cannot be 0"),
    ("run", ["run", "{cnn}", "-i", "image={rgb}", "--preprocess", "scale=1/0"], "not a number"),
    ("info", ["info", "{missing}"], "does not exist"),
    ("info", ["info", "{empty}"], "is not an ONNX model"),
    ("info", ["info", "{model}", "--shape", "y=1"], "no input 'y'; inputs: x: float32[N, 4]"),
    ("info", ["info", "{model}", "--shape", "x=1"], "has rank 1"),
    ("info", ["info", "{model}", "-O", "x"], "invalid int value"),
    ("dump", ["dump", "{missing}", "--random", "-o", "{out}/d"], "does not exist"),
    ("dump", ["dump", "{model}", "--random", "-o", "{out}/d", "--shape", "y=1"], "no input 'y'"),
    ("dump", ["dump", "{model}", "-o", "{out}/d"], "no value for input(s) x"),
    ("backends", ["backends", "--bogus"], "unrecognized arguments: --bogus"),
    ("explain", ["explain", "{missing}"], "does not exist"),
    ("explain", ["explain", "{model}", "--backends", "nope"], "unknown backend(s)"),
    ("ops", ["ops", "--backend", "nope"], "unknown backend(s)"),
    ("compare", ["compare", "{missing}"], "does not exist"),
    ("compare", ["compare", "{model}", "--shape", "y=1", "-o", "{out}/c"], "no input 'y'"),
    ("export", ["export", "{model}", "-o", "{out}/m.txt"], "use one of .gsm"),
    ("export", ["export", "{garbage}", "-o", "{out}/m.onnx"], "cannot read ONNX model"),
    ("view", ["view", "{missing}"], "does not exist"),
    ("view", ["view", "{model}", "--port", "70000"], "a port is 0..65535"),
    ("optimize", ["optimize", "{model}", "-o", "{out}/o.gsm", "--passes", "foo"], "unknown pass"),
    ("optimize", ["optimize", "{model}", "-o", "{out}/o.gsm", "-O", "5"], "invalid choice"),
    ("optimize", ["optimize", "{model}", "-o", "{out}/o.xyz"], "use one of .gsm"),
    ("optimize", ["optimize", "{model}", "-o", "{out}/o.gsm", "--details", "-1"], ">= 0"),
    ("conformance", ["conformance", "--backend", "nope", "--ops", "Relu"], "unknown backend"),
    ("conformance", ["conformance", "--backend", "reference", "--max-examples", "-1"], ">= 0"),
    ("conformance", ["conformance", "--backend", "reference", "--ops", ","], "at least one op"),
    ("conformance", ["conformance", "--backend", "reference", "--ops", "NoSuchOp"], "no case"),
    ("conformance", ["conformance", "--ops", "Relu"], "required: --backend"),
    ("benchmark", ["benchmark", "{missing}"], "does not exist"),
    ("benchmark", ["benchmark", "{model}", "--shape", "y=1"], "no input 'y'"),
    ("benchmark", ["benchmark", "{model}", "--loops", "0"], "--loops"),
    ("demo", ["demo", "--loops", "0"], "expected an integer >= 1"),
    ("quantize", ["quantize", "{model}", "-o", "{out}/q.onnx"], "needs calibration data"),
    (
        "quantize",
        ["quantize", "{missing}", "-o", "{out}/q.onnx", "--mode", "dynamic"],
        "does not exist",
    ),  # fmt: skip
    ("quantize", ["quantize", "{model}", "-o", "{out}/q.bin"], "use one of .gsm"),
    (
        "quantize",
        ["quantize", "{model}", "-o", "{out}/q.onnx", "--calibration", "{f32}"],
        "single array",
    ),  # fmt: skip
    (
        "quantize",
        ["quantize", "{model}", "-o", "{out}/q.onnx", "--mode", "int3"],
        "invalid choice",
    ),  # fmt: skip
    ("compile", ["compile", "{model}", "-o", "{out}/m.tflite"], "required: --backends"),
    (
        "compile",
        ["compile", "{model}", "--backends", "cython", "-o", "{out}/m.tflite"],
        "writes no deployable file",
    ),
    (
        "compile",
        ["compile", "{model}", "--backends", "ethos-u", "-o", "{out}/m.tflite", "-O", "9"],
        "invalid choice",
    ),
    ("demo", ["demo", "--seed", "x"], "expected an integer >= 0"),
    ("crop", ["crop", "{missing}", "-o", "{missing}"], "does not exist"),
    ("crop", ["crop", "{model}", "-o", "{missing}", "-O", "7"], "invalid choice"),
    (
        "train",
        ["train", "{model}", "--data", "{missing}", "--labels", "y", "-o", "{out}/t.onnx"],
        "no such file",
    ),
    (
        "train",
        ["train", "{model}", "--data", "{f32}", "--labels", "y", "-o", "{out}/t.onnx"],
        "not a .npz",
    ),
    ("tune", ["tune", "{missing}", "--backends", "opencl"], "does not exist"),
    ("tune", ["tune", "{model}", "--budget", "0"], "--budget must be a positive"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from gossamer.builtin_models import tiny_cnn
    from tests.conftest import make_model, tensor_info

    d = tmp_path_factory.mktemp("bad")
    from onnx import helper

    model = make_model(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")],
        [tensor_info("x", np.float32, ["N", 4])],
        [tensor_info("y", np.float32, ["N", 4])],
    )
    (d / "m.onnx").write_bytes(model.SerializeToString())
    (d / "cnn.onnx").write_bytes(tiny_cnn().SerializeToString())
    (d / "garbage.onnx").write_bytes(b"\xff not a model \x00" * 8)
    (d / "empty.onnx").write_bytes(b"")
    (d / "folder").mkdir()
    (d / "out").mkdir()
    np.save(d / "f32.npy", np.ones((1, 4), np.float32))
    np.save(d / "i32.npy", np.ones((1, 4), np.int32))
    np.save(d / "rank3.npy", np.ones((1, 1, 4), np.float32))
    np.save(d / "pickled.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (d / "notimage.png").write_bytes(b"not a png")
    Image.new("RGB", (20, 10), (200, 100, 50)).save(d / "rgb.png")
    names = ["model", "cnn", "garbage", "empty", "folder", "out", "f32", "i32", "rank3"]
    paths = {n: str(d / p) for n, p in zip(names, ["m.onnx", "cnn.onnx", "garbage.onnx",
             "empty.onnx", "folder", "out", "f32.npy", "i32.npy", "rank3.npy"])}  # fmt: skip
    paths.update(pickled=str(d / "pickled.npy"), notimage=str(d / "notimage.png"))
    paths.update(rgb=str(d / "rgb.png"), missing=str(d / "missing.onnx"))
    return paths


def exit_code(argv):
    """main's status, whether it returns it or argparse exits."""
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


@pytest.mark.parametrize(
    "argv, says", [pytest.param(argv, says, id=" ".join(argv)) for _, argv, says in CASES]
)
def test_bad_arguments_exit_2_with_one_clear_line(argv, says, files, capsys):
    code = exit_code([a.format(**files) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) == 1 and errors[0].startswith(f"gossamer {argv[0]}: error: "), err
    assert says in err


def test_every_subcommand_has_bad_argument_cases():
    commands = set(_parser()._subparsers._group_actions[0].choices)
    assert commands <= {command for command, _, _ in CASES}


def test_an_interrupt_exits_130_with_one_line(monkeypatch, model_path, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(running, "cmd_run", interrupted)
    assert main(["run", str(model_path), "--random"]) == 130
    assert capsys.readouterr().err == "gossamer run: interrupted\n"


def test_a_bug_prints_one_line_and_the_traceback_only_with_verbose(
    monkeypatch, model_path, capsys, caplog
):
    def broken(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(running, "cmd_run", broken)
    assert main(["run", str(model_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gossamer run: error: internal error: ZeroDivisionError: division by")
    assert "-v" in err and len(err.splitlines()) == 1 and "Traceback" not in err
    with caplog.at_level(logging.DEBUG, logger="gossamer"):
        assert main(["run", "-v", str(model_path)]) == 2
    assert any(r.exc_info and r.exc_info[0] is ZeroDivisionError for r in caplog.records)


def test_warnings_print_as_one_line(monkeypatch, model_path, capsys):
    import warnings

    def warns(args):
        warnings.warn("most nodes fall back to the reference", UserWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(running, "cmd_run", warns)
    assert main(["run", str(model_path)]) == 0
    assert (
        capsys.readouterr().err == "gossamer run: warning: most nodes fall back to the reference\n"
    )


def test_a_multi_line_error_keeps_its_details_indented(tmp_path, capsys):
    from onnx import helper

    from tests.conftest import make_model, tensor_info

    model = make_model(
        [helper.make_node("NoSuchOp", ["x"], ["y"], name="odd")],
        [tensor_info("x", np.float32, [1])],
        [tensor_info("y", np.float32, [1])],
    )
    (tmp_path / "odd.onnx").write_bytes(model.SerializeToString())
    assert main(["info", str(tmp_path / "odd.onnx")]) == 2
    first, *details = capsys.readouterr().err.splitlines()
    assert first.startswith("gossamer info: error: ") and "does not implement" in first
    assert details and all(line.startswith("  ") for line in details)
    assert any("NoSuchOp" in line for line in details)


@pytest.mark.parametrize(
    "argv, says",
    [
        (["run", "{missing}", "--random"], "does not exist"),
        (["optimize", "{model}", "-o", "{out}/o.gsm", "--passes", "foo"], "unknown pass"),
        (["run", "{model}", "-i", "x={pickled}"], "pickled"),
    ],
)
def test_the_installed_command_exits_2_without_a_traceback(argv, says, files):
    run = subprocess.run(
        [sys.executable, "-m", "gossamer.cli", *[a.format(**files) for a in argv]],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr and says in run.stderr
