/*
 * feedback.c - the hotline feedback store (feedback.h) and `hubao feedback
 * export`.
 *
 * The table keeps what a researcher needs to fold a correction into the
 * next model (the masked text, the staff label) and what is needed to tell
 * which model was wrong (time, model versions, verdict).  Dates are stored
 * as ISO 8601 UTC text so that `--since 2025-01-31` is a string comparison.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sqlite3.h>

#include "cli.h"
#include "feedback.h"
#include "paths.h"
#include "privacy.h"

struct cli_feedback {
    sqlite3 *db;
    hb_scrubber *scrubber;
};

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS feedback ("
    " id INTEGER PRIMARY KEY,"
    " created TEXT NOT NULL," /* UTC, 2025-01-31T12:00:00Z */
    " models TEXT NOT NULL,"  /* JSON {"task": "version"} */
    " verdict TEXT NOT NULL," /* fraud, spam, rumour, clean, ... */
    " verdict_type TEXT,"     /* fraud type of the verdict */
    " verdict_label TEXT,"    /* the verdict as a dataset label */
    " summary TEXT,"
    " correct INTEGER NOT NULL,"
    " label TEXT,"        /* staff: the right dataset label */
    " fraud_type TEXT,"   /* staff: the right fraud type */
    " text TEXT NOT NULL" /* normalised, personal numbers masked */
    ");"
    "CREATE INDEX IF NOT EXISTS feedback_created ON feedback(created);";

static void seterr(char *err, size_t cap, const char *what, sqlite3 *db)
{
    snprintf(err, cap, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

cli_feedback *cli_feedback_open(const char *path, char *err, size_t cap)
{
    cli_feedback *fb = calloc(1, sizeof *fb);
    if (!fb) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    hb_error e;
    if (!(fb->scrubber = hb_scrubber_new(&e))) {
        snprintf(err, cap, "cannot set up the entity finder: %s", e.message);
        cli_feedback_close(fb);
        return NULL;
    }
    if (sqlite3_open_v2(path, &fb->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        NULL) != SQLITE_OK) {
        char what[600];
        snprintf(what, sizeof what, "cannot open feedback database %s", path);
        seterr(err, cap, what, fb->db);
        cli_feedback_close(fb);
        return NULL;
    }
    sqlite3_busy_timeout(fb->db, 5000);
    /* WAL: readers (export) never block the writer; FULL: a committed
     * record survives a power cut */
    if (sqlite3_exec(fb->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL,
                     NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(fb->db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK) {
        seterr(err, cap, "cannot prepare the feedback table", fb->db);
        cli_feedback_close(fb);
        return NULL;
    }
    return fb;
}

void cli_feedback_close(cli_feedback *fb)
{
    if (!fb)
        return;
    sqlite3_close(fb->db);
    hb_scrubber_free(fb->scrubber);
    free(fb);
}

/* A dataset label or type: 1..40 of [a-z0-9_-]. */
static int valid_label(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 40)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) ||
              s[i] == '_' || s[i] == '-'))
            return 0;
    return 1;
}

/* The dataset label (tests/fixtures/train_small.tsv, dataset.c's label
 * map) a verdict stands for, so a verdict marked correct can be exported:
 * fraud (likely or possible) of type T -> fraud_T (malicious_link ->
 * smishing), clean -> ham,
 * anything else -> the verdict itself. */
static void verdict_label(const char *verdict, const char *type, char *out, size_t cap)
{
    if (strcmp(verdict, "fraud") == 0 || strcmp(verdict, "possible_fraud") == 0) {
        if (!type || !*type)
            snprintf(out, cap, "fraud_other");
        else if (strcmp(type, "malicious_link") == 0 || strcmp(type, "smishing") == 0)
            snprintf(out, cap, "smishing");
        else
            snprintf(out, cap, "fraud_%s", type);
    } else if (strcmp(verdict, "clean") == 0) {
        snprintf(out, cap, "ham");
    } else {
        snprintf(out, cap, "%s", verdict);
    }
}

/* 1 if s is 1..max bytes of letters, digits and " ._:,-" (a model
 * version or a feed's status line). */
static int plain_string(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(" ._:,-", s[i]))
            return 0;
    return 1;
}

/* The record's "models" as stored: only {"task": "version"} members whose
 * names and values look like what the service sends (a client could put
 * anything there).  Owned by the caller. */
static char *validated_models(const char *models)
{
    json_t *in = models ? json_loads(models, 0, NULL) : NULL, *out = json_object(), *v;
    const char *k;
    json_object_foreach(in, k, v)
    {
        if (plain_string(k, 64) && json_is_string(v) &&
            plain_string(json_string_value(v), 80))
            json_object_set(out, k, v);
    }
    char *text = out ? json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(in);
    json_decref(out);
    return text;
}

/* The summary as stored: scrubbed like the text, at most 300 bytes, cut
 * at a character boundary. */
static char *scrubbed_summary(const char *summary)
{
    size_t n = summary ? strnlen(summary, 301) : 0;
    if (!summary)
        return NULL;
    if (n > 300)
        for (n = 300; n > 0 && ((unsigned char)summary[n] & 0xc0) == 0x80; n--)
            ;
    return hb_scrub_plain(summary, n);
}

