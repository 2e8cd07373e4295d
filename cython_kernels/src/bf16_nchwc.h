/* The blocked-layout 1x1 conv on AMX tiles (bf16_nchwc.c): gossamer::NchwcConv's 1x1, stride-1,
 * unpadded, group-1 convs of a bf16 session, reading and writing NCHW8c float32 so that the
 * blocked chain keeps them (docs/bf16.md, "1x1 convs on the blocked layout").
 *
 * GEMM form: rows = pixels, K = input channels, columns = output channels. A pixel's channels are
 * contiguous within each 8-channel block, so one A tile row (16 channel pairs) is 4 blocks of one
 * pixel, rounded to bf16 pairs (vcvtneps2bf16: gk_bf16_round's bits, but a float32 denormal reads
 * as zero) while a strip of 32 pixels is packed; the
 * weights are bf16.h's packed B (gk_bf16_pack_b of W^T: K = c, N = m), packed once; the C tiles
 * (16 pixels x 16 output channels, float32 accumulators) go out with the epilogue (+ bias, +
 * residual z in y's layout, clip to [lo, hi]) as 2 output blocks per pixel. AMX's arithmetic
 * (within bf16_reference.amx_error_bound), so only where the tiles are in use. */
#ifndef GK_BF16_NCHWC_H
#define GK_BF16_NCHWC_H

#include <stdint.h>

/* y (n, m/8, hw, 8) = clip(x (n, c/8, hw, 8) @ W^T + bias + z, lo, hi); wpk: gk_bf16_pack_b of
 * W^T (c x m); bias (m) and z (y's layout) may be NULL. 0; -1 out of memory; -2 (nothing
 * written) where the AMX tiles are not in use (gk_bf16_amx()); -3 c or m not a positive multiple
 * of 8, or a negative size */
int gk_bf16_nchwc_conv1x1(const float *x, long n, long c, long hw, const uint32_t *wpk, long m,
                          const float *bias, const float *z, float lo, float hi, float *y,
                          int threads);

#endif
