/*
 * entities.c - find links, phone numbers, account numbers, amounts and
 * messenger handles in normalised message text.
 *
 * The idea
 * --------
 * Each entity kind has one PCRE2 pattern, compiled and JIT-compiled once in
 * hb_entities_new.  hb_entities_find runs the five patterns side by side as
 * a merge: every kind keeps its next match at or after the current position;
 * the earliest of those wins (the longest on a tie, then the lower kind
 * number, so PHONE beats ACCOUNT on a digit run that both accept), it is
 * emitted, the position jumps to its end, and only kinds whose pending match
 * now lies behind the position search again.  Every search starts where the
 * last entity ended, so a text is scanned about once per kind whatever it
 * holds, and nothing overlaps: digits inside a URL belong to the URL.
 *
 * Why patterns are written the way they are
 * -----------------------------------------
 *   - Input is normalised (normalize.h): lower case, ASCII digits and ASCII
 *     punctuation for full-width forms.  Patterns are still compiled
 *     caseless so raw text is handled too, but they use [0-9] and never \d:
 *     under PCRE2_UCP \d would accept Arabic-Indic and other digits that
 *     hb_entity_mask (which counts ASCII digits) could not mask.
 *   - Every digit form is anchored by (?<![0-9]) ... (?![0-9]): a phone or
 *     card number is never a slice of a longer digit run.
 *   - Hostile input must not blow up.  Repetitions are bounded or
 *     possessive, and the bare-domain pattern reads a whole dotted run
 *     possessively and then checks its last label against the TLD table
 *     with a lookbehind, instead of backtracking through 'a.a.a.a...' label
 *     by label.  The match limit in the scratch is the backstop: a kind
 *     whose search hits it simply yields no more entities for that text.
 *
 * What is deliberately not matched
 * --------------------------------
 *   - E-mail addresses: the domain after '@' (and a name.tld right before
 *     '@') is not a URL.  A phone number used as a mailbox name
 *     ("13812345678@163.com") is still found as a phone.
 *   - Bare IPv4 addresses without a scheme ("1.2.3.4/x"): too easily a
 *     version number.  With a scheme they are URLs like any other.
 *   - Bare names whose last label is not in the small TLD table below, so
 *     "3.5", "a.txt", "x.jpg" and "v1.2.3" are not links.  A dotted run is
 *     judged as a whole: "abc.com.then" is not a link either (the price of
 *     linear-time matching; real messages put a space or CJK text after a
 *     domain).
 *   - Internationalised host names only with an explicit scheme and a CJK
 *     top-level domain ("http://例子.中国/"); otherwise a URL ends at the
 *     first non-ASCII character, because "http://abc.cn领取" is far more
 *     common in scam text than a Chinese host name.
 *   - Amounts written in Chinese numerals ("五千元"): too ambiguous with
 *     ordinary words to match without a parser.
 *   - Any 12-19 digit run that is not a phone number is an ACCOUNT, so
 *     order numbers and timestamps are accounts too; the model weighs them.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "entities.h"

#include <ctype.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bounds on one search.  The match limit is far above what any real
 * message needs (a few thousand) but stops pathological backtracking; the
 * JIT stack is fixed so matching never allocates. */
#define HB_ENTITIES_MATCH_LIMIT 1000000u
#define HB_ENTITIES_JIT_STACK_START ((size_t)32 * 1024)
#define HB_ENTITIES_JIT_STACK_MAX ((size_t)512 * 1024)

/* Longest pattern source we build (the URL pattern with its TLD tables). */
#define HB_ENTITIES_PATTERN_MAX 4096

struct hb_entities {
    pcre2_code *re[HB_ENTITY_KINDS];
    /* byte_traits[b]: what byte b may start (BYTE_ flags), so that
     * read_traits passes over most bytes with one lookup */
    unsigned char byte_traits[256];
};

/* What a byte may start, for read_traits (hb_entities.byte_traits). */
enum {
    BYTE_DIGIT = 1,
    BYTE_DOT = 2,       /* '.' of "a.b" */
    BYTE_COLON = 4,     /* ':' of "://" */
    BYTE_NAME_LEAD = 8, /* the first byte of a messenger name */
};

struct hb_entities_scratch {
    pcre2_match_data *match;
    pcre2_match_context *context;
    pcre2_jit_stack *jit_stack;
};

