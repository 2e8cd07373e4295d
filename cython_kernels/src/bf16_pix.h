/* bf16 activations pixel-major in blocks of 32 channels ("pixel blocks"), and the direct conv on
 * AMX tiles that reads and writes them (bf16_pix.c). docs/bf16.md, "Pixel blocks".
 *
 * Why: the direct conv of bf16.h reads float32 NCHW images through pair planes (the pixels are a
 * B tile's columns, a plane apart) and writes float32 NCHW, so a large-plane conv streams its
 * float32 activations through the rounding pass, the residual and the output, past the 2 MB L2
 * (benchmarks/results/bf16_speed.md, session 26). Here the pixels are the A tiles' rows: a pixel's
 * 32 channels of a block are 64 contiguous bytes (one tile row: 16 pairs), so the 16 pixels of an
 * A tile at one tap are 1 KB in one piece; the weights are the B tiles (bf16.h's packed B), C is
 * pixels x output channels, and the output goes out in the same form (two C tiles' rows through
 * one vcvtne2ps2bf16 are a pixel's 32 channels), so the convs of a chain hand bf16 to each other.
 *
 * The form of an image of c channels, h x w: ceil(c / 32) blocks, each a grid of hp x wp pixels
 * followed by GK_PIX_TAIL pixels, each pixel 16 uint32 pairs (pair q: channel 32 b + 2 q in the
 * low half, 32 b + 2 q + 1 in the high half, as bf16.h's pairs). The image's pixel (y, x) sits
 * at grid (top + y, left + x); everything else (the grid around the image, the tail, channels
 * past c) is zero. A conv reading it takes its zero padding from the grid, so the form's padding
 * must cover the conv's.
 *
 * Rounding: vcvtne2ps2bf16's (nearest even): gk_bf16_round's bits except for a float32 denormal,
 * which it reads as zero (gk_bf16_round keeps those that round up to 2^-126), as bf16_nchwc.c's
 * strips. The conv's sums are AMX's (bf16.h: within bf16_reference.amx_error_bound); it adds the
 * same 16-pair blocks in the same order (tap-major, then channel blocks) as the direct conv of
 * bf16.h, so on the same bf16 operands it gives that conv's float32 sums. */
#ifndef GK_BF16_PIX_H
#define GK_BF16_PIX_H

#include <stddef.h>
#include <stdint.h>

#define GK_PIX_CB 32   /* channels per block: one tile row of bf16 */
#define GK_PIX_TAIL 32 /* pixels after a block's grid: the last 32-pixel tiles read up to 31 past it */

typedef struct {
    long c, h, w;           /* the image: channels, rows, columns */
    long top, left, hp, wp; /* its place in each block's grid of hp x wp pixels */
} gk_bf16_pix_form;

/* pixels per block (the grid and its tail); 0 for a form whose image does not fit its grid or
 * has a negative size */
long gk_bf16_pix_block(const gk_bf16_pix_form *f);
/* the form's size in pairs (blocks x pixels x 16); 0 as above */
size_t gk_bf16_pix_size(const gk_bf16_pix_form *f);

/* x (c, h, w) float32 -> the form (all of it written: zeros around the image). 0; -2 (nothing
 * written) without AVX512_BF16 (gk_bf16_cpu_native()); -3 a bad form */
int gk_bf16_pix_from_nchw(const float *x, const gk_bf16_pix_form *f, uint32_t *out, int threads);
/* the form -> y (c, h, w) float32 (bf16 values widened: exact). 0; -2 without AVX512_BF16; -3 */
int gk_bf16_pix_to_nchw(const uint32_t *in, const gk_bf16_pix_form *f, float *y, int threads);

/* The direct conv (one group, dilation 1) of the image in x (form xf) with a kh x kw kernel,
 * stride s (1 to GK_PIX_STRIDE), pads ph (top) and pw (left), output oh x ow of m channels:
 *   out = clip(conv + bias + z, lo, hi)
 * (gemm.h's epilogue order; bias (m) and z NULL for none; z in form zf, its image m x oh x ow),
 * written to yp in form yf (its image m x oh x ow; all of yp written, zeros around the image),
 * or, yp NULL, to y (m, oh * ow) float32. wpk: gk_bf16_pack_b of W' (K = kh kw Cp rows, N = m),
 * W'[(ky kw + kx) Cp + ci, o] = W[o, ci, ky, kx], Cp = ceil(c / 32) * 32, zero past c.
 * Stride 1: x is the form itself; its grid must hold the conv's padding: top >= ph, left >= pw,
 * hp >= top - ph + oh + kh - 1, wp >= left - pw + ow + kw - 1. Stride s > 1: x is the form's
 * phase split (gk_bf16_pix_phases), whose phases must hold the same: top >= ph, left >= pw,
 * ceil(hp / s) >= (top - ph + kh - 1) / s + oh, ceil(wp / s) >= (left - pw + kw - 1) / s + ow.
 * 0; -1 out of memory; -2 (nothing written) where the AMX tiles are not in use (gk_bf16_amx());
 * -3 a geometry or form it does not take */
