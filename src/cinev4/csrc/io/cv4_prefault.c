/* The prefault helper thread (see cv4_prefault.h). */
#include <stdlib.h>

#include "cv4_platform.h"
#include "cv4_prefault.h"

#if defined(__linux__)
#include <sched.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14; older headers lack the name */
#endif

struct cv4_prefaulter {
    cv4_mutex lock;
    cv4_cond changed;
    cv4_thread thread;
    const void *pending; /* posted, not started */
    size_t pending_len;
    const void *busy;    /* being populated now */
    int stop;
};

static CV4_THREAD_FN prefault_main(void *arg)
{
    cv4_prefaulter *p = (cv4_prefaulter *)arg;
    cv4_mutex_lock(&p->lock);
    for (;;) {
        const void *addr;
        size_t len;
        while (!p->pending && !p->stop)
            cv4_cond_timedwait_ms(&p->changed, &p->lock, 1000);
        if (p->stop)
            break;
        addr = p->busy = p->pending;
        len = p->pending_len;
        p->pending = NULL;
        cv4_mutex_unlock(&p->lock);
        /* Errors (a truncated file: EFAULT) are left for the hashing thread
         * to meet, with its fault guard armed. */
        (void)madvise((void *)addr, len, MADV_POPULATE_READ);
        cv4_mutex_lock(&p->lock);
        p->busy = NULL;
        cv4_cond_broadcast(&p->changed);
    }
    cv4_mutex_unlock(&p->lock);
    CV4_THREAD_RETURN;
}

/* EINVAL on kernels before 5.14: then the helper would only cost a thread. */
static int populate_supported(void)
{
    static int known = -1;
    if (known < 0) {
        void *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        known = page != MAP_FAILED && madvise(page, 4096, MADV_POPULATE_READ) == 0;
        if (page != MAP_FAILED)
            munmap(page, 4096);
    }
    return known;
}

int cv4_prefaulter_available(void) { return populate_supported(); }

cv4_prefaulter *cv4_prefaulter_start(void)
{
    cv4_prefaulter *p;
    if (!populate_supported() || (p = (cv4_prefaulter *)calloc(1, sizeof *p)) == NULL)
        return NULL;
    cv4_mutex_init(&p->lock);
    cv4_cond_init(&p->changed);
    if (cv4_thread_start(&p->thread, prefault_main, p) != 0) {
        cv4_cond_destroy(&p->changed);
        cv4_mutex_destroy(&p->lock);
        free(p);
        return NULL;
    }
    return p;
}

void cv4_prefaulter_post(cv4_prefaulter *p, const void *addr, size_t len)
{
    cv4_mutex_lock(&p->lock);
    p->pending = addr;
    p->pending_len = len;
    cv4_cond_broadcast(&p->changed);
    cv4_mutex_unlock(&p->lock);
}

void cv4_prefaulter_retract(cv4_prefaulter *p, const void *addr)
{
    cv4_mutex_lock(&p->lock);
    if (p->pending == addr)
        p->pending = NULL;
    /* Populating a range that is then unmapped and reused by another mapping
     * would fault in pages nobody asked for: wait for it instead. */
    while (p->busy == addr)
        cv4_cond_timedwait_ms(&p->changed, &p->lock, 100);
    cv4_mutex_unlock(&p->lock);
}

void cv4_prefaulter_stop(cv4_prefaulter *p)
{
    if (!p)
        return;
    cv4_mutex_lock(&p->lock);
    p->stop = 1;
    cv4_cond_broadcast(&p->changed);
    cv4_mutex_unlock(&p->lock);
    cv4_thread_join(p->thread);
    cv4_cond_destroy(&p->changed);
    cv4_mutex_destroy(&p->lock);
    free(p);
}

int cv4_usable_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        return CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1;
    return 1;
}

#else /* no MADV_POPULATE_READ: the hashing thread faults its windows in itself */

struct cv4_prefaulter {
    int unused;
};
int cv4_prefaulter_available(void) { return 0; }
cv4_prefaulter *cv4_prefaulter_start(void) { return NULL; }
void cv4_prefaulter_post(cv4_prefaulter *p, const void *addr, size_t len) { (void)p, (void)addr, (void)len; }
void cv4_prefaulter_retract(cv4_prefaulter *p, const void *addr) { (void)p, (void)addr; }
void cv4_prefaulter_stop(cv4_prefaulter *p) { (void)p; }
int cv4_usable_cpus(void) { return 1; }
#endif
