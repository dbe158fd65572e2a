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

/* Round constants, each repeated in all 8 lanes so VPADDD can take it as a memory operand
   (AVX2 has no embedded broadcast).  The unions with __m256i give 32-byte alignment portably. */
#define K8(x) {x, x, x, x, x, x, x, x}
static const union { uint32_t k[64][8]; __m256i v; } cv4_mb256_k = {{
    K8(0x428a2f98), K8(0x71374491), K8(0xb5c0fbcf), K8(0xe9b5dba5), K8(0x3956c25b), K8(0x59f111f1), K8(0x923f82a4), K8(0xab1c5ed5),
    K8(0xd807aa98), K8(0x12835b01), K8(0x243185be), K8(0x550c7dc3), K8(0x72be5d74), K8(0x80deb1fe), K8(0x9bdc06a7), K8(0xc19bf174),
    K8(0xe49b69c1), K8(0xefbe4786), K8(0x0fc19dc6), K8(0x240ca1cc), K8(0x2de92c6f), K8(0x4a7484aa), K8(0x5cb0a9dc), K8(0x76f988da),
    K8(0x983e5152), K8(0xa831c66d), K8(0xb00327c8), K8(0xbf597fc7), K8(0xc6e00bf3), K8(0xd5a79147), K8(0x06ca6351), K8(0x14292967),
    K8(0x27b70a85), K8(0x2e1b2138), K8(0x4d2c6dfc), K8(0x53380d13), K8(0x650a7354), K8(0x766a0abb), K8(0x81c2c92e), K8(0x92722c85),
    K8(0xa2bfe8a1), K8(0xa81a664b), K8(0xc24b8b70), K8(0xc76c51a3), K8(0xd192e819), K8(0xd6990624), K8(0xf40e3585), K8(0x106aa070),
    K8(0x19a4c116), K8(0x1e376c08), K8(0x2748774c), K8(0x34b0bcb5), K8(0x391c0cb3), K8(0x4ed8aa4a), K8(0x5b9cca4f), K8(0x682e6ff3),
    K8(0x748f82ee), K8(0x78a5636f), K8(0x84c87814), K8(0x8cc70208), K8(0x90befffa), K8(0xa4506ceb), K8(0xbef9a3f7), K8(0xc67178f2),
}};
#undef K8

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
#define KV(t) _mm256_load_si256((const __m256i *)cv4_mb256_k.k[(t)])
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

#define R0(i, t, a, b, c, d, e, f, g, h) RND(a, b, c, d, e, f, g, h, ADD(w[i], KV(t)))
#define R1(i, t, a, b, c, d, e, f, g, h)                                                   \
    do {                                                                                   \
        w[i] = ADD(ADD(w[i], SSIG0(w[((i) + 1) & 15])), ADD(w[((i) + 9) & 15], SSIG1(w[((i) + 14) & 15]))); \
        RND(a, b, c, d, e, f, g, h, ADD(w[i], KV(t)));                                     \
    } while (0)

#define ROUNDS16(R, t)                             \
    R(0, (t) + 0, a, b, c, d, e, f, g, h);         \
    R(1, (t) + 1, h, a, b, c, d, e, f, g);         \
    R(2, (t) + 2, g, h, a, b, c, d, e, f);         \
    R(3, (t) + 3, f, g, h, a, b, c, d, e);         \
    R(4, (t) + 4, e, f, g, h, a, b, c, d);         \
    R(5, (t) + 5, d, e, f, g, h, a, b, c);         \
    R(6, (t) + 6, c, d, e, f, g, h, a, b);         \
    R(7, (t) + 7, b, c, d, e, f, g, h, a);         \
    R(8, (t) + 8, a, b, c, d, e, f, g, h);         \
    R(9, (t) + 9, h, a, b, c, d, e, f, g);         \
    R(10, (t) + 10, g, h, a, b, c, d, e, f);       \
    R(11, (t) + 11, f, g, h, a, b, c, d, e);       \
    R(12, (t) + 12, e, f, g, h, a, b, c, d);       \
    R(13, (t) + 13, d, e, f, g, h, a, b, c);       \
    R(14, (t) + 14, c, d, e, f, g, h, a, b);       \
    R(15, (t) + 15, b, c, d, e, f, g, h, a)

/* 8x8 transpose of 32-bit words held in eight ymm (an involution: used both ways). */
CV4_MB256_INLINE void cv4_mb256_tr8x8(__m256i r[8])
{
    __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
    __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
    __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
    __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
    __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
    __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
    r[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
    r[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
    r[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
    r[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
    r[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
    r[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
    r[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
    r[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

/* Load one block of the 8 messages into w[0..15] (word-major, big-endian words). */
CV4_MB256_INLINE void cv4_mb256_load_block(__m256i w[16], const uint8_t *const *ptrs, size_t off)
{
    const __m256i bswap = _mm256_load_si256((const __m256i *)cv4_mb256_bswap.b);
    int i;
    for (i = 0; i < 8; i++) {
        w[i] = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(ptrs[i] + off)), bswap);
        w[i + 8] = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(ptrs[i] + off + 32)), bswap);
    }
    cv4_mb256_tr8x8(w);
    cv4_mb256_tr8x8(w + 8);
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
    cv4_mb256_tr8x8(s);
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
    cv4_mb256_tr8x8(s);
    for (i = 0; i < 8; i++)
        _mm256_storeu_si256((__m256i *)state[i], s[i]);
}

const cv4_mb_kernel cv4_mb_avx2_x8 = {"avx2-x8", 8, cv4_mb256_compress};

#else /* not x86-64 */

const cv4_mb_kernel cv4_mb_avx2_x8 = {"avx2-x8", 8, NULL};

#endif
