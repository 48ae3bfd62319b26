/*
 * config.c - defaults, config file and flags (see config.h).
 *
 * Flags and file keys share one table, so a setting cannot exist in one
 * form and not the other.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "endpoint.h"
#include "handler.h"
#include "log.h"
#include "paths.h"

const char HB_CONFIG_USAGE[] =
    "usage: hubaod [OPTIONS]                      broker and worker pool\n"
    "       hubaod --worker --connect ENDPOINT [OPTIONS]   one worker alone\n"
    "\n"
    "Serve fraud/spam/rumour verdicts over ZeroMQ (docs/protocol.md).  Clients\n"
    "talk to a ROUTER socket; worker processes classify.  SIGHUP reloads models\n"
    "and rules; SIGTERM answers what is in flight, then exits.\n"
    "\n"
    "  --config FILE            read settings from FILE (one `name = value` a\n"
    "                           line, names as below); flags override it\n"
    "  --bind ENDPOINT          client endpoint (default tcp://127.0.0.1:7531)\n"
    "  --control ENDPOINT       control endpoint, the only one that takes stats\n"
    "                           and reload (default ipc://$XDG_RUNTIME_DIR/hubaod/\n"
    "                           control, else ipc:///tmp/hubaod-UID/control, in a\n"
    "                           directory only this user may enter); anyone who\n"
    "                           can connect to it can reload and read the stats,\n"
    "                           so a tcp:// one belongs on 127.0.0.1\n"
    "  --backend ENDPOINT       worker endpoint; remote workers need tcp://\n"
    "                           (default ipc://@hubaod-PID, private to the host)\n"
    "  --metrics HOST:PORT      serve Prometheus metrics on http://HOST:PORT/metrics\n"
    "                           (default: none; docs/operations.md lists them)\n"
    "  --workers N              local worker processes (default: one per core;\n"
    "                           0: only workers started with --worker)\n"
    "  --queue N                requests waiting for a worker before new ones\n"
    "                           get \"overloaded\" (default 1024)\n"
    "  --credit N               requests a worker holds at once (default 8)\n"
    "  --max-request-bytes N    largest request frame (default 1048576)\n"
    "  --client-in-flight N     requests one client may have waiting or being\n"
    "                           classified; more get \"too_many_in_flight\"\n"
    "                           (default: half of --queue)\n"
    "  --client-bytes N         bytes hubaod holds for one client: its requests\n"
    "                           and the replies it has not read; more requests\n"
    "                           get \"too_many_in_flight\", and a client whose\n"
    "                           unread replies pass it is disconnected (default\n"
    "                           16777216; at least --max-request-bytes)\n"
    "  --buffer-bytes N         the same for all clients together; more requests\n"
    "                           get \"overloaded\", and the client with the most\n"
    "                           unread replies is disconnected (default\n"
    "                           134217728; at least --client-bytes)\n"
    "  --client-timeout-ms N    disconnect a client that does not answer ZeroMQ's\n"
    "                           heartbeats for N ms (its process stopped, its\n"
    "                           host gone), dropping its unread replies\n"
    "                           (default 30000)\n"
    "  --max-text-bytes N       largest message text (default 65536)\n"
    "  --max-batch N            most items in a batch (default 256)\n"
    "  --deadline-ms N          answer \"deadline_exceeded\" when a request is\n"
    "                           not answered N ms after arrival (default 5000)\n"
    "  --heartbeat-ms N         heartbeat interval (default 1000)\n"
    "  --liveness N             heartbeats missed before a worker or the broker\n"
    "                           is taken for dead (default 3)\n"
    "  --drain-ms N             on SIGTERM, wait at most N ms for in-flight\n"
    "                           requests (default 10000)\n"
    "  --models DIR             model bundles (default $HUBAO_MODELS or\n"
    "                           " HB_PATHS_MODELS ")\n"
    "  --rules DIR              rule files (default $HUBAO_RULES or MODELS/rules)\n"
    "  --feeds DIR              blocklist copies written by `hubao feeds update`\n"
    "                           (default $HUBAO_FEEDS_DIR, else\n"
    "                           " HB_PATHS_FEEDS_STORE " if it exists); re-read\n"
    "                           on SIGHUP\n"
    "  --snapshot-dir DIR       where the broker keeps a copy of the last models,\n"
    "                           rules and feeds that loaded, for workers that\n"
    "                           restart while the configured ones are broken\n"
    "                           (default: a private directory under $TMPDIR or\n"
    "                           /tmp, removed at exit); with --worker: fall back\n"
    "                           to the copy kept there\n"
    "  --top-features N         n-grams listed as evidence per task (default 5)\n"
    "  --unmask                 show phone and account numbers in clear\n"
    "  --brief                  brief replies (scores, types, rule ids, link\n"
    "                           verdicts) unless an item asks \"detail\": \"full\"\n"
    "  --log-level LEVEL        debug, info, warn or error (default info)\n"
    "  --user NAME              started as root: become user NAME (and its\n"
    "                           groups) for good once the endpoints are bound,\n"
    "                           before any model is read; the default control\n"
    "                           endpoint is then NAME's.  Not root: only the\n"
    "                           user hubaod already is may be named\n"
    "  --worker                 run one worker process, no broker\n"
    "  --connect ENDPOINT       with --worker: the broker's --backend endpoint\n"
    "  --curve-secret-key FILE  CURVE key pair (hubao keygen): the broker's, or\n"
    "                           with --worker the worker's own\n"
    "  --curve-clients DIR      make the client endpoint a CURVE server that lets\n"
    "                           in only the public keys (*.pub) in DIR; re-read on\n"
    "                           reload (needs --curve-secret-key)\n"
    "  --curve-workers DIR      the same for the worker endpoint (--backend);\n"
    "                           local workers then use a private ipc endpoint\n"
    "  --curve-server-key FILE  with --worker: the broker's public key; the worker\n"
    "                           connects with CURVE (needs --curve-secret-key)\n"
    "  --help                   this text\n"
    "\n"
    "Control commands: `hubao control stats|reload|ping` (or {\"control\":\n"
    "\"stats\"} sent to the control endpoint; the client endpoint answers\n"
    "\"forbidden\", and takes only \"ping\").  Exit codes: 0 stopped cleanly;\n"
    "2 usage error; 3 models, rules or sockets could not be set up.\n";

typedef enum { OPT_FLAG, OPT_LONG, OPT_PATH, OPT_LEVEL } opt_kind;

typedef struct opt_def {
    const char *name;
    opt_kind kind;
    size_t offset;
    long min, max;
} opt_def;

#define OFF(f) offsetof(hb_service_config, f)

static const opt_def OPTIONS[] = {
    {"bind", OPT_PATH, OFF(bind), 0, 0},
    {"control", OPT_PATH, OFF(control), 0, 0},
    {"backend", OPT_PATH, OFF(backend), 0, 0},
    {"metrics", OPT_PATH, OFF(metrics), 0, 0},
    {"connect", OPT_PATH, OFF(connect), 0, 0},
    {"models", OPT_PATH, OFF(models), 0, 0},
    {"rules", OPT_PATH, OFF(rules), 0, 0},
    {"feeds", OPT_PATH, OFF(feeds), 0, 0},
    {"snapshot-dir", OPT_PATH, OFF(snapshot_dir), 0, 0},
    {"curve-secret-key", OPT_PATH, OFF(curve_secret_key), 0, 0},
    {"curve-server-key", OPT_PATH, OFF(curve_server_key), 0, 0},
    {"curve-clients", OPT_PATH, OFF(curve_clients), 0, 0},
    {"curve-workers", OPT_PATH, OFF(curve_workers), 0, 0},
    {"workers", OPT_LONG, OFF(workers), 0, 256},
    {"queue", OPT_LONG, OFF(queue), 0, 1000000},
    {"credit", OPT_LONG, OFF(credit), 1, 64},
    {"max-request-bytes", OPT_LONG, OFF(max_request_bytes), 64, 256L << 20},
    {"client-in-flight", OPT_LONG, OFF(client_in_flight), 1, 1000000},
    {"client-bytes", OPT_LONG, OFF(client_bytes), 64, 1L << 40},
    {"buffer-bytes", OPT_LONG, OFF(buffer_bytes), 64, 1L << 40},
    {"client-timeout-ms", OPT_LONG, OFF(client_timeout_ms), 300, 3600000},
    {"max-text-bytes", OPT_LONG, OFF(max_text_bytes), 1, 16L << 20},
    {"max-batch", OPT_LONG, OFF(max_batch), 1, 100000},
    {"deadline-ms", OPT_LONG, OFF(deadline_ms), 1, 3600000},
    {"heartbeat-ms", OPT_LONG, OFF(heartbeat_ms), 10, 60000},
    {"liveness", OPT_LONG, OFF(liveness), 2, 100},
    {"drain-ms", OPT_LONG, OFF(drain_ms), 0, 3600000},
    {"top-features", OPT_LONG, OFF(top_features), 0, 32},
    {"unmask", OPT_FLAG, OFF(unmask), 0, 0},
    {"brief", OPT_FLAG, OFF(brief), 0, 0},
    {"worker", OPT_FLAG, OFF(worker_mode), 0, 0},
    {"supervised", OPT_FLAG, OFF(supervised), 0, 0},
    {"snapshot", OPT_FLAG, OFF(snapshot_mode), 0, 0},
    {"help", OPT_FLAG, OFF(help), 0, 0},
    {"log-level", OPT_LEVEL, OFF(log_level), 0, 0},
    {"user", OPT_PATH, OFF(user), 0, 0},
};

static const opt_def *find_opt(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof OPTIONS / sizeof OPTIONS[0]; i++)
        if (strlen(OPTIONS[i].name) == len && strncmp(OPTIONS[i].name, name, len) == 0)
            return &OPTIONS[i];
    return NULL;
}

void hb_config_defaults(hb_service_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->bind, sizeof cfg->bind, "tcp://127.0.0.1:7531");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->workers = cpus > 0 ? (cpus > 256 ? 256 : cpus) : 1;
    cfg->queue = 1024;
    cfg->credit = 8;
    cfg->max_request_bytes = 1L << 20;
    cfg->client_in_flight = -1; /* half of queue, once that is known */
    cfg->client_bytes = 16L << 20;
    cfg->client_timeout_ms = 30000;
    cfg->buffer_bytes = 128L << 20;
    cfg->max_text_bytes = HB_DEFAULT_MAX_TEXT;
    cfg->max_batch = HB_HANDLER_MAX_BATCH;
    cfg->deadline_ms = 5000;
    cfg->heartbeat_ms = 1000;
    cfg->liveness = 3;
    cfg->drain_ms = 10000;
    cfg->top_features = 5;
    cfg->log_level = HB_LOG_INFO;
    snprintf(cfg->models, sizeof cfg->models, "%s", hb_paths_models(NULL));
    const char *feeds = hb_paths_feeds(NULL);
    snprintf(cfg->feeds, sizeof cfg->feeds, "%s", feeds ? feeds : "");
}

