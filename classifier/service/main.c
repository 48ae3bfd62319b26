/*
 * main.c - the hubaod command: read the settings, then either run one
 * worker (--worker) or the broker with its supervised worker pool.
 *
 *   hubaod [OPTIONS]                         broker + workers (parent process)
 *   hubaod --worker --connect ENDPOINT       one worker, e.g. on another host
 *   hubaod --snapshot --snapshot-dir DIR     (internal) snapshot the models
 *
 * The broker loads the models once and binds its sockets before any worker
 * starts, so bad models or a port that is taken fail fast with exit code 3
 * and no stray processes.  That first load is made from the first snapshot
 * (snapshot.h), the set a restarted worker falls back to.
 *
 * Started as root with --user NAME (runas.h), the broker binds as root and
 * then becomes NAME before it starts any worker; the first load runs in a
 * child that becomes NAME before it reads a model.  So nothing from
 * outside is ever parsed as root, and every process but the binding is
 * NAME's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "broker.h"
#include "config.h"
#include "log.h"
#include "runas.h"
#include "snapshot.h"
#include "supervisor.h"
#include "verdict.h"
#include "worker.h"

/* Snapshot the configured models, rules and feeds into cfg->snapshot_dir
 * (none: just load them).  A set that does not load is reported by loading
 * the configured directories themselves, so that the error names the
 * operator's files; if those load after all (the snapshot could not be
 * written), the service runs without a new snapshot.  Returns 0 when the
 * configured directories load, else 3 (the exit code for bad models). */
static int take_snapshot(const hb_service_config *cfg)
{
    hb_error err;
    hb_engine_paths paths = {cfg->rules, cfg->models, cfg->feeds[0] ? cfg->feeds : NULL};
    if (cfg->snapshot_dir[0] && hb_snapshot_take(cfg->snapshot_dir, &paths, &err) == 0)
        return 0;
    hb_error snap = err;
    hb_engine *e = hb_engine_open_paths(&paths, &err);
    if (!e)
        hb_log(HB_LOG_ERROR, "cannot load models: %s", err.message);
    else if (cfg->snapshot_dir[0])
        hb_log(HB_LOG_WARN,
               "no new snapshot of the models (%s); a worker restarting while "
               "they are broken falls back to an older one, if any",
               snap.message);
    hb_engine_free(e);
    return e ? 0 : 3;
}

/* Load the engine once before starting workers, so that a wrong --models
 * or --rules fails at start-up with the reason instead of workers failing
 * and being restarted forever; the load is the first snapshot.  It runs in
 * a short-lived child (forked before any thread or ZeroMQ context exists)
 * so the broker never holds the tens of megabytes an engine takes.
 * Returns 0 or -1. */
