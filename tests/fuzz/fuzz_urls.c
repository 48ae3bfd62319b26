/*
 * fuzz_urls.c - libFuzzer target for hb_url_parse.
 *
 * Links come straight from untrusted messages, so the parser must never
 * crash, overrun its fixed-size fields or return a half-filled result.
 * Beyond "no sanitizer report" this checks what a caller relies on:
 *   - success means a non-empty URL, host and domain, all NUL-terminated
 *     inside their fields, a host in lower case, and a domain that is the
 *     host or a suffix of it;
 *   - failure means HB_EINVAL with a message and empty fields;
 *   - normalising is idempotent: parsing the normalised URL gives it back
 *     (when it is still within the input limit).
 *
 * Built and run by `make fuzz` on tests/fuzz/corpus/urls (and for a few
 * seconds by `make test`).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "urls.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* hb_url_parse's precondition: the process initialises curl. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        abort();
    return 0;
}

static void check_terminated(const char *field, size_t cap)
{
    if (!memchr(field, '\0', cap))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hb_url u;
    hb_error err;
    hb_error_clear(&err);
    int rc = hb_url_parse((const char *)data, size, &u, &err);
    check_terminated(u.url, sizeof u.url);
    check_terminated(u.host, sizeof u.host);
    check_terminated(u.domain, sizeof u.domain);
    check_terminated(err.message, sizeof err.message);
    if (rc != 0) {
        if (rc != HB_EINVAL && rc != HB_ENOMEM)
            abort();
        if (err.code != rc || err.message[0] == '\0' || u.url[0] || u.host[0])
            abort();
        return 0;
    }
    if (!u.url[0] || !u.host[0] || !u.domain[0])
        abort();
    for (const char *p = u.host; *p; p++) {
        if (*p >= 'A' && *p <= 'Z')
            abort();
    }
    size_t hl = strlen(u.host), dl = strlen(u.domain);
    if (dl > hl || strcmp(u.host + hl - dl, u.domain) != 0)
        abort();

    /* Percent-encoding can take a link past the 2000-byte input limit;
     * such a result is valid but cannot be fed back in. */
    if (strlen(u.url) > 2000)
        return 0;
    hb_url again;
    if (hb_url_parse(u.url, strlen(u.url), &again, &err) != 0 ||
        strcmp(again.url, u.url) != 0 || strcmp(again.host, u.host) != 0 ||
        again.host_is_ip != u.host_is_ip)
        abort();
    return 0;
}
