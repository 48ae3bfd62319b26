/*
 * exporter.c - GET /metrics with text rendered by its owner (exporter.h).
 */
#include "exporter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "prom.h"

enum { WAIT_MS = 2000, MAX_CONNECTIONS = 16, IDLE_TIMEOUT_S = 10 };

struct hb_exporter {
    struct MHD_Daemon *daemon;
    int pipe[2]; /* a byte in [1] asks the owner for a rendering */
    int port;
    pthread_mutex_t mu;
    pthread_cond_t done;
    uint64_t asked, published; /* renderings asked for and made */
    char *text;                /* the last rendering, NULL: none or failed */
    size_t len;
};

int hb_listen_addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host)
        return -1;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535 || end == colon + 1)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    size_t hl = strlen(host);
    if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &v6->sin6_addr) != 1)
            return -1;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof *v6;
        return 0;
    }
    if (inet_pton(AF_INET, host, &v4->sin_addr) != 1)
        return -1;
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    *len = sizeof *v4;
    return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body,
                                                             MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Ask the owner for a rendering made after now and wait for it. */
static enum MHD_Result scrape(hb_exporter *e, struct MHD_Connection *c)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_MS / 1000;
    until.tv_nsec += (long)(WAIT_MS % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&e->mu);
    uint64_t want = ++e->asked;
    ssize_t w = write(e->pipe[1], "m", 1);
    (void)w; /* a full pipe already asks */
    int rc = 0;
    while (e->published < want && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&e->done, &e->mu, &until);
    enum MHD_Result ret;
    if (e->published >= want && e->text)
        ret = reply(c, MHD_HTTP_OK, HB_PROM_CONTENT_TYPE, e->text, e->len);
    else
        ret = reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
                    "metrics not rendered in time\n", 29);
    pthread_mutex_unlock(&e->mu);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *body,
                              size_t *body_len, void **state)
{
    (void)version;
    (void)body;
    if (!*state) { /* first call: headers only */
        *state = c;
        return MHD_YES;
    }
    if (*body_len) { /* a body is not expected: read and drop it */
        *body_len = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/metrics") != 0)
        return reply(c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", "not found\n",
                     10);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
                     "use GET\n", 8);
    return scrape(cls, c);
}

hb_exporter *hb_exporter_start(const char *addr, hb_error *err)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (hb_listen_addr_parse(addr, &ss, &sslen) != 0) {
        hb_error_set(err, HB_EINVAL, "metrics address \"%s\" is not HOST:PORT", addr);
        return NULL;
    }
    hb_exporter *e = calloc(1, sizeof *e);
    if (!e) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        return NULL;
    }
    e->pipe[0] = e->pipe[1] = -1;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->done, NULL);
    if (pipe(e->pipe) != 0 || fcntl(e->pipe[0], F_SETFL, O_NONBLOCK) != 0 ||
        fcntl(e->pipe[1], F_SETFL, O_NONBLOCK) != 0 ||
        fcntl(e->pipe[0], F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(e->pipe[1], F_SETFD, FD_CLOEXEC) != 0) {
        hb_error_set(err, HB_EIO, "cannot make a pipe: %s", strerror(errno));
        hb_exporter_stop(e);
        return NULL;
    }
    e->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
                                     (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
                                 0, NULL, NULL, handle, e, MHD_OPTION_SOCK_ADDR, &ss,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
                                 MHD_OPTION_END);
    if (!e->daemon) {
        hb_error_set(err, HB_EIO, "cannot listen on %s for metrics (in use?)", addr);
        hb_exporter_stop(e);
        return NULL;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(e->daemon, MHD_DAEMON_INFO_BIND_PORT);
    e->port = info ? info->port : 0;
    return e;
}

void hb_exporter_stop(hb_exporter *e)
{
    if (!e)
        return;
    if (e->daemon) {
        /* answer scrapes that wait, so MHD's thread can stop */
        hb_exporter_publish(e, NULL, 0);
        MHD_stop_daemon(e->daemon);
    }
    for (int i = 0; i < 2; i++)
        if (e->pipe[i] >= 0)
            close(e->pipe[i]);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->done);
    free(e->text);
    free(e);
}

int hb_exporter_port(const hb_exporter *e)
{
    return e->port;
}

int hb_exporter_fd(const hb_exporter *e)
{
    return e->pipe[0];
}

int hb_exporter_wanted(hb_exporter *e)
{
    char buf[64];
    int any = 0;
    while (read(e->pipe[0], buf, sizeof buf) > 0)
        any = 1;
    if (any)
        return 1;
    pthread_mutex_lock(&e->mu);
    any = e->asked > e->published;
    pthread_mutex_unlock(&e->mu);
    return any;
}

void hb_exporter_publish(hb_exporter *e, const char *text, size_t len)
{
    char *copy = text ? malloc(len + 1) : NULL;
    if (copy) {
        memcpy(copy, text, len);
        copy[len] = '\0';
    }
    pthread_mutex_lock(&e->mu);
    free(e->text);
    e->text = copy;
    e->len = copy ? len : 0;
    e->published = e->asked;
    pthread_cond_broadcast(&e->done);
    pthread_mutex_unlock(&e->mu);
}
