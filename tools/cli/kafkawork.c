/*
 * kafkawork.c - classify input records and produce their replies
 * (kafkawork.h).
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "error.h"
#include "kafkawork.h"
#include "request.h"

typedef struct worker {
    kw_pool *pool;
    pthread_t thread;
    int started;
    hb_handler *handler; /* the thread's own */
    pthread_mutex_t mu;  /* guards everything from here to the end */
    pthread_cond_t wake;
    kw_job *head, *tail;
    size_t pending; /* queued, plus the one being handled */
    const hb_engine *engine;
    int engine_seen; /* the thread has moved to engine */
    int stop;
    uint64_t items, error_replies, dead_letters;
    json_t *handler_errors; /* a copy of the handler's counts by code */
    json_t *own_errors;     /* refusals made here: too_large, invalid_utf8 */
} worker;

/* Room a record needs beside its value and key: headers and framing,
 * generously (librdkafka counts them against message.max.bytes). */
enum { RECORD_OVERHEAD = 1024 };

struct kw_pool {
    kw_config cfg;
    rd_kafka_topic_t *out, *dead;
    worker *w;
    int n;
    pthread_mutex_t failed_mu;
    kw_job *failed_head, *failed_tail;
};

void kw_job_free(kw_job *job)
{
    if (!job)
        return;
    if (job->in)
        rd_kafka_message_destroy(job->in);
    free(job);
}

/* The length of the JSON value at s (well-formed JSON, as the handler
 * writes it), or 0 when it does not end within len bytes. */
static size_t json_value_len(const char *s, size_t len)
{
    int depth = 0, in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
            else
                continue;
            if (depth == 0 && !in_string)
                return i + 1;
            continue;
        }
        if (c == '"')
            in_string = 1;
        else if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']') {
            if (depth == 0)
                return i;
            if (--depth == 0)
                return i + 1;
        } else if (c == ',' && depth == 0)
            return i;
    }
    return 0;
}

/* The request id a single reply leads with (the handler writes "id"
 * first), as JSON text; 0 when there is none. */
static size_t reply_id(const char *reply, size_t len, const char **id)
{
    static const char LEAD[] = "{\"id\":";
    if (len < sizeof LEAD || memcmp(reply, LEAD, sizeof LEAD - 1) != 0)
        return 0;
    *id = reply + sizeof LEAD - 1;
    return json_value_len(*id, len - (sizeof LEAD - 1));
}

/* The code of a single error reply, into code (NUL-terminated); 0 when
 * the reply is not one. */
static int reply_error_code(const char *reply, size_t len, char *code, size_t cap)
{
    static const char ERR[] = "\"error\":{\"code\":\"";
    if (len == 0 || reply[0] != '{')
        return 0;
    const char *p = memmem(reply, len, ERR, sizeof ERR - 1);
    if (!p)
        return 0;
    p += sizeof ERR - 1;
    size_t n = 0;
    while (p + n < reply + len && p[n] != '"' && n + 1 < cap)
        n++;
    memcpy(code, p, n);
    code[n] = '\0';
    return 1;
}

static void count_own_error(worker *w, const char *code)
{
    json_t *n = json_object_get(w->own_errors, code);
    json_object_set_new(w->own_errors, code,
                        json_integer(n ? json_integer_value(n) + 1 : 1));
}

/* The headers every reply and dead letter carry (plus the input's own
 * and "hubao-error" on a dead letter).  NULL when out of memory. */
static rd_kafka_headers_t *reply_headers(const kw_pool *p, const rd_kafka_message_t *in,
                                         const char *id, size_t idlen, const char *error)
{
    rd_kafka_headers_t *in_headers = NULL;
    rd_kafka_headers_t *h = error && rd_kafka_message_headers(in, &in_headers) == 0
                                ? rd_kafka_headers_copy(in_headers)
                                : rd_kafka_headers_new(4);
    if (!h)
        return NULL;
    char partition[16], offset[24];
    snprintf(partition, sizeof partition, "%" PRId32, in->partition);
    snprintf(offset, sizeof offset, "%" PRId64, in->offset);
    rd_kafka_header_add(h, "hubao-topic", -1, p->cfg.input, -1);
    rd_kafka_header_add(h, "hubao-partition", -1, partition, -1);
    rd_kafka_header_add(h, "hubao-offset", -1, offset, -1);
    if (idlen)
        rd_kafka_header_add(h, "hubao-id", -1, id, (ssize_t)idlen);
    if (error)
        rd_kafka_header_add(h, "hubao-error", -1, error, -1);
    return h;
}

