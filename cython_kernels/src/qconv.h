/* Exact 8-bit integer convolution (QLinearConv, ConvInteger; see qgemm.h for the arithmetic). A
 * general conv is im2col into the int8 GEMM's packed B (gk_qpack_b_conv: zero-point-shifted int16
 * pairs, padding packed as 0, i.e. the input zero point) against the weights packed once as A; a
 * 1x1 stride-1 conv packs the input plane as is. Depthwise convs run gk_qdepthwise: per channel
 * a zero-point-shifted, padded plane, each tap accumulated over one contiguous run (vectorised;
 * exact integer sums in float32), then the GEMM's epilogue with the channel as its row; small
 * output planes (at most GK_QDW8_MAX_PIXELS) 8 channels at a time, interleaved, so the vectors run
 * over channels and no per-plane set-up dominates. */
#ifndef GK_QCONV_H
#define GK_QCONV_H

#include <stddef.h>
#include <stdint.h>

#include "qgemm.h"

/* x: C x H x W (element type GK_Q_U8/S8) of one image and group; B (K = C*kh*kw rows, N = oh*ow
 * columns) packed into out (gk_qpacked_b_size(K, N) int16s), every value minus zx. Returns 0 if
 * a thread's row buffer (4 N bytes) could not be allocated (out is then incomplete). */
int gk_qpack_b_conv(const void *x, int type, long c, long h, long w, long kh, long kw, long sh,
                    long sw, long dh, long dw, long ph, long pw, long oh, long ow, int32_t zx,
                    int16_t *out, int threads);
/* x as gk_qpack_b_conv, im2col into the 8-bit GEMM's packed right operand (qgemm.h: gk_q8_*;
 * gk_q8_packed_size(N, K) bytes), stored as `to`; padding is zx's byte (zx a value of `type`);
 * sums (N int32s, NULL: not computed) the column sums of the stored values. Returns 0 if a
 * thread's row buffer could not be allocated. */
int gk_q8_pack_b_conv(const void *x, int type, long c, long h, long w, long kh, long kw, long sh,
                      long sw, long dh, long dw, long ph, long pw, long oh, long ow, int32_t zx,
                      int to, int32_t *sums, uint8_t *out, int threads);
/* gk_q8_pack_b_conv into bp, then gk_q8_gemm(m, oh * ow, K, ap, ta, bp, to, z, y, ldy, ep, i0, 0,
 * threads): where gk_q8_gemm_fusable, in one pool call, each piece of the pixels packed by the
 * thread that multiplies it (no join between the two, B's panels read from that thread's
 * cache); else the two calls. The same results either way. Returns 0 where either would
 * (no memory; gk_q8_gemm's missing sums). */
int gk_q8_conv_gemm(const void *x, int type, long c, long h, long w, long kh, long kw, long sh,
                    long sw, long dh, long dw, long ph, long pw, long oh, long ow, int32_t zx,
                    int to, int32_t *sums, uint8_t *bp, long m, const uint8_t *ap, int ta,
                    const gk_q8_zero *z, void *y, long ldy, const gk_qepilogue *ep, long i0,
                    int threads);
/* the most taps gk_qdepthwise takes: its float32 sums stay exact integers below 2^24 */
#define GK_QDW8_MAX_PIXELS 256
#define GK_QDW_MAX_TAPS 258
/* Work buffer (int32 words per thread) gk_qdepthwise needs. */
size_t gk_qdepthwise_work(long h, long w, long kh, long kw, long sh, long sw, long dh, long dw,
                          long ph, long pw, long oh, long ow);
/* y[n, ch] = epilogue(sum_taps (x[n, ch] - zx) * wt[ch]) for every image and channel: x N x C x H
 * x W (type), wt C x kh*kw (at most GK_QDW_MAX_TAPS) already minus the weight zero point (in
 * [-255, 255]), y N x C x oh x ow (ep->out_type);
 * the epilogue's row index is the channel. work: threads * gk_qdepthwise_work int32s. */
void gk_qdepthwise(const void *x, int type, long n, long c, long h, long w, const int16_t *wt,
                   long kh, long kw, long sh, long sw, long dh, long dw, long ph, long pw, long oh,
                   long ow, int32_t zx, const gk_qepilogue *ep, void *y, int32_t *work,
                   int threads);

/* The most taps gk_qdepthwise_nhwc takes: its int32 sums (each product at most 255 * 255 in
 * magnitude) cannot overflow. */
