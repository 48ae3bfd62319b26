/*
 * request.c - the request protocol: parse and check requests, answer an
 * item, error replies, and write replies with ids echoed exactly (see
 * request.h).
 */
#include "request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *hb_error_reply(const json_t *id, int code, const char *message)
{
    json_t *root = json_object();
    if (!root)
        return NULL;
    if (id)
        json_object_set_new(root, "id", json_deep_copy(id));
    json_object_set_new(
        root, "error",
        json_pack("{s:s, s:s}", "code", hb_err_name(code), "message", message));
    return root;
}

static const char *json_kind(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* ---- Ids echoed as written ---------------------------------------------
 *
 * jansson holds a number as a 64-bit integer or a double: it refuses
 * 9223372036854775808 and 1e400, writes 1.0E2 back as 100.0 and -0 as 0,
 * and rounds 0.1234567 to the precision the reply is written with.  An id
 * is what a client matches replies by, so a number in it must come back
 * byte for byte.  Hence:
 *
 * - a body jansson refuses only for such a number is read again with
 *   every number written as 0, spaces before it to keep its length
 *   (zero_numbers), so that it parses and the line and column of any other
 *   error stay true.  No member but "id" is a number the service reads.
 * - each item's "id" that is a number, an object or an array (what may
 *   hold a number) is replaced by an exact id: an object whose one member,
 *   under a key no client can send (not UTF-8: jansson refuses such a key
 *   in a request, and will not write one either), is the id's JSON text
 *   cut from the body (exact_text: compact, strings as jansson writes
 *   them, numbers as the client wrote them).  Strings, true, false and
 *   null are left as jansson read them.
 * - hb_reply_dumpb and hb_reply_dumps write that text where the id goes.
 *
 * The scanning below reads bodies jansson has accepted (but for their
 * numbers), so it does not validate; every step is still bounded by the
 * length it is given, whatever the bytes. */

static const char EXACT_KEY[] = "\377exact"; /* byte 0xFF, then "exact" */

enum { PARSE_FLAGS = JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES };

/* White space, and NUL: jansson reads one NUL byte right after a number
 * or a literal as nothing ("[1\0]" is [1]). */
static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0';
}

/* c is one of the bytes of set, NUL excluded (strchr alone would match
 * set's own terminator). */
static int one_of(char c, const char *set)
{
    return c != '\0' && strchr(set, c) != NULL;
}

static size_t skip_space(const char *s, size_t len, size_t i)
{
    while (i < len && is_space(s[i]))
        i++;
    return i;
}

/* The index after the string token opening at s[i] (a '"'), or len when
 * it is not closed before len. */
static size_t string_end(const char *s, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (s[i] == '\\')
            i++; /* the escaped byte; \uXXXX has no quote in it */
        else if (s[i] == '"')
            return i + 1;
    }
    return len;
}

/* The index after the JSON value starting at s[i], or len when it runs
 * past len: a string, a nested object or array (brackets counted,
 * strings skipped), else a number or literal up to the next delimiter. */
static size_t value_end(const char *s, size_t len, size_t i)
{
    if (i < len && s[i] == '"')
        return string_end(s, len, i);
    if (i < len && s[i] != '{' && s[i] != '[') {
        while (i < len && !is_space(s[i]) && !one_of(s[i], ",:[]{}\""))
            i++;
        return i;
    }
    size_t depth = 0;
    while (i < len) {
        char c = s[i];
        if (c == '"') {
            i = string_end(s, len, i);
            continue;
        }
        if (c == '{' || c == '[')
            depth++;
        else if ((c == '}' || c == ']') && --depth == 0)
            return i + 1;
        i++;
    }
    return len;
}

/* 1 if the string token tok (n bytes, quotes included) reads key. */
static int key_is(const char *tok, size_t n, const char *key, size_t klen)
{
    if (!memchr(tok, '\\', n))
        return n == klen + 2 && memcmp(tok + 1, key, klen) == 0;
    json_t *k = json_loadb(tok, n, JSON_DECODE_ANY, NULL); /* "\u0069d" is "id" */
    int same =
        json_string_length(k) == klen && memcmp(json_string_value(k), key, klen) == 0;
    json_decref(k);
    return same;
}

