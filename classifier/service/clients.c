/*
 * clients.c - per-client accounting, reply backlogs and budgets on the
 * broker's front socket (see clients.h).
 *
 * Records live in a chained hash table keyed by routing id; the clients
 * with replies waiting are also on a list, which is all hb_clients_flush
 * walks.  A waiting reply keeps its frames as ZeroMQ messages in one
 * allocation with the list link.
 *
 * A client with replies waiting has a full pipe in libzmq: the sizes of
 * the last HB_CLIENTS_SNDHWM replies it was sent are what that pipe holds,
 * and count against the budgets beside the backlog, so that big replies
 * (a 256-item batch with full detail is over half a megabyte) cannot hide
 * megabytes in libzmq.
 *
 * Cutting a client off closes its connection: libzmq has no call to drop
 * one peer of a ROUTER, so the broker shuts down the socket the client's
 * frames arrived on (ZMQ_SRCFD) and lets libzmq's I/O thread tear the
 * connection down as if the peer had gone, which frees the replies queued
 * in libzmq for it.  The descriptor is first checked to still be the same
 * connection (peer and local address, and peer process for Unix sockets),
 * since libzmq may have closed it and the number been reused.
 */
#define _GNU_SOURCE /* struct ucred */
#include "clients.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "log.h"
#include "request.h"

enum {
    MIN_BUCKETS = 256,
    TRIM_MIN = 1 << 20, /* bytes held at a peak worth handing back */
};

/* The connection a client's frames came in on, to recognise it later. */
typedef struct conn {
    int fd;
    socklen_t plen, llen;
    struct sockaddr_storage peer, local;
    pid_t pid; /* Unix sockets: the peer process */
} conn;

typedef struct pending {
    struct pending *next;
    size_t bytes;
    int n;
    zmq_msg_t frames[];
} pending;

struct hb_client {
    hb_client *hnext;         /* hash chain */
    hb_client *wprev, *wnext; /* the list of clients with replies waiting */
    int on_wait_list;
    uint64_t hash;
    unsigned char id[256];
    size_t idlen;
    long held; /* requests held */
    size_t held_bytes;
    pending *head, *tail; /* replies waiting for room in the pipe */
    size_t waiting, waiting_bytes;
    uint32_t sent[HB_CLIENTS_SNDHWM]; /* sizes of the last replies sent */
    size_t sent_bytes;                /* their sum: the pipe's bytes when it is full */
    int sent_at;
    int cut; /* cut off: drop what does not fit at once */
    conn conn;
};

struct hb_clients {
    void *front;
    hb_clients_limits lim;
    hb_client **buckets;
    size_t nbuckets, count;
    hb_client *wait_head;
    size_t nwaiting;
    size_t held_bytes, waiting_bytes, peak_bytes;
    size_t piped_bytes; /* sent_bytes of the clients with replies waiting */
    uint64_t cut_off, dropped, delayed;
};

/* ---- connections ---------------------------------------------------- */

static void conn_read(conn *c, int fd)
{
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->plen = sizeof c->peer;
    c->llen = sizeof c->local;
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&c->peer, &c->plen) != 0 ||
        getsockname(fd, (struct sockaddr *)&c->local, &c->llen) != 0) {
        c->fd = -1;
        return;
    }
    if (c->peer.ss_family == AF_UNIX) {
        struct ucred cred;
        socklen_t len = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
            c->pid = cred.pid;
    }
}

/* Close c's connection if its descriptor still is that connection. */
static int conn_close(const conn *c)
{
    if (c->fd < 0)
        return -1;
    conn now;
    conn_read(&now, c->fd);
    if (now.fd < 0 || now.plen != c->plen || now.llen != c->llen || now.pid != c->pid ||
        memcmp(&now.peer, &c->peer, c->plen) != 0 ||
        memcmp(&now.local, &c->local, c->llen) != 0)
        return -1;
    return shutdown(c->fd, SHUT_RDWR);
}

/* ---- the table ------------------------------------------------------ */

static uint64_t hash_id(const unsigned char *id, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ id[i]) * 1099511628211ULL;
    return h;
}

hb_clients *hb_clients_new(void *front, const hb_clients_limits *limits)
{
    hb_clients *cs = calloc(1, sizeof *cs);
    if (!cs)
        return NULL;
    cs->front = front;
    cs->lim = *limits;
    cs->nbuckets = MIN_BUCKETS;
    cs->buckets = calloc(cs->nbuckets, sizeof(hb_client *));
    if (!cs->buckets) {
        free(cs);
        return NULL;
    }
    return cs;
}

