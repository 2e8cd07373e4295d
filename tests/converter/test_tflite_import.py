"""TFLite float import against LiteRT: single-op models written here (run by LiteRT's reference
kernels), and the shared float models (run by LiteRT's default, XNNPACK, kernels)."""

import numpy as np
import pytest

pytest.importorskip("tflite")

from gossamer.converter.tflite.ops_conv import same_pads  # noqa: E402

import gossamer  # noqa: E402
from tests.conftest import MODELS_DIR  # noqa: E402
from tests.converter.tflite_models import FLOAT32, INT32, Op, Spec, T, build_model  # noqa: E402

litert = pytest.importorskip("ai_edge_litert.interpreter")
BuiltinOperator = pytest.importorskip("tflite").BuiltinOperator

FLOAT_MODELS = {
    "mp_face_detection_short_range.tflite": None,
    "mp_hand_landmark_lite.tflite": None,
    "oww_embedding.tflite": None,
    "oww_melspectrogram.tflite": [1, 1280],  # dynamic [-1, -1] input: one 80 ms frame of audio
}
RELU, RELU_N1_TO_1, RELU6, TANH = 1, 2, 3, 4
SAME, VALID = 0, 1


def _litert(model: bytes | str, feeds: dict, reference: bool, shape=None) -> list[np.ndarray]:
    kwargs = {}
    if reference:
        kwargs["experimental_op_resolver_type"] = litert.OpResolverType.BUILTIN_REF
    source = {"model_content": model} if isinstance(model, bytes) else {"model_path": model}
    it = litert.Interpreter(**source, **kwargs)
    details = it.get_input_details()
    if shape is not None:
        it.resize_tensor_input(details[0]["index"], shape)
    it.allocate_tensors()
    for d in details:
        it.set_tensor(d["index"], feeds[d["name"]])
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def _compare(ours, theirs, rtol=1e-3, atol=1e-4):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape and a.dtype == b.dtype
        scale = max(1.0, float(np.abs(b).max(initial=0.0)))
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol * scale)


def _single_op(code, x_shape, out_shape, consts=(), options=None, extra_inputs=()) -> bytes:
    """x (float32 input) [+ extra float inputs] + constants -> one op -> y."""
    tensors = [T("serving_default_x:0", FLOAT32, x_shape)]
    tensors += [T(f"serving_default_x{i + 1}:0", FLOAT32, s) for i, s in enumerate(extra_inputs)]
    n_in = len(tensors)
    for i, value in enumerate(consts):
        value = np.asarray(value)
        dtype = INT32 if value.dtype.kind in "iu" else FLOAT32
        value = value.astype(np.int32 if dtype == INT32 else np.float32)
        tensors.append(T(f"const_{i}", dtype, value.shape, value))
    tensors.append(T("Identity", FLOAT32, out_shape))
    op = Op(code, list(range(len(tensors) - 1)), [len(tensors) - 1], options)
    return build_model(Spec(tensors, [op], list(range(n_in)), [len(tensors) - 1]))


def _check(model: bytes, optimize: int = 0, reference: bool = True) -> None:
    sess = gossamer.load(model, optimize=optimize)
    rng = np.random.default_rng(0)
    feeds = {v.name: rng.standard_normal(v.shape).astype(np.float32) * 3 for v in sess.inputs}
    theirs = _litert(model, feeds, reference=reference)
    _compare(sess.run(None, feeds), theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "dilation", "expected"),
    [(7, 3, 2, 1, (1, 1)), (8, 3, 2, 1, (0, 1)), (5, 4, 1, 1, (1, 2)), (6, 3, 1, 2, (2, 2)),
     (4, 1, 3, 1, (0, 0))],
)  # fmt: skip
def test_same_padding_matches_tflite_formula(size, kernel, stride, dilation, expected):
    assert same_pads(size, kernel, stride, dilation) == expected


