"""1x1 convolutions (stride 1, no padding, one group) as kernels generated per layer.

y[img, m, p] = act(sum_k w[m, k] * x[img, k, p] + bias[m] + res[img, m, p]), read in NCHW
as it lies: a work-item computes a tile of MT output channels x 8*NV pixels in float8
accumulators, streaming the input rows it needs (no im2col, no packing). Every integer (K, the
channel counts, the plane size, the tile, the epilogue's flags and activation) is a literal, so
the compiler drops the bounds checks a full tile does not need (the reduction is unrolled only
twice: left to the compiler, unrolling K up to 960 made PoCL's first compile of
ppocr_mobile_v2_cls's 1x1 layers 47 s instead of 34 s at load 6, for no measured speed): the
short reductions of MobileNet-style pointwise layers (K = 16..160 channels over thousands of
pixels) spent much of the library GEMM's time in its loop and epilogue bookkeeping.
Weights are packed per tile of MT channels, [ceil(M/MT)][K][MT] zero padded, so the channel
tile's weights for one k are adjacent; rows past M compute on zeros and are not stored, pixels
past the plane read the next row (or buffer slack) and are not stored.
"""

from __future__ import annotations

import numpy as np

from ..builder import Builder, f32

# float16 accumulators (`source`'s wide): None where the device's native float vector width is
# 16 or more (PoCL on AVX-512), else as set (tests run both)
WIDE: bool | None = None

HEAD = """(__global const data_t* restrict x, __global const data_t* restrict w,
    __global data_t* restrict y, __global const data_t* restrict bias,
    __global const data_t* restrict res, const float p0, const float p1,
    __global const data_t* restrict slope) {"""


def tile(m: int, k: int, p: int) -> tuple[int, int]:
    """(channels, float8 vectors of pixels) a work-item computes: 6x16 fills AVX2's 16 registers
    (12 accumulators, 2 input vectors, a broadcast weight); planes under 64 pixels take 8-pixel
    rows of 12 channels instead, so a 7x7 plane pads 49 to 56 rather than 64 pixels."""
    if p < 64 and p % 16 and m >= 12:
        return 12, 1
    return 6, 2


