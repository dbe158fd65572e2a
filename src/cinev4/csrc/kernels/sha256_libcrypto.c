/* The system's OpenSSL libcrypto as a kernel, loaded at run time (as RHash does).
 *
 * On CPUs without SHA-NI, OpenSSL's hand-scheduled AVX2/SSSE3 assembly beats
 * portable C by 1.5-2x. Nothing is linked at build time: where no libcrypto is
 * found the kernel is simply not offered. Only on Linux: macOS's unversioned
 * system libcrypto aborts processes that load it, and Windows has none. */
#include <string.h>

#include "cv4_sha256.h"

#if defined(__linux__)
#include <dlfcn.h>

/* openssl/sha.h's SHA256_CTX, a public and stable struct layout. */
typedef struct {
    uint32_t h[8];
    uint32_t nl, nh;
    uint32_t data[16];
    unsigned int num, md_len;
} ossl_sha256_ctx;

typedef int (*ossl_update_fn)(ossl_sha256_ctx *ctx, const void *data, size_t len);

static ossl_update_fn ossl_update;

/* With an empty buffer and whole blocks, SHA256_Update hands the data straight
 * to OpenSSL's block function: no copy, no per-block call. */
static void compress_libcrypto(uint32_t state[8], const uint8_t *blocks, size_t nblocks)
{
    ossl_sha256_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    memcpy(ctx.h, state, sizeof ctx.h);
    ctx.md_len = CV4_SHA256_DIGEST;
    ossl_update(&ctx, blocks, nblocks * CV4_SHA256_BLOCK);
    memcpy(state, ctx.h, sizeof ctx.h);
}

static cv4_compress_fn load(void)
{
    static const char *const names[] = {"libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.so"};
    size_t i;
    if (ossl_update)
        return compress_libcrypto;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        void *sym;
        if (!lib)
            continue;
        sym = dlsym(lib, "SHA256_Update");
        if (sym) {
            /* POSIX guarantees object and function pointers convert. */
            memcpy(&ossl_update, &sym, sizeof sym);
            return compress_libcrypto;
        }
        dlclose(lib);
    }
    return NULL;
}

#else
static cv4_compress_fn load(void) { return NULL; }
#endif

cv4_kernel cv4_kernel_libcrypto(void)
{
    cv4_kernel k = {"libcrypto", load()};
    return k;
}
