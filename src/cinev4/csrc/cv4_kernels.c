/* Run-time kernel selection: CPU features decide what may run; a self-test
 * decides what is offered; measured speed decides the order. */
#include <string.h>

#include "cv4_cpu.h"
#include "cv4_kernels.h"

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

static void offer(const char *name, cv4_compress_fn fn)
{
    if (fn && table_len < MAX_KERNELS && self_test(fn)) {
        table[table_len].name = name;
        table[table_len].compress = fn;
        table_len++;
    }
}

void cv4_kernels_init(void)
{
    const cv4_cpu_features *cpu;
    if (initialised)
        return;
    cpu = cv4_cpu();
    /* Preference order, from benchmarks/: SHA-NI beats OpenSSL's code on the
     * same instructions (no per-call context), OpenSSL's SIMD assembly beats
     * portable C by 1.5-2x on CPUs without SHA-NI. */
#if defined(__x86_64__) || defined(_M_X64)
    if (cv4_shani_compiled() && cpu->sha && cpu->sse41 && cpu->ssse3)
        offer("sha-ni", cv4_sha256_compress_shani);
#endif
    (void)cpu;
    offer("libcrypto", cv4_libcrypto_compress());
    offer("portable", cv4_sha256_compress_portable);
    initialised = 1;
}

size_t cv4_kernel_count(void) { return table_len; }

const cv4_kernel *cv4_kernel_at(size_t i) { return i < table_len ? &table[i] : NULL; }

const cv4_kernel *cv4_kernel_find(const char *name)
{
    size_t i;
    for (i = 0; i < table_len; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

const cv4_kernel *cv4_kernel_best(void) { return table_len ? &table[0] : NULL; }
