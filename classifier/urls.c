/*
 * urls.c - canonical form of a link and its registrable domain.
 *
 * The idea
 * --------
 * Two spellings of one link must give one feature and one feed lookup, so a
 * link found in a message is rewritten to a canonical form before anything
 * looks at it.  libcurl's URL API does the parsing, because its parser is
 * the one that decides where a real client would connect (the userinfo
 * trick "http://www.icbc.com@evil.cn/" has host evil.cn for curl as for a
 * browser), and libpsl gives the registrable domain from the public suffix
 * list compiled into it.
 *
 * Steps, and who does each
 * ------------------------
 *   1. Scheme: text without "scheme://" gets "http://" in front (we do
 *      this rather than CURLU_GUESS_SCHEME, whose guesses - ftp.x.com is
 *      ftp - are curl's command-line habits, not a browser's).  Unknown
 *      schemes (alipays://, weixin://) are accepted
 *      (CURLU_NON_SUPPORT_SCHEME); their "host" is whatever sits after //.
 *   2. curl parses, percent-encodes raw spaces and non-ASCII bytes in the
 *      path and query (CURLU_URLENCODE), resolves "." and ".." segments,
 *      rejects bad ports (> 65535, not digits) and bad IPv6 literals, and
 *      rewrites numeric IPv4 hosts to dotted quads: 3232235777,
 *      0xC0A80101 and 0300.0250.1.1 all become 192.168.1.1, and a short
 *      form like 192.168.1 becomes 192.168.0.1, as inet_aton reads them.
 *      It decodes %XX in the host ("ex%41mple.com" is exAmple.com) but
 *      does NOT lower-case the host, and leaves oddities a browser would
 *      reject ("a..b.com", "-abc.com", "999.1.1.1" as a name): they pass
 *      through as names.
 *   3. We lower-case the host, drop trailing dots ("example.com." is
 *      example.com; a host of dots only is no host) and convert an
 *      internationalised host to punycode with curl's CURLU_PUNYCODE
 *      (libidn2 underneath).  libidn2 reads the host in the locale's
 *      character set - in the default "C" locale curl 7.88 fails every
 *      non-ASCII host with "out of memory" - so the conversion runs under
 *      a thread-local C.UTF-8 locale (uselocale), never touching the
 *      process's locale.  That costs ~60 us per IDN link (newlocale);
 *      ASCII links take ~2 us.  The rebuilt URL is parsed again until
 *      stable (see the loop in hb_url_parse), so the result is canonical:
 *      parsing it gives it back.
 *   4. curl writes the URL back without the scheme's default port
 *      (CURLU_NO_DEFAULT_PORT).  We then normalise percent-escapes after
 *      the authority as RFC 3986 6.2.2 says: escapes of unreserved
 *      characters are decoded ("%7e" -> "~", "%41" -> "A") and the hex of
 *      every other escape is upper-cased ("%e4" -> "%E4"); curl does
 *      neither.  "%2E" stays encoded, since decoding it after curl has
 *      resolved dot-segments would create new ones, and a '%' that starts
 *      no escape becomes "%25".
 *   5. IPv4 (dotted quad after curl's rewriting) and IPv6 ("[...]", kept
 *      with its brackets as in the URL) hosts are flagged and are their
 *      own domain.  Otherwise the domain is libpsl's registrable domain;
 *      when there is none - the host is itself a public suffix ("github.io",
 *      "com.cn") or a single label ("localhost") - it is the host.
 *
 * Precondition: curl_global_init() has been called, once, by the process
 * (hubao and hubaod do it at start; the unit tests do it in main).  This
 * module never calls it: it is not thread-safe and belongs to main().
 */
#include "urls.h"
#include "hex.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <libpsl.h>
#include <locale.h>
#include <string.h>

/* Longest raw link accepted.  Browsers take more, but a link longer than
 * this in a text message is an attack on us rather than a link to follow. */
#define HB_URL_MAX_INPUT 2000

/* Parses of one link before its canonical form must be stable; see
 * hb_url_parse. */
