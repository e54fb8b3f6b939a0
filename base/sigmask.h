/*
 * sigmask.h - the first call of every thread s3warden starts: the
 * asynchronous signals (SIGHUP, SIGTERM, SIGUSR1, ...) blocked, so that the
 * kernel gives them to the main thread, whose libuv loop handles them.
 * Besides keeping signal handling in one place, it keeps secrets off the
 * other threads' stacks: a handler's frame is written on the stack of the
 * thread it interrupts, with every vector register in it (xsave), and a
 * worker's registers hold the request head it has just copied, session
 * token included. Faults (SIGSEGV, SIGBUS, ...) stay deliverable, so that
 * a sanitizer or a core dump still sees them, and SIGPIPE, ignored, is
 * never left pending.
 */
#ifndef S3W_SIGMASK_H
#define S3W_SIGMASK_H

#include <pthread.h>
#include <signal.h>

static inline void s3w_thread_block_signals(void)
{
    static const int synchronous[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP,
                                       SIGSYS, SIGABRT, SIGPIPE };
    sigset_t s;
    sigfillset(&s);
    for (size_t i = 0; i < sizeof synchronous / sizeof synchronous[0]; i++)
        sigdelset(&s, synchronous[i]);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
}

#endif
