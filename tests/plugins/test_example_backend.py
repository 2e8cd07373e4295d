"""The example backend package (examples/gossamer_example_backend): in-process, then pip-installed.

The in-process tests register its module as a plugin; the install test builds it with pip into a
temporary folder and runs the CLI in a subprocess that finds it by its entry point only.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
from gossamer.refimpl.ir import Graph, Node, Value
from onnx import helper, numpy_helper

import gossamer
from tests.conftest import make_model, tensor_info

PACKAGE = Path(__file__).parents[2] / "examples" / "gossamer_example_backend"


@pytest.fixture(scope="module")
def example_module():
    sys.path.insert(0, str(PACKAGE))
    try:
        import gossamer_example_backend

        yield gossamer_example_backend
    finally:
        sys.path.remove(str(PACKAGE))
        for name in [m for m in sys.modules if m.startswith("gossamer_example_backend")]:
            del sys.modules[name]


@pytest.fixture
def example(example_module, use_plugin):
    use_plugin(example_module, "example")
    return example_module


def mlp_model():
    """x -> MatMul(W) -> Add(bias) -> Relu -> Add(r, r) -> y, float32."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((4, 3)).astype(np.float32), "W")
    bias = numpy_helper.from_array(rng.standard_normal(3).astype(np.float32), "bias")
    return make_model(
        [
            helper.make_node("MatMul", ["x", "W"], ["mm"], name="matmul"),
            helper.make_node("Add", ["mm", "bias"], ["s"], name="bias_add"),
            helper.make_node("Relu", ["s"], ["r"], name="relu"),
            helper.make_node("Add", ["r", "r"], ["y"], name="double"),
        ],
        [tensor_info("x", np.float32, [2, 4])],
        [tensor_info("y", np.float32, [2, 3])],
        [w, bias],
    )


def test_example_places_fused_chain_and_kernels(example):
    placement = gossamer.load(mlp_model().SerializeToString(), optimize=0).placement
    assert placement.backend_of == {
        "matmul": "example_fused",
        "bias_add": "example_fused",
        "relu": "example",
        "double": "example",
    }


def test_example_matches_the_reference(example):
    model = mlp_model().SerializeToString()
    x = np.random.default_rng(1).standard_normal((2, 4)).astype(np.float32)
    (got,) = gossamer.load(model).run(None, {"x": x})
    (want,) = gossamer.load(model, backends=[]).run(None, {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_example_declines_other_dtypes_and_broadcasting_with_reasons(example):
    graph = Graph(
        nodes=[
            Node("Relu", ["x"], ["r"], name="relu64"),
            Node("Add", ["f", "row"], ["y"], name="broadcast_add"),
        ],
        inputs=[Value("x", "float64", (2, 3)), Value("f", "float32", (2, 3))],
        outputs=[Value("r"), Value("y")],
        initializers={"row": np.ones(3, np.float32)},
        opsets={"": 17},
    )
    placement = gossamer.load(graph, optimize=0).placement
    assert set(placement.backend_of.values()) == {"reference"}
    assert placement.declined["relu64"]["example"].startswith("dtype float64 not supported")
    assert placement.declined["broadcast_add"]["example"] == (
        "broadcasting or unknown shapes not supported"
    )


def _pip_can_build() -> str | None:
    if importlib.util.find_spec("setuptools") is None:
        return "setuptools is not installed (needed to build without network)"
    if int(version("setuptools").split(".")[0]) < 77:
        return "the example's pyproject.toml needs setuptools >= 77 (SPDX license string)"
    if importlib.util.find_spec("pip") is None:
        return "pip is not installed"
    return None


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, capture_output=True, text=True, env=env, cwd=cwd, timeout=120, check=False
    )


@pytest.mark.slow
@pytest.mark.skipif(_pip_can_build() is not None, reason=str(_pip_can_build()))
def test_installed_example_is_found_by_entry_point_and_takes_nodes(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("*.egg-info", "build"))
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation"]
    pip += ["--no-index", "--quiet", "--target", str(target), str(source)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOSSAMER_")}
    installed = _run(pip, env, tmp_path)
    assert installed.returncode == 0, installed.stderr[-3000:]

    env["PYTHONPATH"] = str(target)
    cli = [sys.executable, "-m", "gossamer.cli"]
    listed = _run([*cli, "backends"], env, tmp_path)
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]
    assert {"example", "example_fused", "reference"} <= set(names), listed.stdout

    model = tmp_path / "mlp.onnx"
    model.write_bytes(mlp_model().SerializeToString())
    explain = [*cli, "explain", str(model), "--backends", "example,example_fused", "-O", "0"]
    explained = _run(explain, env, tmp_path)
    assert explained.returncode == 0, explained.stderr
    rows = {line.split()[0]: line.split() for line in explained.stdout.splitlines() if line}
    assert rows["relu"][1:3] == ["Relu", "example"]
    assert rows["matmul"][1:3] == ["MatMul", "example_fused"]
    assert "summary: 4 nodes; example: 2 node(s)" in explained.stdout

    # The vendor's proof: the installed package passes the conformance suite on what it claims.
    for backend, ops in (("example", "Relu,Add"), ("example_fused", "graph:mlp")):
        conformance = [*cli, "conformance", "--backend", backend, "--ops", ops, "-q"]
        conformance += ["--max-examples", "5", "--report", str(tmp_path / f"{backend}.json")]
        checked = _run(conformance, env, tmp_path)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        cells = json.loads((tmp_path / f"{backend}.json").read_text())["cells"]
        assert any(c["status"] == "pass" for c in cells), cells
