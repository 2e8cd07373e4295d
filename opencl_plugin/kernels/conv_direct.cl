// Direct (tiled) convolution and transposed convolution, NCHW, no im2col buffer.
// Weights are packed once as wp[g][mb][kh][kw][c][8]: the 8 output channels mb*8 .. mb*8+7 of
// group g (zero past Mg) for input channel c of the group, so one float8 load feeds 8 channels.
// Work-item: 8 output channels x 8 consecutive outputs of a row (ow0 .. ow0+7, oh,
// (img*G + g)*Mb + mb), in eight float8 accumulators (one per channel, lanes = pixels).

#define CONV_ACC8(xv, wq)                  \
  {                                         \
    const float8 w8 = LD8(wq, 0);           \
    a0 = fma((float8)(w8.s0), xv, a0);      \
    a1 = fma((float8)(w8.s1), xv, a1);      \
    a2 = fma((float8)(w8.s2), xv, a2);      \
    a3 = fma((float8)(w8.s3), xv, a3);      \
    a4 = fma((float8)(w8.s4), xv, a4);      \
    a5 = fma((float8)(w8.s5), xv, a5);      \
    a6 = fma((float8)(w8.s6), xv, a6);      \
    a7 = fma((float8)(w8.s7), xv, a7);      \
  }

// y[o] = act(acc + bias[m] + res[o]) (PRelu: slope[m]) for one channel's valid pixels; the
// usual row (8 pixels, a vector activation) in vector operations
inline void conv_row_store(float8 a, __global data_t* restrict y, const long o, const int m,
                           const int pixels, __global const data_t* restrict bias,
                           const int has_bias, __global const data_t* restrict res,
                           const int has_res, const int act, const float p0, const float p1,
                           __global const data_t* restrict slope, const int slope_mode) {
  if (has_bias) a += (float8)(LD(bias, m));
  if (pixels == 8) {
    float8 v = has_res ? a + LD8(res + o, 0) : a;
    if (slope_mode) v = select(v, (float8)(LD(slope, m)) * v, v < 0.0f);
    if (activate8(&v, act, p0, p1)) {
      ST8(v, y + o, 0);
      return;
    }
  }
  float acc[8];
  vstore8(a, 0, acc);
  for (int p = 0; p < pixels; ++p) {
    float v = acc[p];
    if (has_res) v += LD(res, o + p);
    if (slope_mode) v = v < 0.0f ? LD(slope, m) * v : v;
    ST(activate(v, act, p0, p1), y, o + p);
  }
}

#define CONV_STORE(j, a)                                                                      \
  if (j < channels)                                                                           \
    conv_row_store(a, y, base + j * cstride, m0 + j, pixels, bias, has_bias, res, has_res, act, \
                   p0, p1, slope, slope_mode);

inline void conv_tile_store(float8 a0, float8 a1, float8 a2, float8 a3, float8 a4, float8 a5,
                            float8 a6, float8 a7, __global data_t* restrict y, const long base,
                            const int m0, const int channels, const int pixels, const long cstride,
                            __global const data_t* restrict bias, const int has_bias,
                            __global const data_t* restrict res, const int has_res, const int act,
                            const float p0, const float p1, __global const data_t* restrict slope,
                            const int slope_mode) {
  CONV_STORE(0, a0) CONV_STORE(1, a1) CONV_STORE(2, a2) CONV_STORE(3, a3)
  CONV_STORE(4, a4) CONV_STORE(5, a5) CONV_STORE(6, a6) CONV_STORE(7, a7)
}

