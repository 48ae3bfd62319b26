/*
 * worker.h - one worker process: connect to the broker's backend socket,
 * classify what it sends, reply, heartbeat (backend.h).
 *
 * One engine (loader.h) and one handler (handler.h), one DEALER socket,
 * one thread serving requests; a second thread exists only while a reload
 * loads.  A worker started by hubaod's supervisor (cfg->supervised) leaves SIGINT
 * and SIGHUP to the broker (a Ctrl-C in the terminal must not kill the
 * workers before the broker has drained them); a worker started alone
 * with --worker reloads on SIGHUP.  SIGTERM finishes the current request
 * and exits.
 *
 * With --curve-server-key (a remote worker whose broker has CURVE on its
 * worker endpoint, auth.h) it connects as a CURVE client with its own
 * key pair (curvekey.h).  When the handshake fails (the broker refuses
 * its key, or only one side has CURVE) it says so in the log, once per
 * connection: libzmq itself would retry in silence.
 */
#ifndef HB_SERVICE_WORKER_H
#define HB_SERVICE_WORKER_H

#include "config.h"

/* Run until SIGTERM.  Returns the process exit code: 0 after a clean stop,
 * 3 when the models, rules or socket could not be set up. */
int hb_worker_run(const hb_service_config *cfg);

#endif
