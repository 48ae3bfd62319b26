/*
 * request.h - the request protocol every front end speaks (docs/protocol.md):
 * parse a request body and check its items, answer an item with its
 * rendered verdict, build error replies, and write replies so that ids
 * come back exactly as the client wrote them.
 */
#ifndef HB_REQUEST_H
#define HB_REQUEST_H

#include <jansson.h>

#include "render.h"
#include "verdict.h"

enum { HB_MAX_REQUEST_URLS = 64 };

/* One item of a request, checked; every pointer is borrowed from the
 * parsed request and lives as long as it. */
typedef struct hb_request_item {
    const json_t *id;   /* the item's "id" to echo, NULL if none: as
                         * jansson read it when a string, true, false or
                         * null, else an exact id (hb_request_parse):
                         * copy it into replies, do not read it */
    const char *text;   /* "text": valid UTF-8, may hold NUL bytes */
    size_t len;         /* bytes of text */
    const json_t *urls; /* "urls": array of strings, NULL if none */
    int detail;         /* "detail": an hb_detail, -1 if not given */
} hb_request_item;

/* Parse a request body of len bytes: a JSON object (one item) or an array
 * of 1..max_batch items.  Returns the parsed value (owned: json_decref it),
 * or NULL with err: malformed_json (with line and column), invalid_utf8
 * (bytes that are not UTF-8, or escapes of lone surrogates),
 * invalid_request (a scalar, an empty array, a key twice),
 * batch_too_large, internal (out of memory).  Items are checked one by
 * one with hb_request_item_check, so one bad item does not spoil a batch.
 *
 * Any number is valid, also one jansson cannot hold (9223372036854775808,
 * 1e400: read as 0, since the service reads no number but the id).  An
 * item's "id" that is a number, an object or an array is replaced by an
 * exact id, an object private to this module that holds the id's JSON
 * text: compact, strings as jansson writes them, numbers byte for byte as
 * the client wrote them (1.0, -0, 1E+2 stay so).  Replies carrying one
 * must be written with hb_reply_dumpb or hb_reply_dumps. */
json_t *hb_request_parse(const char *body, size_t len, size_t max_batch, hb_error *err);

/* Check one item: an object with a string "text", optionally "id" (any
 * JSON value, echoed in the reply), "urls" (an array of at most
 * HB_MAX_REQUEST_URLS strings) and "detail" ("full" or "brief"); other
 * members are ignored.  Returns 0 and
 * fills out, or -1 with err (invalid_request, missing_text); out->id is
 * filled even then, so the error reply can carry it. */
int hb_request_item_check(const json_t *item, hb_request_item *out, hb_error *err);

/* Answer one checked request item: classify its text with its links and
 * render the reply (the verdict with "id" first and, in full replies,
 * "models" added, a borrowed object copied by reference), at the item's
 * "detail" or else opt's.  Returns a new reference, or NULL
 * with err when the text is refused (invalid UTF-8, empty, too long) or
 * memory runs out (err->code HB_ENOMEM). */
json_t *hb_answer_item(const hb_engine *engine, hb_session *session,
                       const hb_request_item *item, const json_t *models,
                       const hb_render_options *opt, hb_error *err);

/* The "id" of a request body that is an object (a new reference; an
 * exact id as hb_request_parse makes them), or NULL (no id, a batch, not
 * a request hb_request_parse takes): for error replies made by a
 * component that does not otherwise parse requests, like the service's
 * broker. */
json_t *hb_request_peek_id(const char *body, size_t len);

/* {"id": id, "error": {"code": hb_err_name(code), "message": message}}
 * with "id" left out when id is NULL (borrowed, copied).  NULL only on
 * allocation failure. */
json_t *hb_error_reply(const json_t *id, int code, const char *message);

/* Write a reply, or an array of replies, as json_dumpb(reply, buf, cap,
 * flags) does (the bytes needed, written only if they fit in cap; 0 on
 * failure), except that a reply whose "id" is an exact id is written with
 * that id's JSON text first and then its other members, compactly (flags
 * apply within their values).  Every front end writes replies with these,
 * so that a number in an id comes back as the client wrote it. */
size_t hb_reply_dumpb(const json_t *reply, char *buf, size_t cap, size_t flags);

/* The same as a new NUL-terminated string (free it), like json_dumps;
 * NULL on failure. */
char *hb_reply_dumps(const json_t *reply, size_t flags);

#endif
