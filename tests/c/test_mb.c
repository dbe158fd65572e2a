/* Standalone correctness test and micro-benchmark of the multi-buffer SHA-256 kernels
 * (src/cinev4/csrc/kernels/sha256_mb_avx2.c, sha256_mb_avx512.c, sha256_shani_x2.c).  Not part of the package.
 *
 *   tests/c/run_mb.sh            build, test, bench (also runs `openssl speed`)
 *   ./test_mb [--quick] [--no-bench] [--bench-only] [--reps N]
 *
 * Checks, for every kernel the CPU can run:
 *   1. block compression against a portable scalar reference: every lane its own random
 *      state and data (unaligned pointers), nblocks 1..64, many random trials;
 *   2. whole messages against OpenSSL SHA256(): the harness pads and runs a small lane
 *      scheduler (lanes finish and refill independently, idle lanes read a dummy buffer):
 *      all lengths 0..300, random lengths up to 4 MiB, 1 byte beside 64 MiB, more and fewer
 *      messages than lanes, random call sizes.
 * Bench: aggregate MB/s and cycles/byte per kernel over 64 MiB (spread over the lanes),
 * beside OpenSSL single-stream SHA-256 (SHA-NI where present) in the same run, plus the
 * busy-lane break-even against that single stream.  Medians over repetitions. */
#define _GNU_SOURCE 1
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "cv4_mb.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
#include <x86intrin.h>
#define HAVE_X86 1
#endif

/* ---------------------------------------------------------------- reference */

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};
static const uint32_t IV[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

static uint32_t ror32(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void ref_compress(uint32_t st[8], const uint8_t *p, size_t nblocks)
{
    while (nblocks--) {
        uint32_t w[64], a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
        int t;
        for (t = 0; t < 16; t++)
            w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 | (uint32_t)p[4 * t + 2] << 8 | p[4 * t + 3];
        for (t = 16; t < 64; t++) {
            uint32_t s0 = ror32(w[t - 15], 7) ^ ror32(w[t - 15], 18) ^ (w[t - 15] >> 3);
            uint32_t s1 = ror32(w[t - 2], 17) ^ ror32(w[t - 2], 19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        for (t = 0; t < 64; t++) {
            uint32_t t1 = h + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
            uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
        }
        st[0] += a; st[1] += b; st[2] += c; st[3] += d; st[4] += e; st[5] += f; st[6] += g; st[7] += h;
        p += 64;
    }
}

/* ---------------------------------------------------------------- helpers */

static uint64_t rng_s = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void)
{ /* xorshift64* */
    rng_s ^= rng_s >> 12; rng_s ^= rng_s << 25; rng_s ^= rng_s >> 27;
    return rng_s * 0x2545F4914F6CDD1DULL;
}
static void fill(uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) { uint64_t r = rnd(); memcpy(p + i, &r, 8); }
    for (; i < n; i++) p[i] = (uint8_t)rnd();
}
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) { fprintf(stderr, "out of memory (%zu)\n", n); exit(2); }
    return p;
}
static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_dbl);
    return n & 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int cpu_has(const char *name)
{
#ifdef HAVE_X86
    unsigned a, b, c, d, xlo = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0; /* OSXSAVE */
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(d) : "c"(0));
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    if (!strcmp(name, "avx2")) return (xlo & 6) == 6 && (b & (1u << 5));
    if (!strcmp(name, "avx512"))
        return (xlo & 0xE6) == 0xE6 && (b & (1u << 16)) && (b & (1u << 30)) && (b & (1u << 31));
    if (!strcmp(name, "sha")) return (b & (1u << 29)) != 0;
#endif
    (void)name;
    return 0;
}

/* ---------------------------------------------------------------- test 1: blocks */

#define MAXL 16

