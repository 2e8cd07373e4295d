"""Shape, indexing and resampling reference ops: what the ONNX node suite does not pin down.

Older-opset semantics (attributes that later became inputs, Resize/Upsample before opset 11),
edge cases (empty and 0-d tensors, negative axes, integer dtypes) and typed errors. Models are
single nodes built with onnx.helper and run through `gossamer.load`; onnxruntime is the yardstick
wherever it implements the case.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from gossamer.refimpl.errors import GraphValidationError, NodeExecutionError, OpArgumentError
from gossamer.refimpl.ops._resample_run import run_resize
from hypothesis import given
from hypothesis import strategies as st
from onnx import TensorProto, helper

import gossamer

F, I64, I32, U8 = TensorProto.FLOAT, TensorProto.INT64, TensorProto.INT32, TensorProto.UINT8
RNG = np.random.default_rng(0)


def _model(op: str, inputs: list, out_types: list[int], opset: int, **attrs) -> tuple:
    """A one-node model; None in `inputs` is an omitted optional input."""
    names = [f"in{i}" if x is not None else "" for i, x in enumerate(inputs)]
    outs = [f"out{i}" for i in range(len(out_types))]
    node = helper.make_node(op, names, outs, **attrs)
    graph = helper.make_graph(
        [node],
        op.lower(),
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(x.dtype), x.shape)
            for n, x in zip(names, inputs)
            if n
        ],
        [helper.make_tensor_value_info(n, t, None) for n, t in zip(outs, out_types)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model, {n: x for n, x in zip(names, inputs) if n}


def run(op: str, inputs: list, out_types: list[int], opset: int = 21, **attrs) -> list:
    model, feeds = _model(op, inputs, out_types, opset, **attrs)
    return gossamer.load(model.SerializeToString()).run(None, feeds)


def same_as_ort(op: str, inputs: list, out_types: list[int], opset: int, **attrs) -> list:
    """Runs the node on Gossamer and onnxruntime and asserts equal outputs; returns Gossamer's."""
    model, feeds = _model(op, inputs, out_types, opset, **attrs)
    ours = gossamer.load(model.SerializeToString()).run(None, feeds)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    theirs = sess.run(None, feeds)
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, a.shape, b.dtype, b.shape)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    return ours


def arr(*shape: int, dtype=np.float32) -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


def ints(values, dtype=np.int64) -> np.ndarray:
    return np.array(values, dtype=dtype)


# ---- Reshape, Transpose, Concat, Split ----------------------------------------------------------
def test_reshape_5_copies_zero_dims_and_infers_minus_one():
    (y,) = same_as_ort("Reshape", [arr(2, 3, 4), ints([0, -1])], [F], opset=7)
    assert y.shape == (2, 12)


def test_reshape_allowzero_keeps_a_zero_dim():
    (y,) = run("Reshape", [np.zeros((0, 3), np.float32), ints([3, 0])], [F], allowzero=1)
    assert y.shape == (3, 0)


def test_reshape_rejects_two_inferred_dims():
    with pytest.raises(NodeExecutionError, match="more than one -1"):
        run("Reshape", [arr(2, 3), ints([-1, -1])], [F])


def test_transpose_rejects_a_perm_that_is_not_a_permutation():
    with pytest.raises(NodeExecutionError, match="not a permutation"):
        run("Transpose", [arr(2, 3)], [F], perm=[0, 0])


def test_concat_negative_axis_accepts_empty_inputs():
    (y,) = same_as_ort("Concat", [arr(2, 0), arr(2, 3)], [F], opset=13, axis=-1)
    assert y.shape == (2, 3)


def test_split_2_takes_split_sizes_from_the_attribute():
    ys = same_as_ort("Split", [arr(6, 2)], [F, F], opset=11, axis=0, split=[2, 4])
    assert [y.shape[0] for y in ys] == [2, 4]


def test_split_13_without_sizes_cuts_equal_parts_per_output():
    ys = same_as_ort("Split", [arr(2, 6)], [F, F, F], opset=13, axis=-1)
    assert [y.shape for y in ys] == [(2, 2)] * 3


