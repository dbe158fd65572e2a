/* Standalone correctness test of the single-stream SHA-256 kernels
 * (src/cinev4/csrc/kernels/sha256_*.c).  Not part of the package; run by tests/c/run_kernels.sh.
 *
 *   ./test_kernels [--quick] [--require NAME]...
 *
 * The portable kernel is first checked against FIPS 180-2 vectors; then every kernel the
 * running CPU offers (same conditions as cv4_dispatch.c: sha-ni on x86-64, armv8-sha2 on
 * AArch64; a kernel this build lacks has a NULL compress) is checked against it:
 *   1. FIPS vectors ("", "abc", the 448-bit two-block message, 10^6 x 'a');
 *   2. block compression from random states, nblocks 1..64, unaligned pointers;
 *   3. whole-message digests through cv4_sha256_init/update/final: every length 0..1024
 *      (one update, then random update sizes), and random lengths up to 1 MiB at random
 *      offsets (0..63 bytes off a 64-byte boundary) with random update sizes.
 * --require NAME fails the run unless kernel NAME was found and tested (so an emulator
 * run cannot pass by testing only the portable kernel). Prints "OK" or "FAIL ...". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cv4_cpu.h"
#include "cv4_mb.h"
#include "cv4_sha256.h"

#define MAX_MSG (1u << 20)

static int failures;
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static size_t rnd_below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

static void fail(const char *kernel, const char *what, size_t a, size_t b)
{
    if (failures < 20)
        printf("FAIL %s: %s (%zu, %zu)\n", kernel, what, a, b);
    failures++;
}

static void hex(const uint8_t *d, size_t n, char *out)
{
    size_t i;
    for (i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

/* Whole message through the streaming context; chunk == 0: one update, else
 * random update sizes in 1..chunk. */
static void digest(const cv4_kernel *k, const uint8_t *msg, size_t len, size_t chunk, uint8_t out[32])
{
    cv4_sha256_ctx ctx;
    size_t done = 0;
    cv4_sha256_init(&ctx, k);
    if (!chunk) {
        cv4_sha256_update(&ctx, msg, len);
    } else {
        while (done < len) {
            size_t n = 1 + rnd_below(chunk);
            if (n > len - done)
                n = len - done;
            cv4_sha256_update(&ctx, msg + done, n);
            done += n;
        }
    }
    cv4_sha256_final(&ctx, out);
}