/* ---------------------------------------------------------------------
 * Tables.  Small and curated on purpose: each entry is a judgement about
 * what appears in Chinese and English scam traffic, not a copy of the
 * IANA root zone.
 * ------------------------------------------------------------------- */

/* Top-level domains a bare name ("icbc-vip.top/login") may end in.  File
 * extensions are left out (no zip, mov, txt, jpg), as are TLDs that collide
 * with common words in mixed text (it, to, in, id). */
static const char *const tlds[] = {
    "com",     "net",  "org",   "edu",   "gov",   "info",   "biz",   "mobi",   "asia",
    "pro",     "cn",   "hk",    "tw",    "mo",    "jp",     "kr",    "sg",     "my",
    "th",      "vn",   "ph",    "la",    "uk",    "ru",     "de",    "fr",     "eu",
    "nl",      "us",   "ca",    "au",    "br",    "cc",     "io",    "me",     "co",
    "tv",      "ws",   "su",    "ly",    "gd",    "gl",     "tk",    "ml",     "ga",
    "cf",      "gq",   "top",   "xyz",   "vip",   "shop",   "club",  "online", "site",
    "live",    "app",  "link",  "icu",   "buzz",  "win",    "bid",   "loan",   "work",
    "ltd",     "tech", "store", "fun",   "ink",   "wang",   "ren",   "xin",    "cyou",
    "bond",    "sbs",  "cfd",   "lol",   "rest",  "click",  "today", "world",  "space",
    "website", "host", "press", "love",  "life",  "cloud",  "one",   "vin",    "run",
    "red",     "pub",  "plus",  "group", "email", "center", "chat",
};

/* Chinese top-level domains accepted after an explicit scheme. */
static const char *const idn_tlds[] = {
    "中国", "中國", "公司", "网络", "網絡", "香港", "台湾", "台灣", "澳门",   "澳門",
    "在线", "网址", "网店", "商城", "集团", "手机", "游戏", "企业", "我爱你", "新加坡",
};

/* Messenger names.  A CJK name may be followed directly by the id
 * ("加微信abc123"; "加v" is how spam writes 加微信 when normalisation's
 * V信 -> 微信 fold has nothing to act on); an ASCII name must stand alone as a word and,
 * unless a
 * ':' '=' or '@' introduces the id, the id must contain a digit - so "line
 * breaks" and "tg group" are not handles but "line:abcdef", "wx abc123" and
 * "tg @scamguy" are.  hb_entity_mask reads the same tables to find where the
 * id starts. */
static const char *const handle_cjk[] = {
    "微信",
    "电报",
    "飞机",
    "加v",
};
static const char *const handle_ascii[] = {
    "wechat", "weixin", "wx", "vx", "qq", "telegram", "tg", "whatsapp", "line", "skype",
};
/* Words that may sit between the messenger name and the id: "微信号",
 * "qq群", "telegram id".  Longest first, as PCRE2 tries them in order. */
