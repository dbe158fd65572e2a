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
