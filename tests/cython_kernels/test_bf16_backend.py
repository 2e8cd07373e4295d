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