/* The span [*vs, *ve) of the "id" member's value in the object that
 * opens at s[i] and ends before len: 0, or -1 when it has none.  The
 * last such member, as jansson keeps (bodies with a key twice are refused
 * before this is asked). */
static int id_span(const char *s, size_t len, size_t i, size_t *vs, size_t *ve)
{
    int found = 0;
    i = skip_space(s, len, i + 1);
    while (i < len && s[i] == '"') {
        size_t key_end = string_end(s, len, i);
        int match = key_is(s + i, key_end - i, "id", 2);
        i = skip_space(s, len, key_end);
        if (i >= len || s[i] != ':')
            break;
        size_t v = skip_space(s, len, i + 1), e = value_end(s, len, v);
        if (match) {
            *vs = v;
            *ve = e;
            found = 1;
        }
        i = skip_space(s, len, e);
        if (i >= len || s[i] != ',')
            break;
        i = skip_space(s, len, i + 1);
    }
    return found ? 0 : -1;
}

/* The JSON value s[0..n) written compactly, its strings as jansson writes
 * them and its numbers as they are: a new NUL-terminated string of at
 * most n bytes (escapes never get longer when written again) and its
 * length in *out_len, or NULL when out of memory. */
static char *exact_text(const char *s, size_t n, size_t *out_len)
{
    char *out = malloc(n + 1);
    size_t used = 0;
    for (size_t i = 0; out && i < n;) {
        if (is_space(s[i])) {
            i++;
        } else if (s[i] != '"') {
            out[used++] = s[i++];
        } else {
            size_t e = string_end(s, n, i), w = e - i;
            if (memchr(s + i, '\\', e - i)) {
                json_t *str =
                    json_loadb(s + i, e - i, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
                w = str ? json_dumpb(str, out + used, n - used, JSON_ENCODE_ANY) : 0;
                json_decref(str);
                if (w == 0 || w > e - i) { /* never so: used stays <= i */
                    free(out);
                    return NULL;
                }
            } else {
                memcpy(out + used, s + i, w);
            }
            used += w;
            i = e;
        }
    }
    if (out) {
        out[used] = '\0';
        *out_len = used;
    }
    return out;
}

/* The length of the JSON number at the start of s (n bytes): its longest
 * prefix that is one (0 if none). */
static size_t number_len(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0')
        i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9')
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    else
        return 0;
    if (i + 1 < n && s[i] == '.' && s[i + 1] >= '0' && s[i + 1] <= '9')
        for (i += 2; i < n && s[i] >= '0' && s[i] <= '9';)
            i++;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < n && (s[j] == '+' || s[j] == '-'))
            j++;
        if (j < n && s[j] >= '0' && s[j] <= '9') {
            while (j < n && s[j] >= '0' && s[j] <= '9')
                j++;
            i = j;
        }
    }
    return i;
}

/* In s (len bytes), write every number outside strings that is valid JSON
 * and ends at a delimiter as spaces and "0": what jansson reads the same
 * way but can always hold.  Anything else is left for jansson to refuse. */
static void zero_numbers(char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        char c = s[i];
        if (c == '"') {
            i = string_end(s, len, i);
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t e = i;
            while (e < len && one_of(s[e], "+-.0123456789Ee"))
                e++;
            if (number_len(s + i, e - i) == e - i) {
                memset(s + i, ' ', e - i - 1);
                s[e - 1] = '0'; /* last: a NUL after it stays right after it */
            }
            i = e;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            while (i < len &&
                   ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
                i++; /* a word, as jansson reads one: "e5" is not a number */
        } else {
            i++;
        }
    }
}

/* Parse body as hb_request_parse does, numbers jansson cannot hold
 * included (read as 0 here: the ids that hold them are taken from the
 * body).  NULL with je on failure, and *oom set when memory ran out. */