/* Set one option from its text value; where names the source for errors
 * ("--queue", "hubaod.conf:3"). */
static int set_opt(hb_service_config *cfg, const opt_def *o, const char *value,
                   const char *where, hb_error *err)
{
    char *field = (char *)cfg + o->offset;
    switch (o->kind) {
    case OPT_FLAG:
        if (value && strcmp(value, "1") != 0 && strcmp(value, "0") != 0 &&
            strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
            return hb_error_set(err, HB_EINVAL, "%s: %s takes no value (or 0/1)", where,
                                o->name);
        *(int *)field = !value || strcmp(value, "1") == 0 || strcmp(value, "true") == 0;
        return 0;
    case OPT_PATH:
        if (strlen(value) >= HB_CONFIG_PATH)
            return hb_error_set(err, HB_EINVAL, "%s: %s value is too long", where,
                                o->name);
        snprintf(field, HB_CONFIG_PATH, "%s", value);
        return 0;
    case OPT_LEVEL: {
        int lv = hb_log_level_parse(value);
        if (lv < 0)
            return hb_error_set(err, HB_EINVAL,
                                "%s: log level must be debug, info, warn or "
                                "error, not \"%s\"",
                                where, value);
        *(int *)field = lv;
        return 0;
    }
    case OPT_LONG: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end || v < o->min || v > o->max)
            return hb_error_set(err, HB_EINVAL,
                                "%s: %s must be a whole number from %ld to %ld, "
                                "not \"%s\"",
                                where, o->name, o->min, o->max, value);
        *(long *)field = v;
        return 0;
    }
    }
    return 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

