"""Choosing a tensor's quantisation range from what calibration observed.

- minmax: the smallest and largest value seen.
- percentile: the (100-p)th and p-th percentiles of the values (p = 99.99 keeps all but the
  0.01 % largest and smallest), read from a fine histogram over the observed [min, max].
- kl: TensorRT's entropy calibration: a histogram of |x| in 2048 bins; for every candidate
  threshold (bin 128 upward) the clipped distribution P (outliers folded into the last bin) is
  compared with its `levels`-level quantisation Q; the threshold with the least KL(P || Q) wins
  (a tensor with fewer than KL_MIN_VALUES values over the whole data set keeps its minmax range).
- mse: the range whose quantisation has the least mean squared error over the observed values
  (clipping error beyond the range plus rounding error within it, step**2 / 12 per value), as
  PyTorch's HistogramObserver chooses it: a 2048-bin histogram over [min, max]; every pair of
  candidate ends (MSE_CANDIDATES per side, on bin edges) is scored at once with prefix sums.
  Where outliers are rare and unimportant it clips them; where they carry much of the signal's
  energy it keeps them (unlike a fixed percentile).
Every range is widened to include 0 so that zero is exact (padding, ReLU).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

METHODS = ("minmax", "percentile", "kl", "mse")
HIST_BINS = {"percentile": 16384, "kl": 2048, "mse": 2048}
MSE_CANDIDATES = 256  # candidate ends per side of the mse search
# KL compares distributions over 2048 bins: with fewer values than this (a classifier's few
# logits) the histogram is mostly empty bins and the search clips nearly everything; minmax then
KL_MIN_VALUES = 8192


@dataclass
class TensorStats:
    """Streaming statistics of one tensor over the calibration samples."""

    low: float = np.inf
    high: float = -np.inf
    count: int = 0
    hist: np.ndarray | None = field(default=None, repr=False)
    edges: tuple[float, float] = (0.0, 0.0)  # histogram range

    def add_minmax(self, x: np.ndarray) -> None:
        if x.size:
            self.low = min(self.low, float(x.min()))
            self.high = max(self.high, float(x.max()))
            self.count += x.size

    def add_histogram(self, x: np.ndarray, method: str) -> None:
        """Second pass (after add_minmax saw every sample): values into the method's histogram."""
        bins = HIST_BINS[method]
        if self.hist is None:
            top = max(abs(self.low), abs(self.high)) if method == "kl" else self.high
            bottom = 0.0 if method == "kl" else self.low
            self.edges = (bottom, top if top > bottom else bottom + 1.0)
            self.hist = np.zeros(bins, np.int64)
        values = np.abs(x) if method == "kl" else x
        h, _ = np.histogram(values.ravel(), bins=bins, range=self.edges)
        self.hist += h


def choose_range(stats: TensorStats, method: str, percentile: float = 99.99) -> tuple[float, float]:
    """The (low, high) range a method picks, 0 included."""
    if stats.count == 0 or not np.isfinite(stats.low):
        return 0.0, 0.0
    low, high = stats.low, stats.high
    if method == "percentile" and stats.hist is not None:
        low, high = _percentile_range(stats, percentile)
    elif method == "kl" and stats.hist is not None and stats.count >= KL_MIN_VALUES:
        levels = 255 if low >= 0 else 128  # one sign: the whole code range on [0, t]
        threshold = kl_threshold(stats.hist, stats.edges[1], levels)
        low, high = max(low, -threshold), min(high, threshold)
    elif method == "mse" and stats.hist is not None:
        low, high = mse_range(stats.hist, stats.edges, levels=255)
    return min(low, 0.0), max(high, 0.0)


def _percentile_range(stats: TensorStats, percentile: float) -> tuple[float, float]:
    assert stats.hist is not None
    cdf = np.cumsum(stats.hist) / max(1, int(stats.hist.sum()))
    bottom, top = stats.edges
    width = (top - bottom) / len(stats.hist)
    tail = (100.0 - percentile) / 100.0
    lo_bin = int(np.searchsorted(cdf, tail, side="right"))
    hi_bin = int(np.searchsorted(cdf, 1.0 - tail, side="left"))
    low = bottom + lo_bin * width
    high = bottom + (hi_bin + 1) * width
    return max(stats.low, low), min(stats.high, high)


