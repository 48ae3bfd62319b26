/*
 * supervisor.c - fork/exec, reap and restart workers, and run the snapshot
 * helper (see supervisor.h).
 *
 * Between fork and exec the child only calls async-signal-safe functions:
 * the broker process runs ZeroMQ's I/O threads, and only the forking
 * thread exists in the child.
 */
#include "supervisor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

enum { MAX_ARGS = 40, FAST_EXIT_US = 5000000, MAX_DELAY_MS = 30000 };

/* An argument vector for execv. */
typedef struct args {
    char *v[MAX_ARGS];
    int n;
} args;

typedef struct slot {
    pid_t pid; /* 0: not running */
    int64_t started_us;
    int64_t due_us; /* when not running: start at or after this */
    int fast_exits; /* consecutive exits soon after starting */
} slot;

struct hb_supervisor {
    slot *slots;
    size_t nslots;
    args worker;        /* a worker's command line */
    args snapshot;      /* the snapshot helper's; n == 0 without a snapshot dir */
    pid_t snapshot_pid; /* the helper running now, or 0 */
    int snapshot_again; /* asked for again while it ran */
    int stopping;
    uint64_t restarts;
    pid_t self;
};

static int add_arg(args *a, const char *arg)
{
    if (a->n >= MAX_ARGS - 1 || !(a->v[a->n] = strdup(arg)))
        return -1;
    a->n++;
    return 0;
}

static int add_opt(args *a, const char *name, long v)
{
    char num[32];
    snprintf(num, sizeof num, "%ld", v);
    return add_arg(a, name) | add_arg(a, num);
}

static void args_free(args *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->v[i]);
    a->n = 0;
}

/* What a worker and the snapshot helper both need: the directories to
 * load and the log level. */
static int add_common(args *a, const hb_service_config *cfg)
{
    static const char *const LEVEL[] = {"debug", "info", "warn", "error"};
    int bad = add_arg(a, "--models") | add_arg(a, cfg->models);
    bad |= add_arg(a, "--rules") | add_arg(a, cfg->rules);
    if (cfg->feeds[0])
        bad |= add_arg(a, "--feeds") | add_arg(a, cfg->feeds);
    if (cfg->snapshot_dir[0])
        bad |= add_arg(a, "--snapshot-dir") | add_arg(a, cfg->snapshot_dir);
    bad |= add_arg(a, "--log-level") | add_arg(a, LEVEL[cfg->log_level & 3]);
    return bad;
}

hb_supervisor *hb_supervisor_new(const hb_service_config *cfg, const char *backend)
{
    hb_supervisor *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->self = getpid();
    s->nslots = (size_t)cfg->workers;
    s->slots = calloc(s->nslots ? s->nslots : 1, sizeof *s->slots);
    args *w = &s->worker;
    int bad = !s->slots;
    bad |= add_arg(w, "hubaod") | add_arg(w, "--worker") | add_arg(w, "--supervised");
    bad |= add_arg(w, "--connect") | add_arg(w, backend) | add_common(w, cfg);
    bad |= add_opt(w, "--max-text-bytes", cfg->max_text_bytes);
    bad |= add_opt(w, "--max-batch", cfg->max_batch);
    bad |= add_opt(w, "--top-features", cfg->top_features);
    bad |= add_opt(w, "--heartbeat-ms", cfg->heartbeat_ms);
    bad |= add_opt(w, "--liveness", cfg->liveness);
    if (cfg->unmask)
        bad |= add_arg(w, "--unmask");
    if (cfg->brief)
        bad |= add_arg(w, "--brief");
    if (cfg->snapshot_dir[0])
        bad |= add_arg(&s->snapshot, "hubaod") | add_arg(&s->snapshot, "--snapshot") |
               add_common(&s->snapshot, cfg);
    if (bad) {
        hb_supervisor_free(s);
        return NULL;
    }
    return s;
}

static void describe_status(int status, char *out, size_t cap)
{
    if (WIFSIGNALED(status))
        snprintf(out, cap, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else if (WIFEXITED(status))
        snprintf(out, cap, "exited with status %d%s", WEXITSTATUS(status),
                 WEXITSTATUS(status) == 3 ? " (could not load models or rules)" : "");
    else
        snprintf(out, cap, "stopped (status %d)", status);
}

/* Start this binary with a's arguments; the child's pid, or -1. */
static pid_t spawn(const hb_supervisor *s, const args *a)
{
    pid_t pid = fork();
    if (pid == 0) {
        /* the child: async-signal-safe calls only until exec */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != s->self)
            _exit(1); /* the broker died before the prctl */
        execv("/proc/self/exe", a->v);
        _exit(127);
    }
    return pid;
}

static void start(hb_supervisor *s, slot *sl, int64_t now)
{
    pid_t pid = spawn(s, &s->worker);
    if (pid < 0) {
        hb_log(HB_LOG_ERROR, "cannot start a worker: fork: %s", strerror(errno));
        sl->due_us = now + 1000000;
        return;
    }
    sl->pid = pid;
    sl->started_us = now;
    hb_log(HB_LOG_INFO, "started worker pid %d", (int)pid);
}

