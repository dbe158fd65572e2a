/* Native worker threads over a shared queue of files, largest first, so one
 * huge file starts early instead of leaving threads idle at the end. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cv4_anchor.h"
#include "cv4_batch.h"
#include "cv4_lanes.h"
#include "cv4_platform.h"
#include "cv4_prefault.h"

typedef struct sized_index {
    uint64_t size;
    size_t index;
} sized_index;

struct cv4_batch {
    cv4_item *items;
    size_t count;
    size_t *order;
    cv4_batch_config cfg;
    volatile uint64_t next;
    volatile uint64_t bytes_done;
    volatile uint64_t files_done;
    volatile uint64_t cancel;
    cv4_thread *threads;
    int started;
    int running;
    cv4_mutex lock;
    cv4_cond finished;
    /* Ordering, done by the workers together before any hashing. */
    struct sized_index *by_size;
    volatile uint64_t stat_next;
    volatile uint64_t stat_done;
    int ordered;
    cv4_cond order_ready;
    int cold_start; /* set with ordered: calibrated lanes set aside for this batch */
    uint64_t largest; /* set with ordered: the largest size seen (the prefault helper's test) */
};

/* What one file needs across a fault recovery: it lives outside the frame
 * that calls sigsetjmp, so its contents stay well defined after siglongjmp. */
typedef struct {
    cv4_source source;
    cv4_sha256_ctx sha;
} cv4_file_state;

static int hash_open_source(cv4_file_state *st, volatile uint64_t *bytes_done, volatile uint64_t *cancel)
{
    for (;;) {
        const uint8_t *data;
        size_t len;
        int err;
        if (cancel && cv4_atomic_load(cancel))
            return CV4_ERR_CANCELLED;
        err = cv4_source_next(&st->source, &data, &len);
        if (err || len == 0)
            return err;
        cv4_sha256_update(&st->sha, data, len);
        cv4_atomic_add(bytes_done, len);
    }
}

int cv4_item_admit(cv4_item *item, cv4_source *src)
{
    int code = 0;
    if ((item->check & CV4_CHECK_SIZE) && src->size != item->expected_size)
        code = CV4_ERR_SIZE;
    else if (item->check & CV4_CHECK_OPEN_ONLY)
        code = CV4_ERR_UNHASHED;
    /* Told before a refusal too: the close then drops what was read ahead for nothing. */
    cv4_source_assume_cold(src, cv4_atomic_load((volatile uint64_t *)&item->cold_head));
    if (code)
        cv4_source_close(src, 0);
    return code;
}

int cv4_hash_path(const char *path, const cv4_kernel *kernel, const cv4_io_config *io, uint8_t *buffer,
                  volatile uint64_t *bytes_done, volatile uint64_t *cancel, cv4_item *out)
{
    cv4_file_state *st = (cv4_file_state *)malloc(sizeof *st);
    int err;
#ifdef CV4_HAVE_MMAP
    sigjmp_buf jump;
#endif
    out->size = 0;
    out->kind = 0;
    if (!st)
        return out->error = CV4_ERR_NOMEM;
    err = cv4_source_open(&st->source, path, io, buffer);
    if (err) {
        out->kind = st->source.kind;
        free(st);
        return out->error = err;
    }
    out->size = st->source.size;
    if ((err = cv4_item_admit(out, &st->source)) != 0) {
        free(st);
        return out->error = err;
    }
    cv4_sha256_init(&st->sha, kernel);
#ifdef CV4_HAVE_MMAP
    if (sigsetjmp(jump, 0)) {
        /* A mapped page vanished under us: the file was truncated. */
        cv4_source_close(&st->source, 0);
        free(st);
        return out->error = CV4_ERR_TRUNCATED;
    }
    cv4_fault_guard_arm(&jump);
#endif
    err = hash_open_source(st, bytes_done, cancel);
#ifdef CV4_HAVE_MMAP
    cv4_fault_guard_disarm();
#endif
    if (st->source.unsized)
        out->size = st->source.offset; /* the bytes read: its size said 0 */
    {
        int close_err = cv4_source_close(&st->source, err == 0);
        if (!err)
            err = close_err;
    }
    if (!err)
        cv4_sha256_final(&st->sha, out->digest);
    free(st);
    return out->error = err;
}

