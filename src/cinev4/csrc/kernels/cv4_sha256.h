/* Single-stream SHA-256: the kernel interface and the streaming context.
 *
 * A kernel only compresses whole 64-byte blocks; padding, buffering and
 * finalisation live here once, so a new kernel (ARMv8 SHA2, ...) is one
 * file with its descriptor plus one line in the dispatcher (cv4_dispatch.c). */
#ifndef CV4_SHA256_H
#define CV4_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define CV4_SHA256_BLOCK 64
#define CV4_SHA256_DIGEST 32

/* What lets one function use an instruction set the build does not assume (no
 * file is compiled with -m flags; the dispatcher decides what may run):
 * CV4_TARGET("avx2") before a kernel, CV4_TARGET_INLINE("avx2") for its helpers. */
#if defined(__GNUC__) || defined(__clang__)
#define CV4_TARGET(isa) __attribute__((target(isa)))
#define CV4_TARGET_INLINE(isa) static inline __attribute__((always_inline, target(isa)))
#elif defined(_MSC_VER)
#define CV4_TARGET(isa)
#define CV4_TARGET_INLINE(isa) static __forceinline
#else
#define CV4_TARGET(isa)
#define CV4_TARGET_INLINE(isa) static inline
#endif

typedef void (*cv4_compress_fn)(uint32_t state[8], const uint8_t *blocks, size_t nblocks);

typedef struct {
    const char *name;
    cv4_compress_fn compress;
} cv4_kernel;

typedef struct {
    uint32_t h[8];
    uint64_t total_bytes;
    uint8_t pending[CV4_SHA256_BLOCK];
    size_t pending_len;
    cv4_compress_fn compress;
} cv4_sha256_ctx;

extern const uint32_t cv4_sha256_k[64];
extern const uint32_t cv4_sha256_h0[8];

void cv4_sha256_init(cv4_sha256_ctx *ctx, const cv4_kernel *kernel);
/* Continue a message from a state that has absorbed total_bytes (a multiple of 64). */
void cv4_sha256_resume(cv4_sha256_ctx *ctx, const cv4_kernel *kernel, const uint32_t state[8], uint64_t total_bytes);
void cv4_sha256_update(cv4_sha256_ctx *ctx, const uint8_t *data, size_t len);
void cv4_sha256_final(cv4_sha256_ctx *ctx, uint8_t digest[CV4_SHA256_DIGEST]);
/* Finish a message whose whole blocks were already compressed into state
 * (multi-buffer lanes): tail holds the last (total_bytes % 64) bytes. */
void cv4_sha256_finish_tail(uint32_t state[8], const uint8_t *tail, uint64_t total_bytes,
                            cv4_compress_fn compress, uint8_t digest[CV4_SHA256_DIGEST]);

/* Kernels, each defined in its own file as a descriptor. A kernel that
 * cannot exist on this target or with this compiler has compress == NULL:
 * that is the one way to say "absent", for these and the multi-buffer kernels
 * (cv4_mb.h) alike. Whether this CPU may run a present one is the dispatcher's
 * question (cv4_dispatch.c). */
extern const cv4_kernel cv4_kernel_portable;   /* "portable", every platform */
extern const cv4_kernel cv4_kernel_shani;      /* "sha-ni", x86-64 */
extern const cv4_kernel cv4_kernel_armv8;      /* "armv8-sha2", AArch64 with a compiler that has the intrinsics */
/* "libcrypto": the system's OpenSSL, loaded at the first call (Linux only);
 * compress is NULL where none is found. */
cv4_kernel cv4_kernel_libcrypto(void);
/* The portable block function by name: the reference the others are tested against. */
void cv4_sha256_compress_portable(uint32_t state[8], const uint8_t *blocks, size_t nblocks);

#endif
