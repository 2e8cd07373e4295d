"""Calibration data: the accepted layouts, and a clear CalibrationDataError for everything else."""

import numpy as np
import pytest
from gossamer.converter.quantization.calibration_data import load_calibration
from gossamer.refimpl.errors import CalibrationDataError, InputError
from gossamer.refimpl.ir import Value

BATCHED = [Value("x", "float32", ("N", 3, 4, 4))]
FIXED = [Value("x", "float32", (1, 3, 4, 4))]
TWO = [Value("a", "float32", ("N", 2)), Value("b", "float32", ("N", 3))]


def _x(*shape, dtype=np.float32):
    return np.random.default_rng(0).random(shape).astype(dtype)


def test_per_sample_arrays_give_one_feed_per_sample_of_the_input_shape():
    data = load_calibration({"x": _x(5, 1, 3, 4, 4)}, FIXED)
    assert data.count == 5
    feeds = list(data.feeds())
    assert len(feeds) == 5 and feeds[0][0]["x"].shape == (1, 3, 4, 4)


def test_batch_form_is_accepted_for_a_symbolic_batch_and_regrouped():
    data = load_calibration({"x": _x(10, 3, 4, 4)}, BATCHED)
    assert data.count == 10 and data.batchable
    sizes = [(feed["x"].shape, n) for feed, n in data.feeds(batch=4)]
    assert sizes == [((4, 3, 4, 4), 4), ((4, 3, 4, 4), 4), ((2, 3, 4, 4), 2)]


def test_batch_form_is_refused_where_the_first_dim_is_fixed():
    with pytest.raises(CalibrationDataError, match=r"expected \(N, 1, 3, 4, 4\)"):
        load_calibration({"x": _x(5, 3, 4, 4)}, FIXED)


def test_missing_input_is_named():
    with pytest.raises(CalibrationDataError, match=r"no array for model input\(s\) \['b'\]"):
        load_calibration({"a": _x(2, 1, 2)}, TWO)


def test_array_for_no_input_is_named():
    with pytest.raises(CalibrationDataError, match=r"\['y'\] name no model input"):
        load_calibration({"x": _x(2, 1, 3, 4, 4), "y": _x(2)}, BATCHED)


def test_wrong_dtype_says_how_to_convert():
    with pytest.raises(CalibrationDataError, match=r"dtype float64.*astype\(np.float32\)"):
        load_calibration({"x": _x(2, 1, 3, 4, 4, dtype=np.float64)}, BATCHED)


def test_wrong_fixed_dim_names_the_axis():
    with pytest.raises(CalibrationDataError, match="axis 2 must be 4"):
        load_calibration({"x": _x(2, 1, 3, 5, 4)}, BATCHED)


@pytest.mark.parametrize("bad, word", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_non_finite_values_name_the_sample(bad, word):
    x = _x(4, 1, 3, 4, 4)
    x[2, 0, 1, 1, 1] = bad
    with pytest.raises(CalibrationDataError, match=f"sample 2 holds {word}"):
        load_calibration({"x": x}, BATCHED)


def test_zero_samples_are_refused():
    with pytest.raises(CalibrationDataError, match="holds no samples"):
        load_calibration({"x": _x(0, 1, 3, 4, 4)}, BATCHED)


def test_inputs_with_different_sample_counts_are_refused():
    with pytest.raises(CalibrationDataError, match="different sample counts"):
        load_calibration({"a": _x(3, 1, 2), "b": _x(4, 1, 3)}, TWO)


def test_npz_files_are_read_and_bad_files_refused(tmp_path):
    good = tmp_path / "c.npz"
    np.savez(good, x=_x(3, 1, 3, 4, 4))
    assert load_calibration(good, BATCHED).count == 3
    with pytest.raises(FileNotFoundError):
        load_calibration(tmp_path / "missing.npz", BATCHED)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(CalibrationDataError, match="not a readable .npz"):
        load_calibration(junk, BATCHED)
    single = tmp_path / "one.npy"
    np.save(single, _x(3, 1, 3, 4, 4))
    with pytest.raises(CalibrationDataError, match="single array"):
        load_calibration(single, BATCHED)


def test_calibration_errors_are_input_errors():
    assert issubclass(CalibrationDataError, InputError)