static int larger_first(const void *pa, const void *pb)
{
    const sized_index *a = (const sized_index *)pa, *b = (const sized_index *)pb;
    if (a->size != b->size)
        return a->size < b->size ? 1 : -1;
    return a->index < b->index ? -1 : (a->index > b->index);
}

/* Largest first: a lone huge file starts at once and the small ones fill
 * the other threads' gaps. The sizes are hints (the workers fstat again); the
 * stat calls are shared by all workers, since on 20,000 small files they cost
 * as much as a fifth of the hashing. The worker that stats the last chunk sorts. */
#define STAT_CHUNK 64

/* Lanes read one window of many files in turn. Warm, that costs nothing; cold,
 * it turns each worker's reads into many short streams, and the storage gives
 * less than it gives one sequential stream per thread (measured 0.74x of `cat`
 * on 2 processes against 0.86x, 100 x 8 MiB on a virtual disk). So calibrated
 * lanes are set aside when the first files to be hashed, each of 1 MiB or
 * more, have none of their first window in the page cache. A lane
 * kernel asked for by name is always used. */
#define COLD_PROBES 4
#define COLD_LOOK 64 /* files looked at for them: a batch of small files pays no more */
#define COLD_MIN_SIZE ((uint64_t)1 << 20) /* small files are read in one request either way */

static int starts_cold(const cv4_batch *b)
{
    size_t i, probed = 0;
    if (!b->cfg.lanes || !b->cfg.lanes_auto)
        return 0;
    for (i = 0; i < b->count && i < COLD_LOOK && probed < COLD_PROBES; i++) {
        const cv4_item *item = &b->items[b->order[i]];
        if (b->by_size[i].size < COLD_MIN_SIZE || item->error == CV4_ERR_NOTREG ||
            (item->check & CV4_CHECK_OPEN_ONLY))
            continue;
        if (cv4_head_resident(&b->cfg.io, item->path, b->cfg.io.window) != 0)
            return 0; /* warm, or not known: the calibration's choice stands */
        probed++;
    }
    return probed > 0;
}

static void order_work(cv4_batch *b)
{
    for (;;) {
        uint64_t first = cv4_atomic_add(&b->stat_next, STAT_CHUNK);
        uint64_t end = first + STAT_CHUNK < b->count ? first + STAT_CHUNK : b->count;
        uint64_t i;
        if (first >= b->count)
            break;
        for (i = first; i < end; i++) {
            struct stat st;
            int found;
            if (b->cfg.io.anchor) {
                /* Anchored paths are relative to a folder handle, not to the
                 * working folder: the caller's sizes order them (the anchored
                 * open refuses a FIFO from its own fstatat, never opening it). */
                b->by_size[i].index = (size_t)i;
                b->by_size[i].size = b->items[i].expected_size;
                continue;
            }
            found = stat(b->items[i].path, &st) == 0;
            b->by_size[i].index = (size_t)i;
            b->by_size[i].size = found ? (uint64_t)st.st_size : 0;
#if defined(S_ISFIFO) && defined(S_ISSOCK)
            /* Opening a FIFO, even to refuse it, lets a waiting writer in and
             * loses what it writes when the open is closed: refuse it (and a
             * socket) from its stat, never opened (next_item skips it). */
            if (found && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
                b->items[i].error = CV4_ERR_NOTREG;
                b->items[i].kind = S_ISFIFO(st.st_mode) ? 'p' : 's';
            }
#endif
        }
        if (cv4_atomic_add(&b->stat_done, end - first) + (end - first) == b->count) {
            if (!b->cfg.keep_order)
                qsort(b->by_size, b->count, sizeof *b->by_size, larger_first);
            for (i = 0; i < b->count; i++) {
                b->order[i] = b->by_size[i].index;
                if (b->by_size[i].size > b->largest)
                    b->largest = b->by_size[i].size;
            }
            b->cold_start = starts_cold(b); /* before ordered: every worker reads it after */
            cv4_mutex_lock(&b->lock);
            b->ordered = 1;
            cv4_cond_broadcast(&b->order_ready);
            cv4_mutex_unlock(&b->lock);
        }
    }
    cv4_mutex_lock(&b->lock);
    while (!b->ordered)
        cv4_cond_timedwait_ms(&b->order_ready, &b->lock, 100);
    cv4_mutex_unlock(&b->lock);
}

