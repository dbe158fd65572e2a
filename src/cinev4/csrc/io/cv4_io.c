/* File access for hashing: windowed mmap with read-ahead advice, a pread
 * path, change detection and recovery from SIGBUS on truncated mappings. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cv4_anchor.h"
#include "cv4_io.h"
#include "cv4_prefault.h"

int cv4_source_at_end(const cv4_source *src)
{
    return src->unsized ? src->at_eof : src->offset >= src->size;
}

#if !defined(_WIN32)
#include <signal.h>
#include <sys/mman.h>

#include "cv4_posix.h"

#if defined(__APPLE__)
#define CV4_MTIME_NS(st) ((int64_t)(st).st_mtimespec.tv_sec * 1000000000LL + (st).st_mtimespec.tv_nsec)
#else
#define CV4_MTIME_NS(st) ((int64_t)(st).st_mtim.tv_sec * 1000000000LL + (st).st_mtim.tv_nsec)
#endif

/* ---- SIGBUS recovery ------------------------------------------------------ */

static _Thread_local sigjmp_buf *guard_jump;
static _Thread_local const void *guard_fault_address;
static struct sigaction previous_sigbus;

static void on_sigbus(int sig, siginfo_t *info, void *context)
{
    sigjmp_buf *jump = guard_jump;
    if (jump) {
        guard_jump = NULL;
        guard_fault_address = info ? info->si_addr : NULL;
        siglongjmp(*jump, 1);
    }
    /* Not a fault of ours: behave as whoever handled SIGBUS before us. */
    if (previous_sigbus.sa_flags & SA_SIGINFO) {
        previous_sigbus.sa_sigaction(sig, info, context);
    } else if (previous_sigbus.sa_handler == SIG_DFL || previous_sigbus.sa_handler == SIG_IGN) {
        signal(sig, SIG_DFL); /* the faulting access repeats and takes the default action */
    } else {
        previous_sigbus.sa_handler(sig);
    }
}

/* Called at the start of every batch with the GIL held, so a handler that
 * someone installed after ours (faulthandler.enable(), say) is chained, not lost. */
int cv4_fault_guard_install(void)
{
    struct sigaction current, ours;
    if (sigaction(SIGBUS, NULL, &current) != 0)
        return errno;
    if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == on_sigbus)
        return 0;
    memset(&ours, 0, sizeof ours);
    ours.sa_sigaction = on_sigbus;
    /* SA_NODEFER: SIGBUS stays unblocked after siglongjmp, so the guards can
     * use sigsetjmp(jb, 0) and skip a sigprocmask call per window. */
    ours.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&ours.sa_mask);
    return sigaction(SIGBUS, &ours, &previous_sigbus) == 0 ? 0 : errno;
}

void cv4_fault_guard_arm(sigjmp_buf *jb) { guard_jump = jb; }
void cv4_fault_guard_disarm(void) { guard_jump = NULL; }
const void *cv4_fault_address(void) { return guard_fault_address; }

/* The kernel reads at most max(the device's read-ahead, its largest request)
 * per WILLNEED call (128-256 KiB on many disks): a window is asked for in
 * pieces this small, so all of it is in flight. */
#define CV4_WILLNEED_CHUNK ((uint64_t)256 << 10)

static int64_t cached_pages(int fd, uint64_t off, uint64_t len);

/* Asks for [offset, offset + len) unless all of it is resident already: on a
 * warm page cache a WILLNEED still walks every page of the range, which cost
 * measurable hashing time on a busy 2-core machine; one cachestat costs less. */
static void advise_willneed(int fd, uint64_t offset, uint64_t len)
{
#if defined(POSIX_FADV_WILLNEED)
    uint64_t end = offset + len;
    int64_t cached = cached_pages(fd, offset, len);
    if (cached >= 0 && (uint64_t)cached * 4096 >= len) /* pages of 4 KiB or more: all there */
        return;
    for (; offset < end; offset += CV4_WILLNEED_CHUNK) {
        uint64_t piece = end - offset < CV4_WILLNEED_CHUNK ? end - offset : CV4_WILLNEED_CHUNK;
        (void)posix_fadvise(fd, (off_t)offset, (off_t)piece, POSIX_FADV_WILLNEED);
    }
#else
    (void)fd;
    (void)offset;
    (void)len;
#endif
}