long long cli_feedback_add(cli_feedback *fb, const cli_feedback_record *r, char *err,
                           size_t cap)
{
    if (!r->verdict || !valid_label(r->verdict) ||
        (r->verdict_type && *r->verdict_type && !valid_label(r->verdict_type))) {
        snprintf(err, cap, "\"verdict\" must name the verdict (e.g. fraud, clean)");
        return -1;
    }
    if ((r->label && !valid_label(r->label)) ||
        (r->fraud_type && !valid_label(r->fraud_type))) {
        snprintf(err, cap,
                 "\"label\" and \"fraud_type\" must be 1-40 of a-z, 0-9, _ and -");
        return -1;
    }
    char *masked = hb_scrub_text(fb->scrubber, r->text, r->len);
    if (!masked) {
        snprintf(err, cap, "\"text\" is not valid UTF-8");
        return -1;
    }
    char *models = validated_models(r->models), *summary = scrubbed_summary(r->summary);
    char created[32], vlabel[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    verdict_label(r->verdict, r->verdict_type, vlabel, sizeof vlabel);

    static const char SQL[] =
        "INSERT INTO feedback (created, models, verdict, verdict_type, verdict_label,"
        " summary, correct, label, fraud_type, text) VALUES (?,?,?,?,?,?,?,?,?,?)";
    sqlite3_stmt *st = NULL;
    long long id = -1;
    if (sqlite3_exec(fb->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        seterr(err, cap, "cannot store feedback", fb->db);
        free(masked);
        free(models);
        free(summary);
        return -1;
    }
    if (sqlite3_prepare_v2(fb->db, SQL, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, created, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, models ? models : "{}", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, r->verdict, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, r->verdict_type, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, vlabel, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, summary, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 7, r->correct ? 1 : 0);
        sqlite3_bind_text(st, 8, r->label, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, r->fraud_type, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 10, masked, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_DONE)
            id = sqlite3_last_insert_rowid(fb->db);
    }
    if (id < 0 || sqlite3_exec(fb->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        seterr(err, cap, "cannot store feedback", fb->db);
        sqlite3_finalize(st);
        sqlite3_exec(fb->db, "ROLLBACK", NULL, NULL, NULL);
        free(masked);
        free(models);
        free(summary);
        return -1;
    }
    sqlite3_finalize(st);
    free(masked);
    free(models);
    free(summary);
    return id;
}

static const char USAGE[] =
    "usage: hubao feedback export --since DATE [--db FILE]\n"
    "\n"
    "Write the hotline feedback recorded since DATE (YYYY-MM-DD, UTC) as\n"
    "label<TAB>text lines that `hubao train --data` accepts.  The label is the\n"
    "staff's label (fraud plus a fraud type gives fraud_TYPE), or the verdict's\n"
    "own label (fraud_TYPE, smishing, spam, rumour, ham) when staff marked it\n"
    "correct; feedback that says only \"wrong\" is left out.  Texts are stored\n"
    "normalised with phone, account numbers and handles as <PHONE>, <ACCOUNT>,\n"
    "<HANDLE>.\n"
    "\n"
    "  --since DATE   first day to export (required)\n"
    "  --db FILE      the feedback database (default " HB_PATHS_FEEDBACK_DB ")\n";

int cmd_feedback(int argc, char **argv)
{
    static const struct option opts[] = {
        {"since", required_argument, NULL, 's'},
        {"db", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2 || strcmp(argv[1], "export") != 0) {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            fputs(USAGE, stdout);
            return 0;
        }
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }
    const char *since = NULL, *path = HB_PATHS_FEEDBACK_DB;
    int c;
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
        switch (c) {
        case 's': since = optarg; break;
        case 'd': path = optarg; break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: fputs(USAGE, stderr); return EXIT_USAGE;
        }
    }
    if (!since || optind != argc - 1 || strlen(since) < 10 ||
        !isdigit((unsigned char)since[0])) {
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        cli_error("cannot open feedback database %s: %s", path,
                  db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return EXIT_SETUP;
    }
    sqlite3_busy_timeout(db, 5000);
    static const char SQL[] =
        "SELECT CASE WHEN label IS NOT NULL AND label = 'fraud' AND fraud_type IS NOT NULL"
        "            THEN 'fraud_' || fraud_type"
        "            WHEN label IS NOT NULL THEN label"
        "            WHEN correct THEN verdict_label END, text"
        " FROM feedback WHERE created >= ? ORDER BY id";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, SQL, -1, &st, NULL) != SQLITE_OK) {
        cli_error("cannot read feedback database %s: %s", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return EXIT_SETUP;
    }
    sqlite3_bind_text(st, 1, since, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *label = sqlite3_column_text(st, 0);
        const unsigned char *text = sqlite3_column_text(st, 1);
        if (label && text && *text)
            printf("%s\t%s\n", (const char *)label, (const char *)text);
    }
    int out = 0;
    if (rc != SQLITE_DONE) {
        cli_error("reading feedback database %s: %s", path, sqlite3_errmsg(db));
        out = EXIT_SETUP;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (fflush(stdout) != 0) {
        cli_error("cannot write the export");
        out = EXIT_SETUP;
    }
    return out;
}