static json_t *load(const char *body, size_t len, json_error_t *je, int *oom)
{
    json_t *root = json_loadb(body, len, PARSE_FLAGS, je);
    *oom = !root && json_error_code(je) == json_error_out_of_memory;
    if (root || json_error_code(je) != json_error_numeric_overflow)
        return root;
    char *copy = malloc(len);
    if (!copy) {
        *oom = 1;
        return NULL;
    }
    memcpy(copy, body, len);
    zero_numbers(copy, len);
    root = json_loadb(copy, len, PARSE_FLAGS, je);
    *oom = !root && json_error_code(je) == json_error_out_of_memory;
    free(copy);
    return root;
}

/* 1 if item is an object whose id is a number, an object or an array. */
static int wants_exact_id(const json_t *item)
{
    const json_t *id = json_object_get(item, "id");
    return id && !json_is_string(id) && !json_is_boolean(id) && !json_is_null(id);
}

/* If item (an object at s[i], ending before len) wants an exact id, put
 * it in place of its id.  -1 when out of memory. */
static int keep_exact_id(json_t *item, const char *s, size_t len, size_t i)
{
    size_t vs, ve, n;
    if (!wants_exact_id(item) || id_span(s, len, i, &vs, &ve) != 0)
        return 0;
    char *text = exact_text(s + vs, ve - vs, &n);
    json_t *exact = json_object();
    int bad = !text || !exact ||
              json_object_set_new_nocheck(exact, EXACT_KEY,
                                          json_stringn_nocheck(text, n)) != 0 ||
              json_object_set(item, "id", exact) != 0;
    free(text);
    json_decref(exact);
    return bad ? -1 : 0;
}

/* Put the exact ids of root's items in place (root parsed from body):
 * the object's, or each object's in a batch.  -1 when out of memory. */
static int keep_exact_ids(json_t *root, const char *s, size_t len)
{
    size_t i = skip_space(s, len, 0);
    if (json_is_object(root))
        return keep_exact_id(root, s, len, i);
    size_t k = 0;
    while (k < json_array_size(root) && !wants_exact_id(json_array_get(root, k)))
        k++;
    if (k == json_array_size(root))
        return 0; /* the common batch: nothing to look for in the body */
    i = skip_space(s, len, i + 1);
    for (k = 0; k < json_array_size(root) && i < len; k++) {
        size_t e = value_end(s, len, i);
        json_t *item = json_array_get(root, k);
        if (json_is_object(item) && keep_exact_id(item, s, e, i) != 0)
            return -1;
        i = skip_space(s, len, e);
        if (i < len && s[i] == ',')
            i = skip_space(s, len, i + 1);
    }
    return 0;
}

/* The JSON text of an exact id, or NULL when id is not one. */
static const json_t *exact_of(const json_t *id)
{
    const json_t *t = json_is_object(id) && json_object_size(id) == 1
                          ? json_object_get(id, EXACT_KEY)
                          : NULL;
    return json_is_string(t) ? t : NULL;
}

json_t *hb_request_parse(const char *body, size_t len, size_t max_batch, hb_error *err)
{
    json_error_t je;
    /* a key given twice has no one meaning ({"control":"ping",
     * "control":"reload"} must not run whichever the parser keeps) */
    int oom;
    json_t *root = load(body, len, &je, &oom);
    if (root && keep_exact_ids(root, body, len) != 0) {
        json_decref(root);
        root = NULL;
        oom = 1;
    }
    if (!root) {
        if (oom)
            hb_error_set(err, HB_EINTERNAL, "out of memory reading the request");
        else if (json_error_code(&je) == json_error_duplicate_key)
            hb_error_set(err, HB_EREQUEST,
                         "request has a key twice (%s at line %d, column %d); give each "
                         "key once",
                         je.text, je.line, je.column);
        else if (json_error_code(&je) == json_error_invalid_utf8 ||
                 strncmp(je.text, "invalid Unicode", 15) == 0)
            hb_error_set(err, HB_EUTF8,
                         "request is not valid UTF-8 (%s at byte %d); send "
                         "UTF-8 text",
                         je.text, je.position);
        else if (len == 0)
            hb_error_set(err, HB_EJSON,
                         "request is empty; send a JSON object such as "
                         "{\"text\": \"...\"}");
        else
            hb_error_set(err, HB_EJSON, "request is not JSON: %s at line %d, column %d",
                         je.text, je.line, je.column);
        return NULL;
    }
    if (json_is_object(root))
        return root;
    if (json_is_array(root)) {
        size_t n = json_array_size(root);
        if (n == 0)
            hb_error_set(err, HB_EREQUEST,
                         "batch is empty; send at least one request object");
        else if (n > max_batch)
            hb_error_set(err, HB_EBATCH,
                         "batch of %zu items, over the limit of %zu; split it", n,
                         max_batch);
        else
            return root;
    } else {
        hb_error_set(err, HB_EREQUEST,
                     "request is %s; send a JSON object or an array of "
                     "objects",
                     json_kind(root));
    }
    json_decref(root);
    return NULL;
}