static int test_blocks(const cv4_mb_kernel *k, int trials)
{
    uint8_t *buf[MAXL];
    const uint8_t *ptrs[MAXL];
    uint32_t st[MAXL][8], ref[MAXL][8];
    int l, t, fails = 0;
    for (l = 0; l < MAXL; l++) buf[l] = xmalloc(64 * 64 + 64);
    for (t = 0; t < trials; t++) {
        size_t nb = t < 64 ? (size_t)t + 1 : 1 + rnd() % 64;
        for (l = 0; l < k->lanes; l++) {
            size_t mis = rnd() % 64; /* unaligned pointers */
            int j;
            fill(buf[l] + mis, nb * 64);
            ptrs[l] = buf[l] + mis;
            for (j = 0; j < 8; j++) st[l][j] = ref[l][j] = (uint32_t)rnd();
            ref_compress(ref[l], ptrs[l], nb);
        }
        k->compress(st, ptrs, nb);
        for (l = 0; l < k->lanes; l++)
            if (memcmp(st[l], ref[l], sizeof ref[l])) {
                if (fails++ < 5) fprintf(stderr, "  %s: block mismatch trial %d nblocks %zu lane %d\n", k->name, t, nb, l);
            }
    }
    /* nblocks == 0 must leave the state alone */
    for (l = 0; l < k->lanes; l++) { memcpy(st[l], IV, 32); ptrs[l] = buf[l]; }
    k->compress(st, ptrs, 0);
    for (l = 0; l < k->lanes; l++)
        if (memcmp(st[l], IV, 32)) { fails++; fprintf(stderr, "  %s: nblocks=0 changed lane %d\n", k->name, l); }
    for (l = 0; l < MAXL; l++) free(buf[l]);
    return fails;
}

/* ---------------------------------------------------------------- test 2: messages */

typedef struct { const uint8_t *data; size_t len; } msg_t;

typedef struct {
    int msg;                 /* index into the message list, -1 when idle */
    size_t pos;              /* bytes of data already compressed (whole blocks) */
    int ntail, tailpos;      /* padded tail: blocks built / consumed (ntail 0 = not built) */
    uint8_t tail[128];
} lane_t;

#define MAXB 64

/* Hash all messages with kernel k through a lane scheduler; digests out[i][32].
   maxcall: cap on blocks per call (random in 1..maxcall when randcap). */
static void mb_hash_all(const cv4_mb_kernel *k, const msg_t *m, int nmsg, uint8_t (*out)[32], int maxcall, int randcap)
{
    static uint8_t dummy[MAXB * 64];
    lane_t lane[MAXL];
    uint32_t st[MAXL][8];
    const uint8_t *ptrs[MAXL];
    int next = 0, l;
    for (l = 0; l < k->lanes; l++) lane[l].msg = -1;
    for (;;) {
        size_t n = (size_t)(randcap ? 1 + rnd() % (uint64_t)maxcall : (uint64_t)maxcall);
        int active = 0;
        for (l = 0; l < k->lanes; l++) {
            lane_t *ln = &lane[l];
            size_t avail;
            if (ln->msg < 0 && next < nmsg) { /* refill */
                ln->msg = next++; ln->pos = 0; ln->ntail = 0; ln->tailpos = 0;
                memcpy(st[l], IV, 32);
            }
            if (ln->msg < 0) { ptrs[l] = dummy; continue; }
            active++;
            avail = (m[ln->msg].len - ln->pos) / 64;
            if (avail) {
                ptrs[l] = m[ln->msg].data + ln->pos;
            } else {
                if (!ln->ntail) { /* build the padded tail: rest, 0x80, zeros, 64-bit bit length */
                    size_t rem = m[ln->msg].len - ln->pos;
                    uint64_t bits = (uint64_t)m[ln->msg].len * 8;
                    int j;
                    ln->ntail = rem + 9 <= 64 ? 1 : 2;
                    memset(ln->tail, 0, sizeof ln->tail);
                    if (rem) memcpy(ln->tail, m[ln->msg].data + ln->pos, rem);
                    ln->tail[rem] = 0x80;
                    for (j = 0; j < 8; j++) ln->tail[ln->ntail * 64 - 1 - j] = (uint8_t)(bits >> (8 * j));
                }
                ptrs[l] = ln->tail + 64 * ln->tailpos;
                avail = (size_t)(ln->ntail - ln->tailpos);
            }
            if (avail < n) n = avail;
        }
        if (!active) break;
        k->compress(st, ptrs, n);
        for (l = 0; l < k->lanes; l++) {
            lane_t *ln = &lane[l];
            if (ln->msg < 0) continue;
            if (!ln->ntail) {
                ln->pos += n * 64;
            } else if ((ln->tailpos += (int)n) == ln->ntail) {
                int j;
                for (j = 0; j < 8; j++) {
                    out[ln->msg][4 * j] = (uint8_t)(st[l][j] >> 24);
                    out[ln->msg][4 * j + 1] = (uint8_t)(st[l][j] >> 16);
                    out[ln->msg][4 * j + 2] = (uint8_t)(st[l][j] >> 8);
                    out[ln->msg][4 * j + 3] = (uint8_t)st[l][j];
                }
                ln->msg = -1;
            }
        }
    }
}