static int load_file(hb_service_config *cfg, const char *path, hb_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return hb_error_set(err, HB_EIO, "%s: cannot open the config file: %s", path,
                            strerror(errno));
    char line[2048];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        size_t klen = strcspn(s, " \t=");
        char *v = s + klen;
        while (*v == ' ' || *v == '\t')
            v++;
        if (*v == '=')
            v = trim(v + 1);
        char where[HB_CONFIG_PATH + 32];
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        const opt_def *o = find_opt(s, klen);
        if (!o || strcmp(o->name, "supervised") == 0 ||
            strcmp(o->name, "snapshot") == 0 || strcmp(o->name, "help") == 0)
            rc = hb_error_set(err, HB_EINVAL, "%s: unknown setting \"%.*s\"", where,
                              (int)klen, s);
        else if (!*v && o->kind != OPT_FLAG)
            rc = hb_error_set(err, HB_EINVAL, "%s: %s needs a value", where, o->name);
        else
            rc = set_opt(cfg, o, *v ? v : NULL, where, err);
    }
    fclose(f);
    return rc;
}

/* The CURVE settings fit together (auth.h): an endpoint's authorised keys
 * need the broker's key pair and the other way round (a key pair alone
 * would let in any key), and a worker needs the broker's public key and a
 * pair of its own. */
