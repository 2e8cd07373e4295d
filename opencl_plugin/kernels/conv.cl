// Convolution helpers (NCHW; a 1-D convolution runs as 2-D with H = 1).

// col[img][g][p / 16][k][p % 16] = xpad[img, g*Cg + c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw]
// with k = (c*KH + kh)*KW + kw and p = oh*OW + ow: the B operand of gemm_f32 in panel layout
// (zero past P, so the GEMM reads no garbage). Work-item: (panel, k, img*G + g), writing the
// panel's 16 contiguous floats (one float per work-item drowned in PoCL's per-group overhead).
__kernel void im2col_f32(__global const data_t* restrict x, __global data_t* restrict col,
                         const int C, const int H, const int W, const int G, const int Cg,
                         const int KH, const int KW, const int OW, const int P, const int Ppad,
                         const int sh, const int sw, const int ph, const int pw, const int dh,
                         const int dw) {
  const int panel = get_global_id(0);
  const int k = get_global_id(1);
  const int ig = get_global_id(2);
  const int K = Cg * KH * KW;
  if (panel * 16 >= Ppad || k >= K) return;
  const int img = ig / G, g = ig % G;
  const int c = k / (KH * KW), kh = (k / KW) % KH, kw = k % KW;
  __global const data_t* xp = x + (long)(img * C + g * Cg + c) * H * W;
  __global data_t* out = col + (long)ig * K * Ppad + (long)panel * K * 16 + k * 16;
  int p = panel * 16;
  int oh = p / OW, ow = p % OW;
  float v[16];
  for (int j = 0; j < 16; ++j, ++p) {
    float value = 0.0f;
    if (p < P) {
      const int ih = oh * sh - ph + kh * dh, iw = ow * sw - pw + kw * dw;
      if (ih >= 0 && ih < H && iw >= 0 && iw < W) value = LD(xp, ih * W + iw);
    }
    v[j] = value;
    if (++ow == OW) {
      ow = 0;
      ++oh;
    }
  }
  ST8(vload8(0, v), out, 0);
  ST8(vload8(1, v), out, 1);
}

// Depthwise (group = C, one filter per channel): y[img, c, oh, ow] = act(b[c] + res +
// sum_{kh,kw} w[c, kh, kw] * xpad[...]). Work-item: 8 outputs of a row (ow0 .. ow0+7, oh,
// img*C + c); where the row's window is inside the input and the stride is 1 or 2, the taps
// are vector loads, else a checked loop.
__kernel void depthwise_f32(__global const data_t* restrict x, __global const data_t* restrict w,
                            __global data_t* restrict y, __global const data_t* restrict bias,
                            const int has_bias, __global const data_t* restrict res,
                            const int has_res, const int C, const int H, const int W,
                            const int OH, const int OW, const int KH, const int KW, const int sh,
                            const int sw, const int ph, const int pw, const int dh, const int dw,
                            const int act, const float p0, const float p1,
                            __global const data_t* restrict slope, const int slope_mode) {
  const int ow0 = get_global_id(0) * 8, oh = get_global_id(1), ic = get_global_id(2);
  if (ow0 >= OW || oh >= OH) return;
  const int c = ic % C;
  __global const data_t* xp = x + (long)ic * H * W;
  __global const data_t* wp = w + c * KH * KW;
  const int iw0 = ow0 * sw - pw;
  // the taps of 8 outputs as vector loads: stride 1 reads 8 floats, stride 2 the even of 16
  // (the odd ones, and 1 float past the row, are read and dropped: buffers have slack)
  const int inside = iw0 >= 0 && ((sw == 1 && iw0 + 7 + (KW - 1) * dw < W) ||
                                  (sw == 2 && iw0 + 14 + (KW - 1) * dw < W));
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
