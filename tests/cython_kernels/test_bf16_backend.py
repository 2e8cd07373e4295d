"""Which convolutions the cython-bf16 backend takes (bf16_conv.conv_refusal): a stem (few input
channels on a large plane) and depthwise convs are left to the float32 kernels."""

from __future__ import annotations

import pytest
from gossamer.cython_kernels.bf16_conv import FEW_CHANNELS, LARGE_PLANE, conv_refusal
from gossamer.refimpl.ir import Node, Value


def refusal(c: int, hw: tuple[int, int], group: int = 1, m: int = 8) -> str | None:
    node = Node("Conv", ["x", "w"], ["y"], {"group": group, "pads": [1, 1, 1, 1]}, name="conv")
    x = Value("x", "float32", (1, c, *hw))
    w = Value("w", "float32", (m, c // group, 3, 3))
    return conv_refusal(node, [x, w])


@pytest.mark.parametrize("c", [1, 3, FEW_CHANNELS])
def test_a_stem_on_a_large_plane_is_left_to_the_float32_direct_conv(c: int) -> None:
    why = refusal(c, (224, 224))
    assert why is not None and "direct conv" in why


def test_few_channels_on_a_small_plane_stay_on_bf16() -> None:
    assert LARGE_PLANE > 6 * 6
    assert refusal(3, (6, 6)) is None


def test_more_channels_on_a_large_plane_stay_on_bf16() -> None:
    assert refusal(FEW_CHANNELS + 1, (224, 224)) is None


def test_depthwise_is_declined() -> None:
    why = refusal(16, (8, 8), group=16, m=16)
    assert why is not None and "depthwise" in why


def test_description_names_the_instruction_that_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from gossamer.cython_kernels._native import ext
    from gossamer.cython_kernels.bf16_backend import CythonBf16Backend

    monkeypatch.setenv("GOSSAMER_BF16", "emulate")
    assert CythonBf16Backend().describe() == "cython-bf16 (emulated vdpbf16ps)"
    if not ext().bf16_cpu_native():
        pytest.skip("this CPU has no AVX512_BF16: only the emulation runs here")
    monkeypatch.setenv("GOSSAMER_BF16", "native")
    before = ext().bf16_amx_enabled()
    try:
        assert ext().bf16_set_amx(False) is False
        assert CythonBf16Backend().describe() == "cython-bf16 (vdpbf16ps)"
        if ext().bf16_set_amx(True):
            assert CythonBf16Backend().describe() == "cython-bf16 (AMX tdpbf16ps)"
    finally:
        ext().bf16_set_amx(before)


def _values(c: int, m: int, k: int, group: int = 1) -> tuple[Node, dict[str, Value]]:
    node = Node("Conv", ["x", "w"], ["y"], {"group": group, "kernel_shape": [k, k]}, name="conv")
    values = {"x": Value("x", "float32", (1, c, 14, 14)),
              "w": Value("w", "float32", (m, c // group, k, k))}  # fmt: skip
    return node, values


@pytest.mark.parametrize(
    ("c", "m", "k", "group", "kept"),
    [
        (16, 96, 1, 1, False),  # a small 1x1: may join the float32 blocked chain
        (64, 384, 1, 1, False),
        (384, 64, 1, 1, False),
        (96, 576, 1, 1, True),  # wider: stays NCHW on bf16
        (16, 16, 3, 1, True),  # a 3x3 of 16 channels: bf16 runs it
        (32, 32, 3, 32, False),  # depthwise: the float32 kernels run it
    ],
)
def test_keep_nchw_keeps_the_convs_bf16_runs_but_small_1x1s(c, m, k, group, kept,
                                                           monkeypatch) -> None:  # fmt: skip
    from gossamer.cython_kernels import bf16_conv
    from gossamer.cython_kernels.bf16_backend import CythonBf16Backend
    from gossamer.cython_kernels.bf16_conv import BLOCKED_1X1_CHANNELS, keep_nchw

    assert BLOCKED_1X1_CHANNELS == 64
    # the AMX blocked 1x1 off: test_bf16_nchwc_conv.py checks keep_nchw with it
    monkeypatch.setattr(bf16_conv, "BLOCKED_1X1_AMX", False)
    node, values = _values(c, m, k, group)
    assert keep_nchw(node, values) is kept
    assert CythonBf16Backend().keep_nchw(node, values) is kept


def test_the_cached_window_gives_each_shape_its_own_result(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np
    from gossamer.cython_kernels import bf16_conv
    from gossamer.refimpl.errors import OpArgumentError

    monkeypatch.setenv("GOSSAMER_BF16", "emulate")
    rng = np.random.default_rng(0)
    w = rng.standard_normal((8, 4, 3, 3)).astype(np.float32)
    node = Node("Conv", ["x", "w"], ["y"], {"kernel_shape": [3, 3], "strides": [2, 2]}, name="c")
    conv = bf16_conv.prepare_conv(node, {1: w})
    xs = [rng.standard_normal((1, 4, s, s)).astype(np.float32) for s in (9, 12, 9, 7)]
    cached = [conv(x, w) for x in xs]
    monkeypatch.setattr(bf16_conv, "CACHE_WINDOWS", False)
    fresh = [bf16_conv.prepare_conv(node, {1: w})(x, w) for x in xs]
    for got, want in zip(cached, fresh):
        np.testing.assert_array_equal(got, want)
    assert [y.shape[2] for y in cached] == [4, 5, 4, 3]
    monkeypatch.setattr(bf16_conv, "CACHE_WINDOWS", True)
    with pytest.raises(OpArgumentError):  # channels that do not match the weights, after good calls
        conv(rng.standard_normal((1, 5, 9, 9)).astype(np.float32), w)
    with pytest.raises(OpArgumentError):  # a plane smaller than the kernel: not cached either
        conv(rng.standard_normal((1, 4, 2, 2)).astype(np.float32), w)


def test_the_kept_matmul_shapes_give_each_pair_its_own_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import numpy as np
    from gossamer.cython_kernels import bf16_matmul
    from gossamer.plugins import RuntimeDecline

    monkeypatch.setenv("GOSSAMER_BF16", "emulate")
    rng = np.random.default_rng(1)
    node = Node("MatMul", ["a", "b"], ["y"], {}, name="mm")
    b = rng.standard_normal((16, 8)).astype(np.float32)
    bb = rng.standard_normal((3, 16, 8)).astype(np.float32)  # a batch of right operands
    pairs = [((2, 5, 16), b), ((7, 16), b), ((3, 4, 16), bb), ((2, 5, 16), b), ((3, 6, 16), bb)]
    pairs = [(rng.standard_normal(s).astype(np.float32), w) for s, w in pairs]
    mm = bf16_matmul.prepare_plain_matmul(node, {})
    kept = [mm(a, w) for a, w in pairs]
    monkeypatch.setattr(bf16_matmul, "CACHE_SHAPES", False)
    fresh = [bf16_matmul.prepare_plain_matmul(node, {})(a, w) for a, w in pairs]
    for got, want in zip(kept, fresh):
        np.testing.assert_array_equal(got, want)
    assert [y.shape for y in kept] == [(2, 5, 8), (7, 8), (3, 4, 8), (2, 5, 8), (3, 6, 8)]
    monkeypatch.setattr(bf16_matmul, "CACHE_SHAPES", True)
    with pytest.raises(RuntimeDecline):  # inner sizes that differ, after good calls
        mm(rng.standard_normal((2, 5, 12)).astype(np.float32), b)


def test_a_matmul_residual_is_added_in_the_epilogue_before_the_activation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import numpy as np
    from gossamer.cython_kernels import bf16_matmul

    monkeypatch.setenv("GOSSAMER_BF16", "emulate")
    rng = np.random.default_rng(2)
    a = rng.standard_normal((2, 5, 16)).astype(np.float32)
    w = rng.standard_normal((16, 8)).astype(np.float32)
    bias = rng.standard_normal(8).astype(np.float32)
    z = rng.standard_normal((2, 5, 8)).astype(np.float32)
    relu = Node("FusedMatMul", ["a", "w", "b", "", "z"], ["y"], {"activation": "Relu"}, name="mm")
    plain = Node("FusedMatMul", ["a", "w", "b"], ["y"], {}, name="mm0")
    got = bf16_matmul.prepare_fused_matmul(relu, {1: w, 2: bias})(a, w, bias, None, z)
    product = bf16_matmul.prepare_fused_matmul(plain, {1: w, 2: bias})(a, w, bias)
    np.testing.assert_array_equal(got, np.maximum(product + z, np.float32(0)))


def test_a_matmul_residual_that_is_not_the_products_shape_is_declined() -> None:
    from gossamer.cython_kernels.bf16_matmul import matmul_refusal

    node = Node("FusedMatMul", ["a", "w", "b", "", "z"], ["y"], {}, name="mm")

    def refusal(b: tuple, z: tuple) -> str | None:
        shapes = [(2, 5, 16), b, (8,), None, z]
        values = [None if s is None else Value("v", "float32", s) for s in shapes]
        return matmul_refusal(node, values)

    assert refusal((16, 8), (2, 5, 8)) is None
    assert "residual" in (refusal((16, 8), (1, 5, 8)) or "")  # broadcast: the Add stays
    assert "residual" in (refusal((2, 16, 8), (2, 5, 8)) or "")  # a batch of right operands


def test_a_bf16_session_runs_a_matmul_with_its_fused_residual_on_cython_bf16(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MatMul + Add of the product's shape (a transformer's residual), fused at O2: the fused
    node stays on cython-bf16 and gives the bf16 product plus the residual."""
    import numpy as np
    from gossamer.conformance.bf16_reference import bf16_matmul
    from gossamer.refimpl.ir import Graph

    import gossamer

    monkeypatch.setenv("GOSSAMER_BF16", "emulate")
    rng = np.random.default_rng(3)
    w = rng.standard_normal((16, 8)).astype(np.float32)
    graph = Graph(
        nodes=[Node("MatMul", ["x", "w"], ["p"], name="mm"),
               Node("Add", ["p", "z"], ["y"], name="add")],
        inputs=[Value("x", "float32", (4, 16)), Value("z", "float32", (4, 8))],
        outputs=[Value("y")], initializers={"w": w}, name="residual", opsets={"": 17},
    )  # fmt: skip
    sess = gossamer.load(graph, precision="bf16", optimize=2)
    (node,) = sess.graph.nodes
    assert node.op_type == "FusedMatMul" and sess.placement.backend_of[node.name] == "cython-bf16"
    x = rng.standard_normal((4, 16)).astype(np.float32)
    z = rng.standard_normal((4, 8)).astype(np.float32)
    (y,) = sess.run(None, {"x": x, "z": z})
    np.testing.assert_array_equal(y, bf16_matmul(x, w) + z)
