/*
 * webpool.c - the job threads of `hubao web` (webpool.h).
 *
 * One mutex guards a FIFO of jobs; idle threads wait on a condition
 * variable.  A hotline's load is a few jobs a second, so a malloc per job
 * and one lock are nothing next to the classification or fsync a job does.
 */
#include <pthread.h>
#include <stdlib.h>

#include "webpool.h"

typedef struct job {
    struct job *next;
    web_pool_job_fn *fn;
    void *arg;
} job;

typedef struct worker {
    web_pool *pool;
    pthread_t thread;
    void *state;
    int started;
} worker;

struct web_pool {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    job *head, *tail;
    int stopping, stopped;
    int nthreads;
    web_pool_fini_fn *fini;
    worker *workers;
};

static void *run(void *arg)
{
    worker *w = arg;
    web_pool *p = w->pool;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->ready, &p->lock);
        job *j = p->head;
        if (j && !(p->head = j->next))
            p->tail = NULL;
        pthread_mutex_unlock(&p->lock);
        if (!j)
            return NULL; /* stopping, and nothing left */
        j->fn(w->state, j->arg);
        free(j);
    }
}

web_pool *web_pool_new(int threads, web_pool_init_fn *init, web_pool_fini_fn *fini,
                       void *arg)
{
    web_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->ready, NULL);
    p->fini = fini;
    if (threads < 1 || !(p->workers = calloc((size_t)threads, sizeof *p->workers))) {
        web_pool_free(p);
        return NULL;
    }
    for (int i = 0; i < threads; i++) {
        worker *w = &p->workers[i];
        w->pool = p;
        w->state = init ? init(arg) : arg;
        p->nthreads = i + 1; /* fini runs for every state made */
        if (!w->state || pthread_create(&w->thread, NULL, run, w) != 0) {
            web_pool_free(p);
            return NULL;
        }
        w->started = 1;
    }
    return p;
}

int web_pool_submit(web_pool *p, web_pool_job_fn *fn, void *arg)
{
    job *j = malloc(sizeof *j);
    if (!j)
        return -1;
    *j = (job){NULL, fn, arg};
    pthread_mutex_lock(&p->lock);
    if (p->stopping) {
        pthread_mutex_unlock(&p->lock);
        free(j);
        return -1;
    }
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    pthread_cond_signal(&p->ready);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

void web_pool_stop(web_pool *p)
{
    if (!p || p->stopped)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->ready);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; p->workers && i < p->nthreads; i++)
        if (p->workers[i].started)
            pthread_join(p->workers[i].thread, NULL);
    p->stopped = 1;
}

void web_pool_free(web_pool *p)
{
    if (!p)
        return;
    web_pool_stop(p);
    for (int i = 0; p->workers && i < p->nthreads; i++)
        if (p->fini && p->workers[i].state)
            p->fini(p->workers[i].state);
    free(p->workers);
    pthread_cond_destroy(&p->ready);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
