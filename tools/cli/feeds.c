/*
 * feeds.c - `hubao feeds update` and `hubao feeds list`: keep the URL
 * blocklist copies in a feeds directory current, and show what is there.
 *
 * The work is in feeds/ (feedconf.h reads the configuration, fetch.h
 * downloads and installs each feed) and in the library's blocklist.h,
 * which loads the copies.  This file turns options into calls and
 * outcomes into one line per feed.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blocklist.h"
#include "cli.h"
#include "feedconf.h"
#include "fetch.h"
#include "paths.h"

static const char USAGE[] =
    "usage: hubao feeds update [OPTIONS]\n"
    "       hubao feeds list [--dir DIR]\n"
    "\n"
    "update fetches every feed configured in FILE and replaces its copy in DIR\n"
    "only when the download is complete and valid; list shows each copy's\n"
    "entries and age.  See docs/feeds.md.\n"
    "\n"
    "  --config FILE          feed configuration (default $HUBAO_FEEDS_CONF or\n"
    "                         " HB_PATHS_FEEDS_CONF ")\n"
    "  --dir DIR              feed copies (default $HUBAO_FEEDS_DIR or\n"
    "                         " HB_PATHS_FEEDS_STORE ")\n"
    "  --allow-http           also fetch plain http:// feeds (default: https only)\n"
    "  --timeout SECONDS      limit for each download attempt (default 300)\n"
    "  --connect-timeout SECONDS  limit for connecting (default 10)\n"
    "  --tries N              attempts for transient failures (default 3)\n"
    "  --backoff SECONDS      wait before the second attempt, doubling (default 1)\n"
    "  --max-bytes N[K|M|G]   largest download accepted (default 64M)\n"
    "\n"
    "Exit codes: 0 every feed is current; 1 some feed failed (the others were\n"
    "still updated, and a failed feed keeps its previous copy); 2 usage error;\n"
    "3 configuration unreadable or invalid, or the directory unusable.\n";

/* Seconds (decimal) to milliseconds; -1 if not a number in (0, 1 day]. */
static long parse_seconds(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 86400)
        return -1;
    long ms = (long)(v * 1000 + 0.5);
    return ms > 0 ? ms : 1;
}

/* "1000", "512K", "64M", "1G" -> bytes; 0 if invalid. */
static size_t parse_size(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-')
        return 0;
    int shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10, end++;
    else if (*end == 'M' || *end == 'm')
        shift = 20, end++;
    else if (*end == 'G' || *end == 'g')
        shift = 30, end++;
    if (*end || v == 0 || v > (1ULL << (40 - shift)))
        return 0;
    return (size_t)(v << shift);
}

