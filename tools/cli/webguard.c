/*
 * webguard.c - connection limits, deadlines and client identity for
 * `hubao web` (webguard.h).
 *
 * Open connections are a doubly linked list, each with its socket, its
 * phase and deadline, who connected and whom its request is from.  The
 * list never holds more than max_connections, so counting one client's
 * share is a walk over it: a few hundred comparisons per new connection,
 * nothing next to the accept itself, and no table to keep in step.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "webguard.h"

enum { MAX_PROXIES = 16, MAX_FORWARDED = 16, TOKEN_MAX = 64 };

/* An address; as a client key an IPv6 address is cut to its /64 (a
 * subscriber is given a whole /64, so a finer key would give one client
 * millions of shares).  An IPv4-mapped IPv6 address is IPv4. */
typedef struct address {
    int family; /* AF_INET, AF_INET6; 0: unknown */
    unsigned char bytes[16];
} address;

typedef struct proxy {
    address net;
    unsigned bits;
} proxy;

typedef enum { WAIT_HEADERS, WAIT_BODY, WAIT_ANSWER, WAIT_REPLY } phase;

typedef struct conn {
    struct conn *prev, *next;
    web_guard *guard;
    int fd;
    address peer;   /* who connected (full address) */
    int trusted;    /* peer is a trusted proxy */
    address client; /* whom the request in progress is from (key) */
    int in_request;
    phase phase;
    double deadline; /* monotonic seconds; 0: none */
    int cut;         /* shut down already */
} conn;

struct web_guard {
    web_guard_limits lim;
    proxy proxies[MAX_PROXIES];
    int nproxies;
    pthread_mutex_t lock; /* guards the list and every conn's phase */
    conn *head;
    unsigned open;
    int draining; /* web_guard_drain was called */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- addresses ---------------------------------------------------------- */

/* The address of sa.  0, or -1 when it is neither IPv4 nor IPv6. */
static int address_of(const struct sockaddr *sa, address *out)
{
    memset(out, 0, sizeof *out);
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)(const void *)sa;
        out->family = AF_INET;
        memcpy(out->bytes, &v4->sin_addr, 4);
        return 0;
    }
    if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
            out->family = AF_INET;
            memcpy(out->bytes, v6->sin6_addr.s6_addr + 12, 4);
        } else {
            out->family = AF_INET6;
            memcpy(out->bytes, &v6->sin6_addr, 16);
        }
        return 0;
    }
    return -1;
}

/* Parse len bytes of text ("1.2.3.4", "::1", "[::1]", spaces around) as
 * an address.  0, or -1. */
static int address_parse(const char *text, size_t len, address *out)
{
    while (len && (*text == ' ' || *text == '\t'))
        text++, len--;
    while (len && (text[len - 1] == ' ' || text[len - 1] == '\t'))
        len--;
    if (len >= 2 && text[0] == '[' && text[len - 1] == ']')
        text++, len -= 2;
    char buf[TOKEN_MAX];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    memset(out, 0, sizeof *out);
    struct in6_addr v6;
    if (inet_pton(AF_INET, buf, out->bytes) == 1) {
        out->family = AF_INET;
    } else if (inet_pton(AF_INET6, buf, &v6) == 1) {
        struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = v6};
        return address_of((const struct sockaddr *)(const void *)&sa, out);
    } else {
        return -1;
    }
    return 0;
}

/* a as a client key: an IPv6 address cut to its /64. */
static address key_of(address a)
{
    if (a.family == AF_INET6)
        memset(a.bytes + 8, 0, 8);
    return a;
}

