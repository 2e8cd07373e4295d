"""Depthwise convolutions as kernels generated per layer, a whole output row a work-item.

A work-item computes row oh of plane ic in float8 accumulators (chunks of CHUNK vectors),
with every tap of every vector written out by the generator: the column offsets, the zero
padding at both ends of the row and the stride-2 lane selection are all resolved here, so an
interior vector is one load and one fma, and a border vector one load and a shuffle with zeros.
The library tile kernel (depthwise_tile.cl, 8 outputs a work-item) took its border path on two of
the seven tiles of a 56-wide row and paid PoCL's cost per work-item on 8 outputs.
Strides 1 and 2 (the vector loads are 8 or 16 wide); rows up to MAX_OW outputs.
"""

from __future__ import annotations

from ..builder import Builder, f32

CHUNK = 12  # accumulators live at once (AVX2 has 16 vector registers)
MAX_OW = 256  # wider rows keep the tile kernel (the generated code grows with the row)

HEAD = """(__global const data_t* restrict x, __global const data_t* restrict w,
    __global data_t* restrict y, __global const data_t* restrict bias,
    __global const data_t* restrict res, const float p0, const float p1,
    __global const data_t* restrict slope) {"""


def eligible(ow: int, sw: int) -> bool:
    return sw in (1, 2) and ow <= MAX_OW


def _vector(t: int, kw: int, W: int, OW: int, sw: int, pw: int, dw: int) -> tuple[str, str] | None:
    """The inputs of output vector t at tap column kw (row pointer `r`): (load, "") where one
    load is them, (load, lanes) at a border (the float8 made of the load's lanes `v` and zeros);
    None when every lane it needs is padding."""
    span = 8 if sw == 1 else 16
    a = 8 * t * sw - pw + kw * dw  # the input column of lane 0
    lanes: list[int | None] = []  # per lane: input column, -1 padding (zero), None not stored
    for j in range(8):
        if 8 * t + j >= OW:
            lanes.append(None)
            continue
        i = a + j * sw
        lanes.append(i if 0 <= i < W else -1)
    if all(v is None or v < 0 for v in lanes):
        return None
    # the load's first column: within the row where it can be, at most 8 columns past its end
    # (buffers have 16 floats of slack; the next row's values land in lanes that are dropped)
    b = max(0, min(max(a, 0), W + 8 - span))
    load = f"LD{span}(r + {b}, 0)" if b else f"LD{span}(r, 0)"
    if b == a and all(v is None or v == a + j * sw for j, v in enumerate(lanes)):
        return (load if sw == 1 else f"{load}.even"), ""
    digits = "0123456789abcdef"
    parts = ["0.0f" if v is None or v < 0 else f"v.s{digits[v - b]}" for v in lanes]
    return load, f"(float8)({', '.join(parts)})"


def _epilogue(
    lines: list[str], acc: str, at: str, n: int, has_bias: bool, has_res: bool, act: int,
    slope_mode: int,
) -> None:  # fmt: skip
    """Bias, residual, PRelu slope and activation on accumulator `acc`, stored at y + o + at
    (n lanes of it within the row)."""
    lines.append(f"    {{ float8 v = {acc};")
    if has_bias:
        lines.append("      v += bv;")
    if has_res and n == 8:
        lines.append(f"      v += LD8(res + o + {at}, 0);")
    elif has_res:
        parts = [f"LD(res, o + {at} + {j})" if j < n else "0.0f" for j in range(8)]
        lines.append(f"      v += (float8)({', '.join(parts)});")
    if slope_mode:
        lines.append("      v = select(v, sv * v, v < 0.0f);")
    lines.append(f"      activate8(&v, {act}, p0, p1);")
    if n == 8:
        lines.append(f"      ST8(v, y + o + {at}, 0); }}")
    else:
        stores = " ".join(f"ST(v.s{j}, y, o + {at} + {j});" for j in range(n))
        lines.append(f"      {stores} }}")


def _row(kh: int, geo: tuple[int, ...]) -> list[str]:
    """Opens the scope of input row kh (pointer r), skipped where it is padding."""
    C, H, W, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw = geo
    return [
        f"    {{ const int ih = oh * {sh} + {kh * dh - ph};",
        f"      if (ih >= 0 && ih < {H}) {{",
        f"        __global const data_t* r = xp + ih * {W};",
    ]


def source(
    geo: tuple[int, ...], planes: int, has_bias: bool, has_res: bool, act: int, slope_mode: int
) -> str:
    """The kernel's text after its name; geo is (C, H, W, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw),
    planes images x C, act an activate8 code."""
    C, H, W, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw = geo
    flags = (has_bias, has_res, act, slope_mode)
    vectors = -(-OW // 8)
    lines = [
        HEAD,
        "  const int oh = get_global_id(0), ic = get_global_id(1);",
        f"  if (oh >= {OH} || ic >= {planes}) return;  // global sizes are rounded up",
        f"  const int c = ic % {C};",
        f"  __global const data_t* xp = x + ic * {H * W};",
        f"  __global const data_t* wp = w + c * {KH * KW};",
        f"  const int o = (ic * {OH} + oh) * {OW};",
    ]
    if has_bias:
        lines.append("  const float8 bv = (float8)(LD(bias, c));")
    if slope_mode:
        lines.append("  const float8 sv = (float8)(LD(slope, c));")
    rest = list(range(vectors))
    for start in range(0, len(rest), CHUNK):
        chunk = rest[start : start + CHUNK]
        lines.append("  {")
        lines.append("    float8 " + ", ".join(f"a{t} = 0.0f" for t in chunk) + ";")
        for kh in range(KH):
            lines += _row(kh, geo)
            for kw in range(KW):
                terms = [(t, _vector(t, kw, W, OW, sw, pw, dw)) for t in chunk]
                terms = [(t, e) for t, e in terms if e is not None]
                if not terms:
                    continue
                lines.append(f"        {{ const float8 k = (float8)(LD(wp, {kh * KW + kw}));")
                for t, (load, lanes) in terms:  # type: ignore[misc]
                    if not lanes:
                        lines.append(f"          a{t} = fma({load}, k, a{t});")
                        continue
                    lines.append(f"          {{ const float{8 * sw} v = {load};")
                    lines.append(f"            a{t} = fma({lanes}, k, a{t}); }}")
                lines.append("        }")
            lines.append("      } }")
        for t in chunk:
            _epilogue(lines, f"a{t}", str(8 * t), min(8, OW - 8 * t), *flags)
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def lower_depthwise_row(
    bld: Builder, x: object, wk: object, y: object, geo: tuple[int, ...], n_img: int, epi: tuple
) -> None:
    """Launches the generated kernel; epi is (bias, res, act (code, p0, p1), slope, slope_mode)."""
    bias, res, act, slope, smode = epi
    text = source(geo, n_img * geo[0], bias is not None, res is not None, act[0], smode)
    name = bld.generate("depthwise_row", text)
    args = [x, wk, y, bias, res, f32(act[1]), f32(act[2]), slope]
    bld.launch(
        name, (geo[3], n_img * geo[0]), args, program="gen", family="depthwise_row (generated)"
    )
