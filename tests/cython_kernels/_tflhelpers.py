"""One-node tflite::* graphs (NHWC, TFLite's filter layouts) run on cython and on the reference."""

from __future__ import annotations

from typing import Any

import numpy as np
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer

F32 = np.float32


def tfl_graph(op: str, x: np.ndarray, constants: list[np.ndarray | None], **attrs: Any) -> Graph:
    """A graph of one tflite::`op` node reading graph input x then `constants` (None: absent)."""
    names = ["x"] + [f"c{i}" if v is not None else "" for i, v in enumerate(constants)]
    while names[-1] == "":
        names.pop()
    inits = {f"c{i}": v for i, v in enumerate(constants) if v is not None}
    node = Node(op, names, ["y"], dict(attrs), name="n", domain="tflite")
    return Graph(
        [node], [Value("x", x.dtype.name, x.shape)], [Value("y")], inits,
        opsets={"": 21, "tflite": 1},
    )  # fmt: skip


def run_tfl_exact(
    op: str, x: np.ndarray, constants: list[np.ndarray | None], threads: int, **attrs: Any
) -> np.ndarray:
    """Runs the node on cython (asserting it ran there and no call declined) and on the
    reference; asserts bit-identical outputs; returns cython's."""
    ours = gossamer.load(tfl_graph(op, x, constants, **attrs), backends=["cython"],
                         threads=threads, optimize=0)  # fmt: skip
    ref = gossamer.load(tfl_graph(op, x, constants, **attrs), backends=[], optimize=0)
    assert set(ours.placement.backend_of.values()) == {"cython"}, ours.placement.declined
    (got,), (want,) = ours.run(None, {"x": x}), ref.run(None, {"x": x})
    assert not ours.runtime_fallbacks, ours.runtime_fallbacks
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    return got


def ints(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    info = np.iinfo(dtype)
    return rng.integers(int(info.min), int(info.max) + 1, size=shape).astype(dtype)


def qparams(
    rng: np.random.Generator, dtype: str, channels: int, per_channel: bool, bias: bool, k: int
) -> list[np.ndarray | None]:
    """[x_scale, x_zp, (weights: None), w_scale, w_zp, y_scale, y_zp, bias] for a product over
    k terms, TFLite-like (int8 weights symmetric, uint8 asymmetric); the output scale is spread
    around the accumulators' spread, so outputs range from mostly saturated to mostly not."""
    info = np.iinfo(dtype)
    x_zp = np.array(rng.integers(int(info.min), int(info.max) + 1), np.int32)
    w_zp = np.array(0 if dtype == "int8" else rng.integers(0, 256), np.int32)
    w_scale = rng.uniform(0.002, 0.05, channels if per_channel else 1).astype(F32)
    x_scale = np.array(rng.uniform(0.005, 0.1), F32)
    spread = 6000.0 * np.sqrt(k)  # of sum_k (x - x_zp) * (w - w_zp)
    y_scale = np.array(x_scale * w_scale.mean() * spread / 60 * 10 ** rng.uniform(-1, 1), F32)
    if not per_channel:
        w_scale = w_scale.reshape(())
    y_zp = np.array(rng.integers(int(info.min), int(info.max) + 1), np.int32)
    b = rng.integers(-spread, spread, channels).astype(np.int32) if bias else None
    return [x_scale, x_zp, None, w_scale, w_zp, y_scale, y_zp, b]
