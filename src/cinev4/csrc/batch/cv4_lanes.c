/* Lane scheduler for the multi-buffer kernels.
 *
 * Each lane holds one open file and its current window. Every step compresses
 * the same number of whole blocks in all busy lanes; a lane whose file ends is
 * finished (padding via the single-stream kernel: one or two blocks) and
 * refilled from the batch queue. When the queue is empty and too few lanes are
 * busy for the lanes to beat one stream, the rest go single-stream.
 *
 * A SIGBUS during a step (a file truncated while mapped) is traced to its lane
 * by the fault address; the other lanes' states are restored from the copy
 * taken before the step, so one bad file never spoils its neighbours. */
#include <stdlib.h>
#include <string.h>

#include "cv4_batch.h"
#include "cv4_lanes.h"
#include "cv4_platform.h"

#define MAX_LANES 16
/* 16 KiB per lane per call: the per-call cost is about 1% there. */
#define MAX_CALL_BLOCKS 256

typedef struct {
    cv4_item *item; /* NULL: the lane is idle */
    cv4_source source;
    uint64_t consumed; /* bytes already compressed into the lane's state */
    const uint8_t *data;
    size_t len, pos;   /* the current window and how far into it */
    uint8_t *buffer;   /* read-mode buffer of this lane */
} lane_t;

/* Lives on the heap: everything here stays well defined across siglongjmp. */
typedef struct {
    lane_t lane[MAX_LANES];
    uint32_t state[MAX_LANES][8];
    uint32_t saved[MAX_LANES][8];
    const uint8_t *ptrs[MAX_LANES];
    int lanes;
    int settling;      /* lane touched outside a kernel step, -1 during a step */
    int queue_empty;
    cv4_io_config io;
    size_t last_window; /* the last stream's window: the file window, within all the lanes' buffers */
    cv4_sha256_ctx drain;
    const cv4_batch_config *cfg;
    cv4_next_item_fn next_item;
    void *next_ctx;
    const cv4_counters *counters;
    uint8_t *buffers;
#ifdef CV4_HAVE_MMAP
    sigjmp_buf jump;
#endif
} lane_set;

static const uint8_t idle_blocks[MAX_CALL_BLOCKS * CV4_SHA256_BLOCK];

static void item_done(lane_set *ls, cv4_item *item, int err)
{
    item->error = err;
    cv4_item_finish(item);
    cv4_atomic_add(ls->counters->files_done, 1);
}

static void lane_end(lane_set *ls, int l, int err)
{
    lane_t *ln = &ls->lane[l];
    int close_err = cv4_source_close(&ln->source, err == 0);
    if (ln->source.unsized)
        ln->item->size = ln->source.offset; /* the bytes read: its size said 0 */
    item_done(ls, ln->item, err ? err : close_err);
    ln->item = NULL;
}

static int cancelled(lane_set *ls) { return cv4_atomic_load(ls->counters->cancel) != 0; }

static void lane_fill(lane_set *ls, int l)
{
    lane_t *ln = &ls->lane[l];
    while (!ls->queue_empty) {
        cv4_item *item = ls->next_item(ls->next_ctx);
        int err;
        if (!item) {
            ls->queue_empty = 1;
            return;
        }
        if (cancelled(ls)) {
            item_done(ls, item, CV4_ERR_CANCELLED);
            continue;
        }
        err = cv4_source_open(&ln->source, item->path, &ls->io, ln->buffer);
        item->size = ln->source.size;
        item->kind = ln->source.kind;
        if (!err)
            err = cv4_item_admit(item, &ln->source);
        if (err) {
            item_done(ls, item, err);
            continue;
        }
        ln->item = item;
        ln->consumed = 0;
        ln->data = NULL;
        ln->len = ln->pos = 0;
        memcpy(ls->state[l], cv4_sha256_h0, sizeof ls->state[l]);
        return;
    }
}

/* Makes sure the lane has a whole block to give; returns 0 when its file ended
 * (finished, or failed) instead. Windows are whole blocks, so only the last
 * one of a file can leave a partial block. */