#define GK_PIX_STRIDE 4
int gk_bf16_pix_conv(const uint32_t *x, const gk_bf16_pix_form *xf, long s, long kh, long kw,
                     long ph, long pw, long oh, long ow, long m, const uint32_t *wpk,
                     const float *bias, const uint32_t *z, const gk_bf16_pix_form *zf, float lo,
                     float hi, uint32_t *yp, const gk_bf16_pix_form *yf, float *y, int threads);

/* gk_bf16_pix_conv writing yp as the phase split of form yf for a stride-ys conv (ys 2 to
 * GK_PIX_STRIDE: gk_bf16_pix_phases's layout, of gk_bf16_pix_phases_size(yf, ys) pairs, all of
 * it written), the same bits as the conv into yf then gk_bf16_pix_phases, without the form in
 * between: a chain's value that only stride-ys convs read. ys 1: gk_bf16_pix_conv. Returns as
 * gk_bf16_pix_conv (-3 also for ys > 1 without yp) */
int gk_bf16_pix_conv_split(const uint32_t *x, const gk_bf16_pix_form *xf, long s, long kh,
                           long kw, long ph, long pw, long oh, long ow, long m,
                           const uint32_t *wpk, const float *bias, const uint32_t *z,
                           const gk_bf16_pix_form *zf, float lo, float hi, uint32_t *yp,
                           const gk_bf16_pix_form *yf, long ys, float *y, int threads);

/* The phase split of a form for a stride-s conv (s 2 to GK_PIX_STRIDE): per block, s * s phase
 * grids of ceil(hp / s) x ceil(wp / s) pixels, each followed by GK_PIX_TAIL pixels; phase (ry,
 * rx)'s pixel (yy, xx) is the grid's (s yy + ry, s xx + rx), zero past the grid. A strided conv
 * then reads every tap as 16 consecutive pixels of one phase, as a stride-1 conv reads the form
 * (bf16.h's phase planes, pixel-major). Its size in pairs (0: a bad form or stride), and the
 * split (0; -3 a bad form or stride) */
size_t gk_bf16_pix_phases_size(const gk_bf16_pix_form *f, long s);
int gk_bf16_pix_phases(const uint32_t *in, const gk_bf16_pix_form *f, long s, uint32_t *out,
                       int threads);

/* MaxPool (kh x kw, stride s, pads ph (top) and pw (left), dilation 1) of the image in the form
 * xf into the form yf (its image: the output, c x oh x ow; all of out written): each output the
 * max over its window's image pixels (the grids' zeros never enter), so, max commuting with the
 * rounding, the bits of the float32 MaxPool then rounded (but the sign of a zero among equal
 * zeros). Every window must hold a pixel of the image: ph < kh, pw < kw, s (oh - 1) - ph < h,
 * s (ow - 1) - pw < w. 0; -2 (nothing written) without AVX512_BF16; -3 a geometry it does not
 * take */
int gk_bf16_pix_maxpool(const uint32_t *in, const gk_bf16_pix_form *xf, long kh, long kw,
                        long s, long ph, long pw, uint32_t *out, const gk_bf16_pix_form *yf,
                        int threads);

/* A stem (few channels c, a kh x kw kernel, row stride s 1 to GK_PIX_STRIDE, column stride sw,
 * column dilation dw, pads ph (top) and pw (left), output oh x ow) as a kh x 1 block conv of
 * stride s: its expansion holds at pixel (y, xx) the c kw (<= 32) channels ci kw + kx = x[ci][y]
 * [sw xx + dw kx - pw] (zero outside the image: docs/bf16.md, "The stem on the blocks"), so one
 * 32-channel block carries a row of the kernel (ResNet's 7x7 x 3: 21 channels, K = 7 x 32 against
 * the 7 x 7 x 32 of its 3 channels padded). gk_bf16_pix_expand_form: the form f whose split the
 * conv reads, gk_bf16_pix_conv(out, f, s, kh, 1, ph, 0, oh, ow, m, wpk, ...) with wpk the packing
 * of W'[o, ci kw + kx, ky, 0] = W[o, ci, ky, kx] (f's image: h rows, the expansion's columns
 * at s xx; top = ph, left = 0, wp = s ow). 0; -3 a geometry it does not take.
 * gk_bf16_pix_expand: x (c, h, w) float32 rounded (vcvtne2ps2bf16, as gk_bf16_pix_from_nchw)
 * into out: s = 1 the form, else the phases (ry, 0), ry < s, of its split (gk_bf16_pix_phases's
 * layout, gk_bf16_pix_phases_size(f, s) pairs): all the conv reads, zeros around the image and
 * the tails; the phases of odd columns (rx > 0) the conv does not read stay unwritten. 0; -1 out
 * of memory; -2 (nothing written) without AVX512_BF16; -3 as above */
int gk_bf16_pix_expand_form(long c, long h, long kh, long kw, long s, long ph, long oh, long ow,
                            gk_bf16_pix_form *f);
int gk_bf16_pix_expand(const float *x, long c, long h, long w, long kh, long kw, long s, long sw,
                       long dw, long ph, long pw, long oh, long ow, uint32_t *out, int threads);

/* whether the conv stores each tile's output while the next tile's products run (1, the
 * default; the same bits) or after each tile (0: the A/B knob); on < 0 only asks. Returns the
 * setting before the call */
int gk_bf16_pix_set_overlap(int on);

#endif