#define GK_QDW_NHWC_MAX_TAPS 33000
/* y[b, oy, ox, o] = epilogue(sum over the taps inside the image of (x[b, iy, ix, o / mult] - zx)
 * * wt[ky, kx, o]) for NHWC x (N x H x W x C, type) and y (N x OH x OW x C*mult, ep->out_type),
 * wt kh x kw x C*mult already minus the weight zero point; iy = oy * sh - ph + ky * dh (ix the
 * same). The epilogue's row is the output pixel, its column the output channel. work: threads *
 * C*mult int32s. */
void gk_qdepthwise_nhwc(const void *x, int type, long n, long h, long w, long c, long mult,
                        const int16_t *wt, long kh, long kw, long sh, long sw, long dh, long dw,
                        long ph, long pw, long oh, long ow, int32_t zx, const gk_qepilogue *ep,
                        void *y, int32_t *work, int threads);

typedef struct {
    /* acc[oy * wq + ox] = sum over taps of wt[tap] * padded[oy*sh + ky*dh][ox*sw + kx*dw] for
     * oy < oh, ox < ow (other columns of acc: anything); the padded plane (x - zx as float) is
     * split into sh x sw phases of hq x wq (qconv.c: dw_phases), so each tap is one contiguous
     * run of (oh - 1) * wq + ow multiply-adds. Exact in float32, FMA or not: every partial sum
     * is an integer of magnitude <= taps * 255 * 255 < 2^24 (GK_QDW_MAX_TAPS) */
    void (*dw_plane)(const float *xp, long hq, long wq, const int16_t *wt, long kh, long kw,
                     long sh, long sw, long dh, long dw, long oh, long ow, float *acc);
    /* Winograd F(2x2, 3x3) input transform of one channel (qconv_winograd.h): x (h x w, type)
     * minus zx, zero-padded, tile (ty, tx) at row 2 ty - ph, column 2 tx - pw; v[q * vs + ty *
     * tw + tx] = (B^T d B)[q / 4][q % 4] for q < 16; vs >= th * tw + 16 (the slack is
     * scribbled on). scratch: gk_qwino_in_scratch int16s */
    void (*wino_in)(const void *x, int type, long h, long w, int32_t zx, long ph, long pw,
                    long th, long tw, int16_t *scratch, int16_t *v, long vs);
    /* its output transform for one output channel: m[q * ms + t] (q < 16, t < th * tw) ->
     * y[oy * ow + ox] = (A^T M A)[oy % 2][ox % 2] of tile (oy / 2, ox / 2), arithmetic shift
     * right by 2 (int32, wrapping); m readable 8 values past its last tile; scratch: 12 *
     * (tw rounded up to 8) int32s */
    void (*wino_out)(const int32_t *m, long ms, long th, long tw, long oh, long ow,
                     int32_t *scratch, int32_t *y);
    /* pair kp (of k2) of every packed-B panel from two int16 rows of n values; past n: 0 */
    void (*pack_b_pair16)(const int16_t *r0, const int16_t *r1, long n, long kp, long k2,
                          int16_t *out);
    /* the depthwise conv's padded plane (hp x wp; x minus zx as float, 0 outside x) split into
     * sh x sw phases of hq x wq (qconv_kernels.inc) */
    void (*dw_phases)(const void *x, int type, long h, long w, long ph, long pw, long hp, long wp,
                      long sh, long sw, long hq, long wq, int32_t zx, float *xp);
    /* 8 channels of a depthwise conv at once (small planes, qconv.c): xp the padded input (x -
     * zx as float, 0 outside x) of 8 channels interleaved, hp x wp x 8; wv the taps, kh*kw x 8;
     * acc[(oy * ow + ox) * 8 + c] = sum over taps of wv[tap][c] * xp[oy*sh + ky*dh][ox*sw +
     * kx*dw][c]. Exact in float32 as dw_plane */
    void (*dw_block8)(const float *xp, long wp, const float *wv, long kh, long kw, long sh,
                      long sw, long dh, long dw, long oh, long ow, float *acc);
    /* one channel plane of the depthwise conv from input bytes to output bytes (qdw_q8_kernels
     * .inc): y[oy * ow + ox] = epilogue row ch of sum over taps of wt[tap] * (x - zx) (padding
     * 0), for a byte output, the float requantisation and mult/bias column strides 0; the padded
     * plane in phases as dw_phases (floats, GK_QDW_Q8_SLACK past them), then each 64 outputs of
     * the run summed in registers and requantised to a byte row of wq columns (compacted to ow).
     * work: gk_qdw_q8_work words; NULL below AVX2 */
    void (*dw_plane_q8)(const void *x, int type, long h, long w, const int16_t *wt, long kh,
                        long kw, long sh, long sw, long dh, long dw, long ph, long pw, long oh,
                        long ow, int32_t zx, const gk_qepilogue *ep, long ch, uint8_t *y,
                        float *work);
    /* 16 channels of the depthwise conv from input bytes to output bytes (qdw_q8_kernels.inc;
     * AVX-512 with AVX512_VNNI only, NULL elsewhere; qconv.c runs it where gk_q8_core() >= 1):
     * x the first of nc <= 16 input planes (h x w, type; plane stride h * w), y the first of their
     * output planes (oh x ow bytes, stride oh * ow), wt their taps (kh*kw each, minus the weight
     * zero point), ep's row index c0 + channel; the float requantisation with finite multipliers,
     * byte output, mult/bias column strides 0; pads >= 0. Integer throughout: the padded input
     * (x - zx as int16, zx outside x) channels-last in rows of horizontal tap pairs, each pair of
     * taps one vpdpwssd over the 16 channels (int32 sums, exact), requantised 16 channels at a
     * time, then transposed back to planes; output rows [oyb, oye) only (y still the planes'
     * start). work: gk_qdw16_work bytes */
    void (*dw_block16)(const void *x, int type, long h, long w, long nc, const int16_t *wt,
                       long kh, long kw, long sh, long sw, long dh, long dw, long ph, long pw,
                       long oh, long ow, int32_t zx, const gk_qepilogue *ep, long c0, uint8_t *y,
                       long oyb, long oye, void *work);
    /* the 8-bit GEMM's B packing (qconv.c q8_interleave4) 64 columns at a time: rows r[0..3]
     * (n bytes each) as group g (of kp / 4) of the panels holding columns [0, 64 * (n / 64)),
     * each byte xor flip; returns the columns done (n rounded down to 64). AVX-512 with
     * AVX512BW only, NULL elsewhere (qconv.c checks the CPU) */
    long (*q8_interleave4_64)(const uint8_t *const r[4], long n, uint8_t flip, long g, long kp,
                              uint8_t *out);
} gk_qconv_kernels;