/* ---- leaving the page cache as found ---------------------------------------- */

/* Kernel read-ahead (up to twice the device's read_ahead_kb with SEQUENTIAL
 * advice: 16 MiB on a disk set to 8 MiB) reads past the window being read, so
 * residency is recorded this far ahead before any of it is read. */
#define CV4_CACHE_HORIZON ((uint64_t)32 << 20)
/* cachestat only counts: it is asked about ranges this small, each dropped
 * only when none of its pages were resident. */
#define CV4_CACHESTAT_PAGES 256

#if defined(__linux__)
#ifndef __NR_cachestat
#define __NR_cachestat 451 /* the same number on every architecture */
#endif
struct cv4_cachestat_range { uint64_t off, len; };
struct cv4_cachestat { uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted; };

/* Pages of [off, off + len) in the page cache, or -1 where cachestat is missing (before 6.5). */
static int64_t cached_pages(int fd, uint64_t off, uint64_t len)
{
    struct cv4_cachestat_range range;
    struct cv4_cachestat stat;
    range.off = off;
    range.len = len;
    if (syscall(__NR_cachestat, fd, &range, &stat, 0) != 0)
        return -1;
    return (int64_t)stat.nr_cache;
}
#else
static int64_t cached_pages(int fd, uint64_t off, uint64_t len) { (void)fd; (void)off; (void)len; return -1; }
#endif

/* mincore shows a file mapping's page cache only to the file's owner or to a
 * process that may write it (Linux 5.0+); to anyone else it shows only the pages
 * this process has mapped, so every page of an untouched mapping would look cold. */
static int mincore_sees_cache(int fd, const struct stat *st)
{
    uid_t me = geteuid();
    if (me == 0 || st->st_uid == me)
        return 1;
#if defined(AT_EMPTY_PATH) && defined(AT_EACCESS)
    if (faccessat(fd, "", W_OK, AT_EACCESS | AT_EMPTY_PATH) == 0)
        return 1;
#endif
    return 0;
}

static void cache_open(cv4_source *src, const struct stat *st)
{
    cv4_cache_state *c = &src->cache;
    long page = sysconf(_SC_PAGESIZE);
    (void)st;
    c->page = page > 0 ? (size_t)page : 4096;
    c->probe = CV4_PROBE_KEEP; /* residency unknown: nothing is dropped */
#if defined(POSIX_FADV_DONTNEED)
    if (src->size == 0 || src->size > (uint64_t)SIZE_MAX)
        return;
    c->horizon = (uint64_t)src->window * (uint64_t)(src->ahead_windows + 1);
    if (c->horizon < CV4_CACHE_HORIZON)
        c->horizon = CV4_CACHE_HORIZON;
    {
        uint64_t span = c->horizon + src->window;
        if (span > src->size)
            span = src->size;
        c->ring_pages = (size_t)((span + c->page - 1) / c->page);
    }
    c->pending = 1; /* cache_begin, once the batch has said what it read ahead (cv4_item_admit) */
#endif
}

/* How residency will be seen, before any byte is read; the first cold_head
 * bytes were cold before the batch read them ahead (cv4_prefetch_head). */