// The taps of a work-item's tile: every (kh, kw) inside the input, every input channel of the
// group; a row of 8 taps is one vector load where it lies inside the input at stride 1 or 2,
// else a checked gather. CB: output channels per weight vector (8 or 16), ACC(xv, wq) the
// accumulation of 8 pixels xv by the CB weights at wq.
#define CONV_DIRECT_TAPS(CB, ACC)                                                                \
  for (int kh = 0; kh < KH; ++kh) {                                                              \
    const int ih = oh * sh - ph + kh * dh;                                                       \
    if (ih < 0 || ih >= H) continue;                                                             \
    for (int kw = 0; kw < KW; ++kw) {                                                            \
      const int iw = iw0 + kw * dw;                                                              \
      __global const data_t* xr = xg + ih * W + iw;                                              \
      __global const data_t* wq = wg + (kh * KW + kw) * Cg * CB;                                 \
      const int inside = sw <= 2 && iw >= 0 && iw + span < W;                                    \
      if (inside && sw == 1) {                                                                   \
        for (int c = 0; c < Cg; ++c, xr += H * W, wq += CB) {                                    \
          const float8 xv = LD8(xr, 0);                                                          \
          ACC(xv, wq)                                                                            \
        }                                                                                        \
      } else if (inside) {                                                                       \
        for (int c = 0; c < Cg; ++c, xr += H * W, wq += CB) {                                    \
          const float8 xv = LD16(xr, 0).even;                                                    \
          ACC(xv, wq)                                                                            \
        }                                                                                        \
      } else {  /* clamped columns (always readable), 0 selected for the taps in the padding */  \
        int cols[8], keep[8];  /* a select, not a multiply by 0: inf * 0 would be NaN */         \
        for (int j = 0; j < 8; ++j) {                                                            \
          const int col = iw + j * sw;                                                           \
          keep[j] = col >= 0 && col < W ? -1 : 0;                                                \
          cols[j] = clamp(col, 0, W - 1);                                                        \
        }                                                                                        \
        const int8 mask = vload8(0, keep);                                                       \
        xr = xg + ih * W;                                                                        \
        for (int c = 0; c < Cg; ++c, xr += H * W, wq += CB) {                                    \
          const float8 xv = select((float8)(0.0f),                                               \
                                   (float8)(LD(xr, cols[0]), LD(xr, cols[1]), LD(xr, cols[2]),   \
                                            LD(xr, cols[3]), LD(xr, cols[4]), LD(xr, cols[5]),   \
                                            LD(xr, cols[6]), LD(xr, cols[7])),                   \
                                   mask);                                                        \
          ACC(xv, wq)                                                                            \
        }                                                                                        \
      }                                                                                          \
    }                                                                                            \
  }

// The parameters of the three direct convolution kernels (conv_direct_f32, conv_direct16_f32,
// conv_row16_f32), in the order kernels/conv.py passes them; specialise.py reads them here.
#define CONV_DIRECT_PARAMS                                                                      \
  __global const data_t* restrict x, __global const data_t* restrict wp,                        \
      __global data_t* restrict y, __global const data_t* restrict bias, const int has_bias,    \
      __global const data_t* restrict res, const int has_res, const int C, const int H,         \
      const int W, const int G, const int Cg, const int Mg, const int OH, const int OW,         \
      const int KH, const int KW, const int sh, const int sw, const int ph, const int pw,       \
      const int dh, const int dw, const int act, const float p0, const float p1,                \
      __global const data_t* restrict slope, const int slope_mode

// y[img, g*Mg + m, oh, ow] = act(b[m] + res + sum_{c,kh,kw} w[g*Mg + m, c, kh, kw] *
//   xpad[img, g*Cg + c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw]); where the 8 taps of a row are
// inside the input and the stride is 1 or 2 they are one vector load, else a checked gather.
__kernel void conv_direct_f32(CONV_DIRECT_PARAMS) {
  const int ow0 = get_global_id(0) * 8, oh = get_global_id(1), z = get_global_id(2);
  if (ow0 >= OW || oh >= OH) return;
  const int Mb = (Mg + 7) / 8;
  const int mb = z % Mb, g = (z / Mb) % G, img = z / (Mb * G);
  __global const data_t* xg = x + (long)(img * C + g * Cg) * H * W;
  __global const data_t* wg = wp + (long)(g * Mb + mb) * KH * KW * Cg * 8;
  const int iw0 = ow0 * sw - pw;
  const int span = sw == 1 ? 7 : 14;
  float8 a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f, a4 = 0.0f, a5 = 0.0f, a6 = 0.0f, a7 = 0.0f;
  CONV_DIRECT_TAPS(8, CONV_ACC8)
  const int M = G * Mg, m0 = g * Mg + mb * 8;
  const long base = ((long)(img * M + m0) * OH + oh) * OW + ow0;
  conv_tile_store(a0, a1, a2, a3, a4, a5, a6, a7, y, base, m0, min(8, Mg - mb * 8),
                  min(8, OW - ow0), (long)OH * OW, bias, has_bias, res, has_res, act, p0, p1,
                  slope, slope_mode);
}