/* Double the table when chains grow past two on average. */
static void grow(hb_clients *cs)
{
    size_t n = cs->nbuckets * 2;
    hb_client **b = calloc(n, sizeof(hb_client *));
    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < cs->nbuckets; i++)
        for (hb_client *c = cs->buckets[i], *next; c; c = next) {
            next = c->hnext;
            c->hnext = b[c->hash & (n - 1)];
            b[c->hash & (n - 1)] = c;
        }
    free(cs->buckets);
    cs->buckets = b;
    cs->nbuckets = n;
}

hb_client *hb_clients_get(hb_clients *cs, const void *id, size_t len, int fd)
{
    const unsigned char *data = id;
    if (len > sizeof((hb_client *)0)->id)
        len = sizeof((hb_client *)0)->id;
    uint64_t h = hash_id(data, len);
    for (hb_client *c = cs->buckets[h & (cs->nbuckets - 1)]; c; c = c->hnext)
        if (c->hash == h && c->idlen == len && memcmp(c->id, data, len) == 0) {
            if (c->conn.fd != fd) /* the same routing id on a new connection */
                conn_read(&c->conn, fd);
            return c;
        }
    hb_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->hash = h;
    memcpy(c->id, data, len);
    c->idlen = len;
    conn_read(&c->conn, fd);
    c->hnext = cs->buckets[h & (cs->nbuckets - 1)];
    cs->buckets[h & (cs->nbuckets - 1)] = c;
    if (++cs->count > cs->nbuckets * 2)
        grow(cs);
    return c;
}

static void wait_list_remove(hb_clients *cs, hb_client *c)
{
    if (!c->on_wait_list)
        return;
    if (c->wprev)
        c->wprev->wnext = c->wnext;
    else
        cs->wait_head = c->wnext;
    if (c->wnext)
        c->wnext->wprev = c->wprev;
    c->wprev = c->wnext = NULL;
    c->on_wait_list = 0;
    cs->nwaiting--;
    cs->piped_bytes -= c->sent_bytes;
}

static void wait_list_add(hb_clients *cs, hb_client *c)
{
    if (c->on_wait_list)
        return;
    c->wnext = cs->wait_head;
    c->wprev = NULL;
    if (cs->wait_head)
        cs->wait_head->wprev = c;
    cs->wait_head = c;
    c->on_wait_list = 1;
    cs->nwaiting++;
    cs->piped_bytes += c->sent_bytes;
}

/* Bytes held for c, counting its pipe when the pipe is full. */
static size_t client_total(const hb_client *c)
{
    return c->held_bytes + c->waiting_bytes + (c->on_wait_list ? c->sent_bytes : 0);
}

static size_t all_total(const hb_clients *cs)
{
    return cs->held_bytes + cs->waiting_bytes + cs->piped_bytes;
}

/* A reply of bytes bytes went into c's pipe. */
static void note_sent(hb_clients *cs, hb_client *c, size_t bytes)
{
    uint32_t b = bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
    size_t old = c->sent[c->sent_at];
    c->sent[c->sent_at] = b;
    c->sent_at = (c->sent_at + 1) % HB_CLIENTS_SNDHWM;
    c->sent_bytes += b - old;
    if (c->on_wait_list)
        cs->piped_bytes += b - old;
}

/* Free c if nothing is held for it any more. */
static void maybe_free(hb_clients *cs, hb_client *c)
{
    if (c->held > 0 || c->head)
        return;
    wait_list_remove(cs, c);
    hb_client **p = &cs->buckets[c->hash & (cs->nbuckets - 1)];
    while (*p != c)
        p = &(*p)->hnext;
    *p = c->hnext;
    cs->count--;
    free(c);
}

static void note_peak(hb_clients *cs)
{
    if (all_total(cs) > cs->peak_bytes)
        cs->peak_bytes = all_total(cs);
}

void hb_clients_hold(hb_clients *cs, hb_client *c, size_t bytes)
{
    c->held++;
    c->held_bytes += bytes;
    cs->held_bytes += bytes;
    note_peak(cs);
}

void hb_clients_release(hb_clients *cs, hb_client *c, size_t bytes)
{
    c->held--;
    c->held_bytes -= bytes;
    cs->held_bytes -= bytes;
    maybe_free(cs, c);
}