static void cache_begin(cv4_source *src, uint64_t cold_head)
{
    cv4_cache_state *c = &src->cache;
    int fd = (int)src->handle;
    uint64_t pages = (src->size + c->page - 1) / c->page;
    uint64_t head_pages;
    int64_t cached;
    c->pending = 0;
    if (cold_head > src->size)
        cold_head = src->size;
    head_pages = (cold_head + c->page - 1) / c->page;
    if (head_pages > c->ring_pages) {
        cold_head = 0;
        head_pages = 0;
    }
    /* One cachestat settles most files: all resident (a warm verify: nothing to
     * record or drop), or none resident and small enough to record at once. */
    cached = cached_pages(fd, 0, src->size);
    if (cold_head == 0 && cached >= 0 && (uint64_t)cached >= pages)
        return;
    c->ring = (unsigned char *)malloc(c->ring_pages);
    if (!c->ring)
        return;
    if (cold_head) {
        memset(c->ring, 0, (size_t)head_pages);
        c->recorded_to = cold_head;
        if (cold_head == src->size) {
            c->probe = CV4_PROBE_CACHESTAT;
            return;
        }
    } else if (cached == 0 && pages <= c->ring_pages) {
        memset(c->ring, 0, (size_t)pages);
        c->recorded_to = src->size;
        c->probe = CV4_PROBE_CACHESTAT;
        return;
    }
    {
        struct stat st;
        if (fstat(fd, &st) == 0 && mincore_sees_cache(fd, &st)) {
            void *p = mmap(NULL, (size_t)src->size, PROT_READ, MAP_SHARED, fd, 0);
            if (p != MAP_FAILED) {
                c->map = (const uint8_t *)p;
                c->map_len = (size_t)src->size;
                c->probe = CV4_PROBE_MINCORE;
                return;
            }
        }
    }
    if (cached >= 0) {
        c->probe = CV4_PROBE_CACHESTAT;
        return;
    }
    free(c->ring);
    c->ring = NULL;
    c->recorded_to = 0;
}

/* Records the residency of the pages from recorded_to up to `to`, before any is read. */
static void cache_record(cv4_source *src, uint64_t to)
{
    cv4_cache_state *c = &src->cache;
    if (to > src->size)
        to = src->size;
    while (c->recorded_to < to) {
        uint64_t first = c->recorded_to / c->page;
        size_t slot = (size_t)(first % c->ring_pages);
        uint64_t pages = (to - c->recorded_to + c->page - 1) / c->page;
        uint64_t len;
        unsigned char *vec = c->ring + slot;
        if (pages > c->ring_pages - slot)
            pages = c->ring_pages - slot;
        if (c->probe == CV4_PROBE_CACHESTAT && pages > CV4_CACHESTAT_PAGES)
            pages = CV4_CACHESTAT_PAGES;
        len = pages * c->page;
        if (len > src->size - c->recorded_to)
            len = src->size - c->recorded_to;
        if (c->probe == CV4_PROBE_MINCORE) {
            if (mincore((void *)(c->map + c->recorded_to), (size_t)len, (void *)vec) != 0)
                memset(vec, 1, (size_t)pages); /* unknown: keep */
        } else {
            memset(vec, cached_pages((int)src->handle, c->recorded_to, len) == 0 ? 0 : 1, (size_t)pages);
        }
        c->recorded_to += len;
    }
}

/* Drops the pages of [kept_from, to) that were not resident when recorded.
 * Mapped pages are not dropped by DONTNEED: windows are unmapped first. */
static void cache_release(cv4_source *src, uint64_t to)
{
#if defined(POSIX_FADV_DONTNEED)
    cv4_cache_state *c = &src->cache;
    uint64_t page = c->kept_from / c->page, end, run = 0, run_len = 0;
    if (to > c->recorded_to)
        to = c->recorded_to;
    end = (to + c->page - 1) / c->page;
    for (; page < end; page++) {
        int resident = c->ring[page % c->ring_pages] & 1;
        if (!resident) {
            if (run_len == 0)
                run = page;
            run_len++;
        }
        if ((resident || page + 1 == end) && run_len) {
            (void)posix_fadvise((int)src->handle, (off_t)(run * c->page), (off_t)(run_len * c->page),
                                POSIX_FADV_DONTNEED);
            run_len = 0;
        }
    }
    if (to > c->kept_from)
        c->kept_from = to;
#else
    (void)src;
    (void)to;
#endif
}

