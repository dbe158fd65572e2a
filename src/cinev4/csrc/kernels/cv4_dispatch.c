/* Run-time kernel selection, the one place that knows every kernel: a kernel
 * file's descriptor says whether it exists here (compress NULL: absent), the
 * CPU features say whether it may run, a self-test decides whether it is
 * offered. The single-stream kernels keep the fixed preference order written
 * below (from benchmarks/); the multi-buffer kernels are timed against the
 * single-stream one at run time (cv4_mb_calibrate), and _fasthash.pyx uses the
 * fastest of them only where it measures 1.25x faster. */
#include <string.h>

#include "cv4_cpu.h"
#include "cv4_dispatch.h"
#include "cv4_platform.h"

#define MAX_KERNELS 8

static cv4_kernel table[MAX_KERNELS];
static size_t table_len;
static int initialised;

/* One padded block and a two-block message, compared with the portable kernel. */
static int self_test(cv4_compress_fn fn)
{
    uint8_t data[3 * CV4_SHA256_BLOCK];
    uint32_t want[8], got[8];
    size_t i;
    for (i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 131u + 7u);
    memcpy(want, cv4_sha256_h0, sizeof want);
    memcpy(got, cv4_sha256_h0, sizeof got);
    cv4_sha256_compress_portable(want, data, 3);
    fn(got, data, 1);
    fn(got, data + CV4_SHA256_BLOCK, 2);
    return memcmp(want, got, sizeof want) == 0;
}

/* cpu_ok: this CPU has what the kernel needs. */
static void offer(const cv4_kernel *k, int cpu_ok)
{
    if (k->compress && cpu_ok && table_len < MAX_KERNELS && self_test(k->compress))
        table[table_len++] = *k;
}

#define MAX_LANES 16

static const cv4_mb_kernel *mb_table[6];
static size_t mb_table_len;

/* Every lane its own data and starting state, checked against the portable kernel. */
static int mb_self_test(const cv4_mb_kernel *mb)
{
    uint8_t data[MAX_LANES][2 * CV4_SHA256_BLOCK];
    const uint8_t *ptrs[MAX_LANES];
    uint32_t got[MAX_LANES][8], want[8];
    int l, i;
    if (mb->lanes > MAX_LANES)
        return 0;
    for (l = 0; l < mb->lanes; l++) {
        for (i = 0; i < 2 * CV4_SHA256_BLOCK; i++)
            data[l][i] = (uint8_t)(l * 37 + i * 11 + 1);
        for (i = 0; i < 8; i++)
            got[l][i] = cv4_sha256_h0[i] + (uint32_t)l;
        ptrs[l] = data[l];
    }
    mb->compress(got, ptrs, 2);
    for (l = 0; l < mb->lanes; l++) {
        for (i = 0; i < 8; i++)
            want[i] = cv4_sha256_h0[i] + (uint32_t)l;
        cv4_sha256_compress_portable(want, data[l], 2);
        if (memcmp(want, got[l], sizeof want) != 0)
            return 0;
    }
    return 1;
}

static void offer_mb(const cv4_mb_kernel *mb, int cpu_ok)
{
    if (mb->compress && cpu_ok && mb_table_len < sizeof mb_table / sizeof mb_table[0] && mb_self_test(mb))
        mb_table[mb_table_len++] = mb;
}

void cv4_kernels_init(void)
{
    const cv4_cpu_features *cpu;
    int shani, avx512;
    if (initialised)
        return;
    cpu = cv4_cpu();
    shani = cpu->sha && cpu->sse41 && cpu->ssse3;
    avx512 = cpu->avx512f && cpu->avx512bw && cpu->avx512vl;
    /* Preference order, from benchmarks/: SHA-NI beats OpenSSL's code on the
     * same instructions (no per-call context), OpenSSL's SIMD assembly beats
     * portable C by 1.5-2x on CPUs without SHA-NI. armv8-sha2 comes first on
     * AArch64 for the same reason as sha-ni (no native ARM timing measured yet);
     * at most one of the two exists on a given target. libcrypto and portable
     * follow in complete_table. */
    offer(&cv4_kernel_shani, shani);
    offer(&cv4_kernel_armv8, cpu->arm_sha2);
    offer_mb(&cv4_mb_avx512_x16, avx512);
    offer_mb(&cv4_mb_avx512vl_x8, avx512);
    offer_mb(&cv4_mb_avx2_x8, cpu->avx2);
    offer_mb(&cv4_mb_shani_x2, shani);
    offer_mb(&cv4_mb_armv8_x2, cpu->arm_sha2);
    initialised = 1;
}

