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

// numpy's maximum/minimum: NaN in either operand gives NaN.
inline float npmax(float a, float b) { return isnan(a) ? a : (isnan(b) || b > a ? b : a); }
inline float npmin(float a, float b) { return isnan(a) ? a : (isnan(b) || b < a ? b : a); }
// np.clip(v, lo, hi) = minimum(maximum(v, lo), hi)
inline float npclip(float v, float lo, float hi) { return npmin(npmax(v, lo), hi); }
inline float sigmoidf(float x) { return 1.0f / (1.0f + exp(-x)); }

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
    case 8: return 0.5f * v * erfc(v * -0.70710678118654752f);  // 1 + erf(x) = erfc(-x)
    case 9: return tanh(v);
  }
  return v;
}

// activate() on 8 lanes for the codes that vectorise (0 none, 1 Relu, 2 Clip), with numpy's NaN
// rules (a NaN lane stays NaN); 0 when the code does not, and the caller takes the scalar path.
inline int activate8(float8* v, int act, float p0, float p1) {
  switch (act) {
    case 0: return 1;
    case 1: *v = select(*v, (float8)(0.0f), *v < 0.0f); return 1;
    case 2: *v = select(*v, (float8)(p0), *v < p0); *v = select(*v, (float8)(p1), *v > p1); return 1;
  }
  return 0;
}
