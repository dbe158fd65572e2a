/* Multi-buffer SHA-256, AVX-512: 16 independent messages, one per 32-bit lane of a zmm.
 *
 * Compiled with per-function target attributes, never with global -m flags; the
 * dispatcher (cpuid + xgetbv) decides whether cv4_mb_avx512_x16.compress may be called.
 *
 * Layout: the 8 state words are kept word-major (one zmm per word, lane l = message l),
 * transposed once per call.  Each block: 16 rows of 64 bytes are loaded, byte-swapped and
 * transposed (16x16 u32) into W[0..15]; the schedule then runs in a rolling window of 16
 * zmm.  Rotations use VPRORD, Ch/Maj/3-way XOR use VPTERNLOGD (0xCA, 0xE8, 0x96). */
#include "cv4_mb.h"
#include "cv4_sha256.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define CV4_MB_TARGET CV4_TARGET("avx512f,avx512bw,avx512vl")
#define CV4_MB_INLINE CV4_TARGET_INLINE("avx512f,avx512bw,avx512vl")

/* Byte order swap of every 32-bit word, repeated in all four 128-bit lanes.  The union with
   __m512i gives 64-byte alignment portably (no alignment attribute syntax needed). */
static const union { uint8_t b[64]; __m512i v; } cv4_mb512_bswap = {{
    3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
    3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
    3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
    3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
}};

/* The round macros are written once for both vector widths: VOP(op) names the intrinsic
   (_mm512_op or _mm256_op) and VEC the vector type; both are set before each kernel. */
#define ADD(a, b) VOP(add_epi32)((a), (b))
#define ROR(x, n) VOP(ror_epi32)((x), (n))
#define XOR3(a, b, c) VOP(ternarylogic_epi32)((a), (b), (c), 0x96)
#define CH(e, f, g) VOP(ternarylogic_epi32)((e), (f), (g), 0xCA)
#define MAJ(a, b, c) VOP(ternarylogic_epi32)((a), (b), (c), 0xE8)
#define BSIG0(x) XOR3(ROR((x), 2), ROR((x), 13), ROR((x), 22))
#define BSIG1(x) XOR3(ROR((x), 6), ROR((x), 11), ROR((x), 25))
#define SSIG0(x) XOR3(ROR((x), 7), ROR((x), 18), VOP(srli_epi32)((x), 3))
#define SSIG1(x) XOR3(ROR((x), 17), ROR((x), 19), VOP(srli_epi32)((x), 10))
#define KV(t) VOP(set1_epi32)((int)cv4_sha256_k[(t)])

/* One round; the caller rotates the roles of a..h instead of moving registers. */
#define RND(a, b, c, d, e, f, g, h, wk)                       \
    do {                                                      \
        VEC t1_ = ADD(ADD((h), (wk)), ADD(BSIG1(e), CH((e), (f), (g)))); \
        (d) = ADD((d), t1_);                                  \
        (h) = ADD(t1_, ADD(BSIG0(a), MAJ((a), (b), (c))));    \
    } while (0)
#define RND_STATE
#define RND_BLOCK_START (void)0

#include "cv4_mb_rounds.h"

