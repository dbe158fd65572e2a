/* cv4_mb.h - multi-buffer SHA-256 block compression kernels (AVX2 x8, AVX-512 x16,
 * two interleaved SHA-NI or ARMv8 SHA-2 streams).
 *
 * The kernels only compress whole 64-byte blocks; padding, lane refill and the choice of
 * kernel (cpuid + xgetbv) belong to the caller.  Every lane compresses the same number of
 * blocks per call.  The kernels never check CPU features themselves.
 */
#ifndef CV4_MB_H
#define CV4_MB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Multi-buffer SHA-256 block compression.
   For every lane l < lanes: compress nblocks consecutive 64-byte blocks read from ptrs[l]
   into state[l] (state[l][0..7] = H0..H7 in the usual order).
   Lanes that carry no message still need a valid readable pointer (callers pass a dummy
   buffer of nblocks*64 bytes and ignore the state).
   ptrs[l] need no alignment; state needs only uint32_t alignment.  nblocks == 0 is a no-op. */
typedef void (*cv4_mb_compress_fn)(uint32_t (*state)[8], const uint8_t *const *ptrs, size_t nblocks);
typedef struct { const char *name; int lanes; cv4_mb_compress_fn compress; } cv4_mb_kernel;
/* Defined in the kernel files; compress is NULL on targets and compilers without the
   kernel (absent: the same signal as the single-stream kernels, cv4_sha256.h). */
extern const cv4_mb_kernel cv4_mb_avx2_x8;    /* name "avx2-x8",    lanes 8  */
extern const cv4_mb_kernel cv4_mb_avx512_x16; /* name "avx512-x16", lanes 16 */
/* Same CPU requirement as avx512-x16 (AVX-512 F+BW+VL, OS saves ZMM state): 8 lanes in ymm
   with VPRORD/VPTERNLOGD.  Faster than avx512-x16 whenever 8 or fewer lanes are busy. */
extern const cv4_mb_kernel cv4_mb_avx512vl_x8; /* name "avx512vl-x8", lanes 8 */
/* Two independent streams interleaved on the SHA instructions, for CPUs where one
   stream leaves the SHA unit idle between dependent rounds.  sha-ni-x2 needs what
   sha-ni needs (SHA, SSE4.1, SSSE3); armv8-sha2-x2 what armv8-sha2 needs. */
extern const cv4_mb_kernel cv4_mb_shani_x2;   /* name "sha-ni-x2",     lanes 2 */
extern const cv4_mb_kernel cv4_mb_armv8_x2;   /* name "armv8-sha2-x2", lanes 2 */

#ifdef __cplusplus
}
#endif

#endif /* CV4_MB_H */
