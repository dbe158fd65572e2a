/* Two SHA-256 streams interleaved on the AArch64 SHA-2 extension: a
 * multi-buffer kernel with 2 lanes (the ARM counterpart of sha256_shani_x2.c).
 *
 * SHA256H/SHA256H2 of one message form a dependency chain; a second, independent
 * message fills the crypto unit between them. The two chains are written side by
 * side with the single-stream kernel's schedule (sha256_armv8.c); the lane
 * calibration decides per CPU whether this beats one stream.
 * Compiler and target rules (the attribute's spelling, big-endian, old clang)
 * and the round schedule are shared with sha256_armv8.c in cv4_armv8_rounds.h. */
#include "cv4_mb.h"
#include "cv4_sha256.h"
#include "cv4_armv8_rounds.h"

#if CV4_ARMV8_SHA2

/* Four rounds of one stream: SHA256H2 needs ABCD from before SHA256H updates it. */
#define QROUND(abcd, efgh, wk)                         \
    do {                                               \
        const uint32x4_t abcd_in_ = (abcd);            \
        (abcd) = vsha256hq_u32((abcd), (efgh), (wk));  \
        (efgh) = vsha256h2q_u32((efgh), abcd_in_, (wk)); \
    } while (0)
/* The steps of CV4_ARMV8_64_ROUNDS for both streams (words x##a, x##b). */
#define SCHED(x, y, z, w, g)                                                   \
    do {                                                                       \
        const uint32x4_t k_ = vld1q_u32(cv4_sha256_k + 4 * (g));               \
        const uint32x4_t wka_ = vaddq_u32(x##a, k_), wkb_ = vaddq_u32(x##b, k_); \
        x##a = vsha256su1q_u32(vsha256su0q_u32(x##a, y##a), z##a, w##a);      \
        x##b = vsha256su1q_u32(vsha256su0q_u32(x##b, y##b), z##b, w##b);      \
        QROUND(abcda, efgha, wka_);                                            \
        QROUND(abcdb, efghb, wkb_);                                            \
    } while (0)
#define LAST(x, g)                                                             \
    do {                                                                       \
        const uint32x4_t k_ = vld1q_u32(cv4_sha256_k + 4 * (g));               \
        const uint32x4_t wka_ = vaddq_u32(x##a, k_), wkb_ = vaddq_u32(x##b, k_); \
        QROUND(abcda, efgha, wka_);                                            \
        QROUND(abcdb, efghb, wkb_);                                            \
    } while (0)

CV4_TARGET_SHA2
static void armv8_x2_compress(uint32_t (*state)[8], const uint8_t *const *ptrs, size_t nblocks)
{
    const uint8_t *pa = ptrs[0], *pb = ptrs[1];
    /* state[] is a..h in order: exactly the ABCD / EFGH lanes the instructions use. */
    uint32x4_t abcda = vld1q_u32(state[0]), efgha = vld1q_u32(state[0] + 4);
    uint32x4_t abcdb = vld1q_u32(state[1]), efghb = vld1q_u32(state[1] + 4);

    while (nblocks--) {
        const uint32x4_t abcda0 = abcda, efgha0 = efgha, abcdb0 = abcdb, efghb0 = efghb;
        uint32x4_t m0a = cv4_armv8_load_be_words(pa), m0b = cv4_armv8_load_be_words(pb);
        uint32x4_t m1a = cv4_armv8_load_be_words(pa + 16), m1b = cv4_armv8_load_be_words(pb + 16);
        uint32x4_t m2a = cv4_armv8_load_be_words(pa + 32), m2b = cv4_armv8_load_be_words(pb + 32);
        uint32x4_t m3a = cv4_armv8_load_be_words(pa + 48), m3b = cv4_armv8_load_be_words(pb + 48);

        CV4_ARMV8_64_ROUNDS;

        abcda = vaddq_u32(abcda, abcda0);
        efgha = vaddq_u32(efgha, efgha0);
        abcdb = vaddq_u32(abcdb, abcdb0);
        efghb = vaddq_u32(efghb, efghb0);
        pa += CV4_SHA256_BLOCK;
        pb += CV4_SHA256_BLOCK;
    }

    vst1q_u32(state[0], abcda);
    vst1q_u32(state[0] + 4, efgha);
    vst1q_u32(state[1], abcdb);
    vst1q_u32(state[1] + 4, efghb);
}

const cv4_mb_kernel cv4_mb_armv8_x2 = {"armv8-sha2-x2", 2, armv8_x2_compress};

#else /* not AArch64, or this compiler cannot emit the kernel */

const cv4_mb_kernel cv4_mb_armv8_x2 = {"armv8-sha2-x2", 2, NULL};
#endif
