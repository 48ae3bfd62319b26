/*
 * error.c - see error.h.
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

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
    default: return "internal";
    }
}
