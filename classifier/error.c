/*
 * error.c - see error.h.
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int hb_error_set(hb_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

void hb_error_clear(hb_error *err)
{
    if (err) {
        err->code = HB_OK;
        err->message[0] = '\0';
    }
}

const char *hb_err_name(int code)
{
    switch (code) {
    case HB_OK: return "ok";
    case HB_EINVAL: return "invalid_input";
    case HB_EUTF8: return "invalid_utf8";
    case HB_ENOMEM: return "out_of_memory";
    case HB_EIO: return "io_error";
    case HB_EFORMAT: return "corrupt_file";
    case HB_ETOOBIG: return "too_large";
    case HB_EEMPTY: return "empty_text";
    case HB_ENOTFOUND: return "not_found";
    case HB_ELIMIT: return "limit_exceeded";
    case HB_EJSON: return "malformed_json";
    case HB_EREQUEST: return "invalid_request";
    case HB_ENOTEXT: return "missing_text";
    case HB_EBATCH: return "batch_too_large";
    case HB_EOVERLOADED: return "overloaded";
    case HB_EINFLIGHT: return "too_many_in_flight";
    case HB_EDEADLINE: return "deadline_exceeded";
    case HB_ESHUTDOWN: return "shutting_down";
    case HB_EFORBIDDEN: return "forbidden";
    case HB_EUNAVAILABLE: return "service_unavailable";
    case HB_ECONNECTIONS: return "too_many_connections";
    case HB_EBADREQUEST: return "bad_request";
    case HB_EUNAUTHORIZED: return "unauthorized";
    case HB_ERATE: return "rate_limited";
    case HB_EMETHOD: return "method_not_allowed";
    case HB_EMEDIA: return "unsupported_media_type";
    default: return "internal";
    }
}

int hb_err_from_name(const char *name)
{
    for (int code = HB_OK; code > HB_EINTERNAL; code--)
        if (strcmp(hb_err_name(code), name) == 0)
            return code;
    return HB_EINTERNAL;
}