// conv_direct_f32 for devices with 512-bit vectors (native float width 16): 16 output channels
// x 8 pixels per work-item, in eight float16 accumulators (one per pixel, lanes = channels), the
// weights packed wp[g][mb][kh][kw][c][16] so one float16 load feeds 16 channels; the input row
// is read as conv_direct_f32 reads it. Same sums in the same order, so the same results.
#define CONV_ACC16(xv, wq)                 \
  {                                         \
    const float16 w16 = LD16(wq, 0);        \
    q0 = fma((float16)(xv.s0), w16, q0);    \
    q1 = fma((float16)(xv.s1), w16, q1);    \
    q2 = fma((float16)(xv.s2), w16, q2);    \
    q3 = fma((float16)(xv.s3), w16, q3);    \
    q4 = fma((float16)(xv.s4), w16, q4);    \
    q5 = fma((float16)(xv.s5), w16, q5);    \
    q6 = fma((float16)(xv.s6), w16, q6);    \
    q7 = fma((float16)(xv.s7), w16, q7);    \
  }

#define CONV_STORE16(j)                                                                         \
  if (j < channels)                                                                             \
    conv_row_store((float8)(acc[0][j], acc[1][j], acc[2][j], acc[3][j], acc[4][j], acc[5][j],  \
                            acc[6][j], acc[7][j]),                                              \
                   y, base + j * cstride, m0 + j, pixels, bias, has_bias, res, has_res, act,    \
                   p0, p1, slope, slope_mode);

__kernel void conv_direct16_f32(CONV_DIRECT_PARAMS) {
  const int ow0 = get_global_id(0) * 8, oh = get_global_id(1), z = get_global_id(2);
  if (ow0 >= OW || oh >= OH) return;
  const int Mb = (Mg + 15) / 16;
  const int mb = z % Mb, g = (z / Mb) % G, img = z / (Mb * G);
  __global const data_t* xg = x + (long)(img * C + g * Cg) * H * W;
  __global const data_t* wg = wp + (long)(g * Mb + mb) * KH * KW * Cg * 16;
  const int iw0 = ow0 * sw - pw;
  const int span = sw == 1 ? 7 : 14;
  float16 q0 = 0.0f, q1 = 0.0f, q2 = 0.0f, q3 = 0.0f, q4 = 0.0f, q5 = 0.0f, q6 = 0.0f, q7 = 0.0f;
  CONV_DIRECT_TAPS(16, CONV_ACC16)
  float acc[8][16];
  vstore16(q0, 0, acc[0]); vstore16(q1, 0, acc[1]); vstore16(q2, 0, acc[2]);
  vstore16(q3, 0, acc[3]); vstore16(q4, 0, acc[4]); vstore16(q5, 0, acc[5]);
  vstore16(q6, 0, acc[6]); vstore16(q7, 0, acc[7]);
  const int M = G * Mg, m0 = g * Mg + mb * 16;
  const long base = ((long)(img * M + m0) * OH + oh) * OW + ow0;
  const int channels = min(16, Mg - mb * 16), pixels = min(8, OW - ow0);
  const long cstride = (long)OH * OW;
  CONV_STORE16(0) CONV_STORE16(1) CONV_STORE16(2) CONV_STORE16(3)
  CONV_STORE16(4) CONV_STORE16(5) CONV_STORE16(6) CONV_STORE16(7)
  CONV_STORE16(8) CONV_STORE16(9) CONV_STORE16(10) CONV_STORE16(11)
  CONV_STORE16(12) CONV_STORE16(13) CONV_STORE16(14) CONV_STORE16(15)
}

