/* Multi-buffer SHA-256, AVX2: 8 independent messages, one per 32-bit lane of a ymm.
 *
 * Compiled with per-function target attributes, never with global -m flags; the caller's
 * dispatcher (cpuid + xgetbv) decides whether cv4_mb_avx2_x8.compress may be called.
 *
 * Layout: the 8 state words are kept word-major (one ymm per word, lane l = message l),
 * transposed once per call.  Each block: 8 rows of 64 bytes are loaded, byte-swapped and
 * transposed (two 8x8 u32 transposes) into W[0..15]; the schedule runs in a rolling window
 * of 16.  AVX2 has no rotate: ROR = two shifts + OR, and the Sigma functions are written as
 * six shifts and five XORs.  Maj reuses a^b of the previous round as b^c. */
#include "cv4_mb.h"
#include "cv4_sha256.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#if defined(__GNUC__) || defined(__clang__)
#define CV4_MB256_TARGET __attribute__((target("avx2")))
#define CV4_MB256_INLINE static inline __attribute__((always_inline, target("avx2")))
#elif defined(_MSC_VER)
#define CV4_MB256_TARGET
#define CV4_MB256_INLINE static __forceinline
#else
#define CV4_MB256_TARGET
#define CV4_MB256_INLINE static inline
#endif

#ifndef CV4_MB256_PF
#define CV4_MB256_PF 0
#endif

static const union { uint8_t b[32]; __m256i v; } cv4_mb256_bswap = {{
    3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
    3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
}};

#define ADD(a, b) _mm256_add_epi32((a), (b))
#define XOR(a, b) _mm256_xor_si256((a), (b))
#define SHR(x, n) _mm256_srli_epi32((x), (n))
#define SHL(x, n) _mm256_slli_epi32((x), (n))
/* ror(x,r1) ^ ror(x,r2) ^ ror(x,r3) */
#define SIG3(x, r1, r2, r3) \
    XOR(XOR(XOR(SHR((x), r1), SHL((x), 32 - r1)), XOR(SHR((x), r2), SHL((x), 32 - r2))), XOR(SHR((x), r3), SHL((x), 32 - r3)))
/* ror(x,r1) ^ ror(x,r2) ^ (x >> s) */
#define SIG2S(x, r1, r2, s) \
    XOR(XOR(XOR(SHR((x), r1), SHL((x), 32 - r1)), XOR(SHR((x), r2), SHL((x), 32 - r2))), SHR((x), s))
#define BSIG0(x) SIG3((x), 2, 13, 22)
#define BSIG1(x) SIG3((x), 6, 11, 25)
#define SSIG0(x) SIG2S((x), 7, 18, 3)
#define SSIG1(x) SIG2S((x), 17, 19, 10)
/* VPBROADCASTD from memory is a plain load on these cores: no 64 x 8 table needed. */
#define KV(t) _mm256_set1_epi32((int)cv4_sha256_k[(t)])
/* Ch(e,f,g) = (e & f) ^ (~e & g) */
#define CH(e, f, g) XOR(_mm256_and_si256((e), (f)), _mm256_andnot_si256((e), (g)))

/* One round.  On entry bc = b ^ c; on exit bc = a ^ b (the next round's b ^ c). */
#define RND(a, b, c, d, e, f, g, h, wk)                                              \
    do {                                                                             \
        __m256i t1_ = ADD(ADD((h), (wk)), ADD(BSIG1(e), CH((e), (f), (g))));         \
        __m256i ab_ = XOR((a), (b));                                                 \
        __m256i maj_ = XOR(_mm256_and_si256(ab_, bc), (b));                          \
        bc = ab_;                                                                    \
        (d) = ADD((d), t1_);                                                         \
        (h) = ADD(t1_, ADD(BSIG0(a), maj_));                                         \
    } while (0)

#define CV4_MB_INLINE CV4_MB256_INLINE
#include "cv4_mb_rounds.h"

/* Load one block of the 8 messages into w[0..15] (word-major, big-endian words). */
CV4_MB256_INLINE void cv4_mb256_load_block(__m256i w[16], const uint8_t *const *ptrs, size_t off)
{
    const __m256i bswap = _mm256_load_si256((const __m256i *)cv4_mb256_bswap.b);
    int i;
    for (i = 0; i < 8; i++) {
        w[i] = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(ptrs[i] + off)), bswap);
        w[i + 8] = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(ptrs[i] + off + 32)), bswap);
    }
    cv4_mb_tr8x8(w);
    cv4_mb_tr8x8(w + 8);
}

CV4_MB256_TARGET
static void cv4_mb256_compress(uint32_t (*state)[8], const uint8_t *const *ptrs, size_t nblocks)
{
    __m256i s[8];
    __m256i a, b, c, d, e, f, g, h, bc;
    __m256i w[16];
    size_t off, end;
    int i;

    if (nblocks == 0)
        return;
    for (i = 0; i < 8; i++)
        s[i] = _mm256_loadu_si256((const __m256i *)state[i]);
    cv4_mb_tr8x8(s);
    a = s[0]; b = s[1]; c = s[2]; d = s[3]; e = s[4]; f = s[5]; g = s[6]; h = s[7];

    end = nblocks * 64;
    for (off = 0; off < end; off += 64) {
        const __m256i a0 = a, b0 = b, c0 = c, d0 = d, e0 = e, f0 = f, g0 = g, h0 = h;
        int t;
#if CV4_MB256_PF
        for (t = 0; t < 8; t++)
            _mm_prefetch((const char *)((uintptr_t)ptrs[t] + off + CV4_MB256_PF), _MM_HINT_T0);
#endif
        cv4_mb256_load_block(w, ptrs, off);
        bc = XOR(b, c);
        ROUNDS16(R0, 0);
        for (t = 16; t < 64; t += 16) {
            ROUNDS16(R1, t);
        }
        a = ADD(a, a0); b = ADD(b, b0); c = ADD(c, c0); d = ADD(d, d0);
        e = ADD(e, e0); f = ADD(f, f0); g = ADD(g, g0); h = ADD(h, h0);
    }

    s[0] = a; s[1] = b; s[2] = c; s[3] = d; s[4] = e; s[5] = f; s[6] = g; s[7] = h;
    cv4_mb_tr8x8(s);
    for (i = 0; i < 8; i++)
        _mm256_storeu_si256((__m256i *)state[i], s[i]);
}

const cv4_mb_kernel cv4_mb_avx2_x8 = {"avx2-x8", 8, cv4_mb256_compress};

#else /* not x86-64 */

const cv4_mb_kernel cv4_mb_avx2_x8 = {"avx2-x8", 8, NULL};

#endif
