// A 1xN row times a KxN panel-packed B (M = 1: fully connected layers at batch 1), 16 columns per
// work-item, two float8 accumulators; same epilogue as gemm_f32 (bias per column only).
__kernel void gemv_f32(__global const data_t* restrict A, __global const data_t* restrict B,
                       __global data_t* restrict C, const int N, const int K, const int ldb,
                       const int pstride, const float alpha, __global const data_t* restrict bias,
                       const int has_bias, __global const data_t* restrict res, const int has_res,
                       const int act, const float p0, const float p1,
                       __global const data_t* restrict slope, const int slope_mode) {
  const int n0 = get_global_id(0) * 16;
  if (n0 >= N) return;
  __global const data_t* bp = B + (n0 / 16) * pstride;
  float8 acc0 = 0.0f, acc1 = 0.0f;
  for (int k = 0; k < K; ++k) {
    const float8 a = (float8)(LD(A, k));
    acc0 = fma(a, LD8(bp, 0), acc0);
    acc1 = fma(a, LD8(bp, 1), acc1);
    bp += ldb;
  }
  float out[16];
  vstore8(acc0, 0, out);
  vstore8(acc1, 1, out);
  const int cols = min(16, N - n0);
  for (int j = 0; j < cols; ++j) {
    float v = alpha * out[j];
    if (has_bias) v += LD(bias, n0 + j);
    if (has_res) v += LD(res, n0 + j);
    if (slope_mode) v = v < 0.0f ? LD(slope, n0 + j) * v : v;
    ST(activate(v, act, p0, p1), C, n0 + j);
  }
}
