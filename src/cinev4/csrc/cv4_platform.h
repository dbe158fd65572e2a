/* The few portability shims the engine needs: threads, a mutex with a timed
 * condition wait, relaxed atomics on 64-bit counters, thread-local storage. */
#ifndef CV4_PLATFORM_H
#define CV4_PLATFORM_H

#include <stdint.h>

/* Everything here is static inline: each file that includes this header uses
 * a few of the shims, and an unused inline function is no warning. */
#if defined(_MSC_VER)
#define CV4_INLINE static __inline
#else
#define CV4_INLINE static inline
#endif

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <process.h>

typedef HANDLE cv4_thread;
typedef CRITICAL_SECTION cv4_mutex;
typedef CONDITION_VARIABLE cv4_cond;
#define CV4_THREAD_FN unsigned __stdcall
#define CV4_THREAD_RETURN return 0

CV4_INLINE int cv4_thread_start(cv4_thread *t, unsigned(__stdcall *fn)(void *), void *arg)
{
    *t = (HANDLE)_beginthreadex(NULL, 0, fn, arg, 0, NULL);
    return *t ? 0 : -1;
}
CV4_INLINE void cv4_thread_join(cv4_thread t)
{
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
}
CV4_INLINE void cv4_mutex_init(cv4_mutex *m) { InitializeCriticalSection(m); }
CV4_INLINE void cv4_mutex_destroy(cv4_mutex *m) { DeleteCriticalSection(m); }
CV4_INLINE void cv4_mutex_lock(cv4_mutex *m) { EnterCriticalSection(m); }
CV4_INLINE void cv4_mutex_unlock(cv4_mutex *m) { LeaveCriticalSection(m); }
CV4_INLINE void cv4_cond_init(cv4_cond *c) { InitializeConditionVariable(c); }
CV4_INLINE void cv4_cond_destroy(cv4_cond *c) { (void)c; }
CV4_INLINE void cv4_cond_broadcast(cv4_cond *c) { WakeAllConditionVariable(c); }
CV4_INLINE void cv4_cond_timedwait_ms(cv4_cond *c, cv4_mutex *m, unsigned ms) { SleepConditionVariableCS(c, m, ms); }

CV4_INLINE uint64_t cv4_atomic_add(volatile uint64_t *p, uint64_t v)
{
    return (uint64_t)InterlockedExchangeAdd64((volatile LONG64 *)p, (LONG64)v);
}
CV4_INLINE uint64_t cv4_atomic_load(volatile uint64_t *p)
{
    return (uint64_t)InterlockedCompareExchange64((volatile LONG64 *)p, 0, 0);
}
CV4_INLINE void cv4_atomic_store(volatile uint64_t *p, uint64_t v) { InterlockedExchange64((volatile LONG64 *)p, (LONG64)v); }
CV4_INLINE uint64_t cv4_now_ns(void)
{
    LARGE_INTEGER count, freq;
    QueryPerformanceCounter(&count);
    QueryPerformanceFrequency(&freq);
    return (uint64_t)((double)count.QuadPart * 1e9 / (double)freq.QuadPart);
}

#else /* POSIX */
#include <pthread.h>
#include <sys/time.h>
#include <time.h>

typedef pthread_t cv4_thread;
typedef pthread_mutex_t cv4_mutex;
typedef pthread_cond_t cv4_cond;
#define CV4_THREAD_FN void *
#define CV4_THREAD_RETURN return NULL

CV4_INLINE int cv4_thread_start(cv4_thread *t, void *(*fn)(void *), void *arg)
{
    return pthread_create(t, NULL, fn, arg) == 0 ? 0 : -1;
}
CV4_INLINE void cv4_thread_join(cv4_thread t) { pthread_join(t, NULL); }
CV4_INLINE void cv4_mutex_init(cv4_mutex *m) { pthread_mutex_init(m, NULL); }
CV4_INLINE void cv4_mutex_destroy(cv4_mutex *m) { pthread_mutex_destroy(m); }
CV4_INLINE void cv4_mutex_lock(cv4_mutex *m) { pthread_mutex_lock(m); }
CV4_INLINE void cv4_mutex_unlock(cv4_mutex *m) { pthread_mutex_unlock(m); }
CV4_INLINE void cv4_cond_init(cv4_cond *c) { pthread_cond_init(c, NULL); }
CV4_INLINE void cv4_cond_destroy(cv4_cond *c) { pthread_cond_destroy(c); }
CV4_INLINE void cv4_cond_broadcast(cv4_cond *c) { pthread_cond_broadcast(c); }
/* Wall-clock based: a clock jump only makes one progress tick early or late. */
CV4_INLINE void cv4_cond_timedwait_ms(cv4_cond *c, cv4_mutex *m, unsigned ms)
{
    struct timeval now;
    struct timespec until;
    gettimeofday(&now, NULL);
    until.tv_sec = now.tv_sec + ms / 1000;
    until.tv_nsec = (long)now.tv_usec * 1000 + (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec += 1;
        until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(c, m, &until);
}

CV4_INLINE uint64_t cv4_atomic_add(volatile uint64_t *p, uint64_t v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
CV4_INLINE uint64_t cv4_atomic_load(volatile uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
CV4_INLINE void cv4_atomic_store(volatile uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
CV4_INLINE uint64_t cv4_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
}
#endif

#endif
