/* Data-movement kernels (layout.c): strided n-d copies (Transpose, Slice, Split, Concat) and
 * Gather, for any fixed element size. Shapes and strides are ptrdiff_t (Py_ssize_t), strides in
 * bytes and of either sign. */
#ifndef GK_LAYOUT_H
#define GK_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define GK_COPY_MAXDIM 64 /* dims left after dropping size-1 dims and merging contiguous ones */

/* dst[i] = src[i] for every index i of `shape` (ndim dims): element (i_0, ..) lies at
 * src + sum(i_k * ss[k]) and dst + sum(i_k * ds[k]). Blocked 2-D transposes where the two
 * innermost dims swap contiguity, row memcpy where both are contiguous. Returns 0, or -1 if
 * more than GK_COPY_MAXDIM dims remain (nothing copied). */
int gk_copy_nd(int ndim, const ptrdiff_t *shape, const char *src, const ptrdiff_t *ss, char *dst,
               const ptrdiff_t *ds, ptrdiff_t esize, int threads);

/* dst[0 .. n) = value for n contiguous elements of `esize` bytes (the value's bytes repeated;
 * memset when they are all equal, e.g. a zero of any type). */
void gk_fill(char *dst, ptrdiff_t n, const char *value, ptrdiff_t esize);

/* y[o, j, :] = x[o, idx[j] (+ dim if negative), :] with rows of `row` bytes, x (outer, dim, row)
 * and y (outer, nidx, row) contiguous; idx int64 (idx64) or int32. Returns -1, or the position
 * of the first index outside [-dim, dim) (then nothing is copied). */
ptrdiff_t gk_gather(const char *x, ptrdiff_t outer, ptrdiff_t dim, ptrdiff_t row, const void *idx,
                    int idx64, ptrdiff_t nidx, char *y, int threads);

/* ---- per-level kernels (layout_kernels.inc; dispatch.c selects one level's) ---------------- */

typedef struct {
    /* the whole 8 x 8 blocks of an na x nb transpose of 4-byte elements: d[a * da + b * 4] =
     * s[a * 4 + b * sb] for a < na / 8 * 8, b < nb / 8 * 8 (byte strides); NULL at generic */
    void (*tile_f32)(const char *s, char *d, ptrdiff_t na, ptrdiff_t nb, ptrdiff_t sb,
                     ptrdiff_t da);
} gk_layout_kernels;

#endif
