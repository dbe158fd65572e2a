/* Anchored opening (see cv4_anchor.h): openat2 where the kernel has it, a
 * component walk with O_NOFOLLOW elsewhere, a reparse-point check on Windows. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cv4_anchor.h"
#include "cv4_io.h"
#include "cv4_platform.h"

static volatile uint64_t next_anchor_id = 1;

const char *cv4_anchor_mode_name(int mode)
{
    switch (mode) {
    case CV4_ANCHOR_OPENAT2:
        return "openat2";
    case CV4_ANCHOR_WALK:
        return "openat-walk";
    case CV4_ANCHOR_PATH:
        return "path";
    default:
        return "none";
    }
}

/* A relative path the pipeline may open: no leading '/', no empty, "." or
 * ".." component (contract paths never have them; refusing them here keeps
 * the walk beneath the root whatever a caller passes). */
static int valid_relative(const char *rel, size_t len)
{
    size_t start = 0, i;
    if (len == 0)
        return 0;
    for (i = 0; i <= len; i++) {
        if (i == len || rel[i] == '/') {
            size_t n = i - start;
            if (n == 0 || (n == 1 && rel[start] == '.') || (n == 2 && rel[start] == '.' && rel[start + 1] == '.'))
                return 0;
            start = i + 1;
        }
    }
    return 1;
}

#if !defined(_WIN32)
#include "cv4_posix.h"

/* A folder handle that needs no read permission (only search, as a path walk does). */
#if defined(O_PATH)
#define CV4_DIR_HANDLE O_PATH
#elif defined(O_SEARCH)
#define CV4_DIR_HANDLE O_SEARCH
#else
#define CV4_DIR_HANDLE O_RDONLY
#endif

/* openat2 is probed at run time: the headers may lack it, the kernel may be
 * older than 5.6, or a container's seccomp filter may refuse it. */
#if defined(__linux__) && !defined(SYS_openat2) && !defined(__alpha__)
#define SYS_openat2 437 /* the same number on every architecture but alpha */
#endif
#define CV4_RESOLVE_NO_MAGICLINKS 0x02
#define CV4_RESOLVE_NO_SYMLINKS 0x04
#define CV4_RESOLVE_BENEATH 0x08

struct cv4_open_how {
    uint64_t flags;
    uint64_t mode;
    uint64_t resolve;
};

static int sys_openat2(int base, const char *path, int flags)
{
#if defined(SYS_openat2)
    struct cv4_open_how how;
    int tries = 0;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)(unsigned)flags;
    how.resolve = CV4_RESOLVE_BENEATH | CV4_RESOLVE_NO_SYMLINKS | CV4_RESOLVE_NO_MAGICLINKS;
    for (;;) {
        long fd = syscall(SYS_openat2, base, path, &how, sizeof how);
        /* EAGAIN: a rename raced the lookup (RESOLVE_BENEATH's own check); retry. */
        if (fd < 0 && (errno == EINTR || (errno == EAGAIN && ++tries < 64)))
            continue;
        return (int)fd;
    }
#else
    (void)base;
    (void)path;
    (void)flags;
    errno = ENOSYS;
    return -1;
#endif
}

int cv4_anchor_best_mode(void)
{
    static volatile int probed = 0; /* benign race: every prober finds the same */
    if (!probed) {
        int fd = sys_openat2(AT_FDCWD, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0)
            close(fd);
        probed = fd >= 0 ? CV4_ANCHOR_OPENAT2 : CV4_ANCHOR_WALK;
    }
    return probed;
}

