"""Arm's Vela compiler reads the exported int8 files as it reads the originals: the same
operators go to the NPU."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gossamer.converter.tflite_export import export_tflite

from gossamer.session import read_model
from tests.converter.tflite_export.int8_models import branchy_model, cnn_model

VELA = shutil.which("vela") or str(Path(sys.executable).parent / "vela")
pytestmark = pytest.mark.skipif(not Path(VELA).is_file(), reason="ethos-u-vela not installed")


def _split(model: Path, out: Path) -> tuple[int, int]:
    """(NPU operators, CPU operators) of Vela's summary."""
    done = subprocess.run([VELA, str(model), "--output-dir", str(out)], capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    counts = dict(re.findall(r"(NPU|CPU) operators = (\d+)", done.stdout))
    return int(counts["NPU"]), int(counts["CPU"])


@pytest.mark.parametrize("build", [cnn_model, branchy_model])
def test_vela_puts_the_same_operators_on_the_npu_from_the_exported_file(build, tmp_path):
    original, exported = tmp_path / "original.tflite", tmp_path / "exported.tflite"
    original.write_bytes(build())
    exported.write_bytes(export_tflite(read_model(build())))
    want = _split(original, tmp_path / "a")
    assert want[0] > 0 and _split(exported, tmp_path / "b") == want
