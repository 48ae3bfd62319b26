/*
 * promstats.h - hubaod's counters as Prometheus metrics: the same numbers
 * the control command `stats` gives (broker.c's stats JSON), plus the
 * request latency as a histogram, written in the text format (prom.h)
 * for the --metrics endpoint (docs/operations.md lists every metric).
 *
 * Label values come only from bounded sets: error codes, tasks and their
 * labels, fraud types from the catalogue, feed names from feeds.conf,
 * worker states; never from requests.
 */
#ifndef HB_SERVICE_PROMSTATS_H
#define HB_SERVICE_PROMSTATS_H

#include <jansson.h>

#include "latency.h"
#include "prom.h"

/* Write the metrics of stats (the `stats` reply's object) and of latency
 * (the broker's request latency histogram) into p; now is the wall clock
 * (seconds since the epoch), for the feeds' age. */
void hb_promstats_write(hb_prom *p, const json_t *stats, const hb_latency *latency,
                        double now);

#endif
