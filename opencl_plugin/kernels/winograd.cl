// Winograd convolution F(r x r, 3 x 3), r = 2 or 4 (tile side a = r + 2), NCHW, stride 1, one
// group (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks"). Output tiles of
// r x r pixels are numbered t = th * TW + tw; per tile position pos of the a x a transform domain
//   V[img, pos] (C x T) = B^T d_t B,   Y[img, pos] (M x T) = U[pos] (M x C) @ V[img, pos],
//   y tile t = A^T Y_t A + bias + res, activated,
// with U = G g G^T transformed once on the host; the middle step is gemm_float_f32, batched over
// (img, pos). U, V and Y are float under fp16 storage too (x and y are the storage type). Work-item: 8 consecutive tiles in the lanes of float8 (PoCL does not vectorise
// across work-items), of one channel (input) or one output channel (output).

// the 1-D input transform B^T over a column of a values d[0], d[s], ..., d[(a-1)s], in place
inline void wino_in(float8* d, const int s, const int r) {
  const float8 d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s];
  if (r == 2) {
    d[0] = d0 - d2;
    d[s] = d1 + d2;
    d[2 * s] = d2 - d1;
    d[3 * s] = d1 - d3;
    return;
  }
  const float8 d4 = d[4 * s], d5 = d[5 * s];
  d[0] = 4.0f * d0 - 5.0f * d2 + d4;
  d[s] = d3 + d4 - 4.0f * (d1 + d2);
  d[2 * s] = 4.0f * (d1 - d2) + d4 - d3;
  d[3 * s] = 2.0f * (d3 - d1) + d4 - d2;
  d[4 * s] = 2.0f * (d1 - d3) + d4 - d2;
  d[5 * s] = 4.0f * d1 - 5.0f * d3 + d5;
}

// the 1-D output transform A^T: r values o[0], o[s], ... from a values m[0], m[s], ...
inline void wino_out(const float8* m, float8* o, const int s, const int r) {
  const float8 m0 = m[0], m1 = m[s], m2 = m[2 * s], m3 = m[3 * s];
  if (r == 2) {
    o[0] = m0 + m1 + m2;
    o[s] = m1 - m2 - m3;
    return;
  }
  const float8 m4 = m[4 * s], m5 = m[5 * s];
  const float8 p12 = m1 + m2, n12 = m1 - m2, p34 = m3 + m4, n34 = m3 - m4;
  o[0] = m0 + p12 + p34;
  o[s] = n12 + 2.0f * n34;
  o[2 * s] = p12 + 4.0f * p34;
  o[3 * s] = n12 + 8.0f * n34 + m5;
}

// v[img*a*a + pos][c][t] = (B^T d_t B)[pos], t = th*TW + tw: gemm_f32's B operand, C rows of
// Tpad columns; d_t is the a x a input patch at (th*r - ph, tw*r - pw), zero outside. Work-item:
// tiles tw0 .. tw0+7 of tile row th, whose patches share each input row's 8r + 2 values: one
// row segment read per patch row, the lanes taken from it with swizzles.
// (r is a literal in the kernels below: the loops unroll and the tiles stay in registers)
inline void wino_input(__global const data_t* restrict x, __global float* restrict v,
                       const int C, const int H, const int W, const int TW, const int T,
                       const int Tpad, const int ph, const int pw, const int r) {
  const int tw0 = get_global_id(0) * 8, th = get_global_id(1), z = get_global_id(2);
  if (tw0 >= TW || th * TW >= T) return;
  const int a = r + 2, img = z / C, c = z % C;
  __global const data_t* xp = x + (long)z * H * W;
  const int iw0 = tw0 * r - pw, span = 8 * r + 2;
  float8 d[36];
  for (int i = 0; i < a; ++i) {
    const int ih = th * r - ph + i;
    float seg[36];
    if (ih < 0 || ih >= H) {
      for (int e = 0; e < 36; ++e) seg[e] = 0.0f;
    } else if (iw0 >= 0 && iw0 + span <= W) {
      __global const data_t* row = xp + ih * W + iw0;
      vstore16(LD16(row, 0), 0, seg);
      if (r == 4) vstore16(LD16(row, 1), 1, seg);
      seg[span - 2] = LD(row, span - 2);
      seg[span - 1] = LD(row, span - 1);
    } else {
      __global const data_t* row = xp + ih * W;
      for (int e = 0; e < span; ++e) {
        const int iw = iw0 + e;
        seg[e] = iw >= 0 && iw < W ? LD(row, iw) : 0.0f;
      }
    }
    const float16 A = vload16(0, seg), B = vload16(1, seg);
    float8* di = d + i * a;
    if (r == 4) {
      di[0] = (float8)(A.s048c, B.s048c);
      di[1] = (float8)(A.s159d, B.s159d);
      di[2] = (float8)(A.s26ae, B.s26ae);
      di[3] = (float8)(A.s37bf, B.s37bf);
      di[4] = (float8)(A.s48c, B.s048c, seg[32]);
      di[5] = (float8)(A.s59d, B.s159d, seg[33]);
    } else {
      di[0] = A.even;
      di[1] = A.odd;
      di[2] = (float8)(A.s2468, A.sace, B.s0);
      di[3] = (float8)(A.s3579, A.sbdf, B.s1);
    }
  }
  for (int j = 0; j < a; ++j) wino_in(d + j, a, r);  // B^T d: along each column
  for (int i = 0; i < a; ++i) wino_in(d + i * a, 1, r);  // (B^T d) B: along each row
  __global float* out = v + ((long)img * a * a * C + c) * Tpad + th * TW + tw0;
  const long stride = (long)C * Tpad;
  const int lanes = min(8, TW - tw0);
  if (lanes == 8) {
    for (int pos = 0; pos < a * a; ++pos) vstore8(d[pos], 0, out + pos * stride);
    return;
  }
  for (int pos = 0; pos < a * a; ++pos) {  // the last tiles of the row: not the next row's
    float t[8];
    vstore8(d[pos], 0, t);
    for (int l = 0; l < lanes; ++l) out[pos * stride + l] = t[l];
  }
}

