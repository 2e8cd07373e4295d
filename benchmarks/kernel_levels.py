"""Per-kernel timings of the C kernels at every SIMD level, to compare two builds of the extension.

Each case calls one wrapper of the extension module (`gossamer.cython_kernels._ext`, or a given
.so file) on float32 data of realistic CNN / transformer sizes: the GEMM and its epilogue, the
depthwise, direct and Winograd convolutions, pooling, element-wise ops, Softmax / LayerNorm rows,
the LSTM / GRU recurrences, the layout copies (transpose, concat, gather), ConvTranspose's col2im
and Resize. Only the wrapper call is timed (time.perf_counter_ns around each call, after a few
warm-up calls); inputs, packed weights and work buffers are prepared once per case and level. The
result per kernel and level is the median and the minimum of --repeat calls, in microseconds. A
level the CPU lacks is skipped (listed under "skipped_levels"); a case that raises records
{"error": ...}; a kernel that declines at a level (conv_direct returning False) records null.

    .venv/bin/python benchmarks/kernel_levels.py --ext /tmp/ext_before/_ext.cpython-311-x86_64-linux-gnu.so --out /tmp/kl_before.json
    .venv/bin/python benchmarks/kernel_levels.py --out /tmp/kl_after.json            # the installed gossamer.cython_kernels._ext
    .venv/bin/python benchmarks/kernel_levels.py --compare /tmp/kl_before.json /tmp/kl_after.json   # markdown table of after/before ratios per kernel and level

The JSON written: {"machine": {...}, "config": {...}, "skipped_levels": {...},
"kernels": {kernel: {level: {"median_us", "min_us"} | {"error"} | null}}}. Run nothing else
heavy meanwhile; single runs on a shared machine still move by several percent.
"""  # noqa: E501

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib.util
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from types import ModuleType
from typing import Any

import numpy as np

# libgomp reads this when the extension loads (as gossamer.cython_kernels._native sets it)
os.environ.setdefault("GOMP_SPINCOUNT", "300000")

F32 = np.float32
INF = float("inf")
LEVELS = ("generic", "avx2+fma", "avx512f")  # SIMD_LEVELS of the extension: index = position
RELU6 = (0.0, 6.0, True)  # (lo, hi, clip) of MobileNet's fused Relu6
RELU = (0.0, INF, True)
NO_CLIP = (-INF, INF, False)

Setup = Callable[[ModuleType, int], Callable[[], Any]]
CASES: list[tuple[str, Setup]] = []  # (kernel name, setup(ext, threads) -> the timed call)


def case(name: str) -> Callable[[Setup], Setup]:
    """Registers setup(ext, threads): it prepares one case's data and returns the call to time."""

    def register(setup: Setup) -> Setup:
        CASES.append((name, setup))
        return setup

    return register


def _rand(*shape: int, scale: float = 1.0) -> np.ndarray:
    return (np.random.default_rng(sum(shape) + len(shape)).standard_normal(shape) * scale).astype(
        F32
    )


def _out(n: int, k: int, s: int, p: int) -> int:
    """Output length of a window of k taps, stride s, pads p on each side."""
    return (n + 2 * p - k) // s + 1


# ---- GEMM ---------------------------------------------------------------------------------------


def _packed_a(ext: ModuleType, a: np.ndarray, threads: int) -> np.ndarray:
    out = np.empty(ext.packed_a_size(*a.shape), F32)
    ext.pack_a(a, out, threads)
    return out


def _packed_b(ext: ModuleType, b: np.ndarray, threads: int) -> np.ndarray:
    out = np.empty(ext.packed_b_size(*b.shape), F32)
    ext.pack_b(b, out, threads)
    return out