def test_split_18_num_outputs_makes_the_last_chunk_smaller():
    ys = same_as_ort("Split", [arr(7)], [F, F, F], opset=18, num_outputs=3)
    assert [y.size for y in ys] == [3, 3, 1]


def test_split_rejects_sizes_that_do_not_add_up():
    with pytest.raises(NodeExecutionError, match="does not add up"):
        run("Split", [arr(5), ints([2, 2])], [F, F], opset=13)


# ---- Slice, Gather, Scatter ---------------------------------------------------------------------
def test_slice_1_reads_starts_ends_axes_attributes():
    (y,) = same_as_ort(
        "Slice", [arr(4, 5)], [F], opset=9, starts=[1, -3], ends=[100, -1], axes=[0, 1]
    )
    assert y.shape == (3, 2)


def test_slice_negative_step_clamps_to_the_start():
    x = np.arange(10, dtype=np.float32)
    big = np.iinfo(np.int64)
    (y,) = same_as_ort(
        "Slice", [x, ints([big.max]), ints([big.min]), ints([0]), ints([-3])], [F], 13
    )
    assert y.tolist() == [9, 6, 3, 0]


def test_slice_rejects_a_zero_step():
    with pytest.raises(NodeExecutionError, match="step must not be 0"):
        run("Slice", [arr(4), ints([0]), ints([4]), ints([0]), ints([0])], [F], opset=13)


def test_gather_with_a_0d_index_drops_the_axis():
    (y,) = same_as_ort("Gather", [arr(3, 4), ints(-1)], [F], opset=13, axis=1)
    assert y.shape == (3,)


def test_gather_rejects_an_out_of_range_index():
    with pytest.raises(NodeExecutionError, match="out of range"):
        run("Gather", [arr(3), ints([3])], [F])


def test_gather_elements_negative_axis_matches_onnxruntime():
    same_as_ort("GatherElements", [arr(3, 4), ints([[0, -1], [2, 1], [3, 3]])], [F], 13, axis=-1)


def test_gather_nd_batch_dims_matches_onnxruntime():
    idx = ints([[[1], [0]], [[2], [-1]]])
    (y,) = same_as_ort("GatherND", [arr(2, 3, 4), idx], [F], opset=13, batch_dims=1)
    assert y.shape == (2, 2, 4)


def test_scatter_9_is_scatter_elements_without_reduction():
    data, idx, upd = arr(3, 3), ints([[1, 0, 2]]), arr(1, 3)
    same_as_ort("Scatter", [data, idx, upd], [F], opset=9, axis=0)


def test_scatter_elements_16_rejects_max_reduction():
    with pytest.raises(NodeExecutionError, match="reduction 'max'"):
        run("ScatterElements", [arr(3), ints([0]), arr(1)], [F], opset=16, reduction="max")


def test_scatter_nd_min_reduction_accumulates_repeated_indices():
    data = np.full((4,), 5.0, np.float32)
    idx, upd = ints([[1], [1], [3]]), np.array([4.0, 2.0, 9.0], np.float32)
    (y,) = same_as_ort("ScatterND", [data, idx, upd], [F], opset=18, reduction="min")
    assert y.tolist() == [5, 2, 5, 5]


def test_tensor_scatter_circular_wraps_around_the_cache():
    cache, upd = np.zeros((1, 4, 1), np.float32), np.ones((1, 2, 1), np.float32)
    (y,) = run("TensorScatter", [cache, upd, ints([3])], [F], opset=24, axis=1, mode="circular")
    assert y[0, :, 0].tolist() == [1, 0, 0, 1]


def test_tensor_scatter_linear_rejects_writes_past_the_end():
    cache, upd = np.zeros((1, 4, 1), np.float32), np.ones((1, 2, 1), np.float32)
    with pytest.raises(NodeExecutionError, match="past max_sequence_length"):
        run("TensorScatter", [cache, upd, ints([3])], [F], opset=24, axis=1)