/* The kernels after the CPU's own: loading the system libcrypto costs every
 * process about 1.5 ms (a post-render hook pays it per frame batch), so it is
 * loaded only when the fastest kernel is not a hardware one, or when a kernel
 * is looked up by name or listed. Callers hold the GIL (_fasthash.pyx). */
static void complete_table(void)
{
    static int complete;
    cv4_kernel libcrypto;
    if (complete)
        return;
    cv4_kernels_init();
    libcrypto = cv4_kernel_libcrypto();
    offer(&libcrypto, 1);
    offer(&cv4_kernel_portable, 1);
    complete = 1;
}

size_t cv4_kernel_count(void)
{
    complete_table();
    return table_len;
}

const cv4_kernel *cv4_kernel_at(size_t i)
{
    complete_table();
    return i < table_len ? &table[i] : NULL;
}

const cv4_kernel *cv4_kernel_find(const char *name)
{
    size_t i;
    complete_table();
    for (i = 0; i < table_len; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

const cv4_kernel *cv4_kernel_best(void)
{
    cv4_kernels_init();
    if (table_len == 0) /* no hardware kernel passed: libcrypto or portable is the best */
        complete_table();
    return table_len ? &table[0] : NULL;
}

size_t cv4_mb_kernel_count(void) { return mb_table_len; }

const cv4_mb_kernel *cv4_mb_kernel_at(size_t i) { return i < mb_table_len ? mb_table[i] : NULL; }

const cv4_mb_kernel *cv4_mb_kernel_find(const char *name)
{
    size_t i;
    for (i = 0; i < mb_table_len; i++)
        if (strcmp(mb_table[i]->name, name) == 0)
            return mb_table[i];
    return NULL;
}

/* Best of several short in-cache runs: about 0.2 ms in all, done once per pair. */
#define CAL_BLOCKS 64
#define CAL_ROUNDS 7

cv4_mb_calibration cv4_mb_calibrate(const cv4_mb_kernel *mb, const cv4_kernel *single)
{
    static struct { const cv4_mb_kernel *mb; const cv4_kernel *single; cv4_mb_calibration cal; } cache[8];
    static size_t cached;
    static uint8_t data[MAX_LANES][CAL_BLOCKS * CV4_SHA256_BLOCK];
    const uint8_t *ptrs[MAX_LANES];
    uint32_t states[MAX_LANES][8];
    uint64_t best_single = UINT64_MAX, best_mb = UINT64_MAX;
    cv4_mb_calibration cal;
    size_t i;
    int l, r;

    for (i = 0; i < cached; i++)
        if (cache[i].mb == mb && cache[i].single == single)
            return cache[i].cal;
    for (l = 0; l < mb->lanes; l++) {
        memset(data[l], l + 1, sizeof data[l]);
        memcpy(states[l], cv4_sha256_h0, sizeof states[l]);
        ptrs[l] = data[l];
    }
    for (r = 0; r < CAL_ROUNDS; r++) {
        uint64_t t0 = cv4_now_ns(), t1, t2;
        single->compress(states[0], data[0], CAL_BLOCKS);
        t1 = cv4_now_ns();
        mb->compress(states, ptrs, CAL_BLOCKS);
        t2 = cv4_now_ns();
        if (t1 - t0 < best_single)
            best_single = t1 - t0;
        if (t2 - t1 < best_mb)
            best_mb = t2 - t1;
    }
    if (best_single == 0)
        best_single = 1;
    cal.full_speedup = (double)mb->lanes * (double)best_single / (double)(best_mb ? best_mb : 1);
    cal.break_even_lanes = (int)((double)best_mb / (double)best_single) + 1;
    if (cal.break_even_lanes > mb->lanes)
        cal.break_even_lanes = mb->lanes + 1;
    if (cached < sizeof cache / sizeof cache[0]) {
        cache[cached].mb = mb;
        cache[cached].single = single;
        cache[cached].cal = cal;
        cached++;
    }
    return cal;
}