static const char *const handle_words[] = {
    "号码", "群号", "账号", "帐号", "号", "群", "id",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------------
 * Pattern sources.
 * ------------------------------------------------------------------- */

/* A character that may continue a URL after its host: printable ASCII
 * except space, quotes, angle brackets, backslash and backquote.  Anything
 * non-ASCII (CJK text, CJK punctuation, emoji) ends the URL. */
#define URLCHAR "[!#-&(-;=?-\\[\\]-_a-~]"
/* A host label as scam text writes it (no length or hyphen rules: curl and
 * urls.c judge validity later). */
#define LABEL "[a-z0-9][a-z0-9-]*+"
/* Optional :port (not taken if more digits follow) and /path, ?query or
 * #fragment. */
#define PORT_PATH "(?::[0-9]{1,5}(?![0-9]))?(?:[/?#]" URLCHAR "*+)?"

/* An amount: 1,000.50 or 5000 or 3.5, not followed by more of a number. */
#define AMOUNT                                                                           \
    "(?:[0-9]{1,3}(?:,[0-9]{3}){1,4}|[0-9]{1,12})(?:\\.[0-9]{1,2})?"                     \
    "(?![0-9]|[.,][0-9])"

static const char phone_pattern[] =
    "(?<![0-9+])(?:"
    /* mainland mobile, optional +86 / 0086 / 86, separators 3-4-4 */
    "(?:(?:\\+|00)?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}"
    /* a mobile already masked by the sender: 138****5678 */
    "|1[3-9][0-9][*x]{4}[0-9]{4}"
    /* 400 / 800 service numbers */
    "|[48]00[ -]?[0-9]{3}[ -]?[0-9]{4}"
    /* mainland landline: area code 0xx(x), 7-8 digit number */
    "|0[1-9][0-9]{1,2}(?: ?- ?| )?[0-9]{7,8}"
    /* international: + or 00, country code, 8-15 digits in all */
    "|(?:\\+|00)[1-9](?:[ -]?[0-9]){7,14}"
    /* North American (415) 555-2671 and 415-555-2671 */
    "|\\([0-9]{3}\\) ?[0-9]{3}-[0-9]{4}"
    "|[2-9][0-9]{2}-[0-9]{3}-[0-9]{4}"
    /* UK mobile 07911 123456 */
    "|07[0-9]{3} ?[0-9]{6}"
    ")(?![0-9])";

static const char account_pattern[] =
    "(?<![0-9])(?:"
    "[0-9]{12,19}"
    /* printed in groups of four: 6222 0212 3456 7890 */
    "|[0-9]{4}(?:[ -][0-9]{4}){2,3}(?:[ -][0-9]{1,3})?"
    /* masked: 6228xxxxxxxx1234, 6228****1234, 6228 **** **** 1234 */
    "|[0-9]{4,6}(?: ?[*x\\x{2022}]{2,12}+){1,4}+ ?[0-9]{4}"
    ")(?![0-9])";

static const char money_pattern[] =
    /* currency first: ¥100, $20.5, rmb 500, usd20, ¥5万 */
    "(?<![a-z])(?:[\\x{a5}\\x{ffe5}$\\x{a3}\\x{20ac}]|rmb|cny|usd|hkd|us\\$|hk\\$)"
    " ?" AMOUNT "(?:万元|千元|百元|万|亿|[kw](?![a-z]))?(?:元)?"
    /* amount first: 100元, 3.5元, 3万, 20 usd, 5 dollars */
    "|(?<![0-9.,])" AMOUNT
    " ?(?:万元|千元|百元|亿元|万块|千块|百块|美元|美金|英镑|欧元|港币|港元"
    "|日元|元|块钱|块|万(?![人次个名条字户家])|亿(?![人次个名条字户家])"
    "|rmb|cny|usd|hkd|dollars?|pounds?|euros?|bucks)(?![a-z])"
    /* shorthand 5k, 2.5w (w = 万), glued to the number */
    "|(?<![0-9a-z.,_-])" AMOUNT "[kw](?![a-z0-9])";

/* Append s to buf (cap bytes) at *len; 0, or -1 if it does not fit. */
static int append(char *buf, size_t cap, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > cap)
        return -1;
    memcpy(buf + *len, s, n + 1);
    *len += n;
    return 0;
}

/* Append the entries of table joined by sep, each preceded by prefix. */
static int append_list(char *buf, size_t cap, size_t *len, const char *const *table,
                       size_t count, const char *prefix, const char *sep)
{
    for (size_t i = 0; i < count; i++) {
        if ((i > 0 && append(buf, cap, len, sep) < 0) ||
            append(buf, cap, len, prefix) < 0 || append(buf, cap, len, table[i]) < 0)
            return -1;
    }
    return 0;
}

/* The URL pattern, three alternatives sharing one kind:
 *   scheme://...    any scheme (alipays:// and weixin:// deep links are
 *                   scam favourites); body runs to the first non-URL char;
 *                   or an IDN host ending in a CJK TLD;
 *   www.host...     any TLD;
 *   bare.host.tld   last label from the TLD table, not part of an e-mail.
 * Trailing punctuation is trimmed in C (trim_url), not here, so the body
 * can be read possessively. */
