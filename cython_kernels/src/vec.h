/* Vector wrappers for the hand-vectorised kernel bodies, one set per SIMD level: included by each
 * levels/<level>.c after GK_LEVEL is set (so no include guard: each level's file includes it once). A
 * body written with these (gk_vf, GK_VW lanes, GK_VLD ...) compiles at levels 1 and 2; at level 0
 * they do not exist and such a body is left out (its table entries are NULL).
 *
 *   gk_vf            GK_VW floats (16 at level 2, 8 at level 1); gk_vm a lane mask
 *   GK_VLD/GK_VST    unaligned load / store; GK_VSET1 broadcast
 *   GK_VFMA(a, b, c) a * b + c; GK_VADD, GK_VMUL, GK_VDIV, GK_VMAX, GK_VMIN (max/min return the
 *                    second operand where either is NaN, as x86 does)
 *   GK_VNAN(x)       mask of NaN lanes; GK_VM_NONE, GK_VM_OR; GK_VM_SEL(m, v, nan): nan where m
 *   GK_VCOPY_PART(d, s, n), GK_VST_PART(d, v, n): the first n < GK_VW lanes only
 *   GK_VEVEN(a, b), GK_VODD(a, b): the even / odd elements of the 2 GK_VW floats a, b
 *   GK_VLOAD_IN(p, col, lo, hi, fill): lane l reads p[l] where lo <= col + l < hi, else fill
 *   GK_VSHIFT(a, b, s): lanes s .. s + GK_VW - 1 of the 2 GK_VW floats a, b (0 <= s <= GK_VW;
 *                    one permute at level 2; fold s to a constant where it can be)
 *   GK_VTRANSPOSE(r): r[i][j] -> r[j][i] for GK_VW vectors r[0 .. GK_VW)
 */
#if GK_X86 && GK_LEVEL == 2
#define GK_VW 16
typedef __m512 gk_vf;
typedef __mmask16 gk_vm;
#define GK_VLD _mm512_loadu_ps
#define GK_VST _mm512_storeu_ps
#define GK_VSET1 _mm512_set1_ps
#define GK_VFMA _mm512_fmadd_ps
#define GK_VMAX _mm512_max_ps
#define GK_VMIN _mm512_min_ps
#define GK_VADD _mm512_add_ps
#define GK_VDIV _mm512_div_ps
#define GK_VMUL _mm512_mul_ps
#define GK_VNAN(x) _mm512_cmp_ps_mask((x), (x), _CMP_UNORD_Q)
#define GK_VM_NONE ((__mmask16)0)
#define GK_VM_OR(a, b) ((__mmask16)((a) | (b)))
#define GK_VM_SEL(m, v, nan) _mm512_mask_mov_ps((v), (m), (nan))
#define GK_VCOPY_PART(d, s, n)                                                                 \
    _mm512_mask_storeu_ps((d), (__mmask16)((1u << (n)) - 1u),                                \
                          _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1u), (s)))
#define GK_VST_PART(d, v, n) _mm512_mask_storeu_ps((d), (__mmask16)((1u << (n)) - 1u), (v))
static inline __m512 gk_veven(__m512 a, __m512 b) {
    const __m512i idx = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(a, idx, b);
}
static inline __m512 gk_vodd(__m512 a, __m512 b) {
    const __m512i idx = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    return _mm512_permutex2var_ps(a, idx, b);
}
static inline __m512 gk_vload_in(const float *p, long col, long lo, long hi, __m512 fill) {
    __m512i c = _mm512_add_epi32(_mm512_set1_epi32((int)col),
                                 _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    __mmask16 m = _mm512_cmp_epi32_mask(c, _mm512_set1_epi32((int)lo), _MM_CMPINT_GE) &
                  _mm512_cmp_epi32_mask(c, _mm512_set1_epi32((int)hi), _MM_CMPINT_LT);
    return _mm512_mask_loadu_ps(fill, m, p);
}
static inline __attribute__((always_inline)) __m512 gk_vshift(__m512 a, __m512 b, int s) {
    __m512i idx = _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                   _mm512_set1_epi32(s));
    return _mm512_permutex2var_ps(a, idx, b);
}
static inline __attribute__((always_inline)) void gk_vtranspose(__m512 *r) {
    __m512 u[16], v[16];
    for (int g = 0; g < 4; g++) {
        __m512 ta = _mm512_unpacklo_ps(r[4 * g], r[4 * g + 1]);
        __m512 tb = _mm512_unpackhi_ps(r[4 * g], r[4 * g + 1]);
        __m512 tc = _mm512_unpacklo_ps(r[4 * g + 2], r[4 * g + 3]);
        __m512 td = _mm512_unpackhi_ps(r[4 * g + 2], r[4 * g + 3]);
        u[4 * g] = _mm512_shuffle_ps(ta, tc, 0x44); /* rows 4g.. of column 4L + 0 in lane L */
        u[4 * g + 1] = _mm512_shuffle_ps(ta, tc, 0xEE);
        u[4 * g + 2] = _mm512_shuffle_ps(tb, td, 0x44);
        u[4 * g + 3] = _mm512_shuffle_ps(tb, td, 0xEE);
    }
    for (int e = 0; e < 4; e++) {
        v[e] = _mm512_shuffle_f32x4(u[e], u[4 + e], 0x88);
        v[4 + e] = _mm512_shuffle_f32x4(u[e], u[4 + e], 0xDD);
        v[8 + e] = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], 0x88);
        v[12 + e] = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], 0xDD);
    }
    for (int e = 0; e < 4; e++) {
        r[e] = _mm512_shuffle_f32x4(v[e], v[8 + e], 0x88);
        r[8 + e] = _mm512_shuffle_f32x4(v[e], v[8 + e], 0xDD);
        r[4 + e] = _mm512_shuffle_f32x4(v[4 + e], v[12 + e], 0x88);
        r[12 + e] = _mm512_shuffle_f32x4(v[4 + e], v[12 + e], 0xDD);
    }
}

