/*
 * broker.h - hubaod's broker: clients on a ROUTER front end, workers on a
 * ROUTER back end, requests queued in between, and control commands on a
 * ROUTER control endpoint of their own (docs/protocol.md for the client
 * side, backend.h for the worker side, control.h for who may reach the
 * control endpoint).
 *
 * What it guarantees:
 *   - every request frame gets exactly one reply frame: the worker's, or
 *     an error made here (too_large, overloaded, too_many_in_flight,
 *     deadline_exceeded, shutting_down, invalid_request for a bad
 *     envelope, forbidden for a control command other than ping on the
 *     front end), unless the client stops reading its replies and is cut
 *     off (clients.h);
 *   - a request held by a worker that dies or falls silent is re-sent to
 *     another (at most three tries in all, so a request that crashes
 *     workers cannot take the pool down in a loop);
 *   - bounded memory: at most --queue requests wait, each worker holds at
 *     most --credit, and beyond that requests are refused at once; what is
 *     held for clients, requests and the replies they have not read, is
 *     budgeted in bytes per client and in all (clients.h).
 *
 * Single-threaded: one zmq_poll loop over the three sockets and the signal
 * pipe, which also drives the supervisor (restarts), heartbeats, deadline
 * sweeps, reloads and the drain on SIGTERM.
 */
#ifndef HB_SERVICE_BROKER_H
#define HB_SERVICE_BROKER_H

#include "config.h"
#include "error.h"
#include "supervisor.h"

typedef struct hb_broker hb_broker;

/* Bind the front end, the control endpoint (cfg->control, made private
 * as control.h says) and the back end, with CURVE where cfg asks for it
 * (auth.h), and install the signal handlers.  Returns an owned broker, or
 * NULL with err (an endpoint that cannot be bound, for instance because
 * the port is in use, a control directory that is not private, or a key
 * file that does not read). */
hb_broker *hb_broker_new(const hb_service_config *cfg, hb_error *err);

/* Close the sockets (replies already sent are flushed for up to 2 s) and
 * free; NULL is fine. */
void hb_broker_free(hb_broker *b);

/* The endpoint this broker's own workers connect to (the bound --backend,
 * with an ephemeral port or wildcard address resolved; with CURVE on the
 * back end, the keyless private endpoint bound beside it, auth.h);
 * borrowed. */
const char *hb_broker_backend(const hb_broker *b);

/* Serve until SIGTERM/SIGINT and the drain that follows.  sup (may be
 * NULL: remote workers only) is ticked and reaped from the loop; the
 * broker does not own it.  Returns the process exit code (0). */
int hb_broker_run(hb_broker *b, hb_supervisor *sup);

#endif
