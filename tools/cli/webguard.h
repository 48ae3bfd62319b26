/*
 * webguard.h - who may hold a connection to `hubao web`, for how long, and
 * whom a request is from (docs/web.md, "Connections and proxies").
 *
 * Slow clients must not lock others out (slowloris: many connections
 * that send a request a byte at a time).  So:
 * - a connection has --header-timeout seconds to send a request's headers
 *   (from its start, or from the end of the previous request when kept
 *   alive) and then --body-timeout seconds to send the body, and again to
 *   read the reply: deadlines, not idle times, so a byte now and then does
 *   not keep a connection.  A connection waiting for its answer (suspended,
 *   web.c) has no deadline: the backend's --timeout-ms bounds it.
 * - at most max_connections are open; one client (an address; for IPv6 a
 *   /64) holds at most max_per_client; and the last quarter of
 *   max_connections is kept for clients that hold none yet.
 * - a trusted proxy (--trusted-proxy) is one address in front of many
 *   clients: its connections are not held to max_per_client; instead the
 *   client it names in X-Forwarded-For is, for requests in progress and
 *   for the rate limit.  X-Forwarded-For from anyone else is ignored.
 * - stopping (web_guard_drain): a connection waiting for a request's
 *   headers is cut at once, and every other at the first sweep after its
 *   request is over, so that only requests already in progress finish.
 *
 * The accept and connection callbacks and the request phase calls run on
 * libmicrohttpd's event thread; web_guard_sweep runs on another (cmd_web's
 * main thread) and cuts a connection past its deadline with shutdown(2),
 * which makes libmicrohttpd close it.  One mutex keeps the two apart, and
 * a socket is shut down only while the connection is known to be open.
 */
#ifndef HB_CLI_WEBGUARD_H
#define HB_CLI_WEBGUARD_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#include <microhttpd.h>

typedef struct web_guard web_guard;

/* Room for a client's name as web_guard_request writes it. */
enum { WEB_CLIENT_MAX = INET6_ADDRSTRLEN + 4 };

typedef struct web_guard_limits {
    unsigned max_connections; /* open at once, in all */
    unsigned max_per_client;  /* from one client at once */
    unsigned header_timeout;  /* seconds to send a request's headers */
    unsigned body_timeout;    /* seconds to send its body; again to read the reply */
} web_guard_limits;

/* A guard with these limits and no trusted proxy, or NULL when out of
 * memory.  The caller frees it with web_guard_free after MHD stopped. */
web_guard *web_guard_new(const web_guard_limits *limits);

void web_guard_free(web_guard *g);

/* Believe X-Forwarded-For from spec, an address or ADDR/PREFIX
 * ("10.0.0.5", "::1", "10.0.0.0/24").  0, or -1 when spec is not one. */
int web_guard_trust(web_guard *g, const char *spec);

/* MHD_AcceptPolicyCallback (cls: the guard): MHD_NO when the address is at
 * its share, or the reserve for new clients is all that is left. */
enum MHD_Result web_guard_accept(void *cls, const struct sockaddr *addr, socklen_t len);

/* MHD_NotifyConnectionCallback (cls: the guard): tracks connections. */
void web_guard_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code);

/* A request's headers are in: its body deadline starts.  Writes whom the
 * request is from into client (cap bytes, WEB_CLIENT_MAX is enough):
 * the peer's address, or behind a trusted proxy the address the proxy
 * names; an IPv6 client as its /64.  Returns 0, or -1 when that client
 * already has max_per_client requests in progress (refuse this one). */
int web_guard_request(struct MHD_Connection *c, char *client, size_t cap);

/* The request waits for its answer (suspended): no deadline. */
void web_guard_waiting(struct MHD_Connection *c);

/* A response is queued: the reply deadline starts. */
void web_guard_replying(struct MHD_Connection *c);

/* The request is over: the connection waits for the next one's headers. */
void web_guard_done(struct MHD_Connection *c);

/* Cut every connection past its deadline (and, once draining, every one
 * that has no request in progress).  Any thread. */
void web_guard_sweep(web_guard *g);

/* The server is stopping: from now on a connection is kept only while its
 * request is in progress (headers in, reply not yet all sent); the others
 * are cut, now and by each later sweep.  Any thread. */
void web_guard_drain(web_guard *g);

/* How many requests are in progress.  Any thread. */
unsigned web_guard_busy(web_guard *g);

#endif
