/*
 * clock.h - monotonic time for the service's timers (heartbeats, deadlines,
 * latency).  Header-only: one clock_gettime call, inlined on the hot path.
 */
#ifndef HB_SERVICE_CLOCK_H
#define HB_SERVICE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Microseconds on the monotonic clock (arbitrary origin, never jumps). */
static inline int64_t hb_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif
