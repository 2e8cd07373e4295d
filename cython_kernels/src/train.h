/* Training kernels (train.c): training-mode BatchNormalization forward and backward, ClipGrad and
 * MaxPoolGrad, float32. Tensors are (N, C, L) (L = the spatial size) or flat; every parallel loop
 * is one pool call (threadpool.h) over independent channels, planes or fixed-size chunks, so results
 * do not depend on the thread count. Memory-bound: plain C at the baseline ISA, except GELU's
 * VJP, which runs the SIMD level's row kernel (elementwise_kernels.inc). */
#ifndef GK_TRAIN_H
#define GK_TRAIN_H

/* per channel c of x (N, C, L), m = N L: mean[c] = Σ x / m and var[c] = Σ (x - mean)² / m (two
 * passes, float sums per short block, float64 across blocks; both rounded to float32), then
 * y = x k + shift with k = scale / sqrt(var + eps), shift = bias - mean k computed in float64 from
 * the rounded moments and rounded to float32 once (the reference's _normalize). y may not alias
 * x. */
void gk_bn_train_forward(const float *x, const float *scale, const float *bias, float *y,
                         float *mean, float *var, long n, long c, long l, double eps, int threads);

/* training-mode BatchNormalization's VJP per channel (m = N L, the batch moments as above,
 * r = 1 / sqrt(var + eps), xh = (x - mean) r): db = Σ dy, dscale = Σ dy xh,
 * dx = scale r / m (m dy - db - xh dscale); dscale and db rounded to float32. */
void gk_bn_train_grad(const float *dy, const float *x, const float *scale, float *dx,
                      float *dscale, float *db, long n, long c, long l, double eps, int threads);

/* elements per ClipGrad chunk: gk_clip_grad's sums are per chunk (the caller adds them in order) */
#define GK_CLIP_CHUNK 16384

/* ClipGrad over n elements, lo <= hi: dx = dy where lo <= x <= hi (and where x is NaN), else 0;
 * for chunk k of GK_CLIP_CHUNK elements, sums[2k] = Σ dy where x < lo and sums[2k + 1] = Σ dy
 * where x > hi (float sums per block of 1024 elements, float64 across blocks). */
void gk_clip_grad(const float *dy, const float *x, float lo, float hi, float *dx, double *sums,
                  long n, int threads);

/* MaxPoolGrad over planes (h, w) with non-overlapping kh x kw windows (strides = kernel, no pads,
 * oh = h / kh, ow = w / kw): each window's first maximum (its first NaN, if it has one) gets
 * dy[window], every other element of dx (the uncovered edge rows and columns too) 0. */
void gk_max_pool_grad(const float *dy, const float *x, float *dx, long planes, long h, long w,
                      long kh, long kw, int threads);

/* GELU's VJP (erf form): dx = dy (Phi(x) + x phi(x)), Phi(x) = (1 + erf(x / sqrt 2)) / 2 from
 * maths.h's gk_geluf (Phi = gelu(x) / x; 1/2 near 0), phi(x) = exp(-x² / 2) / sqrt(2 pi). */
void gk_gelu_grad(const float *dy, const float *x, float *dx, long n, int threads);

/* Gather's VJP: dy (outer, n, inner), idx[n] in [0, dim) (the caller normalises and checks them):
 * acc (outer, dim, inner) float64 = Σ dy[o, i, :] over the i with idx[i] = j, added in order of i
 * (the reference's bincount order), then rounded into out (outer, dim, inner). */
void gk_gather_grad(const float *dy, const long long *idx, double *acc, float *out, long outer,
                    long n, long dim, long inner);

/* elements per optimiser chunk (a unit of gk_adam / gk_momentum's parallel loop) */
#define GK_OPT_CHUNK 16384

/* One group of the ONNX training op Adam over n elements, the reference's float32 steps in its
 * order (constants rounded to float32 by the caller, as the reference's dt(...)):
 * g = nc x + grad; v' = a v + oma g; h' = b h + (omb g) g; x' = post (x - (rate v') / (sqrt(h') +
 * eps)). Outputs may not alias inputs. */
void gk_adam(const float *x, const float *grad, const float *v, const float *h, float *xo,
             float *vo, float *ho, long n, const float *k, int threads);
/* k: {nc, a, oma, b, omb, rate, eps, post} */

/* One group of Momentum: g = nc x + grad; v' = a v + bt g; x' = x - rate (v' or, nesterov,
 * g + a v'). k: {nc, a, bt, rate}. */
void gk_momentum(const float *x, const float *grad, const float *v, float *xo, float *vo, long n,
                 const float *k, int nesterov, int threads);

#endif
