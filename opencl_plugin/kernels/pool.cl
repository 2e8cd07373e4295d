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