# ---- Squeeze, Unsqueeze, Flatten, Expand, Tile --------------------------------------------------
def test_squeeze_11_reads_negative_axes_attribute():
    (y,) = same_as_ort("Squeeze", [arr(1, 3, 1)], [F], opset=11, axes=[-1])
    assert y.shape == (1, 3)


def test_squeeze_rejects_an_axis_that_is_not_one():
    with pytest.raises(NodeExecutionError, match="not 1"):
        run("Squeeze", [arr(2, 3), ints([0])], [F], opset=13)


def test_unsqueeze_11_axes_attribute_counts_output_positions():
    (y,) = same_as_ort("Unsqueeze", [arr(3, 4)], [F], opset=11, axes=[0, -1])
    assert y.shape == (1, 3, 4, 1)


def test_unsqueeze_of_a_0d_tensor_makes_a_vector():
    (y,) = run("Unsqueeze", [np.array(2.0, np.float32), ints([0])], [F])
    assert y.shape == (1,)


def test_flatten_axis_equal_to_rank_gives_a_single_column_row():
    (y,) = same_as_ort("Flatten", [arr(2, 3)], [F], opset=13, axis=2)
    assert y.shape == (6, 1)


def test_expand_broadcasts_both_ways():
    (y,) = same_as_ort("Expand", [arr(3, 1), ints([2, 1, 4])], [F], opset=13)
    assert y.shape == (2, 3, 4)


def test_tile_with_zero_repeats_is_empty():
    (y,) = same_as_ort("Tile", [arr(2, 3), ints([0, 2])], [F], opset=13)
    assert y.shape == (0, 6)


# ---- Pad, DepthToSpace, SpaceToDepth, CenterCropPad ---------------------------------------------
def test_pad_2_reads_pads_and_mode_attributes():
    (y,) = same_as_ort("Pad", [arr(3, 4)], [F], opset=7, pads=[1, 2, 1, 2], mode="reflect")
    assert y.shape == (5, 8)


def test_pad_negative_pads_crop():
    (y,) = same_as_ort("Pad", [arr(4, 4), ints([-1, 0, 1, -2])], [F], opset=11, mode="edge")
    assert y.shape == (4, 2)


def test_pad_18_axes_pads_only_the_listed_axes_with_the_constant():
    x, value = np.ones((2, 3), np.int32), np.array(7, np.int32)
    (y,) = same_as_ort("Pad", [x, ints([1, 1]), value, ints([-1])], [I32], opset=18)
    assert y[:, 0].tolist() == [7, 7] and y.shape == (2, 5)


def test_pad_18_rejects_wrap_mode():
    with pytest.raises(NodeExecutionError, match="'wrap'"):
        run("Pad", [arr(2, 3), ints([1, 1, 1, 1])], [F], opset=18, mode="wrap")


def test_depth_to_space_1_uses_dcr_order():
    same_as_ort("DepthToSpace", [arr(1, 8, 2, 3)], [F], opset=7, blocksize=2)


@pytest.mark.parametrize("mode", ["DCR", "CRD"])
def test_space_to_depth_then_depth_to_space_round_trips(mode):
    x = arr(2, 3, 4, 6)
    (d,) = run("SpaceToDepth", [x], [F], opset=28, blocksize=2, mode=mode)
    (back,) = run("DepthToSpace", [d], [F], opset=28, blocksize=2, mode=mode)
    np.testing.assert_array_equal(back, x)


def test_depth_to_space_rejects_channels_not_divisible_by_block_squared():
    with pytest.raises(NodeExecutionError, match="divisible"):
        run("DepthToSpace", [arr(1, 6, 2, 2)], [F], blocksize=2)


def test_center_crop_pad_centres_odd_differences_like_onnxruntime():
    (y,) = same_as_ort("CenterCropPad", [arr(5, 4, 2), ints([2, 7])], [F], 18, axes=[0, 1])
    assert y.shape == (2, 7, 2)


