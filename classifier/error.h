/*
 * error.h - error codes and human-readable error reports.
 *
 * Every fallible library call returns 0 on success or a negative hb_err
 * code, and fills an optional hb_error with the same code plus a message a
 * person can act on (naming the file:line or the offending input).  Nothing
 * in classifier/ prints or exits: callers decide what to do with the error.
 *
 * The same codes are the protocol's: an error reply carries a code's name
 * (hb_err_name), so every refusal a client can see, from the library, the
 * service or the web server, is one of these (docs/protocol.md).
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
    /* refusals of the request protocol (request.h, the service, the web) */
    HB_EJSON = -10,       /* malformed_json: not JSON at all */
    HB_EREQUEST = -11,    /* invalid_request: JSON of the wrong shape */
    HB_ENOTEXT = -12,     /* missing_text: no string "text" */
    HB_EBATCH = -13,      /* batch_too_large: over the item limit */
    HB_EOVERLOADED = -14, /* overloaded: the service's queue or memory is full */
    HB_EINFLIGHT = -15,   /* too_many_in_flight: one client over its share */
    HB_EDEADLINE = -16,   /* deadline_exceeded: not answered in time */
    HB_ESHUTDOWN = -17,   /* shutting_down: arrived after SIGTERM */
    HB_EFORBIDDEN = -18,  /* forbidden: a control command where none is taken,
                             or a page of another site posting */
    /* refusals of the web server only (docs/web.md) */
    HB_EUNAVAILABLE = -19,  /* service_unavailable: hubaod did not answer */
    HB_ECONNECTIONS = -20,  /* too_many_connections: one address over its share */
    HB_EBADREQUEST = -21,   /* bad_request: the HTTP request itself is wrong */
    HB_EUNAUTHORIZED = -22, /* unauthorized: no or a wrong bearer token */
    HB_ERATE = -23,         /* rate_limited: too many requests from an address */
    HB_EMETHOD = -24,       /* method_not_allowed */
    HB_EMEDIA = -25,        /* unsupported_media_type: not application/json */
    HB_EINTERNAL = -26,     /* internal: the service failed, not the request
                               (keep it last: hb_err_from_name counts to it) */
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

/* Stable machine-readable name of a code, e.g. "invalid_utf8", as error
 * replies carry it.  Unknown codes give "internal". */
const char *hb_err_name(int code);

/* The code named name (hb_err_name's inverse), or HB_EINTERNAL for a name
 * that is none: for a client reading replies. */
int hb_err_from_name(const char *name);

#endif
