/* Static pixel splits of the int8 pool calls: where gk_qsplit_mode >= 1, the 8-bit im2col packer
 * (by 16-pixel panels, qconv.c) and the 16-channel depthwise kernel (by output rows, where every
 * part has GK_QSPLIT_DW_MIN_ROWS), from mode 2 the 8-bit GEMM (by pairs of B panels, qgemm.c),
 * from mode 3 the element-wise ops (every plane's pixels, qelementwise.c) cut their work into
 * one part per thread at the same fractions of the image (gk_qsplit_px), each part into
 * gk_qsplit_pieces pieces, and seat p runs part p's pieces from the front where that seat takes
 * part (the caller is seat 0), so that a layer's thread reads the pixels its own core wrote in
 * the layer before; a seat done with its part takes the other parts' last pieces
 * (gk_pool_run_parts), so a thread the OS slows or keeps off its core holds up one piece, not
 * its whole part. Mode 0: the pool's ordinary chunking. Which thread runs a piece never changes
 * the results. */
#ifndef GK_QCONV_SPLIT_H
#define GK_QCONV_SPLIT_H

#include "threadpool.h"

/* 0: dynamic chunks; 1: static pixel parts in the packer and depthwise kernel; 2: and the 8-bit
 * GEMM's pixel panels; 3 (default): and the element-wise ops over gk_qew_px_min elements.
 * Measured on MobileNetV2 int8, 2 threads (benchmarks/int8_locality.py --ab, one process, load
 * 5.5): fastest run 2.78-3.12 ms (mode 0), 2.66 (1), 2.24-2.38 (2); the chunk work of calls both
 * threads shared 25 % over one CPU's in mode 0, 7 % in mode 2; load 4.2-4.6, 300 runs per mode
 * interleaved, three runs: 10th percentile 2.49-2.99 ms (mode 1), 2.11-2.39 (2) */
extern int gk_qsplit_mode;
/* the depthwise kernel splits by rows only where every part has at least this many output rows
 * (below, each 16-channel block's set-up and transposes cost more than the locality saves:
 * MobileNetV2's 14x14 layers measured 1.6x slower split by rows on 2 threads) */
#define GK_QSPLIT_DW_MIN_ROWS 14

/* the first pixel of part p (of parts) of n pixels: n p / parts rounded to a multiple of 32 (a
 * pair of the 8-bit GEMM's 16-column panels), n for p == parts */
static inline long gk_qsplit_px(long n, int p, int parts) {
    if (p >= parts) return n;
    long b = (n * p / parts + 16) / 32 * 32;
    return b < n ? b : n;
}

/* pieces per part (ext.qsplit_pieces; 1: each part whole, as before session 16). 2: in one
 * process at load ~1.2 (int8_locality.py --ab --modes 3:1,3:2,3:4), 2 pieces had the lowest median
 * on ResNet-18 / ResNet-50 / MobileNetV2 and fastest runs within 3 % of whole parts, where 4 pieces
 * cost ResNet-18 8-9 %; with one core busy, pieces beat whole parts (benchmarks/results/
 * int8_splits.md) */
extern long gk_qsplit_pieces;
#define GK_QSPLIT_PIECES_MAX 16
/* room for the bounds of every piece of every part */
#define GK_QSPLIT_BOUNDS (GK_POOL_MAX_THREADS * GK_QSPLIT_PIECES_MAX + 1)

/* gk_qsplit_pieces within [1, GK_QSPLIT_PIECES_MAX] */
static inline int gk_qsplit_npieces(void) {
    long k = gk_qsplit_pieces;
    return (int)(k < 1 ? 1 : k > GK_QSPLIT_PIECES_MAX ? GK_QSPLIT_PIECES_MAX : k);
}

/* bounds[t] = gk_qsplit_px(n, t, parts * pieces) for t <= parts * pieces: part p's first pixel
 * (t = p * pieces) is gk_qsplit_px(n, p, parts) whatever the pieces, as n (p pieces) / (parts
 * pieces) rounds down to n p / parts */
static inline void gk_qsplit_px_bounds(long n, int parts, int pieces, long *bounds) {
    int all = parts * pieces;
    for (int t = 0; t <= all; t++) bounds[t] = gk_qsplit_px(n, t, all);
}

/* the bounds of gk_qsplit_px_bounds in the caller's units: pixel bound b becomes b / per * scale
 * (per: pixels per unit, dividing every bound but n), the last bound `units`; run them with
 * gk_pool_run_parts (threadpool.h): part p's pieces from the front on seat p where that seat
 * takes part in the call, then whatever is left from the backs of the other parts */
static inline void gk_qsplit_unit_bounds(long n, int parts, int pieces, long per, long scale,
                                         long units, long *bounds) {
    gk_qsplit_px_bounds(n, parts, pieces, bounds);
    for (int t = 0; t < parts * pieces; t++) bounds[t] = bounds[t] / per * scale;
    bounds[parts * pieces] = units;
}

#endif