static int check_msgs(const cv4_mb_kernel *k, const msg_t *m, int nmsg, const char *what, int maxcall, int randcap)
{
    uint8_t (*got)[32] = xmalloc((size_t)nmsg * 32);
    uint8_t want[32];
    int i, fails = 0;
    memset(got, 0, (size_t)nmsg * 32);
    mb_hash_all(k, m, nmsg, got, maxcall, randcap);
    for (i = 0; i < nmsg; i++) {
        SHA256(m[i].data, m[i].len, want);
        if (memcmp(got[i], want, 32)) {
            if (fails++ < 5) fprintf(stderr, "  %s: %s: message %d (len %zu) digest mismatch\n", k->name, what, i, m[i].len);
        }
    }
    free(got);
    return fails;
}

static int test_messages(const cv4_mb_kernel *k, int quick)
{
    int fails = 0, i, nmsg;
    size_t big = quick ? (8u << 20) : (64u << 20);
    uint8_t *pool = xmalloc(big + 64);
    msg_t *m = xmalloc(sizeof(msg_t) * 400);
    fill(pool, big + 64);

    /* all lengths 0..300, each at a different offset (unaligned), in order and shuffled */
    for (i = 0; i <= 300; i++) { m[i].data = pool + (size_t)i * 977 % 4096 + (i & 7); m[i].len = (size_t)i; }
    fails += check_msgs(k, m, 301, "lengths 0..300 maxcall 64", 64, 0);
    fails += check_msgs(k, m, 301, "lengths 0..300 random calls", 8, 1);
    for (i = 300; i > 0; i--) { msg_t tmp = m[i]; int j = (int)(rnd() % (uint64_t)(i + 1)); m[i] = m[j]; m[j] = tmp; }
    fails += check_msgs(k, m, 301, "lengths 0..300 shuffled", 64, 1);

    /* fewer messages than lanes, one message, zero messages */
    for (nmsg = 0; nmsg <= k->lanes; nmsg++) {
        for (i = 0; i < nmsg; i++) { m[i].len = rnd() % 5000; m[i].data = pool + rnd() % 4096; }
        fails += check_msgs(k, m, nmsg, "few messages", 64, 1);
    }

    /* random lengths up to 4 MiB, more messages than lanes */
    nmsg = quick ? 24 : 3 * k->lanes + 5;
    for (i = 0; i < nmsg; i++) {
        m[i].len = (size_t)(rnd() % (4u << 20));
        if (i % 3 == 0) m[i].len %= 2000;
        m[i].data = pool + rnd() % (big - (4u << 20));
    }
    fails += check_msgs(k, m, nmsg, "random up to 4 MiB", 64, 1);

    /* 1 byte beside a big message, then many small ones while the big one runs */
    m[0].data = pool + 1; m[0].len = 1;
    m[1].data = pool + 3; m[1].len = big - 3;
    for (i = 2; i < 300; i++) { m[i].len = rnd() % 20000; m[i].data = pool + rnd() % 8192; }
    fails += check_msgs(k, m, 300, "1 byte beside big", 64, 0);

    free(m);
    free(pool);
    return fails;
}

/* ---------------------------------------------------------------- bench */

static double core_ghz(void)
{
#ifdef HAVE_X86
    /* a chain of dependent 1-cycle register-register adds: cycles = iterations * 64
       (not add-immediate: Golden Cove class cores fold those at rename) */
    double best = 0;
    int r;
    for (r = 0; r < 7; r++) {
        uint64_t it = 20000000, x = 0, one = 1;
        double t0 = now(), dt;
        __asm__ volatile(
            "1:\n\t"
            ".rept 64\n\t add %2, %0\n\t .endr\n\t"
            "dec %1\n\t jnz 1b"
            : "+r"(x), "+r"(it)
            : "r"(one));
        dt = now() - t0;
        if (20000000.0 * 64 / dt / 1e9 > best) best = 20000000.0 * 64 / dt / 1e9;
    }
    return best;
#else
    return 0;
#endif
}

static double tsc_ghz(void)
{
#ifdef HAVE_X86
    double t0 = now();
    uint64_t c0 = __rdtsc(), c1;
    while (now() - t0 < 0.2) {}
    c1 = __rdtsc();
    return (double)(c1 - c0) / (now() - t0) / 1e9;
#else
    return 0;
#endif
}

