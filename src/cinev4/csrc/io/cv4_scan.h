/* The native scan of a version folder: one iterative walk from anchored
 * folder handles (cv4_anchor.h), no recursion and one folder open at a time
 * (a tree 1,000 folders deep costs no more descriptors than a flat one), one
 * fstatat(AT_SYMLINK_NOFOLLOW) per entry (or none: CV4_SCAN_NO_SIZES). No
 * symlink is followed: a symlink is an entry of its own, like a FIFO, socket
 * or device. */
#ifndef CV4_SCAN_H
#define CV4_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "cv4_anchor.h"

typedef struct {
    size_t name_at; /* offset in names of the path (relative to the root, NUL-terminated) */
    uint64_t size;  /* regular files */
    char type;      /* 'f' regular file, 'l' symlink, 'p' FIFO, 's' socket, 'c'/'b' device,
                       '?' other, 'd' a folder that could not be listed, 'e' an entry that could not be stat'ed */
    int error;      /* 'd' and 'e': errno (or CV4_ERR_*) */
} cv4_scan_entry;

typedef struct {
    char *names;
    size_t names_len, names_cap;
    cv4_scan_entry *entries;
    size_t count, cap;
} cv4_scan_result;

/* CV4_SCAN_NO_SIZES: the entries' types from the listing itself (d_type) where the file
 * system gives them, with no fstatat per entry; regular files then have size
 * CV4_SCAN_UNSIZED. A check that opens every file anyway (verify) needs no size here. */
#define CV4_SCAN_NO_SIZES 1
#define CV4_SCAN_UNSIZED UINT64_MAX

/* Every entry below `folder` (relative to the anchor's root) that is not a
 * listed folder. 0, or the error opening `folder` itself (ENOENT, ENOTDIR,
 * CV4_ERR_SYMLINK, ENOSYS where there is no native scan). Entries are in
 * walk order (the caller sorts). `flags`: 0 or CV4_SCAN_NO_SIZES. */
int cv4_scan(const cv4_anchor *a, const char *folder, int flags, cv4_scan_result *out);
void cv4_scan_free(cv4_scan_result *r);

#endif