static int build_url_pattern(char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    if (append(buf, cap, &len,
               "(?<![a-z0-9+.-])[a-z][a-z0-9+.-]{1,19}://(?:"
               "(?:[\\p{L}\\p{N}][\\p{L}\\p{N}-]{0,62}\\.){1,8}(?:") < 0 ||
        append_list(buf, cap, &len, idn_tlds, COUNT(idn_tlds), "", "|") < 0 ||
        append(buf, cap, &len,
               ")(?![a-z0-9-])" PORT_PATH "|[a-z0-9\\[]" URLCHAR "*+)"
               "|(?<![a-z0-9_%+@/.-])www[0-9]?\\." LABEL "(?:\\." LABEL ")++"
               "(?![_@])" PORT_PATH "|(?<![a-z0-9_%+@/-])(?<![a-z0-9]\\.)" LABEL
               "(?:\\." LABEL ")++(?<=") < 0 ||
        append_list(buf, cap, &len, tlds, COUNT(tlds), "\\.", "|") < 0 ||
        append(buf, cap, &len, ")(?![_@])" PORT_PATH) < 0)
        return -1;
    return 0;
}

static int build_handle_pattern(char *buf, size_t cap)
{
    static const char id[] = "[a-z0-9][a-z0-9_-]{4,19}(?![a-z0-9_-])";
    size_t len = 0;
    buf[0] = '\0';
    /* sep: optional " 号" / " id" word, then an optional space */
    if (append(buf, cap, &len, "(?:(?:") < 0 ||
        append_list(buf, cap, &len, handle_cjk, COUNT(handle_cjk), "", "|") < 0 ||
        append(buf, cap, &len, ")(?: ?(?:") < 0 ||
        append_list(buf, cap, &len, handle_words, COUNT(handle_words), "", "|") < 0 ||
        append(buf, cap, &len, "))? ?(?:[:=] ?)?@?") < 0 ||
        append(buf, cap, &len, id) < 0 ||
        append(buf, cap, &len, "|(?<![a-z0-9])(?:") < 0 ||
        append_list(buf, cap, &len, handle_ascii, COUNT(handle_ascii), "", "|") < 0 ||
        append(buf, cap, &len, ")(?: ?(?:") < 0 ||
        append_list(buf, cap, &len, handle_words, COUNT(handle_words), "", "|") < 0 ||
        append(buf, cap, &len, "))? ?(?:(?:[:=] ?@?|@)") < 0 ||
        append(buf, cap, &len, id) < 0 ||
        append(buf, cap, &len, "|(?=[a-z_-]{0,19}[0-9])") < 0 ||
        append(buf, cap, &len, id) < 0 || append(buf, cap, &len, "))") < 0)
        return -1;
    return 0;
}

/* ---------------------------------------------------------------------
 * Construction.
 * ------------------------------------------------------------------- */

static pcre2_code *compile(const char *pattern, hb_entity_kind kind, hb_error *err)
{
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                      PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS | PCRE2_NEVER_BACKSLASH_C,
                      &code, &offset, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        hb_error_set(err, HB_EFORMAT,
                     "entities: %s pattern does not compile at offset %zu: %s",
                     hb_entity_kind_name(kind), (size_t)offset, (char *)msg);
        return NULL;
    }
    /* A JIT failure (no JIT on this CPU, or PCRE2 built without it) is not
     * fatal: the interpreter gives the same matches under the same match
     * limit, only slower. */
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    return re;
}

hb_entities *hb_entities_new(hb_error *err)
{
    char url[HB_ENTITIES_PATTERN_MAX];
    char handle[HB_ENTITIES_PATTERN_MAX];
    if (build_url_pattern(url, sizeof url) < 0 ||
        build_handle_pattern(handle, sizeof handle) < 0) {
        hb_error_set(err, HB_EFORMAT,
                     "entities: pattern tables exceed %d bytes; raise "
                     "HB_ENTITIES_PATTERN_MAX",
                     HB_ENTITIES_PATTERN_MAX);
        return NULL;
    }
    const char *sources[HB_ENTITY_KINDS] = {
        [HB_ENTITY_URL] = url,
        [HB_ENTITY_PHONE] = phone_pattern,
        [HB_ENTITY_ACCOUNT] = account_pattern,
        [HB_ENTITY_MONEY] = money_pattern,
        [HB_ENTITY_HANDLE] = handle,
    };

    hb_entities *ents = calloc(1, sizeof *ents);
    if (!ents) {
        hb_error_set(err, HB_ENOMEM, "entities: out of memory");
        return NULL;
    }
    for (int k = 0; k < HB_ENTITY_KINDS; k++) {
        ents->re[k] = compile(sources[k], (hb_entity_kind)k, err);
        if (!ents->re[k]) {
            hb_entities_free(ents);
            return NULL;
        }
    }
    for (int c = '0'; c <= '9'; c++)
        ents->byte_traits[c] = BYTE_DIGIT;
    ents->byte_traits['.'] = BYTE_DOT;
    ents->byte_traits[':'] = BYTE_COLON;
    for (size_t k = 0; k < COUNT(handle_cjk); k++)
        ents->byte_traits[(unsigned char)handle_cjk[k][0]] |= BYTE_NAME_LEAD;
    for (size_t k = 0; k < COUNT(handle_ascii); k++) {
        unsigned char c = (unsigned char)handle_ascii[k][0];
        ents->byte_traits[c] |= BYTE_NAME_LEAD;
        ents->byte_traits[toupper(c)] |= BYTE_NAME_LEAD;
    }
    return ents;
}