# ---- Shape, Size, ConstantOfShape, Range, OneHot, NonZero, EyeLike ------------------------------
def test_shape_15_start_end_clamp():
    (y,) = same_as_ort("Shape", [arr(2, 3, 4)], [I64], opset=15, start=-10, end=-1)
    assert y.tolist() == [2, 3]


def test_size_of_an_empty_tensor_is_zero():
    (y,) = run("Size", [np.zeros((3, 0), np.float32)], [I64])
    assert y.dtype == np.int64 and y.shape == () and y == 0


def test_constant_of_shape_defaults_to_float32_zeros():
    (y,) = run("ConstantOfShape", [ints([2, 3])], [F])
    assert y.dtype == np.float32 and y.shape == (2, 3) and not y.any()


def test_constant_of_shape_empty_shape_gives_a_scalar():
    value = helper.make_tensor("v", I64, [1], [7])
    (y,) = same_as_ort("ConstantOfShape", [ints([])], [I64], opset=20, value=value)
    assert y.shape == () and y == 7


def test_range_with_the_wrong_sign_of_delta_is_empty():
    (y,) = same_as_ort(
        "Range", [ints(5, np.int32), ints(10, np.int32), ints(-1, np.int32)], [I32], 11
    )
    assert y.shape == (0,)


def test_range_27_float16_stash_computes_in_float32():
    start, limit, delta = (np.array(v, np.float16) for v in (0.0, 60.0, 0.3))
    (y,) = run("Range", [start, limit, delta], [TensorProto.FLOAT16], opset=27, stash_type=1)
    expected = (np.float32(0.3) * np.arange(y.size, dtype=np.float32)).astype(np.float16)
    np.testing.assert_array_equal(y, (np.float32(delta) * np.arange(y.size)).astype(np.float16))
    assert y.dtype == np.float16 and expected.size == 200


def test_one_hot_9_treats_negative_indices_as_off():
    depth, values = ints(3), np.array([0, 1], np.float32)
    (y,) = run("OneHot", [ints([-1, 1]), depth, values], [F], opset=9)
    assert y.tolist() == [[0, 0, 0], [0, 1, 0]]


def test_one_hot_11_wraps_negative_indices():
    depth, values = ints(3), np.array([0, 1], np.float32)
    (y,) = same_as_ort("OneHot", [ints([-1, 1]), depth, values], [F], opset=11)
    assert y.tolist() == [[0, 0, 1], [0, 1, 0]]


def test_non_zero_of_a_0d_tensor_has_one_row():
    (y,) = same_as_ort("NonZero", [np.array(3.0, np.float32)], [I64], opset=13)
    assert y.shape == (1, 1)


def test_eye_like_dtype_attribute_and_negative_k():
    (y,) = same_as_ort("EyeLike", [arr(3, 4)], [I32], opset=9, dtype=I32, k=-1)
    assert y.dtype == np.int32 and y[1, 0] == 1


def test_eye_like_rejects_a_non_matrix():
    with pytest.raises(NodeExecutionError, match="2-D"):
        run("EyeLike", [arr(3)], [F])


# ---- TopK, CumSum, Trilu, Compress, Unique, ReverseSequence -------------------------------------
def test_top_k_1_reads_k_from_the_attribute():
    (v, i) = same_as_ort("TopK", [arr(3, 5)], [F, I64], opset=7, k=2)
    assert v.shape == (3, 2) and i.dtype == np.int64


def test_top_k_10_reads_k_from_the_input():
    same_as_ort("TopK", [arr(4, 6), ints([3])], [F, I64], opset=10, axis=0)


def test_top_k_smallest_breaks_ties_by_lower_index():
    x = np.array([3, 1, 2, 1, 1], np.int32)
    (v, i) = run("TopK", [x, ints([3])], [I32, I64], opset=11, largest=0)
    assert v.tolist() == [1, 1, 1] and i.tolist() == [1, 3, 4]


def test_top_k_largest_breaks_ties_by_lower_index_for_unsigned():
    x = np.array([2, 5, 5, 2], np.uint8)
    (_, i) = run("TopK", [x, ints([3])], [U8, I64], opset=11)
    assert i.tolist() == [1, 2, 0]


