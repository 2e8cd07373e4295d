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

#endif
