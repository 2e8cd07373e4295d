"""com.microsoft DynamicQuantizeLSTM: an ONNX LSTM whose two products are dynamically quantised
integer products; onnxruntime (on one thread) agrees to float32 rounding of its gates."""

import numpy as np
import pytest
from gossamer.refimpl.errors import OpArgumentError
from gossamer.refimpl.ops.op_dynamic_quantize_lstm import dynamic_quantize_lstm_1
from gossamer.refimpl.ops.op_lstm import lstm_14
from hypothesis import given, settings
from hypothesis import strategies as st

from ._ort_oracle import run_both, weights

f32, u8, i8 = np.float32, np.uint8, np.int8


def _inputs(rng, t, b, i, h, direction, w_type, per_col, lens=False, states=False):
    d = 2 if direction == "bidirectional" else 1
    param = (d, 4 * h) if per_col else (d,)
    zp = 0 if w_type == i8 else 128
    return [
        rng.normal(size=(t, b, i)).astype(f32),
        weights(rng, w_type, (d, i, 4 * h)),
        weights(rng, w_type, (d, h, 4 * h)),
        (rng.normal(size=(d, 8 * h)) * 0.1).astype(f32),
        rng.integers(1, t + 1, size=b).astype(np.int32) if lens else None,
        rng.uniform(-1, 1, size=(d, b, h)).astype(f32) if states else None,
        rng.uniform(-1, 1, size=(d, b, h)).astype(f32) if states else None,
        None,
        rng.uniform(0.005, 0.02, size=param).astype(f32),
        np.full(param, zp, w_type),
        rng.uniform(0.005, 0.02, size=param).astype(f32),
        np.full(param, zp, w_type),
    ]


def test_it_is_close_to_the_float_lstm_of_the_dequantised_weights():
    rng = np.random.default_rng(0)
    x, w, r, b, *_, ws, wz, rs, rz = _inputs(rng, 4, 2, 9, 8, "forward", i8, per_col=True)
    ours = dynamic_quantize_lstm_1(x, w, r, b, None, None, None, None, ws, wz, rs, rz)
    w_f = np.swapaxes((w.astype(f32) - wz[:, None, :]) * ws[:, None, :], 1, 2)
    r_f = np.swapaxes((r.astype(f32) - rz[:, None, :]) * rs[:, None, :], 1, 2)
    exact = lstm_14(x, w_f, r_f, b)
    for a, e in zip(ours, exact):  # X and H quantised to 8 bits: about 1% of their range
        np.testing.assert_allclose(a, e, atol=0.02)
    assert [a.shape for a in ours] == [(4, 1, 2, 8), (1, 2, 8), (1, 2, 8)]


def test_sequence_lens_with_one_length_match_onnxruntime():
    rng = np.random.default_rng(4)
    args = _inputs(rng, 5, 3, 4, 3, "bidirectional", u8, per_col=True, lens=True, states=True)
    args[4] = np.full(3, 3, np.int32)  # X is quantised over the 3 steps read, not all 5
    ours, theirs = run_both("DynamicQuantizeLSTM", args, {"direction": "bidirectional",
                            "hidden_size": 3}, outputs=3, const=(1, 2, 8, 9, 10, 11))  # fmt: skip
    for a, e in zip(ours, theirs):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=2e-6)


def test_weight_parameters_must_be_per_tensor_or_per_column():
    rng = np.random.default_rng(0)
    args = _inputs(rng, 2, 1, 3, 2, "forward", u8, per_col=False)
    args[8] = np.ones((1, 3), f32)
    with pytest.raises(OpArgumentError, match="W_scale"):
        dynamic_quantize_lstm_1(*args)


@settings(max_examples=30)
@given(
    direction=st.sampled_from(["forward", "reverse", "bidirectional"]),
    w_type=st.sampled_from([u8, i8]),
    per_col=st.booleans(),
    states=st.booleans(),
    sizes=st.tuples(*(st.sampled_from([1, 2, 3, 5, 9]) for _ in range(4))),
    seed=st.integers(0, 2**32 - 1),
)
def test_matches_onnxruntime_to_float32_rounding(direction, w_type, per_col, states, sizes, seed):
    """Without sequence_lens: with them onnxruntime quantises finished items' H as zeros."""
    t, b, i, h = sizes
    args = _inputs(np.random.default_rng(seed), t, b, i, h, direction, w_type, per_col, False,
                   states)  # fmt: skip
    ours, theirs = run_both("DynamicQuantizeLSTM", args, {"direction": direction,
                            "hidden_size": h}, outputs=3, const=(1, 2, 8, 9, 10, 11))  # fmt: skip
    for a, e in zip(ours, theirs):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=2e-6)