def test_top_k_rejects_k_larger_than_the_axis():
    with pytest.raises(NodeExecutionError, match="outside"):
        run("TopK", [arr(3), ints([4])], [F, I64], opset=11)


def test_cum_sum_exclusive_reverse_int32_matches_onnxruntime():
    x = ints([[1, 2, 3], [4, 5, 6]], np.int32)
    (y,) = same_as_ort("CumSum", [x, ints(1)], [I32], opset=14, exclusive=1, reverse=1)
    assert y.tolist() == [[5, 3, 0], [11, 6, 0]]


def test_cum_sum_of_an_empty_axis_is_empty():
    (y,) = run("CumSum", [np.zeros((0, 2), np.float32), ints(0)], [F], exclusive=1)
    assert y.shape == (0, 2)


def test_cum_prod_exclusive_starts_at_one():
    (y,) = run("CumProd", [np.array([2, 3, 4], np.float32), ints(0)], [F], opset=26, exclusive=1)
    assert y.tolist() == [1, 2, 6]


def test_trilu_lower_on_a_batch_with_k_input():
    (y,) = same_as_ort("Trilu", [arr(2, 3, 4), ints(1)], [F], opset=14, upper=0)
    assert y[0, 0, 2] == 0


def test_compress_with_a_short_condition_matches_onnxruntime():
    cond = np.array([False, True], bool)
    (y,) = same_as_ort("Compress", [arr(3, 2), cond], [F], opset=11, axis=-2)
    assert y.shape == (1, 2)


def test_unique_unsorted_with_axis_matches_onnxruntime():
    x = ints([[2, 1], [0, 3], [2, 1], [1, 1]], np.float32)
    outs = same_as_ort("Unique", [x], [F, I64, I64, I64], opset=11, axis=0, sorted=0)
    assert outs[0].tolist() == [[2, 1], [0, 3], [1, 1]] and outs[2].tolist() == [0, 1, 0, 2]


def test_reverse_sequence_batch_axis_first_on_3d():
    x = arr(3, 4, 2)
    (y,) = same_as_ort("ReverseSequence", [x, ints([4, 1, 2])], [F], 10, batch_axis=0, time_axis=1)
    np.testing.assert_array_equal(y[0], x[0, ::-1])


# ---- Resize, Upsample ---------------------------------------------------------------------------
def test_resize_10_nearest_downsample_matches_onnxruntime():
    x = arr(1, 1, 5, 7)
    same_as_ort("Resize", [x, np.array([1, 1, 0.6, 0.45], np.float32)], [F], opset=10)


def test_resize_10_linear_upsample_is_asymmetric():
    x = arr(1, 1, 3, 4)
    scales = np.array([1, 1, 2.5, 1.5], np.float32)
    same_as_ort("Resize", [x, scales], [F], opset=10, mode="linear")


def test_upsample_7_reads_scales_attribute():
    (y,) = same_as_ort("Upsample", [arr(1, 2, 2, 3)], [F], opset=7, scales=[1.0, 1.0, 2.0, 3.0])
    assert y.shape == (1, 2, 4, 9)


def test_upsample_9_linear_matches_onnxruntime():
    scales = np.array([1, 1, 2, 2], np.float32)
    same_as_ort("Upsample", [arr(1, 1, 3, 3), scales], [F], opset=9, mode="linear")


def test_resize_11_supports_tf_half_pixel_for_nn():
    x, roi, scales = (
        arr(1, 1, 4, 4),
        np.zeros(0, np.float32),
        np.array([1, 1, 1.7, 0.6], np.float32),
    )
    same_as_ort(
        "Resize",
        [x, roi, scales],
        [F],
        opset=11,
        coordinate_transformation_mode="tf_half_pixel_for_nn",
    )


def test_resize_13_rejects_tf_half_pixel_for_nn():
    x, scales = arr(1, 1, 4, 4), np.array([1, 1, 2, 2], np.float32)
    with pytest.raises(NodeExecutionError, match="tf_half_pixel_for_nn"):
        run(
            "Resize",
            [x, None, scales],
            [F],
            opset=13,
            coordinate_transformation_mode="tf_half_pixel_for_nn",
        )


