/*
 * kafka.c - `hubao kafka`: classify a Kafka topic's records as a member
 * of a consumer group and write one reply record for each to another
 * topic (docs/kafka.md).
 *
 * The main thread owns the consumer, serves the producer's delivery
 * reports and keeps the books; kafkawork.c's threads classify and
 * produce.  At-least-once: a partition's offset is committed only up to
 * the first record whose reply the cluster has not acknowledged, so a
 * crash or a rebalance repeats work and never skips it.  Each assigned
 * partition keeps a ring of its records in flight in offset order; a
 * delivery report marks one done and the commit advances over the done
 * prefix.  A partition revoked in a rebalance is drained (bounded by
 * --drain-timeout-ms) and committed before it is let go; one assigned
 * again gets fresh books, while the old ones wait for their stragglers.
 *
 * Back-pressure: at most --max-in-flight records are between the consumer
 * and the acknowledgement (next_record says how it holds that).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "cli.h"
#include "exporter.h"
#include "kafkawork.h"
#include "paths.h"
#include "prom.h"
#include "render.h"

static const char USAGE[] =
    "usage: hubao kafka --brokers HOST:PORT[,..] --group G --input-topic IN\n"
    "                   --output-topic OUT [options]\n"
    "Classify every record of IN as a member of consumer group G and write one\n"
    "reply record for each to OUT (docs/kafka.md).  At-least-once: an input's\n"
    "offset is committed only after its reply is acknowledged.  SIGTERM drains\n"
    "and commits; SIGHUP reloads models, rules and feeds.\n"
    "\n"
    "  --input json|text     a record is request JSON, as hubaod takes (default),\n"
    "                        or plain UTF-8 text\n"
    "  --detail full|brief   how much of a verdict replies carry (default full)\n"
    "  --threads N           classifying threads (default: the CPUs, up to 16)\n"
    "  --dead-letter TOPIC   also copy inputs that got an error reply to TOPIC\n"
    "  --kafka-conf FILE     librdkafka properties, NAME=VALUE a line, for both\n"
    "                        clients; consumer.NAME or producer.NAME for one\n"
    "  --max-in-flight N     records read and not yet acknowledged (default 2000)\n"
    "  --max-request-bytes N a larger record gets a too_large reply (default 1 MiB)\n"
    "  --max-batch N         items of one batch request (default 256)\n"
    "  --drain-timeout-ms MS wait this long for replies in flight on a rebalance\n"
    "                        or at shutdown (default 10000)\n"
    "  --stats-interval-ms MS  log a stats line this often (default 10000; 0: never)\n"
    "  --metrics HOST:PORT   serve Prometheus metrics on http://HOST:PORT/metrics\n"
    "  --models DIR --rules DIR --feeds DIR   as for `hubao check`\n"
    "\n"
    "Exit status: 0 after SIGTERM with everything delivered and committed; 1 when\n"
    "replies could not be delivered (their inputs stay uncommitted); 2 usage;\n"
    "3 set-up failure (models, an unreachable cluster, a missing topic).\n";

static volatile sig_atomic_t stop_signal, reload_signal;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        reload_signal = 1;
    else
        stop_signal = sig;
}

typedef struct kafka_opts {
    const char *brokers, *group, *input, *output, *dead, *conf_file;
    const char *models, *rules, *feeds, *metrics;
    int text, threads;
    hb_detail detail;
    long max_in_flight, max_record, max_batch, drain_ms, stats_ms;
} kafka_opts;

/* One input partition's records in flight, in offset order. */
typedef struct slot {
    int64_t offset;
    int done;
} slot;

typedef struct part {
    int32_t partition;
    slot *ring;
    size_t cap;
    uint64_t head, tail; /* in flight: [head, tail) */
    int64_t done_next;   /* one past the done prefix's last offset, -1 none */
    int64_t committed;   /* the offset committed last (next to read), -1 none */
    int retired;         /* revoked; freed when nothing is in flight */
    struct part *next;   /* on the retired list */
} part;

typedef struct kafka {
    kafka_opts o;
    rd_kafka_t *consumer, *producer;
    kw_pool *pool;
    hb_engine *engine;
    hb_exporter *exporter; /* --metrics, or NULL */
    part **parts;          /* by partition number: the current books, or NULL */
    int32_t nparts;
    part *retired;
    uint64_t in_flight, records_in, records_out, rebalances, reloads, reload_failures;
    int paused, failed;
    int64_t full_since; /* when --max-in-flight was reached, 0 when not */
    int64_t last_commit_ms, last_stats_ms;
} kafka;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Write one JSON log line to stderr (takes j). */
static void log_json(json_t *j)
{
    if (!j)
        return;
    char *s = json_dumps(j, JSON_COMPACT);
    if (s)
        fprintf(stderr, "%s\n", s);
    free(s);
    json_decref(j);
}

