/* The 8-lane kernel (one message per 32-bit lane of a ymm), written once and
 * compiled once per instruction set, each with its own target attribute:
 * sha256_mb_avx2.c (avx2-x8: rotates as two shifts, Maj carried as b ^ c) and
 * sha256_mb_avx512.c (avx512vl-x8: VPRORD, VPTERNLOGD, 32 registers).
 *
 * The including file defines the round primitives of cv4_mb_rounds.h for
 * __m256i (and includes it), RND_STATE (variables its rounds carry, declared
 * in the kernel: `__m256i bc;` or nothing), CV4_MB_TARGET, and
 * CV4_MB_X8_COMPRESS, the name of the cv4_mb_compress_fn defined here.
 * No include guard: included once per kernel file.
 *
 * Layout: the 8 state words are kept word-major (one ymm per word, lane l =
 * message l), transposed once per call. Each block: 8 rows of 64 bytes are
 * loaded, byte-swapped and transposed (two 8x8 u32 transposes) into w[0..15];
 * the schedule runs in a rolling window of 16. */

static const union { uint8_t b[32]; __m256i v; } cv4_mb_x8_bswap = {{
    3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
    3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
}};

/* Load one block of the 8 messages into w[0..15] (word-major, big-endian words). */
CV4_MB_INLINE void cv4_mb_x8_load_block(__m256i w[16], const uint8_t *const *ptrs, size_t off)
{
    const __m256i bswap = _mm256_load_si256((const __m256i *)cv4_mb_x8_bswap.b);
    int i;
    for (i = 0; i < 8; i++) {
        w[i] = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(ptrs[i] + off)), bswap);
        w[i + 8] = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(ptrs[i] + off + 32)), bswap);
    }
    cv4_mb_tr8x8(w);
    cv4_mb_tr8x8(w + 8);
}

CV4_MB_TARGET
static void CV4_MB_X8_COMPRESS(uint32_t (*state)[8], const uint8_t *const *ptrs, size_t nblocks)
{
    __m256i s[8];
    __m256i a, b, c, d, e, f, g, h;
    RND_STATE
    __m256i w[16];
    size_t off, end;
    int i;

    if (nblocks == 0)
        return;
    for (i = 0; i < 8; i++)
        s[i] = _mm256_loadu_si256((const __m256i *)state[i]);
    cv4_mb_tr8x8(s);
    a = s[0]; b = s[1]; c = s[2]; d = s[3]; e = s[4]; f = s[5]; g = s[6]; h = s[7];

    CV4_MB_BLOCKS(__m256i, cv4_mb_x8_load_block, 8)

    s[0] = a; s[1] = b; s[2] = c; s[3] = d; s[4] = e; s[5] = f; s[6] = g; s[7] = h;
    cv4_mb_tr8x8(s);
    for (i = 0; i < 8; i++)
        _mm256_storeu_si256((__m256i *)state[i], s[i]);
}
