"""VJPs of Conv, ConvTranspose, Gemm and MatMul against finite differences."""

from __future__ import annotations

import numpy as np
from gossamer.refimpl.ops.op_conv import conv_1
from gossamer.refimpl.ops.op_conv_transpose import conv_transpose_1
from gossamer.refimpl.ops.op_gemm import gemm_11
from gossamer.refimpl.ops.op_mat_mul import mat_mul_1
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

from ._fd import check_vjp, values

CHECKED = {"Conv", "ConvTranspose", "Gemm", "MatMul"}
SEEDS = st.integers(0, 2**32 - 1)


@st.composite
def conv_geometry(draw, transpose: bool = False):
    rank = draw(st.integers(1, 2))
    groups = draw(st.sampled_from([1, 2]))
    per_group_in = draw(st.integers(1, 2))
    per_group_out = draw(st.integers(1, 2))
    depthwise = draw(st.booleans())
    if depthwise:
        groups, per_group_in = draw(st.integers(2, 3)), 1
    c, m = groups * per_group_in, groups * per_group_out
    kernel = [draw(st.integers(1, 3)) for _ in range(rank)]
    attrs = {
        "group": groups,
        "strides": [draw(st.integers(1, 2)) for _ in range(rank)],
        "dilations": [draw(st.integers(1, 2)) for _ in range(rank)],
    }
    auto_pad = draw(st.sampled_from(["NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]))
    if auto_pad == "NOTSET":
        attrs["pads"] = [draw(st.integers(0, 2)) for _ in range(2 * rank)]
    else:
        attrs["auto_pad"] = auto_pad
    extent = [(k - 1) * d + 1 for k, d in zip(kernel, attrs["dilations"])]
    spatial = [draw(st.integers(e, e + 3)) for e in extent]
    if transpose:
        spatial = [draw(st.integers(1, 3)) for _ in range(rank)]
        if auto_pad == "NOTSET" and draw(st.booleans()):
            attrs["output_padding"] = [draw(st.integers(0, s - 1)) for s in attrs["strides"]]
        w_shape = (c, per_group_out, *kernel)
    else:
        w_shape = (m, per_group_in, *kernel)
    x_shape = (draw(st.integers(1, 2)), c, *spatial)
    bias = (m if not transpose else groups * per_group_out) if draw(st.booleans()) else None
    return x_shape, w_shape, bias, attrs


@given(geometry=conv_geometry(), seed=SEEDS)
def test_conv_matches_finite_differences(geometry, seed):
    x_shape, w_shape, bias, attrs = geometry
    rng = np.random.default_rng(seed)
    inputs = [values(rng, x_shape), values(rng, w_shape)]
    inputs.append(None if bias is None else values(rng, (bias,)))
    got = check_vjp(conv_1, inputs, attrs, seed=seed)
    assert {0, 1} <= set(got)


@given(geometry=conv_geometry(transpose=True), seed=SEEDS)
def test_conv_transpose_matches_finite_differences(geometry, seed):
    x_shape, w_shape, bias, attrs = geometry
    rng = np.random.default_rng(seed)
    inputs = [values(rng, x_shape), values(rng, w_shape)]
    inputs.append(None if bias is None else values(rng, (bias,)))
    check_vjp(conv_transpose_1, inputs, attrs, seed=seed)


def test_conv_transpose_with_an_output_shape_larger_than_full():
    rng = np.random.default_rng(3)
    x, w = values(rng, (1, 2, 3, 3)), values(rng, (2, 1, 2, 2))
    check_vjp(conv_transpose_1, [x, w], {"strides": [2, 2], "output_shape": [8, 8]})


@given(
    m=st.integers(1, 4), k=st.integers(1, 4), n=st.integers(1, 4),
    trans=st.tuples(st.booleans(), st.booleans()),
    alpha=st.sampled_from([1.0, 0.5, -2.0]), beta=st.sampled_from([1.0, 0.0, 3.0]),
    c_form=st.sampled_from(["none", "full", "row", "col", "scalar"]), seed=SEEDS,
)  # fmt: skip
def test_gemm_matches_finite_differences(m, k, n, trans, alpha, beta, c_form, seed):
    rng = np.random.default_rng(seed)
    a = values(rng, (k, m) if trans[0] else (m, k))
    b = values(rng, (n, k) if trans[1] else (k, n))
    c_shape = {"full": (m, n), "row": (n,), "col": (m, 1), "scalar": ()}.get(c_form)
    c = None if c_shape is None else values(rng, c_shape)
    attrs = {"alpha": alpha, "beta": beta, "transA": int(trans[0]), "transB": int(trans[1])}
    check_vjp(gemm_11, [a, b, c], attrs, seed=seed)


@st.composite
def matmul_shapes(draw):
    batch = draw(mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3))
    m, k, n = (draw(st.integers(1, 3)) for _ in range(3))
    a = (*batch.input_shapes[0], m, k) if draw(st.integers(0, 4)) else (k,)
    b = (*batch.input_shapes[1], k, n) if draw(st.integers(0, 4)) else (k,)
    return a, b


@given(shapes=matmul_shapes(), seed=SEEDS)
def test_matmul_batched_broadcast_and_vectors_match_finite_differences(shapes, seed):
    rng = np.random.default_rng(seed)
    check_vjp(mat_mul_1, [values(rng, s) for s in shapes], seed=seed)
