/* AMX (Advanced Matrix Extensions: 8 tile registers of up to 16 rows x 64 bytes, TDPBUSD/TDPBSSD for
 * int8, TDPBF16PS for bfloat16) on x86-64 Linux.
 *
 * Two things decide whether a kernel may use the tiles: the CPU has them (CPUID AMX-TILE plus
 * AMX-INT8 or AMX-BF16), and the process asked Linux for the tile state. Linux (5.16 and later)
 * leaves the 8 KiB tile data out of every thread's saved state until the process asks once with
 * arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA); the permission then holds for every thread
 * of the process. Without it the first tile instruction kills the process (SIGILL), so a kernel
 * never touches a tile unless gk_amx_int8() / gk_amx_bf16() said yes.
 *
 * Each thread loads its own tile configuration (LDTILECFG) before its first tile instruction; the
 * configuration is per thread, like the tiles themselves. */
#ifndef GK_AMX_H
#define GK_AMX_H

#define GK_AMX_INT8 1
#define GK_AMX_BF16 2

/* The AMX features this CPU has and this process may use (GK_AMX_* bits; 0 off x86-64 Linux or
 * where the kernel refuses the tile state). Asks for the permission on the first call only. */
int gk_amx_supported(void);

/* Whether the int8 / bf16 kernels are to use the tiles: supported, and not switched off by the
 * environment (GOSSAMER_AMX=off, read once) or by gk_amx_set_enabled(0). */
int gk_amx_int8(void);
int gk_amx_bf16(void);

/* Turns the tile paths on (1, where supported) or off (0) for tests and A/B measurements, so the
 * VNNI / AVX512_BF16 paths stay reachable on an AMX CPU; returns the GK_AMX_* bits now in force. */
int gk_amx_set_enabled(int enabled);

#if defined(__x86_64__) && ((defined(__clang__) && __clang_major__ >= 12) || \
                             (!defined(__clang__) && __GNUC__ >= 11))
#include <stdint.h>

/* LDTILECFG's 64-byte operand, palette 1 (the int8 and bf16 kernels' one definition) */
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} gk_amx_tilecfg;
_Static_assert(sizeof(gk_amx_tilecfg) == 64, "LDTILECFG reads 64 bytes");

/* tiles 0-7 of 64-byte rows, r0..r7 rows each; tiles 8-15 unused */
#define GK_AMX_TILECFG(r0, r1, r2, r3, r4, r5, r6, r7)                                      \
    {.palette = 1,                                                                          \
     .colsb = {64, 64, 64, 64, 64, 64, 64, 64},                                             \
     .rows = {r0, r1, r2, r3, r4, r5, r6, r7}}

/* Loads `c` into this thread's tile configuration. A constant object and an asm whose operand is
 * the whole object: GCC 12's _tile_loadconfig tells the compiler it reads only 8 bytes, so the
 * stores that built a configuration on the stack could be dropped (and LDTILECFG then faults). */
static inline void gk_amx_load(const gk_amx_tilecfg *c) { __asm__ volatile("ldtilecfg %0" ::"m"(*c)); }
#endif

#endif
