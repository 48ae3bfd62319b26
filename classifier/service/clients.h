/*
 * clients.h - what the broker holds for each client, and the budgets that
 * keep it bounded: a client that never reads its replies must not grow
 * hubaod without limit, nor crowd out the clients that do.
 *
 * A client is a peer of the front ROUTER socket, known by its routing id.
 * Per client the broker counts the requests it holds (waiting for or at a
 * worker) and their bytes, and keeps a backlog of replies the client has
 * not taken yet.  libzmq never says when a peer has read: the front
 * socket's send high-water mark is small (HB_CLIENTS_SNDHWM messages) and
 * ZMQ_ROUTER_MANDATORY makes a send to a full pipe fail with EAGAIN, so a
 * reply beyond those few waits here instead, where it is counted in bytes,
 * and is sent as soon as the pipe has room again (hb_clients_flush).
 * While a client's pipe is full, the replies in it (the last few sent)
 * count as unread too.
 *
 * The budgets (hb_clients_limits):
 *   - a request from a client that already has in_flight requests held,
 *     or whose held requests and waiting replies exceed client_bytes, is
 *     refused "too_many_in_flight";
 *   - a request arriving while everything held for all clients exceeds
 *     total_bytes is refused "overloaded";
 *   - a client whose unread replies alone exceed client_bytes, or the one
 *     with the most waiting when all together exceed total_bytes, is cut
 *     off: its waiting replies are dropped (counted) and its connection is
 *     closed.  Its later replies are sent if its pipe has room, else
 *     dropped, until it takes one again.
 * A client that reads its replies never meets the last rule: its backlog
 * drains as fast as it reads.
 *
 * A record exists while the client has requests held or replies waiting,
 * so the table holds only clients with something in hand.  Single-
 * threaded, like the broker.
 */
#ifndef HB_SERVICE_CLIENTS_H
#define HB_SERVICE_CLIENTS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <zmq.h>

/* The front socket's send high-water mark: replies queued in libzmq per
 * client, beyond which they wait in the client's backlog (bytes counted). */
#define HB_CLIENTS_SNDHWM 16

typedef struct hb_clients hb_clients;
typedef struct hb_client hb_client;

typedef struct hb_clients_limits {
    long in_flight;      /* requests held for one client */
    size_t client_bytes; /* one client's held requests plus waiting replies */
    size_t total_bytes;  /* the same for all clients together */
} hb_clients_limits;

/* A table for the clients of front (borrowed; a ROUTER socket with
 * ZMQ_ROUTER_MANDATORY set).  Returns NULL when out of memory. */
hb_clients *hb_clients_new(void *front, const hb_clients_limits *limits);

/* Drop every waiting reply and free the table; NULL is fine. */
void hb_clients_free(hb_clients *cs);

/* The client with routing id id (len bytes), made on first use; fd is
 * the descriptor its frames arrived on (zmq_msg_get ZMQ_SRCFD of a frame
 * from the wire: the routing id frame, made by libzmq, has none) or -1.
 * Returns NULL only when out of memory. */
hb_client *hb_clients_get(hb_clients *cs, const void *id, size_t len, int fd);

/* The broker holds a request of bytes bytes for c, or no longer does; a
 * client left with nothing held and no reply waiting is freed. */
void hb_clients_hold(hb_clients *cs, hb_client *c, size_t bytes);
void hb_clients_release(hb_clients *cs, hb_client *c, size_t bytes);

/* Whether c may have another request (call after hb_clients_hold for it):
 * 0 if so, else the error code to refuse it with (HB_EINFLIGHT or
 * HB_EOVERLOADED) and a message in msg (cap bytes) that says what to do. */
int hb_clients_admit(const hb_clients *cs, const hb_client *c, char *msg, size_t cap);

/* Send c a reply of n frames (its envelope, then the body; the frames
 * are moved out, each left empty): at once if its pipe has room, else
 * into its backlog, or dropped when c is cut off or gone. */
void hb_clients_send(hb_clients *cs, hb_client *c, zmq_msg_t *frames, int n);

/* Send what the backlogs hold while the pipes take it.  Returns the
 * number of clients still waiting for room (poll again soon while > 0). */
size_t hb_clients_flush(hb_clients *cs);

/* Call about once a second: after a peak of bytes held has drained,
 * hands the freed memory back to the system (glibc keeps it otherwise). */
void hb_clients_tick(hb_clients *cs);

/* Bytes held for all clients: requests plus waiting replies. */
size_t hb_clients_bytes(const hb_clients *cs);

/* {"active", "waiting", "held_bytes", "waiting_bytes", "piped_bytes",
 *  "cut_off", "replies_delayed" (had to wait in a backlog),
 *  "replies_dropped", "limits": {...}} (new reference). */
json_t *hb_clients_stats(const hb_clients *cs);

#endif