static int check_curve(const hb_service_config *cfg, hb_error *err)
{
    int lists = cfg->curve_clients[0] || cfg->curve_workers[0];
    if (cfg->worker_mode) {
        if (lists)
            return hb_error_set(err, HB_EINVAL,
                                "--curve-clients and --curve-workers are the broker's; a "
                                "worker takes --curve-server-key and --curve-secret-key");
        if (!cfg->curve_server_key[0] != !cfg->curve_secret_key[0])
            return hb_error_set(err, HB_EINVAL,
                                "a worker on CURVE needs both --curve-server-key FILE "
                                "(the broker's public key) and --curve-secret-key FILE "
                                "(its own key pair, hubao keygen)");
        return 0;
    }
    if (cfg->curve_server_key[0])
        return hb_error_set(err, HB_EINVAL,
                            "--curve-server-key is for --worker; the broker's own key "
                            "pair is --curve-secret-key");
    if (lists && !cfg->curve_secret_key[0])
        return hb_error_set(err, HB_EINVAL,
                            "--curve-clients and --curve-workers need --curve-secret-key "
                            "FILE, the broker's key pair (hubao keygen)");
    if (cfg->curve_secret_key[0] && !lists)
        return hb_error_set(err, HB_EINVAL,
                            "--curve-secret-key needs --curve-clients DIR or "
                            "--curve-workers DIR, the public keys let in (CURVE "
                            "without them would let in any key)");
    if (cfg->curve_workers[0] && !cfg->backend[0])
        return hb_error_set(err, HB_EINVAL,
                            "--curve-workers needs --backend ENDPOINT (tcp://...) for "
                            "the remote workers; without it there is no endpoint "
                            "for them");
    return 0;
}

