/* Where (select) and IsNaN, for the element-wise tails of attention masks. */
#ifndef GK_WHERE_H
#define GK_WHERE_H

#include <stdint.h>

/* out[i] = c[ci] ? x[xi] : y[yi] for i < n, elements of esize bytes; an operand whose *_full flag
 * is 0 is one element (index 0), else n elements (index i). out may be x or y. */
void gk_where(const uint8_t *c, int c_full, const char *x, int x_full, const char *y, int y_full,
              char *out, long n, long esize, int threads);

/* out[i] = x[i] != x[i] (1 where x is NaN) */
void gk_isnan_f32(const float *x, uint8_t *out, long n);

#endif
