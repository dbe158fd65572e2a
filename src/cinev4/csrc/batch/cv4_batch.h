/* Hashing a batch of files on native threads, the GIL never held by workers.
 *
 * The caller (Cython, GIL released) starts the batch, then waits on it in
 * short slices, reading the progress counters and checking for signals in
 * between; cancel() makes workers stop at the next window. */
#ifndef CV4_BATCH_H
#define CV4_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "cv4_io.h"
#include "cv4_item.h"
#include "cv4_mb.h"
#include "cv4_sha256.h"

typedef struct cv4_batch cv4_batch;

/* Named (not only typedef'd) so that cv4_lanes.h can take a pointer to it
 * without including this header. */
typedef struct cv4_batch_config {
    const cv4_kernel *kernel;     /* single-stream kernel: message tails too */
    const cv4_mb_kernel *lanes;   /* multi-buffer kernel, or NULL for one file per thread */
    int lanes_auto;               /* 1: the lanes are the calibration's choice, not asked for: a batch
                                     that starts on cold multi-window files hashes one file per thread */
    int min_busy_lanes;           /* below this, with no work queued, the lanes finish single-stream */
    cv4_io_config io;
    int threads;
    int keep_order;               /* 1: files taken in input order (output streamed in order); 0: largest first */
    int ahead_files;              /* files whose first window is asked from the disk before they are taken */
    int prefault;                 /* 1: a helper faults in each worker's next window (CINEV4_PREFAULT) */
} cv4_batch_config;

cv4_batch *cv4_batch_new(cv4_item *items, size_t count, const cv4_batch_config *cfg);
/* Orders the work (largest files first) and starts the threads; 0 or errno. */
int cv4_batch_start(cv4_batch *b);
/* Waits up to timeout_ms; returns 1 once every worker has finished. */
int cv4_batch_wait(cv4_batch *b, unsigned timeout_ms);
void cv4_batch_cancel(cv4_batch *b);
void cv4_batch_progress(cv4_batch *b, uint64_t *bytes_done, uint64_t *files_done);
/* How the batch ran, once wait returned 1: CV4_PLAN_LANES, CV4_PLAN_SINGLE, or
 * CV4_PLAN_SINGLE_COLD (calibrated lanes set aside: the batch started on cold data). */
enum { CV4_PLAN_LANES = 1, CV4_PLAN_SINGLE = 2, CV4_PLAN_SINGLE_COLD = 3 };
int cv4_batch_plan(cv4_batch *b);
/* Joins the threads (after wait returned 1, or after cancel) and frees. */
void cv4_batch_free(cv4_batch *b);

/* After a successful open: 0 to hash the file, else the item's result code
 * (the source is then closed). */
int cv4_item_admit(cv4_item *item, cv4_source *src);

/* Hash one file on the calling thread (used by the batch workers). */
int cv4_hash_path(const char *path, const cv4_kernel *kernel, const cv4_io_config *io, uint8_t *buffer,
                  volatile uint64_t *bytes_done, volatile uint64_t *cancel, cv4_item *out);

#endif
