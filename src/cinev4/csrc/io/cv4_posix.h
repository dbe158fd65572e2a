/* What the POSIX side of the file layer (cv4_io.c, cv4_anchor.c) includes,
 * with the open flags some systems lack defined as no-ops. The counterpart
 * of cv4_win32.h. Not for Windows. */
#ifndef CV4_POSIX_H
#define CV4_POSIX_H

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif
#ifndef O_NOCTTY
#define O_NOCTTY 0
#endif
#endif

#endif