static int lane_settle(lane_set *ls, int l)
{
    lane_t *ln = &ls->lane[l];
    while (ln->len - ln->pos < CV4_SHA256_BLOCK) {
        int err;
        if (cv4_source_at_end(&ln->source)) {
            size_t rest = ln->len - ln->pos;
            cv4_sha256_finish_tail(ls->state[l], ln->data + ln->pos, ln->consumed + rest,
                                   ls->cfg->kernel->compress, ln->item->digest);
            lane_end(ls, l, 0);
            return 0;
        }
        err = cv4_source_next(&ln->source, &ln->data, &ln->len);
        ln->pos = 0;
        if (!err && ln->len == 0 && cv4_source_at_end(&ln->source))
            continue; /* an unsized file ended on a whole window: finished above */
        if (err || ln->len == 0) {
            lane_end(ls, l, err ? err : CV4_ERR_TRUNCATED);
            return 0;
        }
    }
    return 1;
}

static int only_busy_lane(const lane_set *ls, int l)
{
    int other;
    for (other = 0; other < ls->lanes; other++)
        if (other != l && ls->lane[other].item)
            return 0;
    return 1;
}

/* Finishes the lane's file with the single-stream kernel, from where it is. */
static void lane_drain(lane_set *ls, int l)
{
    lane_t *ln = &ls->lane[l];
    int widen = only_busy_lane(ls, l);
    cv4_sha256_resume(&ls->drain, ls->cfg->kernel, ls->state[l], ln->consumed);
    for (;;) {
        size_t avail = ln->len - ln->pos;
        int err;
        if (avail) {
            cv4_sha256_update(&ls->drain, ln->data + ln->pos, avail);
            ln->pos = ln->len;
            cv4_atomic_add(ls->counters->bytes_done, avail);
        }
        if (cancelled(ls)) {
            lane_end(ls, l, CV4_ERR_CANCELLED);
            return;
        }
        if (cv4_source_at_end(&ln->source))
            break;
        if (widen) {
            /* The last stream (one big file, or the batch's last file): the
             * other lanes are idle, so it goes on with the file window, in
             * all the lanes' buffers when reading. A lane's window costs a
             * map, its faults and an unmap every 512 KiB or 2 MiB: on one
             * page-cached 512 MiB file, 3-4% of its time. */
            cv4_source_widen(&ln->source, ls->last_window, ls->buffers);
            widen = 0;
        }
        err = cv4_source_next(&ln->source, &ln->data, &ln->len);
        ln->pos = 0;
        if (!err && ln->len == 0 && cv4_source_at_end(&ln->source))
            break; /* an unsized file ended on a whole window */
        if (err || ln->len == 0) {
            lane_end(ls, l, err ? err : CV4_ERR_TRUNCATED);
            return;
        }
    }
    cv4_sha256_final(&ls->drain, ln->item->digest);
    lane_end(ls, l, 0);
}

#ifdef CV4_HAVE_MMAP
static int lane_of_address(lane_set *ls, const void *address)
{
    const uint8_t *p = (const uint8_t *)address;
    int l;
    for (l = 0; l < ls->lanes; l++) {
        const uint8_t *base = ls->lane[l].source.mapped;
        if (ls->lane[l].item && base && p >= base && p < base + ls->lane[l].source.mapped_len)
            return l;
    }
    return -1;
}

static void recover_from_fault(lane_set *ls)
{
    int culprit = ls->settling >= 0 ? ls->settling : lane_of_address(ls, cv4_fault_address());
    int l;
    if (ls->settling < 0) /* the step was cut short: undo it for every lane */
        memcpy(ls->state, ls->saved, sizeof ls->state);
    ls->settling = -1;
    if (culprit >= 0) {
        cv4_source_drop_window(&ls->lane[culprit].source);
        lane_end(ls, culprit, CV4_ERR_TRUNCATED);
        return;
    }
    /* Not traceable to one lane: fail every file in flight rather than guess. */
    for (l = 0; l < ls->lanes; l++)
        if (ls->lane[l].item) {
            cv4_source_drop_window(&ls->lane[l].source);
            lane_end(ls, l, CV4_ERR_TRUNCATED);
        }
}
#endif

/* Fills and settles every lane; returns how many are busy. */
static int prepare_lanes(lane_set *ls)
{
    int l, busy = 0;
    for (l = 0; l < ls->lanes; l++) {
        for (;;) {
            if (!ls->lane[l].item) {
                lane_fill(ls, l);
                if (!ls->lane[l].item)
                    break;
            }
            ls->settling = l;
            if (lane_settle(ls, l)) {
                busy++;
                break;
            }
        }
    }
    ls->settling = -1;
    return busy;
}

