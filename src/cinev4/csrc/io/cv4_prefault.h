/* A helper thread that faults in the next mapped window of a file while the
 * hashing thread hashes the current one, so that the hashing thread only hashes.
 *
 * From the page cache, a mapped window costs its page faults (page-table work
 * for every 64 KiB of fault-around) on whichever thread first touches it.
 * MADV_POPULATE_READ (Linux 5.14+) does that work for a whole range in one call
 * and, unlike a touch loop, reports a truncated file as an error instead of
 * raising SIGBUS, so the helper needs no fault guard. Posting is best effort:
 * a newer post replaces one not yet started, and a range that is never
 * populated is simply faulted in by the hashing thread as before. */
#ifndef CV4_PREFAULT_H
#define CV4_PREFAULT_H

#include <stddef.h>

typedef struct cv4_prefaulter cv4_prefaulter;

/* 1 where a helper can run here (Linux with MADV_POPULATE_READ), else 0. */
int cv4_prefaulter_available(void);
/* Starts the helper thread; NULL where it cannot help (not Linux, a kernel
 * without MADV_POPULATE_READ, no memory or thread). */
cv4_prefaulter *cv4_prefaulter_start(void);
/* Asks for [addr, addr + len) to be populated; returns at once. */
void cv4_prefaulter_post(cv4_prefaulter *p, const void *addr, size_t len);
/* Before unmapping a posted range: drops it if not started, waits if in progress. */
void cv4_prefaulter_retract(cv4_prefaulter *p, const void *addr);
/* Stops and joins the thread (NULL is fine). */
void cv4_prefaulter_stop(cv4_prefaulter *p);

/* Online CPUs that this process may run on (1 when unknown). */
int cv4_usable_cpus(void);

#endif