int hb_request_item_check(const json_t *item, hb_request_item *out, hb_error *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(item)) {
        hb_error_set(err, HB_EREQUEST,
                     "batch item is %s; each item must be a JSON object",
                     json_kind(item));
        return -1;
    }
    out->id = json_object_get(item, "id");
    const json_t *text = json_object_get(item, "text");
    if (!text) {
        hb_error_set(err, HB_ENOTEXT, "request has no \"text\" member");
        return -1;
    }
    if (!json_is_string(text)) {
        hb_error_set(err, HB_ENOTEXT, "\"text\" must be a string, not %s",
                     json_kind(text));
        return -1;
    }
    const json_t *urls = json_object_get(item, "urls");
    if (urls && !json_is_null(urls)) {
        if (!json_is_array(urls)) {
            hb_error_set(err, HB_EREQUEST, "\"urls\" must be an array of strings, not %s",
                         json_kind(urls));
            return -1;
        }
        if (json_array_size(urls) > HB_MAX_REQUEST_URLS) {
            hb_error_set(err, HB_EREQUEST,
                         "\"urls\" has %zu entries, over the limit of %d",
                         json_array_size(urls), HB_MAX_REQUEST_URLS);
            return -1;
        }
        for (size_t i = 0; i < json_array_size(urls); i++)
            if (!json_is_string(json_array_get(urls, i))) {
                hb_error_set(err, HB_EREQUEST,
                             "\"urls\"[%zu] is %s; URLs must be strings", i,
                             json_kind(json_array_get(urls, i)));
                return -1;
            }
        out->urls = urls;
    }
    out->detail = -1;
    const json_t *detail = json_object_get(item, "detail");
    if (detail && !json_is_null(detail)) {
        const char *d = json_string_value(detail);
        if (d && strcmp(d, "full") == 0) {
            out->detail = HB_DETAIL_FULL;
        } else if (d && strcmp(d, "brief") == 0) {
            out->detail = HB_DETAIL_BRIEF;
        } else {
            hb_error_set(err, HB_EREQUEST, "\"detail\" must be \"full\" or \"brief\"");
            return -1;
        }
    }
    out->text = json_string_value(text);
    out->len = json_string_length(text);
    return 0;
}

json_t *hb_request_peek_id(const char *body, size_t len)
{
    json_error_t je;
    int oom;
    json_t *root = load(body, len, &je, &oom);
    json_t *id = json_is_object(root) && keep_exact_ids(root, body, len) == 0
                     ? json_object_get(root, "id")
                     : NULL;
    if (id)
        json_incref(id);
    json_decref(root);
    return id;
}

json_t *hb_answer_item(const hb_engine *e, hb_session *s, const hb_request_item *it,
                       const json_t *models, const hb_render_options *opt, hb_error *err)
{
    /* links the platform extracted are scored with those in the text */
    const char *links[HB_MAX_URLS];
    size_t lens[HB_MAX_URLS], nlinks = 0;
    for (size_t i = 0; it->urls && i < json_array_size(it->urls) && nlinks < HB_MAX_URLS;
         i++) {
        const json_t *u = json_array_get(it->urls, i);
        links[nlinks] = json_string_value(u);
        lens[nlinks++] = json_string_length(u);
    }
    const hb_verdict *v;
    if (hb_classify_with_urls(e, s, it->text, it->len, links, lens, nlinks, &v, err) != 0)
        return NULL;
    json_t *reply = json_object();
    if (!reply) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        return NULL;
    }
    if (it->id)
        json_object_set(reply, "id", (json_t *)it->id);
    hb_render_options o = *opt;
    if (it->detail >= 0)
        o.detail = (hb_detail)it->detail;
    hb_verdict_render(reply, e, s, v, &o);
    if (o.detail == HB_DETAIL_FULL)
        json_object_set(reply, "models", (json_t *)models);
    return reply;
}