int hb_clients_admit(const hb_clients *cs, const hb_client *c, char *msg, size_t cap)
{
    if (c->held > cs->lim.in_flight) {
        snprintf(
            msg, cap,
            "this client already has %ld requests waiting or being classified (limit "
            "%ld); read the replies before sending more",
            c->held - 1, cs->lim.in_flight);
        return HB_EINFLIGHT;
    }
    if (client_total(c) > cs->lim.client_bytes) {
        snprintf(msg, cap,
                 "hubaod holds %zu bytes of this client's requests and unread replies "
                 "(limit %zu); read the replies before sending more",
                 client_total(c), cs->lim.client_bytes);
        return HB_EINFLIGHT;
    }
    if (all_total(cs) > cs->lim.total_bytes) {
        snprintf(msg, cap,
                 "hubaod holds %zu bytes for its clients (limit %zu); retry later",
                 all_total(cs), cs->lim.total_bytes);
        return HB_EOVERLOADED;
    }
    return 0;
}

/* ---- replies -------------------------------------------------------- */

/* Send c n frames as one message: 0, or the errno of the first frame
 * (EAGAIN: the pipe is full; EHOSTUNREACH: the peer is gone), the frames
 * then untouched.  Once the routing frame is taken the rest always is. */
static int send_frames(hb_clients *cs, hb_client *c, zmq_msg_t *frames, int n)
{
    size_t bytes = 0;
    for (int i = 0; i < n; i++)
        bytes += zmq_msg_size(&frames[i]);
    for (int i = 0; i < n; i++) {
        int flags = ZMQ_DONTWAIT | (i < n - 1 ? ZMQ_SNDMORE : 0);
        if (zmq_msg_send(&frames[i], cs->front, flags) < 0) {
            if (i == 0)
                return errno;
            for (; i < n; i++) /* cannot happen with ROUTER; do not leak */
                zmq_msg_close(&frames[i]);
            break;
        }
    }
    note_sent(cs, c, bytes);
    return 0;
}

static void drop_frames(hb_clients *cs, zmq_msg_t *frames, int n)
{
    for (int i = 0; i < n; i++)
        zmq_msg_close(&frames[i]);
    cs->dropped++;
}

static void pending_free(pending *p)
{
    for (int i = 0; i < p->n; i++)
        zmq_msg_close(&p->frames[i]);
    free(p);
}

/* Take c's first waiting reply off its backlog (the caller frees it). */
static pending *pop(hb_clients *cs, hb_client *c)
{
    pending *p = c->head;
    c->head = p->next;
    if (!c->head)
        c->tail = NULL;
    c->waiting--;
    c->waiting_bytes -= p->bytes;
    cs->waiting_bytes -= p->bytes;
    return p;
}

/* c's pipe is gone with its connection. */
static void forget_pipe(hb_client *c)
{
    memset(c->sent, 0, sizeof c->sent);
    c->sent_bytes = 0;
}

/* Drop everything waiting for c, cut it off and close its connection. */
static void cut(hb_clients *cs, hb_client *c, const char *why)
{
    size_t n = c->waiting, bytes = c->waiting_bytes;
    while (c->head) {
        pending_free(pop(cs, c));
        cs->dropped++;
    }
    wait_list_remove(cs, c);
    c->cut = 1;
    cs->cut_off++;
    int closed = conn_close(&c->conn) == 0;
    if (closed)
        forget_pipe(c);
    char addr[64] = "?";
    if (c->conn.fd >= 0 &&
        (c->conn.peer.ss_family == AF_INET || c->conn.peer.ss_family == AF_INET6))
        getnameinfo((struct sockaddr *)&c->conn.peer, c->conn.plen, addr, sizeof addr,
                    NULL, 0, NI_NUMERICHOST);
    hb_log(HB_LOG_WARN,
           "client at %s cut off: %s; dropped its %zu unread replies (%zu bytes)%s", addr,
           why, n, bytes, closed ? " and closed its connection" : "");
    maybe_free(cs, c);
}

/* The client with the most unread replies (its backlog and full pipe). */
static hb_client *largest_backlog(const hb_clients *cs)
{
    hb_client *best = cs->wait_head;
    for (hb_client *c = cs->wait_head; c; c = c->wnext)
        if (c->waiting_bytes + c->sent_bytes > best->waiting_bytes + best->sent_bytes)
            best = c;
    return best;
}

/* Keep the reply in c's backlog, then enforce the budgets.  The frames
 * are copied, not moved: a reply libzmq decoded may share its receive
 * buffer with other messages, and keeping it would pin the whole buffer,
 * bytes this accounting could not see (measured: twice what it counted). */
