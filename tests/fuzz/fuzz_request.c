/*
 * fuzz_request.c - libFuzzer target for the request parser of the ZeroMQ
 * protocol (hb_request_parse, hb_request_item_check, hb_request_peek_id):
 * any byte string is either refused with one of the documented error codes
 * and a message, or gives an object or a non-empty batch no larger than the
 * limit whose items each either pass with a text of the stated length or
 * are refused with a code and a message.  Aborts on the first violation.
 *
 * Built and run by `make fuzz` (and for a few seconds by `make test`).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_BATCH = 8 };

static void check_refusal(const hb_request_error *err)
{
    if (!err->code || !*err->code || !err->message[0])
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hb_request_error err;
    memset(&err, 0, sizeof err);
    json_t *req = hb_request_parse((const char *)data, size, MAX_BATCH, &err);
    json_decref(hb_request_peek_id((const char *)data, size));
    if (!req) {
        check_refusal(&err);
        return 0;
    }
    size_t n = json_is_array(req) ? json_array_size(req) : 1;
    if (!(json_is_object(req) || (json_is_array(req) && n >= 1 && n <= MAX_BATCH)))
        abort();
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_is_array(req) ? json_array_get(req, i) : req;
        hb_request_item it;
        memset(&err, 0, sizeof err);
        if (hb_request_item_check(item, &it, &err) != 0)
            check_refusal(&err);
        else if (!it.text || strlen(it.text) > it.len)
            abort();
    }
    json_decref(req);
    return 0;
}