@pytest.mark.parametrize("padding", [SAME, VALID])
@pytest.mark.parametrize(("stride", "dilation"), [(1, 1), (2, 1), (1, 2)])
@pytest.mark.parametrize("activation", [0, RELU6, RELU_N1_TO_1, TANH])
def test_conv_2d(padding, stride, dilation, activation):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 3, 2, 3)).astype(np.float32)
    h, wd = 9, 8
    eff_h, eff_w = (3 - 1) * dilation + 1, (2 - 1) * dilation + 1
    if padding == SAME:
        oh, ow = -(-h // stride), -(-wd // stride)
    else:
        oh, ow = (h - eff_h) // stride + 1, (wd - eff_w) // stride + 1
    options = ("Conv2DOptions", {"padding": padding, "stride_w": stride, "stride_h": stride,
               "dilation_w_factor": dilation, "dilation_h_factor": dilation,
               "fused_activation_function": activation})  # fmt: skip
    model = _single_op(BuiltinOperator.CONV_2D, (1, h, wd, 3), (1, oh, ow, 4),
                       [w, rng.standard_normal(4)], options)  # fmt: skip
    _check(model)


@pytest.mark.parametrize("multiplier", [1, 2])
@pytest.mark.parametrize("padding", [SAME, VALID])
def test_depthwise_conv_2d(multiplier, padding):
    rng = np.random.default_rng(2)
    c = 3
    w = rng.standard_normal((1, 3, 3, c * multiplier)).astype(np.float32)
    oh, ow = (4, 5) if padding == SAME else (3, 4)
    options = ("DepthwiseConv2DOptions", {"padding": padding, "stride_w": 2, "stride_h": 2,
               "depth_multiplier": multiplier, "fused_activation_function": RELU})  # fmt: skip
    model = _single_op(BuiltinOperator.DEPTHWISE_CONV_2D, (1, 7, 9, c), (1, oh, ow, c * multiplier),
                       [w, rng.standard_normal(c * multiplier)], options)  # fmt: skip
    _check(model)


@pytest.mark.parametrize("code", ["MAX_POOL_2D", "AVERAGE_POOL_2D"])
@pytest.mark.parametrize("padding", [SAME, VALID])
def test_pooling(code, padding):
    oh, ow = (3, 4) if padding == SAME else (2, 3)
    options = ("Pool2DOptions", {"padding": padding, "stride_w": 2, "stride_h": 2,
               "filter_width": 3, "filter_height": 3})  # fmt: skip
    _check(_single_op(getattr(BuiltinOperator, code), (1, 6, 8, 2), (1, oh, ow, 2), (), options))


@pytest.mark.parametrize("keep_num_dims", [False, True])
def test_fully_connected(keep_num_dims):
    rng = np.random.default_rng(3)
    out = (2, 3, 5) if keep_num_dims else (6, 5)
    options = ("FullyConnectedOptions",
               {"fused_activation_function": RELU, "keep_num_dims": keep_num_dims})  # fmt: skip
    model = _single_op(BuiltinOperator.FULLY_CONNECTED, (2, 3, 4), out,
                       [rng.standard_normal((5, 4)), rng.standard_normal(5)], options)  # fmt: skip
    _check(model)


@pytest.mark.parametrize(("adj_x", "adj_y"), [(False, False), (True, False), (False, True)])
def test_batch_matmul(adj_x, adj_y):
    a = (2, 4, 3) if adj_x else (2, 3, 4)
    b = (5, 4) if adj_y else (4, 5)
    options = ("BatchMatMulOptions", {"adj_x": adj_x, "adj_y": adj_y})
    _check(_single_op(BuiltinOperator.BATCH_MATMUL, a, (2, 3, 5), (), options, [b]))


@pytest.mark.parametrize(
    ("code", "activation"),
    [("ADD", RELU_N1_TO_1), ("SUB", RELU), ("MUL", RELU6), ("DIV", 0), ("MAXIMUM", None),
     ("MINIMUM", None), ("SQUARED_DIFFERENCE", None), ("FLOOR_DIV", None)],
)  # fmt: skip
def test_binary_with_broadcasting(code, activation):
    options = None
    if activation is not None:
        kind = code.capitalize() + "Options"
        options = (kind, {"fused_activation_function": activation})
    _check(_single_op(getattr(BuiltinOperator, code), (2, 1, 4), (2, 3, 4), (), options, [(3, 1)]))


@pytest.mark.parametrize(
    "code", ["RELU", "RELU6", "RELU_N1_TO_1", "LOGISTIC", "TANH", "ABS", "NEG", "EXP", "SQUARE",
             "HARD_SWISH", "ELU", "FLOOR", "CEIL", "ROUND", "SIN", "COS", "SIGN"],
)  # fmt: skip
def test_unary(code):
    # LiteRT's reference resolver lacks ELU, CEIL, ROUND: its default kernels are the oracle there
    model = _single_op(getattr(BuiltinOperator, code), (2, 3, 4), (2, 3, 4))
    _check(model, reference=code not in ("ELU", "CEIL", "ROUND"))


def test_round_is_half_to_even_and_pow():
    model = _single_op(BuiltinOperator.ROUND, (6,), (6,))
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 2.4], np.float32)
    (y,) = gossamer.load(model, optimize=0).run(None, {"serving_default_x:0": x})
    np.testing.assert_array_equal(y, _litert(model, {"serving_default_x:0": x}, reference=False)[0])
    np.testing.assert_array_equal(y, [0, 2, 2, -0, -2, 2])
    exponent = np.array([2.0, 3.0, 0.5], np.float32)
    model = build_model(Spec(
        [T("x", FLOAT32, (2, 3)), T("a", FLOAT32, (2, 3)), T("e", FLOAT32, (3,), exponent),
         T("y", FLOAT32, (2, 3))],
        [Op(BuiltinOperator.ABS, [0], [1]), Op(BuiltinOperator.POW, [1, 2], [3])], [0], [3],
    ))  # fmt: skip
    _check(model)


