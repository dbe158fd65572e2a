/* The Windows helpers the file layer shares (cv4_io.c, cv4_anchor.c): Win32
 * error codes as errno values, UTF-8 paths as the UTF-16 ones the W APIs
 * take, and the one way a file is opened for reading. Windows only. */
#ifndef CV4_WIN32_H
#define CV4_WIN32_H

#if defined(_WIN32)
#include <errno.h>
#include <stdlib.h>
#include <windows.h>

#include "cv4_platform.h"

CV4_INLINE int cv4_win_errno(DWORD e)
{
    switch (e) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
        return ENOENT;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
        return EACCES;
    case ERROR_NOT_ENOUGH_MEMORY:
        return ENOMEM;
    default:
        return EIO;
    }
}

/* *out (to free) holds path in UTF-16; 0, EINVAL (not UTF-8) or ENOMEM. */
CV4_INLINE int cv4_utf8_to_wide(const char *path, wchar_t **out)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, NULL, 0);
    if (n <= 0)
        return EINVAL;
    *out = (wchar_t *)malloc((size_t)n * sizeof(wchar_t));
    if (!*out)
        return ENOMEM;
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, *out, n);
    return 0;
}

/* Opens the UTF-8 path for reading, sequentially, sharing it with writers and
 * deleters; extra_flags adds CreateFileW flags. 0 and *h, or an errno value. */
CV4_INLINE int cv4_win_open_read(const char *path, DWORD extra_flags, HANDLE *h)
{
    wchar_t *wide;
    int err = cv4_utf8_to_wide(path, &wide);
    if (err)
        return err;
    *h = CreateFileW(wide, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                     FILE_FLAG_SEQUENTIAL_SCAN | FILE_FLAG_BACKUP_SEMANTICS | extra_flags, NULL);
    free(wide);
    return *h == INVALID_HANDLE_VALUE ? cv4_win_errno(GetLastError()) : 0;
}

/* GetFileInformationByHandle: 0, or an errno value with h closed. */
CV4_INLINE int cv4_win_file_info(HANDLE h, BY_HANDLE_FILE_INFORMATION *info)
{
    int err;
    if (GetFileInformationByHandle(h, info))
        return 0;
    err = cv4_win_errno(GetLastError());
    CloseHandle(h);
    return err;
}
#endif

#endif
