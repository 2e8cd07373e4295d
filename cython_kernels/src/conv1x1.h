/* A 1x1, stride-1, unpadded conv of one image as C[M,N] = epilogue(packed A @ X), X its input
 * planes (K = input channels rows of N = H*W pixels, read where they lie: no packed copy of B).
 * conv1x1.c drives it (threads, the rule of which convs take it), conv1x1_kernels.inc holds the
 * per-level kernels: each column tile of X (2 vectors wide) is copied, one K block at a time,
 * into a contiguous thread-local stage that stays in L1 while every row tile of the M block
 * reads it (the planes' rows are N floats apart: at 56x56, 12.5 KiB, so a column tile's 256 rows
 * in place fall on 32 L1 sets and 256 pages, and the packed path writes and rereads a 3.2 MB
 * copy), while the next column tile's rows are prefetched into L2. Row tiles of 12 (AVX-512) or
 * 6 (AVX2) rows, cut to the rows there are (M = 64: five of 12 and one of 4, not six of 12).
 * Every element is the same sum over K in the same order (K blocks of gemm.h's gk_gemm_kc) as
 * the packed GEMM's, then gemm.h's epilogue: the bits of gk_conv_gemm's packed path. */
#ifndef GK_CONV1X1_H
#define GK_CONV1X1_H

#include "gemm.h"

/* which 1x1 convs gk_conv1x1 takes: 0 none, 1 those its rule picks, 2 every one (tests) */
extern int gk_conv1x1_on;

/* 1 where the rule in force would run this m x n x k conv on gk_conv1x1 (and the level has the
 * kernel) */
int gk_conv1x1_takes(long m, long n, long k);

/* C[m, n] (row stride n) = epilogue(packed A @ X), X[kk, j] = x[kk * n + j]. Returns 0 where
 * gk_conv1x1_takes says no (C untouched) or a thread's stage could not be allocated (C partly
 * written): the caller then takes its other paths, which write all of C. */
int gk_conv1x1(long m, long n, long k, const float *ap, const float *x, float *c,
               const gk_epilogue *ep, int threads);

/* ---- per-level kernels (conv1x1_kernels.inc; dispatch.c selects one level's) -------------- */

typedef struct {
    long m, n, k;
    const float *ap, *x;
    float *c;
    const gk_epilogue *ep;
    long kc, mc;
} gk_conv1x1_args;

typedef struct {
    /* columns of C per column tile (2 vectors) */
    long col_unit;
    /* C[m0:m1, n0:n1] (m0 a multiple of GK_MR, n0 of col_unit); 0 where its thread's stage
     * could not be allocated; NULL at the generic level */
    int (*block)(const gk_conv1x1_args *g, long m0, long m1, long n0, long n1);
} gk_conv1x1_kernels;

#endif
