/*
 * log.c - leveled log lines on stderr (see log.h).
 *
 * Each line is formatted into one buffer and written with a single
 * write(2), so lines from the broker and its workers (which share the
 * parent's stderr) do not interleave mid-line.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static hb_log_level min_level = HB_LOG_INFO;
static char role[32] = "hubaod";

static const char *const LEVEL_NAME[] = {"debug", "info", "warn", "error"};

void hb_log_init(hb_log_level level, const char *r)
{
    min_level = level;
    snprintf(role, sizeof role, "%s", r ? r : "hubaod");
}

int hb_log_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, LEVEL_NAME[i]) == 0)
            return i;
    return -1;
}

int hb_log_enabled(hb_log_level level)
{
    return level >= min_level;
}

void hb_log(hb_log_level level, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char line[1024];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(
        line, sizeof line,
        "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ hubaod[%d] %-5s %s: ", tm.tm_year + 1900,
        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
        (int)(tv.tv_usec / 1000), (int)getpid(), LEVEL_NAME[level], role);
    if (n < 0 || (size_t)n >= sizeof line)
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    n += m;
    if ((size_t)n >= sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w; /* nowhere left to report a failing stderr */
}

void hb_log_out(const char *text, int to_stderr)
{
    fputs(text, to_stderr ? stderr : stdout);
    fflush(to_stderr ? stderr : stdout);
}
