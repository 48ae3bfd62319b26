/*
 * auth.h - who may connect to hubaod over CURVE (docs/protocol.md,
 * "Authentication (CURVE)"): the broker's key pair, the public keys
 * authorised on each endpoint, and the ZAP handler (RFC 27) that libzmq
 * asks about every CURVE handshake.
 *
 * The client endpoint (--bind) is a CURVE server when --curve-clients
 * DIR is given, the worker endpoint (--backend) when --curve-workers DIR
 * is; both use the key pair in --curve-secret-key FILE.  Each directory's
 * *.pub files (curvekey.h) are the keys let in on that endpoint, and no
 * other: a client key does not make a worker.  Keys are read at start-up
 * (a file that does not read stops hubaod with the reason) and again on
 * each reload (SIGHUP, `hubao control reload`), when a directory that
 * does not read keeps the keys it had and the log says why.
 *
 * The handler is a REP socket on inproc://zeromq.zap.01 in the broker's
 * own context, answered from the broker's loop (no thread, so a reload
 * swaps the keys without a lock).  It answers every request: 200 for a
 * CURVE key authorised in the request's domain (the endpoint's role), 400
 * for any other, 500 for a request it cannot read.  A connection without
 * CURVE on a keyless endpoint (the control socket, the local workers'
 * ipc) never asks, and one that asks anyway (libzmq with a ZAP domain on
 * a NULL socket) is let in: those endpoints are guarded by where they
 * listen, not by keys.  Refusals are logged with the address and the
 * refused public key (to authorise it, if it should have been): each key
 * once a minute, at most five lines a second; the next line says how many
 * were not logged.
 */
#ifndef HB_SERVICE_AUTH_H
#define HB_SERVICE_AUTH_H

#include "config.h"
#include "error.h"

typedef struct hb_auth hb_auth;

typedef enum hb_auth_role {
    HB_AUTH_CLIENTS = 0, /* the client endpoint, --curve-clients */
    HB_AUTH_WORKERS = 1, /* the worker endpoint, --curve-workers */
} hb_auth_role;

/* Read cfg's CURVE settings: the broker's key pair and each authorised
 * keys directory, then bind the ZAP handler in the ZeroMQ context ctx
 * (before any socket of ctx binds with CURVE).  *out is NULL, and 0
 * returned, when cfg asks for no CURVE.  Returns 0, or HB_EIO /
 * HB_EFORMAT / HB_EINVAL with err naming the file and what is wrong. */
int hb_auth_open(void *ctx, const hb_service_config *cfg, hb_auth **out, hb_error *err);

/* 1 if the endpoint of role is to be a CURVE server (a is NULL: 0). */
int hb_auth_enabled(const hb_auth *a, hb_auth_role role);

/* Make sock a CURVE server for role: the broker's secret key and the ZAP
 * domain naming role.  Like every ZeroMQ option but a few, it applies to
 * the socket's binds from now on, not to those made before.  Returns 0,
 * or HB_EINVAL with err. */
int hb_auth_serve(const hb_auth *a, void *sock, hb_auth_role role, hb_error *err);

/* The handler's socket, to poll for ZMQ_POLLIN. */
void *hb_auth_socket(const hb_auth *a);

/* Answer every ZAP request waiting, without blocking. */
void hb_auth_handle(hb_auth *a);

/* Warn in the log about an endpoint that others can reach without a key:
 * bind (the client endpoint) or backend (the worker endpoint, "" for the
 * default private one) on tcp:// at an address other than loopback, with
 * no CURVE on it (a may be NULL: none anywhere). */
void hb_auth_warn_exposed(const hb_auth *a, const char *bind, const char *backend);

/* Read the key directories again (a reload); logs what changed, or why a
 * directory keeps its old keys. */
void hb_auth_reload(hb_auth *a);

/* Close the handler's socket and free; NULL is fine.  Before the context
 * is terminated. */
void hb_auth_free(hb_auth *a);

#endif
