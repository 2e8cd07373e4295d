/* Data-movement drivers (see layout.h): strided n-d copy (Transpose/Slice/Split/Concat) and
 * Gather; the per-level register transpose is in layout_kernels.inc. */
#include <stdint.h>
#include <string.h>

#include "dispatch.h"
#include "isa.h"
#include "layout.h"
#include "threadpool.h"

typedef ptrdiff_t idx_t;

/* below this many bytes a copy runs on the calling thread: a copy is memory-bound, a second
 * thread saved ~2 us on a 192 KiB transpose here (an OpenMP fork also waited for a busy core when
 * another process held it: 0.3 ms per copy on this shared 2-core machine) */
#define PAR_BYTES (1024 * 1024)

typedef struct {
    idx_t n, s, d; /* size, source stride, destination stride (bytes) */
} dim_t;

enum { MODE_ROWS, MODE_TILE, MODE_STRIDED };

typedef struct {
    int k;        /* outer dims: dim[0..k) */
    int mode;     /* what the inner dims are */
    idx_t esize;  /* element bytes */
    idx_t nab;    /* MODE_TILE: blocks along dim[k] (a) */
    dim_t dim[GK_COPY_MAXDIM];
    const char *src;
    char *dst;
} plan_t;

#define TB 16 /* tile edge (elements) of the blocked transpose */

/* ---- inner kernels ---------------------------------------------------------------------- */

static void strided_row(const char *s, char *d, idx_t n, idx_t ss, idx_t ds, idx_t esize) {
    switch (esize) {
    case 1:
        for (idx_t i = 0; i < n; i++) d[i * ds] = s[i * ss];
        break;
    case 2:
        for (idx_t i = 0; i < n; i++) memcpy(d + i * ds, s + i * ss, 2);
        break;
    case 4:
        for (idx_t i = 0; i < n; i++) memcpy(d + i * ds, s + i * ss, 4);
        break;
    case 8:
        for (idx_t i = 0; i < n; i++) memcpy(d + i * ds, s + i * ss, 8);
        break;
    default:
        for (idx_t i = 0; i < n; i++) memcpy(d + i * ds, s + i * ss, (size_t)esize);
    }
}

/* scalar block: dst[a * da + b * esize] = src[a * esize + b * sb], a < na, b < nb */
#define GK_TILE_SCALAR(T)                                                                     \
    for (idx_t b0 = 0; b0 < nb; b0 += TB) {                                                   \
        idx_t b1 = GK_MIN(nb, b0 + TB);                                                       \
        for (idx_t a = 0; a < na; a++) {                                                      \
            const char *sp = s + a * (idx_t)sizeof(T);                                        \
            T *dp = (T *)(void *)(d + a * da);                                                \
            for (idx_t b = b0; b < b1; b++) memcpy(dp + b, sp + b * sb, sizeof(T));           \
        }                                                                                     \
    }

static void tile_generic(const char *s, char *d, idx_t na, idx_t nb, idx_t sb, idx_t da,
                         idx_t esize) {
    switch (esize) {
    case 1: GK_TILE_SCALAR(uint8_t) break;
    case 2: GK_TILE_SCALAR(uint16_t) break;
    case 4: GK_TILE_SCALAR(uint32_t) break;
    case 8: GK_TILE_SCALAR(uint64_t) break;
    default:
        for (idx_t a = 0; a < na; a++) strided_row(s + a * esize, d + a * da, nb, sb, esize, esize);
    }
}

/* one unit of work: the inner dims at (s, d); MODE_TILE: a-block `blk` */
static void inner(const plan_t *p, const char *s, char *d, idx_t blk) {
    const dim_t *in = p->dim + p->k;
    if (p->mode == MODE_ROWS) {
        memcpy(d, s, (size_t)(in[0].n * p->esize));
    } else if (p->mode == MODE_STRIDED) {
        strided_row(s, d, in[0].n, in[0].s, in[0].d, p->esize);
    } else {
        idx_t a0 = blk * TB, na = GK_MIN((idx_t)TB, in[0].n - a0);
        s += a0 * in[0].s;
        d += a0 * in[0].d;
        idx_t nb = in[1].n, sb = in[1].s, da = in[0].d;
        const gk_layout_kernels *K = gk_k.layout;
        if (p->esize == 4 && K->tile_f32) { /* whole 8x8 blocks in registers, then the edges */
            idx_t na8 = na / 8 * 8, nb8 = nb / 8 * 8;
            K->tile_f32(s, d, na, nb, sb, da);
            if (nb8 < nb) tile_generic(s + nb8 * sb, d + nb8 * 4, na8, nb - nb8, sb, da, 4);
            if (na8 < na) tile_generic(s + na8 * 4, d + na8 * da, na - na8, nb, sb, da, 4);
            return;
        }
        tile_generic(s, d, na, nb, sb, da, p->esize);
    }
}

/* units [u0, u1): unit u = (outer index, block) with the block fastest (MODE_TILE) */
static void run_units(const plan_t *p, idx_t u0, idx_t u1) {
    idx_t ix[GK_COPY_MAXDIM];
    idx_t nab = p->mode == MODE_TILE ? p->nab : 1, blk = u0 % nab, u = u0 / nab;
    const char *s = p->src;
    char *d = p->dst;
    for (int i = p->k - 1; i >= 0; i--) {
        ix[i] = u % p->dim[i].n;
        u /= p->dim[i].n;
        s += ix[i] * p->dim[i].s;
        d += ix[i] * p->dim[i].d;
    }
    for (idx_t w = u0; w < u1; w++) {
        inner(p, s, d, blk);
        if (++blk < nab) continue;
        blk = 0;
        for (int i = p->k - 1; i >= 0; i--) {
            s += p->dim[i].s;
            d += p->dim[i].d;
            if (++ix[i] < p->dim[i].n) break;
            s -= p->dim[i].s * p->dim[i].n;
            d -= p->dim[i].d * p->dim[i].n;
            ix[i] = 0;
        }
    }
}