/* Reads in flight across files: whoever takes file i asks the disk for the
 * first window of file i + ahead_files (the first taker for all of 1..ahead_files),
 * so a file's first window is on its way before a thread opens it. Files
 * smaller than a mapped window are left alone: one more open costs them more
 * than it saves on a warm page cache. */
static void read_ahead_files(cv4_batch *b, uint64_t taken)
{
    uint64_t j = taken == 0 ? 1 : taken + (uint64_t)b->cfg.ahead_files;
    uint64_t end = taken + (uint64_t)b->cfg.ahead_files;
    if (b->cfg.ahead_files <= 0)
        return;
    for (; j <= end && j < b->count; j++) {
        cv4_item *ahead = &b->items[b->order[j]];
        /* Open-only checks (verify --sizes-only) never read a byte. */
        if (ahead->error == CV4_ERR_NOTREG || (ahead->check & CV4_CHECK_OPEN_ONLY) ||
            b->by_size[j].size < CV4_MMAP_MIN_SIZE)
            continue;
        cv4_prefetch_head(&b->cfg.io, ahead->path,
                          (ahead->check & CV4_CHECK_SIZE) ? ahead->expected_size : UINT64_MAX, &ahead->cold_head);
    }
}

static cv4_item *next_item(void *arg)
{
    cv4_batch *b = (cv4_batch *)arg;
    for (;;) {
        uint64_t i = cv4_atomic_add(&b->next, 1);
        cv4_item *item;
        if (i >= b->count)
            return NULL;
        item = &b->items[b->order[i]];
        read_ahead_files(b, i);
        if (item->error != CV4_ERR_NOTREG)
            return item;
        /* Refused by order_work from its stat alone: done without an open. */
        cv4_item_finish(item);
        cv4_atomic_add(&b->files_done, 1);
    }
}

static int run_lanes(cv4_batch *b, const cv4_io_config *io)
{
    cv4_counters counters;
    counters.bytes_done = &b->bytes_done;
    counters.files_done = &b->files_done;
    counters.cancel = &b->cancel;
    return cv4_lanes_run(&b->cfg, io, next_item, b, &counters);
}

/* One file at a time on this thread, with the single-stream kernel. */
static void run_single(cv4_batch *b, const cv4_io_config *io)
{
    uint8_t *buffer = (uint8_t *)malloc(io->window);
    cv4_item *item;
    while ((item = next_item(b)) != NULL) {
        if (!buffer)
            item->error = CV4_ERR_NOMEM;
        else if (cv4_atomic_load(&b->cancel))
            item->error = CV4_ERR_CANCELLED;
        else
            cv4_hash_path(item->path, b->cfg.kernel, io, buffer, &b->bytes_done, &b->cancel, item);
        cv4_item_finish(item);
        cv4_atomic_add(&b->files_done, 1);
    }
    free(buffer);
}

