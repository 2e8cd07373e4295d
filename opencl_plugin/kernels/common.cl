// Helpers shared by every kernel family (included once at the top of each program).
// numpy rounds each operation on its own: no contraction of a*b+c into fma unless written.
#pragma OPENCL FP_CONTRACT OFF

// Tensor storage: float, or half with -DGSM_FP16 (fp16 storage: loads widen to float, stores
// round to nearest even; arithmetic stays float, as devices without cl_khr_fp16 need).
#ifdef GSM_FP16
#define data_t half
#define LD(p, i) vload_half((i), (p))
#define ST(v, p, i) vstore_half((v), (i), (p))
#define LD8(p, i) vload_half8((i), (p))
#define LD16(p, i) vload_half16((i), (p))
#define ST8(v, p, i) vstore_half8((v), (i), (p))
#else
#define data_t float
#define LD(p, i) ((p)[i])
#define ST(v, p, i) ((p)[i] = (v))
#define LD8(p, i) vload8((i), (p))
#define LD16(p, i) vload16((i), (p))
#define ST8(v, p, i) vstore8((v), (i), (p))
#endif

// numpy's maximum / minimum / clip (np.clip(v, lo, hi) = minimum(maximum(v, lo), hi)): NaN in
// either operand gives NaN; one lane (npmax, npmin, npclip) and 8 lanes (npmax8, ...), for type T
// (float: no suffix; half under native half arithmetic: suffix h, npmaxh, npmax8h, ...)
#define GSM_NP_MINMAX(T, T8, SFX)                                                             \
  inline T npmax##SFX(T a, T b) { return isnan(a) ? a : (isnan(b) || b > a ? b : a); }       \
  inline T npmin##SFX(T a, T b) { return isnan(a) ? a : (isnan(b) || b < a ? b : a); }       \
  inline T npclip##SFX(T v, T lo, T hi) { return npmin##SFX(npmax##SFX(v, lo), hi); }        \
  inline T8 npmax8##SFX(T8 m, T8 v) { return select(m, v, (isnan(v) | (v > m)) & ~isnan(m)); } \
  inline T8 npmin8##SFX(T8 m, T8 v) { return select(m, v, (isnan(v) | (v < m)) & ~isnan(m)); } \
  inline T8 npclip8##SFX(T8 v, T8 lo, T8 hi) { return npmin8##SFX(npmax8##SFX(v, lo), hi); }

// Native half arithmetic (-DGSM_HALF_ARITH with -DGSM_FP16, devices with cl_khr_fp16): the
// generated element-wise kernels whose ops are all exact-rounding or piecewise-linear compute in
// half (fusion.py, HALF_OPS); every reduction (GEMM, convolutions, pooling, softmax, norms)
// still accumulates in float.
#if defined(GSM_FP16) && defined(GSM_HALF_ARITH)
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
#define HLD(p, i) ((p)[i])
#define HST(v, p, i) ((p)[i] = (v))
#define HLD8(p, i) vload8((i), (p))
#define HST8(v, p, i) vstore8((v), (i), (p))
GSM_NP_MINMAX(half, half8, h)
#endif

GSM_NP_MINMAX(float, float8, )
// the same maximum on 16 lanes (the kernels for devices whose native float width is 16)
inline float16 npmax16(float16 m, float16 v) {
  return select(m, v, (isnan(v) | (v > m)) & ~isnan(m));
}
inline float sigmoidf(float x) { return 1.0f / (1.0f + exp(-x)); }
inline float8 sigmoid8(float8 x) { return 1.0f / (1.0f + exp(-x)); }

// erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + |z| / 2) for z >= 0, 2 - that for z < 0: relative
// error below 1.2e-7 in the tail too (Numerical Recipes' erfcc), one exp and one division; PoCL's
// own erfc took ~35 ns an element here, 15x a GEMM's epilogue.
#define GSM_ERFC_BODY(T)                                                                      \
  const T a = fabs(z);                                                                        \
  const T t = 1.0f / (1.0f + 0.5f * a);                                                       \
  T p = 0.17087277f;                                                                          \
  p = p * t - 0.82215223f; p = p * t + 1.48851587f; p = p * t - 1.13520398f;                  \
  p = p * t + 0.27886807f; p = p * t - 0.18628806f; p = p * t + 0.09678418f;                  \
  p = p * t + 0.37409196f; p = p * t + 1.00002368f; p = p * t - 1.26551223f;                  \
  const T r = t * exp(p - a * a);
inline float gsm_erfc(float z) {
  GSM_ERFC_BODY(float)
  return z < 0.0f ? 2.0f - r : r;
}
inline float8 gsm_erfc8(float8 z) {
  GSM_ERFC_BODY(float8)
  return select(r, 2.0f - r, z < 0.0f);
}

// The activations of the fused ops (refimpl/ops/_fused_activation.py), by code:
// 0 none, 1 Relu, 2 Clip(p0, p1), 3 HardSigmoid(alpha=p0, beta=p1), 4 HardSwish, 5 Sigmoid,
// 6 LeakyRelu(alpha=p0), 7 Swish(alpha=p0), 8 Gelu (erf), 9 Tanh
inline float activate(float v, int act, float p0, float p1) {
  switch (act) {
    case 0: return v;
    case 1: return npmax(v, 0.0f);
    case 2: return npclip(v, p0, p1);
    case 3: return npclip(p0 * v + p1, 0.0f, 1.0f);
    case 4: return v * npclip(v / 6.0f + 0.5f, 0.0f, 1.0f);
    case 5: return sigmoidf(v);
    case 6: return v < 0.0f ? p0 * v : v;
    case 7: return v * sigmoidf(p0 * v);
    case 8: return 0.5f * v * gsm_erfc(v * -0.70710678118654752f);  // 1 + erf(x) = erfc(-x)
    case 9: return tanh(v);
  }
  return v;
}

// activate() on 8 lanes, with numpy's NaN rules (a NaN lane stays NaN); 0 for an unknown code
// (the caller takes the scalar path). Every code is a vector expression: a scalar epilogue of
// Swish or Gelu cost more than the GEMM it follows (PoCL does not vectorise across work-items).
inline int activate8(float8* v, int act, float p0, float p1) {
  const float8 x = *v;
  switch (act) {
    case 0: return 1;
    case 1: *v = select(x, (float8)(0.0f), x < 0.0f); return 1;
    case 2: *v = select(x, (float8)(p0), x < p0); *v = select(*v, (float8)(p1), *v > p1); return 1;
    case 3: {
      float8 h = p0 * x + p1;
      h = select(h, (float8)(0.0f), h < 0.0f);
      *v = select(h, (float8)(1.0f), h > 1.0f);
      return 1;
    }
    case 4: {
      float8 h = x / 6.0f + 0.5f;
      h = select(h, (float8)(0.0f), h < 0.0f);
      *v = x * select(h, (float8)(1.0f), h > 1.0f);
      return 1;
    }
    case 5: *v = sigmoid8(x); return 1;
    case 6: *v = select(x, p0 * x, x < 0.0f); return 1;
    case 7: *v = x * sigmoid8(p0 * x); return 1;
    case 8: *v = 0.5f * x * gsm_erfc8(x * -0.70710678118654752f); return 1;
    case 9: *v = tanh(x); return 1;
  }
  return 0;
}
