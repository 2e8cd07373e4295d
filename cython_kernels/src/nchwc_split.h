/* How the blocked conv and depthwise conv share a call among threads, by plane size (nchwc.c;
 * its own header so that nchwc.h, which every SIMD level's kernels include, stays as it is). */
#ifndef GK_NCHWC_SPLIT_H
#define GK_NCHWC_SPLIT_H

/* in split mode 0 (nchwc.h gk_nchwc_split_mode), a conv or depthwise conv of one image whose
 * output has at least this many rows runs in mode 1's static row parts (part p on seat p, the
 * same fractions of the image in every layer), so that along a chain of such planes each thread
 * reads the rows its own core wrote (28, the default: measured in nchwc.c); 0: never */
extern long gk_nchwc_parts_h;

/* 1: a 1x1 conv of one image that runs weights-major (its weights outweigh its input: a
 * classifier's 1000 channels) with at least 4 groups of output blocks a thread shares them out in
 * static parts (part p on seat p, the same fractions of the groups every call), and the blocked
 * GlobalAveragePool its blocks at the same fractions, so that the pool reads what its own core
 * wrote (the pool after SqueezeNet's 512 -> 1000 at 13 x 13 read half of the 676 KB from the other
 * core's L2: 2.5x onnxruntime's time); 0 (default, nchwc.c says why): the dynamic ranges */
extern long gk_nchwc_block_parts;

/* 1: a blocked max pool of one image whose input has at least gk_nchwc_parts_h rows (in split
 * mode 0; any in modes 1 and 2) pools its output rows in static parts at the same fractions of
 * the image as the convs that wrote its input (part p on seat p); 0 (default): dynamic ranges */
extern long gk_nchwc_pool_parts;

#endif