def test_resize_uint8_cubic_rounds_and_saturates_the_float_result():
    x = np.array([[[[0, 255, 0, 255], [255, 0, 255, 0]]]], np.uint8)
    scales = np.array([1, 1, 2, 2], np.float32)
    (y,) = run("Resize", [x, None, scales], [U8], opset=13, mode="cubic")
    (yf,) = run("Resize", [x.astype(np.float32), None, scales], [F], opset=13, mode="cubic")
    assert yf.min() < 0 and yf.max() > 255  # the cubic kernel overshoots
    np.testing.assert_array_equal(y, np.clip(np.rint(yf), 0, 255).astype(np.uint8))


def test_resize_pytorch_half_pixel_to_one_pixel_samples_the_first():
    x = arr(1, 1, 4, 4)
    sizes = ints([1, 1, 1, 3])
    same_as_ort("Resize", [x, None, None, sizes], [F], opset=13, mode="cubic",
                coordinate_transformation_mode="pytorch_half_pixel")  # fmt: skip


def test_resize_18_not_smaller_policy_with_axes():
    x = arr(1, 2, 4, 6)
    (y,) = same_as_ort("Resize", [x, None, None, ints([5, 5])], [F], opset=18, mode="linear",
                       axes=[2, 3], keep_aspect_ratio_policy="not_smaller")  # fmt: skip
    assert y.shape == (1, 2, 5, 8)


def test_resize_18_cubic_antialias_downsample_matches_onnxruntime():
    x = arr(1, 1, 12, 10)
    scales = np.array([1, 1, 0.3, 0.55], np.float32)
    same_as_ort("Resize", [x, None, scales], [F], opset=18, mode="cubic", antialias=1)


def test_resize_nearest_ties_round_as_the_scale_means():
    # scale 1.7 puts output 8 at input 4.5 exactly; float32 coordinates keep that tie a tie
    x = np.arange(7, dtype=np.float32).reshape(1, 1, 1, 7)
    scales = np.array([1, 1, 1, 1.7], np.float32)
    (y,) = same_as_ort("Resize", [x, None, scales], [F], opset=13, nearest_mode="round_prefer_ceil")
    assert y[0, 0, 0, 8] == 5


def test_resize_align_corners_with_scales_uses_the_fractional_output_length():
    # onnx's reference (and its node tests) divide by scale * length - 1, not by the integer length
    x = np.array([[[[1, 2, 3, 4]]]], np.float32)
    scales = np.array([1, 1, 1, 0.6], np.float32)
    (y,) = run("Resize", [x, None, scales], [F], opset=13, mode="linear",
               coordinate_transformation_mode="align_corners")  # fmt: skip
    np.testing.assert_allclose(y.reshape(-1), [1, 1 + 3 / 1.4], rtol=1e-6)


def test_resize_rejects_both_scales_and_sizes():
    x = arr(1, 1, 2, 2)
    with pytest.raises(NodeExecutionError, match="exactly one"):
        run("Resize", [x, None, np.ones(4, np.float32), ints([1, 1, 2, 2])], [F], opset=13)


@given(st.integers(1, 6), st.integers(1, 6), st.sampled_from(["nearest", "linear", "cubic"]))
def test_resize_to_the_same_size_is_the_identity(h, w, mode):
    x = np.arange(h * w, dtype=np.float32).reshape(1, 1, h, w)
    opts = dict(
        coordinate_transformation_mode="half_pixel", cubic_coeff_a=-0.75, mode=mode,
        exclude_outside=0, extrapolation_value=0.0, nearest_mode="round_prefer_floor",
    )  # fmt: skip
    y = run_resize(x, None, np.ones(4), None, None, (mode,), ("half_pixel",), **opts)
    np.testing.assert_allclose(y, x, atol=1e-5)


