/*
 * sigmask.h - how s3warden starts a thread: with the asynchronous signals
 * (SIGHUP, SIGTERM, SIGUSR1, ...) blocked from its first instruction, so
 * that the kernel gives them to the main thread, whose libuv loop handles
 * them. Besides keeping signal handling in one place, it keeps secrets off
 * the other threads' stacks: a handler's frame is written on the stack of
 * the thread it interrupts, with every vector register in it (xsave), and a
 * worker's registers hold the request head it has just copied, session
 * token included. Faults (SIGSEGV, SIGBUS, ...) stay deliverable, so that a
 * sanitizer or a core dump still sees them, and so does SIGPIPE (ignored;
 * a blocked one would stay pending). SIGPROF is blocked too: a profiler
 * driven by ITIMER_PROF samples the main thread only (perf is not one).
 */
#ifndef S3W_SIGMASK_H
#define S3W_SIGMASK_H

#include <pthread.h>
#include <signal.h>

/* pthread_create(t, NULL, fn, arg) with those signals blocked in the new
 * thread (it inherits the mask, which the caller gets back as it was). */
static inline int s3w_thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
    static const int synchronous[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP,
                                       SIGSYS, SIGABRT, SIGPIPE };
    sigset_t block, old;
    sigfillset(&block);
    for (size_t i = 0; i < sizeof synchronous / sizeof synchronous[0]; i++)
        sigdelset(&block, synchronous[i]);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(t, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

#endif
