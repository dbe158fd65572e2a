/* Padding, buffering and finalisation shared by every single-stream kernel. */
#include <string.h>

#include "cv4_sha256.h"

const uint32_t cv4_sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

const uint32_t cv4_sha256_h0[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

void cv4_sha256_init(cv4_sha256_ctx *ctx, const cv4_kernel *kernel)
{
    memcpy(ctx->h, cv4_sha256_h0, sizeof ctx->h);
    ctx->total_bytes = 0;
    ctx->pending_len = 0;
    ctx->compress = kernel->compress;
}

void cv4_sha256_resume(cv4_sha256_ctx *ctx, const cv4_kernel *kernel, const uint32_t state[8], uint64_t total_bytes)
{
    memcpy(ctx->h, state, sizeof ctx->h);
    ctx->total_bytes = total_bytes;
    ctx->pending_len = 0;
    ctx->compress = kernel->compress;
}

void cv4_sha256_update(cv4_sha256_ctx *ctx, const uint8_t *data, size_t len)
{
    ctx->total_bytes += len;
    if (ctx->pending_len) {
        size_t take = CV4_SHA256_BLOCK - ctx->pending_len;
        if (take > len)
            take = len;
        memcpy(ctx->pending + ctx->pending_len, data, take);
        ctx->pending_len += take;
        data += take;
        len -= take;
        if (ctx->pending_len < CV4_SHA256_BLOCK)
            return;
        ctx->compress(ctx->h, ctx->pending, 1);
        ctx->pending_len = 0;
    }
    if (len >= CV4_SHA256_BLOCK) {
        size_t nblocks = len / CV4_SHA256_BLOCK;
        ctx->compress(ctx->h, data, nblocks);
        data += nblocks * CV4_SHA256_BLOCK;
        len -= nblocks * CV4_SHA256_BLOCK;
    }
    if (len) {
        memcpy(ctx->pending, data, len);
        ctx->pending_len = len;
    }
}

static void store_be32(uint8_t *out, uint32_t v)
{
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

void cv4_sha256_finish_tail(uint32_t state[8], const uint8_t *tail, uint64_t total_bytes,
                            cv4_compress_fn compress, uint8_t digest[CV4_SHA256_DIGEST])
{
    uint8_t block[2 * CV4_SHA256_BLOCK];
    size_t tail_len = (size_t)(total_bytes % CV4_SHA256_BLOCK);
    size_t padded = tail_len < 56 ? CV4_SHA256_BLOCK : 2 * CV4_SHA256_BLOCK;
    uint64_t bits = total_bytes * 8;
    int i;

    memset(block, 0, sizeof block);
    if (tail_len)
        memcpy(block, tail, tail_len);
    block[tail_len] = 0x80;
    for (i = 0; i < 8; i++)
        block[padded - 1 - i] = (uint8_t)(bits >> (8 * i));
    compress(state, block, padded / CV4_SHA256_BLOCK);
    for (i = 0; i < 8; i++)
        store_be32(digest + 4 * i, state[i]);
}

void cv4_sha256_final(cv4_sha256_ctx *ctx, uint8_t digest[CV4_SHA256_DIGEST])
{
    cv4_sha256_finish_tail(ctx->h, ctx->pending, ctx->total_bytes, ctx->compress, digest);
}
