/* Anchored opening: every file of a project is opened relative to one
 * directory handle of the project root, and no symlink below that root is
 * ever followed (the pipeline's file layer, docs/CONTRACT.md "File layer").
 *
 * Modes, chosen at run time:
 *   openat2      Linux 5.6+: openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 *                RESOLVE_NO_MAGICLINKS) resolves a folder in one call;
 *   openat-walk  elsewhere on POSIX (macOS, older kernels, a seccomp filter
 *                that refuses openat2): one openat(O_NOFOLLOW | O_DIRECTORY)
 *                per path component;
 *   path         Windows: the joined path is opened without following a
 *                reparse point at the last component (FILE_FLAG_OPEN_REPARSE_POINT);
 *                the folders above it are not checked there.
 * In both POSIX modes each thread keeps the last folder it resolved open, so
 * consecutive files of one folder cost one fstatat and one openat each. The
 * file itself is checked with fstatat(AT_SYMLINK_NOFOLLOW) before it is
 * opened (a FIFO is never opened) and opened with O_NOFOLLOW. */
#ifndef CV4_ANCHOR_H
#define CV4_ANCHOR_H

#include <stddef.h>
#include <stdint.h>

enum { CV4_ANCHOR_OPENAT2 = 1, CV4_ANCHOR_WALK = 2, CV4_ANCHOR_PATH = 3 };

typedef struct cv4_anchor {
    intptr_t root;   /* POSIX: the root's directory fd */
    int mode;        /* CV4_ANCHOR_* */
    uint64_t id;     /* tells one anchor's cached folders from another's */
    char *root_path; /* Windows: the root as given (UTF-8) */
} cv4_anchor;

/* The best mode this process can use (openat2 probed once). */
int cv4_anchor_best_mode(void);
const char *cv4_anchor_mode_name(int mode);

/* Opens the root (symlinks above and at the root itself are the caller's
 * choice and are followed). 0 or an errno value. */
int cv4_anchor_open(cv4_anchor *a, const char *root, int mode);
void cv4_anchor_close(cv4_anchor *a);

/* Opens the regular file at rel ("a/b/c", no empty, "." or ".." component)
 * for reading. 0 and *handle; CV4_ERR_SYMLINK when a component is a symlink;
 * CV4_ERR_NOTREG (and *kind) for a FIFO, socket or device, never opened;
 * EISDIR; or an errno value. */
int cv4_anchor_open_file(const cv4_anchor *a, const char *rel, intptr_t *handle, char *kind);

/* Closes this thread's cached folder (at the end of every worker and scan). */
void cv4_anchor_thread_release(void);

#if !defined(_WIN32)
/* Opens the folder at rel ("" for the root itself) for listing: a new fd the
 * caller closes. Same errors as cv4_anchor_open_file (ENOTDIR for a file). */
int cv4_anchor_open_dir(const cv4_anchor *a, const char *rel, int *fd);
#endif

#endif