static json_t *partition_array(const rd_kafka_topic_partition_list_t *l)
{
    json_t *a = json_array();
    for (int i = 0; l && i < l->cnt; i++)
        json_array_append_new(a, json_integer(l->elems[i].partition));
    return a;
}

/* ---- books of records in flight ---------------------------------------- */

static part *part_new(int32_t partition)
{
    part *p = calloc(1, sizeof *p);
    if (!p || !(p->ring = calloc(64, sizeof *p->ring))) {
        free(p);
        return NULL;
    }
    p->partition = partition;
    p->cap = 64;
    p->done_next = -1;
    p->committed = -1;
    return p;
}

static void part_free(part *p)
{
    if (p) {
        free(p->ring);
        free(p);
    }
}

/* Add offset to p's ring; returns its sequence number, or -1 when out of
 * memory. */
static int64_t part_push(part *p, int64_t offset)
{
    if (p->tail - p->head == p->cap) {
        slot *ring = malloc(2 * p->cap * sizeof *ring);
        if (!ring)
            return -1;
        for (uint64_t s = p->head; s < p->tail; s++)
            ring[s % (2 * p->cap)] = p->ring[s % p->cap];
        free(p->ring);
        p->ring = ring;
        p->cap *= 2;
    }
    uint64_t seq = p->tail++;
    p->ring[seq % p->cap] = (slot){offset, 0};
    return (int64_t)seq;
}

/* Advance over p's done prefix, and return the offset to commit: one
 * past the last record of it (-1 while there is none). */
static int64_t part_advance(part *p)
{
    while (p->head < p->tail && p->ring[p->head % p->cap].done) {
        p->done_next = p->ring[p->head % p->cap].offset + 1;
        p->head++;
    }
    return p->done_next;
}

/* Records of p not yet acknowledged. */
static uint64_t part_waiting(part *p)
{
    part_advance(p);
    uint64_t n = 0;
    for (uint64_t s = p->head; s < p->tail; s++)
        n += !p->ring[s % p->cap].done;
    return n;
}

static part *current_part(kafka *k, int32_t partition)
{
    return partition >= 0 && partition < k->nparts ? k->parts[partition] : NULL;
}

/* Install fresh books for partition; the old ones, if any, retire. */
static int assign_part(kafka *k, int32_t partition)
{
    if (partition >= k->nparts) {
        int32_t n = partition + 1;
        part **grown = realloc(k->parts, (size_t)n * sizeof(part *));
        if (!grown)
            return -1;
        memset(grown + k->nparts, 0, (size_t)(n - k->nparts) * sizeof(part *));
        k->parts = grown;
        k->nparts = n;
    }
    part *p = part_new(partition);
    if (!p)
        return -1;
    part *old = k->parts[partition];
    if (old) {
        old->retired = 1;
        old->next = k->retired;
        k->retired = old;
    }
    k->parts[partition] = p;
    return 0;
}

/* Free retired books with nothing left in flight. */
static void sweep_retired(kafka *k)
{
    part **pp = &k->retired;
    while (*pp) {
        part *p = *pp;
        if (part_waiting(p) == 0) {
            *pp = p->next;
            part_free(p);
        } else {
            pp = &p->next;
        }
    }
}

/* A job's every record is acknowledged or refused: mark its offset done
 * (only if all went out) and free it. */
static void settle(kafka *k, kw_job *job, int delivered)
{
    part *p = job->owner;
    if (delivered && !atomic_load(&job->refused)) {
        p->ring[job->seq % p->cap].done = 1;
        k->records_out++;
    } else if (!k->failed) {
        /* its offset stays uncommitted, and so does every later one of the
         * partition: stop, so that a restart answers it */
        log_json(json_pack("{s:s,s:i,s:I,s:s}", "event", "delivery_failed", "partition",
                           (int)p->partition, "offset", (json_int_t)job->in->offset,
                           "message", "a reply could not be delivered; stopping"));
        k->failed = 1;
    }
    k->in_flight--;
    kw_job_free(job);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    kafka *k = opaque;
    kw_job *job = m->_private;
    if (m->err) {
        log_json(json_pack(
            "{s:s,s:i,s:I,s:s,s:s}", "event", "delivery_error", "partition",
            (int)job->in->partition, "offset", (json_int_t)job->in->offset, "topic",
            rd_kafka_topic_name(m->rkt), "error", rd_kafka_err2str(m->err)));
        atomic_fetch_add(&job->refused, 1);
    }
    if (atomic_fetch_sub(&job->deliveries, 1) == 1)
        settle(k, job, 1);
}

