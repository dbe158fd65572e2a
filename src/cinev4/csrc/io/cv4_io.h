/* Reading one file for hashing: open and validate it, hand out its bytes in
 * bounded windows (mmap, or pread into a buffer), and check at the end that
 * it did not change underneath. */
#ifndef CV4_IO_H
#define CV4_IO_H

#include <stddef.h>
#include <stdint.h>

/* Result codes: 0 ok, > 0 an errno value, < 0 one of these. */
enum {
    CV4_ERR_CHANGED = -1,   /* size or mtime differ between start and end */
    CV4_ERR_TRUNCATED = -2, /* the file shrank while mapped or read */
    CV4_ERR_NOTREG = -3,    /* FIFO, socket, device */
    CV4_ERR_CANCELLED = -4, /* the batch was stopped first */
    CV4_ERR_NOMEM = -5,
    CV4_ERR_SYMLINK = -6,   /* anchored: a component of the path is a symlink (never followed) */
    CV4_ERR_SIZE = -7,      /* checked: the size at open is not the expected one (not hashed) */
    CV4_ERR_UNHASHED = -8,  /* checked with open_only: opened and sized, not hashed (no failure) */
};

typedef enum { CV4_IO_MMAP = 0, CV4_IO_READ = 1 } cv4_io_mode;

/* Files smaller than this are read even in mmap mode. */
#define CV4_MMAP_MIN_SIZE (256 * 1024)
/* Windows are whole multiples of this, so a mapped window starts on a page of every
 * page size in use (4, 16 and 64 KiB). The window= argument and CINEV4_WINDOW are
 * checked against cinev4.settings.WINDOW_UNIT, which the engine compares with this
 * when it loads. */
#define CV4_WINDOW_UNIT (64 * 1024)

typedef struct {
    cv4_io_mode mode;
    size_t window;       /* bytes per window; a multiple of CV4_WINDOW_UNIT */
    const struct cv4_anchor *anchor; /* non-NULL: paths are relative to it (cv4_anchor.h) */
    struct cv4_prefaulter *prefault; /* non-NULL: mmap maps one window ahead and this helper
                                        faults it in (cv4_prefault.h); NULL: off */
    int drop_cache;      /* 1: leave the page cache as found (see cv4_source.cache below) */
    int ahead_windows;   /* windows of a file asked from the disk ahead of the one hashed (0: 1) */
} cv4_io_config;

/* Leaving the page cache as found: before a window is first read, which of
 * its pages are resident is recorded (mincore on an untouched mapping of the
 * file, or cachestat where mincore cannot see the page cache); once the window
 * is hashed and released, the pages that were not resident are dropped with
 * posix_fadvise(DONTNEED). Pages resident before stay. */
typedef struct {
    int probe;            /* CV4_PROBE_*: how residency is seen */
    int pending;          /* opened, residency not looked at yet (cache_begin) */
    const uint8_t *map;   /* CV4_PROBE_MINCORE: the whole file mapped, never touched */
    size_t map_len;
    size_t page;
    unsigned char *ring;  /* residency, one byte a page, slot = page number % ring_pages */
    size_t ring_pages;
    uint64_t horizon;     /* recorded this far past the window handed out (kernel read-ahead) */
    uint64_t kept_from;   /* recorded and not yet released: [kept_from, recorded_to) */
    uint64_t recorded_to;
} cv4_cache_state;

enum { CV4_PROBE_OFF = 0, CV4_PROBE_MINCORE = 1, CV4_PROBE_CACHESTAT = 2, CV4_PROBE_KEEP = 3 };

