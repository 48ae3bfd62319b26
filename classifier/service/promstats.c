/*
 * promstats.c - hubaod's stats as Prometheus metrics (promstats.h).
 */
#include "promstats.h"

#include <stdint.h>

static double num(const json_t *obj, const char *key)
{
    return json_number_value(json_object_get(obj, key));
}

/* Every sample of a {"label value": n} object under one label name. */
static void by_label(hb_prom *p, const char *name, const char *label,
                     const json_t *counts)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)counts, k, v)
    {
        hb_prom_sample(p, name, json_number_value(v), label, k, (const char *)NULL);
    }
}

/* For every task of all ({"task": {key: {"value": n}}}), a sample of
 * name{task, label=value}. */
static void per_task(hb_prom *p, const json_t *all, const char *key, const char *name,
                     const char *label)
{
    const char *task;
    json_t *t;
    json_object_foreach((json_t *)all, task, t)
    {
        const char *v;
        json_t *n;
        json_object_foreach(json_object_get(t, key), v, n)
        {
            hb_prom_sample(p, name, json_number_value(n), "task", task, label, v,
                           (const char *)NULL);
        }
    }
}

static void verdicts(hb_prom *p, const json_t *all)
{
    hb_prom_family(p, "hubao_verdicts_total", "counter",
                   "Items classified, by task and the label given.");
    per_task(p, all, "labels", "hubao_verdicts_total", "label");
    hb_prom_family(p, "hubao_verdict_types_total", "counter",
                   "Items given a type (a fraud type), by task and type.");
    per_task(p, all, "types", "hubao_verdict_types_total", "type");
}

static void latency_histogram(hb_prom *p, const hb_latency *lat)
{
    uint64_t cumulative[HB_PROM_LATENCY_BOUNDS];
    for (size_t i = 0; i < HB_PROM_LATENCY_BOUNDS; i++)
        cumulative[i] =
            hb_latency_count_le(lat, (int64_t)(hb_prom_latency_bounds[i] * 1e6));
    hb_prom_family(p, "hubao_request_duration_seconds", "histogram",
                   "Time from a request's arrival to its reply leaving the broker.");
    hb_prom_histogram(p, "hubao_request_duration_seconds", hb_prom_latency_bounds,
                      cumulative, HB_PROM_LATENCY_BOUNDS, hb_latency_count(lat),
                      hb_latency_sum(lat) / 1e6, (const char *)NULL);
}

static void workers(hb_prom *p, const json_t *stats)
{
    const json_t *list = json_object_get(stats, "workers");
    size_t busy = 0, fallback = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *w = json_array_get(list, i);
        const char *state = json_string_value(json_object_get(w, "state"));
        busy += state && state[0] != 'i'; /* busy or reloading */
        fallback += json_is_true(json_object_get(w, "models_fallback"));
    }
    hb_prom_gauge(p, "hubao_workers_up", "Workers connected to the broker.",
                  (double)json_array_size(list));
    hb_prom_gauge(p, "hubao_workers_busy", "Workers holding requests or reloading.",
                  (double)busy);
    hb_prom_gauge(
        p, "hubao_workers_fallback",
        "Workers serving the snapshot of the last set that loaded, not the configured one.",
        (double)fallback);
    hb_prom_counter(p, "hubao_worker_restarts_total",
                    "Local workers restarted after exiting.", num(stats, "restarts"));
}

static void models(hb_prom *p, const json_t *stats)
{
    const char *task;
    json_t *v;
    hb_prom_family(p, "hubao_model_info", "gauge",
                   "Model versions in service (two for a task while workers differ).");
    json_object_foreach(json_object_get(stats, "models"), task, v)
    {
        if (json_is_string(v))
            hb_prom_sample(p, "hubao_model_info", 1, "task", task, "version",
                           json_string_value(v), (const char *)NULL);
        for (size_t i = 0; json_is_array(v) && i < json_array_size(v); i++)
            hb_prom_sample(p, "hubao_model_info", 1, "task", task, "version",
                           json_string_value(json_array_get(v, i)), (const char *)NULL);
    }
}

static void feeds(hb_prom *p, const json_t *stats, double now)
{
    const json_t *list = json_object_get(stats, "feeds");
    hb_prom_family(p, "hubao_feed_entries", "gauge",
                   "URLs, hosts and domains a blocklist feed's copy in service lists.");
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *f = json_array_get(list, i);
        hb_prom_sample(p, "hubao_feed_entries", num(f, "entries"), "feed",
                       json_string_value(json_object_get(f, "name")), (const char *)NULL);
    }
    hb_prom_family(p, "hubao_feed_age_seconds", "gauge",
                   "Time since a feed's copy in service was last known current.");
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *f = json_array_get(list, i);
        hb_prom_sample(p, "hubao_feed_age_seconds", now - num(f, "updated"), "feed",
                       json_string_value(json_object_get(f, "name")), (const char *)NULL);
    }
}

void hb_promstats_write(hb_prom *p, const json_t *stats, const hb_latency *latency,
                        double now)
{
    hb_prom_counter(p, "hubao_requests_total", "Requests received (a batch counts once).",
                    num(stats, "requests"));
    hb_prom_counter(p, "hubao_replies_total", "Replies sent.", num(stats, "replies"));
    hb_prom_counter(p, "hubao_items_total",
                    "Items (messages) classified or refused by workers.",
                    num(stats, "items"));
    hb_prom_family(p, "hubao_errors_total", "counter", "Error replies, by error code.");
    by_label(p, "hubao_errors_total", "code",
             json_object_get(json_object_get(stats, "errors"), "by_code"));
    verdicts(p, json_object_get(stats, "verdicts"));
    latency_histogram(p, latency);
    const json_t *queue = json_object_get(stats, "queue");
    hb_prom_gauge(p, "hubao_queue_length", "Requests waiting for a worker.",
                  num(queue, "length"));
    hb_prom_gauge(p, "hubao_queue_limit", "Requests that may wait (--queue).",
                  num(queue, "limit"));
    hb_prom_gauge(p, "hubao_in_flight", "Requests held by workers.",
                  num(stats, "in_flight"));
    hb_prom_counter(p, "hubao_resent_total",
                    "Requests re-sent after their worker was lost.",
                    num(stats, "resent"));
    workers(p, stats);
    const json_t *reloads = json_object_get(stats, "reloads");
    hb_prom_family(p, "hubao_reloads_total", "counter",
                   "Reloads of models, rules and feeds, by outcome (failed: some worker "
                   "kept the old set).");
    hb_prom_sample(p, "hubao_reloads_total", num(reloads, "ok"), "outcome", "ok",
                   (const char *)NULL);
    hb_prom_sample(p, "hubao_reloads_total", num(reloads, "failed"), "outcome", "failed",
                   (const char *)NULL);
    models(p, stats);
    feeds(p, stats, now);
    const json_t *clients = json_object_get(stats, "clients");
    hb_prom_gauge(p, "hubao_clients_active", "Clients with requests or replies held.",
                  num(clients, "active"));
    hb_prom_gauge(p, "hubao_client_held_bytes",
                  "Bytes of requests and unread replies held for clients.",
                  num(clients, "held_bytes"));
    hb_prom_counter(p, "hubao_clients_cut_off_total",
                    "Clients disconnected for staying over their byte budget.",
                    num(clients, "cut_off"));
    hb_prom_gauge(p, "hubao_uptime_seconds", "Time since hubaod started.",
                  num(stats, "uptime_s"));
}