/* Serve delivery reports and refused jobs for up to timeout_ms. */
static void serve_producer(kafka *k, int timeout_ms)
{
    rd_kafka_poll(k->producer, timeout_ms);
    kw_job *job;
    while ((job = kw_pool_failed(k->pool)))
        settle(k, job, 0);
}

/* Commit the done prefix of every current partition (of those in only,
 * when not NULL). */
static void commit(kafka *k, int sync, const rd_kafka_topic_partition_list_t *only)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    for (int32_t i = 0; i < k->nparts; i++) {
        part *p = k->parts[i];
        if (!p || (only && !rd_kafka_topic_partition_list_find(only, k->o.input, i)))
            continue;
        int64_t next = part_advance(p);
        if (next > p->committed) {
            rd_kafka_topic_partition_list_add(l, k->o.input, i)->offset = next;
            p->committed = next;
        }
    }
    if (l->cnt) {
        rd_kafka_resp_err_t err = rd_kafka_commit(k->consumer, l, !sync);
        if (err)
            log_json(json_pack("{s:s,s:s}", "event", "commit_failed", "error",
                               rd_kafka_err2str(err)));
    }
    rd_kafka_topic_partition_list_destroy(l);
    k->last_commit_ms = now_ms();
}

/* Wait up to --drain-timeout-ms for the records in flight of the given
 * partitions (all when NULL) to be acknowledged.  Returns how many were
 * left. */
static uint64_t drain(kafka *k, const rd_kafka_topic_partition_list_t *only)
{
    int64_t deadline = now_ms() + k->o.drain_ms;
    for (;;) {
        uint64_t left = 0;
        for (int32_t i = 0; i < k->nparts; i++) {
            part *p = k->parts[i];
            if (p && (!only || rd_kafka_topic_partition_list_find(only, k->o.input, i)))
                left += part_waiting(p);
        }
        if (!left || k->failed || now_ms() >= deadline)
            return left;
        serve_producer(k, 20);
    }
}

/* ---- the consumer group ------------------------------------------------- */

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    kafka *k = opaque;
    int coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
    k->rebalances++;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < parts->cnt; i++)
            if (assign_part(k, parts->elems[i].partition) != 0)
                k->failed = 1;
        log_json(json_pack("{s:s,s:o}", "event", "assigned", "partitions",
                           partition_array(parts)));
        rd_kafka_error_t *e = NULL;
        if (coop)
            e = rd_kafka_incremental_assign(rk, parts);
        else
            rd_kafka_assign(rk, parts);
        rd_kafka_error_destroy(e);
        k->paused = 0;
        return;
    }
    uint64_t left = 0;
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && !rd_kafka_assignment_lost(rk)) {
        left = drain(k, parts);
        commit(k, 1, parts);
    }
    for (int i = 0; i < parts->cnt; i++) {
        int32_t n = parts->elems[i].partition;
        part *p = current_part(k, n);
        if (p) {
            p->retired = 1;
            p->next = k->retired;
            k->retired = p;
            k->parts[n] = NULL;
        }
    }
    log_json(json_pack("{s:s,s:o,s:I,s:b}", "event", "revoked", "partitions",
                       partition_array(parts), "abandoned", (json_int_t)left, "lost",
                       err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS ||
                           rd_kafka_assignment_lost(rk)));
    if (coop) {
        rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
    } else {
        rd_kafka_assign(rk, NULL);
    }
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    kafka *k = opaque;
    char fatal[512];
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, fatal, sizeof fatal);
        reason = fatal;
        k->failed = 1;
    }
    log_json(json_pack("{s:s,s:s,s:s,s:s,s:b}", "event", "kafka_error", "client",
                       rd_kafka_name(rk), "error",
                       rd_kafka_err2name((rd_kafka_resp_err_t)err), "message", reason,
                       "fatal", err == RD_KAFKA_RESP_ERR__FATAL));
}