def test_leaky_relu_and_log_rsqrt_sqrt():
    options = ("LeakyReluOptions", {"alpha": 0.2})
    _check(_single_op(BuiltinOperator.LEAKY_RELU, (2, 5), (2, 5), (), options))
    for code in ("LOG", "RSQRT", "SQRT"):  # positive inputs
        model = build_model(Spec(
            [T("x", FLOAT32, (2, 5)), T("a", FLOAT32, (2, 5)), T("y", FLOAT32, (2, 5))],
            [Op(BuiltinOperator.ABS, [0], [1]), Op(getattr(BuiltinOperator, code), [1], [2])],
            [0], [2],
        ))  # fmt: skip
        _check(model)


def test_shape_ops():
    cases = [
        (BuiltinOperator.RESHAPE, (2, 3, 4), (6, 4), [np.array([-1, 4])], None),
        (BuiltinOperator.TRANSPOSE, (2, 3, 4), (4, 2, 3), [np.array([2, 0, 1])], None),
        (BuiltinOperator.EXPAND_DIMS, (2, 3), (2, 3, 1), [np.array([-1])], None),
        (BuiltinOperator.SQUEEZE, (2, 1, 3, 1), (2, 3, 1), [], ("SqueezeOptions",
                                                               {"squeeze_dims": [1]})),
        (BuiltinOperator.SQUEEZE, (2, 1, 3, 1), (2, 3), [], None),
        (BuiltinOperator.PAD, (1, 2, 3, 1), (1, 3, 6, 1),
         [np.array([[0, 0], [1, 0], [2, 1], [0, 0]])], None),
        (BuiltinOperator.MEAN, (1, 4, 5, 3), (1, 1, 1, 3), [np.array([1, 2])],
         ("ReducerOptions", {"keep_dims": True})),
        (BuiltinOperator.SUM, (2, 4, 3), (2, 3), [np.array([-2])], None),
        (BuiltinOperator.REDUCE_MAX, (2, 4, 3), (2, 4), [np.array([2])], None),
        (BuiltinOperator.REDUCE_MIN, (2, 4, 3), (4,), [np.array([0, 2])], None),
        (BuiltinOperator.REDUCE_PROD, (2, 4, 3), (2, 1, 3), [np.array([1])],
         ("ReducerOptions", {"keep_dims": True})),
    ]  # fmt: skip
    for code, x, y, consts, options in cases:
        _check(_single_op(code, x, y, consts, options))


def test_concatenation():
    options = ("ConcatenationOptions", {"axis": -1})
    _check(_single_op(BuiltinOperator.CONCATENATION, (2, 3), (2, 5), (), options, [(2, 2)]))


def test_concatenation_with_fused_activation_is_refused_as_litert_does():
    options = ("ConcatenationOptions", {"axis": -1, "fused_activation_function": RELU})
    model = _single_op(BuiltinOperator.CONCATENATION, (2, 3), (2, 5), (), options, [(2, 2)])
    with pytest.raises(gossamer.UnsupportedModelError, match="CONCATENATION.*activation"):
        gossamer.load(model)


def test_conv_chain_optimised_matches():
    """Two convs in a row: the optimiser cancels the transpose pair between them."""
    rng = np.random.default_rng(4)
    w1 = rng.standard_normal((4, 3, 3, 2)).astype(np.float32)
    w2 = rng.standard_normal((3, 1, 1, 4)).astype(np.float32)
    b1, b2 = np.zeros(4, np.float32), np.ones(3, np.float32)
    conv = ("Conv2DOptions", {"padding": SAME, "stride_w": 1, "stride_h": 1})
    model = build_model(Spec(
        [T("x", FLOAT32, (1, 5, 5, 2)), T("w1", FLOAT32, w1.shape, w1),
         T("h", FLOAT32, (1, 5, 5, 4)), T("w2", FLOAT32, w2.shape, w2),
         T("y", FLOAT32, (1, 5, 5, 3)), T("b1", FLOAT32, (4,), b1), T("b2", FLOAT32, (3,), b2)],
        [Op(BuiltinOperator.CONV_2D, [0, 1, 5], [2], conv),
         Op(BuiltinOperator.CONV_2D, [2, 3, 6], [4], conv)],
        [0], [4],
    ))  # fmt: skip
    _check(model, optimize=3)
    sess = gossamer.load(model, optimize=3)
    assert sum(n.op_type == "Transpose" for n in sess.graph.nodes) == 2


