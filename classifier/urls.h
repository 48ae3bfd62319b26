/*
 * urls.h - canonical form of a URL found in a message, and its registrable
 * domain.
 *
 * Parsing and normalisation use libcurl's URL API (curl_url): scheme added
 * when missing (http), host lower-cased and converted to punycode (IDNA),
 * default port dropped, path dot-segments resolved, percent-encoding
 * normalised.  The registrable domain ("example.co.uk" for
 * "a.b.example.co.uk") comes from libpsl's built-in public suffix list.
 *
 * Not in the per-message hot path's no-allocation promise: curl_url
 * allocates, but only for the few links a message carries.
 */
#ifndef HB_URLS_H
#define HB_URLS_H

#include <stddef.h>

#include "error.h"

typedef struct hb_url {
    char url[2048];   /* normalised URL */
    char host[256];   /* lower-case host (punycode), or IP literal */
    char domain[256]; /* registrable domain; host itself for IPs */
    int host_is_ip;   /* 1 if host is an IPv4/IPv6 literal */
} hb_url;

/* Normalise len bytes of raw (as found in normalised message text: may lack
 * a scheme, may carry trailing punctuation already trimmed by the caller).
 * Returns 0, or HB_EINVAL with err naming what is wrong (no host, bad
 * port, too long). */
int hb_url_parse(const char *raw, size_t len, hb_url *out, hb_error *err);

#endif