#define HB_URL_MAX_PASSES 4

/* Quote s (len bytes) for an error message in buf (cap bytes): cut at a
 * character boundary so the message stays valid UTF-8, control characters
 * and malformed bytes shown as '?', "..." appended when cut.  Returns buf. */
static const char *excerpt(const char *s, size_t len, char *buf, size_t cap)
{
    size_t max = cap > 4 ? cap - 4 : 0, n = 0, i = 0;
    while (i < len && n < max) {
        unsigned char c = (unsigned char)s[i];
        size_t step = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        if (n + step > max)
            break;
        /* a sequence that is cut short or malformed counts as one bad
         * byte, so the excerpt stays valid UTF-8 */
        for (size_t k = 1; k < step; k++) {
            if (i + k >= len || ((unsigned char)s[i + k] & 0xc0) != 0x80)
                step = 1;
        }
        if (step == 1 && (c < 0x20 || c == 0x7f || c >= 0x80)) {
            buf[n++] = '?';
        } else {
            memcpy(buf + n, s + i, step);
            n += step;
        }
        i += step;
    }
    if (i < len && n + 3 < cap) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    if (cap > 0)
        buf[n < cap ? n : cap - 1] = '\0';
    return buf;
}

/* True if raw starts with "scheme://" (RFC 3986 scheme syntax). */
static int has_scheme(const char *raw, size_t len)
{
    size_t i = 0;
    if (len == 0 || !((raw[0] | 0x20) >= 'a' && (raw[0] | 0x20) <= 'z'))
        return 0;
    for (i = 1; i < len; i++) {
        char c = raw[i];
        int ok = ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') ||
                 c == '+' || c == '-' || c == '.';
        if (!ok)
            break;
    }
    return len - i >= 3 && memcmp(raw + i, "://", 3) == 0;
}

static int is_unreserved(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

/* Copy url to dst (cap bytes) applying RFC 3986 6.2.2.1-2 to everything
 * after the authority: escapes of unreserved characters decoded, the hex
 * of other escapes upper-cased, and a '%' that starts no escape written as
 * "%25" - otherwise decoding "%%66" would make a new escape "%f...", and
 * the result would change when parsed again.  Returns 0, or -1 if the
 * result does not fit. */
static int normalise_escapes(const char *url, char *dst, size_t cap)
{
    static const char digits[] = "0123456789ABCDEF";
    const char *r = strstr(url, "://");
    r = r ? r + 3 : url;
    r += strcspn(r, "/?#");
    size_t n = (size_t)(r - url);
    if (n >= cap)
        return -1;
    memcpy(dst, url, n);
    while (*r) {
        char esc[3];
        size_t w = 1;
        int hi = r[0] == '%' ? hb_hex_value(r[1]) : -1;
        int lo = hi >= 0 ? hb_hex_value(r[2]) : -1;
        if (r[0] != '%') {
            esc[0] = *r++;
        } else if (lo < 0) {
            esc[0] = '%'; /* "%25": three bytes, no NUL */
            esc[1] = '2';
            esc[2] = '5';
            w = 3;
            r++;
        } else if (is_unreserved(hi * 16 + lo) && hi * 16 + lo != '.') {
            /* "%2E" stays encoded: curl has already resolved dot-segments
             * and decoding it now would create new ones ("/%2e/" ->
             * "/./"). */
            esc[0] = (char)(hi * 16 + lo);
            r += 3;
        } else {
            esc[0] = '%';
            esc[1] = digits[hi];
            esc[2] = digits[lo];
            w = 3;
            r += 3;
        }
        if (n + w >= cap)
            return -1;
        memcpy(dst + n, esc, w);
        n += w;
    }
    dst[n] = '\0';
    return 0;
}

/* Ask curl for the host in punycode.  For a non-ASCII host the conversion
 * needs a UTF-8 LC_CTYPE (libidn2 decodes the host from the locale's
 * charset); the calling thread gets one for the duration of the call. */
static CURLUcode get_host(CURLU *u, int ascii, char **host)
{
#ifdef CURLU_PUNYCODE
    unsigned int flags = CURLU_PUNYCODE;
#else
    unsigned int flags = 0;
#endif
    if (ascii)
        return curl_url_get(u, CURLUPART_HOST, host, flags);

    static const char *const names[] = {"C.UTF-8", "C.utf8", "en_US.UTF-8"};
    locale_t utf8 = (locale_t)0;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !utf8; i++)
        utf8 = newlocale(LC_CTYPE_MASK, names[i], (locale_t)0);
    if (!utf8)
        return CURLUE_LACKS_IDN;
    locale_t old = uselocale(utf8);
    CURLUcode rc = curl_url_get(u, CURLUPART_HOST, host, flags);
    uselocale(old);
    freelocale(utf8);
    return rc;
}