/* Pause (1) or resume (0) every assigned partition. */
static void pause_all(kafka *k, int pause)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(k->consumer, &l) == 0 && l) {
        if (pause)
            rd_kafka_pause_partitions(k->consumer, l);
        else
            rd_kafka_resume_partitions(k->consumer, l);
    }
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    k->paused = pause;
}

/* Read the next record, unless --max-in-flight are in flight: then wait
 * for acknowledgements instead, while the consumer's own bounded queue
 * holds what it fetched.  A wait longer than PAUSE_AFTER_MS (a slow or
 * unreachable cluster) pauses the partitions and goes back to polling,
 * so that the group still hears from this member; they resume once half
 * of what was in flight has drained. */
enum { PAUSE_AFTER_MS = 2000 };
static rd_kafka_message_t *next_record(kafka *k)
{
    int64_t t = now_ms();
    int full = k->in_flight >= (uint64_t)k->o.max_in_flight;
    if (!full)
        k->full_since = 0;
    else if (!k->full_since)
        k->full_since = t;
    if (k->paused && k->in_flight <= (uint64_t)k->o.max_in_flight / 2)
        pause_all(k, 0);
    if (full && !k->paused) {
        if (t - k->full_since < PAUSE_AFTER_MS) {
            serve_producer(k, 10);
            return NULL;
        }
        pause_all(k, 1);
    }
    rd_kafka_message_t *m = rd_kafka_consumer_poll(k->consumer, 50);
    serve_producer(k, 0);
    return m;
}

/* Hand one consumed record to the workers (takes m). */
static void dispatch(kafka *k, rd_kafka_message_t *m)
{
    part *p = current_part(k, m->partition);
    kw_job *job = p ? calloc(1, sizeof *job) : NULL;
    int64_t seq = job ? part_push(p, m->offset) : -1;
    if (seq < 0) {
        /* not ours (any more), or no memory: not answered, not committed */
        free(job);
        rd_kafka_message_destroy(m);
        if (p)
            k->failed = 1;
        return;
    }
    job->in = m;
    job->owner = p;
    job->seq = (uint64_t)seq;
    k->records_in++;
    k->in_flight++;
    kw_pool_submit(k->pool, job);
}

/* The counters of the stats line and of /metrics (new reference; NULL
 * when out of memory). */
static json_t *stats_json(kafka *k, const char *event)
{
    int64_t lag = 0;
    json_t *assigned = json_array();
    for (int32_t i = 0; i < k->nparts; i++) {
        part *p = k->parts[i];
        if (!p)
            continue;
        json_array_append_new(assigned, json_integer(i));
        int64_t lo, hi;
        if (rd_kafka_get_watermark_offsets(k->consumer, k->o.input, i, &lo, &hi) == 0 &&
            hi >= 0) {
            int64_t from = p->committed >= 0 ? p->committed : lo;
            if (hi > from)
                lag += hi - from;
        }
    }
    json_t *counts = kw_pool_counts(k->pool);
    json_t *j = json_pack("{s:s,s:I,s:I,s:O,s:O,s:O,s:I,s:I,s:o,s:b,s:I,s:I,s:I}",
                          "event", event, "records_in", (json_int_t)k->records_in,
                          "records_out", (json_int_t)k->records_out, "error_replies",
                          json_object_get(counts, "error_replies"), "errors",
                          json_object_get(counts, "errors"), "dead_letters",
                          json_object_get(counts, "dead_letters"), "in_flight",
                          (json_int_t)k->in_flight, "lag", (json_int_t)lag, "assigned",
                          assigned, "paused", k->paused, "rebalances",
                          (json_int_t)k->rebalances, "reloads", (json_int_t)k->reloads,
                          "reload_failures", (json_int_t)k->reload_failures);
    json_decref(counts);
    return j;
}

static void log_stats(kafka *k, const char *event)
{
    log_json(stats_json(k, event));
    k->last_stats_ms = now_ms();
}

/* Answer the scrapes that wait on --metrics with the stats line's
 * numbers. */
