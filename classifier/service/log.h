/*
 * log.h - the service's logging: one line per event on stderr,
 *
 *   2025-01-31T12:00:00.123Z hubaod[4242] info  broker: worker pid 4250 ready
 *
 * with a level filter set once at start-up.  Message texts are never
 * passed here: callers log ids, sizes and outcomes, not what people wrote.
 *
 * This is the only module of classifier/ that writes to a stream; the
 * service's other modules report through it (hb_log_out serves --help).
 * The level and role are process-wide state, set by main before anything
 * else runs: a log line has to be writable from anywhere without plumbing.
 */
#ifndef HB_SERVICE_LOG_H
#define HB_SERVICE_LOG_H

typedef enum hb_log_level {
    HB_LOG_DEBUG = 0,
    HB_LOG_INFO = 1,
    HB_LOG_WARN = 2,
    HB_LOG_ERROR = 3,
} hb_log_level;

/* Set the lowest level written (default info) and the role shown in each
 * line ("broker", "worker"; copied). */
void hb_log_init(hb_log_level level, const char *role);

/* Parse "debug", "info", "warn" or "error"; returns -1 for anything else. */
int hb_log_level_parse(const char *name);

/* 1 if a message at level would be written (to skip building it). */
int hb_log_enabled(hb_log_level level);

/* Write one line at level (a newline is added). */
void hb_log(hb_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Write text as is to standard output (usage text), or to standard error
 * when to_stderr is set. */
void hb_log_out(const char *text, int to_stderr);

#endif