static void cache_close(cv4_source *src)
{
    cv4_cache_state *c = &src->cache;
    c->pending = 0;
    if (c->ring) {
        cache_release(src, c->recorded_to); /* read-ahead of windows never handed out too */
        free(c->ring);
        c->ring = NULL;
    }
    if (c->map) {
        munmap((void *)c->map, c->map_len);
        c->map = NULL;
    }
    c->probe = CV4_PROBE_OFF;
}

static int cache_active(cv4_source *src)
{
    if (src->cache.pending)
        cache_begin(src, 0);
    return src->cache.ring != NULL;
}

void cv4_source_assume_cold(cv4_source *src, uint64_t len)
{
    if (src->cache.pending)
        cache_begin(src, len);
}

/* Opens path for reading, relative to cfg->anchor where there is one: 0 and
 * *fd, or the error (kind: what the anchored open refused, cv4_anchor.h). */
static int open_for_reading(const cv4_io_config *cfg, const char *path, int *fd, char *kind)
{
    if (cfg->anchor) {
        intptr_t handle;
        int err = cv4_anchor_open_file(cfg->anchor, path, &handle, kind);
        if (err)
            return err;
        *fd = (int)handle;
        return 0;
    }
    /* O_NONBLOCK: opening a FIFO without a writer must not hang; it has no
     * effect on regular files. */
    do {
        *fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    } while (*fd < 0 && errno == EINTR);
    return *fd < 0 ? errno : 0;
}

void cv4_prefetch_head(const cv4_io_config *cfg, const char *path, uint64_t expected_size, uint64_t *cold_head)
{
    struct stat st;
    int fd;
    char kind;
    uint64_t len;
    if (open_for_reading(cfg, path, &fd, &kind) != 0)
        return;
    /* A file refused unread would be closed while its read-ahead is still in
     * flight, and DONTNEED skips pages under I/O: never asked for. */
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (expected_size == UINT64_MAX || (uint64_t)st.st_size == expected_size)) {
        len = (uint64_t)st.st_size < cfg->window ? (uint64_t)st.st_size : cfg->window;
        if (!cfg->drop_cache) {
            advise_willneed(fd, 0, len);
        } else if (cached_pages(fd, 0, len) == 0) {
            __atomic_store_n(cold_head, len, __ATOMIC_RELEASE);
            advise_willneed(fd, 0, len);
        }
    }
    close(fd);
}

int cv4_head_resident(const cv4_io_config *cfg, const char *path, uint64_t len)
{
    int64_t cached;
    int fd;
    if (cfg->anchor) {
        intptr_t handle;
        char kind;
        if (cv4_anchor_open_file(cfg->anchor, path, &handle, &kind) != 0)
            return -1;
        fd = (int)handle;
    } else {
        do {
            fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        } while (fd < 0 && errno == EINTR);
        if (fd < 0)
            return -1;
    }
    cached = cached_pages(fd, 0, len);
    close(fd);
    return cached < 0 ? -1 : cached > 0;
}

/* ---- sources ---------------------------------------------------------------- */

char cv4_file_kind(mode_t mode)
{
    if (S_ISFIFO(mode)) return 'p';
    if (S_ISCHR(mode)) return 'c';
    if (S_ISBLK(mode)) return 'b';
    if (S_ISSOCK(mode)) return 's';
    return '?';
}

