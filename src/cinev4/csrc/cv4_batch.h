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
#include "cv4_mb.h"
#include "cv4_platform.h"
#include "cv4_sha256.h"

typedef struct {
    const char *path;           /* borrowed; file-system encoding */
    uint64_t size;              /* size hashed (size at open) */
    int error;                  /* 0, errno, or CV4_ERR_* */
    char kind;                  /* for CV4_ERR_NOTREG */
    int done;                   /* set last, with release order: see cv4_item_finish */
    uint8_t digest[CV4_SHA256_DIGEST];
    /* Checked batches (a manifest's table): what to check once the file is
     * open, before any byte is read. */
    uint64_t expected_size;     /* also the ordering hint where no stat is made (anchored) */
    int check;                  /* CV4_CHECK_* bits */
    uint64_t cold_head;         /* set by the batch's read-ahead (cv4_prefetch_head); atomic */
} cv4_item;

/* A reader on another thread (results streamed in input order) that sees
 * done == 1 also sees the item's digest, size and error. */
#if defined(_MSC_VER)
static __inline void cv4_item_finish(cv4_item *item) { _WriteBarrier(); *(volatile int *)&item->done = 1; }
static __inline int cv4_item_is_done(const cv4_item *item)
{
    int done = *(volatile const int *)&item->done;
    _ReadBarrier();
    return done;
}
#else
static inline void cv4_item_finish(cv4_item *item) { __atomic_store_n(&item->done, 1, __ATOMIC_RELEASE); }
static inline int cv4_item_is_done(const cv4_item *item) { return __atomic_load_n(&item->done, __ATOMIC_ACQUIRE); }
#endif

enum {
    CV4_CHECK_SIZE = 1,      /* a size other than expected_size: CV4_ERR_SIZE, not hashed */
    CV4_CHECK_OPEN_ONLY = 2, /* open and size only: CV4_ERR_UNHASHED when fine */
};

typedef struct cv4_batch cv4_batch;

typedef struct {
    const cv4_kernel *kernel;     /* single-stream kernel */
    const cv4_mb_kernel *lanes;   /* multi-buffer kernel, or NULL for one file per thread */
    int min_busy_lanes;           /* see cv4_lane_policy */
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
/* Joins the threads (after wait returned 1, or after cancel) and frees. */
void cv4_batch_free(cv4_batch *b);

/* After a successful open: 0 to hash the file, else the item's result code
 * (the source is then closed). */
int cv4_item_admit(cv4_item *item, cv4_source *src);

/* Hash one file on the calling thread (used by the batch workers). */
int cv4_hash_path(const char *path, const cv4_kernel *kernel, const cv4_io_config *io, uint8_t *buffer,
                  volatile uint64_t *bytes_done, volatile uint64_t *cancel, cv4_item *out);

#endif