// conv_direct16_f32 with a whole row of OW <= 16 outputs per work-item (0, oh, z): one float16
// accumulator per pixel, each pixel's input read where it lies inside the row (0 selected
// where not, as the tile kernels do). Only launched generated (kernels/conv.py), OW and the
// geometry literals, so the pixel loops unroll and the column checks fold: rows of 9 or 3
// outputs otherwise take two tiles of 8, the second mostly idle and on the gather path. The
// same sums in the same order as conv_direct16_f32, so the same results.
__kernel void conv_row16_f32(CONV_DIRECT_PARAMS) {
  const int oh = get_global_id(1), z = get_global_id(2);
  if (oh >= OH) return;
  const int Mb = (Mg + 15) / 16;
  const int mb = z % Mb, g = (z / Mb) % G, img = z / (Mb * G);
  __global const data_t* xg = x + (long)(img * C + g * Cg) * H * W;
  __global const data_t* wg = wp + (long)(g * Mb + mb) * KH * KW * Cg * 16;
  float16 q[16];
  for (int j = 0; j < OW; ++j) q[j] = 0.0f;
  for (int kh = 0; kh < KH; ++kh) {
    const int ih = oh * sh - ph + kh * dh;
    if (ih < 0 || ih >= H) continue;
    for (int kw = 0; kw < KW; ++kw) {
      __global const data_t* xr = xg + ih * W;
      __global const data_t* wq = wg + (kh * KW + kw) * Cg * 16;
      for (int c = 0; c < Cg; ++c, xr += H * W, wq += 16) {
        const float16 w16 = LD16(wq, 0);
        for (int j = 0; j < OW; ++j) {
          const int col = j * sw - pw + kw * dw;
          const float v = col >= 0 && col < W ? LD(xr, col) : 0.0f;
          q[j] = fma((float16)(v), w16, q[j]);
        }
      }
    }
  }
  float acc[16][16];
  for (int j = 0; j < OW; ++j) vstore16(q[j], 0, acc[j]);
  for (int j = OW; j < 16; ++j) vstore16((float16)(0.0f), 0, acc[j]);
  const int M = G * Mg, m0 = g * Mg + mb * 16;
  const long base = ((long)(img * M + m0) * OH + oh) * OW;
  const int channels = min(16, Mg - mb * 16);
  const long cstride = (long)OH * OW;
  for (int k = 0; k < channels; ++k) {
    for (int p = 0; p < OW; p += 8) {
      const float8 a = (float8)(acc[p][k], acc[p + 1][k], acc[p + 2][k], acc[p + 3][k],
                                acc[p + 4][k], acc[p + 5][k], acc[p + 6][k], acc[p + 7][k]);
      conv_row_store(a, y, base + k * cstride + p, m0 + k, min(8, OW - p), bias, has_bias, res,
                     has_res, act, p0, p1, slope, slope_mode);
    }
  }
}

// ConvTranspose: y[img, g*Mg + m, oh, ow] = b[m] + sum_{c,kh,kw} w[g*Cg + c, m, kh, kw] *
//   x[img, g*Cg + c, ih, iw] over the taps with oh = ih*sh - ph + kh*dh (likewise w). Each lane
// (pixel) of the tile has its own input column or none; the column indices are found once per
// (kh, kw) and the channel loop gathers through them.
__kernel void conv_transpose_f32(__global const data_t* restrict x,
                                 __global const data_t* restrict wp, __global data_t* restrict y,
                                 __global const data_t* restrict bias, const int has_bias,
                                 const int C, const int H, const int W, const int G,
                                 const int Cg, const int Mg, const int OH, const int OW,
                                 const int KH, const int KW, const int sh, const int sw,
                                 const int ph, const int pw, const int dh, const int dw) {
  const int ow0 = get_global_id(0) * 8, oh = get_global_id(1), z = get_global_id(2);
  if (ow0 >= OW || oh >= OH) return;
  const int Mb = (Mg + 7) / 8;
  const int mb = z % Mb, g = (z / Mb) % G, img = z / (Mb * G);
  __global const data_t* xg = x + (long)(img * C + g * Cg) * H * W;
  __global const data_t* wg = wp + (long)(g * Mb + mb) * KH * KW * Cg * 8;
  float8 a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f, a4 = 0.0f, a5 = 0.0f, a6 = 0.0f, a7 = 0.0f;
  for (int kh = 0; kh < KH; ++kh) {
    const int th = oh + ph - kh * dh;
    if (th < 0 || th % sh) continue;
    const int ih = th / sh;
    if (ih >= H) continue;
    for (int kw = 0; kw < KW; ++kw) {
      int cols[8], any = 0;
      for (int j = 0; j < 8; ++j) {
        const int tw = ow0 + j + pw - kw * dw;
        const int iw = tw >= 0 && tw % sw == 0 ? tw / sw : -1;
        cols[j] = iw < W ? iw : -1;
        any |= cols[j] >= 0;
      }
      if (!any) continue;
      __global const data_t* wq = wg + (kh * KW + kw) * Cg * 8;
      for (int c = 0; c < Cg; ++c, wq += 8) {
        __global const data_t* row = xg + ((long)c * H + ih) * W;
        float t[8];
        for (int j = 0; j < 8; ++j) t[j] = cols[j] >= 0 ? LD(row, cols[j]) : 0.0f;
        const float8 xv = vload8(0, t);
        CONV_ACC8(xv, wq)
      }
    }
  }
  const int M = G * Mg, m0 = g * Mg + mb * 8;
  const long base = ((long)(img * M + m0) * OH + oh) * OW + ow0;
  conv_tile_store(a0, a1, a2, a3, a4, a5, a6, a7, y, base, m0, min(8, Mg - mb * 8),
                  min(8, OW - ow0), (long)OH * OW, bias, has_bias, bias, 0, 0, 0.0f, 0.0f, bias, 0);
}