static int preflight(const hb_service_config *cfg)
{
    pid_t pid = fork();
    if (pid < 0) {
        hb_log(HB_LOG_ERROR, "cannot check the models: fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        hb_error err;
        if (hb_runas_switch(&cfg->runas, &err) != 0) {
            hb_log(HB_LOG_ERROR, "%s", err.message);
            _exit(3);
        }
        _exit(take_snapshot(cfg));
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Make the broker's private snapshot directory (hb_snapshot_mkdir) and,
 * when switching users, give it to the user: the snapshot helper writes
 * into it as that user and the switched broker removes it at exit.
 * Returns 0, or HB_EIO with err (a directory made is removed again). */
static int make_snapshot_dir(hb_service_config *cfg, hb_error *err)
{
    if (hb_snapshot_mkdir(cfg->snapshot_dir, sizeof cfg->snapshot_dir, err) != 0)
        return HB_EIO;
    if (!cfg->runas.switching ||
        lchown(cfg->snapshot_dir, cfg->runas.uid, cfg->runas.gid) == 0)
        return 0;
    hb_error_set(err, HB_EIO, "cannot give %s to user %s: %s", cfg->snapshot_dir,
                 cfg->runas.name, strerror(errno));
    hb_snapshot_remove(cfg->snapshot_dir);
    cfg->snapshot_dir[0] = '\0';
    return HB_EIO;
}

/* Say so when hubaod runs as root and nobody asked for it (--user). */
static void warn_if_root(const hb_service_config *cfg)
{
    if (geteuid() == 0 && !cfg->user[0])
        hb_log(HB_LOG_WARN,
               "running as root: give --user NAME to read the models, rules and "
               "feeds and serve requests as NAME once the endpoints are bound");
}

/* Become --user's user if asked (runas.h); 0, or -1 after saying why. */
static int switch_user(const hb_service_config *cfg)
{
    hb_error err;
    if (hb_runas_switch(&cfg->runas, &err) != 0) {
        hb_log(HB_LOG_ERROR, "%s", err.message);
        return -1;
    }
    if (cfg->runas.switching)
        hb_log(HB_LOG_INFO, "running as user %s (uid %lu, gid %lu)", cfg->runas.name,
               (unsigned long)cfg->runas.uid, (unsigned long)cfg->runas.gid);
    return 0;
}

/* The broker, its endpoints bound; then, with --user, the switch: root
 * is not needed once bound.  Returns the broker, or NULL after saying
 * why. */
static hb_broker *bind_endpoints(const hb_service_config *cfg)
{
    hb_error err;
    hb_broker *b = hb_broker_new(cfg, &err);
    if (!b) {
        hb_log(HB_LOG_ERROR, "%s", err.message);
        return NULL;
    }
    if (switch_user(cfg) != 0) {
        hb_broker_free(b);
        return NULL;
    }
    return b;
}

int main(int argc, char **argv)
{
    hb_service_config cfg;
    hb_error err;
    hb_config_defaults(&cfg);
    if (hb_config_parse(&cfg, argc, argv, &err) != 0) {
        hb_log_init(HB_LOG_INFO, "hubaod");
        hb_log(HB_LOG_ERROR, "%s (see hubaod --help)", err.message);
        return 2;
    }
    if (cfg.help) {
        hb_log_out(HB_CONFIG_USAGE, 0);
        return 0;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT); /* URL parsing, before any thread */
    int rc;
    if (cfg.snapshot_mode) {
        hb_log_init((hb_log_level)cfg.log_level, "snapshot");
        rc = take_snapshot(&cfg);
    } else if (cfg.worker_mode) {
        hb_log_init((hb_log_level)cfg.log_level, "worker");
        if (!cfg.supervised)
            warn_if_root(&cfg);
        rc = switch_user(&cfg) == 0 ? hb_worker_run(&cfg) : 3;
    } else {
        hb_log_init((hb_log_level)cfg.log_level, "broker");
        warn_if_root(&cfg);
        hb_broker *b = NULL;
        hb_supervisor *sup = NULL;
        int own_snapshot_dir = 0;
        if (cfg.workers > 0 && !cfg.snapshot_dir[0]) {
            if (make_snapshot_dir(&cfg, &err) == 0)
                own_snapshot_dir = 1;
            else
                hb_log(HB_LOG_WARN,
                       "no snapshot of the models (%s): a worker restarting "
                       "while they are broken will not start",
                       err.message);
        }
        if ((cfg.workers > 0 && preflight(&cfg) != 0) || !(b = bind_endpoints(&cfg))) {
            rc = 3; /* each said why */
        } else if (cfg.workers > 0 &&
                   !(sup = hb_supervisor_new(&cfg, hb_broker_backend(b)))) {
            hb_log(HB_LOG_ERROR, "out of memory");
            rc = 3;
        } else {
            hb_log(HB_LOG_INFO, "models from %s, rules from %s, %ld local worker%s",
                   cfg.models, cfg.rules, cfg.workers, cfg.workers == 1 ? "" : "s");
            rc = hb_broker_run(b, sup);
        }
        hb_supervisor_free(sup);
        hb_broker_free(b);
        if (own_snapshot_dir)
            hb_snapshot_remove(cfg.snapshot_dir);
    }
    curl_global_cleanup();
    return rc;
}