/* Produce one record with job as its opaque; a full producer queue is
 * waited out (the caller's thread polls the producer and drains it).
 * Returns 0, or the producer's reason for refusing the record. */
static rd_kafka_resp_err_t produce(kw_pool *p, rd_kafka_topic_t *topic, int32_t partition,
                                   kw_job *job, const void *value, size_t len,
                                   rd_kafka_headers_t *headers)
{
    const rd_kafka_message_t *in = job->in;
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            p->cfg.producer, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_VALUE((void *)(uintptr_t)value, len),
            RD_KAFKA_V_KEY(in->key, in->key_len), RD_KAFKA_V_HEADERS(headers),
            RD_KAFKA_V_OPAQUE(job), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            if (err)
                rd_kafka_headers_destroy(headers);
            return err;
        }
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    }
}

/* Hand a job all of whose records the producer refused to the caller. */
static void fail_job(kw_pool *p, kw_job *job)
{
    pthread_mutex_lock(&p->failed_mu);
    job->next = NULL;
    if (p->failed_tail)
        p->failed_tail->next = job;
    else
        p->failed_head = job;
    p->failed_tail = job;
    pthread_mutex_unlock(&p->failed_mu);
}

kw_job *kw_pool_failed(kw_pool *p)
{
    pthread_mutex_lock(&p->failed_mu);
    kw_job *job = p->failed_head;
    if (job) {
        p->failed_head = job->next;
        if (!p->failed_head)
            p->failed_tail = NULL;
    }
    pthread_mutex_unlock(&p->failed_mu);
    return job;
}

/* Count a record the producer refused; the job goes to the caller when
 * nothing else of it is outstanding. */
static void refuse(kw_pool *p, kw_job *job, const char *topic, rd_kafka_resp_err_t err)
{
    /* one JSON line, like every line hubao kafka logs (docs/kafka.md) */
    json_t *j = json_pack("{s:s,s:s,s:i,s:I,s:s}", "event", "produce_refused", "topic",
                          topic, "partition", (int)job->in->partition, "offset",
                          (json_int_t)job->in->offset, "error", rd_kafka_err2str(err));
    char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (line)
        fprintf(stderr, "%s\n", line);
    free(line);
    json_decref(j);
    atomic_fetch_add(&job->refused, 1);
    if (atomic_fetch_sub(&job->deliveries, 1) == 1)
        fail_job(p, job);
}

/* The reply to one input record, in *reply and *len (the handler's
 * buffer or *own, which the caller frees), and the error code of a reply
 * that refuses the whole record into code ("" for a verdict).  own_code
 * says the refusal was made here rather than by the handler. */
static void answer(worker *w, hb_handler *h, char **text_buf,
                   const rd_kafka_message_t *in, const char **reply, size_t *len,
                   char **own, char *code, size_t cap, int *own_code)
{
    const kw_pool *p = w->pool;
    const char *body = in->payload ? (const char *)in->payload : "";
    size_t blen = in->len;
    *reply = NULL;
    *own = NULL;
    *own_code = 0;
    code[0] = '\0';
    if (blen > p->cfg.max_record) {
        char msg[128];
        snprintf(msg, sizeof msg, "record is %zu bytes, over the limit of %zu", blen,
                 p->cfg.max_record);
        json_t *e = hb_error_reply(NULL, HB_ETOOBIG, msg);
        *own = e ? json_dumps(e, JSON_COMPACT) : NULL;
        json_decref(e);
        *reply = *own;
        *len = *own ? strlen(*own) : 0;
        snprintf(code, cap, "%s", hb_err_name(HB_ETOOBIG));
        *own_code = 1;
        return;
    }
    if (p->cfg.text) {
        cli_request rq;
        if (cli_text_request(body, blen, &rq, text_buf) != 0)
            return;
        if (rq.local) {
            *reply = rq.data;
            *len = rq.len;
            snprintf(code, cap, "%s", hb_err_name(HB_EUTF8));
            *own_code = 1;
            return;
        }
        body = rq.data;
        blen = rq.len;
    }
    uint64_t errors = hb_handler_counts_get(h).errors;
    *reply = hb_handler_handle(h, body, blen, len);
    if (*reply && hb_handler_counts_get(h).errors != errors) {
        json_t *copy = json_deep_copy(hb_handler_error_counts(h));
        pthread_mutex_lock(&w->mu);
        json_decref(w->handler_errors);
        w->handler_errors = copy;
        pthread_mutex_unlock(&w->mu);
        reply_error_code(*reply, *len, code, cap);
    }
}

