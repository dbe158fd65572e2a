/* The native scan (see cv4_scan.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cv4_io.h"
#include "cv4_scan.h"

void cv4_scan_free(cv4_scan_result *r)
{
    free(r->names);
    free(r->entries);
    memset(r, 0, sizeof *r);
}

#if !defined(_WIN32)
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* A growable byte buffer of NUL-terminated strings. */
static int append_text(char **buf, size_t *len, size_t *cap, const char *a, size_t na, const char *b, size_t nb,
                       size_t *at)
{
    size_t need = *len + na + (nb ? nb + 1 : 0) + 1;
    if (need > *cap) {
        size_t grown = *cap ? *cap : 4096;
        char *p;
        while (grown < need)
            grown *= 2;
        p = (char *)realloc(*buf, grown);
        if (!p)
            return CV4_ERR_NOMEM;
        *buf = p;
        *cap = grown;
    }
    *at = *len;
    memcpy(*buf + *len, a, na);
    *len += na;
    if (nb) {
        if (na)
            (*buf)[(*len)++] = '/';
        memcpy(*buf + *len, b, nb);
        *len += nb;
    }
    (*buf)[(*len)++] = '\0';
    return 0;
}

static int add_entry(cv4_scan_result *r, const char *dir, size_t ndir, const char *name, char type, uint64_t size,
                     int error)
{
    cv4_scan_entry *e;
    size_t at;
    int err;
    if (r->count == r->cap) {
        size_t grown = r->cap ? r->cap * 2 : 256;
        cv4_scan_entry *p = (cv4_scan_entry *)realloc(r->entries, grown * sizeof *p);
        if (!p)
            return CV4_ERR_NOMEM;
        r->entries = p;
        r->cap = grown;
    }
    err = append_text(&r->names, &r->names_len, &r->names_cap, dir, ndir, name, name ? strlen(name) : 0, &at);
    if (err)
        return err;
    e = &r->entries[r->count++];
    e->name_at = at;
    e->size = size;
    e->type = type;
    e->error = error;
    return 0;
}

/* The type the listing gives (no stat needed), or 0 where it gives none (DT_UNKNOWN). */
static char type_of_dirent(const struct dirent *entry)
{
#ifdef DT_UNKNOWN
    switch (entry->d_type) {
    case DT_REG: return 'f';
    case DT_DIR: return 'D';
    case DT_LNK: return 'l';
    case DT_FIFO: return 'p';
    case DT_SOCK: return 's';
    case DT_CHR: return 'c';
    case DT_BLK: return 'b';
    default: return 0;
    }
#else
    (void)entry;
    return 0;
#endif
}

static char type_of(mode_t mode)
{
    if (S_ISREG(mode)) return 'f';
    if (S_ISLNK(mode)) return 'l';
    return cv4_file_kind(mode);
}

/* Lists one folder (its path is copied: the stack buffer may move). */
static int list_folder(const cv4_anchor *a, const char *path, int flags, cv4_scan_result *r, cv4_scan_result *pending,
                       int top)
{
    size_t npath = strlen(path);
    int fd, err;
    DIR *dir;
    struct dirent *entry;
    err = cv4_anchor_open_dir(a, path, &fd);
    if (err) {
        if (top)
            return err;
        /* Swapped for a symlink since its parent was listed: the symlink is the entry. */
        return add_entry(r, path, npath, NULL, err == CV4_ERR_SYMLINK ? 'l' : 'd', 0,
                         err == CV4_ERR_SYMLINK ? 0 : err);
    }
    dir = fdopendir(fd);
    if (!dir) {
        err = errno;
        close(fd);
        return top ? err : add_entry(r, path, npath, NULL, 'd', 0, err);
    }
    for (;;) {
        struct stat st;
        errno = 0;
        entry = readdir(dir);
        if (!entry) {
            if (errno)
                err = add_entry(r, path, npath, NULL, 'd', 0, errno);
            break;
        }
        if (entry->d_name[0] == '.' && (entry->d_name[1] == '\0' || (entry->d_name[1] == '.' && entry->d_name[2] == '\0')))
            continue;
        if (flags & CV4_SCAN_NO_SIZES) {
            char listed = type_of_dirent(entry);
            if (listed == 'D') {
                err = add_entry(pending, path, npath, entry->d_name, 'd', 0, 0);
                if (err)
                    break;
                continue;
            }
            if (listed) {
                err = add_entry(r, path, npath, entry->d_name, listed, listed == 'f' ? CV4_SCAN_UNSIZED : 0, 0);
                if (err)
                    break;
                continue;
            }
        }
        if (fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT)
                continue; /* removed since it was listed */
            err = add_entry(r, path, npath, entry->d_name, 'e', 0, errno);
        } else if (S_ISDIR(st.st_mode)) {
            err = add_entry(pending, path, npath, entry->d_name, 'd', 0, 0);
        } else {
            err = add_entry(r, path, npath, entry->d_name, type_of(st.st_mode),
                            S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0, 0);
        }
        if (err)
            break;
    }
    closedir(dir);
    return err;
}

/* The folders still to list are kept as a scan result used as a stack (the
 * last entry on top): the same growable names and entries, pushed with
 * add_entry; a pop also drops the top path from the names. */
int cv4_scan(const cv4_anchor *a, const char *folder, int flags, cv4_scan_result *out)
{
    cv4_scan_result pending;
    char *current = NULL;
    size_t current_cap = 0;
    int err;
    memset(out, 0, sizeof *out);
    memset(&pending, 0, sizeof pending);
    err = list_folder(a, folder, flags, out, &pending, 1);
    while (!err && pending.count) {
        size_t at = pending.entries[--pending.count].name_at;
        size_t n = pending.names_len - at; /* the top string and its NUL */
        if (n > current_cap) {
            char *p = (char *)realloc(current, n);
            if (!p) {
                err = CV4_ERR_NOMEM;
                break;
            }
            current = p;
            current_cap = n;
        }
        memcpy(current, pending.names + at, n);
        pending.names_len = at; /* popped: its children are pushed over it */
        err = list_folder(a, current, flags, out, &pending, 0);
    }
    free(current);
    cv4_scan_free(&pending);
    cv4_anchor_thread_release();
    if (err)
        cv4_scan_free(out);
    return err;
}

#else
int cv4_scan(const cv4_anchor *a, const char *folder, int flags, cv4_scan_result *out)
{
    (void)a;
    (void)folder;
    (void)flags;
    memset(out, 0, sizeof *out);
    return ENOSYS; /* the pipeline lists folders in Python there */
}
#endif
