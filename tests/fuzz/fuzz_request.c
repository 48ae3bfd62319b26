/*
 * fuzz_request.c - libFuzzer target for the request parser of the ZeroMQ
 * protocol (hb_request_parse, hb_request_item_check, hb_request_peek_id,
 * hb_reply_dumps): any byte string is either refused with one of the
 * documented error codes and a message, or gives an object or a non-empty
 * batch no larger than the limit whose items each either pass with a text
 * of the stated length or are refused with a code and a message.  The id
 * every item's reply echoes is written, reads back as the same id, and is
 * what jansson itself reads from the body whenever jansson can (byte for
 * byte when it holds no number); the broker's peek echoes the same bytes.
 * Aborts on the first violation.
 *
 * Built and run by `make fuzz` (and for a few seconds by `make test`).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_BATCH = 8 };

static void check_refusal(const hb_error *err)
{
    if (err->code >= 0 || !err->message[0])
        abort();
}

/* The bytes of an error reply echoing id (the caller frees them). */
static char *echo(const json_t *id)
{
    json_t *reply = hb_error_reply(id, HB_EINTERNAL, "m");
    char *s = reply ? hb_reply_dumps(reply, HB_JSON_FLAGS) : NULL;
    if (s && hb_reply_dumpb(reply, NULL, 0, HB_JSON_FLAGS) != strlen(s))
        abort();
    json_decref(reply);
    return s;
}

static int holds_number(const json_t *j)
{
    const char *key;
    const json_t *v;
    size_t i;
    if (json_is_number(j))
        return 1;
    json_array_foreach(j, i, v) if (holds_number(v)) return 1;
    json_object_foreach((json_t *)j, key, v) if (holds_number(v)) return 1;
    return 0;
}

/* The echo of an item's id: it reads back as the same echo, and, where
 * jansson read the body itself (plain: that item's id there), as what
 * jansson read. */
static void check_echo(const json_t *id, const json_t *plain)
{
    char *s = echo(id);
    if (!s)
        abort();
    json_t *again = hb_request_parse(s, strlen(s), MAX_BATCH, NULL);
    char *s2 = echo(json_object_get(again, "id"));
    if (!s2 || strcmp(s, s2) != 0)
        abort();
    if (plain && !holds_number(plain)) {
        char *before = echo(plain); /* jansson's own writing, as before */
        if (!before || strcmp(s, before) != 0)
            abort();
        free(before);
    } else if (plain) {
        json_t *read = json_loads(s, JSON_ALLOW_NUL, NULL);
        if (!json_equal(json_object_get(read, "id"), plain))
            abort();
        json_decref(read);
    }
    free(s2);
    json_decref(again);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    hb_error err;
    memset(&err, 0, sizeof err);
    json_t *req = hb_request_parse(body, size, MAX_BATCH, &err);
    json_t *peeked = hb_request_peek_id(body, size);
    json_t *plain = json_loadb(
        body, size, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, NULL);
    if (!req) {
        check_refusal(&err);
        json_decref(peeked);
        json_decref(plain);
        return 0;
    }
    size_t n = json_is_array(req) ? json_array_size(req) : 1;
    if (!(json_is_object(req) || (json_is_array(req) && n >= 1 && n <= MAX_BATCH)))
        abort();
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_is_array(req) ? json_array_get(req, i) : req;
        const json_t *plain_item =
            json_is_array(plain) ? json_array_get(plain, i) : plain;
        hb_request_item it;
        memset(&err, 0, sizeof err);
        if (hb_request_item_check(item, &it, &err) != 0)
            check_refusal(&err);
        else if (!it.text || strlen(it.text) > it.len)
            abort();
        if (it.id)
            check_echo(it.id, json_object_get(plain_item, "id"));
    }
    if (json_is_object(req)) {
        char *a = echo(json_object_get(req, "id")), *b = echo(peeked);
        if (!a || !b || strcmp(a, b) != 0)
            abort();
        free(a);
        free(b);
    }
    json_decref(peeked);
    json_decref(plain);
    json_decref(req);
    return 0;
}