static void serve_metrics(kafka *k)
{
    if (!k->exporter || !hb_exporter_wanted(k->exporter))
        return;
    json_t *s = stats_json(k, "metrics");
    hb_prom p;
    hb_prom_init(&p);
#define NUM(key) json_number_value(json_object_get(s, key))
    hb_prom_counter(&p, "hubao_kafka_records_in_total", "Input records read.",
                    NUM("records_in"));
    hb_prom_counter(&p, "hubao_kafka_records_out_total",
                    "Input records answered: every reply acknowledged by the cluster.",
                    NUM("records_out"));
    hb_prom_family(&p, "hubao_kafka_error_replies_total", "counter",
                   "Error replies (records that could not be classified), by code.");
    const char *code;
    json_t *n;
    json_object_foreach(json_object_get(s, "errors"), code, n)
    {
        hb_prom_sample(&p, "hubao_kafka_error_replies_total", json_number_value(n),
                       "code", code, (const char *)NULL);
    }
    hb_prom_counter(&p, "hubao_kafka_dead_letters_total",
                    "Inputs copied to --dead-letter.", NUM("dead_letters"));
    hb_prom_gauge(&p, "hubao_kafka_in_flight", "Records read and not yet answered.",
                  NUM("in_flight"));
    hb_prom_gauge(&p, "hubao_kafka_lag",
                  "High watermark minus committed offset, over the assigned partitions.",
                  NUM("lag"));
    hb_prom_gauge(&p, "hubao_kafka_assigned_partitions",
                  "Input partitions assigned here.",
                  (double)json_array_size(json_object_get(s, "assigned")));
    hb_prom_gauge(&p, "hubao_kafka_paused",
                  "1 while the partitions are paused (a long stall).", NUM("paused"));
    hb_prom_counter(&p, "hubao_kafka_rebalances_total", "Assignments and revocations.",
                    NUM("rebalances"));
    hb_prom_family(&p, "hubao_kafka_reloads_total", "counter",
                   "Reloads of models, rules and feeds (SIGHUP), by outcome.");
    hb_prom_sample(&p, "hubao_kafka_reloads_total", NUM("reloads"), "outcome", "ok",
                   (const char *)NULL);
    hb_prom_sample(&p, "hubao_kafka_reloads_total", NUM("reload_failures"), "outcome",
                   "failed", (const char *)NULL);
#undef NUM
    hb_prom_family(&p, "hubao_model_info", "gauge", "Model versions in service.");
    json_t *models = hb_engine_versions_json(k->engine);
    json_object_foreach(models, code, n)
    {
        hb_prom_sample(&p, "hubao_model_info", 1, "task", code, "version",
                       json_string_value(n), (const char *)NULL);
    }
    json_decref(models);
    size_t len;
    const char *text = s ? hb_prom_text(&p, &len) : NULL;
    hb_exporter_publish(k->exporter, text, text ? len : 0);
    hb_prom_free(&p);
    json_decref(s);
}

/* ---- set-up ------------------------------------------------------------- */

/* Open the engine from the configured directories; NULL after logging
 * why. */
static hb_engine *open_engine(const kafka_opts *o, char *why, size_t cap)
{
    char rules_buf[4096];
    const char *models = hb_paths_models(o->models);
    hb_engine_paths paths = {
        hb_paths_rules(o->rules, models, rules_buf, sizeof rules_buf), models,
        hb_paths_feeds(o->feeds)};
    hb_error err;
    hb_engine *e = hb_engine_open_paths(&paths, &err);
    if (!e)
        snprintf(why, cap, "%s", err.message);
    return e;
}

static void reload(kafka *k)
{
    char why[600];
    hb_engine *e = open_engine(&k->o, why, sizeof why);
    if (!e) {
        k->reload_failures++;
        log_json(json_pack("{s:s,s:b,s:s}", "event", "reload", "ok", 0, "error", why));
        return;
    }
    kw_pool_set_engine(k->pool, e);
    while (!kw_pool_engine_moved(k->pool))
        serve_producer(k, 5);
    hb_engine_free(k->engine);
    k->engine = e;
    k->reloads++;
    log_json(json_pack("{s:s,s:b,s:o}", "event", "reload", "ok", 1, "models",
                       hb_engine_versions_json(e)));
}

/* Set NAME=VALUE on conf; 0, or -1 after saying why. */
static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                    const char *where)
{
    char err[512];
    if (rd_kafka_conf_set(conf, name, value, err, sizeof err) == RD_KAFKA_CONF_OK)
        return 0;
    cli_error("%s: %s", where, err);
    return -1;
}

/* Apply --kafka-conf FILE to conf for the client named role ("consumer"
 * or "producer").  Returns 0, or -1 after saying why. */
