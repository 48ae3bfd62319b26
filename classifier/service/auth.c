/*
 * auth.c - authorised CURVE keys and the ZAP handler (see auth.h).
 *
 * Each role's keys are a sorted array of 32-byte public keys, each with
 * the name of the file it came from (the ZAP "user id", which libzmq
 * hands on as the connection's User-Id property), looked up by binary
 * search; a reload builds a new array and swaps it in only when the whole
 * directory read, so a half-edited directory never locks everyone out.
 */
#include "auth.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "clock.h"
#include "curvekey.h"
#include "endpoint.h"
#include "frames.h"
#include "log.h"

enum {
    MAX_KEYS = 100000,          /* authorised keys per directory */
    NAME_MAX_LEN = 64,          /* of a key's name (its file, less .pub) */
    MAX_FRAMES = 8,             /* of a ZAP request: 7, CURVE's included */
    BURST = 64,                 /* requests answered per call */
    LOG_LINES = 5,              /* refusal lines a second, at most */
    KEY_QUIET_US = 60000000,    /* one key's refusals: a line a minute */
    RECENT = 32,                /* keys whose last line is remembered */
    ROLES = HB_AUTH_WORKERS + 1 /* roles */
};

/* The ZAP domains of the two endpoints, and how the log names a peer. */
static const char *const DOMAIN[ROLES] = {"hubao-clients", "hubao-workers"};
static const char *const PEER[ROLES] = {"client", "worker"};

typedef struct key_entry {
    unsigned char key[HB_CURVE_KEY_BYTES];
    char name[NAME_MAX_LEN];
} key_entry;

typedef struct keyset {
    int on;                   /* this endpoint is a CURVE server */
    char dir[HB_CONFIG_PATH]; /* where its *.pub files are */
    key_entry *keys;          /* sorted by key */
    size_t n;
} keyset;

struct hb_auth {
    void *sock; /* REP on inproc://zeromq.zap.01 */
    hb_curve_key key;
    keyset roles[ROLES];
    struct {
        unsigned char key[HB_CURVE_KEY_BYTES];
        int64_t at_us;      /* 0: unused */
    } recent[RECENT];       /* keys refused lately, and when logged */
    int64_t second_us;      /* start of the second lines are counted in */
    int lines;              /* refusal lines logged in that second */
    unsigned long unlogged; /* refusals not logged since the last line */
};

static int by_key(const void *a, const void *b)
{
    return memcmp(((const key_entry *)a)->key, ((const key_entry *)b)->key,
                  HB_CURVE_KEY_BYTES);
}

static int ends_with_pub(const char *name)
{
    size_t len = strlen(name);
    return name[0] != '.' && len > 4 && strcmp(name + len - 4, ".pub") == 0;
}

/* Read every *.pub file in dir into a new sorted array (*keys, *n; the
 * caller frees it).  Returns 0, or an error naming the directory or the
 * file that did not read. */
static int load_dir(const char *dir, key_entry **keys, size_t *n, hb_error *err)
{
    *keys = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return hb_error_set(err, HB_EIO,
                            "%s: cannot read the directory of authorised keys: %s", dir,
                            strerror(errno));
    key_entry *list = NULL;
    size_t count = 0, cap = 0;
    int rc = 0;
    const struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (!ends_with_pub(de->d_name))
            continue; /* the secret .key files, a README, editors' backups */
        if (count == MAX_KEYS) {
            rc = hb_error_set(err, HB_ELIMIT, "%s: more than %d keys", dir, MAX_KEYS);
            break;
        }
        char path[PATH_MAX];
        int len = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (len < 0 || (size_t)len >= sizeof path) {
            rc = hb_error_set(err, HB_EINVAL, "%s/%s: path too long", dir, de->d_name);
            break;
        }
        hb_curve_key k;
        if ((rc = hb_curve_key_read(path, HB_CURVE_PUBLIC, &k, err)) != 0)
            break;
        if (count == cap) {
            size_t bigger = cap ? cap * 2 : 16;
            key_entry *grown = realloc(list, bigger * sizeof *list);
            if (!grown) {
                rc = hb_error_set(err, HB_ENOMEM, "out of memory");
                break;
            }
            list = grown;
            cap = bigger;
        }
        key_entry *e = &list[count++];
        hb_curve_key_decode(k.public_key, e->key); /* checked by the read */
        snprintf(e->name, sizeof e->name, "%.*s", (int)strlen(de->d_name) - 4,
                 de->d_name);
    }
    closedir(d);
    if (rc != 0) {
        free(list);
        return rc;
    }
    if (count)
        qsort(list, count, sizeof *list, by_key);
    *keys = list;
    *n = count;
    return 0;
}