int cv4_source_open(cv4_source *src, const char *path, const cv4_io_config *cfg, uint8_t *read_buffer)
{
    struct stat st;
    int fd, err;
    memset(src, 0, sizeof *src);
    if ((err = open_for_reading(cfg, path, &fd, &src->kind)) != 0)
        return err;
    if (fstat(fd, &st) != 0) {
        err = errno;
        close(fd);
        return err;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return EISDIR;
    }
    if (!S_ISREG(st.st_mode)) {
        src->kind = cv4_file_kind(st.st_mode);
        close(fd);
        return CV4_ERR_NOTREG;
    }
    src->handle = fd;
    src->size = (uint64_t)st.st_size;
    src->unsized = st.st_size == 0;
    src->mtime_ns = CV4_MTIME_NS(st);
    /* Mapping a small file costs more (mmap, faults, munmap) than one pread. */
    src->mode = src->size < CV4_MMAP_MIN_SIZE ? CV4_IO_READ : cfg->mode;
    src->window = cfg->window;
    src->ahead_windows = cfg->ahead_windows > 0 ? cfg->ahead_windows : 1;
    src->buffer = read_buffer;
    /* One window is mapped and faulted on this thread anyway: no helper needed. */
    src->prefault = src->mode == CV4_IO_MMAP && src->size > src->window ? cfg->prefault : NULL;
    if (cfg->drop_cache)
        cache_open(src, &st);
#if defined(POSIX_FADV_SEQUENTIAL)
    /* Read-ahead advice pays only where more than one window is read. */
    if (src->size > src->window)
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    return 0;
}

void cv4_source_drop_window(cv4_source *src)
{
    if (src->mapped) {
        if (src->prefault)
            cv4_prefaulter_retract(src->prefault, src->mapped);
        munmap((void *)src->mapped, src->mapped_len);
        src->mapped = NULL;
        src->mapped_len = 0;
    }
}

/* Keeps the windows after this one being read from disk while this one is
 * hashed: ahead_windows of them, each asked for once (prefetched_to). Not
 * where the prefault helper maps the next window: its faults bring that window
 * in during this one's hashing, off the hashing thread, and the advice on top
 * costs the hashing thread more than it gives (one cold 512 MiB file, local
 * disk: 0.46 s with it, 0.40 s without, 0.39 s warm; cold frames, whose files
 * fit a window, do not call this). */
static void prefetch_next(cv4_source *src, uint64_t next_offset)
{
    uint64_t to = next_offset + (uint64_t)src->window * (uint64_t)src->ahead_windows;
    if (to > src->size)
        to = src->size;
    if (src->prefault && src->mode == CV4_IO_MMAP)
        return;
    if (src->prefetched_to < next_offset)
        src->prefetched_to = next_offset;
    if (src->prefetched_to < to) {
        advise_willneed((int)src->handle, src->prefetched_to, to - src->prefetched_to);
        src->prefetched_to = to;
    }
}

static int next_mapped(cv4_source *src, size_t want, const uint8_t **data)
{
    void *p;
    p = mmap(NULL, want, PROT_READ, MAP_SHARED, (int)src->handle, (off_t)src->offset);
    if (p == MAP_FAILED)
        return errno;
#if defined(MADV_SEQUENTIAL)
    (void)madvise(p, want, MADV_SEQUENTIAL);
#endif
    src->mapped = (const uint8_t *)p;
    src->mapped_len = want;
    *data = (const uint8_t *)p;
    return 0;
}

/* Maps the window after the one just handed out and has the helper fault it
 * in while that one is hashed; if the mapping fails, next_mapped tries again. */
static void map_ahead(cv4_source *src)
{
    size_t want;
    void *p;
    if (src->offset >= src->size)
        return;
    want = src->size - src->offset < src->window ? (size_t)(src->size - src->offset) : src->window;
    p = mmap(NULL, want, PROT_READ, MAP_SHARED, (int)src->handle, (off_t)src->offset);
    if (p == MAP_FAILED)
        return;
#if defined(MADV_SEQUENTIAL)
    (void)madvise(p, want, MADV_SEQUENTIAL);
#endif
    src->ahead = (const uint8_t *)p;
    src->ahead_len = want;
    cv4_prefaulter_post(src->prefault, p, want);
}

static void drop_ahead(cv4_source *src)
{
    if (src->ahead) {
        cv4_prefaulter_retract(src->prefault, src->ahead);
        munmap((void *)src->ahead, src->ahead_len);
        src->ahead = NULL;
        src->ahead_len = 0;
    }
}