#elif GK_X86 && GK_LEVEL == 1
#define GK_VW 8
typedef __m256 gk_vf;
typedef __m256 gk_vm;
#define GK_VLD _mm256_loadu_ps
#define GK_VST _mm256_storeu_ps
#define GK_VSET1 _mm256_set1_ps
#define GK_VFMA _mm256_fmadd_ps
#define GK_VMAX _mm256_max_ps
#define GK_VMIN _mm256_min_ps
#define GK_VADD _mm256_add_ps
#define GK_VDIV _mm256_div_ps
#define GK_VMUL _mm256_mul_ps
#define GK_VNAN(x) _mm256_cmp_ps((x), (x), _CMP_UNORD_Q)
#define GK_VM_NONE _mm256_setzero_ps()
#define GK_VM_OR(a, b) _mm256_or_ps((a), (b))
#define GK_VM_SEL(m, v, nan) _mm256_blendv_ps((v), (nan), (m))
#define GK_VCOPY_PART(d, s, n)                                                                 \
    do {                                                                                       \
        for (long i_ = 0; i_ < (n); i_++) (d)[i_] = (s)[i_];                                   \
    } while (0)
#define GK_VST_PART(d, v, n)                                                                   \
    do {                                                                                       \
        float t_[8];                                                                           \
        _mm256_storeu_ps(t_, (v));                                                             \
        for (long i_ = 0; i_ < (n); i_++) (d)[i_] = t_[i_];                                    \
    } while (0)
static inline __m256 gk_veven(__m256 a, __m256 b) {
    return _mm256_castpd_ps(_mm256_permute4x64_pd(
        _mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))), 0xD8));
}
static inline __m256 gk_vodd(__m256 a, __m256 b) {
    return _mm256_castpd_ps(_mm256_permute4x64_pd(
        _mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1))), 0xD8));
}
static inline __m256 gk_vload_in(const float *p, long col, long lo, long hi, __m256 fill) {
    __m256i c = _mm256_add_epi32(_mm256_set1_epi32((int)col),
                                 _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256i m = _mm256_and_si256(_mm256_cmpgt_epi32(c, _mm256_set1_epi32((int)lo - 1)),
                                 _mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), c));
    return _mm256_blendv_ps(fill, _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}
static inline __attribute__((always_inline)) __m256 gk_vshift(__m256 a, __m256 b, int s) {
    __m256i idx = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(s));
    __m256 hi = _mm256_castsi256_ps(_mm256_cmpgt_epi32(idx, _mm256_set1_epi32(7)));
    return _mm256_blendv_ps(_mm256_permutevar8x32_ps(a, idx), _mm256_permutevar8x32_ps(b, idx), hi);
}
static inline __attribute__((always_inline)) void gk_vtranspose(__m256 *r) {
    __m256 u[8];
    for (int g = 0; g < 2; g++) {
        __m256 ta = _mm256_unpacklo_ps(r[4 * g], r[4 * g + 1]);
        __m256 tb = _mm256_unpackhi_ps(r[4 * g], r[4 * g + 1]);
        __m256 tc = _mm256_unpacklo_ps(r[4 * g + 2], r[4 * g + 3]);
        __m256 td = _mm256_unpackhi_ps(r[4 * g + 2], r[4 * g + 3]);
        u[4 * g] = _mm256_shuffle_ps(ta, tc, 0x44);
        u[4 * g + 1] = _mm256_shuffle_ps(ta, tc, 0xEE);
        u[4 * g + 2] = _mm256_shuffle_ps(tb, td, 0x44);
        u[4 * g + 3] = _mm256_shuffle_ps(tb, td, 0xEE);
    }
    for (int e = 0; e < 4; e++) {
        r[e] = _mm256_permute2f128_ps(u[e], u[4 + e], 0x20);
        r[4 + e] = _mm256_permute2f128_ps(u[e], u[4 + e], 0x31);
    }
}
#endif

#ifdef GK_VW
#define GK_VEVEN gk_veven
#define GK_VODD gk_vodd
#define GK_VLOAD_IN gk_vload_in
#define GK_VSHIFT gk_vshift
#define GK_VTRANSPOSE gk_vtranspose
#endif
