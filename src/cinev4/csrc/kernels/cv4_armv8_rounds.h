/* What the two ARMv8 SHA-2 crypto-extension kernels share (sha256_armv8.c,
 * sha256_armv8_x2.c): whether this compiler can build them, the per-function
 * target attribute that enables the instructions without global -march flags
 * (a wheel runs on CPUs without them: the dispatcher offers the kernels only
 * where the OS reports the extension), the big-endian word load and the
 * 64-round schedule. Safe to include on every target.
 *   CV4_ARMV8_SHA2   1 when the intrinsics can be compiled here (0 elsewhere,
 *                    and the kernels' compress is then NULL: absent)
 *   CV4_TARGET_SHA2  the attribute to put on each kernel function
 */
#ifndef CV4_ARMV8_ROUNDS_H
#define CV4_ARMV8_ROUNDS_H

#if !(defined(__aarch64__) || defined(_M_ARM64))
#define CV4_ARMV8_SHA2 0
#define CV4_TARGET_SHA2
#elif defined(__AARCH64EB__)
#define CV4_ARMV8_SHA2 0
#define CV4_TARGET_SHA2
#elif defined(_MSC_VER) && !defined(__clang__)
#define CV4_ARMV8_SHA2 1
#define CV4_TARGET_SHA2
#elif defined(__ARM_FEATURE_SHA2) || defined(__ARM_FEATURE_CRYPTO)
#define CV4_ARMV8_SHA2 1
#define CV4_TARGET_SHA2
#elif defined(__clang__)
#if __clang_major__ >= 16
#define CV4_ARMV8_SHA2 1
#define CV4_TARGET_SHA2 __attribute__((target("crypto")))
#else
#define CV4_ARMV8_SHA2 0
#define CV4_TARGET_SHA2
#endif
#elif defined(__GNUC__)
#define CV4_ARMV8_SHA2 1
#define CV4_TARGET_SHA2 __attribute__((target("+crypto")))
#else
#define CV4_ARMV8_SHA2 0
#define CV4_TARGET_SHA2
#endif

#if CV4_ARMV8_SHA2
#include <arm_neon.h>

static inline uint32x4_t cv4_armv8_load_be_words(const uint8_t *p)
{
    return vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(p)));
}

/* The 64 rounds of one block as sixteen steps of four, on message words
 * m0..m3 (one set per stream in the two-stream kernel). The including file
 * defines, for its own registers:
 *   SCHED(x, y, z, w, g)  rounds 4g..4g+3 on words x, then x advances to the
 *                         words 16 later (SU0 with the next group y, SU1 with
 *                         the two after, z and w)
 *   LAST(x, g)            rounds 4g..4g+3 on words x, no schedule left
 * The schedule update depends only on message words, so it overlaps the
 * rounds' latency. */
#define CV4_ARMV8_64_ROUNDS                                                                    \
    SCHED(m0, m1, m2, m3, 0); SCHED(m1, m2, m3, m0, 1); SCHED(m2, m3, m0, m1, 2); SCHED(m3, m0, m1, m2, 3);     \
    SCHED(m0, m1, m2, m3, 4); SCHED(m1, m2, m3, m0, 5); SCHED(m2, m3, m0, m1, 6); SCHED(m3, m0, m1, m2, 7);     \
    SCHED(m0, m1, m2, m3, 8); SCHED(m1, m2, m3, m0, 9); SCHED(m2, m3, m0, m1, 10); SCHED(m3, m0, m1, m2, 11);   \
    LAST(m0, 12); LAST(m1, 13); LAST(m2, 14); LAST(m3, 15)
#endif

#endif