static const key_entry *find_key(const keyset *ks, const unsigned char *key)
{
    key_entry probe;
    memcpy(probe.key, key, sizeof probe.key);
    return ks->n ? bsearch(&probe, ks->keys, ks->n, sizeof *ks->keys, by_key) : NULL;
}

static void say_loaded(const keyset *ks, int role)
{
    if (ks->n == 0)
        hb_log(HB_LOG_WARN,
               "CURVE on the %s endpoint, but %s holds no *.pub key: every %s is "
               "refused until keys are added there and hubaod reloads",
               PEER[role], ks->dir, PEER[role]);
    else
        hb_log(HB_LOG_INFO, "CURVE on the %s endpoint: %zu authorised %s key%s in %s",
               PEER[role], ks->n, PEER[role], ks->n == 1 ? "" : "s", ks->dir);
}

int hb_auth_open(void *ctx, const hb_service_config *cfg, hb_auth **out, hb_error *err)
{
    *out = NULL;
    if (!cfg->curve_clients[0] && !cfg->curve_workers[0])
        return 0;
    hb_auth *a = calloc(1, sizeof *a);
    if (!a)
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    const char *dirs[ROLES] = {cfg->curve_clients, cfg->curve_workers};
    int rc = hb_curve_key_read(cfg->curve_secret_key, HB_CURVE_SECRET, &a->key, err);
    for (int r = 0; rc == 0 && r < ROLES; r++) {
        keyset *ks = &a->roles[r];
        if (!dirs[r][0])
            continue;
        ks->on = 1;
        snprintf(ks->dir, sizeof ks->dir, "%s", dirs[r]);
        rc = load_dir(ks->dir, &ks->keys, &ks->n, err);
    }
    if (rc == 0 && !(a->sock = zmq_socket(ctx, ZMQ_REP)))
        rc = hb_error_set(err, HB_EIO, "cannot make the ZAP socket: %s",
                          zmq_strerror(errno));
    int linger = 0;
    if (rc == 0 && (zmq_setsockopt(a->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
                    zmq_bind(a->sock, "inproc://zeromq.zap.01") != 0))
        rc = hb_error_set(err, HB_EIO, "cannot bind the ZAP handler: %s",
                          zmq_strerror(errno));
    if (rc != 0) {
        hb_auth_free(a);
        return rc;
    }
    for (int r = 0; r < ROLES; r++)
        if (a->roles[r].on)
            say_loaded(&a->roles[r], r);
    *out = a;
    return 0;
}

int hb_auth_enabled(const hb_auth *a, hb_auth_role role)
{
    return a && a->roles[role].on;
}

int hb_auth_serve(const hb_auth *a, void *sock, hb_auth_role role, hb_error *err)
{
    int one = 1;
    const char *domain = DOMAIN[role];
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, a->key.secret_key,
                       HB_CURVE_Z85_LEN + 1) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, a->key.public_key,
                       HB_CURVE_Z85_LEN + 1) != 0 ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) != 0)
        return hb_error_set(err, HB_EINVAL,
                            "cannot make the %s endpoint a CURVE server: %s", PEER[role],
                            zmq_strerror(errno));
    return 0;
}

