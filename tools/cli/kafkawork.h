/*
 * kafkawork.h - the threads of `hubao kafka` that classify input records
 * and produce their replies (docs/kafka.md).
 *
 * Each thread owns a request handler (handler.h, the code hubaod's
 * workers run) on the shared engine and a queue of jobs.  All records of
 * one input partition go to the same thread, and a thread takes its jobs
 * in order, so the replies of a partition are produced in input order.
 *
 * A job's reply goes to the output topic, in partition (input partition
 * mod the output's partition count), keyed like its input, with headers
 * naming the input topic, partition and offset (and the request id); an
 * input whose reply is an error (also one made here: a reply too large
 * for the cluster) is also copied to the dead-letter topic when there is
 * one.  Each produced record carries its job as opaque, so
 * the producer's delivery report (served by the caller's thread) finds it:
 * the worker sets job->deliveries before the first produce and never
 * touches the job again, and the caller counts deliveries down.  A
 * record the producer refused outright comes back from kw_pool_failed.
 */
#ifndef HB_CLI_KAFKAWORK_H
#define HB_CLI_KAFKAWORK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "handler.h"

typedef struct kw_job {
    rd_kafka_message_t *in; /* the input record; the pool destroys it */
    void *owner;            /* the caller's: whose offset this is */
    uint64_t seq;           /* the caller's: its place in owner */
    /* records produced and not yet acknowledged or refused: the worker
     * sets it before producing, and whoever counts it to 0 settles the
     * job (the delivery report, or kw_pool_failed when the last was
     * refused outright) */
    _Atomic int deliveries;
    _Atomic int refused; /* records the producer refused outright */
    struct kw_job *next;
} kw_job;

typedef struct kw_config {
    rd_kafka_t *producer;   /* borrowed; the caller polls it */
    const char *input;      /* input topic name, for the headers */
    const char *output;     /* topic of the replies */
    const char *dead;       /* topic of failed inputs' copies, or NULL */
    int32_t out_partitions; /* the output topic's partition count */
    int text;               /* 1: a record is plain text, not request JSON */
    size_t max_record;      /* bytes of one input record, max */
    size_t max_reply;       /* the producer's message.max.bytes: a reply that
                               would not fit is a too_large error instead */
    int threads;
    hb_handler_options handler;
    const hb_engine *engine; /* borrowed until replaced */
} kw_config;

typedef struct kw_pool kw_pool;

/* Start cfg->threads threads.  Returns an owned pool, or NULL with err. */
kw_pool *kw_pool_new(const kw_config *cfg, char *err, size_t cap);

/* Queue job for the thread of its input partition. */
void kw_pool_submit(kw_pool *p, kw_job *job);

/* Jobs queued or being handled, not yet produced. */
size_t kw_pool_pending(kw_pool *p);

/* The next job whose last outstanding record the producer refused
 * outright (job->refused > 0, job->deliveries 0), or NULL.  The caller
 * settles and frees it (kw_job_free). */
kw_job *kw_pool_failed(kw_pool *p);

/* Answer with engine from each thread's next job on.  The old engine
 * must live until kw_pool_engine_moved says every thread has moved (a
 * thread waiting on a full producer queue moves only once the caller has
 * polled the producer). */
void kw_pool_set_engine(kw_pool *p, const hb_engine *engine);
int kw_pool_engine_moved(kw_pool *p);

/* Replies sent so far ({"items", "error_replies", "dead_letters"}) and
 * error replies by code, merged over the threads (new reference). */
json_t *kw_pool_counts(kw_pool *p);

/* Finish what is queued and stop the threads; safe to call twice.  The
 * caller keeps polling the producer for what is in flight. */
void kw_pool_stop(kw_pool *p);

/* Stop the pool and free it; NULL is fine. */
void kw_pool_free(kw_pool *p);

/* Free a job and its input record. */
void kw_job_free(kw_job *job);

#endif