void hb_entities_free(hb_entities *ents)
{
    if (!ents)
        return;
    for (int k = 0; k < HB_ENTITY_KINDS; k++)
        pcre2_code_free(ents->re[k]);
    free(ents);
}

hb_entities_scratch *hb_entities_scratch_new(void)
{
    hb_entities_scratch *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    /* No pattern has capture groups; one pair holds the whole match. */
    s->match = pcre2_match_data_create(1, NULL);
    s->context = pcre2_match_context_create(NULL);
    s->jit_stack = pcre2_jit_stack_create(HB_ENTITIES_JIT_STACK_START,
                                          HB_ENTITIES_JIT_STACK_MAX, NULL);
    if (!s->match || !s->context || !s->jit_stack) {
        hb_entities_scratch_free(s);
        return NULL;
    }
    pcre2_set_match_limit(s->context, HB_ENTITIES_MATCH_LIMIT);
    pcre2_jit_stack_assign(s->context, NULL, s->jit_stack);
    return s;
}

void hb_entities_scratch_free(hb_entities_scratch *scratch)
{
    if (!scratch)
        return;
    pcre2_match_data_free(scratch->match);
    pcre2_match_context_free(scratch->context);
    pcre2_jit_stack_free(scratch->jit_stack);
    free(scratch);
}

/* ---------------------------------------------------------------------
 * Matching.
 * ------------------------------------------------------------------- */

/* True if c is one of the characters of set (never for NUL). */
static int in_set(char c, const char *set)
{
    return c != '\0' && strchr(set, c) != NULL;
}

/* Drop punctuation that ends a sentence rather than a link: "see
 * http://a.cn/x." or "(http://a.cn)".  A closing bracket stays if the URL
 * opened it ("http://[::1]/", "/wiki/Foo_(bar)").  Returns the new end. */
static size_t trim_url(const char *text, size_t start, size_t end)
{
    while (end > start) {
        char c = text[end - 1];
        char open = c == ')' ? '(' : c == ']' ? '[' : c == '}' ? '{' : 0;
        if (open) {
            int depth = 0;
            for (size_t i = start; i < end; i++)
                depth += text[i] == open ? 1 : text[i] == c ? -1 : 0;
            if (depth >= 0)
                break;
        } else if (!in_set(c, ".,;:!?'\"")) {
            break;
        }
        end--;
    }
    return end;
}

/* One kind's pending match in the merge. */
typedef struct candidate {
    enum { CAND_SEARCH, CAND_READY, CAND_DONE } state;
    size_t start;
    size_t end;
} candidate;

static int is_ascii_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Whether text[i] starts a link's mark (read_traits' host_dot): a '.'
 * between a label's end and a label's start, or "://". */
static int is_link_mark(const char *text, size_t len, size_t i)
{
    if (text[i] == '.')
        return i > 0 && i + 1 < len &&
               (is_ascii_alnum(text[i - 1]) || text[i - 1] == '-') &&
               is_ascii_alnum(text[i + 1]);
    return text[i] == ':' && i + 2 < len && text[i + 1] == '/' && text[i + 2] == '/';
}

/* What every match of a kind needs, read in one pass over the text: most
 * messages have no link, few digits and no messenger name, and counting
 * bytes is far cheaper than five pattern searches that cannot succeed. */
