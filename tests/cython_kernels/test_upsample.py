"""ConvTranspose (packed GEMM + col2im) and Resize/Upsample (table-driven gather / separable taps)
on the cython backend agree with the reference: on AVX2 and generic, 1 and 2 threads."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

import gossamer

from ._helpers import assert_close, assert_on_cython, one_node, run_both

GEMM_TOL = {"rtol": 1e-4, "atol": 1e-4}
COORDS = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "half_pixel_symmetric"]
NEAREST = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]
EMPTY = np.zeros(0, np.float32)


def assert_bit_identical(ours: np.ndarray, ref: np.ndarray) -> None:
    """Same shape, same bits (NaNs at the same places)."""
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    nan = np.isnan(ref)
    assert np.array_equal(np.isnan(ours), nan)
    assert np.array_equal(ours[~nan].view(np.int32), ref[~nan].view(np.int32))


# ---- ConvTranspose ------------------------------------------------------------------------------


@st.composite
def conv_transpose_cases(draw: st.DrawFn) -> dict:
    rank = draw(st.sampled_from([1, 2, 2]))
    group = draw(st.sampled_from([1, 1, 2, 3]))
    cg, mg = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    kernel = [draw(st.integers(1, 4)) for _ in range(rank)]
    strides = [draw(st.integers(1, 3)) for _ in range(rank)]
    dils = [draw(st.sampled_from([1, 1, 2])) for _ in range(rank)]
    spatial = [draw(st.integers(1, 9)) for _ in range(rank)]
    attrs: dict[str, Any] = {"group": group, "strides": strides, "dilations": dils}
    full = [s * (i - 1) + (k - 1) * d + 1 for s, i, k, d in zip(strides, spatial, kernel, dils)]
    how = draw(st.sampled_from(["pads", "pads", "output_shape", "SAME_UPPER", "SAME_LOWER"]))
    if how == "pads":
        pads = [draw(st.integers(0, (k - 1) * d)) for k, d in zip(kernel * 2, dils * 2)]
        assume(all(f - b - e >= 1 for f, b, e in zip(full, pads[:rank], pads[rank:])))
        attrs["pads"] = pads
        if draw(st.booleans()):
            attrs["output_padding"] = [draw(st.integers(0, max(s, d) - 1))
                                       for s, d in zip(strides, dils)]  # fmt: skip
    elif how == "output_shape":
        attrs["output_shape"] = [max(1, f + draw(st.integers(-2, 2))) for f in full]
    else:
        attrs["auto_pad"] = how
    if draw(st.booleans()):
        attrs["kernel_shape"] = kernel
    return {
        "x": (draw(st.integers(1, 2)), group * cg, *spatial),
        "w": (group * cg, mg, *kernel),
        "bias": draw(st.booleans()),
        "attrs": attrs,
    }


@settings(max_examples=25, deadline=None)
@given(case=conv_transpose_cases())
def test_conv_transpose_matches_reference_over_geometries_and_groups(
    case: dict, simd: str, threads: int
) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(case["x"], dtype=np.float32)
    consts = {"w": rng.standard_normal(case["w"], dtype=np.float32)}
    if case["bias"]:
        consts["b"] = rng.standard_normal(case["w"][1] * case["attrs"]["group"], dtype=np.float32)
    model = one_node("ConvTranspose", {"x": x}, consts, **case["attrs"])
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, **GEMM_TOL)


@pytest.mark.parametrize("cin, cout, group", [(64, 32, 1), (16, 16, 16), (12, 6, 3)])
def test_conv_transpose_decoder_layer_k4_s2_p1_matches_reference(
    cin: int, cout: int, group: int, simd: str, threads: int
) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, cin, 13, 17), dtype=np.float32)
    w = rng.standard_normal((cin, cout // group, 4, 4), dtype=np.float32)
    b = rng.standard_normal(cout, dtype=np.float32)
    model = one_node("ConvTranspose", {"x": x}, {"w": w, "b": b}, group=group, strides=[2, 2],
                     pads=[1, 1, 1, 1])  # fmt: skip
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, **GEMM_TOL)


def test_conv_transpose_with_run_time_weights_packs_them_per_call() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 6, 5, 4), dtype=np.float32)
    w = rng.standard_normal((6, 3, 3, 3), dtype=np.float32)
    model = one_node("ConvTranspose", {"x": x, "w": w}, strides=[2, 1], group=2)
    ours, ref, placement = run_both(model, {"x": x, "w": w}, 2)
    assert_on_cython(placement)
    assert_close(ours, ref, **GEMM_TOL)


def test_conv_transpose_3d_is_declined_with_its_reason() -> None:
    x = np.zeros((1, 2, 3, 3, 3), np.float32)
    model = one_node("ConvTranspose", {"x": x}, {"w": np.ones((2, 1, 2, 2, 2), np.float32)})
    sess = gossamer.load(model, backends=["cython"])
    (reasons,) = sess.placement.declined.values()
    assert "3-D ConvTranspose" in reasons["cython"]


# ---- Resize / Upsample -------------------------------------------------------------------------


def resize_model(x: np.ndarray, opset: int, scales=None, sizes=None, roi=None, **attrs) -> bytes:  # type: ignore[no-untyped-def]
    """One Resize node: roi, scales, sizes as initializers (an empty name for an absent one)."""
    names, inits = ["x"], []
    for name, value in (("roi", roi), ("scales", scales), ("sizes", sizes)):
        if opset == 10 and name != "scales":
            continue
        if value is None:
            names.append("")
        else:
            names.append(name)
            inits.append(onnx.numpy_helper.from_array(value, name))
    while names[-1] == "":
        names.pop()
    node = helper.make_node("Resize", names, ["y"], **attrs)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits,
    )  # fmt: skip
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset)]
    ).SerializeToString()


@st.composite
def resize_cases(draw: st.DrawFn) -> dict:
    opset = draw(st.sampled_from([11, 13, 18, 19, 19]))
    mode = draw(st.sampled_from(["nearest", "nearest", "linear", "linear", "cubic"]))
    coords = COORDS if opset >= 19 else COORDS[:4]
    attrs: dict[str, Any] = {
        "mode": mode,
        "coordinate_transformation_mode": draw(st.sampled_from(coords)),
    }
    if mode == "nearest":
        attrs["nearest_mode"] = draw(st.sampled_from(NEAREST))
    elif draw(st.booleans()):
        attrs["exclude_outside"] = 1
    if mode != "nearest" and opset >= 18 and draw(st.booleans()):
        attrs["antialias"] = 1
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 12)),
             draw(st.integers(1, 19)))  # fmt: skip
    by_sizes = draw(st.booleans())
    if by_sizes:
        sizes = np.array([*shape[:2], draw(st.integers(1, 25)), draw(st.integers(1, 40))], np.int64)
        if opset >= 18 and draw(st.booleans()):
            attrs["keep_aspect_ratio_policy"] = draw(st.sampled_from(["not_larger", "not_smaller"]))
        return {"opset": opset, "shape": shape, "sizes": sizes, "attrs": attrs}
    pick = st.sampled_from([0.5, 0.6, 1.0, 1.5, 1.7, 2.0, 2.0, 3.0])
    scales = np.array([1, 1, draw(pick), draw(pick)], np.float32)
    return {"opset": opset, "shape": shape, "scales": scales, "attrs": attrs}


def _resize_input(shape: tuple[int, ...], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape, dtype=np.float32)
    x.flat[:: max(1, x.size // 3)] = -0.0  # the reference's float64 `0 + x * 1` makes it +0.0
    return x


@settings(max_examples=40, deadline=None)
@given(case=resize_cases())
def test_resize_matches_reference_over_modes_and_scales(
    case: dict, simd: str, threads: int
) -> None:
    x = _resize_input(case["shape"], 3)
    model = resize_model(x, case["opset"], scales=case.get("scales"), sizes=case.get("sizes"),
                         roi=EMPTY if case["opset"] < 13 else None, **case["attrs"])  # fmt: skip
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    if case["attrs"]["mode"] == "nearest":
        assert_bit_identical(ours[0], ref[0])
    else:  # the taps are summed in double in the reference's order: equal to rounding
        assert_close(ours, ref, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("w", [1, 2, 3, 5, 7, 8, 9, 13, 16, 17, 20])
def test_nearest_2x_fast_path_duplicates_every_pixel_for_any_width(
    w: int, simd: str, threads: int
) -> None:
    x = _resize_input((1, 3, 5, w), w)
    model = resize_model(x, 17, roi=EMPTY, scales=np.array([1, 1, 2, 2], np.float32),
                         mode="nearest", coordinate_transformation_mode="asymmetric",
                         nearest_mode="floor")  # fmt: skip
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    assert_bit_identical(ours[0], ref[0])
    expected = np.repeat(np.repeat(x, 2, axis=2), 2, axis=3) + np.float32(0)
    assert_bit_identical(ours[0], expected)


@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_resize_propagates_nan_and_inf_like_the_reference(mode: str, simd: str) -> None:
    x = np.arange(48, dtype=np.float32).reshape(1, 1, 6, 8)
    x[0, 0, 2, 3], x[0, 0, 4, 6], x[0, 0, 0, 0] = np.nan, np.inf, -np.inf
    model = resize_model(x, 19, scales=np.array([1, 1, 1.5, 2], np.float32), mode=mode)
    ours, ref, placement = run_both(model, {"x": x}, 1)
    assert_on_cython(placement)
    assert_bit_identical(ours[0], ref[0])


def test_resize_tf_crop_and_resize_extrapolates_outside_the_roi(simd: str) -> None:
    x = _resize_input((1, 2, 7, 9), 4)
    roi = np.array([0, 0, -0.2, 0.1, 1, 1, 0.8, 1.3], np.float32)
    for mode in ("nearest", "linear", "cubic"):
        model = resize_model(x, 13, roi=roi, sizes=np.array([1, 2, 6, 11], np.int64), mode=mode,
                             coordinate_transformation_mode="tf_crop_and_resize",
                             extrapolation_value=-7.5)  # fmt: skip
        ours, ref, placement = run_both(model, {"x": x}, 2)
        assert_on_cython(placement)
        assert_close(ours, ref, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "opset, extra",
    [(10, {}), (11, {"roi": EMPTY}), (13, {}), (18, {"axes": [3, 2]}), (18, {"axes": [-1]})],
)
@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_resize_every_opset_runs_on_cython(opset: int, extra: dict, mode: str) -> None:
    x = _resize_input((2, 3, 6, 5), 5)
    axes = extra.get("axes")
    n = 2 if axes is None else len(axes)
    scales = np.array([1.0] * (4 - n) * (axes is None) + [2.0, 1.5][:n], np.float32)
    attrs = {"axes": axes} if axes else {}
    model = resize_model(x, opset, scales=scales, roi=extra.get("roi"), mode=mode, **attrs)
    sess, ref = (
        gossamer.load(model, backends=["cython"], threads=2),
        gossamer.load(model, backends=[]),
    )
    assert_on_cython(sess.placement)
    assert_close(sess.run(None, {"x": x}), ref.run(None, {"x": x}), rtol=1e-6, atol=1e-7)
    # weighted taps over W then H (axes [3, 2]) would sum in another order: the reference runs
    w_first = axes == [3, 2] and mode == "linear"
    assert bool(sess.runtime_fallbacks) == w_first, sess.runtime_fallbacks


def test_resize_of_a_leading_axis_runs_the_reference_for_that_call() -> None:
    x = _resize_input((2, 3, 4, 4), 6)
    model = resize_model(x, 19, scales=np.array([1, 2, 2, 2], np.float32))
    sess = gossamer.load(model, backends=["cython"])
    ref = gossamer.load(model, backends=[])
    assert_on_cython(sess.placement)
    assert_bit_identical(sess.run(None, {"x": x})[0], ref.run(None, {"x": x})[0])
    assert "axis 1 is resized" in next(iter(sess.runtime_fallbacks.values()))[1]


@pytest.mark.parametrize(
    "shape, sizes",
    [((1, 1, 1, 1), [1, 1, 3, 2]), ((1, 2, 3, 4), [1, 2, 0, 4]), ((1, 2, 3, 4), [1, 2, 3, 4]),
     ((2, 1, 5, 1), [2, 1, 1, 7])],
)  # fmt: skip
def test_resize_edge_sizes_match_the_reference(shape: tuple, sizes: list, simd: str) -> None:
    x = _resize_input(shape, 7)
    for mode in ("nearest", "linear"):
        model = resize_model(x, 19, sizes=np.array(sizes, np.int64), mode=mode)
        ours, ref, placement = run_both(model, {"x": x}, 1)
        assert_on_cython(placement)
        assert_bit_identical(ours[0], ref[0])


def test_upsample_runs_on_cython() -> None:
    x = _resize_input((1, 2, 3, 5), 8)
    for mode in ("nearest", "linear"):
        model = one_node("Upsample", {"x": x}, {"scales": np.array([1, 1, 2, 3], np.float32)},
                         opset=9, mode=mode)  # fmt: skip
        ours, ref, placement = run_both(model, {"x": x}, 2)
        assert_on_cython(placement)
        assert_close(ours, ref, rtol=1e-6, atol=1e-7)


def test_resize_with_an_unknown_mode_is_declined_with_its_reason() -> None:
    x = np.zeros((1, 1, 2, 2), np.float32)
    model = resize_model(x, 19, scales=np.array([1, 1, 2, 2], np.float32), mode="area")
    sess = gossamer.load(model, backends=["cython"])
    (reasons,) = sess.placement.declined.values()
    assert "mode 'area'" in reasons["cython"]


@pytest.mark.parametrize("mode, coord, scales", [
    ("nearest", "asymmetric", [1, 1, 2, 2]), ("nearest", "half_pixel", [1, 1, 1.7, 2.5]),
    ("linear", "half_pixel", [1, 1, 2, 2]), ("cubic", "align_corners", [1, 1, 0.7, 1.3]),
])  # fmt: skip
def test_resize_large_enough_to_split_rows_over_threads(
    mode: str, coord: str, scales: list, simd: str, threads: int
) -> None:
    x = _resize_input((1, 17, 61, 67), 9)
    model = resize_model(x, 19, scales=np.array(scales, np.float32), mode=mode,
                         coordinate_transformation_mode=coord)  # fmt: skip
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    if mode == "nearest":
        assert_bit_identical(ours[0], ref[0])
    else:
        assert_close(ours, ref, rtol=1e-6, atol=1e-7)