# ---- GridSample, AffineGrid, RoiAlign, NonMaxSuppression ----------------------------------------
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
def test_grid_sample_16_matches_onnxruntime(mode, padding):
    grid = RNG.uniform(-1.4, 1.4, (2, 3, 5, 2)).astype(np.float32)
    same_as_ort("GridSample", [arr(2, 3, 4, 6), grid], [F], opset=16, mode=mode,
                padding_mode=padding, align_corners=int(padding == "border"))  # fmt: skip


def test_grid_sample_16_rejects_the_opset_20_mode_names():
    with pytest.raises(NodeExecutionError, match="mode"):
        run("GridSample", [arr(1, 1, 2, 2), arr(1, 2, 2, 2)], [F], opset=16, mode="linear")


def test_affine_grid_identity_spans_pixel_centres():
    theta = np.array([[[1, 0, 0], [0, 1, 0]]], np.float32)
    (g,) = same_as_ort("AffineGrid", [theta, ints([1, 1, 2, 4])], [F], opset=20)
    assert g[0, 0, :, 0].tolist() == [-0.75, -0.25, 0.25, 0.75]


def test_roi_align_10_defaults_to_output_half_pixel():
    rois = np.array([[0, 0, 3, 3], [1.2, 0.5, 6.1, 4.3], [2, 2, 2.4, 2.2]], np.float32)
    same_as_ort("RoiAlign", [arr(2, 3, 6, 7), rois, ints([0, 1, 1])], [F], opset=10,
                output_height=2, output_width=3, spatial_scale=0.9)  # fmt: skip


def test_roi_align_16_max_with_fixed_sampling_ratio():
    rois = np.array([[0.5, 0.5, 5, 4], [-2, -1, 3, 8]], np.float32)
    same_as_ort("RoiAlign", [arr(1, 2, 6, 6), rois, ints([0, 0])], [F], opset=16, mode="max",
                output_height=3, output_width=2, sampling_ratio=2)  # fmt: skip


def test_non_max_suppression_without_a_limit_selects_nothing():
    boxes, scores = np.array([[[0, 0, 1, 1]]], np.float32), np.array([[[0.9]]], np.float32)
    (y,) = same_as_ort("NonMaxSuppression", [boxes, scores], [I64], opset=11)
    assert y.shape == (0, 3)


def test_non_max_suppression_random_boxes_match_onnxruntime():
    corners = RNG.uniform(0, 10, (2, 30, 2, 2)).astype(np.float32)
    boxes = np.concatenate([corners[:, :, 0], corners[:, :, 0] + np.abs(corners[:, :, 1])], -1)
    scores = RNG.uniform(0, 1, (2, 3, 30)).astype(np.float32)
    limits = [ints([5]), np.array([0.3], np.float32), np.array([0.2], np.float32)]
    (y,) = same_as_ort("NonMaxSuppression", [boxes, scores, *limits], [I64], opset=11)
    assert 0 < len(y) <= 2 * 3 * 5


# ---- attribute checking -------------------------------------------------------------------------
def test_an_attribute_of_a_later_opset_is_rejected_at_load():
    model, _ = _model("Split", [arr(4)], [F, F], opset=13, split=[2, 2])
    with pytest.raises(GraphValidationError, match="split"):
        gossamer.load(model.SerializeToString())


def test_op_argument_error_is_the_cause_of_bad_attribute_failures():
    with pytest.raises(NodeExecutionError) as info:
        run("ScatterND", [arr(3), ints([[0]]), arr(1)], [F], opset=18, reduction="avg")
    assert isinstance(info.value.__cause__, OpArgumentError)


def test_gather_elements_indices_smaller_than_data_or_empty_match_onnxruntime():
    (y,) = same_as_ort("GatherElements", [arr(3, 4), ints([[2, 0], [-1, 1]])], [F], 13, axis=0)
    assert y.shape == (2, 2)
    (e,) = same_as_ort("GatherElements", [arr(3, 4), np.zeros((0, 4), np.int64)], [F], 13, axis=1)
    assert e.shape == (0, 4)