static int host_is_ip(const char *host)
{
    unsigned char addr[4];
    return host[0] == '[' || inet_pton(AF_INET, host, addr) == 1;
}

/* Copy s into dst (cap bytes); -1 if it does not fit. */
static int copy(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap)
        return -1;
    memcpy(dst, s, n + 1);
    return 0;
}

int hb_url_parse(const char *raw, size_t len, hb_url *out, hb_error *err)
{
    char quoted[128];
    char buf[HB_URL_MAX_INPUT + sizeof "http://"];
    if (!out)
        return hb_error_set(err, HB_EINVAL, "url: no output given");
    out->url[0] = out->host[0] = out->domain[0] = '\0';
    out->host_is_ip = 0;
    if (!raw || len == 0)
        return hb_error_set(err, HB_EINVAL, "url: empty link");
    if (len > HB_URL_MAX_INPUT)
        return hb_error_set(err, HB_EINVAL,
                            "url: link of %zu bytes is over the %d-byte limit "
                            "(\"%s\")",
                            len, HB_URL_MAX_INPUT, excerpt(raw, len, quoted, 40));
    if (memchr(raw, '\0', len))
        return hb_error_set(err, HB_EINVAL, "url: link contains a NUL byte");

    int ascii = 1;
    for (size_t i = 0; i < len && ascii; i++)
        ascii = (unsigned char)raw[i] < 0x80;
    const char *prefix = has_scheme(raw, len)                           ? ""
                         : (len >= 2 && raw[0] == '/' && raw[1] == '/') ? "http:"
                                                                        : "http://";
    size_t plen = strlen(prefix);
    memcpy(buf, prefix, plen);
    memcpy(buf + plen, raw, len);
    buf[plen + len] = '\0';

    CURLU *u = curl_url();
    if (!u)
        return hb_error_set(err, HB_ENOMEM, "url: out of memory");

    int rc = HB_OK;
    char *host = NULL, *url = NULL, *prev = NULL;
    CURLUcode uc =
        curl_url_set(u, CURLUPART_URL, buf, CURLU_NON_SUPPORT_SCHEME | CURLU_URLENCODE);
    if (uc == CURLUE_BAD_PORT_NUMBER) {
        rc = hb_error_set(err, HB_EINVAL,
                          "url: bad port in \"%s\" (must be a number from 0 "
                          "to 65535)",
                          excerpt(raw, len, quoted, sizeof quoted));
        goto done;
    }
    if (uc == CURLUE_NO_HOST) {
        rc = hb_error_set(err, HB_EINVAL, "url: no host in \"%s\"",
                          excerpt(raw, len, quoted, sizeof quoted));
        goto done;
    }
    if (uc != CURLUE_OK) {
        rc =
            hb_error_set(err, HB_EINVAL, "url: cannot parse \"%s\": %s",
                         excerpt(raw, len, quoted, sizeof quoted), curl_url_strerror(uc));
        goto done;
    }

    /* curl reads a host once: it recognises numeric IPv4 forms before it
     * decodes %XX ("1%31163" stays the name "11163", while "11163" is the
     * address 0.0.43.155), and we strip trailing dots after it ("1." is a
     * name, "1" an address).  So the rebuilt URL is parsed again until it
     * no longer changes - twice for almost every link.  The pass limit
     * only guarantees the loop ends: curl re-encodes a '%' left in a host,
     * so even nested encodings ("%2531") settle by the second pass. */
    for (int pass = 0;; pass++) {
        uc = get_host(u, ascii, &host);
        if (uc == CURLUE_NO_HOST || (uc == CURLUE_OK && host[0] == '\0')) {
            rc = hb_error_set(err, HB_EINVAL, "url: no host in \"%s\"",
                              excerpt(raw, len, quoted, sizeof quoted));
            goto done;
        }
        if (uc != CURLUE_OK) {
            /* curl 7.88 reports a libidn2 refusal as "out of memory"; the
             * likely cause is a host that is not a valid IDNA name. */
            rc = hb_error_set(err, HB_EINVAL,
                              "url: host of \"%s\" cannot be converted to "
                              "punycode (not a valid internationalised name, "
                              "or no UTF-8 locale): %s",
                              excerpt(raw, len, quoted, sizeof quoted),
                              curl_url_strerror(uc));
            goto done;
        }
        size_t hlen = strlen(host);
        for (size_t i = 0; i < hlen; i++) {
            if (host[i] >= 'A' && host[i] <= 'Z')
                host[i] = (char)(host[i] - 'A' + 'a');
        }
        while (hlen > 0 && host[hlen - 1] == '.')
            host[--hlen] = '\0';
        if (hlen == 0) {
            rc = hb_error_set(err, HB_EINVAL, "url: no host in \"%s\"",
                              excerpt(raw, len, quoted, sizeof quoted));
            goto done;
        }
        if (copy(out->host, sizeof out->host, host) < 0) {
            rc = hb_error_set(err, HB_EINVAL,
                              "url: host of %zu bytes in \"%s\" is over the "
                              "%zu-byte limit",
                              hlen, excerpt(raw, len, quoted, sizeof quoted),
                              sizeof out->host - 1);
            goto done;
        }
        /* Put the canonical host back so the URL curl writes carries it. */
        uc = curl_url_set(u, CURLUPART_HOST, out->host, 0);
        if (uc == CURLUE_OK)
            uc = curl_url_get(u, CURLUPART_URL, &url, CURLU_NO_DEFAULT_PORT);
        if (uc == CURLUE_OK && prev && strcmp(prev, url) == 0)
            break;
        if (uc == CURLUE_OK && pass + 1 == HB_URL_MAX_PASSES) {
            rc = hb_error_set(err, HB_EINVAL,
                              "url: host of \"%s\" changes each time it is "
                              "decoded (nested percent-encoding)",
                              excerpt(raw, len, quoted, sizeof quoted));
            goto done;
        }
        if (uc == CURLUE_OK)
            uc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
        if (uc != CURLUE_OK) {
            rc = hb_error_set(err, HB_EINVAL, "url: cannot rebuild \"%s\": %s",
                              excerpt(raw, len, quoted, sizeof quoted),
                              curl_url_strerror(uc));
            goto done;
        }
        curl_free(host);
        curl_free(prev);
        prev = url;
        host = url = NULL;
        ascii = 1;
    }
    if (normalise_escapes(url, out->url, sizeof out->url) < 0) {
        rc = hb_error_set(err, HB_EINVAL, "url: \"%s\" is over %zu bytes once normalised",
                          excerpt(raw, len, quoted, sizeof quoted), sizeof out->url - 1);
        goto done;
    }

    out->host_is_ip = host_is_ip(out->host);
    const psl_ctx_t *psl = psl_builtin();
    const char *domain = NULL;
    if (!out->host_is_ip && psl)
        domain = psl_registrable_domain(psl, out->host);
    /* domain points into out->host, which is shorter than out->domain */
    copy(out->domain, sizeof out->domain, domain ? domain : out->host);

done:
    curl_free(host);
    curl_free(url);
    curl_free(prev);
    curl_url_cleanup(u);
    if (rc != HB_OK)
        out->url[0] = out->host[0] = out->domain[0] = '\0';
    return rc;
}
