/*
 * webpool.h - a fixed set of threads that run the jobs `hubao web` must
 * not run on its event thread (classifying in --local mode, writing
 * feedback to SQLite), so that a slow job never holds up another client.
 *
 * Jobs run in the order they were submitted, each on whichever thread is
 * free; a job reports its own completion (web.c resumes the connection).
 * Each thread may own a state made by init (an hb_session, say) that every
 * job it runs is given.
 */
#ifndef HB_CLI_WEBPOOL_H
#define HB_CLI_WEBPOOL_H

typedef struct web_pool web_pool;

/* Make one thread's state from arg; NULL means the thread cannot work
 * (web_pool_new then fails). */
typedef void *web_pool_init_fn(void *arg);
/* Free what init made. */
typedef void web_pool_fini_fn(void *state);
/* Run one job on a pool thread, with that thread's state. */
typedef void web_pool_job_fn(void *state, void *job);

/* Start threads threads (>= 1); init and fini may be NULL (the state is
 * then arg).  Returns an owned pool, or NULL when a thread or its state
 * could not be made. */
web_pool *web_pool_new(int threads, web_pool_init_fn *init, web_pool_fini_fn *fini,
                       void *arg);

/* Queue fn(state, job).  Returns 0, or -1 when the pool is stopped or
 * memory ran out (fn is then not called). */
int web_pool_submit(web_pool *p, web_pool_job_fn *fn, void *job);

/* Run what is queued, then stop the threads; later submissions fail.
 * Safe to call twice. */
void web_pool_stop(web_pool *p);

/* Stop the pool and free it; NULL is fine. */
void web_pool_free(web_pool *p);

#endif
