/*
 * config.h - hubaod's settings: defaults, an optional config file and
 * command-line flags, in that order of precedence (flags win).
 *
 * The config file holds one setting a line, named like the long flag
 * without its dashes:
 *
 *     # /etc/hubao/hubaod.conf
 *     bind = tcp://127.0.0.1:7531
 *     workers = 4
 *     deadline-ms = 2000
 *
 * Blank lines and lines starting with '#' are ignored; a flag that takes
 * no value (unmask) is written "unmask = 1".  Every setting is listed by
 * `hubaod --help` (HB_CONFIG_USAGE).
 */
#ifndef HB_SERVICE_CONFIG_H
#define HB_SERVICE_CONFIG_H

#include <stddef.h>

#include "error.h"
#include "runas.h"

enum { HB_CONFIG_PATH = 1024 };

typedef struct hb_service_config {
    /* roles */
    int worker_mode;              /* --worker: run one worker, no broker */
    int supervised;               /* --supervised (internal): started by hubaod */
    int snapshot_mode;            /* --snapshot (internal): take one snapshot, exit */
    int help;                     /* --help was given */
    char connect[HB_CONFIG_PATH]; /* --connect: broker's worker endpoint */

    /* broker */
    char bind[HB_CONFIG_PATH];        /* client endpoint */
    char control[HB_CONFIG_PATH];     /* control endpoint (endpoint.h's default) */
    char control_dir[HB_CONFIG_PATH]; /* the default's private directory; ""
                                       * when --control names the endpoint */
    char backend[HB_CONFIG_PATH];     /* worker endpoint ("" = private ipc) */
    char metrics[HB_CONFIG_PATH];     /* Prometheus /metrics HOST:PORT ("" = none) */
    long workers;                     /* local worker processes (0 = none) */
    long queue;                       /* requests waiting for a worker, max */
    long credit;                      /* requests a worker may hold at once */
    long max_request_bytes;           /* size of one request frame, max */
    long client_in_flight;            /* requests held for one client, max */
    long client_bytes;                /* one client's requests + unread replies */
    long buffer_bytes;                /* the same for all clients together */
    long client_timeout_ms;           /* a client silent this long (not even
                                         ZMTP heartbeats: its process stopped
                                         or its host gone) is disconnected */
    long deadline_ms;                 /* per request, from arrival */
    long heartbeat_ms;                /* heartbeat interval, both directions */
    long liveness;                    /* missed heartbeats before "dead" */
    long drain_ms;                    /* SIGTERM: longest wait for in-flight */

    /* worker */
    char models[HB_CONFIG_PATH]; /* model bundles directory */
    char rules[HB_CONFIG_PATH];  /* rule files directory */
    char feeds[HB_CONFIG_PATH];  /* blocklist copies (hubao feeds update); "" none */
    char snapshot_dir[HB_CONFIG_PATH]; /* last set that loaded (snapshot.h); "" none */
    long max_text_bytes;               /* text of one message, max */
    long max_batch;                    /* items in one batch, max */
    long top_features;                 /* evidence n-grams per task */
    int unmask;                        /* render phone/account numbers in clear */
    int brief;                         /* brief replies unless an item asks for full */

    /* CURVE (auth.h, curvekey.h; docs/protocol.md): key files and
     * directories of authorised public keys, "" when not given */
    char curve_secret_key[HB_CONFIG_PATH]; /* this side's key pair: the
                                            * broker's, or a --worker's own */
    char curve_server_key[HB_CONFIG_PATH]; /* --worker: the broker's public key */
    char curve_clients[HB_CONFIG_PATH];    /* keys let in on the client endpoint */
    char curve_workers[HB_CONFIG_PATH];    /* keys let in on the worker endpoint */

    int log_level; /* hb_log_level */

    /* user */
    char user[HB_CONFIG_PATH]; /* --user: started as root, run as this user */
    hb_runas runas;            /* what --user asks of this process (runas.h) */
} hb_service_config;

/* The --help text. */
extern const char HB_CONFIG_USAGE[];

/* Fill cfg with the defaults (workers = online CPUs; models and feeds as
 * paths.h resolves them when not given; rules are left to
 * hb_config_parse, which knows the models directory). */
void hb_config_defaults(hb_service_config *cfg);

/* Apply the config file named by --config (if any), then every flag of
 * argv, then derive what was left unset (rules as paths.h resolves them
 * from models; the broker's control endpoint from $XDG_RUNTIME_DIR and
 * the user id, endpoint.h: with --user, that user's) and look up --user
 * (runas.h).  Returns 0, or HB_EINVAL / HB_EIO / HB_ENOTFOUND (no such
 * user) with err naming the flag, file:line or value that is wrong. */
int hb_config_parse(hb_service_config *cfg, int argc, char **argv, hb_error *err);

#endif
