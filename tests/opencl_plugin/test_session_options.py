"""The OpenCL backend's session options: `device` and `precision` per session
(`backend_options={"opencl": {...}}`, or provider options), the environment variables as
defaults, typed errors for a wrong device or value."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.opencl_plugin import device as device_mod
from gossamer.plugins import BackendOptionError
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer


def mul_graph() -> Graph:
    """y = relu(x * x) + x: the product rounds differently under fp16 storage."""
    return Graph(
        nodes=[
            Node("Mul", ["x", "x"], ["m"], name="mul"),
            Node("Relu", ["m"], ["r"], name="relu"),
            Node("Add", ["r", "x"], ["y"], name="add"),
        ],
        inputs=[Value("x", "float32", (4, 16))],
        outputs=[Value("y")],
        opsets={"": 17},
    )


def _x() -> np.ndarray:
    return np.random.default_rng(3).uniform(-3, 3, (4, 16)).astype(np.float32) + np.float32(1e-3)


def _runtime(sess: gossamer.Session):
    (impl,) = [o.impl for o in sess._program.overrides.values() if o.partition]
    return impl


def test_two_sessions_in_one_process_run_side_by_side_in_two_precisions(device):
    graph, x = mul_graph(), _x()
    want = np.maximum(x * x, 0) + x
    half = gossamer.load(
        graph, backends=["opencl"], optimize=0, backend_options={"opencl": {"precision": "fp16"}}
    )
    full = gossamer.load(
        graph, backends=["opencl"], optimize=0, backend_options={"opencl": {"precision": "fp32"}}
    )
    assert set(half.placement.backend_of.values()) == {"opencl"}
    for _ in range(2):  # interleaved: neither session's options leak into the other
        y16 = half.run(None, {"x": x})[0]
        y32 = full.run(None, {"x": x})[0]
        np.testing.assert_allclose(y32, want, rtol=1e-6)
        assert not np.array_equal(y16, y32)  # half storage rounds x and the result
        np.testing.assert_allclose(y16, want, rtol=4e-3, atol=1e-3)
    assert _runtime(half).half and not _runtime(full).half


def test_the_option_overrides_the_environment_precision(device, monkeypatch):
    monkeypatch.setenv("GOSSAMER_OPENCL_PRECISION", "fp16")
    env = gossamer.load(mul_graph(), backends=["opencl"], optimize=0)
    opt = gossamer.load(
        mul_graph(),
        backends=["opencl"],
        optimize=0,
        backend_options={"opencl": {"precision": "FP32"}},
    )
    assert _runtime(env).half and not _runtime(opt).half


@pytest.mark.parametrize("choice", ["0:0", " 0:0 ", "pthread", "PORTABLE COMPUTING"])
def test_the_device_is_chosen_per_session_by_index_or_name(device, choice):
    want = device_mod.open_device("0:0")
    sess = gossamer.load(
        mul_graph(), backends=["opencl"], optimize=0, backend_options={"opencl": {"device": choice}}
    )
    assert _runtime(sess).device is want  # one context per physical device, however named
    np.testing.assert_allclose(sess.run(None, {"x": _x()})[0], np.maximum(_x() ** 2, 0) + _x())


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        ("7:3", "OpenCL device '7:3': no such device; devices: 0:0 "),
        ("no such device anywhere", "matches no device; devices: 0:0 "),
        ("", r"bad value '' \(empty device name\)"),
        (["0:0"], "bad value .*a device is a string"),
    ],
)
def test_a_wrong_device_is_a_typed_error_listing_the_devices(device, choice, message):
    with pytest.raises(BackendOptionError, match=message):
        gossamer.load(
            mul_graph(),
            backends=["opencl"],
            optimize=0,
            backend_options={"opencl": {"device": choice}},
        )


def test_bad_precision_and_undeclared_options_are_typed_errors(device):
    with pytest.raises(BackendOptionError, match=r"bad value 'fp8'; precision \(one of fp32, fp16"):
        gossamer.load(
            mul_graph(),
            backends=["opencl"],
            optimize=0,
            backend_options={"opencl": {"precision": "fp8"}},
        )
    with pytest.raises(BackendOptionError, match="'opencl-fp16' has no option 'precision'"):
        gossamer.load(
            mul_graph(),
            backends=["opencl-fp16"],
            optimize=0,
            backend_options={"opencl-fp16": {"precision": "fp32"}},
        )
    with pytest.raises(BackendOptionError, match="'opencl', which is not in this session"):
        gossamer.load(mul_graph(), backends=[], optimize=0, backend_options={"opencl": {}})


def test_opencl_fp16_takes_a_device(device):
    sess = gossamer.load(
        mul_graph(),
        backends=["opencl-fp16"],
        optimize=0,
        backend_options={"opencl-fp16": {"device": "0:0"}},
    )
    assert _runtime(sess).half


def test_provider_options_choose_device_and_precision(device):
    graph, x = mul_graph(), _x()
    sess = gossamer.InferenceSession(
        graph, providers=[("opencl", {"device": "0:0", "precision": "fp16"})]
    )
    assert sess.get_providers() == ["opencl", "reference"]
    assert _runtime(sess.session).half
    np.testing.assert_allclose(
        sess.run(None, {"x": x})[0], np.maximum(x * x, 0) + x, rtol=4e-3, atol=1e-3
    )
    with pytest.raises(BackendOptionError, match="no such device"):
        gossamer.InferenceSession(graph, providers=[("opencl", {"device": "3:0"})])


def test_a_wrong_environment_device_still_says_which_variable(device, monkeypatch):
    from gossamer.plugins.manager import BackendSelectionError

    monkeypatch.setenv("GOSSAMER_OPENCL_DEVICE", "5:5")
    with pytest.raises(BackendSelectionError, match="GOSSAMER_OPENCL_DEVICE: OpenCL device '5:5'"):
        gossamer.load(mul_graph(), backends=["opencl"], optimize=0)


def test_the_cli_takes_backend_options(device, tmp_path, capsys):
    from gossamer.cli import main
    from tests.conftest import make_model, tensor_info

    onnx = pytest.importorskip("onnx")
    model = make_model(
        [onnx.helper.make_node("Relu", ["x"], ["y"], name="relu")],
        [tensor_info("x", np.float32, [2, 3])],
        [tensor_info("y", np.float32, [2, 3])],
    )
    path = tmp_path / "relu.onnx"
    path.write_bytes(model.SerializeToString())
    args = ["explain", str(path), "--backends", "opencl"]
    assert main([*args, "--backend-option", "opencl.precision=fp16",
                 "--backend-option", "opencl.device=0:0"]) == 0  # fmt: skip
    assert "opencl" in capsys.readouterr().out
    assert main(["run", str(path), "--random", "--backends", "opencl",
                 "--backend-option", "opencl.device=0:0"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main([*args, "--backend-option", "opencl.colour=blue"]) == 2
    assert "'opencl' has no option 'colour'; accepted: device" in capsys.readouterr().err
    assert main([*args, "--backend-option", "opencl.device=4:4"]) == 2
    assert "OpenCL device '4:4': no such device" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*args, "--backend-option", "opencl-device"])
    assert "expected BACKEND.OPTION=VALUE" in capsys.readouterr().err