static void format_time(time_t t, char *buf, size_t cap)
{
    struct tm tm;
    if (t == 0 || !gmtime_r(&t, &tm) ||
        strftime(buf, cap, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "-");
}

static void format_age(time_t t, time_t now, char *buf, size_t cap)
{
    long long s = t ? (long long)(now - t) : -1;
    if (s < 0)
        snprintf(buf, cap, "-");
    else if (s < 120)
        snprintf(buf, cap, "%llds", s);
    else if (s < 2LL * 3600)
        snprintf(buf, cap, "%lldm", s / 60);
    else if (s < 2LL * 86400)
        snprintf(buf, cap, "%lldh", s / 3600);
    else
        snprintf(buf, cap, "%lldd", s / 86400);
}

/* One line on stderr saying what happened to a feed. */
static void report(const hb_feed_source *f, int rc, const hb_fetch_report *r,
                   const hb_error *err)
{
    char when[32];
    format_time(r->copy_time, when, sizeof when);
    if (rc == 0 && r->outcome == HB_FETCH_UPDATED) {
        fprintf(stderr,
                "hubao: feed %s: updated: %zu entries from %zu bytes"
                " (%zu record%s skipped)%s\n",
                f->name, r->entries, r->bytes, r->rejected, r->rejected == 1 ? "" : "s",
                r->tries > 1 ? ", after retrying" : "");
    } else if (rc == 0) {
        fprintf(stderr,
                "hubao: feed %s: unchanged (304 Not Modified): %zu entries, "
                "copy current as of %s\n",
                f->name, r->entries, when);
    } else if (r->outcome == HB_FETCH_UPDATED) {
        fprintf(stderr, "hubao: feed %s: updated (%zu entries), but %s\n", f->name,
                r->entries, err->message);
    } else {
        char tries[32] = "";
        if (r->tries > 0)
            snprintf(tries, sizeof tries, " [%d tr%s]", r->tries,
                     r->tries == 1 ? "y" : "ies");
        if (r->copy_time)
            fprintf(stderr,
                    "hubao: %s%s; kept the previous copy from %s (%zu "
                    "entries)\n",
                    err->message, tries, when, r->entries);
        else
            fprintf(stderr, "hubao: %s%s; no copy yet\n", err->message, tries);
    }
}

static int cmd_update(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"dir", required_argument, NULL, 'd'},
        {"allow-http", no_argument, NULL, 'H'},
        {"timeout", required_argument, NULL, 't'},
        {"connect-timeout", required_argument, NULL, 'C'},
        {"tries", required_argument, NULL, 'n'},
        {"backoff", required_argument, NULL, 'b'},
        {"max-bytes", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *dir = NULL;
    hb_fetch_opts opts;
    hb_fetch_opts_default(&opts);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        long ms;
        char *end;
        switch (c) {
        case 'c': config = optarg; break;
        case 'd': dir = optarg; break;
        case 'H': opts.allow_http = 1; break;
        case 't':
        case 'C':
        case 'b':
            if ((ms = parse_seconds(optarg)) < 0) {
                cli_error("--%s wants seconds (e.g. 30 or 0.5), not \"%s\"",
                          c == 't'   ? "timeout"
                          : c == 'C' ? "connect-timeout"
                                     : "backoff",
                          optarg);
                return EXIT_USAGE;
            }
            if (c == 't')
                opts.timeout_ms = ms;
            else if (c == 'C')
                opts.connect_timeout_ms = ms;
            else
                opts.backoff_ms = ms;
            break;
        case 'n':
            errno = 0;
            opts.tries = (int)strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || opts.tries < 1 || opts.tries > 10) {
                cli_error("--tries wants a number from 1 to 10, not \"%s\"", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'm':
            if ((opts.max_bytes = parse_size(optarg)) == 0) {
                cli_error("--max-bytes wants a size like 1000, 512K or 64M, "
                          "not \"%s\"",
                          optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: fputs(USAGE, stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("feeds update takes no arguments (\"%s\")\n\n%s", argv[optind], USAGE);
        return EXIT_USAGE;
    }
    config = hb_paths_feeds_conf(config);
    dir = hb_paths_feeds_store(dir);

    hb_error err;
    hb_feedconf *conf = hb_feedconf_load(config, &err);
    if (!conf) {
        cli_error("%s", err.message);
        return EXIT_SETUP;
    }
    if (conf->count == 0) {
        fprintf(stderr, "hubao: no feeds configured in %s; nothing to fetch\n", config);
        hb_feedconf_free(conf);
        return 0;
    }
    int lock = hb_fetch_lock_dir(dir, &err);
    if (lock < 0) {
        cli_error("%s", err.message);
        hb_feedconf_free(conf);
        return EXIT_SETUP;
    }
    int failed = 0;
    for (size_t i = 0; i < conf->count; i++) {
        hb_fetch_report rep;
        hb_error_clear(&err);
        int rc = hb_fetch_feed(&conf->feeds[i], dir, &opts, &rep, &err);
        report(&conf->feeds[i], rc, &rep, &err);
        failed += rc != 0;
    }
    close(lock);
    hb_feedconf_free(conf);
    return failed ? EXIT_INPUT : 0;
}

static int cmd_list(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'd') {
            dir = optarg;
        } else if (c == 'h') {
            fputs(USAGE, stdout);
            return 0;
        } else {
            fputs(USAGE, stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("feeds list takes no arguments (\"%s\")", argv[optind]);
        return EXIT_USAGE;
    }
    dir = hb_paths_feeds_store(dir);
    hb_error err;
    hb_blocklist *list = hb_blocklist_load_dir(dir, &err);
    if (!list) {
        cli_error("%s", err.message);
        return EXIT_SETUP;
    }
    size_t n = hb_blocklist_feed_count(list);
    if (n == 0) {
        fprintf(stderr, "hubao: no feed copies in %s (run `hubao feeds update`)\n", dir);
    } else {
        time_t now = time(NULL);
        printf("%-24s %10s %6s  %s\n", "FEED", "ENTRIES", "AGE", "UPDATED");
        for (size_t i = 0; i < n; i++) {
            const hb_feed_info *f = hb_blocklist_feed(list, i);
            char age[24], when[32];
            format_age(f->updated, now, age, sizeof age);
            format_time(f->updated, when, sizeof when);
            printf("%-24s %10zu %6s  %s\n", f->name, f->entries, age, when);
        }
    }
    hb_blocklist_free(list);
    return 0;
}

int cmd_feeds(int argc, char **argv)
{
    if (argc < 2) {
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (strcmp(argv[1], "update") == 0)
        return cmd_update(argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0)
        return cmd_list(argc - 1, argv + 1);
    cli_error("unknown feeds command \"%s\" (update or list)\n\n%s", argv[1], USAGE);
    return EXIT_USAGE;
}
