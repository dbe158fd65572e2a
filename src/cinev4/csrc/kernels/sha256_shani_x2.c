/* Two SHA-256 streams interleaved on SHA-NI: a multi-buffer kernel with 2 lanes.
 *
 * One SHA-NI stream is latency-bound: each SHA256RNDS2 needs the previous
 * one's result, so the SHA unit idles between them. Two independent messages
 * give it a second chain to work on in those gaps. The two chains are written
 * side by side, instruction for instruction (the same schedule as the
 * single-stream kernel in sha256_shani.c); out-of-order execution overlaps them.
 * Whether that beats one stream is a property of the CPU (latency versus
 * throughput of SHA256RNDS2), so the lane calibration (cv4_dispatch.c) decides
 * at run time; nothing here assumes it wins.
 *
 * Same build rule as sha256_shani.c: a per-function target attribute, never
 * global -m flags; cv4_dispatch.c offers the kernel only on CPUs with SHA-NI,
 * SSE4.1 and SSSE3, after its self-test. */
#include "cv4_mb.h"
#include "cv4_sha256.h"
#include "cv4_shani_rounds.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define CV4_TARGET_SHANI_X2 CV4_TARGET("sha,sse4.1,ssse3")

/* As the single-stream kernel: a prefetch ahead keeps page-cache data streaming. */
#ifndef CV4_SHANI_X2_PREFETCH
#define CV4_SHANI_X2_PREFETCH 2048
#endif

/* Four rounds of both streams with schedule words w (same K for both). */
#define RNDS4(w, t)                                                                   \
    kv = _mm_loadu_si128((const __m128i *)&cv4_sha256_k[t]);                          \
    wka = _mm_add_epi32(w##a, kv);                                                    \
    wkb = _mm_add_epi32(w##b, kv);                                                    \
    s1a = _mm_sha256rnds2_epu32(s1a, s0a, wka);                                       \
    s1b = _mm_sha256rnds2_epu32(s1b, s0b, wkb)
#define RNDS4_END                                                                     \
    wka = _mm_shuffle_epi32(wka, 0x0E);                                               \
    wkb = _mm_shuffle_epi32(wkb, 0x0E);                                               \
    s0a = _mm_sha256rnds2_epu32(s0a, s1a, wka);                                       \
    s0b = _mm_sha256rnds2_epu32(s0b, s1b, wkb)
/* Finishes W[g+1] of both streams: next += alignr(w, prev, 4); next = msg2(next, w). */
#define FINISH_NEXT(next, w, prev)                                                    \
    next##a = _mm_sha256msg2_epu32(_mm_add_epi32(next##a, _mm_alignr_epi8(w##a, prev##a, 4)), w##a); \
    next##b = _mm_sha256msg2_epu32(_mm_add_epi32(next##b, _mm_alignr_epi8(w##b, prev##b, 4)), w##b)
/* Starts W[g+3] of both streams. */
#define START_LATER(prev, w)                                                          \
    prev##a = _mm_sha256msg1_epu32(prev##a, w##a);                                    \
    prev##b = _mm_sha256msg1_epu32(prev##b, w##b)

/* state a..h -> the instructions' ABEF / CDGH. */
CV4_TARGET_SHANI_X2 static inline void to_abef_cdgh(const uint32_t state[8], __m128i *abef, __m128i *cdgh)
{
    __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[0]), 0xB1);
    __m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[4]), 0x1B);
    *abef = _mm_alignr_epi8(tmp, s1, 8);
    *cdgh = _mm_blend_epi16(s1, tmp, 0xF0);
}

CV4_TARGET_SHANI_X2 static inline void from_abef_cdgh(uint32_t state[8], __m128i abef, __m128i cdgh)
{
    __m128i tmp = _mm_shuffle_epi32(abef, 0x1B);
    __m128i s1 = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(tmp, s1, 0xF0));
    _mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(s1, tmp, 8));
}

CV4_TARGET_SHANI_X2
static void shani_x2_compress(uint32_t (*state)[8], const uint8_t *const *ptrs, size_t nblocks)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    const uint8_t *pa = ptrs[0], *pb = ptrs[1];
    __m128i s0a, s1a, s0b, s1b, kv, wka, wkb;

    to_abef_cdgh(state[0], &s0a, &s1a);
    to_abef_cdgh(state[1], &s0b, &s1b);

    while (nblocks--) {
        const __m128i abefa = s0a, cdgha = s1a, abefb = s0b, cdghb = s1b;
        _mm_prefetch((const char *)(pa + CV4_SHANI_X2_PREFETCH), _MM_HINT_T0);
        _mm_prefetch((const char *)(pb + CV4_SHANI_X2_PREFETCH), _MM_HINT_T0);
        __m128i m0a = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(pa + 0)), bswap);
        __m128i m0b = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(pb + 0)), bswap);
        __m128i m1a = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(pa + 16)), bswap);
        __m128i m1b = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(pb + 16)), bswap);
        __m128i m2a = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(pa + 32)), bswap);
        __m128i m2b = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(pb + 32)), bswap);
        __m128i m3a = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(pa + 48)), bswap);
        __m128i m3b = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(pb + 48)), bswap);

        CV4_SHANI_64_ROUNDS;

        s0a = _mm_add_epi32(s0a, abefa);
        s1a = _mm_add_epi32(s1a, cdgha);
        s0b = _mm_add_epi32(s0b, abefb);
        s1b = _mm_add_epi32(s1b, cdghb);
        pa += CV4_SHA256_BLOCK;
        pb += CV4_SHA256_BLOCK;
    }

    from_abef_cdgh(state[0], s0a, s1a);
    from_abef_cdgh(state[1], s0b, s1b);
}

const cv4_mb_kernel cv4_mb_shani_x2 = {"sha-ni-x2", 2, shani_x2_compress};

#else /* not x86-64: absent */

const cv4_mb_kernel cv4_mb_shani_x2 = {"sha-ni-x2", 2, NULL};
#endif
