/* Multi-buffer SHA-256, AVX2: 8 independent messages, one per 32-bit lane of a ymm.
 *
 * Compiled with per-function target attributes, never with global -m flags; the
 * dispatcher (cpuid + xgetbv) decides whether cv4_mb_avx2_x8.compress may be called.
 *
 * The kernel's body is cv4_mb_x8.h, shared with avx512vl-x8; this file gives it AVX2's
 * primitives.  AVX2 has no rotate: ROR = two shifts + OR, and the Sigma functions are
 * written as six shifts and five XORs.  Maj reuses a^b of the previous round as b^c. */
#include "cv4_mb.h"
#include "cv4_sha256.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define CV4_MB_TARGET CV4_TARGET("avx2")
#define CV4_MB_INLINE CV4_TARGET_INLINE("avx2")

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
#define RND_STATE __m256i bc;
#define RND_BLOCK_START bc = XOR(b, c)

#include "cv4_mb_rounds.h"

#define CV4_MB_X8_COMPRESS cv4_mb256_compress
#include "cv4_mb_x8.h"

const cv4_mb_kernel cv4_mb_avx2_x8 = {"avx2-x8", 8, cv4_mb256_compress};

#else /* not x86-64 */

const cv4_mb_kernel cv4_mb_avx2_x8 = {"avx2-x8", 8, NULL};

#endif
