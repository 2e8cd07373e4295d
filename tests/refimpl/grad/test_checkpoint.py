"""Checkpoints are written atomically: a process killed with SIGKILL while saving leaves only
complete checkpoints under checkpoint names."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from gossamer.refimpl.errors import ModelFormatError
from gossamer.refimpl.grad.checkpoint import checkpoints, load_checkpoint, prune, save_checkpoint


def test_a_checkpoint_round_trips_arrays_and_meta(tmp_path):
    arrays = {"w/a": np.arange(6, dtype=np.float32).reshape(2, 3), "opt/steps": np.array(4)}
    path = save_checkpoint(tmp_path, 2, arrays, {"epochs_done": 2, "history": {"loss": [1.5]}})
    assert path.name == "epoch-000002.npz"
    got, meta = load_checkpoint(path)
    assert meta == {"epochs_done": 2, "history": {"loss": [1.5]}}
    assert got.keys() == arrays.keys()
    np.testing.assert_array_equal(got["w/a"], arrays["w/a"])


def test_prune_keeps_the_newest(tmp_path):
    for epoch in range(1, 5):
        save_checkpoint(tmp_path, epoch, {"x": np.zeros(1)}, {})
    prune(tmp_path, 2)
    assert [p.name for p in checkpoints(tmp_path)] == ["epoch-000003.npz", "epoch-000004.npz"]


def test_a_damaged_checkpoint_is_a_typed_error(tmp_path):
    bad = tmp_path / "epoch-000001.npz"
    bad.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ModelFormatError, match="cannot be read"):
        load_checkpoint(bad)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_during_saves_leaves_only_complete_checkpoints(tmp_path):
    script = textwrap.dedent(f"""
        import numpy as np
        from gossamer.refimpl.grad.checkpoint import save_checkpoint
        for epoch in range(1, 10_000):
            big = np.full(2_000_000, epoch, dtype=np.float32)  # 8 MB: a save takes a while
            save_checkpoint({str(tmp_path)!r}, epoch, {{"w": big}}, {{"epochs_done": epoch}})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while len(checkpoints(tmp_path)) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.013)  # most likely in the middle of the next save
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    found = checkpoints(tmp_path)
    assert len(found) >= 3
    for path in found:
        arrays, meta = load_checkpoint(path)
        assert int(path.stem.split("-")[1]) == meta["epochs_done"]
        assert (arrays["w"] == meta["epochs_done"]).all() and arrays["w"].size == 2_000_000