def test_signature_order_and_names_are_litert_s():
    model = _single_op(BuiltinOperator.ADD, (2, 3), (2, 3), (), None, [(2, 3)])
    sess = gossamer.load(model, optimize=0)
    it = litert.Interpreter(model_content=model)
    assert [v.name for v in sess.inputs] == [d["name"] for d in it.get_input_details()]
    assert [v.name for v in sess.outputs] == [d["name"] for d in it.get_output_details()]


def test_quantized_ops_are_listed_with_the_reason():
    spec = Spec(
        [T("x", 9, (1, 4), scales=(0.5,), zero_points=(0,)),
         T("y", 9, (1, 4), scales=(0.5,), zero_points=(0,))],
        [Op(BuiltinOperator.EXP, [0], [1])], [0], [1],
    )  # fmt: skip
    # (int8 RELU, CONV_2D, ... are imported: tests/converter/test_tflite_int8_import.py)
    with pytest.raises(gossamer.UnsupportedModelError, match="EXP.*quantized int8 tensors"):
        gossamer.load(build_model(spec))


@pytest.mark.models
@pytest.mark.parametrize("name", sorted(FLOAT_MODELS))
@pytest.mark.parametrize("optimize", [0, 3])
@pytest.mark.parametrize("backend", ["reference", "cython"])
def test_shared_float_model_matches_litert(name, optimize, backend):
    from gossamer.plugins.manager import all_backends, availability

    path = MODELS_DIR / name
    if not path.exists():
        pytest.skip(f"{name} is not in {MODELS_DIR}")
    found = all_backends().get(backend)
    if found is None or availability(found) is not None:
        pytest.skip(f"backend {backend} is not available here")
    sess = gossamer.load(path, optimize=optimize, backends=[backend])
    rng = np.random.default_rng(0)
    shape = FLOAT_MODELS[name]
    feeds = {
        v.name: rng.uniform(-1, 1, shape or [d or 1 for d in v.shape]).astype(np.float32)
        for v in sess.inputs
    }
    _compare(sess.run(None, feeds), _litert(str(path), feeds, reference=False, shape=shape))


@pytest.mark.parametrize("padding", [SAME, VALID])
@pytest.mark.parametrize(("stride", "size", "kernel"), [(2, 4, 3), (2, 5, 3), (1, 4, 2), (3, 3, 4)])
@pytest.mark.parametrize("bias", [False, True])
def test_transpose_conv(padding, stride, size, kernel, bias):
    rng = np.random.default_rng(5)
    w = rng.standard_normal((3, kernel, kernel, 2)).astype(np.float32)
    if padding == SAME:
        out = size * stride
    else:
        out = (size - 1) * stride + kernel
    tensors = [
        T("output_shape", INT32, (4,), np.array([1, out, out, 3], np.int32)),
        T("w", FLOAT32, w.shape, w),
        T("serving_default_x:0", FLOAT32, (1, size, size, 2)),
    ]
    inputs = [0, 1, 2]
    if bias:
        tensors.append(T("b", FLOAT32, (3,), rng.standard_normal(3).astype(np.float32)))
        inputs.append(3)
    tensors.append(T("y", FLOAT32, (1, out, out, 3)))
    options = ("TransposeConvOptions", {"padding": padding, "stride_w": stride, "stride_h": stride})
    op = Op(BuiltinOperator.TRANSPOSE_CONV, inputs, [len(tensors) - 1], options, version=3)
    _check(build_model(Spec(tensors, [op], [2], [len(tensors) - 1])))


@pytest.mark.models
def test_dynamic_batch_runs_as_litert_resized():
    path = MODELS_DIR / "oww_embedding.tflite"  # input [-1, 76, 32, 1]
    if not path.exists():
        pytest.skip(f"{path.name} is not in {MODELS_DIR}")
    sess = gossamer.load(path)
    assert sess.inputs[0].shape[0] is None
    x = np.random.default_rng(1).uniform(-1, 1, (3, 76, 32, 1)).astype(np.float32)
    feeds = {sess.inputs[0].name: x}
    _compare(sess.run(None, feeds), _litert(str(path), feeds, reference=False, shape=x.shape))
