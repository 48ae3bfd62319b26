/*
 * supervisor.h - the worker processes of one hubaod: start them, notice
 * when one exits, start a replacement, stop them all at the end.
 *
 * Workers are started with fork + exec of this same binary
 * (/proc/self/exe --worker --supervised --connect BACKEND ...), so each is
 * a fresh process that shares nothing with the broker (no ZeroMQ context
 * copied across fork).  A worker dies with the broker (PR_SET_PDEATHSIG).
 *
 * A worker that exits is restarted at once; one that keeps dying within
 * seconds of starting (a bundle that fails to load, a crash on start-up)
 * is restarted after a delay that doubles each time, up to 30 s, so a
 * broken installation logs a reason every few seconds instead of spinning.
 * With a snapshot directory, workers are told to fall back to its last
 * good set (snapshot.h), so a worker restarted while the configured
 * bundles are broken starts anyway.
 */
#ifndef HB_SERVICE_SUPERVISOR_H
#define HB_SERVICE_SUPERVISOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

typedef struct hb_supervisor hb_supervisor;

/* Called for each worker process that exited (before any restart). */
typedef void hb_worker_gone_fn(void *ctx, pid_t pid, const char *why);

/* A supervisor for cfg->workers workers that connect to backend (copied).
 * Starts nothing yet.  Returns NULL when out of memory. */
hb_supervisor *hb_supervisor_new(const hb_service_config *cfg, const char *backend);

/* Stop every worker still running: SIGTERM, then SIGKILL for those still
 * there after grace_ms; reaps them all.  No restarts afterwards. */
void hb_supervisor_stop(hb_supervisor *sup, int grace_ms);

/* Stop the workers (2 s grace) if still running, and free; NULL is fine. */
void hb_supervisor_free(hb_supervisor *sup);

/* Reap the workers that exited (call on SIGCHLD), reporting each to gone,
 * and schedule their restarts. */
void hb_supervisor_reap(hb_supervisor *sup, hb_worker_gone_fn *gone, void *ctx);

/* Start the workers that are due (all of them on the first call).
 * Returns the milliseconds until the next scheduled start, or -1 if none
 * is pending.  Does nothing once hb_supervisor_stop_restarts was called. */
long hb_supervisor_tick(hb_supervisor *sup, int64_t now_us);

/* Take a new snapshot of the configured models, rules and feeds
 * (snapshot.h) in a helper process (this binary with --snapshot), which
 * logs why if the set does not load; call after a reload some worker
 * accepted.  One helper at a time: asked again while one runs, it runs
 * once more afterwards.  Does nothing without cfg->snapshot_dir, or once
 * stopping. */
void hb_supervisor_snapshot(hb_supervisor *sup);

/* No more restarts (the service is shutting down). */
void hb_supervisor_stop_restarts(hb_supervisor *sup);

/* Workers started after an exit, since the start. */
uint64_t hb_supervisor_restarts(const hb_supervisor *sup);

/* Worker processes running now. */
size_t hb_supervisor_running(const hb_supervisor *sup);

#endif
