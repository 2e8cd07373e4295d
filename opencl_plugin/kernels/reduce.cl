// Row reductions over x viewed as (outer, L, inner); one work-item per (outer, inner) pair.

// y = exp(x - max) / sum(exp(x - max)) along L
__kernel void softmax_f32(__global const data_t* restrict x, __global data_t* restrict y,
                          const int L, const int inner, const int total) {
  const int i = get_global_id(0);
  if (i >= total) return;
  const long base = (long)(i / inner) * L * inner + i % inner;
  __global const data_t* xp = x + base;
  __global data_t* yp = y + base;
  float m = -INFINITY;
  for (int j = 0; j < L; ++j) m = npmax(m, LD(xp, j * inner));
  if (inner == 1 && L % 8 == 0) {  // a contiguous row: exp and the division in float8
    float8 s8 = 0.0f;
    for (int j = 0; j < L; j += 8) {
      const float8 e = exp(LD8(xp + j, 0) - m);
      ST8(e, yp + j, 0);
      s8 += e;
    }
    const float s = ((s8.s0 + s8.s1) + (s8.s2 + s8.s3)) + ((s8.s4 + s8.s5) + (s8.s6 + s8.s7));
    for (int j = 0; j < L; j += 8) ST8(LD8(yp + j, 0) / s, yp + j, 0);
    return;
  }
  float s = 0.0f;
  for (int j = 0; j < L; ++j) {
    const float e = exp(LD(xp, j * inner) - m);
    ST(e, yp, j * inner);
    s += e;
  }
  for (int j = 0; j < L; ++j) ST(LD(yp, j * inner) / s, yp, j * inner);
}

// softmax_f32 on 8 neighbouring rows along the inner axis (inner % 8 == 0: the rows' elements
// are side by side in memory), in float8 lanes: the exp is a vector call (PoCL's scalar exp
// made a softmax 4x slower than this)
__kernel void softmax8_f32(__global const data_t* restrict x, __global data_t* restrict y,
                           const int L, const int inner, const int total8) {
  const int g = get_global_id(0);
  if (g >= total8) return;
  const int per = inner / 8;
  const long base = (long)(g / per) * L * inner + (g % per) * 8;
  __global const data_t* xp = x + base;
  __global data_t* yp = y + base;
  float8 m = -INFINITY;
  for (int j = 0; j < L; ++j) m = npmax8(m, LD8(xp + (long)j * inner, 0));
  float8 s = 0.0f;
  for (int j = 0; j < L; ++j) {
    const float8 e = exp(LD8(xp + (long)j * inner, 0) - m);
    ST8(e, yp + (long)j * inner, 0);
    s += e;
  }
  for (int j = 0; j < L; ++j) ST8(LD8(yp + (long)j * inner, 0) / s, yp + (long)j * inner, 0);
}

// y = (x - mean) * (1 / sqrt(var + eps)) * scale + bias over rows of L (inner = 1)
__kernel void layernorm_f32(__global const data_t* restrict x, __global data_t* restrict y,
                            __global const data_t* restrict scale,
                            __global const data_t* restrict bias, const int has_bias,
                            const int L, const float eps,
                            const int rows) {
  const int r = get_global_id(0);
  if (r >= rows) return;
  __global const data_t* xp = x + (long)r * L;
  __global data_t* yp = y + (long)r * L;
  float s = 0.0f;
  for (int j = 0; j < L; ++j) s += LD(xp, j);
  const float mean = s / L;
  float q = 0.0f;
  for (int j = 0; j < L; ++j) {
    const float c = LD(xp, j) - mean;
    q += c * c;
  }
  const float inv = 1.0f / sqrt(q / L + eps);
  for (int j = 0; j < L; ++j) {
    float v = (LD(xp, j) - mean) * inv * LD(scale, j);
    if (has_bias) v += LD(bias, j);
    ST(v, yp, j);
  }
}

// y = sum (mean: / L) along L; mode 0 sum, 1 mean
__kernel void reduce_f32(__global const data_t* restrict x, __global data_t* restrict y,
                         const int L, const int inner, const int total, const int mode) {
  const int i = get_global_id(0);
  if (i >= total) return;
  __global const data_t* xp = x + (long)(i / inner) * L * inner + i % inner;
  float s = 0.0f;
  int j = 0;
  if (inner == 1 && L >= 16) {  // a contiguous row (GlobalAveragePool): 8 lanes of partial sums
    float8 s8 = 0.0f;
    for (; j + 8 <= L; j += 8) s8 += LD8(xp + j, 0);
    s = ((s8.s0 + s8.s1) + (s8.s2 + s8.s3)) + ((s8.s4 + s8.s5) + (s8.s6 + s8.s7));
  }
  for (; j < L; ++j) s += LD(xp, j * inner);
  ST(mode == 1 ? s / L : s, y, i);
}
