/* How the blocked conv and depthwise conv share a call among threads, by plane size (nchwc.c;
 * its own header so that nchwc.h, which every SIMD level's kernels include, stays as it is). */
#ifndef GK_NCHWC_SPLIT_H
#define GK_NCHWC_SPLIT_H

/* in split mode 0 (nchwc.h gk_nchwc_split_mode), a conv or depthwise conv of one image whose
 * output has at least this many rows runs in mode 1's static row parts (part p on seat p, the
 * same fractions of the image in every layer), so that along a chain of such planes each thread
 * reads the rows its own core wrote (28, the default: measured in nchwc.c); 0: never */
extern long gk_nchwc_parts_h;

/* 1: a conv in weights-major order (its work split by output channel groups) and a depthwise
 * conv not in row parts, of one image, run in static channel parts (part p on seat p from the
 * same fraction of the channel groups in both kinds, its pieces even shares of it, the rest
 * taken by whoever is free): the depthwise conv after an expansion then reads the channels its
 * own core wrote (the pool's guided chunks interleave the two threads' channels at random);
 * 0: the pool's dynamic chunks */
extern long gk_nchwc_channel_parts;

#endif