/* dw_block16's geometry: the padded plane's width wp; its pair columns (every column, or every
 * other one where the stride is even, as only those are read); output rows per strip (the strip's
 * pair rows within GK_QDW16_STRIP_BYTES); its work bytes */
#define GK_QDW16_STRIP_BYTES 262144
static inline long gk_qdw16_wp(long kw, long sw, long dw, long ow) {
    return (ow - 1) * sw + (kw - 1) * dw + 1;
}
static inline long gk_qdw16_cols(long kw, long sw, long dw, long ow) {
    long g = sw % 2 == 0 ? 2 : 1;
    return (gk_qdw16_wp(kw, sw, dw, ow) + g - 1) / g;
}
static inline long gk_qdw16_strip(long kh, long kw, long sh, long sw, long dh, long dw, long oh,
                                  long ow) {
    long rows = GK_QDW16_STRIP_BYTES / (gk_qdw16_cols(kw, sw, dw, ow) * 64), span = (kh - 1) * dh + 1;
    long r = rows > span ? (rows - span) / sh + 1 : 1;
    return r < oh ? r : oh;
}
static inline size_t gk_qdw16_work(long kh, long kw, long sh, long sw, long dh, long dw, long oh,
                                   long ow) {
    long r = gk_qdw16_strip(kh, kw, sh, sw, dh, dw, oh, ow);
    size_t rows = (size_t)((r - 1) * sh + (kh - 1) * dh + 1);
    size_t pairs = rows * (size_t)gk_qdw16_cols(kw, sw, dw, ow) * 64;    /* int16 pairs */
    size_t rowb = (size_t)(gk_qdw16_wp(kw, sw, dw, ow) + dw + 32) * 16; /* one padded row */
    size_t stage = (size_t)(r * ow + 16) * 16;                           /* output bytes */
    size_t wts = (size_t)(kh * ((kw + 1) / 2)) * 64 + 2 * 64;             /* tap pairs, mult, bias */
    return pairs + rowb + stage + wts + 64;
}

/* floats past the phases of dw_plane_q8's padded plane (its last group of 64 reads into them) */
#define GK_QDW_Q8_SLACK 64

#endif