typedef struct text_traits {
    size_t digits;   /* ASCII digits: phones and accounts have at least 7 */
    int host_dot;    /* "a.b" (a label's end, a label's start) or "://": links */
    int handle_name; /* a messenger name (handle_cjk, or handle_ascii where
                        a word starts): every handle match holds one */
} text_traits;

enum { MIN_PHONE_OR_ACCOUNT_DIGITS = 7 };

/* Whether a name of handle_ascii starts at text[i] (any case, as the
 * pattern is caseless; normalised text has no other case-fold of these
 * letters, such as U+017F for s).  The first two letters are compared
 * inline: this runs at every word of the text. */
static int ascii_name_at(const char *text, size_t len, size_t i)
{
    int c0 = tolower((unsigned char)text[i]);
    int c1 = i + 1 < len ? tolower((unsigned char)text[i + 1]) : 0;
    for (size_t k = 0; k < COUNT(handle_ascii); k++) {
        const char *name = handle_ascii[k];
        if (name[0] != c0 || name[1] != c1)
            continue;
        size_t n = strlen(name);
        if (n <= len - i && strncasecmp(text + i, name, n) == 0)
            return 1;
    }
    return 0;
}

/* Whether a name of handle_cjk starts at text[i] ("加v"
 * in either case: its last byte caselessly). */
static int cjk_name_at(const char *text, size_t len, size_t i)
{
    for (size_t k = 0; k < COUNT(handle_cjk); k++) {
        const char *name = handle_cjk[k];
        if (name[0] != text[i] || i + 3 > len || memcmp(text + i, name, 3) != 0)
            continue;
        size_t n = strlen(name);
        if (n <= len - i && memcmp(text + i, name, n - 1) == 0 &&
            tolower((unsigned char)text[i + n - 1]) == (unsigned char)name[n - 1])
            return 1;
    }
    return 0;
}

static text_traits read_traits(const hb_entities *ents, const char *text, size_t len)
{
    text_traits t = {0, 0, 0};
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        unsigned traits = ents->byte_traits[c];
        if (!traits)
            continue;
        if (traits & BYTE_DIGIT)
            t.digits++;
        else if (traits & (BYTE_DOT | BYTE_COLON) && is_link_mark(text, len, i))
            t.host_dot = 1;
        if (!(traits & BYTE_NAME_LEAD) || t.handle_name)
            continue;
        if (c >= 0x80)
            t.handle_name = cjk_name_at(text, len, i);
        else if (i == 0 || !is_ascii_alnum(text[i - 1]))
            /* the pattern's (?<![a-z0-9]) before an ASCII name */
            t.handle_name = ascii_name_at(text, len, i);
    }
    return t;
}

static int may_hold(const text_traits *t, int kind)
{
    switch (kind) {
    case HB_ENTITY_PHONE:
    case HB_ENTITY_ACCOUNT: return t->digits >= MIN_PHONE_OR_ACCOUNT_DIGITS;
    case HB_ENTITY_MONEY: return t->digits > 0;
    case HB_ENTITY_URL: return t->host_dot;
    case HB_ENTITY_HANDLE: return t->handle_name;
    default: return 1;
    }
}

/* Where a search for a link at or after pos may start, or len if no link
 * can.  Every match of the URL pattern holds a mark, and what comes
 * before its first mark is scheme or host characters ([a-z0-9+.-], in
 * either case); so the first link at or after pos cannot start before
 * the run of those characters that ends at the first mark after pos.
 * Without this, PCRE2 tries the pattern at every letter of the text. */
static size_t link_search_start(const char *text, size_t len, size_t pos)
{
    /* the next '.' and ':' at or after pos, each searched for once past
     * the last: a text of many dots and no colon stays linear */
    const char *dot = memchr(text + pos, '.', len - pos);
    const char *colon = memchr(text + pos, ':', len - pos);
    size_t mark;
    for (;;) {
        const char *next = !dot ? colon : !colon || dot < colon ? dot : colon;
        if (!next)
            return len;
        mark = (size_t)(next - text);
        if (is_link_mark(text, len, mark))
            break;
        if (next == dot)
            dot = memchr(text + mark + 1, '.', len - mark - 1);
        else
            colon = memchr(text + mark + 1, ':', len - mark - 1);
    }
    while (mark > pos) {
        char b = text[mark - 1];
        if (!is_ascii_alnum(b) && b != '+' && b != '.' && b != '-')
            break;
        mark--;
    }
    return mark;
}