@case("gemm_ep/conv1x1_m144_k24_n3136")
def gemm_conv1x1(ext: ModuleType, t: int) -> Callable[[], Any]:
    """MobileNetV2's 24 -> 144 expansion 1x1 conv on 56x56: packed weights @ the packed plane."""
    m, k, n = 144, 24, 56 * 56
    ap, bp = _packed_a(ext, _rand(m, k), t), _packed_b(ext, _rand(k, n), t)
    c = np.empty((m, n), F32)
    lo, hi, clip = RELU6
    ep = ext.Epilogue(bias_row=_rand(m), clip=clip, lo=lo, hi=hi)
    return lambda: ext.gemm_ep(m, n, k, ap, bp, c, ep, t)


@case("gemm_ep/square_384")
def gemm_square(ext: ModuleType, t: int) -> Callable[[], Any]:
    m = k = n = 384
    ap, bp = _packed_a(ext, _rand(m, k), t), _packed_b(ext, _rand(k, n), t)
    c = np.empty((m, n), F32)
    ep = ext.Epilogue()
    return lambda: ext.gemm_ep(m, n, k, ap, bp, c, ep, t)


@case("gemm_a/128x768x768_bias_gelu")
def gemm_a_gelu(ext: ModuleType, t: int) -> Callable[[], Any]:
    """A transformer FFN-like layer: activations (by strides) @ packed weights, bias + GELU."""
    m, k, n = 128, 768, 768
    a, bp = _rand(m, k), _packed_b(ext, _rand(k, n, scale=k**-0.5), t)
    c = np.empty((m, n), F32)
    ep = ext.Epilogue(bias_col=_rand(n), act=6)  # GK_ACT_GELU
    return lambda: ext.gemm_a(a, bp, n, c, ep, t)


@case("epilogue_apply/sigmoid_256x1024")
def epilogue_sigmoid(ext: ModuleType, t: int) -> Callable[[], Any]:
    y = _rand(256, 1024)  # in place: sigmoid keeps the values in (0, 1)
    ep = ext.Epilogue(act=1)  # GK_ACT_SIGMOID
    return lambda: ext.epilogue_apply(y, ep, t)


@case("matmul_batched/12x128x64x128")
def matmul_attention(ext: ModuleType, t: int) -> Callable[[], Any]:
    """Attention scores of 12 heads: Q (128 x 64) @ K^T (64 x 128)."""
    a, b = _rand(12, 128, 64), _rand(12, 64, 128)
    c = np.empty((12, 128, 128), F32)
    return lambda: ext.matmul_batched(a, b, c, t)


@case("pack_b_conv/3x3s1_64x56x56")
def pack_b_conv(ext: ModuleType, t: int) -> Callable[[], Any]:
    """im2col of a 3x3 stride-1 pad-1 conv's input straight into packed-B panels."""
    c, h, w = 64, 56, 56
    x = _rand(c, h, w)
    out = np.empty(ext.packed_b_size(c * 9, h * w), F32)
    return lambda: ext.pack_b_conv(x, 3, 3, 1, 1, 1, 1, 1, 1, h, w, out, t)


# ---- convolutions -------------------------------------------------------------------------------


def _depthwise(c: int, h: int, k: int, s: int) -> Setup:
    def setup(ext: ModuleType, t: int) -> Callable[[], Any]:
        p, oh = k // 2, _out(h, k, s, k // 2)
        x, wt, bias = _rand(1, c, h, h), _rand(c * k * k), _rand(c)
        y = np.empty((1, c, oh, oh), F32)
        return lambda: ext.depthwise(x, wt, k, k, s, s, 1, 1, p, p, bias, *RELU6, y, t)

    return setup


case("depthwise/3x3s1_96x56x56")(_depthwise(96, 56, 3, 1))  # the row path
case("depthwise/3x3s1_576x14x14")(_depthwise(576, 14, 3, 1))  # small planes
case("depthwise/3x3s2_96x112x112")(_depthwise(96, 112, 3, 2))
case("depthwise/5x5s1_240x28x28")(_depthwise(240, 28, 5, 1))