static int next_read(cv4_source *src, size_t want, const uint8_t **data, size_t *len)
{
    size_t got_total = 0;
    while (got_total < want) {
        ssize_t got = pread((int)src->handle, src->buffer + got_total, want - got_total,
                            (off_t)(src->offset + got_total));
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (got == 0)
            return CV4_ERR_TRUNCATED; /* EOF before the size seen at open */
        got_total += (size_t)got;
    }
    *data = src->buffer;
    *len = got_total;
    return 0;
}

/* An unsized file (size 0 at open): read() until it gives 0, filling whole
 * windows, as sha256sum reads it. Its size becomes the bytes read at the end. */
static int next_unsized(cv4_source *src, const uint8_t **data, size_t *len)
{
    size_t got_total = 0;
    if (src->at_eof)
        return 0;
    while (got_total < src->window) {
        ssize_t got = read((int)src->handle, src->buffer + got_total, src->window - got_total);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (got == 0) {
            src->at_eof = 1;
            break;
        }
        got_total += (size_t)got;
    }
    src->offset += got_total;
    if (src->at_eof)
        src->size = src->offset;
    *data = src->buffer;
    *len = got_total;
    return 0;
}

void cv4_source_widen(cv4_source *src, size_t window, uint8_t *read_buffer)
{
    /* Leaving the page cache as found keeps a record ring sized, at open, for
     * the window the file opened with: a wider window would outrun it. */
    if (window <= src->window || !read_buffer || cache_active(src))
        return;
    /* Mapping too: a map refused later (ENOMEM, the map-count limit) turns
     * the file to reading, into this buffer, by the window now in force. */
    src->buffer = read_buffer;
    src->window = window;
}

int cv4_source_next(cv4_source *src, const uint8_t **data, size_t *len)
{
    size_t want;
    int err;
    cv4_source_drop_window(src);
    *len = 0;
    *data = NULL;
    if (src->unsized) /* never mapped, nothing recorded for the page cache (cache_open) */
        return next_unsized(src, data, len);
    if (cache_active(src))
        cache_release(src, src->offset);
    if (src->offset >= src->size)
        return 0;
    want = src->size - src->offset < src->window ? (size_t)(src->size - src->offset) : src->window;
    if (cache_active(src))
        cache_record(src, src->offset + want + src->cache.horizon);
    prefetch_next(src, src->offset + want);
    if (src->mode == CV4_IO_MMAP) {
        if (src->ahead && src->ahead_len == want) { /* mapped and faulted in already */
            src->mapped = src->ahead;
            src->mapped_len = want;
            *data = src->ahead;
            src->ahead = NULL;
            err = 0;
        } else {
            drop_ahead(src);
            err = next_mapped(src, want, data);
        }
        if (err == 0) {
            *len = want;
            src->offset += want;
            if (src->prefault)
                map_ahead(src);
            return 0;
        }
        /* Some file systems and special mounts refuse mmap: read instead, with the
         * read-ahead advice a mapped file with a helper did without. */
        src->mode = CV4_IO_READ;
        prefetch_next(src, src->offset + want);
    }
    err = next_read(src, want, data, len);
    if (err == 0)
        src->offset += *len;
    return err;
}

int cv4_source_close(cv4_source *src, int check_unchanged)
{
    int err = 0;
    cv4_source_drop_window(src);
    drop_ahead(src);
    cache_close(src);
    if (check_unchanged) {
        struct stat st;
        /* An unsized file's size was 0 at open: still 0, or it changed. */
        uint64_t opened_size = src->unsized ? 0 : src->size;
        if (fstat((int)src->handle, &st) != 0)
            err = errno;
        else if ((uint64_t)st.st_size != opened_size || CV4_MTIME_NS(st) != src->mtime_ns)
            err = CV4_ERR_CHANGED;
    }
    close((int)src->handle);
    src->handle = -1;
    return err;
}

#else /* Windows: read path only (a mapped file cannot be truncated there anyway) */
#include "cv4_win32.h"

int cv4_fault_guard_install(void) { return 0; }

