/* Run-time CPU feature detection. */
#include <string.h>

#include "cv4_cpu.h"

#if defined(__x86_64__) || defined(_M_X64)
#if defined(_MSC_VER)
#include <intrin.h>
static void cpuid(int leaf, int sub, unsigned r[4])
{
    int out[4];
    __cpuidex(out, leaf, sub);
    memcpy(r, out, sizeof out);
}
static unsigned long long xgetbv0(void) { return _xgetbv(0); }
#else
#include <cpuid.h>
static void cpuid(int leaf, int sub, unsigned r[4]) { __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]); }
static unsigned long long xgetbv0(void)
{
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}
#endif

static void detect(cv4_cpu_features *f)
{
    unsigned r[4], max_leaf;
    unsigned long long xcr0 = 0;
    int os_ymm, os_zmm;

    cpuid(0, 0, r);
    max_leaf = r[0];
    cpuid(1, 0, r);
    f->ssse3 = (r[2] >> 9) & 1;
    f->sse41 = (r[2] >> 19) & 1;
    if ((r[2] >> 27) & 1) /* OSXSAVE: the OS manages the extended registers */
        xcr0 = xgetbv0();
    os_ymm = (xcr0 & 0x6) == 0x6;
    os_zmm = os_ymm && (xcr0 & 0xE0) == 0xE0;
    if (max_leaf >= 7) {
        cpuid(7, 0, r);
        f->sha = (r[1] >> 29) & 1;
        f->avx2 = os_ymm && ((r[1] >> 5) & 1);
        f->bmi2 = (r[1] >> 8) & 1;
        f->avx512f = os_zmm && ((r[1] >> 16) & 1);
        f->avx512bw = f->avx512f && ((r[1] >> 30) & 1);
        f->avx512vl = f->avx512f && ((r[1] >> 31) & 1);
    }
}
#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_SHA2
#define HWCAP_SHA2 (1 << 6)
#endif
static void detect(cv4_cpu_features *f) { f->arm_sha2 = (getauxval(AT_HWCAP) & HWCAP_SHA2) != 0; }
#elif (defined(__aarch64__) || defined(__arm64__)) && defined(__APPLE__)
#include <sys/types.h>
#include <sys/sysctl.h>
/* Every Apple arm64 core has the SHA-2 instructions; macOS 12+ also says so
 * (hw.optional.arm.FEAT_SHA256). Older systems lack the key: assume present. */
static void detect(cv4_cpu_features *f)
{
    int on = 0;
    size_t len = sizeof on;
    if (sysctlbyname("hw.optional.arm.FEAT_SHA256", &on, &len, NULL, 0) == 0 && len == sizeof on)
        f->arm_sha2 = on != 0;
    else
        f->arm_sha2 = 1;
}
#elif defined(_WIN32) && (defined(_M_ARM64) || defined(__aarch64__))
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#ifndef PF_ARM_V8_CRYPTO_INSTRUCTIONS_AVAILABLE
#define PF_ARM_V8_CRYPTO_INSTRUCTIONS_AVAILABLE 30
#endif
/* Windows reports AES, PMULL, SHA-1 and SHA-2 together as "v8 crypto". */
static void detect(cv4_cpu_features *f)
{
    f->arm_sha2 = IsProcessorFeaturePresent(PF_ARM_V8_CRYPTO_INSTRUCTIONS_AVAILABLE) != 0;
}
#else /* other CPUs and other AArch64 systems (BSDs, ...): no detection, conservatively off */
static void detect(cv4_cpu_features *f) { (void)f; }
#endif

static cv4_cpu_features features;
static char names[128];
static int detected;

/* First called from module initialisation, with the GIL held: no race. */
const cv4_cpu_features *cv4_cpu(void)
{
    if (!detected) {
        struct { const char *name; int on; } table[9];
        int i, n = 0;
        detect(&features);
        table[n].name = "ssse3"; table[n++].on = features.ssse3;
        table[n].name = "sse4.1"; table[n++].on = features.sse41;
        table[n].name = "sha"; table[n++].on = features.sha;
        table[n].name = "avx2"; table[n++].on = features.avx2;
        table[n].name = "bmi2"; table[n++].on = features.bmi2;
        table[n].name = "avx512f"; table[n++].on = features.avx512f;
        table[n].name = "avx512bw"; table[n++].on = features.avx512bw;
        table[n].name = "avx512vl"; table[n++].on = features.avx512vl;
        table[n].name = "arm-sha2"; table[n++].on = features.arm_sha2;
        names[0] = '\0';
        for (i = 0; i < n; i++) {
            if (!table[i].on)
                continue;
            if (names[0])
                strcat(names, " ");
            strcat(names, table[i].name);
        }
        detected = 1;
    }
    return &features;
}

const char *cv4_cpu_feature_names(void)
{
    cv4_cpu();
    return names;
}
