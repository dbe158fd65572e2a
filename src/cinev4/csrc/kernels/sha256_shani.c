/* x86-64 SHA-NI kernel (SHA256RNDS2/MSG1/MSG2).
 *
 * Compiled with a per-function target attribute, never with global -m flags:
 * the wheel runs on CPUs without SHA-NI, and the dispatcher (cv4_dispatch.c)
 * decides from cv4_cpu() at run time whether this kernel may be called. */
#include "cv4_sha256.h"
#include "cv4_shani_rounds.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define CV4_TARGET_SHANI CV4_TARGET("sha,sse4.1,ssse3")

#ifndef CV4_SHANI_PREFETCH
#define CV4_SHANI_PREFETCH 2048
#endif

/* Four rounds on schedule words w: two SHA256RNDS2 steps. The schedule for
 * later words is interleaved between them (as Intel's reference code does) so
 * the message instructions hide in the rounds' latency:
 *   next  += alignr(w, prev, 4); next = msg2(next, w)   -- finishes W[g+1]
 *   prev   = msg1(prev, w)                             -- starts W[g+3] */
#define RNDS4(w, t) \
    wk = _mm_add_epi32((w), _mm_loadu_si128((const __m128i *)&cv4_sha256_k[t])); \
    s1 = _mm_sha256rnds2_epu32(s1, s0, wk)
#define RNDS4_END \
    wk = _mm_shuffle_epi32(wk, 0x0E); \
    s0 = _mm_sha256rnds2_epu32(s0, s1, wk)
#define FINISH_NEXT(next, w, prev) \
    next = _mm_sha256msg2_epu32(_mm_add_epi32(next, _mm_alignr_epi8(w, prev, 4)), w)
#define START_LATER(prev, w) prev = _mm_sha256msg1_epu32(prev, w)

CV4_TARGET_SHANI
static void compress_shani(uint32_t state[8], const uint8_t *blocks, size_t nblocks)
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
        /* One stream keeps too few loads in flight to hide DRAM latency on
         * page-cache data; a prefetch a few lines ahead restores in-cache speed.
         * (Prefetching past the end of the buffer is harmless: it never faults.) */
        _mm_prefetch((const char *)(blocks + CV4_SHANI_PREFETCH), _MM_HINT_T0);
        __m128i m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks + 0)), bswap);
        __m128i m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks + 16)), bswap);
        __m128i m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks + 32)), bswap);
        __m128i m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks + 48)), bswap);

        __m128i wk;
        CV4_SHANI_64_ROUNDS;

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

const cv4_kernel cv4_kernel_shani = {"sha-ni", compress_shani};

#else /* not x86-64: the kernel does not exist here */

const cv4_kernel cv4_kernel_shani = {"sha-ni", NULL};
#endif