def kl_threshold(hist: np.ndarray, top: float, levels: int = 128) -> float:
    """The |x| threshold minimising KL(P || Q) over a histogram of |x| on [0, top].

    For n = levels..bins kept bins: P is hist[:n] with the outliers added to its last bin; Q
    merges hist[:n] into `levels` levels and spreads each level evenly over its non-empty bins.
    With prefix sums every candidate costs O(levels), all candidates computed at once:
    KL = sum p log p / N - log N - sum_l P_l log(share_l / Q) / N, N = all values, Q = the values
    in hist[:n], P_l the mass of P in level l, share_l = level l's hist mass per non-empty bin."""
    h = hist.astype(np.float64)
    bins = len(h)
    total = h.sum()
    if total == 0 or bins <= levels:
        return top
    width = top / bins
    mass = np.concatenate(([0.0], np.cumsum(h)))
    nonzero = np.concatenate(([0], np.cumsum(h > 0)))
    plogp = np.concatenate(([0.0], np.cumsum(np.where(h > 0, h * np.log(np.maximum(h, 1)), 0.0))))
    n = np.arange(levels, bins + 1)[:, None]  # candidates
    edges = (np.arange(levels + 1)[None, :] * n) // levels  # level l covers [edges_l, edges_l+1)
    start, end = edges[:, :-1], edges[:, 1:]
    merged = mass[end] - mass[start]
    counts = (nonzero[end] - nonzero[start]).astype(np.float64)
    outliers = total - mass[n[:, 0]]
    last = h[n[:, 0] - 1] + outliers  # P's last bin
    counts[:, -1] += (h[n[:, 0] - 1] == 0) & (outliers > 0)
    p_level = merged.copy()
    p_level[:, -1] += outliers
    kept = np.maximum(mass[n[:, 0]], 1.0)  # Q's total (0 only where every value is beyond)
    share = np.divide(merged, counts, out=np.zeros_like(merged), where=counts > 0)
    q_norm = np.maximum(share / kept[:, None], 1e-4 / n)  # smoothed, as onnxruntime does
    cross = (p_level * np.log(q_norm)).sum(axis=1)  # p_level >= 0 and q_norm > 0: finite
    plast = np.where(last > 0, last * np.log(np.maximum(last, 1)), 0.0)
    self_term = plogp[n[:, 0] - 1] + plast
    divergence = self_term / total - np.log(total) - cross / total
    divergence[mass[n[:, 0]] == 0] = np.inf  # nothing kept below this threshold
    best = int(n[int(np.argmin(divergence)), 0])
    return (best + 0.5) * width if best < bins else top


def mse_range(
    hist: np.ndarray, edges: tuple[float, float], levels: int = 255
) -> tuple[float, float]:
    """The (low, high) minimising the quantisation MSE of a histogram over edges (0 included).

    Values are taken at their bin centres. For a candidate [a, b] (a <= 0 <= b) the error is
    sum over values v < a of (a - v)**2, over v > b of (v - b)**2, plus (b - a)**2 / levels**2 / 12
    per value inside. Tail sums come from prefix sums of count, sum v and sum v**2."""
    h = hist.astype(np.float64)
    bins = len(h)
    bottom, top = edges
    width = (top - bottom) / bins
    centres = bottom + (np.arange(bins) + 0.5) * width
    c0 = np.concatenate(([0.0], np.cumsum(h)))
    c1 = np.concatenate(([0.0], np.cumsum(h * centres)))
    c2 = np.concatenate(([0.0], np.cumsum(h * centres**2)))
    total = c0[-1]
    if total == 0:
        return min(bottom, 0.0), max(top, 0.0)
    zero = int(np.clip(np.floor((0.0 - bottom) / width), 0, bins))  # the bin edge at or below 0
    lo = np.unique(np.linspace(0, zero, MSE_CANDIDATES).round().astype(int))  # edges a
    hi = np.unique(np.linspace(max(zero, 1), bins, MSE_CANDIDATES).round().astype(int))  # edges b
    a = bottom + lo * width
    b = bottom + hi * width
    # below a: values in bins [0, lo); above b: bins [hi, bins)
    below = c2[lo] - 2 * a * c1[lo] + a * a * c0[lo]
    above = (c2[-1] - c2[hi]) - 2 * b * (c1[-1] - c1[hi]) + b * b * (total - c0[hi])
    inside = c0[hi][None, :] - c0[lo][:, None]
    step = (b[None, :] - a[:, None]) / levels
    error = below[:, None] + above[None, :] + inside * step * step / 12.0
    i, j = np.unravel_index(int(np.argmin(error)), error.shape)
    low = float(a[i]) if lo[i] > 0 else bottom
    high = float(b[j]) if hi[j] < bins else top
    return min(low, 0.0), max(high, 0.0)
