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

/* items (count == *cap of them, each size bytes) moved to room for twice as
 * many (first where there are none yet); NULL, and nothing changed, without memory. */
static void *grow(void *items, size_t *cap, size_t size, size_t first)
{
    size_t grown = *cap ? *cap * 2 : first;
    void *p = realloc(items, grown * size);
    if (p)
        *cap = grown;
    return p;
}

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
        cv4_scan_entry *p = (cv4_scan_entry *)grow(r->entries, &r->cap, sizeof *p, 256);
        if (!p)
            return CV4_ERR_NOMEM;
        r->entries = p;
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

static char type_of(mode_t mode)
{
    if (S_ISREG(mode)) return 'f';
    if (S_ISLNK(mode)) return 'l';
    return cv4_file_kind(mode);
}

/* Pending folders: a stack of paths in one buffer (offsets of their starts). */
typedef struct {
    char *text;
    size_t len, cap;
    size_t *starts;
    size_t count, cap_starts;
} pending_stack;

static int push(pending_stack *s, const char *dir, size_t ndir, const char *name)
{
    size_t at;
    int err;
    if (s->count == s->cap_starts) {
        size_t *p = (size_t *)grow(s->starts, &s->cap_starts, sizeof *p, 64);
        if (!p)
            return CV4_ERR_NOMEM;
        s->starts = p;
    }
    err = append_text(&s->text, &s->len, &s->cap, dir, ndir, name, name ? strlen(name) : 0, &at);
    if (err)
        return err;
    s->starts[s->count++] = at;
    return 0;
}

/* Lists one folder (its path is copied: the stack buffer may move). */
static int list_folder(const cv4_anchor *a, const char *path, cv4_scan_result *r, pending_stack *pending, int top)
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
        if (fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT)
                continue; /* removed since it was listed */
            err = add_entry(r, path, npath, entry->d_name, 'e', 0, errno);
        } else if (S_ISDIR(st.st_mode)) {
            err = push(pending, path, npath, entry->d_name);
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

int cv4_scan(const cv4_anchor *a, const char *folder, cv4_scan_result *out)
{
    pending_stack pending;
    char *current = NULL;
    size_t current_cap = 0;
    int err;
    memset(out, 0, sizeof *out);
    memset(&pending, 0, sizeof pending);
    err = list_folder(a, folder, out, &pending, 1);
    while (!err && pending.count) {
        size_t at = pending.starts[--pending.count];
        size_t n = pending.len - at; /* the top string and its NUL */
        if (n > current_cap) {
            char *p = (char *)realloc(current, n);
            if (!p) {
                err = CV4_ERR_NOMEM;
                break;
            }
            current = p;
            current_cap = n;
        }
        memcpy(current, pending.text + at, n);
        pending.len = at; /* popped: its children are pushed over it */
        err = list_folder(a, current, out, &pending, 0);
    }
    free(current);
    free(pending.text);
    free(pending.starts);
    cv4_anchor_thread_release();
    if (err)
        cv4_scan_free(out);
    return err;
}

#else
int cv4_scan(const cv4_anchor *a, const char *folder, cv4_scan_result *out)
{
    (void)a;
    (void)folder;
    memset(out, 0, sizeof *out);
    return ENOSYS; /* the pipeline lists folders in Python there */
}
#endif