static int64_t filetime_ns(FILETIME ft)
{
    return (int64_t)((((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime) * 100ULL);
}

int cv4_source_open(cv4_source *src, const char *path, const cv4_io_config *cfg, uint8_t *read_buffer)
{
    HANDLE h;
    BY_HANDLE_FILE_INFORMATION info;
    int err;
    memset(src, 0, sizeof *src);
    if (cfg->anchor) {
        intptr_t handle;
        if ((err = cv4_anchor_open_file(cfg->anchor, path, &handle, &src->kind)) != 0)
            return err;
        h = (HANDLE)handle;
    } else if ((err = cv4_win_open_read(path, 0, &h)) != 0) {
        return err;
    }
    if ((err = cv4_win_file_info(h, &info)) != 0)
        return err;
    if (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
        CloseHandle(h);
        return EISDIR;
    }
    if (GetFileType(h) != FILE_TYPE_DISK) {
        src->kind = 'c';
        CloseHandle(h);
        return CV4_ERR_NOTREG;
    }
    src->handle = (intptr_t)h;
    src->size = ((uint64_t)info.nFileSizeHigh << 32) | info.nFileSizeLow;
    src->mtime_ns = filetime_ns(info.ftLastWriteTime);
    src->mode = CV4_IO_READ;
    src->window = cfg->window;
    src->buffer = read_buffer;
    return 0;
}

void cv4_source_drop_window(cv4_source *src) { (void)src; }

void cv4_prefetch_head(const cv4_io_config *cfg, const char *path, uint64_t expected_size, uint64_t *cold_head)
{
    (void)cfg;
    (void)path;
    (void)expected_size;
    (void)cold_head;
}

int cv4_head_resident(const cv4_io_config *cfg, const char *path, uint64_t len)
{
    (void)cfg;
    (void)path;
    (void)len;
    return -1; /* not known here: the lanes stay as calibrated */
}

void cv4_source_assume_cold(cv4_source *src, uint64_t len)
{
    (void)src;
    (void)len;
}

int cv4_source_next(cv4_source *src, const uint8_t **data, size_t *len)
{
    size_t want, got_total = 0;
    *len = 0;
    *data = NULL;
    if (src->offset >= src->size)
        return 0;
    want = src->size - src->offset < src->window ? (size_t)(src->size - src->offset) : src->window;
    while (got_total < want) {
        OVERLAPPED at;
        DWORD got = 0;
        uint64_t pos = src->offset + got_total;
        memset(&at, 0, sizeof at);
        at.Offset = (DWORD)pos;
        at.OffsetHigh = (DWORD)(pos >> 32);
        if (!ReadFile((HANDLE)src->handle, src->buffer + got_total, (DWORD)(want - got_total), &got, &at)) {
            DWORD e = GetLastError();
            if (e == ERROR_HANDLE_EOF)
                return CV4_ERR_TRUNCATED;
            return cv4_win_errno(e);
        }
        if (got == 0)
            return CV4_ERR_TRUNCATED;
        got_total += got;
    }
    *data = src->buffer;
    *len = got_total;
    src->offset += got_total;
    return 0;
}

void cv4_source_widen(cv4_source *src, size_t window, uint8_t *read_buffer)
{
    if (window <= src->window || !read_buffer)
        return;
    src->buffer = read_buffer;
    src->window = window;
}

int cv4_source_close(cv4_source *src, int check_unchanged)
{
    int err = 0;
    if (check_unchanged) {
        BY_HANDLE_FILE_INFORMATION info;
        if (!GetFileInformationByHandle((HANDLE)src->handle, &info))
            err = cv4_win_errno(GetLastError());
        else if ((((uint64_t)info.nFileSizeHigh << 32) | info.nFileSizeLow) != src->size ||
                 filetime_ns(info.ftLastWriteTime) != src->mtime_ns)
            err = CV4_ERR_CHANGED;
    }
    CloseHandle((HANDLE)src->handle);
    return err;
}
#endif
