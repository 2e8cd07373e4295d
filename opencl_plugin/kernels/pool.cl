// Pooling over NCHW (1-D pooling runs as 2-D with H = 1). Work-item: (ow, oh, img*C + c).

// y = max over the window (padding is -inf; NaN wins, as numpy's max).
__kernel void maxpool_f32(__global const data_t* restrict x, __global data_t* restrict y,
                          const int H, const int W, const int OH, const int OW, const int KH,
                          const int KW, const int sh, const int sw, const int ph, const int pw,
                          const int dh, const int dw) {
  const int ow = get_global_id(0), oh = get_global_id(1), ic = get_global_id(2);
  if (ow >= OW || oh >= OH) return;
  __global const data_t* xp = x + (long)ic * H * W;
  float m = -INFINITY;
  for (int kh = 0; kh < KH; ++kh) {
    const int ih = oh * sh - ph + kh * dh;
    if (ih < 0 || ih >= H) continue;
    for (int kw = 0; kw < KW; ++kw) {
      const int iw = ow * sw - pw + kw * dw;
      if (iw >= 0 && iw < W) m = npmax(m, LD(xp, ih * W + iw));
    }
  }
  ST(m, y, ((long)ic * OH + oh) * OW + ow);
}

// maxpool_f32 on 8 outputs of a row (ow0 .. ow0+7, oh, img*C + c): where the row's taps are inside
// the input and the stride is 1 or 2 they are vector loads, else a checked gather.
__kernel void maxpool8_f32(__global const data_t* restrict x, __global data_t* restrict y,
                           const int H, const int W, const int OH, const int OW, const int KH,
                           const int KW, const int sh, const int sw, const int ph, const int pw,
                           const int dh, const int dw) {
  const int ow0 = get_global_id(0) * 8, oh = get_global_id(1), ic = get_global_id(2);
  if (ow0 >= OW || oh >= OH) return;
  __global const data_t* xp = x + (long)ic * H * W;
  const int iw0 = ow0 * sw - pw;
  const int inside = iw0 >= 0 && ((sw == 1 && iw0 + 7 + (KW - 1) * dw < W) ||
                                  (sw == 2 && iw0 + 14 + (KW - 1) * dw < W));
  float8 m = -INFINITY;
  for (int kh = 0; kh < KH; ++kh) {
    const int ih = oh * sh - ph + kh * dh;
    if (ih < 0 || ih >= H) continue;
    __global const data_t* row = xp + ih * W;
    for (int kw = 0; kw < KW; ++kw) {
      float8 v;
      if (inside && sw == 1) {
        v = LD8(row + iw0 + kw * dw, 0);
      } else if (inside) {  // the odd taps, and 1 float past the row, are read and dropped
        v = LD16(row + iw0 + kw * dw, 0).even;
      } else {
        float t[8];
        for (int j = 0; j < 8; ++j) {
          const int iw = iw0 + j * sw + kw * dw;
          t[j] = iw >= 0 && iw < W ? LD(row, iw) : -INFINITY;
        }
        v = vload8(0, t);
      }
      m = npmax8(m, v);
    }
  }
  const long o = ((long)ic * OH + oh) * OW + ow0;
  if (ow0 + 8 <= OW) {
    ST8(m, y + o, 0);
    return;
  }
  float out[8];
  vstore8(m, 0, out);
  for (int j = 0; ow0 + j < OW; ++j) ST(out[j], y, o + j);
}

// maxpool8_f32 for devices with 512-bit vectors (native float width 16): 16 outputs of a row
// per work-item in float16 (stride 2: the even lanes of two 16-wide loads).
__kernel void maxpool16_f32(__global const data_t* restrict x, __global data_t* restrict y,
                            const int H, const int W, const int OH, const int OW, const int KH,
                            const int KW, const int sh, const int sw, const int ph, const int pw,
                            const int dh, const int dw) {
  const int ow0 = get_global_id(0) * 16, oh = get_global_id(1), ic = get_global_id(2);
  if (ow0 >= OW || oh >= OH) return;
  __global const data_t* xp = x + (long)ic * H * W;
  const int iw0 = ow0 * sw - pw;
  const int inside = iw0 >= 0 && ((sw == 1 && iw0 + 15 + (KW - 1) * dw < W) ||
                                  (sw == 2 && iw0 + 30 + (KW - 1) * dw < W));
  float16 m = -INFINITY;
  for (int kh = 0; kh < KH; ++kh) {
    const int ih = oh * sh - ph + kh * dh;
    if (ih < 0 || ih >= H) continue;
    __global const data_t* row = xp + ih * W;
    for (int kw = 0; kw < KW; ++kw) {
      float16 v;
      __global const data_t* r = row + iw0 + kw * dw;
      if (inside && sw == 1) {
        v = LD16(r, 0);
      } else if (inside) {  // the odd taps, and 1 float past the row, are read and dropped
        v = (float16)(LD16(r, 0).even, LD16(r + 16, 0).even);
      } else {
        float t[16];
        for (int j = 0; j < 16; ++j) {
          const int iw = iw0 + j * sw + kw * dw;
          t[j] = iw >= 0 && iw < W ? LD(row, iw) : -INFINITY;
        }
        v = vload16(0, t);
      }
      m = npmax16(m, v);
    }
  }
  const long o = ((long)ic * OH + oh) * OW + ow0;
  if (ow0 + 16 <= OW) {
    ST8(m.lo, y + o, 0);
    ST8(m.hi, y + o, 1);
    return;
  }
  float out[16];
  vstore16(m, 0, out);
  for (int j = 0; ow0 + j < OW; ++j) ST(out[j], y, o + j);
}

// y = sum over the in-bounds window taps / count[oh, ow] (the reference's tap counts).
__kernel void avgpool_f32(__global const data_t* restrict x, __global data_t* restrict y,
                          __global const data_t* restrict count, const int H, const int W,
                          const int OH, const int OW, const int KH, const int KW, const int sh,
                          const int sw, const int ph, const int pw) {
  const int ow = get_global_id(0), oh = get_global_id(1), ic = get_global_id(2);
  if (ow >= OW || oh >= OH) return;
  __global const data_t* xp = x + (long)ic * H * W;
  float s = 0.0f;
  for (int kh = 0; kh < KH; ++kh) {
    const int ih = oh * sh - ph + kh;
    if (ih < 0 || ih >= H) continue;
    for (int kw = 0; kw < KW; ++kw) {
      const int iw = ow * sw - pw + kw;
      if (iw >= 0 && iw < W) s += LD(xp, ih * W + iw);
    }
  }
  ST(s / LD(count, oh * OW + ow), y, ((long)ic * OH + oh) * OW + ow);
}