long hb_supervisor_tick(hb_supervisor *s, int64_t now)
{
    int64_t next = -1;
    for (size_t i = 0; i < s->nslots && !s->stopping; i++) {
        slot *sl = &s->slots[i];
        if (sl->pid)
            continue;
        if (sl->due_us <= now)
            start(s, sl, now);
        if (!sl->pid && (next < 0 || sl->due_us < next))
            next = sl->due_us;
    }
    if (next < 0)
        return -1;
    return next <= now ? 0 : (long)((next - now + 999) / 1000);
}

void hb_supervisor_snapshot(hb_supervisor *s)
{
    if (s->snapshot.n == 0 || s->stopping)
        return;
    if (s->snapshot_pid) {
        s->snapshot_again = 1; /* the files may have changed since it began */
        return;
    }
    s->snapshot_again = 0;
    s->snapshot_pid = spawn(s, &s->snapshot);
    if (s->snapshot_pid < 0) {
        hb_log(HB_LOG_ERROR, "cannot take a snapshot of the models: fork: %s",
               strerror(errno));
        s->snapshot_pid = 0;
    }
}

/* The snapshot helper exited: say how, and start it again if asked. */
static void snapshot_done(hb_supervisor *s, int status)
{
    s->snapshot_pid = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        hb_log(HB_LOG_INFO, "snapshot taken: a worker that restarts while the configured "
                            "models are broken loads this set");
    } else {
        char why[128];
        describe_status(status, why, sizeof why);
        hb_log(HB_LOG_WARN, "snapshot helper %s; the previous snapshot stays", why);
    }
    if (s->snapshot_again)
        hb_supervisor_snapshot(s);
}

void hb_supervisor_reap(hb_supervisor *s, hb_worker_gone_fn *gone, void *ctx)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == s->snapshot_pid) {
            snapshot_done(s, status);
            continue;
        }
        slot *sl = NULL;
        for (size_t i = 0; i < s->nslots; i++)
            if (s->slots[i].pid == pid)
                sl = &s->slots[i];
        if (!sl)
            continue;
        char why[128];
        describe_status(status, why, sizeof why);
        int64_t now = hb_clock_us();
        sl->pid = 0;
        if (now - sl->started_us < FAST_EXIT_US)
            sl->fast_exits++;
        else
            sl->fast_exits = 0;
        long delay_ms = 0;
        if (sl->fast_exits > 1) {
            delay_ms = 250L << (sl->fast_exits > 8 ? 7 : sl->fast_exits - 2);
            if (delay_ms > MAX_DELAY_MS)
                delay_ms = MAX_DELAY_MS;
        }
        sl->due_us = now + delay_ms * 1000;
        if (!s->stopping) {
            s->restarts++;
            hb_log(WIFEXITED(status) && WEXITSTATUS(status) == 0 ? HB_LOG_INFO
                                                                 : HB_LOG_WARN,
                   "worker pid %d %s; restarting it%s", (int)pid, why,
                   delay_ms ? " after a pause" : "");
        } else {
            hb_log(HB_LOG_INFO, "worker pid %d %s", (int)pid, why);
        }
        if (gone)
            gone(ctx, pid, why);
    }
}

void hb_supervisor_stop_restarts(hb_supervisor *s)
{
    s->stopping = 1;
}

uint64_t hb_supervisor_restarts(const hb_supervisor *s)
{
    return s->restarts;
}

size_t hb_supervisor_running(const hb_supervisor *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nslots; i++)
        n += s->slots[i].pid != 0;
    return n;
}

void hb_supervisor_stop(hb_supervisor *s, int grace_ms)
{
    s->stopping = 1;
    if (s->snapshot_pid) { /* a half-made set is never current: just stop it */
        kill(s->snapshot_pid, SIGKILL);
        waitpid(s->snapshot_pid, NULL, 0);
        s->snapshot_pid = 0;
    }
    for (size_t i = 0; i < s->nslots; i++)
        if (s->slots[i].pid)
            kill(s->slots[i].pid, SIGTERM);
    int64_t until = hb_clock_us() + (int64_t)grace_ms * 1000;
    while (hb_supervisor_running(s) > 0) {
        hb_supervisor_reap(s, NULL, NULL);
        if (hb_supervisor_running(s) == 0)
            break;
        if (hb_clock_us() >= until) {
            for (size_t i = 0; i < s->nslots; i++)
                if (s->slots[i].pid) {
                    hb_log(HB_LOG_WARN, "worker pid %d did not stop; killing it",
                           (int)s->slots[i].pid);
                    kill(s->slots[i].pid, SIGKILL);
                    waitpid(s->slots[i].pid, NULL, 0);
                    s->slots[i].pid = 0;
                }
            break;
        }
        usleep(10000);
    }
}

void hb_supervisor_free(hb_supervisor *s)
{
    if (!s)
        return;
    if (hb_supervisor_running(s) > 0 || s->snapshot_pid)
        hb_supervisor_stop(s, 2000);
    args_free(&s->worker);
    args_free(&s->snapshot);
    free(s->slots);
    free(s);
}
