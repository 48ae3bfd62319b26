/*
 * feedback.h - the hotline feedback store: staff say whether a verdict was
 * right (and, if not, what the message really was), and researchers export
 * the corrections as label<TAB>text for `hubao train`.
 *
 * Storage is one SQLite file in WAL mode, one transaction per record and
 * synchronous=FULL, so a crash or a full disk loses at most the record being
 * written, never an earlier one.  Personal data never reaches the file: the
 * text is normalised (normalize.h) and every phone number, account number
 * and messenger handle the entity finder sees (entities.h) is replaced by a
 * typed placeholder (<PHONE>, <ACCOUNT>, <HANDLE>); any digit run of 7 or
 * more left after that becomes <NUMBER>.
 */
#ifndef HB_CLI_FEEDBACK_H
#define HB_CLI_FEEDBACK_H

#include <stddef.h>

typedef struct cli_feedback cli_feedback;

/* One piece of feedback, as the web page sends it.  Strings are borrowed;
 * optional ones may be NULL. */
typedef struct cli_feedback_record {
    const char *text; /* the message as pasted (raw UTF-8) */
    size_t len;
    const char *models;       /* JSON {"task": "version"} of the verdict */
    const char *verdict;      /* "fraud", "spam", "rumour", "clean", ... */
    const char *verdict_type; /* fraud type the verdict gave, or NULL */
    const char *summary;      /* the sentence shown, or NULL */
    int correct;              /* staff: the verdict was right */
    const char *label;        /* staff: the right dataset label, or NULL */
    const char *fraud_type;   /* staff: the right fraud type, or NULL */
} cli_feedback_record;

/* Open (creating if needed) the store at path.  Returns an owned store, or
 * NULL with a message in err (cap bytes). */
cli_feedback *cli_feedback_open(const char *path, char *err, size_t cap);

/* Close the store; NULL is fine. */
void cli_feedback_close(cli_feedback *fb);

/* Store one record in its own transaction.  Returns the new row id (> 0),
 * or -1 with a message in err: invalid input (label not [a-z0-9_-]),
 * or the database refused (disk full, locked beyond the busy timeout). */
long long cli_feedback_add(cli_feedback *fb, const cli_feedback_record *r, char *err,
                           size_t cap);

/* `hubao feedback export --since DATE [--db FILE]`. */
int cmd_feedback(int argc, char **argv);

#endif