/* Find kind's next match at or after pos into *c. */
static void next_match(const hb_entities *ents, hb_entities_scratch *scratch, int kind,
                       const char *text, size_t len, size_t pos, candidate *c)
{
    if (kind == HB_ENTITY_URL) {
        pos = link_search_start(text, len, pos);
        if (pos >= len) {
            c->state = CAND_DONE;
            return;
        }
    }
    /* PCRE2_NO_UTF_CHECK: the caller promises valid UTF-8 (normalised text
     * is), and checking 64 KiB of text five times per message is waste. */
    int rc = pcre2_match(ents->re[kind], (PCRE2_SPTR)text, len, pos, PCRE2_NO_UTF_CHECK,
                         scratch->match, scratch->context);
    if (rc < 0) {
        /* No match, or the match limit / JIT stack ran out: either way
         * this kind has nothing more to say about this text. */
        c->state = CAND_DONE;
        return;
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(scratch->match);
    c->start = ov[0];
    c->end = ov[1];
    if (kind == HB_ENTITY_URL)
        c->end = trim_url(text, c->start, c->end);
    c->state = CAND_READY;
}

int hb_entities_find(const hb_entities *ents, hb_entities_scratch *scratch,
                     const char *text, size_t len, hb_entity *out, size_t max, size_t *n)
{
    if (n)
        *n = 0;
    if (!ents || !scratch || !n || (!text && len > 0) || (!out && max > 0) ||
        len > UINT32_MAX)
        return HB_EINVAL;
    if (len == 0 || max == 0)
        return 0;

    candidate c[HB_ENTITY_KINDS];
    text_traits traits = read_traits(ents, text, len);
    for (int k = 0; k < HB_ENTITY_KINDS; k++)
        c[k].state = may_hold(&traits, k) ? CAND_SEARCH : CAND_DONE;

    size_t pos = 0, count = 0;
    while (count < max && pos < len) {
        int best = -1;
        for (int k = 0; k < HB_ENTITY_KINDS; k++) {
            if (c[k].state == CAND_READY && c[k].start < pos)
                c[k].state = CAND_SEARCH;
            if (c[k].state == CAND_SEARCH)
                next_match(ents, scratch, k, text, len, pos, &c[k]);
            if (c[k].state != CAND_READY)
                continue;
            if (best < 0 || c[k].start < c[best].start ||
                (c[k].start == c[best].start && c[k].end > c[best].end))
                best = k;
        }
        if (best < 0)
            break;
        out[count].kind = (hb_entity_kind)best;
        out[count].start = (uint32_t)c[best].start;
        out[count].end = (uint32_t)c[best].end;
        count++;
        pos = c[best].end;
        c[best].state = CAND_SEARCH;
    }
    *n = count;
    return 0;
}

const char *hb_entity_kind_name(hb_entity_kind kind)
{
    switch (kind) {
    case HB_ENTITY_URL: return "url";
    case HB_ENTITY_PHONE: return "phone";
    case HB_ENTITY_ACCOUNT: return "account";
    case HB_ENTITY_MONEY: return "money";
    case HB_ENTITY_HANDLE: return "handle";
    default: return "unknown";
    }
}

/* ---------------------------------------------------------------------
 * Masking.
 * ------------------------------------------------------------------- */

/* Bytes in the UTF-8 sequence that starts with byte b (1 for stray bytes,
 * so a malformed string still advances). */
static size_t utf8_len(unsigned char b)
{
    return b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
}

/* Output buffer that never overflows and never splits a character: once
 * something does not fit, everything after is dropped. */
typedef struct sink {
    char *out;
    size_t cap;
    size_t len;
    int full;
} sink;

static void put(sink *s, const char *p, size_t n)
{
    if (n == 0)
        return;
    if (s->full || s->len + n + 1 > s->cap) {
        s->full = 1;
        return;
    }
    memcpy(s->out + s->len, p, n);
    s->len += n;
}

static int is_mask_char(const char *p, size_t left)
{
    return *p == '*' || *p == 'x' || *p == 'X' ||
           (left >= 3 && memcmp(p, "\xe2\x80\xa2", 3) == 0); /* U+2022 • */
}

/* Phone and account numbers: the digits (and mask symbols the sender
 * already used) in order, first 3 and last 4 kept, the rest '*'.
 * Separators are left out, a leading '+' stays.  Numbers too short to keep
 * 3 + 4 and still hide something show only their last half, at most 4. */
static void mask_number(sink *s, const char *text, size_t len)
{
    size_t total = 0;
    for (size_t i = 0; i < len; i += utf8_len((unsigned char)text[i])) {
        if ((text[i] >= '0' && text[i] <= '9') || is_mask_char(text + i, len - i))
            total++;
    }
    size_t head = 3, tail = 4;
    if (total < head + tail + 1) {
        head = 0;
        tail = total / 2 < 4 ? total / 2 : 4;
    }
    if (len > 0 && text[0] == '+')
        put(s, "+", 1);
    size_t seen = 0;
    for (size_t i = 0; i < len; i += utf8_len((unsigned char)text[i])) {
        int digit = text[i] >= '0' && text[i] <= '9';
        if (!digit && !is_mask_char(text + i, len - i))
            continue;
        int keep = digit && (seen < head || seen >= total - tail);
        put(s, keep ? text + i : "*", 1);
        seen++;
    }
}

/* Length of the longest table entry that text starts with (ASCII entries
 * compared without case), or 0. */
static size_t match_prefix(const char *text, size_t len, const char *const *table,
                           size_t count)
{
    size_t best = 0;
    for (size_t i = 0; i < count; i++) {
        size_t n = strlen(table[i]);
        if (n <= len && n > best && strncasecmp(text, table[i], n) == 0)
            best = n;
    }
    return best;
}

/* From just after the messenger name at i, skip what the handle pattern
 * allows before the id: a space, a word like 号 or id, then spaces, ':'
 * '=' and '@'.  The word is only skipped if an id still follows, as the
 * pattern would backtrack ("wxid_abc123": the id is "id_abc123"). */
static size_t skip_separators(const char *text, size_t len, size_t i)
{
    size_t j = i;
    if (j < len && text[j] == ' ')
        j++;
    size_t w = match_prefix(text + j, len - j, handle_words, COUNT(handle_words));
    if (w > 0) {
        size_t k = j + w;
        while (k < len && in_set(text[k], " :=@"))
            k++;
        if (k < len && is_ascii_alnum(text[k]))
            return k;
    }
    while (i < len && in_set(text[i], " :=@"))
        i++;
    return i;
}

/* Handles: the messenger name and separators as written, then the first
 * two characters of the id, then "***" (whatever the id's length, so the
 * mask does not leak it). */
static void mask_handle(sink *s, const char *text, size_t len)
{
    size_t i = match_prefix(text, len, handle_cjk, COUNT(handle_cjk));
    if (i == 0)
        i = match_prefix(text, len, handle_ascii, COUNT(handle_ascii));
    if (i > 0) {
        i = skip_separators(text, len, i);
    }
    put(s, text, i);
    for (int kept = 0; kept < 2 && i < len; kept++) {
        size_t n = utf8_len((unsigned char)text[i]);
        if (n > len - i)
            n = len - i;
        put(s, text + i, n);
        i += n;
    }
    put(s, "***", 3);
}

size_t hb_entity_mask(hb_entity_kind kind, const char *text, size_t len, char *out,
                      size_t cap)
{
    if (!out || cap == 0)
        return 0;
    if (!text) {
        text = "";
        len = 0;
    }
    sink s = {out, cap, 0, 0};
    switch (kind) {
    case HB_ENTITY_PHONE:
    case HB_ENTITY_ACCOUNT: mask_number(&s, text, len); break;
    case HB_ENTITY_HANDLE: mask_handle(&s, text, len); break;
    default:
        /* URLs and amounts are not personal data; copy whole characters
         * while they fit. */
        for (size_t i = 0; i < len;) {
            size_t n = utf8_len((unsigned char)text[i]);
            if (n > len - i)
                n = len - i;
            put(&s, text + i, n);
            i += n;
        }
        break;
    }
    out[s.len] = '\0';
    return s.len;
}
