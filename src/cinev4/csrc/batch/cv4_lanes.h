/* The lane scheduler: one worker thread keeps up to 8 or 16 files in flight
 * in the lanes of a multi-buffer kernel, refilling a lane as its file ends. */
#ifndef CV4_LANES_H
#define CV4_LANES_H

#include <stdint.h>

#include "cv4_io.h"
#include "cv4_item.h"

/* The batch's own configuration (cv4_batch.h), read, never copied: its lanes
 * (the multi-buffer kernel), kernel (message tails, and files left when few
 * lanes are busy) and min_busy_lanes. */
struct cv4_batch_config;

/* Mapping, a lane takes this much of its file at a time (or the whole window
 * where that is smaller), rather than its share of the thread's window: 16 lanes on
 * the default 8 MiB got 512 KiB each, and each such window's map, faults and
 * unmap (a TLB shootdown on every core running the process) cost 100 frames
 * of 8 MiB 10% of their time against 2 MiB lanes (2 threads, avx512-x16). 2 MiB
 * is also a large page, so the page cache's large folios map whole. A thread
 * then maps up to lanes x 2 MiB of page cache (32 MiB with 16 lanes); each
 * file still at most its window. Reading keeps the shared budget. */
#define CV4_LANE_MIN_MAPPED_WINDOW ((size_t)2 << 20)

/* The least a mapped lane takes of its file at a time, for a thread window. */
#define CV4_LANE_MAPPED_FLOOR(window) ((window) < CV4_LANE_MIN_MAPPED_WINDOW ? (window) : CV4_LANE_MIN_MAPPED_WINDOW)

/* Hands out the next file of the batch, or NULL when none is left. */
typedef cv4_item *(*cv4_next_item_fn)(void *ctx);

typedef struct {
    volatile uint64_t *bytes_done;
    volatile uint64_t *files_done;
    volatile uint64_t *cancel;
} cv4_counters;

/* cfg->lanes must be set. io is the calling worker's own copy of cfg->io
 * (it carries that worker's prefault helper).
 * Returns 0 when the queue is empty and every lane has finished (on cancel,
 * after marking what was in flight as cancelled); -1 when it could not start
 * (no memory), having taken no work. */
int cv4_lanes_run(const struct cv4_batch_config *cfg, const cv4_io_config *io, cv4_next_item_fn next_item,
                  void *next_ctx, const cv4_counters *counters);

#endif
