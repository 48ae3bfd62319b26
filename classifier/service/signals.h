/*
 * signals.h - turn POSIX signals into events on a file descriptor, so the
 * broker's and worker's zmq_poll loops see them like any other input (the
 * self-pipe trick).
 *
 * The handler only writes one byte naming the signal into a non-blocking
 * pipe: async-signal-safe, and a signal arriving while the loop is busy
 * is never lost.  The pipe is process-wide state by nature (a signal
 * handler has no context argument); its descriptors are close-on-exec.
 */
#ifndef HB_SERVICE_SIGNALS_H
#define HB_SERVICE_SIGNALS_H

enum {
    HB_SIG_TERM = 1 << 0, /* SIGTERM or SIGINT: drain and stop */
    HB_SIG_HUP = 1 << 1,  /* SIGHUP: reload models and rules */
    HB_SIG_CHLD = 1 << 2, /* SIGCHLD: a child process exited */
};

/* Install handlers for the signals in mask (HB_SIG_*); SIGPIPE is ignored.
 * Returns the descriptor to poll for reading, or -1 (errno set). */
int hb_signals_open(unsigned mask);

/* Drain the pipe and return the HB_SIG_* bits of the signals received
 * since the last call (0 if none). */
unsigned hb_signals_take(void);

/* Restore default handlers and close the pipe. */
void hb_signals_close(void);

#endif