static void check_fips(const cv4_kernel *k)
{
    static const struct { const char *msg; const char *want; } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    uint8_t d[32];
    char got[65];
    size_t i;
    cv4_sha256_ctx ctx;
    static uint8_t a[1000];
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        digest(k, (const uint8_t *)v[i].msg, strlen(v[i].msg), 0, d);
        hex(d, 32, got);
        if (strcmp(got, v[i].want) != 0)
            fail(k->name, "FIPS vector", i, strlen(v[i].msg));
    }
    memset(a, 'a', sizeof a);
    cv4_sha256_init(&ctx, k);
    for (i = 0; i < 1000; i++)
        cv4_sha256_update(&ctx, a, sizeof a);
    cv4_sha256_final(&ctx, d);
    hex(d, 32, got);
    if (strcmp(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") != 0)
        fail(k->name, "FIPS vector: one million 'a'", 1000000, 0);
}

static void check_blocks(const cv4_kernel *k, const cv4_kernel *ref, const uint8_t *buf, int trials)
{
    int t, i;
    for (t = 0; t < trials; t++) {
        uint32_t want[8], got[8];
        size_t nblocks = 1 + rnd_below(64), off = rnd_below(64);
        for (i = 0; i < 8; i++)
            want[i] = got[i] = (uint32_t)rnd();
        ref->compress(want, buf + off, nblocks);
        k->compress(got, buf + off, nblocks);
        if (memcmp(want, got, sizeof want) != 0)
            fail(k->name, "block compression (nblocks, offset)", nblocks, off);
    }
}

static void check_messages(const cv4_kernel *k, const cv4_kernel *ref, const uint8_t *buf, int random_msgs)
{
    uint8_t want[32], got[32];
    size_t len;
    int t;
    for (len = 0; len <= 1024; len++) {
        size_t off = len % 64;
        digest(ref, buf + off, len, 0, want);
        digest(k, buf + off, len, 0, got);
        if (memcmp(want, got, 32) != 0)
            fail(k->name, "digest, one update (length, offset)", len, off);
        digest(k, buf + off, len, 1 + rnd_below(200), got);
        if (memcmp(want, got, 32) != 0)
            fail(k->name, "digest, random updates (length, offset)", len, off);
    }
    for (t = 0; t < random_msgs; t++) {
        size_t off = rnd_below(64);
        len = rnd_below(MAX_MSG + 1);
        digest(ref, buf + off, len, 0, want);
        digest(k, buf + off, len, t % 2 ? 0 : 1 + rnd_below(100000), got);
        if (memcmp(want, got, 32) != 0)
            fail(k->name, "digest, random message (length, offset)", len, off);
    }
}

/* ---- two-lane interleaved kernels (sha-ni-x2, armv8-sha2-x2) against the portable kernel */

static void check_mb_blocks(const cv4_mb_kernel *k, const uint8_t *buf, int trials)
{
    int t, l, i;
    for (t = 0; t < trials; t++) {
        uint32_t want[2][8], got[2][8];
        const uint8_t *ptrs[2];
        size_t nblocks = 1 + rnd_below(64);
        for (l = 0; l < 2; l++) {
            ptrs[l] = buf + rnd_below(MAX_MSG / 2) + rnd_below(64); /* unaligned, own data */
            for (i = 0; i < 8; i++)
                want[l][i] = got[l][i] = (uint32_t)rnd();
            cv4_sha256_compress_portable(want[l], ptrs[l], nblocks);
        }
        k->compress(got, ptrs, nblocks);
        if (memcmp(want, got, sizeof want) != 0)
            fail(k->name, "two-lane block compression (nblocks, trial)", nblocks, (size_t)t);
    }
}

/* A message padded to whole blocks, as the lane scheduler's tail code does. */
static uint8_t *pad_message(const uint8_t *msg, size_t len, size_t *nblocks)
{
    size_t n = (len + 9 + 63) / 64, i;
    uint8_t *p = calloc(n, 64);
    if (!p)
        exit(2);
    memcpy(p, msg, len);
    p[len] = 0x80;
    for (i = 0; i < 8; i++)
        p[n * 64 - 1 - i] = (uint8_t)(((uint64_t)len * 8) >> (8 * i));
    *nblocks = n;
    return p;
}

/* Messages of lengths lens[] run two at a time through the lanes: a lane
 * refills as soon as its message ends, calls never exceed `chunk` blocks, and
 * an idle lane reads a dummy block. Each digest is checked against the portable
 * kernel on the same padded message. */
static void run_mb_messages(const cv4_mb_kernel *k, const uint8_t *const *msgs, const size_t *lens, size_t count,
                            size_t chunk, const char *what)
{
    static const uint8_t idle[256 * 64]; /* the largest call below */
    uint8_t *padded[2] = {NULL, NULL};
    size_t left[2] = {0, 0}, index[2] = {0, 0}, next = 0;
    const uint8_t *ptrs[2];
    uint32_t st[2][8];
    int l;
    for (;;) {
        size_t n = chunk;
        int busy = 0;
        for (l = 0; l < 2; l++) {
            if (padded[l] && left[l] == 0) { /* finished: compare with the portable kernel */
                uint32_t ref[8];
                size_t nb;
                uint8_t *p = pad_message(msgs[index[l]], lens[index[l]], &nb);
                memcpy(ref, cv4_sha256_h0, sizeof ref);
                cv4_sha256_compress_portable(ref, p, nb);
                if (memcmp(ref, st[l], sizeof ref) != 0)
                    fail(k->name, what, lens[index[l]], (size_t)l);
                free(p);
                free(padded[l]);
                padded[l] = NULL;
            }
            if (!padded[l] && next < count) {
                size_t nb;
                index[l] = next++;
                padded[l] = pad_message(msgs[index[l]], lens[index[l]], &nb);
                left[l] = nb;
                ptrs[l] = padded[l];
                memcpy(st[l], cv4_sha256_h0, sizeof st[l]);
            }
            if (padded[l]) {
                busy++;
                if (left[l] < n)
                    n = left[l];
            }
        }
        if (!busy)
            return;
        {
            const uint8_t *call[2];
            for (l = 0; l < 2; l++)
                call[l] = padded[l] ? ptrs[l] : idle;
            k->compress(st, call, n);
        }
        for (l = 0; l < 2; l++)
            if (padded[l]) {
                ptrs[l] += n * 64;
                left[l] -= n;
            }
    }
}

static void check_mb(const cv4_mb_kernel *k, const uint8_t *buf, int quick)
{
    static const char *fips[] = {"", "abc", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"};
    const uint8_t *msgs[1024];
    size_t lens[1024], i;
    uint8_t *million = malloc(1000000);
    if (!million)
        exit(2);
    memset(million, 'a', 1000000);
    /* FIPS vectors side by side (the portable kernel is itself checked against them) */
    for (i = 0; i < 3; i++) {
        msgs[i] = (const uint8_t *)fips[i];
        lens[i] = strlen(fips[i]);
    }
    msgs[3] = million;
    lens[3] = 1000000;
    run_mb_messages(k, msgs, lens, 4, 64, "FIPS vector (length, lane)");
    free(million);
    check_mb_blocks(k, buf, quick ? 200 : 2000);
    /* every length 0..300, pairs of different lengths, small and larger calls */
    for (i = 0; i <= 300; i++) {
        msgs[i] = buf + i % 64;
        lens[i] = (i * 7) % 301;
    }
    run_mb_messages(k, msgs, lens, 301, 1, "lengths 0..300, 1 block per call (length, lane)");
    run_mb_messages(k, msgs, lens, 301, 64, "lengths 0..300, 64 blocks per call (length, lane)");
    /* an odd count (one lane idle at the end), random lengths up to 1 MiB */
    for (i = 0; i < (quick ? 7u : 31u); i++) {
        lens[i] = rnd_below(MAX_MSG / 2);
        msgs[i] = buf + rnd_below(MAX_MSG / 2);
    }
    run_mb_messages(k, msgs, lens, quick ? 7 : 31, 256, "random lengths (length, lane)");
}

int main(int argc, char **argv)
{
    const cv4_cpu_features *cpu = cv4_cpu();
    cv4_kernel kernels[4];
    const cv4_mb_kernel *mbs[2];
    size_t nk = 0, nmb = 0, i;
    int quick = 0, a;
    uint8_t *buf = malloc(MAX_MSG + 64);

    if (!buf)
        return 2;
    for (i = 0; i < MAX_MSG + 64; i++)
        buf[i] = (uint8_t)rnd();

    kernels[nk++] = cv4_kernel_portable;
    /* under the conditions cv4_dispatch.c offers them */
    if (cv4_kernel_shani.compress && cpu->sha && cpu->sse41 && cpu->ssse3)
        kernels[nk++] = cv4_kernel_shani;
    if (cv4_kernel_armv8.compress && cpu->arm_sha2)
        kernels[nk++] = cv4_kernel_armv8;
    if (cv4_mb_shani_x2.compress && cpu->sha && cpu->sse41 && cpu->ssse3)
        mbs[nmb++] = &cv4_mb_shani_x2;
    if (cv4_mb_armv8_x2.compress && cpu->arm_sha2)
        mbs[nmb++] = &cv4_mb_armv8_x2;

    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--quick") == 0) {
            quick = 1;
        } else if (strcmp(argv[a], "--require") == 0 && a + 1 < argc) {
            const char *want = argv[++a];
            int found = 0;
            for (i = 0; i < nk; i++)
                found |= strcmp(kernels[i].name, want) == 0;
            for (i = 0; i < nmb; i++)
                found |= strcmp(mbs[i]->name, want) == 0;
            if (!found)
                fail(want, "required kernel not available (CPU features, compiled)",
                     (size_t)(cv4_kernel_shani.compress != NULL), (size_t)(cv4_kernel_armv8.compress != NULL));
        } else {
            fprintf(stderr, "usage: %s [--quick] [--require NAME]...\n", argv[0]);
            return 2;
        }
    }

    printf("cpu features: %s\n", cv4_cpu_feature_names());
    for (i = 0; i < nk; i++) {
        int before = failures;
        check_fips(&kernels[i]);
        if (i > 0) {
            check_blocks(&kernels[i], &cv4_kernel_portable, buf, quick ? 200 : 2000);
            check_messages(&kernels[i], &cv4_kernel_portable, buf, quick ? 8 : 40);
        }
        printf("kernel %-10s %s\n", kernels[i].name, failures == before ? "ok" : "FAILED");
    }
    for (i = 0; i < nmb; i++) {
        int before = failures;
        check_mb(mbs[i], buf, quick);
        printf("kernel %-10s %s\n", mbs[i]->name, failures == before ? "ok" : "FAILED");
    }
    free(buf);
    if (failures) {
        printf("FAIL: %d mismatches\n", failures);
        return 1;
    }
    printf("OK: %zu kernel(s) tested\n", nk + nmb);
    return 0;
}