static int same(const address *a, const address *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

/* Write key k as text: "1.2.3.4", "2001:db8:1:2::/64", or "?". */
static void key_format(const address *k, char *out, size_t cap)
{
    char buf[INET6_ADDRSTRLEN];
    if (k->family && inet_ntop(k->family, k->bytes, buf, sizeof buf))
        snprintf(out, cap, "%s%s", buf, k->family == AF_INET6 ? "/64" : "");
    else
        snprintf(out, cap, "?");
}

static int trusted(const web_guard *g, const address *a)
{
    for (int i = 0; i < g->nproxies; i++) {
        const proxy *p = &g->proxies[i];
        if (p->net.family != a->family)
            continue;
        unsigned whole = p->bits / 8, rest = p->bits % 8;
        if (memcmp(p->net.bytes, a->bytes, whole) != 0)
            continue;
        unsigned char mask = (unsigned char)(0xff << (8 - rest));
        if (rest == 0 || ((p->net.bytes[whole] ^ a->bytes[whole]) & mask) == 0)
            return 1;
    }
    return 0;
}

int web_guard_trust(web_guard *g, const char *spec)
{
    if (g->nproxies == MAX_PROXIES)
        return -1;
    proxy p;
    const char *slash = strchr(spec, '/');
    size_t len = slash ? (size_t)(slash - spec) : strlen(spec);
    if (address_parse(spec, len, &p.net) != 0)
        return -1;
    unsigned max = p.net.family == AF_INET ? 32 : 128;
    p.bits = max;
    if (slash) {
        char *end;
        long bits = strtol(slash + 1, &end, 10);
        if (*end || end == slash + 1 || bits < 0 || bits > (long)max)
            return -1;
        p.bits = (unsigned)bits;
    }
    g->proxies[g->nproxies++] = p;
    return 0;
}

/* ---- whom a request is from -------------------------------------------- */

/* The X-Forwarded-For header lines of a request, the last MAX_FORWARDED. */
typedef struct forwarded {
    const char *line[MAX_FORWARDED];
    int n;
} forwarded;

static enum MHD_Result collect_forwarded(void *cls, enum MHD_ValueKind kind,
                                         const char *key, const char *value)
{
    (void)kind;
    forwarded *f = cls;
    if (strcasecmp(key, "X-Forwarded-For") != 0 || !value)
        return MHD_YES;
    if (f->n == MAX_FORWARDED) {
        memmove(f->line, f->line + 1, (MAX_FORWARDED - 1) * sizeof *f->line);
        f->n--;
    }
    f->line[f->n++] = value;
    return MHD_YES;
}

/* Whom k's request is from.  A peer that is not a trusted proxy is the
 * client, whatever it writes.  Behind a trusted proxy, X-Forwarded-For is
 * read from the right (each proxy appends the address it heard from):
 * trusted proxies are skipped, and the first other address is the client.
 * An entry that is not an address ends the walk at the proxy that wrote
 * it, as does a list of proxies only. */
static address client_of(const web_guard *g, struct MHD_Connection *c, const conn *k)
{
    address hop = k->peer;
    if (!k->trusted)
        return key_of(hop);
    forwarded f = {.n = 0};
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect_forwarded, &f);
    for (int i = f.n - 1; i >= 0; i--) {
        const char *v = f.line[i];
        size_t end = strlen(v);
        while (end > 0) {
            size_t start = end;
            while (start > 0 && v[start - 1] != ',')
                start--;
            size_t len = end - start;
            const char *token = v + start;
            end = start ? start - 1 : 0;
            if (strspn(token, " \t") >= len)
                continue; /* an empty entry */
            address a;
            if (address_parse(token, len, &a) != 0)
                return key_of(hop);
            if (!trusted(g, &a))
                return key_of(a);
            hop = a;
        }
    }
    return key_of(hop);
}

/* ---- connections --------------------------------------------------------- */

web_guard *web_guard_new(const web_guard_limits *limits)
{
    web_guard *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->lim = *limits;
    pthread_mutex_init(&g->lock, NULL);
    return g;
}

void web_guard_free(web_guard *g)
{
    if (!g)
        return;
    /* MHD has stopped: it closed (and told us of) every connection */
    pthread_mutex_destroy(&g->lock);
    free(g);
}

enum MHD_Result web_guard_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    (void)len;
    web_guard *g = cls;
    address a;
    if (address_of(addr, &a) != 0)
        return MHD_YES; /* not IP: a local socket, nothing to share */
    pthread_mutex_lock(&g->lock);
    int ok = 1;
    if (!trusted(g, &a)) {
        address key = key_of(a);
        unsigned mine = 0;
        for (const conn *k = g->head; k; k = k->next) {
            address theirs = key_of(k->peer);
            mine += same(&theirs, &key);
        }
        unsigned reserve_from = g->lim.max_connections - g->lim.max_connections / 4;
        ok = mine < g->lim.max_per_client && (g->open < reserve_from || mine == 0);
    }
    pthread_mutex_unlock(&g->lock);
    return ok ? MHD_YES : MHD_NO;
}

