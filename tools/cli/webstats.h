/*
 * webstats.h - what `hubao web` counts for its /metrics: HTTP responses
 * by route and status, how long the backend (hubaod, or the local
 * classifier threads) took to answer checks, and feedback rows stored.
 * Prometheus text format (prom.h); docs/operations.md lists the metrics.
 *
 * Used on libmicrohttpd's event thread only (web.c), so there is no lock.
 * Routes are a fixed set and statuses the few web.c sends, so the label
 * sets stay bounded whatever clients ask for.
 */
#ifndef HB_CLI_WEBSTATS_H
#define HB_CLI_WEBSTATS_H

#include <stddef.h>

typedef enum web_route {
    WEB_ROUTE_PAGE,
    WEB_ROUTE_CHECK,
    WEB_ROUTE_FEEDBACK,
    WEB_ROUTE_HEALTH,
    WEB_ROUTE_METRICS,
    WEB_ROUTE_OTHER,
    WEB_ROUTES
} web_route;

typedef struct web_stats web_stats;

/* The route a request path belongs to. */
web_route web_route_of(const char *url);

/* A zeroed set of counters, or NULL when out of memory. */
web_stats *web_stats_new(void);
void web_stats_free(web_stats *s);

/* A response was sent. */
void web_stats_response(web_stats *s, web_route route, unsigned status);

/* A check took seconds from submission to the backend's answer. */
void web_stats_backend(web_stats *s, double seconds);

/* A feedback row was stored. */
void web_stats_feedback_row(web_stats *s);

/* The metrics as Prometheus text (malloc'd, *len bytes), or NULL when out
 * of memory. */
char *web_stats_render(const web_stats *s, size_t *len);

#endif
