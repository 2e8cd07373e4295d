/* AMX availability (see amx.h): the CPUID check, the one arch_prctl request, the on/off switch. */
#include "amx.h"

#include <stdlib.h>
#include <string.h>

/* GCC 11 is the first to know the AMX names in __builtin_cpu_supports (and the kernels' AMX
 * intrinsics); with another compiler the tiles are simply never used. */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__linux__) && !defined(__clang__) && \
    defined(__GNUC__) && __GNUC__ >= 11
#include <sys/syscall.h>
#include <unistd.h>
#define GK_AMX_CAN_ASK 1
#define ARCH_REQ_XCOMP_PERM 0x1023 /* asm/prctl.h */
#define XFEATURE_XTILEDATA 18
#else
#define GK_AMX_CAN_ASK 0
#endif

static int g_supported = -1; /* GK_AMX_* bits, -1 until the first call */
static int g_enabled = -1;   /* 1 on, 0 off, -1 until GOSSAMER_AMX is read */

int gk_amx_supported(void) {
    int s = __atomic_load_n(&g_supported, __ATOMIC_ACQUIRE);
    if (s >= 0) return s;
    s = 0;
#if GK_AMX_CAN_ASK
    __builtin_cpu_init();
    if (__builtin_cpu_supports("amx-tile")) {
        int bits = (__builtin_cpu_supports("amx-int8") ? GK_AMX_INT8 : 0) |
                   (__builtin_cpu_supports("amx-bf16") ? GK_AMX_BF16 : 0);
        /* Asking twice (two threads racing here) is harmless: the kernel grants it again. */
        if (bits && syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0) s = bits;
    }
#endif
    __atomic_store_n(&g_supported, s, __ATOMIC_RELEASE);
    return s;
}

static int enabled(void) {
    int e = __atomic_load_n(&g_enabled, __ATOMIC_ACQUIRE);
    if (e < 0) {
        const char *v = getenv("GOSSAMER_AMX");
        e = !(v && (!strcmp(v, "off") || !strcmp(v, "0")));
        __atomic_store_n(&g_enabled, e, __ATOMIC_RELEASE);
    }
    return e;
}

int gk_amx_int8(void) { return enabled() && (gk_amx_supported() & GK_AMX_INT8); }

int gk_amx_bf16(void) { return enabled() && (gk_amx_supported() & GK_AMX_BF16); }

int gk_amx_set_enabled(int on) {
    __atomic_store_n(&g_enabled, on ? 1 : 0, __ATOMIC_RELEASE);
    return on ? gk_amx_supported() : 0;
}