/* Set k's phase, with a deadline timeout seconds from now (0: none). */
static void set_phase(conn *k, phase ph, unsigned timeout)
{
    double t = now_s();
    pthread_mutex_lock(&k->guard->lock);
    k->phase = ph;
    k->deadline = timeout ? t + timeout : 0;
    pthread_mutex_unlock(&k->guard->lock);
}

void web_guard_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    web_guard *g = cls;
    conn *k = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *peer =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (!fd || !(k = calloc(1, sizeof *k)))
            return; /* untracked: MHD's own limits and idle timeout still hold */
        k->guard = g;
        k->fd = fd->connect_fd;
        address_of(peer ? peer->client_addr : NULL, &k->peer);
        k->trusted = trusted(g, &k->peer);
        k->phase = WAIT_HEADERS;
        k->deadline = now_s() + g->lim.header_timeout;
        pthread_mutex_lock(&g->lock);
        if ((k->next = g->head))
            g->head->prev = k;
        g->head = k;
        g->open++;
        pthread_mutex_unlock(&g->lock);
        *socket_context = k;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && k) {
        /* called before MHD closes the socket: once unlinked, the sweep
         * can no longer reach a descriptor that may be reused */
        pthread_mutex_lock(&g->lock);
        if (k->prev)
            k->prev->next = k->next;
        else
            g->head = k->next;
        if (k->next)
            k->next->prev = k->prev;
        g->open--;
        pthread_mutex_unlock(&g->lock);
        free(k);
        *socket_context = NULL;
    }
}

static conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

int web_guard_request(struct MHD_Connection *c, char *client, size_t cap)
{
    conn *k = conn_of(c);
    if (!k) {
        snprintf(client, cap, "?");
        return 0;
    }
    web_guard *g = k->guard;
    address who = client_of(g, c, k);
    key_format(&who, client, cap);
    double t = now_s();
    pthread_mutex_lock(&g->lock);
    unsigned busy = 0;
    for (const conn *o = g->head; o; o = o->next)
        busy += o != k && o->in_request && same(&o->client, &who);
    int ok = busy < g->lim.max_per_client;
    k->client = who;
    k->in_request = ok;
    k->phase = WAIT_BODY;
    k->deadline = t + g->lim.body_timeout;
    pthread_mutex_unlock(&g->lock);
    return ok ? 0 : -1;
}

void web_guard_waiting(struct MHD_Connection *c)
{
    conn *k = conn_of(c);
    if (k)
        set_phase(k, WAIT_ANSWER, 0);
}

void web_guard_replying(struct MHD_Connection *c)
{
    conn *k = conn_of(c);
    if (k)
        set_phase(k, WAIT_REPLY, k->guard->lim.body_timeout);
}

void web_guard_done(struct MHD_Connection *c)
{
    conn *k = conn_of(c);
    if (!k)
        return;
    double t = now_s();
    pthread_mutex_lock(&k->guard->lock);
    k->in_request = 0;
    k->phase = WAIT_HEADERS;
    k->deadline = t + k->guard->lim.header_timeout;
    pthread_mutex_unlock(&k->guard->lock);
}

/* Whether k's connection is to be cut at t: past its deadline, or idle
 * while the server drains. */
static int expired(const web_guard *g, const conn *k, double t)
{
    if (k->deadline > 0 && t >= k->deadline)
        return 1;
    return g->draining && k->phase == WAIT_HEADERS;
}

void web_guard_sweep(web_guard *g)
{
    double t = now_s();
    pthread_mutex_lock(&g->lock);
    for (conn *k = g->head; k; k = k->next)
        if (!k->cut && expired(g, k, t)) {
            /* the event thread sees end-of-file (or a write error) and
             * closes the connection itself; a reply already written is
             * still delivered before the FIN */
            shutdown(k->fd, SHUT_RDWR);
            k->cut = 1;
        }
    pthread_mutex_unlock(&g->lock);
}

void web_guard_drain(web_guard *g)
{
    pthread_mutex_lock(&g->lock);
    g->draining = 1;
    pthread_mutex_unlock(&g->lock);
    web_guard_sweep(g);
}

unsigned web_guard_busy(web_guard *g)
{
    unsigned busy = 0;
    pthread_mutex_lock(&g->lock);
    for (const conn *k = g->head; k; k = k->next)
        busy += k->phase != WAIT_HEADERS;
    pthread_mutex_unlock(&g->lock);
    return busy;
}