static void copy_units(void *ctx, long u0, long u1, int seat) {
    (void)seat;
    run_units((const plan_t *)ctx, u0, u1);
}

/* Fails (-1, nothing copied) only when more than GK_COPY_MAXDIM dims remain after dropping and
 * merging, which needs ndim > GK_COPY_MAXDIM: the Cython wrappers reject such ranks up front, so
 * concat_into (one call per input) never stops after copying some inputs. */
int gk_copy_nd(int ndim, const ptrdiff_t *shape, const char *src, const ptrdiff_t *ss, char *dst,
               const ptrdiff_t *ds, ptrdiff_t esize, int threads) {
    plan_t p;
    int r = 0;
    idx_t total = esize;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == 0) return 0;
        total *= shape[i];
    }
    /* drop size-1 dims; merge a dim into the one outside it where both sides are contiguous */
    for (int i = 0; i < ndim; i++) {
        idx_t n = shape[i];
        if (n == 1) continue;
        if (r > 0 && p.dim[r - 1].s == ss[i] * n && p.dim[r - 1].d == ds[i] * n) {
            p.dim[r - 1].n *= n;
            p.dim[r - 1].s = ss[i];
            p.dim[r - 1].d = ds[i];
            continue;
        }
        if (r == GK_COPY_MAXDIM) return -1;
        p.dim[r].n = n;
        p.dim[r].s = ss[i];
        p.dim[r].d = ds[i];
        r++;
    }
    if (r == 0) {
        memcpy(dst, src, (size_t)esize);
        return 0;
    }
    p.esize = esize;
    p.src = src;
    p.dst = dst;
    p.nab = 1;
    dim_t last = p.dim[r - 1];
    int t = -1; /* a dim contiguous in the source, to swap with the dst-contiguous last one */
    if (last.d == esize && last.s != esize && r >= 2)
        for (int i = r - 2; i >= 0; i--)
            if (p.dim[i].s == esize) {
                t = i;
                break;
            }
    if (last.s == esize && last.d == esize) {
        p.mode = MODE_ROWS;
        p.k = r - 1;
    } else if (t >= 0 && last.n >= 4 && p.dim[t].n >= 4) {
        dim_t a = p.dim[t];
        for (int i = t; i < r - 2; i++) p.dim[i] = p.dim[i + 1];
        p.dim[r - 2] = a;
        p.mode = MODE_TILE;
        p.k = r - 2;
        p.nab = (a.n + TB - 1) / TB;
    } else {
        p.mode = MODE_STRIDED;
        p.k = r - 1;
    }
    idx_t units = p.nab;
    for (int i = 0; i < p.k; i++) units *= p.dim[i].n;
    int nt = (total >= PAR_BYTES && threads > 1 && units > 1) ? threads : 1;
    if (nt == 1) {
        run_units(&p, 0, units);
        return 0;
    }
    gk_parallel_range(units, nt, copy_units, &p);
    return 0;
}

typedef struct {
    const char *x;
    idx_t dim, row;
    const int64_t *i64;
    const int32_t *i32;
    int idx64;
    idx_t nidx;
    char *y;
} gather_job;

/* rows [u0, u1) of the gathered output: u = (outer index, index position) */
static void gather_units(void *ctx, long u0, long u1, int seat) {
    const gather_job *g = (const gather_job *)ctx;
    (void)seat;
    for (idx_t u = u0; u < u1; u++) {
        idx_t o = u / g->nidx, j = u % g->nidx;
        int64_t v = g->idx64 ? g->i64[j] : (int64_t)g->i32[j];
        v += v < 0 ? g->dim : 0;
        memcpy(g->y + u * g->row, g->x + (o * g->dim + (idx_t)v) * g->row, (size_t)g->row);
    }
}

ptrdiff_t gk_gather(const char *x, ptrdiff_t outer, ptrdiff_t dim, ptrdiff_t row, const void *idx,
                    int idx64, ptrdiff_t nidx, char *y, int threads) {
    const int64_t *i64 = (const int64_t *)idx;
    const int32_t *i32 = (const int32_t *)idx;
    for (idx_t j = 0; j < nidx; j++) {
        int64_t v = idx64 ? i64[j] : (int64_t)i32[j];
        if (v < -(int64_t)dim || v >= (int64_t)dim) return j;
    }
    idx_t units = outer * nidx;
    int nt = (units * row >= PAR_BYTES && threads > 1 && units > 1) ? threads : 1;
    gather_job g = {x, dim, row, i64, i32, idx64, nidx, y};
    gk_parallel_range(units, nt, gather_units, &g);
    return -1;
}

void gk_fill(char *dst, ptrdiff_t n, const char *value, ptrdiff_t esize) {
    if (n <= 0 || esize <= 0) return;
    int same = 1;
    for (ptrdiff_t i = 1; i < esize; i++) same &= value[i] == value[0];
    if (same) {
        memset(dst, (unsigned char)value[0], (size_t)(n * esize));
        return;
    }
    memcpy(dst, value, (size_t)esize); /* then double the filled prefix */
    ptrdiff_t done = esize, total = n * esize;
    while (done < total) {
        ptrdiff_t step = done < total - done ? done : total - done;
        memcpy(dst + done, dst, (size_t)step);
        done += step;
    }
}
