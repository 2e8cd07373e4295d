// Included twice (kernels/__init__.py): gemm_f32 over the tensors' storage type (data_t: half under
// fp16 storage), gemm_float_f32 over float buffers (Winograd's transformed tiles, which half would
// round past the fp16 tolerance); GEMM_NAME, G_T and the G_LD* / G_ST* access macros name which.
// C[b] = act(alpha * A[b % GA] @ B[b] + bias[b % GA] + res[b]); A: MxK rows lda apart;
// B: KxN as 16-column panels (panel p at B + p*pstride, rows ldb apart; a plain row-major B has
// pstride 16 and ldb N); C and res: MxN, rows ldc apart; batch strides sA, sB, sC, sbias.
// One work-item computes a 6x16 tile in twelve float8 accumulators (PoCL does not vectorise
// across work-items, so the SIMD width is written out; 12 accumulators, 2 B vectors and a
// broadcast fill AVX2's 16 registers: 1.1-2x faster here than 4x16 and 8x16 tiles). Rows past
// M are clamped on read and not stored; columns past N read panel padding or buffer slack (every
// buffer has 64 bytes of it) and are not stored, so the inner loop has no bounds checks.
// (PoCL 3.1 asserts on NULL buffer arguments: absent operands are a dummy buffer and a flag.)
// Compiled with GEMM_WIDE (gemm_wide_f32, gemm_float_wide_f32, for devices whose native float
// vector width is 16): an 8x16 tile in eight float16 accumulators (AVX-512 has 32 registers;
// eight independent FMA chains), same panels, same epilogue.
// bias_mode: 0 none, 1 per row (bias[m]), 2 per column (bias[n]); slope_mode (PRelu) likewise.
__kernel void GEMM_NAME(__global const G_T* restrict A, __global const G_T* restrict B,
                       __global G_T* restrict C, const int M, const int N, const int K,
                       const int lda, const int ldb, const int pstride, const int ldc,
                       const int GA, const int sA, const int sB, const int sC,
                       const float alpha, __global const G_T* restrict bias,
                       const int bias_mode, const int sbias, __global const G_T* restrict res,
                       const int has_res, const int act, const float p0, const float p1,
                       __global const G_T* restrict slope, const int slope_mode) {
  const int n0 = get_global_id(0) * 16;
  const int m0 = get_global_id(1) * GEMM_ROWS;
  const int b = get_global_id(2);
  if (n0 >= N || m0 >= M) return;
  const int g = b % GA;
  A += g * sA;
  B += b * sB;
  C += b * sC;
  const int r1 = min(m0 + 1, M - 1), r2 = min(m0 + 2, M - 1), r3 = min(m0 + 3, M - 1);
  const int r4 = min(m0 + 4, M - 1), r5 = min(m0 + 5, M - 1);
  __global const G_T* a0 = A + m0 * lda;
  __global const G_T* a1 = A + r1 * lda;
  __global const G_T* a2 = A + r2 * lda;
  __global const G_T* a3 = A + r3 * lda;
  __global const G_T* a4 = A + r4 * lda;
  __global const G_T* a5 = A + r5 * lda;
  __global const G_T* bp = B + (n0 / 16) * pstride;
#ifdef GEMM_WIDE
  // 512-bit vectors (native float width 16): an 8x16 tile in eight float16 accumulators
  const int r6 = min(m0 + 6, M - 1), r7 = min(m0 + 7, M - 1);
  __global const G_T* a6 = A + r6 * lda;
  __global const G_T* a7 = A + r7 * lda;
  float16 c0 = 0.0f, c1 = 0.0f, c2 = 0.0f, c3 = 0.0f, c4 = 0.0f, c5 = 0.0f, c6 = 0.0f, c7 = 0.0f;
  for (int k = 0; k < K; ++k) {
    const float16 bv = (float16)(G_LD8(bp, 0), G_LD8(bp, 1));
    bp += ldb;
    c0 = fma((float16)(G_LD(a0, k)), bv, c0);
    c1 = fma((float16)(G_LD(a1, k)), bv, c1);
    c2 = fma((float16)(G_LD(a2, k)), bv, c2);
    c3 = fma((float16)(G_LD(a3, k)), bv, c3);
    c4 = fma((float16)(G_LD(a4, k)), bv, c4);
    c5 = fma((float16)(G_LD(a5, k)), bv, c5);
    c6 = fma((float16)(G_LD(a6, k)), bv, c6);
    c7 = fma((float16)(G_LD(a7, k)), bv, c7);
  }
  float acc[GEMM_ROWS][16];
  vstore16(c0, 0, acc[0]); vstore16(c1, 0, acc[1]); vstore16(c2, 0, acc[2]);
  vstore16(c3, 0, acc[3]); vstore16(c4, 0, acc[4]); vstore16(c5, 0, acc[5]);
  vstore16(c6, 0, acc[6]); vstore16(c7, 0, acc[7]);
#else
  float8 c00 = 0.0f, c01 = 0.0f, c10 = 0.0f, c11 = 0.0f;
  float8 c20 = 0.0f, c21 = 0.0f, c30 = 0.0f, c31 = 0.0f;
  float8 c40 = 0.0f, c41 = 0.0f, c50 = 0.0f, c51 = 0.0f;
  for (int k = 0; k < K; ++k) {
    const float8 b0 = G_LD8(bp, 0);
    const float8 b1 = G_LD8(bp, 1);
    bp += ldb;
    const float x0 = G_LD(a0, k), x1 = G_LD(a1, k), x2 = G_LD(a2, k), x3 = G_LD(a3, k);
    const float x4 = G_LD(a4, k), x5 = G_LD(a5, k);
    c00 = fma((float8)(x0), b0, c00);
    c01 = fma((float8)(x0), b1, c01);
    c10 = fma((float8)(x1), b0, c10);
    c11 = fma((float8)(x1), b1, c11);
    c20 = fma((float8)(x2), b0, c20);
    c21 = fma((float8)(x2), b1, c21);
    c30 = fma((float8)(x3), b0, c30);
    c31 = fma((float8)(x3), b1, c31);
    c40 = fma((float8)(x4), b0, c40);
    c41 = fma((float8)(x4), b1, c41);
    c50 = fma((float8)(x5), b0, c50);
    c51 = fma((float8)(x5), b1, c51);
  }
  float acc[GEMM_ROWS][16];
  vstore8(c00, 0, acc[0]); vstore8(c01, 1, acc[0]);
  vstore8(c10, 0, acc[1]); vstore8(c11, 1, acc[1]);
  vstore8(c20, 0, acc[2]); vstore8(c21, 1, acc[2]);
  vstore8(c30, 0, acc[3]); vstore8(c31, 1, acc[3]);
  vstore8(c40, 0, acc[4]); vstore8(c41, 1, acc[4]);
  vstore8(c50, 0, acc[5]); vstore8(c51, 1, acc[5]);
#endif
  if (bias_mode) bias += g * sbias;
  if (slope_mode == 1) slope += g * sbias;
  res += has_res ? b * sC : 0;
  const int rows = min(GEMM_ROWS, M - m0), cols = min(16, N - n0);
  if (cols == 16 && act <= 9) {  // full rows, a known activation: the epilogue in vectors
    for (int i = 0; i < rows; ++i) {
      const int m = m0 + i;
      for (int h = 0; h < 2; ++h) {
        const int n = n0 + 8 * h;
        float8 v = (float8)(alpha) * vload8(h, acc[i]);
        if (bias_mode == 1) v += (float8)(G_LD(bias, m));
        else if (bias_mode == 2) v += G_LD8(bias + n, 0);
        if (has_res) v += G_LD8(res + m * ldc + n, 0);
        if (slope_mode) {
          const float8 s = slope_mode == 1 ? (float8)(G_LD(slope, m)) : G_LD8(slope + n, 0);
          v = select(v, s * v, v < 0.0f);
        }
        activate8(&v, act, p0, p1);
        G_ST8(v, C + m * ldc + n, 0);
      }
    }
    return;
  }
  for (int i = 0; i < rows; ++i) {
    const int m = m0 + i;
    for (int j = 0; j < cols; ++j) {
      const int n = n0 + j;
      float v = alpha * acc[i][j];
      if (bias_mode == 1) v += G_LD(bias, m);
      else if (bias_mode == 2) v += G_LD(bias, n);
      if (has_res) v += G_LD(res, m * ldc + n);
      if (slope_mode) v = v < 0.0f ? G_LD(slope, slope_mode == 1 ? m : n) * v : v;
      G_ST(activate(v, act, p0, p1), C, m * ldc + n);
    }
  }
}

