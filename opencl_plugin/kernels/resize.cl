// Separable resampling of the last two axes (Resize linear / cubic / antialias, every coordinate
// mode): per output row oh and column ow, tables of Th (Tw) input indices and weights, computed
// once on the host by the reference's own tap rule. y[b, oh, ow] = sum_i wh[oh, i] *
// sum_j ww[ow, j] * x[b, ih[oh, i], iw[ow, j]], the H axis outermost as the reference applies
// it; a row or column whose first index is -1 lies outside the crop (tf_crop_and_resize): fill.
// Weights are float32 even with fp16 storage (they are coefficients, not tensors).
__kernel void resample2d_f32(__global const data_t* restrict x, __global data_t* restrict y,
                             __global const int* restrict ih, __global const float* restrict wh,
                             __global const int* restrict iw, __global const float* restrict ww,
                             const int H, const int W, const int OH, const int OW, const int Th,
                             const int Tw, const float fill) {
  const int ow = get_global_id(0), oh = get_global_id(1), b = get_global_id(2);
  if (ow >= OW || oh >= OH) return;
  const long o = ((long)b * OH + oh) * OW + ow;
  if (ih[oh * Th] < 0 || iw[ow * Tw] < 0) {
    ST(fill, y, o);
    return;
  }
  __global const data_t* xb = x + (long)b * H * W;
  float acc = 0.0f;
  for (int i = 0; i < Th; ++i) {
    __global const data_t* row = xb + ih[oh * Th + i] * W;
    float inner = 0.0f;
    for (int j = 0; j < Tw; ++j) inner += ww[ow * Tw + j] * LD(row, iw[ow * Tw + j]);
    acc += wh[oh * Th + i] * inner;
  }
  ST(acc, y, o);
}