static void step(lane_set *ls, int busy)
{
    size_t n = MAX_CALL_BLOCKS;
    int l;
    for (l = 0; l < ls->lanes; l++) {
        lane_t *ln = &ls->lane[l];
        if (ln->item) {
            size_t blocks = (ln->len - ln->pos) / CV4_SHA256_BLOCK;
            if (blocks < n)
                n = blocks;
        }
    }
    for (l = 0; l < ls->lanes; l++)
        ls->ptrs[l] = ls->lane[l].item ? ls->lane[l].data + ls->lane[l].pos : idle_blocks;
    memcpy(ls->saved, ls->state, sizeof ls->state);
    ls->cfg->lanes->compress(ls->state, ls->ptrs, n);
    for (l = 0; l < ls->lanes; l++) {
        lane_t *ln = &ls->lane[l];
        if (ln->item) {
            ln->pos += n * CV4_SHA256_BLOCK;
            ln->consumed += n * CV4_SHA256_BLOCK;
        }
    }
    cv4_atomic_add(ls->counters->bytes_done, (uint64_t)n * CV4_SHA256_BLOCK * (uint64_t)busy);
}

static void cancel_all(lane_set *ls)
{
    cv4_item *item;
    int l;
    for (l = 0; l < ls->lanes; l++)
        if (ls->lane[l].item)
            lane_end(ls, l, CV4_ERR_CANCELLED);
    while (!ls->queue_empty && (item = ls->next_item(ls->next_ctx)) != NULL)
        item_done(ls, item, CV4_ERR_CANCELLED);
    ls->queue_empty = 1;
}

static void run(lane_set *ls)
{
    for (;;) {
        int busy, l;
#ifdef CV4_HAVE_MMAP
        if (sigsetjmp(ls->jump, 0))
            recover_from_fault(ls);
        cv4_fault_guard_arm(&ls->jump);
#endif
        if (cancelled(ls)) {
            cancel_all(ls);
            break;
        }
        busy = prepare_lanes(ls);
        if (!busy)
            break;
        if (ls->queue_empty && busy < ls->cfg->min_busy_lanes) {
            for (l = 0; l < ls->lanes; l++) {
                if (ls->lane[l].item) {
                    ls->settling = l;
                    lane_drain(ls, l);
                }
            }
            ls->settling = -1;
            continue; /* every lane is idle now: the next round ends the loop */
        }
        step(ls, busy);
    }
#ifdef CV4_HAVE_MMAP
    cv4_fault_guard_disarm();
#endif
}

int cv4_lanes_run(const cv4_batch_config *cfg, const cv4_io_config *io, cv4_next_item_fn next_item,
                  void *next_ctx, const cv4_counters *counters)
{
    lane_set *ls = (lane_set *)calloc(1, sizeof *ls);
    size_t lane_window;
    int l;
    if (!ls)
        return -1;
    ls->lanes = cfg->lanes->lanes > MAX_LANES ? MAX_LANES : cfg->lanes->lanes;
    /* The lanes share the thread's window budget, so memory stays bounded. */
    lane_window = io->window / (size_t)ls->lanes / CV4_WINDOW_UNIT * CV4_WINDOW_UNIT;
    ls->io = *io;
    ls->io.window = lane_window < CV4_WINDOW_UNIT ? CV4_WINDOW_UNIT : lane_window;
    if (io->mode == CV4_IO_MMAP && ls->io.window < CV4_LANE_MAPPED_FLOOR(io->window))
        ls->io.window = CV4_LANE_MAPPED_FLOOR(io->window);
    ls->last_window = ls->io.window * (size_t)ls->lanes < io->window ? ls->io.window * (size_t)ls->lanes : io->window;
    ls->buffers = (uint8_t *)malloc(ls->io.window * (size_t)ls->lanes);
    if (!ls->buffers) {
        free(ls);
        return -1;
    }
    for (l = 0; l < ls->lanes; l++)
        ls->lane[l].buffer = ls->buffers + ls->io.window * (size_t)l;
    ls->settling = -1;
    ls->cfg = cfg;
    ls->next_item = next_item;
    ls->next_ctx = next_ctx;
    ls->counters = counters;
    run(ls);
    free(ls->buffers);
    free(ls);
    return 0;
}