/* ---- Writing replies -------------------------------------------------- */

/* Bytes written so far and where: like json_dumpb, what does not fit in
 * cap is counted but not written. */
typedef struct sink {
    char *buf;
    size_t cap, len;
} sink;

static void sink_put(sink *o, const char *s, size_t n)
{
    if (o->len < o->cap)
        memcpy(o->buf + o->len, s, n < o->cap - o->len ? n : o->cap - o->len);
    o->len += n;
}

static int sink_json(sink *o, const json_t *j, size_t flags)
{
    int room = o->len < o->cap;
    size_t n =
        json_dumpb(j, room ? o->buf + o->len : NULL, room ? o->cap - o->len : 0, flags);
    o->len += n;
    return n ? 0 : -1;
}

/* A member's name as jansson writes it: quoted, escaped where JSON must. */
static int sink_key(sink *o, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < n; i++)
        if (key[i] == '"' || key[i] == '\\' || (unsigned char)key[i] < 0x20) {
            json_t *k = json_string(key);
            int rc = k ? sink_json(o, k, JSON_ENCODE_ANY) : -1;
            json_decref(k);
            return rc;
        }
    sink_put(o, "\"", 1);
    sink_put(o, key, n);
    sink_put(o, "\"", 1);
    return 0;
}

/* One reply: when it is an object with an exact id, {"id":TEXT and then
 * its other members one by one, in order and compact (a copy of the
 * reply without its id would cost more than the writing); else as
 * jansson writes it. */
static int sink_reply(sink *o, const json_t *reply, size_t flags)
{
    const json_t *text = exact_of(json_object_get(reply, "id"));
    if (!text)
        return sink_json(o, reply, flags);
    sink_put(o, "{\"id\":", 6);
    sink_put(o, json_string_value(text), json_string_length(text));
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)reply, key, value)
    {
        if (strcmp(key, "id") == 0)
            continue;
        sink_put(o, ",", 1);
        if (sink_key(o, key) != 0)
            return -1;
        sink_put(o, ":", 1);
        if (sink_json(o, value, flags | JSON_ENCODE_ANY) != 0)
            return -1;
    }
    sink_put(o, "}", 1);
    return 0;
}

/* 1 if reply, or a reply in the array reply, has an exact id. */
static int has_exact_id(const json_t *reply)
{
    if (json_is_object(reply))
        return exact_of(json_object_get(reply, "id")) != NULL;
    for (size_t i = 0; i < json_array_size(reply); i++) {
        const json_t *r = json_array_get(reply, i);
        if (json_is_object(r) && exact_of(json_object_get(r, "id")))
            return 1;
    }
    return 0;
}

size_t hb_reply_dumpb(const json_t *reply, char *buf, size_t cap, size_t flags)
{
    if (!has_exact_id(reply))
        return json_dumpb(reply, buf, cap, flags);
    sink o = {buf, cap, 0};
    if (json_is_object(reply))
        return sink_reply(&o, reply, flags) == 0 ? o.len : 0;
    sink_put(&o, "[", 1);
    for (size_t i = 0; i < json_array_size(reply); i++) {
        if (i > 0)
            sink_put(&o, ",", 1);
        if (sink_reply(&o, json_array_get(reply, i), flags) != 0)
            return 0;
    }
    sink_put(&o, "]", 1);
    return o.len;
}

char *hb_reply_dumps(const json_t *reply, size_t flags)
{
    if (!has_exact_id(reply))
        return json_dumps(reply, flags);
    size_t n = hb_reply_dumpb(reply, NULL, 0, flags);
    char *s = n ? malloc(n + 1) : NULL;
    if (s && hb_reply_dumpb(reply, s, n, flags) == n) {
        s[n] = '\0';
        return s;
    }
    free(s);
    return NULL;
}