@case("conv_direct/stem_3to32_3x3s2_224")
def conv_direct_stem(ext: ModuleType, t: int) -> Callable[[], Any]:
    """MobileNetV2's stem (3 -> 32, 3x3 stride 2 pad 1) with the weights as conv_kernels.py's
    _direct_weights lays them out: (C*kh*kw) x ldw, ldw a multiple of 16."""
    m, c, h = 32, 3, 224
    oh = _out(h, 3, 2, 1)
    w = _rand(m, c, 3, 3)
    w_direct = np.zeros((c * 9, -(-m // 16) * 16), F32)
    w_direct[:, :m] = w.reshape(m, -1).T
    x, bias = _rand(1, c, h, h), _rand(m)
    y = np.empty((1, m, oh, oh), F32)
    work = np.empty(max(ext.conv_direct_work(c, h, h, 3, 3, 2, 2, 1, 1, 1, 1, oh, oh), 1), F32)
    return lambda: ext.conv_direct(x, w_direct, 3, 3, 2, 2, 1, 1, 1, 1, bias, *RELU6, y, work, t)


# Winograd's G for F(4x4, 3x3) and F(2x2, 3x3), as conv_kernels.py's _G
WINOGRAD_G = {
    4: np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                 [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], np.float64),
    2: np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float64),
}  # fmt: skip


def _winograd(mt: int, c: int, h: int) -> Setup:
    """A 3x3 stride-1 pad-1 conv c -> c on h x h by F(mt x mt, 3x3), set up as conv_kernels.py
    does (transformed weights packed per tap, its chunk and work size), bias + Relu."""

    def setup(ext: ModuleType, t: int) -> Callable[[], Any]:
        m, a2 = c, (mt + 2) ** 2
        u = np.empty((a2, m, c), F32)
        ext.winograd_weights(_rand(m, c, 3, 3, scale=(9 * c) ** -0.5), WINOGRAD_G[mt], u, t)
        size = ext.packed_a_size(m, c)
        packed = np.empty(a2 * size, F32)
        for k in range(a2):
            ext.pack_a(u[k], packed[k * size : (k + 1) * size], t)
        chunk = max(64, (3 << 19) // (a2 * (c + m)) // 16 * 16)
        work = np.empty(ext.winograd_work(mt, c, m, h, h, chunk, t), F32)
        x, bias = _rand(1, c, h, h), _rand(m)
        y = np.empty((1, m, h, h), F32)
        return lambda: ext.winograd_conv(mt, x, 1, 1, packed, m, bias, *RELU, y, work, chunk, t)

    return setup


case("winograd_conv/f4_64to64_56x56")(_winograd(4, 64, 56))
case("winograd_conv/f2_64to64_56x56")(_winograd(2, 64, 56))
case("winograd_conv/f2_64to64_28x28")(_winograd(2, 64, 28))


# ---- pooling ------------------------------------------------------------------------------------


def _pool_fn(ext: ModuleType) -> Callable[..., Any]:
    """The full pooling path: the old build's pool2d_poly (its pool2d was the row passes only),
    the new build's pool2d."""
    return getattr(ext, "pool2d_poly", None) or ext.pool2d


@case("pool2d/max3x3s2_64x112x112")
def pool_max(ext: ModuleType, t: int) -> Callable[[], Any]:
    x = _rand(64, 112, 112)
    oh = _out(112, 3, 2, 1)
    y = np.empty((64, oh, oh), F32)
    pool = _pool_fn(ext)
    return lambda: pool(True, x, 3, 3, 2, 2, 1, 1, 1, 1, None, None, y, t)


@case("pool2d/avg3x3s1_256x14x14")
def pool_avg(ext: ModuleType, t: int) -> Callable[[], Any]:
    """count_include_pad 0: the divisor tables as pool_kernels.py builds them."""
    from gossamer.refimpl.op_geometry import window_tap_counts

    h, p = 14, 1
    oh = _out(h, 3, 1, p)
    cnt = np.ascontiguousarray(window_tap_counts(h, oh, 3, 1, 1, p, p + h), F32)
    x, y = _rand(256, h, h), np.empty((256, oh, oh), F32)
    pool = _pool_fn(ext)
    return lambda: pool(False, x, 3, 3, 1, 1, 1, 1, p, p, cnt, cnt, y, t)


@case("global_avg/1280x49")
def global_avg(ext: ModuleType, t: int) -> Callable[[], Any]:
    x, y = _rand(1280, 49), np.empty(1280, F32)
    return lambda: ext.global_avg(x, y, t)


# ---- element-wise -------------------------------------------------------------------------------

MILLION = 1 << 20


@case("binary/add_1M")
def binary_add(ext: ModuleType, t: int) -> Callable[[], Any]:
    a, b, y = _rand(MILLION), _rand(MILLION, scale=2), np.empty(MILLION, F32)
    return lambda: ext.binary(0, a, b, y, 1, 1, MILLION, True, True, True, False, t)


@case("binary/add_per_channel_256x3136")
def binary_add_channel(ext: ModuleType, t: int) -> Callable[[], Any]:
    """(1, 256, 56, 56) + (256, 1, 1): b broadcast over the inner axis."""
    c, hw = 256, 56 * 56
    a, b, y = _rand(c * hw), _rand(c), np.empty(c * hw, F32)
    return lambda: ext.binary(0, a, b, y, 1, c, hw, True, True, False, False, t)


def _unary(op: int) -> Setup:
    def setup(ext: ModuleType, t: int) -> Callable[[], Any]:
        x, y = _rand(MILLION, scale=3), np.empty(MILLION, F32)
        return lambda: ext.unary(op, x, y, 0.0, 0.0, t)

    return setup


# op codes of src/elementwise.h (gk_unary)
for _name, _op in (("relu", 0), ("sigmoid", 2), ("tanh", 3), ("gelu", 5), ("hardswish", 9)):
    case(f"unary/{_name}_1M")(_unary(_op))


@case("channel_affine/256x3136")
def channel_affine(ext: ModuleType, t: int) -> Callable[[], Any]:
    c, hw = 256, 56 * 56
    x, scale, shift, y = _rand(c * hw), _rand(c), _rand(c), np.empty(c * hw, F32)
    return lambda: ext.channel_affine(x, scale, shift, y, 1, c, hw, t)


# ---- normalisation ------------------------------------------------------------------------------


@case("softmax_rows/512x1000")
def softmax(ext: ModuleType, t: int) -> Callable[[], Any]:
    x, y = _rand(512, 1000, scale=3), np.empty((512, 1000), F32)
    return lambda: ext.softmax_rows(x, y, t)


@case("layernorm_rows/256x768")
def layernorm(ext: ModuleType, t: int) -> Callable[[], Any]:
    rows, n = 256, 768
    x, scale, bias, y = _rand(rows, n), _rand(n), _rand(n), np.empty((rows, n), F32)
    mean, inv_std = np.empty(rows, F32), np.empty(rows, F32)
    return lambda: ext.layernorm_rows(x, scale, bias, y, mean, inv_std, 1e-5, t)


# ---- recurrences (as rnn_kernels.py calls them: one direction, layout 0, all steps) ------------

HIDDEN, STEPS = 256, 64


def _packed_r(ext: ModuleType, r: np.ndarray, gates: int) -> np.ndarray:
    out = np.empty(ext.rnn_packed_size(gates, HIDDEN), F32)
    ext.rnn_pack(r, gates, HIDDEN, out)
    return out


@case("lstm/h256_b1_t64")
def lstm(ext: ModuleType, t: int) -> Callable[[], Any]:
    ext.rnn_team_policy(False)
    h = HIDDEN
    xw = _rand(STEPS, 4 * h)  # X W^T + Wb + Rb of every step
    rp = _packed_r(ext, _rand(4 * h, h, scale=h**-0.5), 4)
    peep = np.zeros(3 * h, F32)
    y, yh, yc = np.empty(STEPS * h, F32), np.empty(h, F32), np.empty(h, F32)
    return lambda: ext.lstm(
        xw, STEPS, 1, h, 1, False, 0, None, y, None, None, yh, yc, rp, peep, False, -INF, INF, t
    )


def _gru(lbr: int) -> Setup:
    def setup(ext: ModuleType, t: int) -> Callable[[], Any]:
        ext.rnn_team_policy(False)
        h = HIDDEN
        xw = _rand(STEPS, 3 * h)
        r = _rand(3 * h, h, scale=h**-0.5)
        rzr, rh = _packed_r(ext, r, 2), _packed_r(ext, r[2 * h :], 1)
        rbh = _rand(h)
        y, yh = np.empty(STEPS * h, F32), np.empty(h, F32)
        return lambda: ext.gru(
            xw, STEPS, 1, h, 1, False, 0, None, y, None, yh, rzr, rh, rbh, lbr, -INF, INF, t
        )

    return setup


case("gru/h256_b1_t64_lbr0")(_gru(0))
case("gru/h256_b1_t64_lbr1")(_gru(1))


# ---- layout -------------------------------------------------------------------------------------


@case("transpose_into/nchw_to_nhwc_64x56x56")
def transpose(ext: ModuleType, t: int) -> Callable[[], Any]:
    x, y = _rand(1, 64, 56, 56), np.empty((1, 56, 56, 64), F32)
    return lambda: ext.transpose_into(x, (0, 2, 3, 1), y, t)


@case("concat_into/4x64x28x28_axis1")
def concat(ext: ModuleType, t: int) -> Callable[[], Any]:
    xs = [_rand(1, 64, 28, 28, scale=i + 1) for i in range(4)]
    y = np.empty((1, 256, 28, 28), F32)
    return lambda: ext.concat_into(xs, 1, y, t)


@case("gather_rows/30000x384_4096_int64")
def gather(ext: ModuleType, t: int) -> Callable[[], Any]:
    """An embedding lookup: 4096 token ids into a 30000 x 384 table."""
    dim, row, n = 30000, 384, 4096
    table = _rand(dim, row)
    idx = np.random.default_rng(1).integers(0, dim, n, dtype=np.int64)
    y = np.empty((n, row), F32)
    return lambda: ext.gather_rows(table, idx, y, 1, dim, row * 4, t)


# ---- upsampling ---------------------------------------------------------------------------------


@case("col2im/convT_64to32_k4s2_28to56")
def col2im(ext: ModuleType, t: int) -> Callable[[], Any]:
    """ConvTranspose 64 -> 32, 4x4 stride 2 pads 1 (28x28 -> 56x56): the taps of the GEMM's
    cols (32*4*4 x 28*28) added into the output with the bias."""
    m, k, s, p, h = 32, 4, 2, 1, 28
    oh = s * (h - 1) + k - 2 * p
    cols, bias = _rand(m * k * k * h * h), _rand(m)
    y = np.empty((m, oh, oh), F32)
    n_work = ext.col2im_work(s, s, oh, oh, t)
    work = np.empty(n_work, F32) if n_work else None
    return lambda: ext.col2im(cols, m, h, h, k, k, s, s, 1, 1, p, p, bias, y, work, t)


def _resize_tables(mode: str, in_len: int, out_len: int) -> tuple:
    """One axis's resize2d arguments (taps, indices, weights, outside mask) as resize_kernels.py
    builds them for Resize-13 defaults (half_pixel, round_prefer_floor) and scale out/in."""
    from gossamer.refimpl.op_geometry import resize_source_coords, resize_taps

    opts = {"mode": mode, "nearest_mode": "round_prefer_floor", "cubic_coeff_a": -0.75,
            "antialias": 0, "exclude_outside": 0}  # fmt: skip
    scale = out_len / in_len
    coords, _ = resize_source_coords("half_pixel", out_len, in_len, scale, (0.0, 1.0))
    idx, w = resize_taps(coords.astype(np.float64), in_len, scale, opts)
    idx = np.ascontiguousarray(idx.astype(np.int32).T).reshape(-1)  # tap-major
    wt = None if mode == "nearest" else np.ascontiguousarray(w.T, np.float64).reshape(-1)
    return (w.shape[1], idx, wt, None)


def _resize(mode: str) -> Setup:
    def setup(ext: ModuleType, t: int) -> Callable[[], Any]:
        p, h = 64, 56
        axis = _resize_tables(mode, h, 2 * h)
        x, y = _rand(p, h, h), np.empty((p, 2 * h, 2 * h), F32)
        return lambda: ext.resize2d(x, y, *axis, *axis, 0.0, t)

    return setup


case("resize2d/nearest_2x_64x56x56")(_resize("nearest"))
case("resize2d/bilinear_2x_64x56x56")(_resize("linear"))


# ---- running ------------------------------------------------------------------------------------


def load_ext(path: str | None) -> ModuleType:
    """The given .so as a standalone module `_ext` (its init function is PyInit__ext), else the
    installed gossamer.cython_kernels._ext."""
    if path is None:
        import gossamer.cython_kernels._ext as ext  # type: ignore[import-not-found]

        return ext
    spec = importlib.util.spec_from_file_location("_ext", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path} as an extension module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def time_call(fn: Callable[[], Any], warmup: int, repeat: int) -> dict[str, float] | None:
    """Median and min microseconds of `repeat` calls after `warmup` ones; None if the kernel
    declined (returned False: conv_direct at a level without its kernel)."""
    for _ in range(warmup):
        if fn() is False:
            return None
    samples = []
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter_ns()
            fn()
            samples.append(time.perf_counter_ns() - start)
    finally:
        gc.enable()
    return {
        "median_us": round(statistics.median(samples) / 1e3, 2),
        "min_us": round(min(samples) / 1e3, 2),
    }


def machine_info(ext: ModuleType) -> dict[str, Any]:
    path = getattr(ext, "__file__", "") or ""
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu
            )
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "cpu_has_avx2_fma": bool(ext.cpu_has_avx2_fma()),
        "cpu_has_avx512f": bool(ext.cpu_has_avx512f()),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "ext": path,
        "ext_sha256": digest,
        "ext_mtime": datetime.fromtimestamp(os.path.getmtime(path), timezone.utc).isoformat(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "loadavg_at_start": [round(v, 2) for v in os.getloadavg()],  # other work on the machine
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    ext = load_ext(args.ext)
    names = getattr(ext, "SIMD_LEVELS", LEVELS)
    levels = [v.strip() for v in args.levels.split(",") if v.strip()]
    unknown = [v for v in levels if v not in names]
    if unknown:
        raise SystemExit(f"unknown level(s) {unknown}: the extension has {list(names)}")
    cases = [(n, s) for n, s in CASES if not args.only or any(o in n for o in args.only.split(","))]
    if args.threads > 1 and hasattr(ext, "threads_start"):
        ext.threads_start(args.threads)
    pool = "pool2d_poly" if hasattr(ext, "pool2d_poly") else "pool2d"
    result: dict[str, Any] = {
        "machine": machine_info(ext),
        "config": {
            "threads": args.threads,
            "repeat": args.repeat,
            "warmup": args.warmup,
            "levels": levels,
            "pool2d_wrapper": pool,
        },  # fmt: skip
        "skipped_levels": {},
        "kernels": {name: {} for name, _ in cases},
    }
    start = time.perf_counter()
    for level in levels:
        index = names.index(level)
        active = ext.set_simd_index(index)
        if active != index or ext.simd_index() != index:
            why = f"the CPU lacks it (active level: {names[ext.simd_index()]})"
            result["skipped_levels"][level] = why
            print(f"[{level}] skipped: {why}", file=sys.stderr)
            continue
        for name, setup in cases:
            try:
                entry = time_call(setup(ext, args.threads), args.warmup, args.repeat)
            except Exception as err:  # one broken case must not stop the run
                entry = {"error": f"{type(err).__name__}: {err}"}
            result["kernels"][name][level] = entry
            shown = "declined (null)" if entry is None else entry
            print(f"[{level}] {name}: {shown}", file=sys.stderr)
    result["config"]["seconds"] = round(time.perf_counter() - start, 1)
    result["machine"]["loadavg_at_end"] = [round(v, 2) for v in os.getloadavg()]
    return result


# ---- comparing ----------------------------------------------------------------------------------


MISSING = object()  # a kernel or level absent from a run (not run, or the level skipped)


def _state(entry: Any) -> str:
    """Why an entry has no time."""
    if entry is MISSING:
        return "not run"
    if entry is None:
        return "declined"
    return "error" if isinstance(entry, dict) and "error" in entry else "?"


def _cell(before: Any, after: Any) -> tuple[str, float | None]:
    """A table cell 'ratio (before -> after us)' and the ratio (None where either has no time)."""
    b, a = (e.get("median_us") if isinstance(e, dict) else None for e in (before, after))
    if b and a:
        return f"{a / b:.2f} ({b:.0f} → {a:.0f})", a / b
    if before is None and after is None:
        return "declined (both)", None
    parts = [f"{tag}: {_state(e) if t is None else f'{t:.0f}'}"
             for tag, e, t in (("before", before, b), ("after", after, a))]  # fmt: skip
    return "n/a (" + ", ".join(parts) + ")", None


def _timed_levels(res: dict[str, Any]) -> set[str]:
    return set(res["config"]["levels"]) - set(res.get("skipped_levels", {}))


def compare(before_path: str, after_path: str) -> str:
    with open(before_path) as f:
        before = json.load(f)
    with open(after_path) as f:
        after = json.load(f)
    timed = _timed_levels(before) | _timed_levels(after)
    levels = [v for v in LEVELS if v in timed]
    kernels = list(before["kernels"]) + [k for k in after["kernels"] if k not in before["kernels"]]
    lines = [
        f"after / before median time per call (< 1: faster), {before['config']['threads']} vs "
        f"{after['config']['threads']} thread(s); cells: ratio (before → after us)",
        "",
        "| kernel | " + " | ".join(levels) + " |",
        "|---|" + "---|" * len(levels),
    ]
    ratios: dict[str, list[float]] = {v: [] for v in levels}
    for k in kernels:
        cells = []
        for v in levels:
            entries = (r["kernels"].get(k, {}).get(v, MISSING) for r in (before, after))
            text, ratio = _cell(*entries)
            cells.append(text)
            if ratio is not None:
                ratios[v].append(ratio)
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    geo = [
        f"{math.exp(sum(map(math.log, r)) / len(r)):.3f} ({len(r)})" if r else "n/a"
        for r in ratios.values()
    ]
    lines.append("| **geometric mean (kernels)** | " + " | ".join(geo) + " |")
    notes = []
    for tag, res in (("before", before), ("after", after)):
        m = res["machine"]
        cfg = res["config"]
        skipped = ", ".join(f"{k}: {v}" for k, v in res.get("skipped_levels", {}).items())
        notes.append(
            f"- {tag}: {m['ext']} (sha256 {m['ext_sha256']}), {m['cpu']}, {cfg['repeat']} calls"
            f", pool2d via {cfg['pool2d_wrapper']}" + (f"; skipped {skipped}" if skipped else "")
        )
    if before["machine"]["cpu"] != after["machine"]["cpu"]:
        notes.append("- **the two runs are from different CPUs: the ratios compare machines**")
    return "\n".join(lines + [""] + notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ext", help="a built _ext .so to load instead of the installed one")
    parser.add_argument("--out", help="write the JSON here (else to stdout)")
    parser.add_argument("--threads", type=int, default=1, help="OpenMP threads per call")
    parser.add_argument("--repeat", type=int, default=250, help="timed calls per kernel and level")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls before them")
    parser.add_argument("--levels", default=",".join(LEVELS), help="comma-separated SIMD levels")
    parser.add_argument("--only", help="comma-separated substrings: run the matching cases only")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"),
                        help="print a markdown table of AFTER/BEFORE ratios and exit")  # fmt: skip
    args = parser.parse_args()
    if args.compare:
        print(compare(*args.compare))
        return
    result = run(args)
    text = json.dumps(result, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
        print(f"wrote {args.out} ({result['config']['seconds']} s)", file=sys.stderr)
    else:
        print(text)


if __name__ == "__main__":
    main()
