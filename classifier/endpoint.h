/*
 * endpoint.h - how hubaod's ZeroMQ endpoints are named and who can reach
 * them, shared by hubaod and the `hubao` commands that talk to it, so that
 * both sides always agree on where the control endpoint is.
 *
 * Control commands (reload, stats) are taken only on a control endpoint of
 * their own (docs/protocol.md, "Control commands").  By default it is a
 * unix socket in a directory only the service's user can enter:
 *
 *     $XDG_RUNTIME_DIR/hubaod/control   when XDG_RUNTIME_DIR is set
 *     /tmp/hubaod-UID/control           otherwise
 *
 * so file permissions are its authentication.  Nothing here touches the
 * file system or the environment: callers pass in what they read.
 */
#ifndef HB_ENDPOINT_H
#define HB_ENDPOINT_H

#include <stddef.h>

#include "error.h"

/* The longest unix socket path (sun_path holds 108 bytes with the NUL). */
enum { HB_ENDPOINT_IPC_PATH_MAX = 107 };

/* The default control directory and endpoint for the user uid, given the
 * value of $XDG_RUNTIME_DIR (NULL, empty or a relative path: not set, as
 * the XDG spec says).  dir gets "RUNTIME/hubaod" or "/tmp/hubaod-UID"
 * (dir_cap bytes), endpoint "ipc://DIR/control" (ep_cap bytes).  Returns
 * 0, or HB_EINVAL with err when the socket path would be longer than a
 * unix socket allows (the caller should then ask for --control). */
int hb_endpoint_control_default(const char *runtime_dir, unsigned long uid, char *dir,
                                size_t dir_cap, char *endpoint, size_t ep_cap,
                                hb_error *err);

/* The file system path of an ipc:// endpoint (a pointer into endpoint),
 * or NULL for other transports and for abstract sockets ("ipc://@name"),
 * which have no file. */
const char *hb_endpoint_ipc_path(const char *endpoint);

/* Who besides the owner of the process can connect to endpoint, as a
 * sentence for a warning; NULL when nobody can: an ipc:// socket file
 * (its permissions decide), inproc://, or tcp:// on a loopback address
 * (127.0.0.0/8, ::1, localhost; the "lo" interface).  A static string. */
const char *hb_endpoint_exposure(const char *endpoint);

#endif
