"""`gossamer compare --against litert`: a .tflite model's intermediates against LiteRT's."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tflite")
pytest.importorskip("ai_edge_litert")

from gossamer.plugins import KernelBackend, hookimpl, kernel  # noqa: E402
from gossamer.plugins import manager as plugin_manager  # noqa: E402
from gossamer.refimpl.errors import InputError  # noqa: E402
from gossamer.refimpl.ops.op_mul import mul_7  # noqa: E402
from gossamer.tools.first_divergence import compare_model  # noqa: E402
from gossamer.tools.litert_intermediates import run_litert  # noqa: E402

from gossamer.cli import main  # noqa: E402
from gossamer.session import load  # noqa: E402
from tests.conftest import MODELS_DIR, make_model, tensor_info  # noqa: E402
from tests.converter.tflite_models import FLOAT32, Op, Spec, T, build_model  # noqa: E402
from tests.tools.test_first_divergence import BiasedConv as _BiasedConv  # noqa: E402

CONV_2D, MUL, RELU = 3, 18, 1


class BiasedConv(_BiasedConv):
    """Planted bug: the Conv bias is off by 0.05 (test_first_divergence's, under its own name)."""

    name = "litert_biased_conv"


class OffMul(KernelBackend):
    """Planted bug: every Mul output is 1e-2 too high."""

    name = "litert_off_mul"
    priority = 10

    @kernel(mul_7)
    def mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return mul_7(a, b) + np.asarray(1e-2, a.dtype)


class _Registers:
    def __init__(self, backend):
        self.backend = backend

    @hookimpl
    def gossamer_register_backends(self, register):
        register(self.backend)


@pytest.fixture(autouse=True)
def planted_backends():
    names = []
    for backend in (BiasedConv(), OffMul()):
        name = f"test_compare_litert_{backend.name}"
        plugin_manager.register_plugin(_Registers(backend), name)
        names.append(name)
    yield
    for name in names:
        plugin_manager.unregister_plugin(name)


def conv_mul_model() -> bytes:
    """x[1,6,6,3] -> CONV_2D (3x3 SAME, fused RELU) -> h[1,6,6,4] -> MUL by c -> y."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    c = rng.standard_normal((1, 1, 1, 4)).astype(np.float32)
    conv = ("Conv2DOptions", {"padding": 0, "stride_w": 1, "stride_h": 1,
                              "fused_activation_function": RELU})  # fmt: skip
    return build_model(Spec(
        [T("serving_default_x:0", FLOAT32, (1, 6, 6, 3)), T("w", FLOAT32, w.shape, w),
         T("b", FLOAT32, (4,), b), T("h", FLOAT32, (1, 6, 6, 4)), T("c", FLOAT32, c.shape, c),
         T("StatefulPartitionedCall:0", FLOAT32, (1, 6, 6, 4))],
        [Op(CONV_2D, [0, 1, 2], [3], conv), Op(MUL, [3, 4], [5])],
        [0], [5],
    ))  # fmt: skip


def feeds_for(model) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    sess = load(model, optimize=0)
    return {
        v.name: rng.standard_normal([d if isinstance(d, int) else 1 for d in v.shape]).astype(
            np.float32
        )
        for v in sess.inputs
    }


def test_small_model_agrees_and_skips_synthesized_values():
    model = conv_mul_model()
    result = compare_model(model, feeds_for(model), backends=[], against="litert", optimize=0)
    assert result.agrees, result.format()
    assert result.side_b == "litert"
    # the two operator outputs compared, in TFLite's NHWC layout; the importer's transposes and
    # the conv result before its fused Relu have no LiteRT tensor
    assert [(v.value, v.op_type) for v in result.values] == [
        ("h", "CONV_2D"), ("StatefulPartitionedCall:0", "MUL"),
    ]  # fmt: skip
    assert len(result.skipped) == 3
    assert all(v.diff.max_abs < 1e-5 for v in result.values)


def test_planted_conv_bug_named_at_the_conv_operator():
    model = conv_mul_model()
    feeds = feeds_for(model)
    result = compare_model(model, feeds, backends=["litert_biased_conv"], against="litert",
                           optimize=0)  # fmt: skip
    assert not result.agrees
    first = result.first
    assert (first.value, first.op_type) == ("h", "CONV_2D")
    assert "litert_biased_conv" in first.ran_on
    assert first.diff.max_abs == pytest.approx(0.05, rel=1e-3)
    # the whole operator (transpose, conv, relu, transpose) replayed on LiteRT's input still
    # diverges: the operator itself computes differently
    assert result.local is not None and result.local.diverges, result.local_note
    assert result.input_notes == [
        "serving_default_x:0: float32[1, 6, 6, 3] identical on both sides"
    ]


def test_planted_mul_bug_replayed_and_repro_written(tmp_path):
    model = conv_mul_model()
    result = compare_model(model, feeds_for(model), backends=["litert_off_mul"], against="litert",
                           optimize=0, repro_dir=tmp_path / "repro")  # fmt: skip
    assert result.first is not None and result.first.op_type == "MUL"
    assert result.first.value == "StatefulPartitionedCall:0"
    assert result.local is not None and result.local.diverges
    assert (tmp_path / "repro" / "node.gsm").is_file()


def test_cli_exit_codes(tmp_path, capsys):
    path = tmp_path / "m.tflite"
    path.write_bytes(conv_mul_model())
    out = str(tmp_path / "out")
    assert main(["compare", str(path), "--against", "litert", "-o", out]) == 0
    assert "vs litert" in capsys.readouterr().out
    assert main(["compare", str(path), "--against", "litert", "--backend",
                 "litert_biased_conv", "-o", out]) == 1  # fmt: skip
    text = capsys.readouterr().out
    assert "FIRST DIVERGENCE" in text and "(CONV_2D)" in text


def test_non_tflite_model_is_a_one_line_error(tmp_path, capsys):
    from onnx import helper

    onnx_path = tmp_path / "m.onnx"
    model = make_model([helper.make_node("Relu", ["x"], ["y"])],
                       [tensor_info("x", shape=[2])], [tensor_info("y", shape=[2])])  # fmt: skip
    onnx_path.write_bytes(model.SerializeToString())
    assert main(["compare", str(onnx_path), "--against", "litert"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "--against litert needs a TFLite (.tflite) model" in err
    with pytest.raises(InputError, match="needs a TFLite"):
        run_litert(str(onnx_path), {})


def test_missing_litert_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    import sys

    path = tmp_path / "m.tflite"
    path.write_bytes(conv_mul_model())
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)  # import fails as if not installed
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    assert main(["compare", str(path), "--against", "litert"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "needs the ai_edge_litert package" in err


REAL = {  # model -> the --shape of its symbolic input dims (none: declared)
    "mp_face_detection_short_range.tflite": {},
    "mp_hand_landmark_lite.tflite": {},
    "oww_embedding.tflite": {},
    "oww_melspectrogram.tflite": {"serving_default_input:0": (1, 1280)},
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_float_models_agree_with_litert(name):
    path = MODELS_DIR / name
    if not path.is_file():
        pytest.skip(f"{name} not in {MODELS_DIR}")
    sess = load(str(path), optimize=0)
    rng = np.random.default_rng(0)
    feeds = {}
    for v in sess.inputs:
        shape = REAL[name].get(v.name) or [d if isinstance(d, int) else 1 for d in v.shape]
        feeds[v.name] = rng.standard_normal(shape).astype(np.float32)
    result = compare_model(str(path), feeds, against="litert", session=sess)
    assert result.agrees, result.format()
    # every operator output LiteRT keeps is compared: at least one value per TFLite operator
    # that writes a float tensor, and more values compared than a handful
    assert len(result.values) >= 20
    assert all(v.op_type.isupper() for v in result.values)  # named by their TFLite operator