// The output rows th*r .. th*r + r - 1, columns tw0*r .. (tw0 + 8)*r - 1 of channel m (the
// work-item's tiles) as a direct 3x3 convolution of x with w[M][C][3][3], and the epilogue.
inline void wino_direct(__global const data_t* restrict x, __global const data_t* restrict w,
                        __global data_t* restrict y, __global const data_t* restrict bias,
                        const int has_bias, __global const data_t* restrict res,
                        const int has_res, const int M, const int OH, const int OW, const int r,
                        const int act, const float p0, const float p1,
                        __global const data_t* restrict slope, const int slope_mode,
                        const int C, const int H, const int W, const int ph, const int pw) {
  const int tw0 = get_global_id(0) * 8, th = get_global_id(1), z = get_global_id(2);
  const int img = z / M, m = z % M;
  for (int oh = th * r; oh < min(OH, th * r + r); ++oh) {
    for (int ow = tw0 * r; ow < min(OW, (tw0 + 8) * r); ++ow) {
      float v = 0.0f;
      for (int c = 0; c < C; ++c) {
        __global const data_t* xc = x + (long)(img * C + c) * H * W;
        __global const data_t* wc = w + (long)(m * C + c) * 9;
        for (int kh = 0; kh < 3; ++kh) {
          const int ih = oh - ph + kh;
          if (ih < 0 || ih >= H) continue;
          for (int kw = 0; kw < 3; ++kw) {
            const int iw = ow - pw + kw;
            if (iw >= 0 && iw < W) v += LD(wc, kh * 3 + kw) * LD(xc, ih * W + iw);
          }
        }
      }
      const long o = ((long)z * OH + oh) * OW + ow;
      if (has_bias) v += LD(bias, m);
      if (has_res) v += LD(res, o);
      if (slope_mode) v = v < 0.0f ? LD(slope, m) * v : v;
      ST(activate(v, act, p0, p1), y, o);
    }
  }
}

