/* Strided 1x1 convs (ResNet's stride-2 downsamples) as the stride-1 1x1 conv of the sampled
 * input: gk_conv_gemm calls it before packing an im2col (conv_strided.c). */
#ifndef GK_CONV_STRIDED_H
#define GK_CONV_STRIDED_H

#include "gemm.h"

/* 0 turns the path off (gk_conv_gemm packs the strided im2col as before; for A/B timings and
 * tests), 1 on */
extern int gk_conv_strided_on;

/* A 1x1 conv of one image group with a stride (or padding) that is not the plain 1x1: the
 * sampled input xs[ci, oy, ox] = x[ci, oy*sh - ph, ox*sw - pw] (0 outside) is copied into a
 * thread-local plane on the pool's threads, then gk_conv_gemm runs the plain 1x1 conv of xs
 * (the direct 1x1 kernel, the unpacked-B GEMM or the packed path, by their rules), bias and
 * residual as given. Those paths' sums are the packed GEMM's over the same K, so the bits are
 * the strided im2col's. Returns 0 (nothing done) where switched off, for another geometry, or
 * where the plane could not be allocated. */
int gk_conv_strided_1x1(const float *ap, long m, const float *x, long c, long h, long w, long kh,
                        long kw, long sh, long sw, long ph, long pw, long oh, long ow, float *bp,
                        float *y, const float *bias, const float *residual, float lo, float hi,
                        int clip, int threads);

#endif