/* aggregate MB/s over `total` bytes spread over k->lanes lanes, `chunk` blocks per call */
static double bench_kernel(const cv4_mb_kernel *k, uint8_t *data, size_t total, size_t chunk, int passes)
{
    uint32_t st[MAXL][8];
    const uint8_t *ptrs[MAXL];
    size_t per = total / (size_t)k->lanes / 64 * 64, done;
    int l, p;
    double t0;
    for (l = 0; l < k->lanes; l++) memcpy(st[l], IV, 32);
    t0 = now();
    for (p = 0; p < passes; p++)
        for (done = 0; done < per; done += chunk * 64) {
            size_t nb = (per - done) / 64 < chunk ? (per - done) / 64 : chunk;
            for (l = 0; l < k->lanes; l++) ptrs[l] = data + (size_t)l * per + done;
            k->compress(st, ptrs, nb);
        }
    return (double)per * (double)k->lanes * passes / (now() - t0) / 1e6;
}

static double bench_openssl(uint8_t *data, size_t len, int passes)
{
    unsigned char md[32];
    unsigned int mdlen;
    double t0 = now();
    int p;
    for (p = 0; p < passes; p++) EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    return (double)len * passes / (now() - t0) / 1e6;
}

static void bench(const cv4_mb_kernel **ks, int nk, int reps)
{
    size_t total = 64u << 20, small = 16u << 10;
    uint8_t *data = xmalloc(total);
    double ghz = core_ghz(), tsc = tsc_ghz();
    double *v = xmalloc(sizeof(double) * (size_t)reps);
    double ssl_mem, ssl_cache, mem[4], cache[4];
    int i, r;
    fill(data, total);
    printf("\nbench: core clock %.2f GHz (dependent-add chain), TSC %.2f GHz; medians of %d runs\n", ghz, tsc, reps);
    printf("  openssl --version: %s\n", OpenSSL_version(OPENSSL_VERSION));
    /* interleave kernels and OpenSSL so that noise from the shared host hits all alike */
    {
        double *vm = xmalloc(sizeof(double) * (size_t)reps * 4), *vc = xmalloc(sizeof(double) * (size_t)reps * 4);
        double *om = xmalloc(sizeof(double) * (size_t)reps), *oc = xmalloc(sizeof(double) * (size_t)reps);
        for (r = 0; r < reps; r++) {
            om[r] = bench_openssl(data, total, 1);
            oc[r] = bench_openssl(data, small, (int)(total / small));
            for (i = 0; i < nk; i++) {
                vm[i * reps + r] = bench_kernel(ks[i], data, total, 256, 1);
                /* in cache: 16 KiB per lane, hashed over and over */
                vc[i * reps + r] = bench_kernel(ks[i], data, small * (size_t)ks[i]->lanes, 256,
                                                (int)(total / (small * (size_t)ks[i]->lanes)));
            }
        }
        ssl_mem = median(om, reps);
        ssl_cache = median(oc, reps);
        for (i = 0; i < nk; i++) { mem[i] = median(vm + i * reps, reps); cache[i] = median(vc + i * reps, reps); }
        free(vm); free(vc); free(om); free(oc);
    }
    printf("  %-34s %9s %8s   %9s %8s\n", "", "64MiB MB/s", "cpb", "L1/L2 MB/s", "cpb");
    printf("  %-34s %9.0f %8.2f   %9.0f %8.2f\n", "openssl EVP sha256 (1 stream)", ssl_mem, ghz * 1e3 / ssl_mem,
           ssl_cache, ghz * 1e3 / ssl_cache);
    for (i = 0; i < nk; i++) {
        char label[64];
        snprintf(label, sizeof label, "%s (aggregate, %d lanes)", ks[i]->name, ks[i]->lanes);
        printf("  %-34s %9.0f %8.2f   %9.0f %8.2f   x%.2f vs openssl\n", label, mem[i], ghz * 1e3 / mem[i], cache[i],
               ghz * 1e3 / cache[i], mem[i] / ssl_mem);
    }
    printf("  (64MiB: 64 MiB spread over the lanes, read from DRAM, 256 blocks per call;\n"
           "   L1/L2: 16 KiB per lane hashed over and over; cpb at the measured core clock)\n");
    /* Busy-lane break-even: a call costs the same whatever the number of busy lanes, so k busy
       lanes of n deliver mem * k / n.  Against OpenSSL from DRAM (no software prefetch) and
       against its in-cache speed (what a single stream with software prefetch reaches). */
    for (i = 0; i < nk; i++) {
        double ref[2];
        const char *what[2] = {"openssl 1 stream from DRAM", "openssl 1 stream in cache (= with prefetch)"};
        int j;
        ref[0] = ssl_mem; ref[1] = ssl_cache;
        for (j = 0; j < 2; j++) {
            int busy, thr = 0;
            for (busy = 1; busy <= ks[i]->lanes; busy++)
                if (mem[i] * busy / ks[i]->lanes > ref[j]) { thr = busy; break; }
            if (thr)
                printf("  break-even %-11s vs %-44s: >= %2d of %d lanes busy (%.1f exactly)\n", ks[i]->name, what[j],
                       thr, ks[i]->lanes, ref[j] / mem[i] * ks[i]->lanes);
            else
                printf("  break-even %-11s vs %-44s: never\n", ks[i]->name, what[j]);
        }
    }
    /* per-call overhead: in-cache speed with few blocks per call (small files, lane refills) */
    for (i = 0; i < nk; i++) {
        static const size_t chunks[] = {1, 2, 4, 16, 64, 256};
        size_t c;
        printf("  %-11s in cache, blocks per call:", ks[i]->name);
        for (c = 0; c < sizeof chunks / sizeof *chunks; c++) {
            for (r = 0; r < reps; r++)
                v[r] = bench_kernel(ks[i], data, small * (size_t)ks[i]->lanes, chunks[c],
                                    (int)(total / 4 / (small * (size_t)ks[i]->lanes)));
            printf("  %zu: %.0f", chunks[c], median(v, reps));
        }
        printf(" MB/s\n");
    }
    free(v);
    free(data);
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    const cv4_mb_kernel *all[4] = {&cv4_mb_avx2_x8, &cv4_mb_avx512_x16, &cv4_mb_avx512vl_x8, &cv4_mb_shani_x2};
    const char *feat[4] = {"avx2", "avx512", "avx512", "sha"};
    const cv4_mb_kernel *run[4];
    int nrun = 0, i, quick = 0, dobench = 1, dotest = 1, reps = 7, fails = 0;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--no-bench")) dobench = 0;
        else if (!strcmp(argv[i], "--bench-only")) dotest = 0;
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else { fprintf(stderr, "usage: %s [--quick] [--no-bench] [--bench-only] [--reps N]\n", argv[0]); return 2; }
    }
    if (reps < 1) reps = 1;
    printf("cpu: avx2=%d avx512(f,bw,vl)=%d sha-ni=%d\n", cpu_has("avx2"), cpu_has("avx512"), cpu_has("sha"));
    for (i = 0; i < 4; i++) {
        if (!all[i]->compress) { printf("%-11s not compiled for this target\n", all[i]->name); continue; }
        if (!cpu_has(feat[i])) { printf("%-11s skipped: CPU lacks %s\n", all[i]->name, feat[i]); continue; }
        run[nrun++] = all[i];
    }
    /* the reference itself against OpenSSL on one block */
    {
        uint8_t blk[64] = {'a', 'b', 'c', 0x80}, want[32];
        uint32_t s[8];
        int j;
        blk[63] = 24;
        memcpy(s, IV, 32);
        ref_compress(s, blk, 1);
        SHA256((const unsigned char *)"abc", 3, want);
        for (j = 0; j < 8; j++)
            if (s[j] != ((uint32_t)want[4 * j] << 24 | (uint32_t)want[4 * j + 1] << 16 | (uint32_t)want[4 * j + 2] << 8 | want[4 * j + 3])) {
                fprintf(stderr, "reference compress is wrong\n");
                return 1;
            }
    }
    if (dotest) {
        for (i = 0; i < nrun; i++) {
            int f1 = test_blocks(run[i], quick ? 2000 : 20000);
            int f2 = test_messages(run[i], quick);
            printf("%-11s blocks: %s   messages: %s\n", run[i]->name, f1 ? "FAIL" : "ok", f2 ? "FAIL" : "ok");
            fails += f1 + f2;
        }
    }
    if (dobench && nrun && !fails) bench(run, nrun, reps);
    if (fails) { printf("FAILED (%d mismatches)\n", fails); return 1; }
    printf("%s\n", nrun ? "PASS" : "PASS (no kernel runnable here)");
    return 0;
}
