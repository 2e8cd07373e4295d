/* Element type conversion (Cast) between bool, 8/16/32/64-bit integers and float32/float64, with
 * numpy's astype semantics: integers wrap, bool is x != 0, int -> float rounds to nearest. */
#ifndef GK_CAST_H
#define GK_CAST_H

enum {
    GK_T_BOOL = 0,
    GK_T_I8 = 1,
    GK_T_U8 = 2,
    GK_T_I16 = 3,
    GK_T_U16 = 4,
    GK_T_I32 = 5,
    GK_T_U32 = 6,
    GK_T_I64 = 7,
    GK_T_U64 = 8,
    GK_T_F32 = 9,
    GK_T_F64 = 10
};

/* 1 if gk_cast converts `from` -> `to`: every pair except a float to an integer (whose
 * out-of-range values numpy leaves to the hardware) */
int gk_cast_supported(int from, int to);

/* y[i] = (to) x[i] for i < n; returns 0, or -1 (nothing written) for an unsupported pair */
int gk_cast(const void *x, int from, void *y, int to, long n, int threads);

#endif