void *hb_auth_socket(const hb_auth *a)
{
    return a->sock;
}

/* 1 if frame f holds exactly the text s. */
static int frame_is(zmq_msg_t *f, const char *s)
{
    size_t len = strlen(s);
    return zmq_msg_size(f) == len && memcmp(zmq_msg_data(f), s, len) == 0;
}

/* Log a refusal of key (NULL: a peer without one): each key once a
 * minute, since a refused peer retries every few seconds, and at most
 * LOG_LINES lines a second, against a flood of made-up keys; the
 * refusals left out are counted into the next line.  Every refused key
 * is logged at least once unless more than LOG_LINES new keys a second
 * keep arriving. */
static void log_refusal(hb_auth *a, int role, zmq_msg_t *address,
                        const unsigned char *key, const char *why)
{
    int64_t now = hb_clock_us();
    int slot = 0;
    for (int i = 0; key && i < RECENT; i++) {
        if (a->recent[i].at_us &&
            memcmp(a->recent[i].key, key, HB_CURVE_KEY_BYTES) == 0) {
            slot = i;
            break;
        }
        if (a->recent[i].at_us < a->recent[slot].at_us)
            slot = i; /* the least recently logged, or an unused one */
    }
    if (key && a->recent[slot].at_us &&
        memcmp(a->recent[slot].key, key, HB_CURVE_KEY_BYTES) == 0 &&
        now - a->recent[slot].at_us < KEY_QUIET_US) {
        a->unlogged++;
        return;
    }
    if (now - a->second_us >= 1000000) {
        a->second_us = now;
        a->lines = 0;
    }
    if (a->lines >= LOG_LINES) {
        a->unlogged++;
        return;
    }
    a->lines++;
    if (key) {
        memcpy(a->recent[slot].key, key, HB_CURVE_KEY_BYTES);
        a->recent[slot].at_us = now;
    }
    char addr[64];
    size_t len = zmq_msg_size(address);
    if (len >= sizeof addr)
        len = sizeof addr - 1;
    memcpy(addr, zmq_msg_data(address), len);
    addr[len] = '\0';
    for (char *p = addr; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            *p = '?';
    char more[96] = "";
    if (a->unlogged)
        snprintf(more, sizeof more, " (and %lu more refused since the last such line)",
                 a->unlogged);
    hb_log(HB_LOG_WARN, "refused a %s at %s: %s%s", role >= 0 ? PEER[role] : "peer",
           addr[0] ? addr : "?", why, more);
    a->unlogged = 0;
}

/* Decide one request of n frames f: the status code, its text and the
 * user id to reply with (RFC 27). */
static const char *decide(hb_auth *a, zmq_msg_t *f, int n, const char **text,
                          const char **user)
{
    *user = "";
    if (n < 6 || !frame_is(&f[0], "1.0")) {
        *text = "malformed ZAP request";
        hb_log(HB_LOG_ERROR, "the ZAP handler got a request it cannot read (%d frame%s)",
               n, n == 1 ? "" : "s");
        return "500";
    }
    int role = -1;
    for (int r = 0; r < ROLES; r++)
        if (a->roles[r].on && frame_is(&f[2], DOMAIN[r]))
            role = r;
    if (frame_is(&f[5], "NULL") && role < 0) {
        *text = "OK";
        return "200"; /* a keyless endpoint: guarded by where it listens */
    }
    if (role < 0 || !frame_is(&f[5], "CURVE") || n < 7 ||
        zmq_msg_size(&f[6]) != HB_CURVE_KEY_BYTES) {
        *text = "not a CURVE handshake for this endpoint";
        log_refusal(a, role, &f[3], NULL, "not a CURVE handshake for this endpoint");
        return "400";
    }
    const key_entry *e = find_key(&a->roles[role], zmq_msg_data(&f[6]));
    if (!e) {
        char z85[HB_CURVE_Z85_LEN + 1], why[HB_CONFIG_PATH + 128];
        zmq_z85_encode(z85, zmq_msg_data(&f[6]), HB_CURVE_KEY_BYTES);
        snprintf(why, sizeof why, "its public key %s is not in %s", z85,
                 a->roles[role].dir);
        log_refusal(a, role, &f[3], zmq_msg_data(&f[6]), why);
        *text = "key not authorised";
        return "400";
    }
    if (hb_log_enabled(HB_LOG_DEBUG))
        hb_log(HB_LOG_DEBUG, "%s key %s accepted", PEER[role], e->name);
    *text = "OK";
    *user = e->name;
    return "200";
}

void hb_auth_handle(hb_auth *a)
{
    for (int i = 0; i < BURST; i++) {
        zmq_msg_t f[MAX_FRAMES];
        int n = hb_frames_recv(a->sock, f, MAX_FRAMES, ZMQ_DONTWAIT);
        if (n == 0)
            return;
        const char *text, *user, *code = decide(a, f, n, &text, &user);
        /* REP answers the request just read: every one gets its reply */
        zmq_send(a->sock, "1.0", 3, ZMQ_SNDMORE);
        if (n > 1)
            zmq_msg_send(&f[1], a->sock, ZMQ_SNDMORE); /* the request id */
        else
            zmq_send(a->sock, "", 0, ZMQ_SNDMORE);
        zmq_send(a->sock, code, 3, ZMQ_SNDMORE);
        zmq_send(a->sock, text, strlen(text), ZMQ_SNDMORE);
        zmq_send(a->sock, user, strlen(user), ZMQ_SNDMORE);
        zmq_send(a->sock, "", 0, 0); /* no metadata */
        for (int k = 0; k < n; k++)
            zmq_msg_close(&f[k]);
    }
}

void hb_auth_warn_exposed(const hb_auth *a, const char *bind, const char *backend)
{
    /* an abstract ipc socket is reachable on this host only, and the
     * default back end is one: keyless as before, no warning */
    if (strncmp(bind, "tcp://", 6) == 0 && hb_endpoint_exposure(bind) &&
        !hb_auth_enabled(a, HB_AUTH_CLIENTS))
        hb_log(HB_LOG_WARN,
               "client endpoint %s is on an address other than loopback without "
               "CURVE: anyone who can connect to it can send requests; give "
               "--curve-clients DIR (docs/protocol.md, \"Authentication\")",
               bind);
    if (strncmp(backend, "tcp://", 6) == 0 && hb_endpoint_exposure(backend) &&
        !hb_auth_enabled(a, HB_AUTH_WORKERS))
        hb_log(HB_LOG_WARN,
               "worker endpoint %s is on an address other than loopback without "
               "CURVE: anyone who can connect to it can join as a worker, read the "
               "messages and answer them; give --curve-workers DIR "
               "(docs/protocol.md, \"Authentication\")",
               backend);
}

void hb_auth_reload(hb_auth *a)
{
    for (int r = 0; r < ROLES; r++) {
        keyset *ks = &a->roles[r];
        if (!ks->on)
            continue;
        key_entry *keys;
        size_t n;
        hb_error err;
        if (load_dir(ks->dir, &keys, &n, &err) != 0) {
            hb_log(HB_LOG_ERROR,
                   "reload: the authorised %s keys were not read again (%s); the %zu "
                   "read before still apply",
                   PEER[r], err.message, ks->n);
            continue;
        }
        hb_log(HB_LOG_INFO, "reload: %zu authorised %s key%s in %s (%zu before)", n,
               PEER[r], n == 1 ? "" : "s", ks->dir, ks->n);
        free(ks->keys);
        ks->keys = keys;
        ks->n = n;
    }
}

void hb_auth_free(hb_auth *a)
{
    if (!a)
        return;
    if (a->sock)
        zmq_close(a->sock);
    for (int r = 0; r < ROLES; r++)
        free(a->roles[r].keys);
    explicit_bzero(&a->key, sizeof a->key);
    free(a);
}