static int conf_file(rd_kafka_conf_t *conf, const char *file, const char *role)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        cli_error("--kafka-conf %s: %s", file, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0;
    size_t rlen = strlen(role);
    while (rc == 0 && cli_read_line(&line, &cap, f) >= 0) {
        lineno++;
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        char where[600];
        snprintf(where, sizeof where, "--kafka-conf %.400s:%d", file, lineno);
        if (!eq) {
            cli_error("%s: expected NAME=VALUE", where);
            rc = -1;
            break;
        }
        *eq = '\0';
        const char *name = s;
        if (!strncmp(name, "consumer.", 9) || !strncmp(name, "producer.", 9)) {
            if (strncmp(name, role, rlen) != 0 || name[rlen] != '.')
                continue;
            name += rlen + 1;
        }
        rc = conf_set(conf, name, eq + 1, where);
    }
    free(line);
    fclose(f);
    return rc;
}

/* The configuration of one client: bootstrap servers, the file's
 * properties, then the settings the guarantees rest on. */
static rd_kafka_conf_t *client_conf(kafka *k, const char *role)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int consumer = role[0] == 'c';
    /* defaults a --kafka-conf file may override */
    int rc = conf_set(conf, "bootstrap.servers", k->o.brokers, "--brokers") ||
             conf_set(conf, "client.id", "hubao", "client.id") ||
             conf_set(conf, "log_level", "4", "log_level") ||
             (consumer &&
              conf_set(conf, "auto.offset.reset", "earliest", "auto.offset.reset")) ||
             (consumer && conf_set(conf, "queued.max.messages.kbytes", "16384",
                                   "queued.max.messages.kbytes")) ||
             (!consumer && conf_set(conf, "linger.ms", "5", "linger.ms")) ||
             (k->o.conf_file && conf_file(conf, k->o.conf_file, role));
    /* what at-least-once needs, whatever the file says */
    if (!rc && consumer)
        rc = conf_set(conf, "group.id", k->o.group, "--group") ||
             conf_set(conf, "enable.auto.commit", "false", "enable.auto.commit") ||
             conf_set(conf, "enable.auto.offset.store", "false",
                      "enable.auto.offset.store");
    if (!rc && !consumer)
        rc = conf_set(conf, "enable.idempotence", "true", "enable.idempotence") ||
             conf_set(conf, "acks", "all", "acks");
    if (rc) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_conf_set_error_cb(conf, on_error);
    if (consumer)
        rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    else
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    return conf;
}

/* The partition count of topic, or -1 when the cluster has no such topic
 * (after saying so) or cannot be reached. */
static int topic_partitions(const rd_kafka_metadata_t *md, const char *topic,
                            const char *opt)
{
    for (int i = 0; i < md->topic_cnt; i++) {
        const rd_kafka_metadata_topic_t *t = &md->topics[i];
        if (strcmp(t->topic, topic) != 0)
            continue;
        if (t->err || t->partition_cnt <= 0) {
            cli_error("%s %s: %s", opt, topic,
                      t->err ? rd_kafka_err2str(t->err) : "the topic has no partitions");
            return -1;
        }
        return t->partition_cnt;
    }
    cli_error("%s %s: the cluster has no such topic (create it first)", opt, topic);
    return -1;
}

/* Check that the cluster answers and the topics exist; the output's
 * partition count into *out_partitions.  0, or EXIT_SETUP. */
static int check_cluster(kafka *k, int32_t *out_partitions)
{
    const rd_kafka_metadata_t *md = NULL;
    /* all topics: asking for one by name may create it */
    rd_kafka_resp_err_t err = rd_kafka_metadata(k->producer, 1, NULL, &md, 10000);
    if (err) {
        cli_error("cannot reach the Kafka cluster at %s: %s", k->o.brokers,
                  rd_kafka_err2str(err));
        return EXIT_SETUP;
    }
    int in = topic_partitions(md, k->o.input, "--input-topic");
    int out = topic_partitions(md, k->o.output, "--output-topic");
    int dead = k->o.dead ? topic_partitions(md, k->o.dead, "--dead-letter") : 1;
    rd_kafka_metadata_destroy(md);
    if (in < 0 || out < 0 || dead < 0)
        return EXIT_SETUP;
    *out_partitions = out;
    return 0;
}

