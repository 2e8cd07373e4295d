"""Range selection: minmax, percentile and KL (entropy) calibration."""

import numpy as np
import pytest
from gossamer.converter.quantization.ranges import TensorStats, choose_range, kl_threshold


def _stats(x, method):
    s = TensorStats()
    s.add_minmax(x)
    if method != "minmax":
        s.add_histogram(x, method)
    return s


def _gauss_with_outliers():
    x = np.random.default_rng(0).standard_normal(200_000).astype(np.float32)
    x[:10] = 40.0
    return x


def test_minmax_is_the_observed_range_widened_to_zero():
    x = np.array([0.5, 2.0, 3.0], np.float32)
    assert choose_range(_stats(x, "minmax"), "minmax") == (0.0, 3.0)


def test_percentile_drops_rare_outliers_and_100_keeps_everything():
    x = _gauss_with_outliers()
    low, high = choose_range(_stats(x, "percentile"), "percentile", 99.99)
    assert -4.5 < low < -3.0 and 3.0 < high < 4.5
    low, high = choose_range(_stats(x, "percentile"), "percentile", 100.0)
    assert high == pytest.approx(40.0) and low == pytest.approx(float(x.min()))


def test_kl_threshold_clips_outliers_but_keeps_the_bulk():
    low, high = choose_range(_stats(_gauss_with_outliers(), "kl"), "kl")
    assert 2.0 < high < 10.0 and low == pytest.approx(-high, rel=0.3)


def test_kl_on_one_sided_data_starts_at_zero():
    x = np.abs(_gauss_with_outliers())
    low, high = choose_range(_stats(x, "kl"), "kl")
    assert low == 0.0 and 2.0 < high < 10.0


def test_kl_of_a_uniform_histogram_keeps_the_whole_range():
    assert kl_threshold(np.full(2048, 100), 1.0) == pytest.approx(1.0, rel=0.01)


def test_kl_keeps_minmax_for_a_tensor_with_too_few_values():
    x = np.array([-2.5, 0.3, 1.0, 2.4] * 4, np.float32)  # a classifier's logits, 4 samples
    assert choose_range(_stats(x, "kl"), "kl") == (-2.5, pytest.approx(2.4))


def _quantisation_mse(x, low, high):
    scale = (high - low) / 255.0
    q = np.clip(np.rint((x - low) / scale), 0, 255) * scale + low
    return float(np.mean((q - x) ** 2))


def test_mse_range_beats_minmax_and_any_fixed_percentile_on_a_heavy_tailed_tensor():
    x = np.random.default_rng(1).laplace(0.0, 1.0, 400_000).astype(np.float32)
    low, high = choose_range(_stats(x, "mse"), "mse")
    assert x.min() < low < 0.0 < high < x.max()  # it clips the long tails
    ours = _quantisation_mse(x, low, high)
    assert ours < 0.75 * _quantisation_mse(x, float(x.min()), float(x.max()))  # measured 0.65
    for p in (99.0, 99.9, 99.99):
        plow, phigh = choose_range(_stats(x, "percentile"), "percentile", p)
        assert ours <= _quantisation_mse(x, plow, phigh) * 1.02
    # within 2 % of the best symmetric clip a brute-force search finds
    best = min(_quantisation_mse(x, -t, t) for t in np.linspace(2.0, 13.0, 221))
    assert ours <= best * 1.02


def test_mse_keeps_the_whole_range_of_a_uniform_tensor_and_zero_inside():
    x = np.random.default_rng(2).uniform(1.0, 3.0, 100_000).astype(np.float32)
    low, high = choose_range(_stats(x, "mse"), "mse")
    assert low == 0.0 and high == pytest.approx(3.0, rel=0.01)
