/*
 * error.h - error codes and human-readable error reports.
 *
 * Every fallible library call returns 0 on success or a negative hb_err
 * code, and fills an optional hb_error with the same code plus a message a
 * person can act on (naming the file:line or the offending input).  Nothing
 * in classifier/ prints or exits: callers decide what to do with the error.
 */
#ifndef HB_ERROR_H
#define HB_ERROR_H

enum hb_err {
    HB_OK = 0,
    HB_EINVAL = -1,    /* bad argument or malformed input */
    HB_EUTF8 = -2,     /* input is not valid UTF-8 */
    HB_ENOMEM = -3,    /* allocation failed */
    HB_EIO = -4,       /* file could not be read or written */
    HB_EFORMAT = -5,   /* a model, rules or feed file is corrupt */
    HB_ETOOBIG = -6,   /* input over a configured size limit */
    HB_EEMPTY = -7,    /* input is empty */
    HB_ENOTFOUND = -8, /* a named file, model or task does not exist */
    HB_ELIMIT = -9,    /* a resource limit (match limit, queue) was hit */
};

typedef struct hb_error {
    int code;          /* one of enum hb_err */
    char message[512]; /* human-readable, NUL-terminated */
} hb_error;

/* Record an error in err (which may be NULL) and return code, so that a
 * failing function can end with `return hb_error_set(err, ...)`. */
int hb_error_set(hb_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reset err (may be NULL) to "no error". */
void hb_error_clear(hb_error *err);

/* Stable machine-readable name of a code, e.g. "invalid_utf8", for JSON
 * error replies.  Unknown codes give "internal". */
const char *hb_err_name(int code);

#endif