// y[img, m, th*r + i, tw*r + j] = act((A^T Y_t A)[i, j] + bias[m] + res[...]) (PRelu: slope[m])
// with Y_t[pos] = yw[img*a*a + pos][m][t] (the GEMM's M x T output, rows T apart). Work-item:
// tiles tw0 .. tw0+7 of tile row th, so output row i of the 8 tiles is 8r contiguous pixels,
// stored as r vectors of 8 (the lanes interleaved: pixel 8k + e is tile (8k + e) / r, column
// (8k + e) % r).
inline void wino_output(__global const float* restrict yw, __global data_t* restrict y,
                        __global const data_t* restrict bias, const int has_bias,
                        __global const data_t* restrict res, const int has_res, const int M,
                        const int OH, const int OW, const int TW, const int T, const int r,
                        const int act, const float p0, const float p1,
                        __global const data_t* restrict slope, const int slope_mode,
                        __global const data_t* restrict x, __global const data_t* restrict w,
                        const int C, const int H, const int W, const int ph, const int pw) {
  const int tw0 = get_global_id(0) * 8, th = get_global_id(1), z = get_global_id(2);
  if (tw0 >= TW || th * r >= OH) return;
  const int a = r + 2, img = z / M, m = z % M;
  // lanes past the tile row read the next row's tiles (or buffer slack) and are not stored
  __global const float* yp = yw + ((long)img * a * a * M + m) * T + th * TW + tw0;
  float8 q[36], h[24], o[16];
  for (int pos = 0; pos < a * a; ++pos) q[pos] = vload8(0, yp + (long)pos * M * T);
  // an inf or NaN in a tile's input (or an overflow) spreads to the whole tile through the
  // transforms' differences (inf - inf): such tiles are computed directly, as the reference does
  int8 bad = 0;
  for (int pos = 0; pos < a * a; ++pos) bad |= isnan(q[pos]) | isinf(q[pos]);
  if (any(bad & ((int8)(0, 1, 2, 3, 4, 5, 6, 7) < TW - tw0))) {
    wino_direct(x, w, y, bias, has_bias, res, has_res, M, OH, OW, r, act, p0, p1, slope,
                slope_mode, C, H, W, ph, pw);
    return;
  }
  for (int j = 0; j < a; ++j) wino_out(q + j, h + j, a, r);  // A^T q: r rows of a
  for (int i = 0; i < r; ++i) wino_out(h + i * a, o + i * r, 1, r);  // (A^T q) A: r x r
  const float8 b = has_bias ? (float8)(LD(bias, m)) : (float8)(0.0f);
  const float8 s = slope_mode ? (float8)(LD(slope, m)) : (float8)(0.0f);
  const long plane = (long)z * OH * OW;
  const int ow0 = tw0 * r;
  for (int i = 0; i < r && th * r + i < OH; ++i) {
    const float8* w = o + i * r;
    float8 row[4];
    if (r == 4) {
      row[0] = (float8)(w[0].s0, w[1].s0, w[2].s0, w[3].s0, w[0].s1, w[1].s1, w[2].s1, w[3].s1);
      row[1] = (float8)(w[0].s2, w[1].s2, w[2].s2, w[3].s2, w[0].s3, w[1].s3, w[2].s3, w[3].s3);
      row[2] = (float8)(w[0].s4, w[1].s4, w[2].s4, w[3].s4, w[0].s5, w[1].s5, w[2].s5, w[3].s5);
      row[3] = (float8)(w[0].s6, w[1].s6, w[2].s6, w[3].s6, w[0].s7, w[1].s7, w[2].s7, w[3].s7);
    } else {
      row[0] = (float8)(w[0].s0, w[1].s0, w[0].s1, w[1].s1, w[0].s2, w[1].s2, w[0].s3, w[1].s3);
      row[1] = (float8)(w[0].s4, w[1].s4, w[0].s5, w[1].s5, w[0].s6, w[1].s6, w[0].s7, w[1].s7);
    }
    __global data_t* yr = y + plane + (long)(th * r + i) * OW;
    __global const data_t* rr = res + plane + (long)(th * r + i) * OW;
    for (int k = 0; k < r; ++k) {
      const int px = ow0 + 8 * k;
      if (px >= OW) break;
      float8 v = row[k] + b;
      if (px + 8 <= OW) {
        if (has_res) v += LD8(rr + px, 0);
        if (slope_mode) v = select(v, s * v, v < 0.0f);
        if (activate8(&v, act, p0, p1)) {
          ST8(v, yr + px, 0);
          continue;
        }
      }
      float out[8];
      vstore8(v, 0, out);
      for (int e = 0; e < 8 && px + e < OW; ++e) {
        float u = out[e];
        if (px + 8 > OW) {  // the partial vector: residual and slope were not applied yet
          if (has_res) u += LD(rr, px + e);
          if (slope_mode) u = u < 0.0f ? LD(slope, m) * u : u;
        }
        ST(activate(u, act, p0, p1), yr, px + e);
      }
    }
  }
}

#define WINO_INPUT_KERNEL(NAME, R)                                                             \
  __kernel void NAME(__global const data_t* restrict x, __global float* restrict v,            \
                     const int C, const int H, const int W, const int TW, const int T,          \
                     const int Tpad, const int ph, const int pw) {                              \
    wino_input(x, v, C, H, W, TW, T, Tpad, ph, pw, R);                                          \
  }
#define WINO_OUTPUT_KERNEL(NAME, R)                                                            \
  __kernel void NAME(__global const float* restrict yw, __global data_t* restrict y,           \
                     __global const data_t* restrict bias, const int has_bias,                  \
                     __global const data_t* restrict res, const int has_res, const int M,       \
                     const int OH, const int OW, const int TW, const int T, const int act,      \
                     const float p0, const float p1, __global const data_t* restrict slope,     \
                     const int slope_mode, __global const data_t* restrict x,                   \
                     __global const data_t* restrict w, const int C, const int H, const int W,  \
                     const int ph, const int pw) {                                              \
    wino_output(yw, y, bias, has_bias, res, has_res, M, OH, OW, TW, T, R, act, p0, p1, slope,   \
                slope_mode, x, w, C, H, W, ph, pw);                                             \
  }
WINO_INPUT_KERNEL(wino2_input_f32, 2)
WINO_INPUT_KERNEL(wino4_input_f32, 4)
WINO_OUTPUT_KERNEL(wino2_output_f32, 2)
WINO_OUTPUT_KERNEL(wino4_output_f32, 4)
