/* One file of a batch: what the caller asks (path, checks) and what the
 * workers answer (size, digest or error). Its own header because both the
 * batch (cv4_batch.h) and the lane scheduler (cv4_lanes.h) hand items around. */
#ifndef CV4_ITEM_H
#define CV4_ITEM_H

#include <stdint.h>

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

#endif
