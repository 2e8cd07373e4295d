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
__kernel void depthwise_f32(DW_PARAMS) {
  const int ow0 = get_global_id(0) * 8, oh = get_global_id(1), ic = get_global_id(2);
  if (ow0 >= OW || oh >= OH) return;
  dw_tile(DW_ARGS, ow0, oh, ic);
}