static CV4_THREAD_FN worker_main(void *arg)
{
    cv4_batch *b = (cv4_batch *)arg;
    cv4_io_config io = b->cfg.io;
    order_work(b);
    /* Where asked for and the batch leaves a core per worker idle (one big file,
     * say), a helper on it faults in the next mapped window while this thread
     * hashes, so this thread only hashes (cv4_prefault.h). Only for a batch with
     * a file of more than one window (a mapped lane's window, the smallest
     * there is): a hook hashing a few small files pays no thread for it. */
    io.prefault = b->cfg.prefault && io.mode == CV4_IO_MMAP && b->cfg.threads * 2 <= cv4_usable_cpus() &&
                          b->largest > CV4_LANE_MAPPED_FLOOR(io.window)
                      ? cv4_prefaulter_start() : NULL;
    /* Without memory for the lanes (-1, no work taken) the single-stream loop takes over. */
    if (!b->cfg.lanes || b->cold_start || run_lanes(b, &io) != 0)
        run_single(b, &io);
    cv4_prefaulter_stop(io.prefault);
    cv4_anchor_thread_release();
    cv4_mutex_lock(&b->lock);
    if (--b->running == 0)
        cv4_cond_broadcast(&b->finished);
    cv4_mutex_unlock(&b->lock);
    CV4_THREAD_RETURN;
}

cv4_batch *cv4_batch_new(cv4_item *items, size_t count, const cv4_batch_config *cfg)
{
    cv4_batch *b = (cv4_batch *)calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->items = items;
    b->count = count;
    b->cfg = *cfg;
    if (b->cfg.threads < 1)
        b->cfg.threads = 1;
    if ((size_t)b->cfg.threads > count)
        b->cfg.threads = count ? (int)count : 1;
    b->order = (size_t *)malloc((count ? count : 1) * sizeof *b->order);
    b->by_size = (sized_index *)malloc((count ? count : 1) * sizeof *b->by_size);
    b->threads = (cv4_thread *)calloc((size_t)b->cfg.threads, sizeof *b->threads);
    if (!b->order || !b->by_size || !b->threads) {
        free(b->by_size);
        free(b->order);
        free(b->threads);
        free(b);
        return NULL;
    }
    cv4_mutex_init(&b->lock);
    cv4_cond_init(&b->finished);
    cv4_cond_init(&b->order_ready);
    if (count == 0)
        b->ordered = 1;
    return b;
}


int cv4_batch_start(cv4_batch *b)
{
    int t;
    cv4_mutex_lock(&b->lock);
    for (t = 0; t < b->cfg.threads; t++) {
        if (cv4_thread_start(&b->threads[t], worker_main, b) != 0)
            break;
        b->started++;
        b->running++;
    }
    cv4_mutex_unlock(&b->lock);
    return b->started ? 0 : EAGAIN;
}

int cv4_batch_wait(cv4_batch *b, unsigned timeout_ms)
{
    int finished;
    cv4_mutex_lock(&b->lock);
    if (b->running > 0)
        cv4_cond_timedwait_ms(&b->finished, &b->lock, timeout_ms);
    finished = b->running == 0;
    cv4_mutex_unlock(&b->lock);
    return finished;
}

void cv4_batch_cancel(cv4_batch *b) { cv4_atomic_store(&b->cancel, 1); }

int cv4_batch_plan(cv4_batch *b)
{
    if (!b->cfg.lanes)
        return CV4_PLAN_SINGLE;
    return b->cold_start ? CV4_PLAN_SINGLE_COLD : CV4_PLAN_LANES;
}

void cv4_batch_progress(cv4_batch *b, uint64_t *bytes_done, uint64_t *files_done)
{
    *bytes_done = cv4_atomic_load(&b->bytes_done);
    *files_done = cv4_atomic_load(&b->files_done);
}

void cv4_batch_free(cv4_batch *b)
{
    int t;
    if (!b)
        return;
    for (t = 0; t < b->started; t++)
        cv4_thread_join(b->threads[t]);
    cv4_cond_destroy(&b->finished);
    cv4_cond_destroy(&b->order_ready);
    cv4_mutex_destroy(&b->lock);
    free(b->threads);
    free(b->by_size);
    free(b->order);
    free(b);
}
