/*
 * control.h - binding hubaod's control endpoint so that only those meant
 * to can use it (docs/protocol.md, "Control commands").
 *
 * Reload and stats are taken only on the control endpoint, a ROUTER socket
 * of its own beside the request socket.  What guards it is the file
 * system: by default a unix socket in a directory that only the service's
 * user can enter (endpoint.h names it).  So before binding:
 *   - the default directory is created mode 0700, and one that already
 *     exists is refused unless it is a real directory (not a link) owned
 *     by this user that group and others cannot enter: someone else could
 *     otherwise have made it first, and could reach or replace the socket;
 *   - an ipc:// path where another process already listens is refused:
 *     libzmq would silently take the path over, and the other hubaod would
 *     lose its control socket (and delete this one's when it stops);
 *   - a path that exists and is not a socket is refused rather than
 *     replaced;
 *   - the socket file is made with umask 077, so only its owner (and
 *     root) may connect, whatever directory it is in.
 * Endpoints that other users can reach (tcp:// beyond loopback, abstract
 * ipc://@name) are allowed, and the broker warns (hb_endpoint_exposure).
 *
 * A hubaod started as root that will switch to another user (--user,
 * runas.h) binds as root, but the control endpoint is for that user: the
 * socket file, and the default directory it makes, are given to the user
 * once bound, and a default directory left by an earlier run that belongs
 * to the user is accepted like one of root's.
 */
#ifndef HB_SERVICE_CONTROL_H
#define HB_SERVICE_CONTROL_H

#include "error.h"
#include "runas.h"

/* Bind the ZeroMQ socket sock to endpoint as above; private_dir is the
 * default directory the endpoint lies in (created and checked), or NULL
 * for an endpoint the operator named (--control), whose directory is the
 * operator's.  owner (may be NULL) is whom hubaod runs as: with
 * owner->switching, the files are given to owner's user.  Returns 0, or
 * HB_EIO with err saying what is wrong and what to do. */
int hb_control_bind(void *sock, const char *endpoint, const char *private_dir,
                    const hb_runas *owner, hb_error *err);

/* Remove the socket file of an ipc:// endpoint bound with hb_control_bind
 * once its socket is closed (libzmq 4.3 leaves it behind), so that a
 * client is told at once that nothing listens there.  Anything there that
 * is not a socket is left alone. */
void hb_control_unbind(const char *endpoint);

#endif
