/* x86-64 SHA-NI kernel (SHA256RNDS2/MSG1/MSG2).
 *
 * Compiled with a per-function target attribute, never with global -m flags:
 * the wheel runs on CPUs without SHA-NI, and cv4_cpu.c decides at run time
 * whether this function may be called. */
#include "cv4_sha256.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#if defined(__GNUC__) || defined(__clang__)
#define CV4_TARGET_SHANI __attribute__((target("sha,sse4.1,ssse3")))
#else
#define CV4_TARGET_SHANI
#endif

int cv4_shani_compiled(void) { return 1; }

/* Four rounds: message words plus constants, two SHA256RNDS2 steps. */
#define RNDS4(msg, t)                                                                  \
    do {                                                                               \
        __m128i wk_ = _mm_add_epi32((msg), _mm_loadu_si128((const __m128i *)&cv4_sha256_k[t])); \
        s1 = _mm_sha256rnds2_epu32(s1, s0, wk_);                                       \
        wk_ = _mm_shuffle_epi32(wk_, 0x0E);                                            \
        s0 = _mm_sha256rnds2_epu32(s0, s1, wk_);                                       \
    } while (0)

/* Next four schedule words into m0 from the previous sixteen (m0..m3 oldest first). */
#define SCHED(m0, m1, m2, m3) \
    m0 = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(m0, m1), _mm_alignr_epi8(m3, m2, 4)), m3)

CV4_TARGET_SHANI
void cv4_sha256_compress_shani(uint32_t state[8], const uint8_t *blocks, size_t nblocks)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp, s0, s1;

    /* The instructions want the state as ABEF / CDGH. */
    tmp = _mm_loadu_si128((const __m128i *)&state[0]);
    s1 = _mm_loadu_si128((const __m128i *)&state[4]);
    tmp = _mm_shuffle_epi32(tmp, 0xB1);
    s1 = _mm_shuffle_epi32(s1, 0x1B);
    s0 = _mm_alignr_epi8(tmp, s1, 8);
    s1 = _mm_blend_epi16(s1, tmp, 0xF0);

    while (nblocks--) {
        const __m128i abef = s0, cdgh = s1;
        __m128i m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks + 0)), bswap);
        __m128i m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks + 16)), bswap);
        __m128i m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks + 32)), bswap);
        __m128i m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks + 48)), bswap);

        RNDS4(m0, 0);
        RNDS4(m1, 4);
        RNDS4(m2, 8);
        RNDS4(m3, 12);
        SCHED(m0, m1, m2, m3); RNDS4(m0, 16);
        SCHED(m1, m2, m3, m0); RNDS4(m1, 20);
        SCHED(m2, m3, m0, m1); RNDS4(m2, 24);
        SCHED(m3, m0, m1, m2); RNDS4(m3, 28);
        SCHED(m0, m1, m2, m3); RNDS4(m0, 32);
        SCHED(m1, m2, m3, m0); RNDS4(m1, 36);
        SCHED(m2, m3, m0, m1); RNDS4(m2, 40);
        SCHED(m3, m0, m1, m2); RNDS4(m3, 44);
        SCHED(m0, m1, m2, m3); RNDS4(m0, 48);
        SCHED(m1, m2, m3, m0); RNDS4(m1, 52);
        SCHED(m2, m3, m0, m1); RNDS4(m2, 56);
        SCHED(m3, m0, m1, m2); RNDS4(m3, 60);

        s0 = _mm_add_epi32(s0, abef);
        s1 = _mm_add_epi32(s1, cdgh);
        blocks += CV4_SHA256_BLOCK;
    }

    tmp = _mm_shuffle_epi32(s0, 0x1B);
    s1 = _mm_shuffle_epi32(s1, 0xB1);
    s0 = _mm_blend_epi16(tmp, s1, 0xF0);
    s1 = _mm_alignr_epi8(s1, tmp, 8);
    _mm_storeu_si128((__m128i *)&state[0], s0);
    _mm_storeu_si128((__m128i *)&state[4], s1);
}

#else /* not x86-64: the kernel does not exist here and is never registered */

int cv4_shani_compiled(void) { return 0; }
#endif