int cv4_anchor_open(cv4_anchor *a, const char *root, int mode)
{
    int fd;
    memset(a, 0, sizeof *a);
    a->root = -1;
    if (mode == CV4_ANCHOR_OPENAT2 && cv4_anchor_best_mode() != CV4_ANCHOR_OPENAT2)
        return ENOSYS;
    if (mode != CV4_ANCHOR_OPENAT2 && mode != CV4_ANCHOR_WALK)
        return EINVAL;
    do {
        fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return errno;
    a->root = fd;
    a->mode = mode;
    a->id = cv4_atomic_add(&next_anchor_id, 1);
    return 0;
}

void cv4_anchor_close(cv4_anchor *a)
{
    if (a->root >= 0)
        close((int)a->root);
    a->root = -1;
}

/* ---- the per-thread folder cache ------------------------------------------ */

static _Thread_local struct {
    uint64_t anchor_id; /* 0: empty */
    int fd;
    char *path;
    size_t len, cap;
} cached;

void cv4_anchor_thread_release(void)
{
    if (cached.anchor_id)
        close(cached.fd);
    free(cached.path);
    memset(&cached, 0, sizeof cached);
}

/* Why opening `name` under `base` failed with `err`: a symlink there is
 * CV4_ERR_SYMLINK whatever errno the platform chose (ELOOP, EMLINK, ENOTDIR). */
static int classify(int base, const char *name, int err)
{
    struct stat st;
    if ((err == ELOOP || err == EMLINK || err == ENOTDIR) &&
        fstatat(base, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        return CV4_ERR_SYMLINK;
    return err;
}

/* One folder, `path` (NUL-terminated, len > 0) below `base`, opened without
 * following any symlink: a new handle in *out. */
static int resolve_below(int mode, int base, char *path, int *out)
{
    int fd;
    if (mode == CV4_ANCHOR_OPENAT2) {
        fd = sys_openat2(base, path, CV4_DIR_HANDLE | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            *out = fd;
            return 0;
        }
        /* With RESOLVE_NO_SYMLINKS, ELOOP means a symlink on the way; EXDEV an
         * escape (never from a valid relative path: reported as a symlink too). */
        return errno == ELOOP || errno == EXDEV ? CV4_ERR_SYMLINK : errno;
    }
    {
        int current = base;
        char *name = path;
        for (;;) {
            char *slash = strchr(name, '/');
            int err;
            if (slash)
                *slash = '\0';
            do {
                fd = openat(current, name, CV4_DIR_HANDLE | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            } while (fd < 0 && errno == EINTR);
            err = fd < 0 ? classify(current, name, errno) : 0;
            if (slash)
                *slash = '/';
            if (current != base)
                close(current);
            if (err)
                return err;
            current = fd;
            if (!slash)
                break;
            name = slash + 1;
        }
        *out = current;
        return 0;
    }
}

/* The handle of the folder rel[0:len] (len 0: the root), borrowed from the
 * cache: valid until this thread's next call. */
static int folder_handle(const cv4_anchor *a, const char *rel, size_t len, int *out)
{
    int base = (int)a->root, fd = -1, err;
    size_t skip = 0;
    char small[512], *rest;
    if (len == 0) {
        *out = (int)a->root;
        return 0;
    }
    if (cached.anchor_id == a->id && cached.len <= len && memcmp(cached.path, rel, cached.len) == 0) {
        if (cached.len == len) {
            *out = cached.fd;
            return 0;
        }
        if (rel[cached.len] == '/') { /* a folder below the cached one: walk on from it */
            base = cached.fd;
            skip = cached.len + 1;
        }
    }
    rest = len - skip < sizeof small ? small : (char *)malloc(len - skip + 1);
    if (!rest)
        return CV4_ERR_NOMEM;
    memcpy(rest, rel + skip, len - skip);
    rest[len - skip] = '\0';
    err = resolve_below(a->mode, base, rest, &fd);
    if (rest != small)
        free(rest);
    if (err)
        return err;
    if (cached.cap < len + 1) {
        char *grown = (char *)realloc(cached.path, len + 1);
        if (!grown) {
            close(fd);
            return CV4_ERR_NOMEM;
        }
        cached.path = grown;
        cached.cap = len + 1;
    }
    if (cached.anchor_id)
        close(cached.fd); /* after the walk: it may have started from it */
    memcpy(cached.path, rel, len);
    cached.len = len;
    cached.fd = fd;
    cached.anchor_id = a->id;
    *out = fd;
    return 0;
}

/* The folder holding rel's last component, and that component. */
static int parent_of(const cv4_anchor *a, const char *rel, int *dir, const char **leaf)
{
    const char *slash;
    size_t len = strlen(rel);
    if (a->root < 0)
        return EBADF;
    if (!valid_relative(rel, len))
        return EINVAL;
    slash = strrchr(rel, '/');
    *leaf = slash ? slash + 1 : rel;
    return folder_handle(a, rel, slash ? (size_t)(slash - rel) : 0, dir);
}

int cv4_anchor_open_file(const cv4_anchor *a, const char *rel, intptr_t *handle, char *kind)
{
    const char *leaf;
    struct stat st;
    int dir, fd, err = parent_of(a, rel, &dir, &leaf);
    if (err)
        return err;
    /* Looked at first: a FIFO or socket is refused from its stat, never opened. */
    if (fstatat(dir, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno;
    if (S_ISLNK(st.st_mode))
        return CV4_ERR_SYMLINK;
    if (S_ISDIR(st.st_mode))
        return EISDIR;
    if (!S_ISREG(st.st_mode)) {
        *kind = cv4_file_kind(st.st_mode);
        return CV4_ERR_NOTREG;
    }
    do {
        fd = openat(dir, leaf, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return classify(dir, leaf, errno); /* swapped since the fstatat */
    *handle = fd;
    return 0;
}

int cv4_anchor_open_dir(const cv4_anchor *a, const char *rel, int *out)
{
    const char *leaf;
    int dir, fd, err;
    if (rel[0] == '\0') {
        do {
            fd = openat((int)a->root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        } while (fd < 0 && errno == EINTR);
        if (fd < 0)
            return errno;
        *out = fd;
        return 0;
    }
    err = parent_of(a, rel, &dir, &leaf);
    if (err)
        return err;
    do {
        fd = openat(dir, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return classify(dir, leaf, errno);
    *out = fd;
    return 0;
}

#else /* Windows */
#include "cv4_win32.h"

int cv4_anchor_best_mode(void) { return CV4_ANCHOR_PATH; }

int cv4_anchor_open(cv4_anchor *a, const char *root, int mode)
{
    size_t n = strlen(root);
    memset(a, 0, sizeof *a);
    a->root = -1;
    if (mode != CV4_ANCHOR_PATH)
        return EINVAL;
    a->root_path = (char *)malloc(n + 1);
    if (!a->root_path)
        return ENOMEM;
    memcpy(a->root_path, root, n + 1);
    a->mode = mode;
    a->id = cv4_atomic_add(&next_anchor_id, 1);
    return 0;
}

void cv4_anchor_close(cv4_anchor *a)
{
    free(a->root_path);
    a->root_path = NULL;
}

void cv4_anchor_thread_release(void) {}

int cv4_anchor_open_file(const cv4_anchor *a, const char *rel, intptr_t *handle, char *kind)
{
    size_t nroot, nrel = strlen(rel), i;
    char *joined;
    int err;
    HANDLE h;
    BY_HANDLE_FILE_INFORMATION info;
    if (!a->root_path)
        return EBADF;
    if (!valid_relative(rel, nrel))
        return EINVAL;
    nroot = strlen(a->root_path);
    joined = (char *)malloc(nroot + nrel + 2);
    if (!joined)
        return ENOMEM;
    memcpy(joined, a->root_path, nroot);
    joined[nroot] = '\\';
    for (i = 0; i <= nrel; i++)
        joined[nroot + 1 + i] = rel[i] == '/' ? '\\' : rel[i];
    /* FILE_FLAG_OPEN_REPARSE_POINT: a symlink or junction is opened itself, not followed. */
    err = cv4_win_open_read(joined, FILE_FLAG_OPEN_REPARSE_POINT, &h);
    free(joined);
    if (err || (err = cv4_win_file_info(h, &info)) != 0)
        return err;
    if (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) {
        CloseHandle(h);
        return CV4_ERR_SYMLINK;
    }
    (void)kind;
    *handle = (intptr_t)h;
    return 0;
}
#endif
