"""`gossamer crop`: its errors, and end to end: a cropped wheel installed into a fresh virtualenv
runs its model exactly as the full build does and refuses another model with the re-crop command.
"""

import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
import types
from pathlib import Path

import numpy as np
import pytest
from gossamer.cython_kernels._native import IMPORT_ERROR
from gossamer.refimpl import cropped_build
from gossamer.tools.cropper.wheel_build import link_dependencies

import gossamer
from gossamer.cli import main
from tests.tools._crop_models import add_relu, matmul


def test_crop_needs_an_output_folder(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["crop", "m.onnx"])
    assert exit_.value.code == 2
    assert "-o/--output" in capsys.readouterr().err


def test_crop_of_a_missing_model_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["crop", str(tmp_path / "nope.onnx"), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gossamer crop: error: model file") and "does not exist" in err


def test_preoptimized_crop_refuses_models_that_are_not_gsm(tmp_path, capsys):
    model = add_relu(tmp_path / "m.onnx")
    assert main(["crop", str(model), "-o", str(tmp_path / "out"), "--preoptimized"]) == 2
    err = capsys.readouterr().err
    assert "--preoptimized" in err and "m.onnx" in err and "gossamer optimize" in err
    assert not (tmp_path / "out" / "source").exists()


@pytest.fixture
def cropped(monkeypatch):
    """This process posing as a cropped build (a stand-in crop manifest)."""
    manifest = types.ModuleType("gossamer.refimpl._crop_manifest")
    manifest.MODELS = ["a.onnx"]
    manifest.COMMAND = ["gossamer", "crop", "/m/a.onnx", "MODEL", "-o", "out"]
    manifest.OMITTED_OPS = []
    manifest.OPTIMIZER = True
    monkeypatch.setitem(sys.modules, "gossamer.refimpl._crop_manifest", manifest)
    cropped_build.manifest.cache_clear()
    yield manifest
    cropped_build.manifest.cache_clear()


def test_cropped_cli_says_the_conformance_suite_is_left_out(cropped, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "gossamer.conformance.cli", None)  # as if not installed
    assert exit_code(["conformance", "--backend", "cython"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gossamer conformance: error: gossamer conformance (the conformance")
    assert "not part of this cropped build" in err and "a.onnx" in err


def test_cropped_cli_says_a_tool_is_left_out(cropped, monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "gossamer.tools.first_divergence", None)
    assert main(["compare", str(add_relu(tmp_path / "m.onnx")), "--random"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gossamer compare: error: gossamer.tools.first_divergence (this")
    assert "use the full gossamer" in err and len(err.strip().splitlines()) == 1


def exit_code(argv):
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


def _fresh_venv(folder: Path, wheel: Path, deps: Path) -> Path:
    """A virtualenv without pip or system packages, the wheel installed by this environment's
    pip (no index, no dependencies), and a .pth that adds a folder of links to this
    environment's numpy, pluggy, ml_dtypes and onnx (so no network is needed)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    subprocess.run([*pip, "--no-deps", "--no-index", str(wheel)], check=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(folder)}))
    (site / "_crop_test_deps.pth").write_text(str(deps) + "\n")
    return python


_RUN = r"""
import json, sys
import numpy as np
import gossamer
model, other, out = sys.argv[1:]
session = gossamer.load(model)
x = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
np.save(out, session.run(None, {"x": x})[0])
try:
    gossamer.load(other)
    error = None
except gossamer.CroppedBuildError as err:
    error = {"missing": err.missing, "command": err.command, "text": str(err)}
print(json.dumps({"module": gossamer.__file__, "placed": session.placement.summary(),
                  "error": error}))
"""


@pytest.mark.slow  # about 45 s on 2 idle cores: most of it compiles two C kernel families
@pytest.mark.skipif(IMPORT_ERROR is not None, reason="the cython backend is not built here")
@pytest.mark.skipif(importlib.util.find_spec("Cython") is None, reason="needs Cython")
def test_cropped_wheel_in_a_fresh_venv_runs_like_the_full_build(tmp_path, capsys):
    model, other = add_relu(tmp_path / "add_relu.onnx"), matmul(tmp_path / "matmul.onnx")
    out = tmp_path / "crop"
    argv = ["crop", str(model), "-o", str(out), "--wheel", "--strip", "--repeats", "1"]
    assert main(argv) == 0
    assert "identical to the full build" in capsys.readouterr().out
    report = json.loads((out / "crop_report.json").read_text())
    assert report["identical_outputs"] and report["kernel_tables"] == ["elementwise_kernels"]
    assert report["cropped"]["installed_bytes"] < report["full"]["installed_bytes"]
    assert 0 < report["cropped"]["extension_bytes"] < report["full"]["extension_bytes"] / 2
    (wheel,) = out.glob("gossamer-*.whl")

    deps = link_dependencies(tmp_path / "deps", ["numpy", "pluggy", "ml_dtypes", "onnx"])
    python = _fresh_venv(tmp_path / "venv", wheel, deps)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOSSAMER_", "PYTHON"))}
    done = subprocess.run(
        [str(python), "-c", _RUN, str(model), str(other), str(tmp_path / "y.npy")],
        env=env, cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["module"].startswith(str(tmp_path / "venv"))
    assert result["placed"] == {"cython": 2}  # the cropped extension runs both nodes

    full = gossamer.load(model, backends=["cython", "reference"])
    x = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    expected = full.run(None, {"x": x})[0]
    assert np.load(tmp_path / "y.npy").tobytes() == expected.tobytes()

    error = result["error"]
    assert error["missing"] == ["ai.onnx::MatMul"]
    assert error["command"] == f"gossamer crop {model} {other} -o {out} --strip --wheel"
    assert error["command"] in error["text"]

    site = Path(result["module"]).parent
    assert not (site / "refimpl" / "ops" / "op_mat_mul.py").exists()
    assert not (site / "tools").exists() and not (site / "conformance").exists()

    cli = subprocess.run(
        [str(python.parent / "gossamer"), "run", str(other), "--random"],
        env=env, cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert cli.returncode == 2
    assert cli.stderr.startswith("gossamer run: error: model 'test' uses 1 op(s) this cropped")
    assert "Traceback" not in cli.stderr
