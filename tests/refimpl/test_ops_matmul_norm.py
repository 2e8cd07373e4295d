"""Reference semantics of the matmul, normalisation and attention ops beyond the ONNX node suite."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
from onnx import helper

import gossamer
from gossamer import NodeExecutionError

RNG = np.random.default_rng(0)


def _model(op, feeds, attrs=None, opset=17, n_out=1, domain="", extra=()):
    node = helper.make_node(
        op, list(feeds), [f"y{i}" for i in range(n_out)], domain=domain, **(attrs or {})
    )
    ins = [
        helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
        for n, v in feeds.items()
        if n
    ]
    outs = [helper.make_empty_tensor_value_info(f"y{i}") for i in range(n_out)]
    graph = helper.make_graph([node], "t", ins, outs)
    imports = [helper.make_opsetid("", opset), *extra]
    model = helper.make_model(graph, opset_imports=imports)
    model.ir_version = 10
    return model.SerializeToString()


def run(op, feeds, attrs=None, opset=17, n_out=1, **kw):
    """Runs one node on Gossamer; `feeds` maps input names in ONNX order ('' = absent) to arrays."""
    model = _model(op, feeds, attrs, opset, n_out, **kw)
    out = gossamer.load(model).run(None, {k: v for k, v in feeds.items() if k})
    return out if n_out > 1 else out[0]


def run_ort(op, feeds, attrs=None, opset=17, n_out=1):
    model = _model(op, feeds, attrs, opset, n_out)
    sess = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    out = sess.run(None, {k: v for k, v in feeds.items() if k})
    return out if n_out > 1 else out[0]


def randn(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


# ---- MatMul / Gemm / Einsum / Det ----
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint32, np.uint64])
def test_matmul_of_integers_keeps_the_integer_type(dtype):
    a = RNG.integers(0, 50, (2, 3, 4)).astype(dtype)
    b = RNG.integers(0, 50, (4, 5)).astype(dtype)
    y = run("MatMul", {"a": a, "b": b})
    assert y.dtype == dtype
    np.testing.assert_array_equal(y, a @ b)


def test_matmul_of_two_vectors_is_a_scalar():
    a, b = randn(4), randn(4)
    y = run("MatMul", {"a": a, "b": b})
    assert y.shape == ()
    np.testing.assert_allclose(y, run_ort("MatMul", {"a": a, "b": b}), rtol=1e-5)


def test_matmul_of_vector_and_batched_matrix_drops_the_vector_axis():
    a, b = randn(3), randn(2, 3, 5)
    y = run("MatMul", {"a": a, "b": b})
    assert y.shape == (2, 5)
    np.testing.assert_allclose(y, run_ort("MatMul", {"a": a, "b": b}), rtol=1e-5)


def test_matmul_with_mismatched_inner_dimensions_names_the_node():
    with pytest.raises(NodeExecutionError, match="inner dimensions"):
        run("MatMul", {"a": randn(2, 3), "b": randn(4, 2)})


def test_matmul_with_an_empty_inner_dimension_gives_zeros():
    y = run("MatMul", {"a": np.zeros((2, 0), np.float32), "b": np.zeros((0, 3), np.float32)})
    np.testing.assert_array_equal(y, np.zeros((2, 3), np.float32))


def test_gemm_7_requires_c():
    with pytest.raises(NodeExecutionError, match="requires input C"):
        run("Gemm", {"a": randn(2, 3), "b": randn(3, 4)}, opset=7)


def test_gemm_11_without_c_is_alpha_times_product():
    a, b = randn(3, 2), randn(4, 3)
    attrs = {"alpha": 0.5, "transA": 1, "transB": 1}
    y = run("Gemm", {"a": a, "b": b}, attrs, opset=11)
    np.testing.assert_allclose(y, 0.5 * a.T @ b.T, rtol=1e-5)


@pytest.mark.parametrize("c_shape", [(), (1,), (4,), (2, 1), (2, 4)])
def test_gemm_broadcasts_c_one_way(c_shape):
    feeds = {"a": randn(2, 3), "b": randn(3, 4), "c": randn(*c_shape)}
    attrs = {"alpha": 2.0, "beta": -0.5}
    np.testing.assert_allclose(run("Gemm", feeds, attrs), run_ort("Gemm", feeds, attrs), rtol=1e-5)


def test_gemm_rejects_c_that_does_not_broadcast_to_the_result():
    with pytest.raises(NodeExecutionError, match="does not broadcast"):
        run("Gemm", {"a": randn(2, 3), "b": randn(3, 4), "c": randn(3, 4)})


def test_gemm_of_int64_stays_exact():
    a = RNG.integers(-9, 9, (2, 3)).astype(np.int64)
    b = RNG.integers(-9, 9, (3, 4)).astype(np.int64)
    c = RNG.integers(-9, 9, (4,)).astype(np.int64)
    y = run("Gemm", {"a": a, "b": b, "c": c})
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, a @ b + c)


def test_einsum_implicit_output_orders_free_indices_alphabetically():
    a, b = randn(2, 3), randn(3, 4)
    y = run("Einsum", {"a": a, "b": b}, {"equation": "ba,ac"}, opset=12)
    np.testing.assert_allclose(y, np.einsum("ba,ac->bc", a, b), rtol=1e-5)


def test_einsum_on_int32_with_ellipsis_is_exact():
    a = RNG.integers(-5, 5, (2, 3, 4)).astype(np.int32)
    y = run("Einsum", {"a": a}, {"equation": "...ij->...ji"}, opset=12)
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y, a.swapaxes(-1, -2))


def test_einsum_with_wrong_operand_count_is_an_error():
    with pytest.raises(NodeExecutionError, match="operand"):
        run("Einsum", {"a": randn(2, 2)}, {"equation": "ij,jk->ik"}, opset=12)


def test_det_of_a_float16_batch_stays_float16():
    x = randn(3, 2, 2, dtype=np.float16)
    y = run("Det", {"x": x}, opset=11)
    assert y.dtype == np.float16 and y.shape == (3,)
    np.testing.assert_allclose(y, np.linalg.det(x.astype(np.float64)), rtol=2e-3, atol=1e-3)


def test_det_of_non_square_matrices_is_an_error():
    with pytest.raises(NodeExecutionError, match="square"):
        run("Det", {"x": randn(2, 3)}, opset=11)


# ---- BatchNormalization / InstanceNormalization ----
def _bn_feeds(x, channels_shape):
    return {
        "x": x,
        "s": randn(*channels_shape),
        "b": randn(*channels_shape),
        "m": randn(*channels_shape),
        "v": RNG.random(channels_shape).astype(np.float32) + 0.5,
    }


def test_batchnorm_7_spatial_0_normalizes_each_feature_separately():
    feeds = _bn_feeds(randn(2, 3, 4), (3, 4))
    y = run("BatchNormalization", feeds, {"spatial": 0}, opset=7)
    s, b, m, v = (feeds[k] for k in "sbmv")
    np.testing.assert_allclose(y, (feeds["x"] - m) / np.sqrt(v + 1e-5) * s + b, rtol=1e-5)


def test_batchnorm_9_on_a_2d_input_matches_onnxruntime():
    feeds = _bn_feeds(randn(5, 3), (3,))
    y = run("BatchNormalization", feeds, {"epsilon": 1e-3}, opset=9)
    ref = run_ort("BatchNormalization", feeds, {"epsilon": 1e-3}, opset=9)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)


def test_batchnorm_9_training_outputs_are_rejected():
    feeds = _bn_feeds(randn(2, 3, 2), (3,))
    with pytest.raises(NodeExecutionError, match="training outputs"):
        run("BatchNormalization", feeds, opset=9, n_out=3)


def test_batchnorm_15_training_mode_updates_running_statistics():
    # Its own generator: drawn from the module's shared one, the data depended on which tests ran
    # before it in the same worker, and a running mean that cancelled to ~1e-7 failed rtol alone.
    rng = np.random.default_rng(15)
    x, s, b, m = (rng.standard_normal(shape).astype(np.float32) for shape in ((4, 3, 5), 3, 3, 3))
    feeds = {"x": x, "s": s, "b": b, "m": m, "v": rng.random(3).astype(np.float32) + 0.5}
    y, rm, rv = run("BatchNormalization", feeds, {"training_mode": 1, "momentum": 0.8}, 15, 3)
    mean, var = x.mean(axis=(0, 2)), x.var(axis=(0, 2))
    # float32 statistics of 20 values: a relative bound, plus an absolute one for a mean near zero
    np.testing.assert_allclose(rm, 0.8 * m + 0.2 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rv, 0.8 * feeds["v"] + 0.2 * var, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y.mean(axis=(0, 2)), feeds["b"], atol=1e-5)


def test_instancenorm_on_a_3d_input_matches_onnxruntime():
    feeds = {"x": randn(2, 3, 7), "s": randn(3), "b": randn(3)}
    ref = run_ort("InstanceNormalization", feeds)
    np.testing.assert_allclose(run("InstanceNormalization", feeds), ref, rtol=1e-5, atol=1e-5)


# ---- LayerNormalization / GroupNormalization / RMSNormalization ----
def test_layernorm_of_float16_returns_float32_statistics_with_kept_dims():
    x = randn(2, 3, 4, dtype=np.float16)
    feeds = {"x": x, "s": randn(3, 4, dtype=np.float16)}
    y, mean, inv = run("LayerNormalization", feeds, {"axis": -2}, opset=17, n_out=3)
    assert y.dtype == np.float16 and mean.dtype == np.float32 and inv.dtype == np.float32
    assert mean.shape == inv.shape == (2, 1, 1)
    np.testing.assert_allclose(mean[:, 0, 0], x.astype(np.float32).mean(axis=(1, 2)), rtol=1e-5)


def test_layernorm_with_axis_out_of_range_is_an_error():
    with pytest.raises(NodeExecutionError, match="out of range"):
        run("LayerNormalization", {"x": randn(2, 3), "s": randn(3)}, {"axis": 2})


def test_layernorm_without_bias_matches_onnxruntime():
    feeds = {"x": randn(3, 5), "s": randn(5)}
    ref = run_ort("LayerNormalization", feeds)
    np.testing.assert_allclose(run("LayerNormalization", feeds), ref, rtol=1e-5, atol=1e-5)


def test_groupnorm_18_scale_and_bias_are_per_group():
    x = randn(2, 4, 3)
    scale, bias = np.array([2.0, -1.0], np.float32), np.array([0.5, 0.0], np.float32)
    feeds = {"x": x, "s": scale, "b": bias}
    y = run("GroupNormalization", feeds, {"num_groups": 2}, opset=18)
    g = x.reshape(2, 2, 6)
    norm = (g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + 1e-5)
    expected = norm * scale[None, :, None] + bias[None, :, None]
    np.testing.assert_allclose(y, expected.reshape(x.shape), rtol=1e-5, atol=1e-5)


def test_groupnorm_21_scale_and_bias_are_per_channel():
    x = randn(2, 4, 3)
    scale, bias = randn(4), randn(4)
    y = run("GroupNormalization", {"x": x, "s": scale, "b": bias}, {"num_groups": 2}, opset=21)
    g = x.reshape(2, 2, 6)
    norm = (g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + 1e-5)
    expected = norm.reshape(x.shape) * scale[:, None] + bias[:, None]
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_groupnorm_with_channels_not_divisible_by_groups_is_an_error():
    feeds = {"x": randn(1, 3, 2), "s": randn(3), "b": randn(3)}
    with pytest.raises(NodeExecutionError, match="num_groups"):
        run("GroupNormalization", feeds, {"num_groups": 2}, opset=21)


def test_rmsnorm_of_float16_keeps_float16():
    x = randn(2, 8, dtype=np.float16)
    y = run("RMSNormalization", {"x": x, "s": np.ones(8, np.float16)}, opset=23)
    x32 = x.astype(np.float32)
    expected = x32 / np.sqrt((x32 * x32).mean(-1, keepdims=True) + 1e-5)
    assert y.dtype == np.float16
    np.testing.assert_allclose(y, expected, rtol=2e-3, atol=2e-3)


# ---- LpNormalization / MeanVarianceNormalization / LRN ----
def test_lpnormalization_p1_along_axis_0():
    x = randn(3, 4)
    y = run("LpNormalization", {"x": x}, {"p": 1, "axis": 0})
    np.testing.assert_allclose(np.abs(y).sum(axis=0), np.ones(4), rtol=1e-5)


def test_lpnormalization_leaves_a_zero_slice_zero():
    x = np.zeros((2, 3), np.float32)
    x[1] = [3, 4, 0]
    y = run("LpNormalization", {"x": x})
    np.testing.assert_allclose(y, [[0, 0, 0], [0.6, 0.8, 0]], rtol=1e-6)


def test_lpnormalization_rejects_p_3():
    with pytest.raises(NodeExecutionError, match="p=3"):
        run("LpNormalization", {"x": randn(2, 2)}, {"p": 3})


def test_mvn_with_custom_axes_matches_onnxruntime():
    feeds = {"x": randn(2, 3, 4, 5)}
    attrs = {"axes": [1, -1]}
    ref = run_ort("MeanVarianceNormalization", feeds, attrs)
    np.testing.assert_allclose(run("MeanVarianceNormalization", feeds, attrs), ref, atol=1e-5)


@pytest.mark.parametrize("size", [1, 3, 5])
def test_lrn_with_odd_sizes_matches_onnxruntime(size):
    feeds = {"x": randn(2, 6, 3, 3)}
    attrs = {"size": size, "alpha": 0.01, "beta": 0.6, "bias": 1.5}
    np.testing.assert_allclose(run("LRN", feeds, attrs), run_ort("LRN", feeds, attrs), rtol=1e-5)


def test_lrn_with_even_size_looks_one_channel_further_ahead():
    x = randn(1, 5, 1, 1)
    y = run("LRN", {"x": x}, {"size": 4, "alpha": 0.4, "beta": 1.0, "bias": 1.0})
    sq = x[0, :, 0, 0] ** 2
    window = [sq[max(0, c - 1) : c + 3].sum() for c in range(5)]  # channels c-1 .. c+2
    np.testing.assert_allclose(
        y[0, :, 0, 0], x[0, :, 0, 0] / (1 + 0.1 * np.array(window)), rtol=1e-5
    )


# ---- Attention family ----
def _sdpa(q, k, v, bias=0.0, scale=None):
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ k.swapaxes(-1, -2) * scale + bias
    p = np.exp(s - s.max(-1, keepdims=True))
    return (p / p.sum(-1, keepdims=True)) @ v


def test_attention_3d_gqa_shares_each_kv_head_with_a_contiguous_group():
    q, k, v = randn(1, 3, 4 * 2), randn(1, 5, 2 * 2), randn(1, 5, 2 * 2)
    attrs = {"q_num_heads": 4, "kv_num_heads": 2}
    y = run("Attention", {"q": q, "k": k, "v": v}, attrs, opset=23)
    q4 = q.reshape(1, 3, 4, 2).transpose(0, 2, 1, 3)
    k4 = np.repeat(k.reshape(1, 5, 2, 2).transpose(0, 2, 1, 3), 2, axis=1)
    v4 = np.repeat(v.reshape(1, 5, 2, 2).transpose(0, 2, 1, 3), 2, axis=1)
    expected = _sdpa(q4, k4, v4).transpose(0, 2, 1, 3).reshape(1, 3, 8)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_attention_short_bool_mask_is_padded_with_false():
    q, k, v = randn(1, 1, 2, 4), randn(1, 1, 4, 4), randn(1, 1, 4, 4)
    mask = np.array([[True, True], [True, False]])
    y = run("Attention", {"q": q, "k": k, "v": v, "m": mask}, opset=23)
    bias = np.full((2, 4), -np.inf, np.float32)
    bias[0, :2] = bias[1, 0] = 0
    np.testing.assert_allclose(y, _sdpa(q, k, v, bias), rtol=1e-5, atol=1e-6)


def test_attention_qk_output_mode_3_is_the_probabilities():
    q, k, v = randn(1, 2, 3, 4), randn(1, 2, 3, 4), randn(1, 2, 3, 4)
    attrs = {"qk_matmul_output_mode": 3, "is_causal": 1}
    outs = run("Attention", {"q": q, "k": k, "v": v}, attrs, opset=23, n_out=4)
    np.testing.assert_allclose(outs[3].sum(-1), np.ones((1, 2, 3)), rtol=1e-5)
    assert np.all(np.triu(outs[3][0, 0], 1) == 0)


def test_attention_past_key_without_past_value_is_an_error():
    q = randn(1, 1, 2, 4)
    feeds = {"q": q, "k": q, "v": q, "": None, "pk": randn(1, 1, 3, 4)}
    with pytest.raises(NodeExecutionError, match="together"):
        run("Attention", feeds, opset=23)


def test_attention_25_rejects_head_counts_with_4d_inputs():
    q = randn(1, 2, 3, 4)
    with pytest.raises(NodeExecutionError, match="only for 3-D"):
        run("Attention", {"q": q, "k": q, "v": q}, {"q_num_heads": 2}, opset=25)


def test_attention_rejects_an_unknown_softmax_precision():
    q = randn(1, 2, 3, 4)
    with pytest.raises(NodeExecutionError, match="softmax_precision"):
        run("Attention", {"q": q, "k": q, "v": q}, {"softmax_precision": 7}, opset=23)


def test_attention_25_window_limits_each_query_to_nearby_keys():
    q, k, v = randn(1, 1, 4, 4), randn(1, 1, 4, 4), randn(1, 1, 4, 4)
    attrs = {"left_window_size": 1, "right_window_size": 0}
    y = run("Attention", {"q": q, "k": k, "v": v}, attrs, opset=25)
    i, j = np.arange(4)[:, None], np.arange(4)
    bias = np.where((j <= i) & (j >= i - 1), 0, -np.inf).astype(np.float32)
    np.testing.assert_allclose(y, _sdpa(q, k, v, bias), rtol=1e-5, atol=1e-6)


def test_flexattention_without_modifiers_is_plain_attention():
    q, k, v = randn(1, 4, 3, 8), randn(1, 2, 5, 8), randn(1, 2, 5, 8)
    preview = [helper.make_opsetid("ai.onnx.preview", 1)]
    feeds = {"q": q, "k": k, "v": v}
    y = run("FlexAttention", feeds, {"scale": 0.2}, 26, domain="ai.onnx.preview", extra=preview)
    expected = _sdpa(q, np.repeat(k, 2, axis=1), np.repeat(v, 2, axis=1), scale=0.2)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_rotary_embedding_leaves_features_past_rotary_dim_untouched():
    x = randn(1, 2, 3, 8)
    cos, sin = randn(3, 2), randn(3, 2)
    pos = np.array([[0, 1, 2]], np.int64)
    feeds = {"x": x, "c": cos, "s": sin, "p": pos}
    y = run("RotaryEmbedding", feeds, {"rotary_embedding_dim": 4}, opset=23)
    np.testing.assert_array_equal(y[..., 4:], x[..., 4:])
    x1, x2 = x[..., :2], x[..., 2:4]
    np.testing.assert_allclose(y[..., :2], x1 * cos - x2 * sin, rtol=1e-5, atol=1e-6)


def test_swiglu_with_different_shapes_is_an_error():
    with pytest.raises(NodeExecutionError, match="one shape"):
        run("SwiGLU", {"a": randn(2, 3), "b": randn(3)}, opset=28)


def test_causal_conv_streaming_in_two_chunks_equals_one_pass():
    x, w, b = randn(2, 3, 7), randn(3, 1, 4), randn(3)
    attrs = {"activation": "silu"}
    whole, _ = run("CausalConvWithState", {"x": x, "w": w, "b": b}, attrs, 27, 2)
    first, state = run("CausalConvWithState", {"x": x[..., :5], "w": w, "b": b}, attrs, 27, 2)
    feeds = {"x": x[..., 5:], "w": w, "b": b, "p": state}
    second, _ = run("CausalConvWithState", feeds, attrs, 27, 2)
    np.testing.assert_allclose(np.concatenate([first, second], -1), whole, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("rule", ["linear", "gated_delta"])
def test_linear_attention_prefill_then_decode_equals_one_pass(rule):
    b, t, h, d = 1, 5, 2, 4
    q, k, v = randn(b, t, h * d), randn(b, t, h * d), randn(b, t, h * d)
    gates = {"g": -np.abs(randn(b, t, h)), "beta": RNG.random((b, t, h)).astype(np.float32)}
    attrs = {"q_num_heads": h, "kv_num_heads": h, "update_rule": rule}

    def step(sl, state):
        feeds = {"q": q[:, sl], "k": k[:, sl], "v": v[:, sl], "p": state}
        if state is None:
            feeds = {"q": q[:, sl], "k": k[:, sl], "v": v[:, sl], "": None}
        if rule != "linear":
            feeds.update({n: g[:, sl] for n, g in gates.items()})
        return run("LinearAttention", feeds, attrs, opset=27, n_out=2)

    whole, s_whole = step(slice(0, t), None)
    first, s1 = step(slice(0, 3), None)
    second, s2 = step(slice(3, t), s1)
    np.testing.assert_allclose(np.concatenate([first, second], 1), whole, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(s2, s_whole, rtol=1e-4, atol=1e-5)


def test_linear_attention_gated_without_decay_is_an_error():
    x = randn(1, 2, 4)
    attrs = {"q_num_heads": 1, "kv_num_heads": 1, "update_rule": "gated"}
    with pytest.raises(NodeExecutionError, match="needs decay"):
        run("LinearAttention", {"q": x, "k": x, "v": x}, attrs, opset=27, n_out=2)