typedef struct {
    /* public, read-only for callers */
    uint64_t size;       /* at open; for an unsized file, the bytes read once at its end */
    char kind;           /* for CV4_ERR_NOTREG: 'p' fifo, 'c' char dev, 'b' block dev, 's' socket */
    /* A regular file that reported size 0 (most of /proc does, whatever it
     * holds): read until read() gives 0, in whole windows but the last, and
     * offset counts the bytes read. A truly empty file costs one read more. */
    int unsized;
    int at_eof;          /* unsized: read() gave 0 (size is then the bytes read) */
    /* private */
    intptr_t handle;
    int64_t mtime_ns;
    uint64_t offset;     /* of the next window */
    cv4_io_mode mode;
    size_t window;
    const uint8_t *volatile mapped; /* the live mapping, unmapped after a fault too */
    volatile size_t mapped_len;
    uint8_t *buffer;     /* read mode: borrowed from the caller */
    struct cv4_prefaulter *prefault; /* files of more than one mapped window only */
    const uint8_t *ahead; /* the next window, mapped and posted to prefault (never touched here) */
    size_t ahead_len;
    int ahead_windows;
    uint64_t prefetched_to; /* asked from the disk (WILLNEED) up to here */
    cv4_cache_state cache; /* drop_cache only */
} cv4_source;

/* Opens path (file-system encoding; UTF-8 on Windows; relative to cfg->anchor
 * when set, no symlink followed) and validates it is a regular file. Returns 0 or an error code; on error nothing stays open. */
int cv4_source_open(cv4_source *src, const char *path, const cv4_io_config *cfg, uint8_t *read_buffer);
/* Next window of at most cfg->window bytes: *len == 0 at the end of the file.
 * The previous window is released first. Every window but a file's last is a
 * whole window, unsized files' too. */
int cv4_source_next(cv4_source *src, const uint8_t **data, size_t *len);
/* Whether every byte of the file was handed out: an unsized file's end is known
 * only once a read gave 0 (a next() that gives *len == 0 and no error). */
int cv4_source_at_end(const cv4_source *src);
/* Lets the file go on with windows of `window` bytes (a multiple of
 * CV4_WINDOW_UNIT) from its next window on, read (in read mode, or after a
 * refused map) into read_buffer, which must hold that many. Kept as it is
 * while the page cache is being left as found. */
void cv4_source_widen(cv4_source *src, size_t window, uint8_t *read_buffer);
/* Releases the window after a fault (called from the fault recovery path). */
void cv4_source_drop_window(cv4_source *src);
/* Releases everything; with check_unchanged, reports CV4_ERR_CHANGED when the
 * size or mtime moved since open. */
int cv4_source_close(cv4_source *src, int check_unchanged);

/* Reads in flight before a file is taken: asks the disk for the first window
 * of path (POSIX_FADV_WILLNEED) and closes it again; not where its size is not
 * expected_size (UINT64_MAX: any), since that file will be refused unread. With cfg->drop_cache it
 * does so only where none of those pages is resident (cachestat), and returns
 * in *cold_head how many bytes it asked for, all of them cold: the source that
 * later hashes the file is told so (cv4_source_assume_cold) and drops them. */
void cv4_prefetch_head(const cv4_io_config *cfg, const char *path, uint64_t expected_size, uint64_t *cold_head);
/* Whether any of the first len bytes of path is in the page cache: 1 yes, 0 none
 * (cold), -1 not known (no cachestat before Linux 6.5, or the file cannot be opened). */
int cv4_head_resident(const cv4_io_config *cfg, const char *path, uint64_t len);
/* Right after open: the first len bytes were not resident before (see above). */
void cv4_source_assume_cold(cv4_source *src, uint64_t len);

/* Recovery from SIGBUS on a mapping that lost its pages (the file was
 * truncated): the thread arms a sigjmp_buf before touching mapped bytes.
 * Where mmap is not used (Windows) these do nothing. */
int cv4_fault_guard_install(void);
#if !defined(_WIN32)
#include <setjmp.h>
#include <sys/types.h>
void cv4_fault_guard_arm(sigjmp_buf *jb);
void cv4_fault_guard_disarm(void);
/* Address that faulted last in this thread (for multi-lane recovery). */
const void *cv4_fault_address(void);
#define CV4_HAVE_MMAP 1
/* The kind of a file that is not a regular file, folder or symlink, as
 * cv4_source.kind and the scan name it: 'p' FIFO, 'c'/'b' device, 's' socket, '?'. */
char cv4_file_kind(mode_t mode);
#endif

#endif