static void enqueue(hb_clients *cs, hb_client *c, zmq_msg_t *frames, int n)
{
    pending *p = malloc(sizeof *p + (size_t)n * sizeof(zmq_msg_t));
    if (!p) {
        drop_frames(cs, frames, n);
        return;
    }
    p->next = NULL;
    p->n = n;
    p->bytes = sizeof *p + (size_t)n * sizeof(zmq_msg_t);
    for (int i = 0; i < n; i++) {
        size_t size = zmq_msg_size(&frames[i]);
        if (zmq_msg_init_size(&p->frames[i], size) != 0) {
            while (i-- > 0)
                zmq_msg_close(&p->frames[i]);
            free(p);
            drop_frames(cs, frames, n);
            return;
        }
        memcpy(zmq_msg_data(&p->frames[i]), zmq_msg_data(&frames[i]), size);
        zmq_msg_close(&frames[i]);
        p->bytes += size;
    }
    if (c->tail)
        c->tail->next = p;
    else
        c->head = p;
    c->tail = p;
    c->waiting++;
    cs->delayed++;
    c->waiting_bytes += p->bytes;
    cs->waiting_bytes += p->bytes;
    wait_list_add(cs, c);
    note_peak(cs);
    if (c->waiting_bytes + c->sent_bytes > cs->lim.client_bytes) {
        char why[128];
        snprintf(why, sizeof why, "its unread replies passed %zu bytes",
                 cs->lim.client_bytes);
        cut(cs, c, why);
    }
    while (cs->wait_head && all_total(cs) > cs->lim.total_bytes) {
        char why[160];
        snprintf(why, sizeof why,
                 "hubaod holds over %zu bytes for its clients, and this one's unread "
                 "replies are the most",
                 cs->lim.total_bytes);
        cut(cs, largest_backlog(cs), why);
    }
}

void hb_clients_send(hb_clients *cs, hb_client *c, zmq_msg_t *frames, int n)
{
    if (c->head) {
        enqueue(cs, c, frames, n); /* behind what already waits: order kept */
        return;
    }
    int rc = send_frames(cs, c, frames, n);
    if (rc == 0)
        c->cut = 0; /* it takes replies again */
    else if (rc == EAGAIN && !c->cut)
        enqueue(cs, c, frames, n);
    else
        drop_frames(cs, frames, n); /* gone, or cut off and still not reading */
}

size_t hb_clients_flush(hb_clients *cs)
{
    for (hb_client *c = cs->wait_head, *next; c; c = next) {
        next = c->wnext;
        int rc = 0;
        while (c->head && (rc = send_frames(cs, c, c->head->frames, c->head->n)) == 0)
            pending_free(pop(cs, c));
        if (rc != 0 && rc != EAGAIN) { /* gone: nobody to give them to */
            while (c->head) {
                pending_free(pop(cs, c));
                cs->dropped++;
            }
            wait_list_remove(cs, c);
            forget_pipe(c);
        }
        if (!c->head) {
            wait_list_remove(cs, c);
            maybe_free(cs, c);
        }
    }
    return cs->nwaiting;
}

size_t hb_clients_bytes(const hb_clients *cs)
{
    return all_total(cs);
}

void hb_clients_tick(hb_clients *cs)
{
    size_t now = all_total(cs);
    if (cs->peak_bytes >= TRIM_MIN && now <= cs->peak_bytes / 4) {
#ifdef __GLIBC__
        /* the replies were freed, but glibc keeps the pages unless asked */
        malloc_trim(0);
#endif
        cs->peak_bytes = now;
    }
}

json_t *hb_clients_stats(const hb_clients *cs)
{
    return json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I}}", "active",
        (json_int_t)cs->count, "waiting", (json_int_t)cs->nwaiting, "held_bytes",
        (json_int_t)cs->held_bytes, "waiting_bytes", (json_int_t)cs->waiting_bytes,
        "piped_bytes", (json_int_t)cs->piped_bytes, "cut_off", (json_int_t)cs->cut_off,
        "replies_delayed", (json_int_t)cs->delayed, "replies_dropped",
        (json_int_t)cs->dropped, "limits", "in_flight", (json_int_t)cs->lim.in_flight,
        "client_bytes", (json_int_t)cs->lim.client_bytes, "total_bytes",
        (json_int_t)cs->lim.total_bytes);
}

void hb_clients_free(hb_clients *cs)
{
    if (!cs)
        return;
    for (size_t i = 0; i < cs->nbuckets; i++)
        for (hb_client *c = cs->buckets[i], *next; c; c = next) {
            next = c->hnext;
            while (c->head)
                pending_free(pop(cs, c));
            free(c);
        }
    free(cs->buckets);
    free(cs);
}