/* Answer one input record and produce its reply (and its dead letter). */
static void handle_job(worker *w, hb_handler *h, char **text_buf, kw_job *job)
{
    kw_pool *p = w->pool;
    const rd_kafka_message_t *in = job->in;
    const char *reply;
    size_t rlen = 0;
    char *own;
    char code[64];
    int own_code;
    answer(w, h, text_buf, in, &reply, &rlen, &own, code, sizeof code, &own_code);
    if (reply && rlen + in->key_len + RECORD_OVERHEAD > p->cfg.max_reply) {
        /* the cluster would refuse it: the input still gets one reply */
        char msg[160];
        snprintf(msg, sizeof msg,
                 "the reply is %zu bytes, over the producer's message.max.bytes (%zu): "
                 "send smaller batches or ask for brief detail",
                 rlen, p->cfg.max_reply);
        free(own);
        json_t *e = hb_error_reply(NULL, HB_ETOOBIG, msg);
        own = e ? json_dumps(e, JSON_COMPACT) : NULL;
        json_decref(e);
        reply = own;
        rlen = own ? strlen(own) : 0;
        snprintf(code, sizeof code, "%s", hb_err_name(HB_ETOOBIG));
        own_code = 1;
    }
    if (!reply) { /* out of memory on the way: still one reply */
        static const char OOM[] = "{\"error\":{\"code\":\"internal\",\"message\":"
                                  "\"out of memory\"}}";
        reply = OOM;
        rlen = sizeof OOM - 1;
        snprintf(code, sizeof code, "%s", hb_err_name(HB_EINTERNAL));
        own_code = 1;
    }
    int dead = code[0] && p->dead;
    pthread_mutex_lock(&w->mu);
    w->items++;
    w->error_replies += code[0] != '\0';
    w->dead_letters += dead;
    if (own_code)
        count_own_error(w, code);
    pthread_mutex_unlock(&w->mu);

    const char *id = NULL;
    size_t idlen = reply_id(reply, rlen, &id);
    /* from the first produce on, the job belongs to the delivery reports:
     * only in->payload and the counters are used after it */
    atomic_store(&job->deliveries, 1 + dead);
    atomic_store(&job->refused, 0);
    rd_kafka_headers_t *oh = reply_headers(p, in, id, idlen, NULL);
    rd_kafka_resp_err_t err =
        oh ? produce(p, p->out, in->partition % p->cfg.out_partitions, job, reply, rlen,
                     oh)
           : RD_KAFKA_RESP_ERR__FAIL;
    if (err)
        refuse(p, job, p->cfg.output, err);
    if (dead) {
        rd_kafka_headers_t *dh = reply_headers(p, in, id, idlen, code);
        err =
            dh ? produce(p, p->dead, RD_KAFKA_PARTITION_UA, job, in->payload, in->len, dh)
               : RD_KAFKA_RESP_ERR__FAIL;
        if (err)
            refuse(p, job, p->cfg.dead, err);
    }
    free(own);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    hb_handler *h = w->handler;
    char *text_buf = NULL;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        if (!w->engine_seen) {
            hb_handler_set_engine(h, w->engine, NULL);
            w->engine_seen = 1;
        }
        if (!w->head) {
            if (w->stop)
                break;
            pthread_cond_wait(&w->wake, &w->mu);
            continue;
        }
        kw_job *job = w->head;
        w->head = job->next;
        if (!w->head)
            w->tail = NULL;
        pthread_mutex_unlock(&w->mu);
        handle_job(w, h, &text_buf, job);
        pthread_mutex_lock(&w->mu);
        w->pending--;
    }
    pthread_mutex_unlock(&w->mu);
    free(text_buf);
    return NULL;
}