static int parse_long(const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        cli_error("%s wants a number from %ld to %ld, got \"%s\"", opt, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Parse the command line into o; 0, or EXIT_USAGE after saying why (or
 * -1 after printing the help). */
static int parse_args(int argc, char **argv, kafka_opts *o)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    *o = (kafka_opts){.threads = (int)(cpus < 1    ? 1
                                       : cpus > 16 ? 16
                                                   : cpus),
                      .detail = HB_DETAIL_FULL,
                      .max_in_flight = 2000,
                      .max_record = 1L << 20,
                      .max_batch = HB_HANDLER_MAX_BATCH,
                      .drain_ms = 10000,
                      .stats_ms = 10000};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(USAGE, stdout);
            return -1;
        }
        if (i + 1 >= argc || strncmp(a, "--", 2) != 0) {
            cli_error("kafka: %s \"%s\"\n%s",
                      i + 1 >= argc ? "missing value after" : "unexpected", a, USAGE);
            return EXIT_USAGE;
        }
        const char *v = argv[++i];
        long n;
        int bad = 0;
        if (!strcmp(a, "--brokers"))
            o->brokers = v;
        else if (!strcmp(a, "--group"))
            o->group = v;
        else if (!strcmp(a, "--input-topic"))
            o->input = v;
        else if (!strcmp(a, "--output-topic"))
            o->output = v;
        else if (!strcmp(a, "--dead-letter"))
            o->dead = v;
        else if (!strcmp(a, "--kafka-conf"))
            o->conf_file = v;
        else if (!strcmp(a, "--models"))
            o->models = v;
        else if (!strcmp(a, "--rules"))
            o->rules = v;
        else if (!strcmp(a, "--feeds"))
            o->feeds = v;
        else if (!strcmp(a, "--metrics"))
            o->metrics = v;
        else if (!strcmp(a, "--input")) {
            o->text = strcmp(v, "text") == 0;
            bad = !o->text && strcmp(v, "json") != 0;
        } else if (!strcmp(a, "--detail")) {
            bad = strcmp(v, "full") != 0 && strcmp(v, "brief") != 0;
            o->detail = strcmp(v, "brief") == 0 ? HB_DETAIL_BRIEF : HB_DETAIL_FULL;
        } else if (!strcmp(a, "--threads"))
            bad = parse_long(a, v, 1, 256, &n) || !(o->threads = (int)n);
        else if (!strcmp(a, "--max-in-flight"))
            /* each record may produce two, within the producer's
             * default queue of 100,000 */
            bad = parse_long(a, v, 1, 50000, &o->max_in_flight);
        else if (!strcmp(a, "--max-request-bytes"))
            bad = parse_long(a, v, 64, 256L << 20, &o->max_record);
        else if (!strcmp(a, "--max-batch"))
            bad = parse_long(a, v, 1, 100000, &o->max_batch);
        else if (!strcmp(a, "--drain-timeout-ms"))
            bad = parse_long(a, v, 0, 3600000, &o->drain_ms);
        else if (!strcmp(a, "--stats-interval-ms"))
            bad = parse_long(a, v, 0, 86400000, &o->stats_ms);
        else {
            cli_error("kafka: unknown option %s\n%s", a, USAGE);
            return EXIT_USAGE;
        }
        if (bad) {
            cli_error("kafka: bad value \"%s\" for %s", v, a);
            return EXIT_USAGE;
        }
    }
    if (!o->brokers || !o->group || !o->input || !o->output) {
        cli_error(
            "kafka: --brokers, --group, --input-topic and --output-topic are needed\n%s",
            USAGE);
        return EXIT_USAGE;
    }
    return 0;
}

/* Consume until SIGTERM or a failure; then drain, commit and close. */
static int run(kafka *k)
{
    while (!stop_signal && !k->failed) {
        if (reload_signal) {
            reload_signal = 0;
            reload(k);
        }
        rd_kafka_message_t *m = next_record(k);
        if (m && m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                log_json(json_pack("{s:s,s:s,s:s}", "event", "consumer_error", "error",
                                   rd_kafka_err2name(m->err), "message",
                                   rd_kafka_message_errstr(m)));
            rd_kafka_message_destroy(m);
        } else if (m) {
            dispatch(k, m);
        }
        int64_t t = now_ms();
        if (t - k->last_commit_ms >= 500)
            commit(k, 0, NULL);
        if (k->o.stats_ms && t - k->last_stats_ms >= k->o.stats_ms)
            log_stats(k, "stats");
        serve_metrics(k);
        sweep_retired(k);
    }
    /* closing the consumer revokes its partitions: on_rebalance drains
     * and commits them */
    rd_kafka_consumer_close(k->consumer);
    int64_t deadline = now_ms() + k->o.drain_ms;
    while (k->in_flight && !k->failed && now_ms() < deadline)
        serve_producer(k, 20);
    rd_kafka_flush(k->producer, 1000);
    serve_producer(k, 0);
    sweep_retired(k);
    log_stats(k, "stopped");
    if (k->failed || k->in_flight) {
        cli_error("kafka: stopped with %" PRIu64
                  " replies undelivered; their inputs stay "
                  "uncommitted",
                  k->in_flight);
        return 1;
    }
    return 0;
}

