/*
 * signals.c - the self-pipe (see signals.h).
 */
#include "signals.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int pipe_fd[2] = {-1, -1};
static unsigned installed;

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char bit = sig == SIGHUP    ? HB_SIG_HUP
                        : sig == SIGCHLD ? HB_SIG_CHLD
                                         : HB_SIG_TERM;
    ssize_t w = write(pipe_fd[1], &bit, 1);
    (void)w; /* a full pipe already holds a wake-up */
    errno = saved;
}

static int set_handler(int sig, void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | (sig == SIGCHLD ? SA_NOCLDSTOP : 0);
    return sigaction(sig, &sa, NULL);
}

int hb_signals_open(unsigned mask)
{
    if (pipe(pipe_fd) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(pipe_fd[i], F_SETFL, fcntl(pipe_fd[i], F_GETFL) | O_NONBLOCK);
        fcntl(pipe_fd[i], F_SETFD, FD_CLOEXEC);
    }
    installed = mask;
    signal(SIGPIPE, SIG_IGN);
    if ((mask & HB_SIG_TERM) &&
        (set_handler(SIGTERM, on_signal) != 0 || set_handler(SIGINT, on_signal) != 0))
        return -1;
    if ((mask & HB_SIG_HUP) && set_handler(SIGHUP, on_signal) != 0)
        return -1;
    if ((mask & HB_SIG_CHLD) && set_handler(SIGCHLD, on_signal) != 0)
        return -1;
    return pipe_fd[0];
}

unsigned hb_signals_take(void)
{
    unsigned bits = 0;
    unsigned char buf[64];
    ssize_t n;
    while (pipe_fd[0] >= 0 && (n = read(pipe_fd[0], buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++)
            bits |= buf[i];
    return bits;
}

void hb_signals_close(void)
{
    if (installed & HB_SIG_TERM) {
        set_handler(SIGTERM, SIG_DFL);
        set_handler(SIGINT, SIG_DFL);
    }
    if (installed & HB_SIG_HUP)
        set_handler(SIGHUP, SIG_DFL);
    if (installed & HB_SIG_CHLD)
        set_handler(SIGCHLD, SIG_DFL);
    installed = 0;
    for (int i = 0; i < 2; i++) {
        if (pipe_fd[i] >= 0)
            close(pipe_fd[i]);
        pipe_fd[i] = -1;
    }
}
