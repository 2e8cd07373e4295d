/* Exact int8 element-wise ops and pooling of the com.microsoft QLinear* family, as the reference
 * defines them (refimpl/ops/op_qlinear_add.py, op_qlinear_mul.py, op_qlinear_global_average_pool
 * .py): every step one IEEE float32 operation, rounding half to even, NaN -> 0, saturation.
 *
 * No step may be fused into an FMA (the AVX2/AVX-512 levels have FMA, and GCC contracts a*b + c,
 * intrinsics included, under its default -ffp-contract=fast): each product passes through
 * GK_NOFUSE, an empty asm that makes the compiler materialise it before the add. */
#ifndef GK_QELEMENTWISE_H
#define GK_QELEMENTWISE_H

#include <stddef.h>
#include <stdint.h>

#include "qgemm.h" /* the element type codes GK_Q_U8 / GK_Q_S8 */

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define GK_NOFUSE(v) __asm__("" : "+x"(v))
/* a 512-bit value: "v" is any EVEX-encodable register (zmm0-31), for the AVX-512 kernels only */
#define GK_NOFUSE512(v) __asm__("" : "+v"(v))
#elif defined(__GNUC__) && defined(__aarch64__)
#define GK_NOFUSE(v) __asm__("" : "+w"(v))
#else
#define GK_NOFUSE(v) ((void)0) /* no contraction known on other targets' default flags */
#endif

/* the parameters of one op, computed by the caller in float32 exactly as the reference does */
typedef struct {
    int type;        /* GK_Q_U8 / GK_Q_S8 (qgemm.h), of every input and the output */
    float ra, rb;    /* QLinearAdd: a_s / c_s, b_s / c_s; QLinearMul: ra = a_s * b_s / c_s */
    float fixed;     /* QLinearAdd: c_zp - (ra * a_zp + rb * b_zp); QLinearMul: c_zp */
    int32_t za, zb;  /* QLinearMul: the input zero points */
    float lo, hi;    /* the output type's range */
    /* set by gk_qbinary (callers leave it 0): every value of the op before rounding is finite and
     * within +-2^30 (ra, rb, fixed finite and |fixed| + 256 (|ra| + |rb|), QLinearMul |fixed| +
     * 65536 |ra|, below 2^30), so no NaN arises and a float -> int32 conversion rounding to
     * nearest even, then saturating packs, give the reference's rint, NaN -> 0 and clamp */
    int fast;
} gk_qbinary_params;

/* The element-wise drivers take `plane`: where it is > 0 and divides n, x is planes of `plane`
 * pixels (NCHW: H * W), and under gk_qsplit_mode 3 the threads split every plane at the int8
 * conv's pixel parts (src/qconv_split.h) rather than flat runs; 0: flat runs. The results never
 * depend on it. */

/* y[i] = op(a[i], b[i * b_step]) for i < n (b_step 0: b is one value), op 0 add, 1 mul */
void gk_qbinary(int op, long n, const void *a, const void *b, long b_step,
                const gk_qbinary_params *p, void *y, long plane, int threads);
/* 0: gk_qbinary never sets gk_qbinary_params.fast (the general kernels run; for tests and A/B
 * runs, ext.qbinary_fast) */
extern int gk_qbinary_fast_on;
/* the elements from which the pixel split runs (below: flat runs, one thread up to QEW_CHUNK) */
extern long gk_qew_px_min;
/* and the plane size (pixels) from which it does (smaller planes: flat runs) */
extern long gk_qew_plane_min;
/* y[i] = saturate(rint(float32(sum_j x[i * len + j] - zx) * m) + zy) for i < rows (the sum is
 * exact, int64 converted to float32 as numpy does) */
void gk_qrow_mean(long rows, long len, const void *x, int type, int32_t zx, float m, float zy,
                  float lo, float hi, void *y, int threads);

/* DynamicQuantizeLinear's first pass: lo/hi = min/max of the non-NaN values of x (*nan = 1 if x
 * holds a NaN; all NaN: lo = +inf, hi = -inf). Which zero a -0/+0 tie gives is unspecified
 * (DynamicQuantizeLinear clamps both with 0 first, so it never matters there). */
void gk_qminmax(long n, const float *x, float *lo, float *hi, int *nan, int threads);
/* QuantizeLinear (per tensor): y[i] = saturate(rint(x[i] / scale) + zp) in type (GK_Q_U8/S8;
 * float32 division, NaN -> 0) */
void gk_qquantize(long n, const float *x, float scale, float zp, int type, void *y, long plane,
                  int threads);
/* DequantizeLinear (per tensor): y[i] = float32(x[i] - zp) * scale */
void gk_qdequantize(long n, const void *x, int type, int32_t zp, float scale, float *y, long plane,
                    int threads);

/* MaxPool on 8-bit planes (NCHW, GK_Q_U8 / GK_Q_S8): y[p, oy, ox] = the maximum of x[p, oy sh -
 * ph + ky dh, ox sw - pw + kx dw] over the taps inside the plane (the type's lowest value where
 * none is, as the reference pads). Returns 0 where out of memory (nothing then is written). */
int gk_qmaxpool(const void *x, int type, long planes, long h, long w, long kh, long kw, long sh,
                long sw, long dh, long dw, long ph, long pw, long oh, long ow, void *y,
                int threads);

typedef struct {
    /* y[i] = saturate(rint(x[i] / scale) + zp) in type for i < n */
    void (*quantize)(long n, const float *x, float scale, float zp, int type, void *y);
    /* y[i] = float32(x[i] - zp) * scale for i < n */
    void (*dequantize)(long n, const void *x, int type, int32_t zp, float scale, float *y);
    void (*binary)(int op, long n, const void *a, const void *b, long b_step,
                   const gk_qbinary_params *p, void *y);
    /* *lo / *hi = min / max of *lo / *hi and the non-NaN x[i], i < n; *nan |= any NaN */
    void (*minmax)(long n, const float *x, float *lo, float *hi, int *nan);
} gk_qelementwise_kernels;

#endif
