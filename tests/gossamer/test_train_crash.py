"""`gossamer train --checkpoint-dir` survives SIGKILL during a checkpoint save: the run resumed from
what is on disk ends bit-identical (weights, running statistics, history) to an uninterrupted run.

The training process is the real CLI in a subprocess; a hook installed before it starts blocks the
save of epoch 2 at a chosen point (before or after the rename) and tells the test, which then kills
it with SIGKILL. Nothing here depends on timing: the test waits for the hook's marker file.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from gossamer.cli import main

onnx = pytest.importorskip("onnx")
from onnx import numpy_helper  # noqa: E402

from tests.gossamer._train_models import small_cnn  # noqa: E402

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

EPOCHS = 4

# Runs `gossamer train ARGS...` with os.replace wrapped: at the save of `epoch-000002.npz` it writes
# MARKER and blocks, before the rename ("before") or after it, before the folder's fsync ("after").
_HOOK = textwrap.dedent("""
    import os, sys, time
    marker, where, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        target = os.fspath(dst).endswith("epoch-000002.npz")
        if target and where == "before":
            open(marker, "w").close()
            time.sleep(600)  # killed here: a complete partial file, no epoch-2 checkpoint
        real_replace(src, dst, *args, **kwargs)
        if target and where == "after":
            open(marker, "w").close()
            time.sleep(600)  # killed here: renamed, the folder not yet fsynced

    os.replace = replace
    from gossamer.cli import main
    sys.exit(main(argv))
""")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """The model, the data and an uninterrupted run's exported model and log."""
    tmp = tmp_path_factory.mktemp("crash")
    onnx.save(small_cnn(3, dropout=False, fc_bias=True), str(tmp / "cnn.onnx"))
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    x = (rng.standard_normal((60, 1, 4, 4)) + y[:, None, None, None]).astype(np.float32)
    np.savez(tmp / "train.npz", x=x, y=y)
    code = main(_args(tmp, tmp / "straight.onnx", tmp / "straight.json", tmp / "ckpt-straight"))
    assert code == 0
    return tmp


def _args(tmp, out, log, ckpt, *extra):
    return [
        "train",
        str(tmp / "cnn.onnx"),
        "--data",
        str(tmp / "train.npz"),
        "--labels",
        "y",
        "--optimizer",
        "adam",
        "--lr",
        "0.05",
        "--epochs",
        str(EPOCHS),
        "--batch-size",
        "16",
        "--seed",
        "5",
        "--checkpoint-dir",
        str(ckpt),
        "--keep",
        "2",
        "--no-progress",
        "--log",
        str(log),
        "-o",
        str(out),
        *extra,
    ]


def _kill_during_save(tmp, where: str, ckpt) -> None:
    """Starts the CLI in a subprocess, waits until it is inside the epoch-2 save, SIGKILLs it."""
    marker = tmp / f"inside-save-{where}"
    argv = _args(tmp, tmp / f"never-{where}.onnx", tmp / f"never-{where}.json", ckpt)
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOOK, str(marker), where, *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        guard = time.monotonic() + 120  # a guard against a hang, not a timing assertion
        while not marker.exists() and proc.poll() is None and time.monotonic() < guard:
            time.sleep(0.01)
        assert marker.exists(), f"the run never reached the save: {proc.poll()}"
    finally:
        proc.kill()  # SIGKILL
        _, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, err.decode()
    assert not (tmp / f"never-{where}.onnx").exists()


def _initializers(path) -> dict[str, np.ndarray]:
    model = onnx.load(str(path))
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_run_killed_during_a_save_resumes_bit_identical(workspace, where):
    tmp = workspace
    ckpt = tmp / f"ckpt-{where}"
    _kill_during_save(tmp, where, ckpt)
    on_disk = sorted(p.name for p in ckpt.iterdir())
    if where == "before":  # the epoch-2 save never completed: epoch 1 is the newest checkpoint
        assert on_disk[-1] == "epoch-000001.npz"
        assert any(n.startswith(".partial-") for n in on_disk)
    else:
        assert on_disk == ["epoch-000001.npz", "epoch-000002.npz"]

    out, log = tmp / f"resumed-{where}.onnx", tmp / f"resumed-{where}.json"
    assert main(_args(tmp, out, log, ckpt, "--resume")) == 0

    straight, resumed = _initializers(tmp / "straight.onnx"), _initializers(out)
    assert straight.keys() == resumed.keys()
    for name, value in straight.items():  # weights and BatchNorm's running statistics
        np.testing.assert_array_equal(resumed[name], value, err_msg=name)
    assert json.loads(log.read_text()) == json.loads((tmp / "straight.json").read_text())
    assert sorted(p.name for p in ckpt.iterdir()) == ["epoch-000003.npz", "epoch-000004.npz"]