int cmd_kafka(int argc, char **argv)
{
    kafka k;
    memset(&k, 0, sizeof k);
    int rc = parse_args(argc, argv, &k.o);
    if (rc)
        return rc < 0 ? 0 : rc;

    char why[600];
    if (!(k.engine = open_engine(&k.o, why, sizeof why))) {
        cli_error("cannot load models: %s", why);
        return EXIT_SETUP;
    }
    rd_kafka_conf_t *cc = client_conf(&k, "consumer");
    rd_kafka_conf_t *pc = cc ? client_conf(&k, "producer") : NULL;
    char err[512];
    rc = EXIT_SETUP;
    if (!cc || !pc) {
        rc = EXIT_USAGE;
    } else if (!(k.producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err))) {
        cli_error("cannot make the Kafka producer: %s", err);
    } else {
        pc = NULL;
        if (!(k.consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof err)))
            cli_error("cannot make the Kafka consumer: %s", err);
        else
            cc = NULL;
    }
    if (cc)
        rd_kafka_conf_destroy(cc);
    if (pc)
        rd_kafka_conf_destroy(pc);

    int32_t out_partitions = 0;
    hb_error herr;
    if (k.consumer && (rc = check_cluster(&k, &out_partitions)) == 0) {
        hb_handler_options ho = hb_handler_defaults();
        ho.max_batch = (size_t)k.o.max_batch;
        ho.render.detail = k.o.detail;
        char max_msg[32] = "1000000";
        size_t max_msg_len = sizeof max_msg;
        rd_kafka_conf_get(rd_kafka_conf(k.producer), "message.max.bytes", max_msg,
                          &max_msg_len);
        kw_config wc = {.producer = k.producer,
                        .input = k.o.input,
                        .output = k.o.output,
                        .dead = k.o.dead,
                        .out_partitions = out_partitions,
                        .text = k.o.text,
                        .max_record = (size_t)k.o.max_record,
                        .max_reply = (size_t)strtoul(max_msg, NULL, 10),
                        .threads = k.o.threads,
                        .handler = ho,
                        .engine = k.engine};
        rd_kafka_poll_set_consumer(k.consumer);
        rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(topics, k.o.input, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t serr = rd_kafka_subscribe(k.consumer, topics);
        rd_kafka_topic_partition_list_destroy(topics);
        if (serr) {
            cli_error("cannot subscribe to %s: %s", k.o.input, rd_kafka_err2str(serr));
            rc = EXIT_SETUP;
        } else if (!(k.pool = kw_pool_new(&wc, err, sizeof err))) {
            cli_error("%s", err);
            rc = EXIT_SETUP;
        } else if (k.o.metrics && !(k.exporter = hb_exporter_start(k.o.metrics, &herr))) {
            cli_error("%s", herr.message);
            rc = EXIT_SETUP;
        } else {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = on_signal;
            sigaction(SIGTERM, &sa, NULL);
            sigaction(SIGINT, &sa, NULL);
            sigaction(SIGHUP, &sa, NULL);
            log_json(json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:o}", "event", "started",
                               "brokers", k.o.brokers, "group", k.o.group, "input",
                               k.o.input, "output", k.o.output, "threads", k.o.threads,
                               "models", hb_engine_versions_json(k.engine)));
            k.last_stats_ms = k.last_commit_ms = now_ms();
            rc = run(&k);
        }
    }
    /* the threads first (they produce with the producer), then settle
     * every job, so no input record outlives the consumer */
    if (k.pool) {
        kw_pool_stop(k.pool);
        rd_kafka_purge(k.producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(k.producer, 0);
        kw_job *job;
        while ((job = kw_pool_failed(k.pool)))
            settle(&k, job, 0);
        kw_pool_free(k.pool);
    }
    hb_exporter_stop(k.exporter);
    if (k.consumer)
        rd_kafka_destroy(k.consumer);
    if (k.producer)
        rd_kafka_destroy(k.producer);
    for (int32_t i = 0; i < k.nparts; i++)
        part_free(k.parts[i]);
    free(k.parts);
    while (k.retired) {
        part *p = k.retired;
        k.retired = p->next;
        part_free(p);
    }
    hb_engine_free(k.engine);
    return rc;
}