kw_pool *kw_pool_new(const kw_config *cfg, char *err, size_t cap)
{
    kw_pool *p = calloc(1, sizeof *p);
    if (!p || !(p->w = calloc((size_t)cfg->threads, sizeof *p->w))) {
        free(p);
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    p->cfg = *cfg;
    pthread_mutex_init(&p->failed_mu, NULL);
    p->out = rd_kafka_topic_new(cfg->producer, cfg->output, NULL);
    p->dead = cfg->dead ? rd_kafka_topic_new(cfg->producer, cfg->dead, NULL) : NULL;
    if (!p->out || (cfg->dead && !p->dead)) {
        snprintf(err, cap, "cannot make the producer's topic handles: %s",
                 rd_kafka_err2str(rd_kafka_last_error()));
        kw_pool_free(p);
        return NULL;
    }
    for (int i = 0; i < cfg->threads; i++) {
        worker *w = &p->w[i];
        w->pool = p;
        w->engine = cfg->engine;
        w->engine_seen = 1;
        w->handler_errors = json_object();
        w->own_errors = json_object();
        pthread_mutex_init(&w->mu, NULL);
        pthread_cond_init(&w->wake, NULL);
        p->n = i + 1;
        if (!w->handler_errors || !w->own_errors ||
            !(w->handler = hb_handler_new(cfg->engine, &cfg->handler, NULL)) ||
            pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            snprintf(err, cap, "cannot start thread %d of %d", i + 1, cfg->threads);
            kw_pool_free(p);
            return NULL;
        }
        w->started = 1;
    }
    return p;
}

void kw_pool_submit(kw_pool *p, kw_job *job)
{
    worker *w = &p->w[(uint32_t)job->in->partition % (uint32_t)p->n];
    job->next = NULL;
    pthread_mutex_lock(&w->mu);
    if (w->tail)
        w->tail->next = job;
    else
        w->head = job;
    w->tail = job;
    w->pending++;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mu);
}

size_t kw_pool_pending(kw_pool *p)
{
    size_t n = 0;
    for (int i = 0; i < p->n; i++) {
        pthread_mutex_lock(&p->w[i].mu);
        n += p->w[i].pending;
        pthread_mutex_unlock(&p->w[i].mu);
    }
    return n;
}

void kw_pool_set_engine(kw_pool *p, const hb_engine *engine)
{
    for (int i = 0; i < p->n; i++) {
        worker *w = &p->w[i];
        pthread_mutex_lock(&w->mu);
        w->engine = engine;
        w->engine_seen = 0;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->mu);
    }
}

int kw_pool_engine_moved(kw_pool *p)
{
    int moved = 1;
    for (int i = 0; i < p->n; i++) {
        pthread_mutex_lock(&p->w[i].mu);
        moved &= p->w[i].engine_seen;
        pthread_mutex_unlock(&p->w[i].mu);
    }
    return moved;
}

/* Add every count of from to into. */
static void add_counts(json_t *into, const json_t *from)
{
    const char *code;
    json_t *n;
    json_object_foreach((json_t *)from, code, n)
    {
        json_t *have = json_object_get(into, code);
        json_object_set_new(
            into, code,
            json_integer((have ? json_integer_value(have) : 0) + json_integer_value(n)));
    }
}

json_t *kw_pool_counts(kw_pool *p)
{
    uint64_t items = 0, errors = 0, dead = 0;
    json_t *codes = json_object();
    for (int i = 0; i < p->n; i++) {
        worker *w = &p->w[i];
        pthread_mutex_lock(&w->mu);
        items += w->items;
        errors += w->error_replies;
        dead += w->dead_letters;
        add_counts(codes, w->handler_errors);
        add_counts(codes, w->own_errors);
        pthread_mutex_unlock(&w->mu);
    }
    return json_pack("{s:I,s:I,s:I,s:o}", "items", (json_int_t)items, "error_replies",
                     (json_int_t)errors, "dead_letters", (json_int_t)dead, "errors",
                     codes);
}

void kw_pool_stop(kw_pool *p)
{
    for (int i = 0; i < p->n; i++) {
        worker *w = &p->w[i];
        if (!w->started)
            continue;
        pthread_mutex_lock(&w->mu);
        w->stop = 1;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
        w->started = 0;
    }
}

void kw_pool_free(kw_pool *p)
{
    if (!p)
        return;
    kw_pool_stop(p);
    for (int i = 0; i < p->n; i++) {
        worker *w = &p->w[i];
        hb_handler_free(w->handler);
        json_decref(w->handler_errors);
        json_decref(w->own_errors);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->wake);
    }
    if (p->out)
        rd_kafka_topic_destroy(p->out);
    if (p->dead)
        rd_kafka_topic_destroy(p->dead);
    pthread_mutex_destroy(&p->failed_mu);
    free(p->w);
    free(p);
}
