// The depthwise convolution's tile (8 outputs of one row of one plane), shared by the library
// kernel depthwise_f32 (geometry as arguments) and the kernels the backend generates per layer
// geometry (conv.py: the same code with every integer a literal, so the compiler unrolls the
// taps and folds the index arithmetic: 2.3-2.6x faster on PoCL).
// One depthwise tile: 8 outputs of row oh of plane ic, accumulated, then the epilogue.
#define DW_PARAMS                                                                              \
  __global const data_t *restrict x, __global const data_t *restrict w,                        \
      __global data_t *restrict y, __global const data_t *restrict bias, const int has_bias,   \
      __global const data_t *restrict res, const int has_res, const int C, const int H,        \
      const int W, const int OH, const int OW, const int KH, const int KW, const int sh,       \
      const int sw, const int ph, const int pw, const int dh, const int dw, const int act,     \
      const float p0, const float p1, __global const data_t *restrict slope,                   \
      const int slope_mode
#define DW_ARGS                                                                                \
  x, w, y, bias, has_bias, res, has_res, C, H, W, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw, act, \
      p0, p1, slope, slope_mode

inline void dw_tile(DW_PARAMS, const int ow0, const int oh, const int ic) {
  const int c = ic % C;
  __global const data_t* xp = x + (long)ic * H * W;
  __global const data_t* wp = w + c * KH * KW;
  const int iw0 = ow0 * sw - pw;
  // the taps of 8 outputs as vector loads: stride 1 reads 8 floats, stride 2 the even of 16
  // (the odd ones, and 1 float past the row, are read and dropped: buffers have slack)
  const int inside = iw0 >= 0 && ((sw == 1 && iw0 + 7 + (KW - 1) * dw < W) ||
                                  (sw == 2 && iw0 + 14 + (KW - 1) * dw < W));
  // a border tile: the row segment it reads, zero-padded, in private memory (small kernels)
  const int span = (KW - 1) * dw + (sw == 1 ? 8 : 16);
  float8 acc = 0.0f;
  for (int kh = 0; kh < KH; ++kh) {
    const int ih = oh * sh - ph + kh * dh;
    if (ih < 0 || ih >= H) continue;
    __global const data_t* row = xp + ih * W;
    if (inside && sw == 1) {
      for (int kw = 0; kw < KW; ++kw)
        acc = fma(LD8(row + iw0 + kw * dw, 0), (float8)(LD(wp, kh * KW + kw)), acc);
    } else if (inside) {
      for (int kw = 0; kw < KW; ++kw)
        acc = fma(LD16(row + iw0 + kw * dw, 0).even, (float8)(LD(wp, kh * KW + kw)), acc);
    } else if (sw <= 2 && span <= 48) {
      float seg[48];
      for (int j = 0; j < span; ++j) {
        const int iw = iw0 + j;
        seg[j] = iw >= 0 && iw < W ? LD(row, iw) : 0.0f;
      }
      if (sw == 1) {
        for (int kw = 0; kw < KW; ++kw)
          acc = fma(vload8(0, seg + kw * dw), (float8)(LD(wp, kh * KW + kw)), acc);
      } else {
        for (int kw = 0; kw < KW; ++kw)
          acc = fma(vload16(0, seg + kw * dw).even, (float8)(LD(wp, kh * KW + kw)), acc);
      }
    } else {
      float t[8];
      vstore8(acc, 0, t);
      for (int j = 0; j < 8; ++j) {
        for (int kw = 0; kw < KW; ++kw) {
          const int iw = iw0 + j * sw + kw * dw;
          if (iw >= 0 && iw < W) t[j] = fma(LD(row, iw), LD(wp, kh * KW + kw), t[j]);
        }
      }
      acc = vload8(0, t);
    }
  }
  const int n = min(8, OW - ow0);
  const long o0 = ((long)ic * OH + oh) * OW + ow0;
  // the usual tile (8 pixels, a vector activation): the epilogue in vector operations
  if (n == 8) {
    float8 v = has_bias ? acc + (float8)(LD(bias, c)) : acc;
    if (has_res) v += LD8(res + o0, 0);
    if (slope_mode) v = select(v, (float8)(LD(slope, c)) * v, v < 0.0f);
    if (activate8(&v, act, p0, p1)) {
      ST8(v, y + o0, 0);
      return;
    }
  }
  float out[8];
  vstore8(acc, 0, out);
  for (int j = 0; j < n; ++j) {
    const long o = ((long)ic * OH + oh) * OW + ow0 + j;
    float v = out[j];
    if (has_bias) v += LD(bias, c);
    if (has_res) v += LD(res, o);
    if (slope_mode) v = v < 0.0f ? LD(slope, c) * v : v;
    ST(activate(v, act, p0, p1), y, o);
  }
}