def pack(w: np.ndarray, mt: int) -> np.ndarray:
    """w[M, K] -> [ceil(M/mt)][K][mt], zero padded."""
    m, k = w.shape
    tiles = -(-m // mt)
    padded = np.zeros((tiles * mt, k), np.float32)
    padded[:m] = w
    return np.ascontiguousarray(padded.reshape(tiles, mt, k).transpose(0, 2, 1))


def source(
    m: int,
    k: int,
    p: int,
    mt: int,
    nv: int,
    has_bias: bool,
    has_res: bool,
    act: int,
    slope_mode: int,
    wide: bool = False,
) -> str:
    """The kernel's text after its name (see the module docstring); act is an activate8 code.
    `wide` (with nv even): the accumulators are float16, two float8 vectors of pixels each, so a
    device with 512-bit vectors (PoCL on AVX-512) runs the reduction at its full width; the
    epilogue still works on their float8 halves."""
    width = 8 * nv
    wide = wide and nv % 2 == 0
    lanes, vectors = (16, nv // 2) if wide else (8, nv)
    acc16 = [[f"a{i}_{j}" for j in range(vectors)] for i in range(mt)]
    if wide:  # the epilogue's float8 vector h is a half of a float16 accumulator
        half = ("lo", "hi")
        acc = [[f"{row[h // 2]}.{half[h % 2]}" for h in range(nv)] for row in acc16]
    else:
        acc = acc16
    lines = [
        HEAD,
        f"  const int n0 = get_global_id(0) * {width}, t = get_global_id(1);",
        f"  if (n0 >= {p} || t >= {-(-m // mt)}) return;",
        f"  const int m0 = t * {mt};",
        f"  __global const data_t* xp = x + get_global_id(2) * {k * p} + n0;",
        f"  __global const data_t* wp = w + t * {k * mt};",
        f"  float{lanes} " + ", ".join(f"{a} = 0.0f" for row in acc16 for a in row) + ";",
        "  #pragma unroll 2",
        f"  for (int k = 0; k < {k}; ++k, xp += {p}, wp += {mt}) {{",
    ]
    lines += [f"    const float{lanes} b{h} = LD{lanes}(xp, {h});" for h in range(vectors)]
    for i in range(mt):
        lines.append(f"    const float w{i} = LD(wp, {i});")
        lines += [
            f"    {acc16[i][h]} = fma((float{lanes})(w{i}), b{h}, {acc16[i][h]});"
            for h in range(vectors)
        ]
    lines.append("  }")
    lines.append(f"  const int o = get_global_id(2) * {m * p} + m0 * {p} + n0;")
    partial = p % width != 0
    if partial:
        lines.append(f"  const int full = n0 + {width} <= {p};")
    for i in range(mt):
        guard = f"m0 + {i} < {m}" if m % mt else ""
        body = []
        for h in range(nv):
            at = f"o + {i * p + 8 * h}"
            left = f"{p} - n0 - {8 * h}"  # pixels of this vector within the plane
            body.append(f"{{ float8 v = {acc[i][h]};")
            if has_bias:
                body.append(f"  v += (float8)(LD(bias, m0 + {i}));")
            if has_res and not partial:
                body.append(f"  v += LD8(res + {at}, 0);")
            elif has_res:  # an edge tile reads the residual lane by lane, within the plane
                body.append(f"  if (full) v += LD8(res + {at}, 0);")
                body.append("  else { float r[8] = {0.0f};")
                body.append(
                    f"    for (int j = 0; j < 8 && j < {left}; ++j) r[j] = LD(res, {at} + j);"
                )
                body.append("    v += vload8(0, r); }")
            if slope_mode:
                body.append(f"  v = select(v, (float8)(LD(slope, m0 + {i})) * v, v < 0.0f);")
            body.append(f"  activate8(&v, {act}, p0, p1);")
            if not partial:
                body.append(f"  ST8(v, y + {at}, 0); }}")
                continue
            body.append(f"  if (full) ST8(v, y + {at}, 0);")  # else the stores within the plane
            body.append("  else { float l[8]; vstore8(v, 0, l);")
            body.append(
                f"    for (int j = 0; j < 8 && j < {left}; ++j) ST(l[j], y, {at} + j); }} }}"
            )
        body = [b for b in body if b]
        if guard:
            lines.append(f"  if ({guard}) {{")
            lines += ["    " + b for b in body]
            lines.append("  }")
        else:
            lines += ["  " + b for b in body]
    lines.append("}")
    return "\n".join(lines) + "\n"


def lower_pointwise(
    bld: Builder,
    wn: str,
    w: np.ndarray,
    x: object,
    y: object,
    shape: tuple[int, int, int, int],
    epilogue: tuple,
) -> None:
    """Launches the generated 1x1 convolution: shape (images, M, K, pixels); epilogue (bias,
    res, act (code, p0, p1), slope, slope_mode) as lower_conv has them."""
    n_img, m, k, p = shape
    bias, res, act, slope, smode = epilogue
    mt, nv = tile(m, k, p)
    wk = bld.weight(f"{wn}::pointwise{mt}", pack(w.reshape(m, k), mt))
    wide = bld.vector_width >= 16 if WIDE is None else WIDE
    text = source(m, k, p, mt, nv, bias is not None, res is not None, act[0], smode, wide)
    name = bld.generate("pointwise", text)
    args = [x, wk, y, bias, res, f32(act[1]), f32(act[2]), slope]
    gsize = (-(-p // (8 * nv)), -(-m // mt), n_img)
    bld.launch(name, gsize, args, program="gen", family="pointwise (generated)")
