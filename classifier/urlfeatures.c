/*
 * urlfeatures.c - lexical link features (see urlfeatures.h).
 *
 * Numeric features are squashed to about 0..1 so that one SVM weight scale
 * suits them all; per-message names (the TLD, a brand, a token) are hashed
 * by their full text and labelled with a fixed name for explanations.
 */
#include "urlfeatures.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Brands phishing pages imitate, as they appear in hostnames.  A brand in
 * the host or path while the registrable domain is not the brand's own is
 * the classic phishing tell. */
static const char *const BRANDS[] = {
    "paypal",     "apple",         "icloud",   "amazon",   "microsoft",
    "office365",  "outlook",       "netflix",  "google",   "facebook",
    "instagram",  "whatsapp",      "ebay",     "dropbox",  "chase",
    "wellsfargo", "bankofamerica", "hsbc",     "barclays", "usps",
    "dhl",        "fedex",         "irs",      "hmrc",     "icbc",
    "ccb",        "boc",           "abchina",  "cmbchina", "bankcomm",
    "psbc",       "alipay",        "taobao",   "tmall",    "jd",
    "weixin",     "wechat",        "qq",       "95588",    "95599",
    "10086",      "chinamobile",   "unionpay", "etc",
};

/* Words phishing and malware paths like to carry. */
static const char *const TOKENS[] = {
    "login",   "signin",  "logon",   "verify", "verification", "secure",      "account",
    "update",  "banking", "confirm", "webscr", "password",     "wallet",      "bonus",
    "free",    "lucky",   "prize",   "admin",  "wp-content",   "wp-includes", "includes",
    "invoice", "payment", "refund",  "unlock", "suspend",      "recover",     ".exe",
    ".apk",    ".zip",    ".php",    "cmd=",   "index.php",    "download",
};

/* Link shorteners hide the destination. */
static const char *const SHORTENERS[] = {
    "t.cn",   "bit.ly", "tinyurl.com", "goo.gl",  "ow.ly",      "t.co",    "dwz.cn",
    "url.cn", "suo.im", "is.gd",       "buff.ly", "rebrand.ly", "cutt.ly",
};

static float squash(double x, double scale)
{
    return (float)(log1p(x) / log1p(scale));
}

static double entropy(const char *s, size_t n)
{
    unsigned count[256] = {0};
    for (size_t i = 0; i < n; i++)
        count[(unsigned char)s[i]]++;
    double h = 0;
    for (int c = 0; c < 256; c++)
        if (count[c]) {
            double p = (double)count[c] / (double)n;
            h -= p * log2(p);
        }
    return h;
}

static int add(const hb_feature_config *cfg, hb_fvec *v, const char *name, float value)
{
    return value != 0.0f ? hb_fvec_add_named(cfg, v, name, value) : 0;
}

/* "url:tld=top" style features, hashed by their full text. */
static int add_keyed(const hb_feature_config *cfg, hb_fvec *v, const char *prefix,
                     const char *what, size_t len, const char *label)
{
    char key[128];
    int n = snprintf(key, sizeof key, "%s%.*s", prefix, (int)len, what);
    if (n <= 0 || (size_t)n >= sizeof key)
        return 0;
    return hb_fvec_add_keyed(cfg, v, key, (size_t)n, label, 1.0f);
}

int hb_url_features(const hb_feature_config *cfg, const hb_url *u, hb_text *scratch,
                    hb_fvec *v)
{
    /* the link without its scheme, as text */
    const char *rest = strstr(u->url, "://");
    rest = rest ? rest + 3 : u->url;
    int rc = hb_normalize(rest, strlen(rest), scratch, NULL);
    if (rc == 0)
        rc = hb_features_text(cfg, scratch, v);
    if (rc != 0)
        return rc;

    const char *host = u->host;
    size_t hlen = strlen(host), dlen = strlen(u->domain);
    const char *path = rest + (strlen(rest) >= hlen ? hlen : 0);
    size_t labels = 1, digits = 0, dashes = 0;
    for (size_t i = 0; i < hlen; i++) {
        labels += host[i] == '.';
        digits += host[i] >= '0' && host[i] <= '9';
        dashes += host[i] == '-';
    }
    size_t domain_labels = 1;
    for (size_t i = 0; i < dlen; i++)
        domain_labels += u->domain[i] == '.';
    size_t depth = 0, params = 0;
    for (const char *p = path; *p; p++) {
        depth += *p == '/';
        params += *p == '&' || *p == '?';
    }

    if ((rc = add(cfg, v, "url:ip_host", u->host_is_ip ? 1.0f : 0.0f)) ||
        (rc = add(
             cfg, v, "url:subdomains",
             squash((double)(labels > domain_labels ? labels - domain_labels : 0), 5))) ||
        (rc = add(cfg, v, "url:length", squash((double)strlen(rest), 200))) ||
        (rc = add(cfg, v, "url:path_depth", squash((double)depth, 10))) ||
        (rc = add(cfg, v, "url:query_params", squash((double)params, 10))) ||
        (rc = add(cfg, v, "url:host_digits", hlen ? (float)digits / (float)hlen : 0)) ||
        (rc = add(cfg, v, "url:host_dashes", squash((double)dashes, 5))) ||
        (rc = add(cfg, v, "url:host_entropy",
                  hlen ? (float)(entropy(host, hlen) / 5.0) : 0)) ||
        (rc = add(cfg, v, "url:at_sign", strchr(rest, '@') ? 1.0f : 0.0f)) ||
        (rc = add(cfg, v, "url:punycode", strstr(host, "xn--") ? 1.0f : 0.0f)))
        return rc;

    if (!u->host_is_ip) {
        const char *tld = strrchr(host, '.');
        tld = tld ? tld + 1 : host;
        if ((rc = add_keyed(cfg, v, "url:tld=", tld, strlen(tld), "url:tld")))
            return rc;
    }
    for (size_t i = 0; i < sizeof BRANDS / sizeof BRANDS[0]; i++) {
        size_t bl = strlen(BRANDS[i]);
        int in_domain = strncmp(u->domain, BRANDS[i], bl) == 0 &&
                        (u->domain[bl] == '.' || u->domain[bl] == '\0');
        if (!in_domain &&
            (strstr(host, BRANDS[i]) || (bl > 3 && strstr(path, BRANDS[i]))) &&
            (rc = add_keyed(cfg, v, "url:brand_outside=", BRANDS[i], bl,
                            "url:brand outside its own domain")))
            return rc;
    }
    for (size_t i = 0; i < sizeof TOKENS / sizeof TOKENS[0]; i++)
        if (strstr(rest, TOKENS[i]) &&
            (rc = add_keyed(cfg, v, "url:token=", TOKENS[i], strlen(TOKENS[i]),
                            "url:suspicious word")))
            return rc;
    for (size_t i = 0; i < sizeof SHORTENERS / sizeof SHORTENERS[0]; i++)
        if (strcmp(u->domain, SHORTENERS[i]) == 0 || strcmp(host, SHORTENERS[i]) == 0)
            return add(cfg, v, "url:shortener", 1.0f);
    return 0;
}
