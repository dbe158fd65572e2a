/* AArch64 SHA-2 crypto-extension kernel (SHA256H/SHA256H2/SHA256SU0/SHA256SU1).
 *
 * Like the SHA-NI kernel, compiled without global -march flags: the function
 * alone carries a target attribute, and the dispatcher decides from cv4_cpu() at
 * run time whether it may be called (HWCAP_SHA2 on Linux, sysctl on macOS, IsProcessorFeaturePresent
 * on Windows). The spelling of that attribute is the portable part:
 *   - the target already has SHA2 (Apple clang: arm64-apple-* defaults to an Apple
 *     CPU; any -march=...+crypto build): no attribute at all;
 *   - GCC (>= 6): target("+crypto"); arm_neon.h declares the intrinsics under
 *     #pragma GCC target("+nothing+crypto"), so "+sha2" alone fails to inline them;
 *   - clang >= 16: target("crypto") (clang < 16 rejects the '+' form: "'++crypto'
 *     is not a recognized feature"); its arm_neon.h is target-gated from 16 on;
 *   - clang < 16 without SHA2 in the target: arm_neon.h declares no SHA-2
 *     intrinsics at all, so the kernel is not compiled (its compress is NULL: absent);
 *   - MSVC ARM64: no attribute needed, the intrinsics are always available.
 * Little-endian only (aarch64_be gets no kernel). */
#include "cv4_sha256.h"
#include "cv4_armv8_rounds.h"

#if CV4_ARMV8_SHA2

/* Four rounds: SHA256H2 needs ABCD from before SHA256H updates it. */
#define QROUND(wk)                                    \
    do {                                              \
        const uint32x4_t abcd_in = abcd;              \
        abcd = vsha256hq_u32(abcd, efgh, (wk));       \
        efgh = vsha256h2q_u32(efgh, abcd_in, (wk));   \
    } while (0)
/* The steps of CV4_ARMV8_64_ROUNDS, with the constants of group g in register kg. */
#define SCHED(x, y, z, w, g)                                            \
    do {                                                                \
        const uint32x4_t wk_ = vaddq_u32((x), k##g);                    \
        (x) = vsha256su1q_u32(vsha256su0q_u32((x), (y)), (z), (w));     \
        QROUND(wk_);                                                    \
    } while (0)
#define LAST(x, g)                                                      \
    do {                                                                \
        const uint32x4_t wk_ = vaddq_u32((x), k##g);                    \
        QROUND(wk_);                                                    \
    } while (0)

CV4_TARGET_SHA2
static void compress_armv8(uint32_t state[8], const uint8_t *blocks, size_t nblocks)
{
    /* The round constants stay in registers across blocks (32 vector registers:
     * 16 constants, 4 schedule, 4 state, 2 temporaries). */
    const uint32_t *K = cv4_sha256_k;
    const uint32x4_t k0 = vld1q_u32(K + 0), k1 = vld1q_u32(K + 4), k2 = vld1q_u32(K + 8);
    const uint32x4_t k3 = vld1q_u32(K + 12), k4 = vld1q_u32(K + 16), k5 = vld1q_u32(K + 20);
    const uint32x4_t k6 = vld1q_u32(K + 24), k7 = vld1q_u32(K + 28), k8 = vld1q_u32(K + 32);
    const uint32x4_t k9 = vld1q_u32(K + 36), k10 = vld1q_u32(K + 40), k11 = vld1q_u32(K + 44);
    const uint32x4_t k12 = vld1q_u32(K + 48), k13 = vld1q_u32(K + 52), k14 = vld1q_u32(K + 56);
    const uint32x4_t k15 = vld1q_u32(K + 60);
    /* state[] is a..h in order: exactly the ABCD / EFGH lanes the instructions use. */
    uint32x4_t abcd = vld1q_u32(state);
    uint32x4_t efgh = vld1q_u32(state + 4);

    while (nblocks--) {
        const uint32x4_t abcd_saved = abcd, efgh_saved = efgh;
        uint32x4_t m0 = cv4_armv8_load_be_words(blocks);
        uint32x4_t m1 = cv4_armv8_load_be_words(blocks + 16);
        uint32x4_t m2 = cv4_armv8_load_be_words(blocks + 32);
        uint32x4_t m3 = cv4_armv8_load_be_words(blocks + 48);

        CV4_ARMV8_64_ROUNDS;

        abcd = vaddq_u32(abcd, abcd_saved);
        efgh = vaddq_u32(efgh, efgh_saved);
        blocks += CV4_SHA256_BLOCK;
    }

    vst1q_u32(state, abcd);
    vst1q_u32(state + 4, efgh);
}

const cv4_kernel cv4_kernel_armv8 = {"armv8-sha2", compress_armv8};

#else /* not AArch64, or this compiler cannot emit the kernel (see the header comment) */

const cv4_kernel cv4_kernel_armv8 = {"armv8-sha2", NULL};
#endif
