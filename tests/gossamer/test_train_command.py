"""`gossamer train`: trains from .npz data, writes the model, a per-epoch log and a loss curve,
resumes from checkpoints; bad input exits 2 with one line on stderr."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from gossamer.cli import main

onnx = pytest.importorskip("onnx")

from .test_trainer import _blobs, _mlp  # noqa: E402


@pytest.fixture
def files(tmp_path):
    model = tmp_path / "mlp.onnx"
    onnx.save(_mlp(), str(model))
    x, y = _blobs(96)
    np.savez(tmp_path / "train.npz", x=x, y=y)
    np.savez(tmp_path / "val.npz", x=x[:32], y=y[:32])
    return tmp_path, model


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_train_writes_a_model_a_csv_log_and_a_curve(files, capsys):
    tmp, model = files
    out, log, png = tmp / "tuned.onnx", tmp / "log.csv", tmp / "curve.png"
    code, text, err = _run(
        [
            "train",
            model,
            "--data",
            tmp / "train.npz",
            "--labels",
            "y",
            "--val",
            tmp / "val.npz",
            "--lr",
            "0.02",
            "--epochs",
            "4",
            "--batch-size",
            "16",
            "-o",
            out,
            "--log",
            log,
            "--plot",
            png,
        ],
        capsys,
    )
    assert code == 0, err
    assert "trained 4 epoch(s)" in text and out.exists()
    rows = list(csv.DictReader(open(log)))
    assert [r["epoch"] for r in rows] == ["1", "2", "3", "4"]
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    assert float(rows[-1]["val_accuracy"]) > 0.8
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_resumes_from_its_checkpoints_with_a_json_log(files, capsys):
    tmp, model = files
    base = [
        "train",
        model,
        "--data",
        tmp / "train.npz",
        "--labels",
        "y",
        "--batch-size",
        "32",
        "--checkpoint-dir",
        tmp / "ckpt",
        "-o",
        tmp / "out.gsm",
        "--freeze",
        "fc1.*",
    ]
    assert _run([*base, "--epochs", "1"], capsys)[0] == 0
    code, text, err = _run([*base, "--epochs", "3", "--resume", "--log", tmp / "log.json"], capsys)
    assert code == 0, err
    assert "trained 3 epoch(s)" in text
    assert len(json.loads((tmp / "log.json").read_text())) == 3


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--labels", "nope"], "has no array 'nope'"),
        (["--labels", "y", "-o", "out.pt"], "extension names the format"),
        (["--labels", "y", "--resume"], "--resume needs --checkpoint-dir"),
        (["--labels", "y", "--freeze", "*"], "nothing to train"),
    ],
)
def test_bad_input_exits_2_with_one_line(files, capsys, extra, message):
    tmp, model = files
    argv = ["train", model, "--data", tmp / "train.npz", "-o", tmp / "o.onnx", *extra]
    code, _, err = _run(argv, capsys)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_an_op_without_a_gradient_exits_2_naming_it(files, capsys):
    tmp, model = files
    proto = onnx.load(str(model))
    proto.graph.node[2].op_type = "Erf"
    onnx.save(proto, str(tmp / "erf.onnx"))
    argv = ["train", tmp / "erf.onnx", "--data", tmp / "train.npz", "--labels", "y"]
    code, _, err = _run([*argv, "-o", tmp / "o.onnx"], capsys)
    assert code == 2
    assert "no gradient in the reference: Erf (relu)" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