int hb_config_parse(hb_service_config *cfg, int argc, char **argv, hb_error *err)
{
    /* the file first, so that flags override it wherever they appear */
    for (int i = 1; i < argc && argv[i]; i++) {
        const char *file = NULL;
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc)
                return hb_error_set(err, HB_EINVAL, "--config needs a FILE");
            file = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            file = argv[i] + 9;
        }
        if (file && load_file(cfg, file, err) != 0)
            return err ? err->code : HB_EINVAL;
    }
    int rules_given = cfg->rules[0] != '\0';
    for (int i = 1; i < argc && argv[i]; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--config") == 0) {
            i++;
            continue;
        }
        if (strncmp(a, "--config=", 9) == 0)
            continue;
        if (strcmp(a, "-h") == 0)
            a = "--help";
        if (strncmp(a, "--", 2) != 0)
            return hb_error_set(err, HB_EINVAL, "unexpected argument \"%s\"", a);
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const opt_def *o = find_opt(name, nlen);
        if (!o)
            return hb_error_set(err, HB_EINVAL, "unknown option \"%s\"", a);
        const char *value = eq ? eq + 1 : NULL;
        if (!value && o->kind != OPT_FLAG) {
            if (i + 1 >= argc)
                return hb_error_set(err, HB_EINVAL, "--%s needs a value", o->name);
            value = argv[++i];
        }
        char where[64];
        snprintf(where, sizeof where, "--%s", o->name);
        if (set_opt(cfg, o, value, where, err) != 0)
            return err ? err->code : HB_EINVAL;
        if (o->offset == OFF(rules))
            rules_given = 1;
    }
    if (!rules_given) {
        char buf[HB_CONFIG_PATH];
        snprintf(cfg->rules, sizeof cfg->rules, "%s",
                 hb_paths_rules(NULL, cfg->models, buf, sizeof buf));
    }
    if (cfg->client_in_flight < 0)
        cfg->client_in_flight = cfg->queue / 2 > 0 ? cfg->queue / 2 : 1;
    if (cfg->client_bytes < cfg->max_request_bytes)
        return hb_error_set(
            err, HB_EINVAL,
            "client-bytes (%ld) must be at least max-request-bytes (%ld): "
            "a request that size could never be taken",
            cfg->client_bytes, cfg->max_request_bytes);
    if (cfg->buffer_bytes < cfg->client_bytes)
        return hb_error_set(err, HB_EINVAL,
                            "buffer-bytes (%ld) must be at least client-bytes (%ld)",
                            cfg->buffer_bytes, cfg->client_bytes);
    int rc = hb_runas_plan(cfg->user, geteuid(), &cfg->runas, err);
    if (rc != 0)
        return rc;
    /* Switching users, the default control endpoint is the one `hubao
     * control` finds when run as that user; XDG_RUNTIME_DIR here is root's
     * (runas.uid is geteuid() when not switching). */
    const char *runtime_dir = cfg->runas.switching ? NULL : getenv("XDG_RUNTIME_DIR");
    if (!cfg->control[0] && !cfg->worker_mode && !cfg->snapshot_mode &&
        hb_endpoint_control_default(runtime_dir, (unsigned long)cfg->runas.uid,
                                    cfg->control_dir, sizeof cfg->control_dir,
                                    cfg->control, sizeof cfg->control, err) != 0)
        return HB_EINVAL;
    if (cfg->worker_mode && !cfg->connect[0] && !cfg->help)
        return hb_error_set(err, HB_EINVAL,
                            "--worker needs --connect ENDPOINT (the broker's "
                            "--backend)");
    return check_curve(cfg, err);
}
