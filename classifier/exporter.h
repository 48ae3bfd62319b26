/*
 * exporter.h - serve GET /metrics over HTTP (libmicrohttpd, its own
 * thread) with text the owner renders fresh for each scrape: hubaod's
 * broker and `hubao kafka`, single-threaded loops whose counters only
 * their own thread may read.
 *
 * A scrape asks the owner for a rendering: the exporter makes its fd
 * readable, the owner's loop (which polls the fd) sees hb_exporter_wanted
 * and answers with hb_exporter_publish.  The scrape waits for a rendering
 * made after it arrived, up to 2 s, else it gets 503: the numbers served
 * are never older than the request.  Other paths get 404, other methods
 * 405.
 */
#ifndef HB_EXPORTER_H
#define HB_EXPORTER_H

#include <stddef.h>
#include <sys/socket.h>

#include "error.h"

typedef struct hb_exporter hb_exporter;

/* Parse "HOST:PORT" ("127.0.0.1:9464", "[::1]:9464"; port 0: any free
 * one) into ss and *len.  Returns 0, or -1 when it is not such an
 * address. */
int hb_listen_addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/* Listen on addr (hb_listen_addr_parse).  Returns an owned exporter, or
 * NULL with err (HB_EINVAL: not an address; HB_EIO: cannot listen). */
hb_exporter *hb_exporter_start(const char *addr, hb_error *err);

/* Stop serving and free; NULL is fine. */
void hb_exporter_stop(hb_exporter *e);

/* The port listened on (the chosen one, for port 0). */
int hb_exporter_port(const hb_exporter *e);

/* A file descriptor that is readable while a scrape waits for text. */
int hb_exporter_fd(const hb_exporter *e);

/* 1 when a scrape waits for a rendering (the fd is drained), else 0. */
int hb_exporter_wanted(hb_exporter *e);

/* Answer the waiting scrapes with text (copied); NULL text (out of
 * memory on the owner's side) answers them 503. */
void hb_exporter_publish(hb_exporter *e, const char *text, size_t len);

#endif
