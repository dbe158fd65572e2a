/* One big file through the engine's windowed sources (src/cinev4/csrc/io/cv4_io.c), the
 * mapped windows faulted in by the calling thread or by the prefault helper
 * (cv4_prefault.c), beside the same bytes hashed in memory. Reports wall MB/s and the
 * hashing thread's own MB per CPU-second (RUSAGE_THREAD), which the other load on a
 * shared machine disturbs far less than wall time. Not part of the package.
 *   bench_prefault FILE [ROUNDS] */
#define _GNU_SOURCE 1
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cv4_io.h"
#include "cv4_prefault.h"
#include "cv4_sha256.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double thread_cpu(void)
{
    struct rusage r;
    getrusage(RUSAGE_THREAD, &r);
    return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) + (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1e-6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define MAXR 64
static const char *names[] = {"in memory (hash_bytes)", "mmap, faults on the hashing thread", "mmap + prefault helper",
                              "read (pread into one buffer)"};

int main(int argc, char **argv)
{
    const cv4_kernel k = cv4_kernel_shani;
    int rounds = argc > 2 ? atoi(argv[2]) : 5, r, m;
    double wall[4][MAXR], cpu[4][MAXR];
    uint8_t *all, *buffer, first[32] = {0};
    size_t size;
    cv4_source src;
    cv4_io_config cfg;
    if (argc < 2 || rounds < 1 || rounds > MAXR) {
        fprintf(stderr, "usage: %s FILE [ROUNDS <= 64]\n", argv[0]);
        return 2;
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.window = 8u << 20;
    buffer = malloc(cfg.window);
    if (cv4_source_open(&src, argv[1], &cfg, buffer)) { perror(argv[1]); return 2; }
    size = (size_t)src.size;
    cv4_source_close(&src, 0);
    all = malloc(size);
    { int fd = open(argv[1], O_RDONLY); size_t got = 0; while (got < size) { ssize_t n = pread(fd, all + got, size - got, (off_t)got); if (n <= 0) return 2; got += (size_t)n; } close(fd); }
    for (r = 0; r < rounds; r++)
        for (m = 0; m < 4; m++) { /* interleaved: noise from the shared host hits all alike */
            cv4_sha256_ctx ctx;
            uint8_t d[32];
            double t0 = now(), c0 = thread_cpu();
            cv4_sha256_init(&ctx, &k);
            if (m == 0) {
                cv4_sha256_update(&ctx, all, size);
            } else {
                const uint8_t *data;
                size_t len;
                cfg.mode = m == 3 ? CV4_IO_READ : CV4_IO_MMAP;
                cfg.prefault = m == 2 ? cv4_prefaulter_start() : NULL;
                if (m == 2 && !cfg.prefault) { printf("no MADV_POPULATE_READ here\n"); return 1; }
                if (cv4_source_open(&src, argv[1], &cfg, buffer)) return 2;
                while (cv4_source_next(&src, &data, &len) == 0 && len)
                    cv4_sha256_update(&ctx, data, len);
                cv4_source_close(&src, 0);
            }
            cv4_sha256_final(&ctx, d);
            wall[m][r] = (double)size / (now() - t0) / 1e6;
            cpu[m][r] = (double)size / (thread_cpu() - c0) / 1e6;
            if (m == 2) cv4_prefaulter_stop(cfg.prefault);
            if (r == 0 && m == 0) memcpy(first, d, 32);
            else if (memcmp(first, d, 32) != 0) { printf("FAIL: digests differ\n"); return 1; }
        }
    printf("%zu MiB file, page cache warm, 8 MiB windows, sha-ni, %d interleaved rounds; medians [min-max]\n", size >> 20, rounds);
    for (m = 0; m < 4; m++) {
        qsort(wall[m], (size_t)rounds, sizeof(double), cmp);
        qsort(cpu[m], (size_t)rounds, sizeof(double), cmp);
        printf("  %-36s wall %6.0f MB/s [%5.0f-%5.0f]   hashing thread %6.0f MB/cpu-s [%5.0f-%5.0f]\n", names[m],
               wall[m][rounds / 2], wall[m][0], wall[m][rounds - 1], cpu[m][rounds / 2], cpu[m][0], cpu[m][rounds - 1]);
    }
    return 0;
}
