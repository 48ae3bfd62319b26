/*
 * webstats.c - `hubao web`'s counters for /metrics (webstats.h).
 */
#include "webstats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

/* Statuses are kept in a small table: web.c sends about a dozen. */
enum { STATUS_SLOTS = 32 };

typedef struct status_count {
    unsigned status; /* 0: free */
    unsigned long long n;
} status_count;

struct web_stats {
    status_count responses[WEB_ROUTES][STATUS_SLOTS];
    hb_prom_latency backend;
    unsigned long long feedback_rows;
};

static const char *const ROUTE_NAMES[WEB_ROUTES] = {"page",    "check",   "feedback",
                                                    "healthz", "metrics", "other"};

web_route web_route_of(const char *url)
{
    if (strcmp(url, "/api/check") == 0)
        return WEB_ROUTE_CHECK;
    if (strcmp(url, "/api/feedback") == 0)
        return WEB_ROUTE_FEEDBACK;
    if (strcmp(url, "/healthz") == 0)
        return WEB_ROUTE_HEALTH;
    if (strcmp(url, "/metrics") == 0)
        return WEB_ROUTE_METRICS;
    if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0 ||
        strcmp(url, "/app.js") == 0 || strcmp(url, "/style.css") == 0)
        return WEB_ROUTE_PAGE;
    return WEB_ROUTE_OTHER;
}

web_stats *web_stats_new(void)
{
    return calloc(1, sizeof(web_stats));
}

void web_stats_free(web_stats *s)
{
    free(s);
}

void web_stats_response(web_stats *s, web_route route, unsigned status)
{
    status_count *row = s->responses[route];
    for (int i = 0; i < STATUS_SLOTS; i++) {
        if (row[i].status == status || row[i].status == 0) {
            row[i].status = status;
            row[i].n++;
            return;
        }
    }
}

void web_stats_backend(web_stats *s, double seconds)
{
    hb_prom_latency_add(&s->backend, seconds);
}

void web_stats_feedback_row(web_stats *s)
{
    s->feedback_rows++;
}

char *web_stats_render(const web_stats *s, size_t *len)
{
    hb_prom p;
    hb_prom_init(&p);
    hb_prom_family(&p, "hubao_web_http_requests_total", "counter",
                   "HTTP responses sent, by route and status.");
    for (int r = 0; r < WEB_ROUTES; r++) {
        for (int i = 0; i < STATUS_SLOTS && s->responses[r][i].status; i++) {
            char status[16];
            snprintf(status, sizeof status, "%u", s->responses[r][i].status);
            hb_prom_sample(&p, "hubao_web_http_requests_total",
                           (double)s->responses[r][i].n, "route", ROUTE_NAMES[r],
                           "status", status, (const char *)NULL);
        }
    }
    hb_prom_family(&p, "hubao_web_backend_duration_seconds", "histogram",
                   "Time the classifier (hubaod, or the local threads) took to answer a "
                   "check.");
    hb_prom_latency_write(&p, "hubao_web_backend_duration_seconds", &s->backend);
    hb_prom_family(&p, "hubao_web_feedback_rows_total", "counter",
                   "Feedback rows staff stored.");
    hb_prom_sample(&p, "hubao_web_feedback_rows_total", (double)s->feedback_rows,
                   (const char *)NULL);
    const char *text = hb_prom_text(&p, len);
    char *out = text ? strdup(text) : NULL;
    hb_prom_free(&p);
    return out;
}