/* Load block b of the 16 messages into w[0..15] (word-major, big-endian words). */
CV4_MB_INLINE void cv4_mb512_load_block(__m512i w[16], const uint8_t *const *ptrs, size_t off)
{
    const __m512i bswap = _mm512_load_si512((const void *)cv4_mb512_bswap.b);
    __m512i r[16], t[16], v[16];
    int i;
    for (i = 0; i < 16; i++)
        r[i] = _mm512_shuffle_epi8(_mm512_loadu_si512((const void *)(ptrs[i] + off)), bswap);
    /* Stage 1+2: inside each 128-bit block k, gather word 4k+m of rows 4g..4g+3. */
    for (i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (i = 0; i < 16; i += 4) { /* row group g = i / 4; v[4g + m] */
        v[i + 0] = _mm512_unpacklo_epi64(t[i + 0], t[i + 2]);
        v[i + 1] = _mm512_unpackhi_epi64(t[i + 0], t[i + 2]);
        v[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        v[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    /* Stage 3+4: 4x4 transpose of 128-bit blocks for each m: w[4k + m] = block k of g = 0..3. */
    for (i = 0; i < 4; i++) {
        __m512i x0 = _mm512_shuffle_i32x4(v[0 + i], v[4 + i], 0x44);
        __m512i x1 = _mm512_shuffle_i32x4(v[0 + i], v[4 + i], 0xEE);
        __m512i x2 = _mm512_shuffle_i32x4(v[8 + i], v[12 + i], 0x44);
        __m512i x3 = _mm512_shuffle_i32x4(v[8 + i], v[12 + i], 0xEE);
        w[0 + i] = _mm512_shuffle_i32x4(x0, x2, 0x88);
        w[4 + i] = _mm512_shuffle_i32x4(x0, x2, 0xDD);
        w[8 + i] = _mm512_shuffle_i32x4(x1, x3, 0x88);
        w[12 + i] = _mm512_shuffle_i32x4(x1, x3, 0xDD);
    }
}

#define VOP(op) _mm512_##op
#define VEC __m512i

CV4_MB_TARGET
static void cv4_mb512_compress(uint32_t (*state)[8], const uint8_t *const *ptrs, size_t nblocks)
{
    __m256i lo[8], hi[8];
    __m512i a, b, c, d, e, f, g, h;
    __m512i w[16];
    size_t off, end;
    int i;

    if (nblocks == 0)
        return;
    for (i = 0; i < 8; i++) {
        lo[i] = _mm256_loadu_si256((const __m256i *)state[i]);
        hi[i] = _mm256_loadu_si256((const __m256i *)state[i + 8]);
    }
    cv4_mb_tr8x8(lo);
    cv4_mb_tr8x8(hi);
#define JOIN(j) _mm512_inserti64x4(_mm512_castsi256_si512(lo[j]), hi[j], 1)
    a = JOIN(0); b = JOIN(1); c = JOIN(2); d = JOIN(3);
    e = JOIN(4); f = JOIN(5); g = JOIN(6); h = JOIN(7);
#undef JOIN

    CV4_MB_BLOCKS(__m512i, cv4_mb512_load_block, 16)

#define SPLIT(j, x) lo[j] = _mm512_castsi512_si256(x); hi[j] = _mm512_extracti64x4_epi64((x), 1)
    SPLIT(0, a); SPLIT(1, b); SPLIT(2, c); SPLIT(3, d);
    SPLIT(4, e); SPLIT(5, f); SPLIT(6, g); SPLIT(7, h);
#undef SPLIT
    cv4_mb_tr8x8(lo);
    cv4_mb_tr8x8(hi);
    for (i = 0; i < 8; i++) {
        _mm256_storeu_si256((__m256i *)state[i], lo[i]);
        _mm256_storeu_si256((__m256i *)state[i + 8], hi[i]);
    }
}

const cv4_mb_kernel cv4_mb_avx512_x16 = {"avx512-x16", 16, cv4_mb512_compress};

/* ---- 8 lanes in ymm with AVX-512VL: the same rounds (VPRORD, VPTERNLOGD, 32 registers) on
   the 8-lane body shared with avx2-x8.  On cores with three 256-bit vector ports and two
   512-bit ones this gives more than half of the 16-lane throughput, so it wins over
   avx512-x16 when 8 or fewer lanes are busy. */
#undef VOP
#undef VEC
#define VOP(op) _mm256_##op
#define VEC __m256i

#define CV4_MB_X8_COMPRESS cv4_mb512vl_compress8
#include "cv4_mb_x8.h"

const cv4_mb_kernel cv4_mb_avx512vl_x8 = {"avx512vl-x8", 8, cv4_mb512vl_compress8};

#else /* not x86-64 */

const cv4_mb_kernel cv4_mb_avx512_x16 = {"avx512-x16", 16, NULL};
const cv4_mb_kernel cv4_mb_avx512vl_x8 = {"avx512vl-x8", 8, NULL};

#endif
