/* Two SHA-256 streams interleaved on the AArch64 SHA-2 extension: a
 * multi-buffer kernel with 2 lanes (the ARM counterpart of sha256_shani_x2.c).
 *
 * SHA256H/SHA256H2 of one message form a dependency chain; a second, independent
 * message fills the crypto unit between them. The two chains are written side by
 * side with the single-stream kernel's schedule (sha256_armv8.c); the lane
 * calibration decides per CPU whether this beats one stream.
 * Compiler and target rules (the attribute's spelling, big-endian, old clang)
 * are shared with sha256_armv8.c in cv4_armv8_target.h. */
#include "cv4_mb.h"
#include "cv4_sha256.h"

#if defined(__aarch64__) || defined(_M_ARM64)

#include "cv4_armv8_target.h"

#if CV4_ARMV8_SHA2
#include <arm_neon.h>

/* Four rounds of one stream: SHA256H2 needs ABCD from before SHA256H updates it. */
#define QROUND(abcd, efgh, wk)                         \
    do {                                               \
        const uint32x4_t abcd_in_ = (abcd);            \
        (abcd) = vsha256hq_u32((abcd), (efgh), (wk));  \
        (efgh) = vsha256h2q_u32((efgh), abcd_in_, (wk)); \
    } while (0)
/* Four rounds of both streams with schedule group x, then x advances 16 words
 * (SU0 with the next group y, SU1 with the two after, z and w). */
#define QROUND2_SCHED(x, y, z, w, t)                                           \
    do {                                                                       \
        const uint32x4_t k_ = vld1q_u32(cv4_sha256_k + (t));                   \
        const uint32x4_t wka_ = vaddq_u32(x##a, k_), wkb_ = vaddq_u32(x##b, k_); \
        x##a = vsha256su1q_u32(vsha256su0q_u32(x##a, y##a), z##a, w##a);      \
        x##b = vsha256su1q_u32(vsha256su0q_u32(x##b, y##b), z##b, w##b);      \
        QROUND(abcda, efgha, wka_);                                            \
        QROUND(abcdb, efghb, wkb_);                                            \
    } while (0)
#define QROUND2_LAST(x, t)                                                     \
    do {                                                                       \
        const uint32x4_t k_ = vld1q_u32(cv4_sha256_k + (t));                   \
        const uint32x4_t wka_ = vaddq_u32(x##a, k_), wkb_ = vaddq_u32(x##b, k_); \
        QROUND(abcda, efgha, wka_);                                            \
        QROUND(abcdb, efghb, wkb_);                                            \
    } while (0)

static inline uint32x4_t load_be_words(const uint8_t *p)
{
    return vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(p)));
}

CV4_TARGET_SHA2
static void armv8_x2_compress(uint32_t (*state)[8], const uint8_t *const *ptrs, size_t nblocks)
{
    const uint8_t *pa = ptrs[0], *pb = ptrs[1];
    /* state[] is a..h in order: exactly the ABCD / EFGH lanes the instructions use. */
    uint32x4_t abcda = vld1q_u32(state[0]), efgha = vld1q_u32(state[0] + 4);
    uint32x4_t abcdb = vld1q_u32(state[1]), efghb = vld1q_u32(state[1] + 4);

    while (nblocks--) {
        const uint32x4_t abcda0 = abcda, efgha0 = efgha, abcdb0 = abcdb, efghb0 = efghb;
        uint32x4_t m0a = load_be_words(pa), m0b = load_be_words(pb);
        uint32x4_t m1a = load_be_words(pa + 16), m1b = load_be_words(pb + 16);
        uint32x4_t m2a = load_be_words(pa + 32), m2b = load_be_words(pb + 32);
        uint32x4_t m3a = load_be_words(pa + 48), m3b = load_be_words(pb + 48);

        QROUND2_SCHED(m0, m1, m2, m3, 0);
        QROUND2_SCHED(m1, m2, m3, m0, 4);
        QROUND2_SCHED(m2, m3, m0, m1, 8);
        QROUND2_SCHED(m3, m0, m1, m2, 12);
        QROUND2_SCHED(m0, m1, m2, m3, 16);
        QROUND2_SCHED(m1, m2, m3, m0, 20);
        QROUND2_SCHED(m2, m3, m0, m1, 24);
        QROUND2_SCHED(m3, m0, m1, m2, 28);
        QROUND2_SCHED(m0, m1, m2, m3, 32);
        QROUND2_SCHED(m1, m2, m3, m0, 36);
        QROUND2_SCHED(m2, m3, m0, m1, 40);
        QROUND2_SCHED(m3, m0, m1, m2, 44);
        QROUND2_LAST(m0, 48);
        QROUND2_LAST(m1, 52);
        QROUND2_LAST(m2, 56);
        QROUND2_LAST(m3, 60);

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

#else /* AArch64, but this compiler cannot emit the kernel: never registered */

const cv4_mb_kernel cv4_mb_armv8_x2 = {"armv8-sha2-x2", 2, NULL};
#endif

#else /* not AArch64: never registered */

const cv4_mb_kernel cv4_mb_armv8_x2 = {"armv8-sha2-x2", 2, NULL};
#endif
