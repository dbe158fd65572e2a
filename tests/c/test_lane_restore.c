/* The lane scheduler's restore after a fault inside a step (issue 19).
 *
 * The shipped multi-buffer kernels keep the lane states in registers and store
 * them once, at the end of a call, so a SIGBUS inside a call leaves every
 * state as it was and the restore in cv4_lanes.c is never needed by them. This
 * harness runs the scheduler with a kernel that stores each lane's state block
 * by block, highest lane first, as a future kernel may: when lane 0's file is
 * truncated under its mapping, lanes 1-3 have already advanced when the fault
 * hits, and only the restore from the copy taken before the step puts them back.
 * Every file but the truncated one must still get its exact SHA-256 (OpenSSL's).
 *
 * Build and run: tests/c/run_lane_restore.sh (prints PASS or FAIL lines). */

#include <fcntl.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cv4_batch.h"
#include "cv4_lanes.h"

#define LANES 4
#define FILE_SIZE (2u << 20) /* several windows per file, all mapped (>= CV4_MMAP_MIN_SIZE) */

/* One block at a time, lanes from the last to the first, each state stored at once. */
static void storing_compress(uint32_t (*state)[8], const uint8_t *const *ptrs, size_t nblocks)
{
    size_t b;
    int l;
    for (b = 0; b < nblocks; b++)
        for (l = LANES - 1; l >= 0; l--)
            cv4_sha256_compress_portable(state[l], ptrs[l] + b * 64, 1);
}

static const cv4_mb_kernel storing_x4 = {"storing-x4", LANES, storing_compress};

typedef struct {
    cv4_item *items;
    int count, next;
    const char *victim;
} queue_t;

static cv4_item *next_item(void *ctx)
{
    queue_t *q = (queue_t *)ctx;
    if (q->next == LANES - 1) /* lane 0 holds the victim, opened and mapped: cut it now */
        if (truncate(q->victim, 0) != 0)
            perror("truncate");
    return q->next < q->count ? &q->items[q->next++] : NULL;
}

int main(void)
{
    char dir[] = "/tmp/cv4_lane_restore.XXXXXX";
    char paths[LANES][64];
    uint8_t *data = malloc(FILE_SIZE);
    uint8_t want[LANES][SHA256_DIGEST_LENGTH];
    cv4_item items[LANES];
    volatile uint64_t bytes = 0, files = 0, cancel = 0;
    cv4_counters counters = {&bytes, &files, &cancel};
    cv4_io_config io = {CV4_IO_MMAP, (size_t)LANES * 64 * 1024, NULL, NULL, 0, 0}; /* no anchor, no prefault helper, cache kept, no read-ahead depth */
    cv4_batch_config cfg;
    queue_t q = {items, LANES, 0, paths[0]};
    int l, failures = 0;
    size_t i;

    if (!data || !mkdtemp(dir))
        return 2;
    memset(items, 0, sizeof items);
    for (l = 0; l < LANES; l++) {
        FILE *f;
        for (i = 0; i < FILE_SIZE; i++)
            data[i] = (uint8_t)(i * 7u + (unsigned)l * 131u + (i >> 12));
        snprintf(paths[l], sizeof paths[l], "%s/f%d", dir, l);
        f = fopen(paths[l], "wb");
        if (!f || fwrite(data, 1, FILE_SIZE, f) != FILE_SIZE || fclose(f) != 0)
            return 2;
        SHA256(data, FILE_SIZE, want[l]);
        items[l].path = paths[l];
    }
    if (cv4_fault_guard_install() != 0)
        return 2;
    memset(&cfg, 0, sizeof cfg);
    cfg.kernel = &cv4_kernel_portable;
    cfg.lanes = &storing_x4;
    cfg.min_busy_lanes = 1;
    cfg.io = io;
    if (cv4_lanes_run(&cfg, &io, next_item, &q, &counters) != 0)
        return 2;
    if (items[0].error != CV4_ERR_TRUNCATED) {
        printf("FAIL the truncated file: error %d (expected %d, truncated)\n", items[0].error, CV4_ERR_TRUNCATED);
        failures++;
    }
    for (l = 1; l < LANES; l++) {
        int ok = items[l].done && items[l].error == 0 && memcmp(items[l].digest, want[l], sizeof want[l]) == 0;
        printf("%s lane %d: error %d, digest %s\n", ok ? "PASS" : "FAIL", l, items[l].error,
               ok ? "matches OpenSSL" : "differs from OpenSSL");
        failures += !ok;
    }
    for (l = 0; l < LANES; l++)
        unlink(paths[l]);
    rmdir(dir);
    free(data);
    return failures ? 1 : 0;
}
