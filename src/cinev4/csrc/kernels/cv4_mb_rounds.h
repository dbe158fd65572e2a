/* Shared by the multi-buffer kernels: the message schedule, the 16-round
 * unrolling, the loop over a call's blocks and the 8x8 word transpose. Each
 * kernel file defines, before including this, its own primitives for its
 * instruction set: ADD, SSIG0, SSIG1, KV(t) (round constant t in every lane),
 * RND(a..h, wk) (one round), RND_BLOCK_START (what a block does before its
 * first round: the AVX2 rounds carry b ^ c from one round to the next) and
 * CV4_MB_INLINE (static inline with that file's target attribute); the round
 * macros expect the message window `w[16]` in scope. Included once per file. */
#ifndef CV4_MB_ROUNDS_H
#define CV4_MB_ROUNDS_H

#include <immintrin.h>

/* Round t < 16 uses w[t]; round t >= 16 first extends the window w[t & 15]. */
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

/* Tuning knob, off: how far ahead (bytes) to prefetch each lane's data. */
#ifndef CV4_MB_PREFETCH
#define CV4_MB_PREFETCH 0
#endif

/* Every block of a call: the state in a..h (word-major vectors of type VEC),
 * LOAD(w, ptrs, off) fills the message window with one block of each of the
 * LANES messages. Expects off, end, nblocks and ptrs in scope. */
#define CV4_MB_BLOCKS(VEC, LOAD, LANES)                                                           \
    for (off = 0, end = nblocks * 64; off < end; off += 64) {                                     \
        const VEC a0 = a, b0 = b, c0 = c, d0 = d, e0 = e, f0 = f, g0 = g, h0 = h;                 \
        int t;                                                                                    \
        if (CV4_MB_PREFETCH)                                                                      \
            for (t = 0; t < (LANES); t++)                                                         \
                _mm_prefetch((const char *)((uintptr_t)ptrs[t] + off + CV4_MB_PREFETCH), _MM_HINT_T0); \
        LOAD(w, ptrs, off);                                                                       \
        RND_BLOCK_START;                                                                          \
        ROUNDS16(R0, 0);                                                                          \
        for (t = 16; t < 64; t += 16) {                                                           \
            ROUNDS16(R1, t);                                                                      \
        }                                                                                         \
        a = ADD(a, a0); b = ADD(b, b0); c = ADD(c, c0); d = ADD(d, d0);                           \
        e = ADD(e, e0); f = ADD(f, f0); g = ADD(g, g0); h = ADD(h, h0);                           \
    }

/* 8x8 transpose of 32-bit words held in eight ymm (an involution: used both ways). */
CV4_MB_INLINE void cv4_mb_tr8x8(__m256i r[8])
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

#endif
