/*
 * rules.c - parse, compile and match hand-written PCRE2 rules (see rules.h;
 * the file format is documented for rule writers in docs/rules.md).
 *
 * Loading is strict on purpose.  A rule file is written by a person and read
 * by a machine that will add its weights to real verdicts, so every mistake
 * we can detect (a misspelt key, a weight that is not a number, a regex
 * that does not compile, an id used twice) stops the load with file:line
 * instead of silently producing a rule that never fires.
 *
 * The parser works line by line on the whole text, which it first checks is
 * valid UTF-8 without NUL bytes: PCRE2 is told the patterns are UTF, and the
 * descriptions end up in JSON replies, so neither may carry broken bytes.
 * Each pattern is compiled as soon as its line is read, so a compile error
 * can name its own line.
 *
 * Matching trades a little speed for a hard bound.  Every pattern is JIT
 * compiled when the platform allows it (PCRE2 falls back to its interpreter
 * otherwise, transparently, inside pcre2_match), and every match runs under
 * a match limit, a depth limit, a heap limit and a fixed-size JIT stack
 * taken from the caller's scratch.  A hostile message that drives a rule
 * into catastrophic backtracking therefore costs at most one limit's worth
 * of work per pattern; the rule is treated as not firing and is counted so
 * the caller can log it.
 *
 * Matching is prefiltered (prefilter.h), the way Snort and Suricata do
 * it.  At load time every pattern (pattern and unless lines alike) is
 * numbered, rule by rule, and handed to the prefilter, which compiles
 * widened copies of them into one Hyperscan database; per message one
 * scan, linear in the text, says which patterns *could* match.  PCRE2
 * then runs only those: a rule with a pattern line that is not a
 * candidate cannot fire and is skipped, an unless line that is not a
 * candidate cannot match and is not run, and an *exact* line (one the
 * prefilter did not have to widen) that is a candidate matches, so PCRE2
 * only runs it for the span.  The prefilter may report false candidates
 * but never misses a pattern that matches, so hits and spans (which still
 * come from PCRE2) are exactly those of running every pattern.  How it
 * keeps that promise (rewriting, pieces, fallbacks) is prefilter.c's
 * business.
 *
 * Storage: the rule set owns every string (ids, tasks, descriptions, file
 * names, pattern sources), every compiled pattern and the prefilter;
 * hb_rule_info points into it.  Nothing is mutated after loading, so a
 * set can be shared by threads and forks.  Lookups by id
 * are linear: sets hold hundreds of rules, and the only callers (loading,
 * tests, tools) are not on the per-message path.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "rules.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "grow.h"
#include "ruledefs.h"
#include "prefilter.h"

/* Matching limits.  MATCH_LIMIT bounds backtracking steps per pcre2_match
 * call (the JIT honours it too); legitimate rules over a long message use
 * a few thousand at most, a runaway one hits it within milliseconds.
 * DEPTH_LIMIT and HEAP_LIMIT (KiB) bound the interpreter's backtracking
 * frames when JIT is unavailable; the JIT stack bounds the JIT's. */
#define MATCH_LIMIT 100000u
#define DEPTH_LIMIT 10000u
#define HEAP_LIMIT_KIB 4096u
#define JIT_STACK_START ((size_t)32 * 1024)
#define JIT_STACK_MAX ((size_t)512 * 1024)

/* A rules file larger than this is certainly a mistake (the shipped sets
 * are tens of kilobytes). */
#define MAX_FILE_BYTES (16u * 1024u * 1024u)

/* A weight outside +-MAX_WEIGHT would swamp the model's decision value
 * (typically -2..+2); it is almost certainly a typo. */
#define MAX_WEIGHT 100.0

typedef struct pattern {
    pcre2_code *code;
    char *source; /* as written, NUL-terminated; read by the prefilter */
} pattern;

typedef struct rule {
    hb_rule_info info;
    pattern *patterns; /* all must match */
    size_t npatterns;
    pattern *unless; /* none may match */
    size_t nunless;
    uint32_t first_id; /* prefilter id of patterns[0]; patterns[k] has
                          first_id + k, unless[k] first_id + npatterns + k */
} rule;

struct hb_rules {
    rule *rules;
    size_t count;
    size_t cap;
    char **files; /* origin names, shared by the rules loaded from them */
    size_t nfiles;
    /* Every pattern of every rule, in rule order (rule.first_id), as
     * numbered for the prefilter. */
    hb_prefilter *prefilter;
    /* first_ids: bitset over pattern ids, set at each rule's first_id;
     * rule_at[first_id]: that rule's index.  A rule can only fire when its
     * first pattern line is a candidate, so the matcher walks the
     * candidate set through this mask instead of visiting every rule
     * (most messages leave all but a few rules out). */
    uint64_t *first_ids;
    uint32_t *rule_at;
    size_t npattern_ids;
};

struct hb_rules_scratch {
    pcre2_match_data *match;
    pcre2_match_context *context;
    pcre2_jit_stack *jit_stack;
    hb_prefilter_scratch *prefilter_scratch;
    int prefilter; /* hb_rules_scratch_set_prefilter */
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

static char *dup_range(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Trim spaces and tabs from both ends of [*s, *s + *n). */
static void trim(const char **s, size_t *n)
{
    while (*n && is_space(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && is_space((*s)[*n - 1]))
        (*n)--;
}

/* Identifiers (rule ids, tasks, types) are ASCII so that they can be used
 * unquoted in logs, JSON keys and command lines.  Ids may also contain dots
 * and dashes ("fraud.safe_account"); tasks and types may not. */
static int is_ident(const char *s, size_t n, int allow_dots)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        if (allow_dots && (c == '.' || c == '-'))
            ok = 1;
        if (!ok)
            return 0;
    }
    return 1;
}

/* Parse a weight: [+-]digits[.digits], at most 15 digits in all.
 * Deliberately not strtod, whose decimal separator follows the process
 * locale: "0,5" must not become a valid weight because the host runs in
 * de_DE.  The digits are gathered as an exact integer and divided once by
 * a power of ten, so "0.75" gives exactly the double nearest 0.75, as
 * strtod would.  Returns 0 or -1. */
static int parse_weight(const char *s, size_t n, double *out)
{
    size_t i = 0;
    int negative = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        negative = s[i] == '-';
        i++;
    }
    uint64_t mantissa = 0;
    size_t int_digits = 0, frac_digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        mantissa = mantissa * 10 + (uint64_t)(s[i] - '0');
        i++;
        if (++int_digits > 15)
            return -1;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            mantissa = mantissa * 10 + (uint64_t)(s[i] - '0');
            i++;
            if (int_digits + ++frac_digits > 15)
                return -1;
        }
        if (frac_digits == 0)
            return -1;
    }
    if (i != n || int_digits == 0)
        return -1;
    double scale = 1.0;
    for (size_t k = 0; k < frac_digits; k++)
        scale *= 10.0;
    *out = (negative ? -1.0 : 1.0) * ((double)mantissa / scale);
    return 0;
}

/* Check that text is UTF-8 without NUL bytes (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF).  Returns 0, or the code of the
 * problem with *bad set to the offending byte offset. */
static int check_utf8(const unsigned char *s, size_t n, size_t *bad)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c == 0) {
            *bad = i;
            return HB_EFORMAT;
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            if (c == 0xF4)
                hi = 0x8F; /* above U+10FFFF */
        } else {
            *bad = i;
            return HB_EUTF8;
        }
        if (n - i < len || s[i + 1] < lo || s[i + 1] > hi) {
            *bad = i;
            return HB_EUTF8;
        }
        for (size_t k = 2; k < len; k++) {
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) {
                *bad = i;
                return HB_EUTF8;
            }
        }
        i += len;
    }
    return 0;
}

static size_t line_of(const char *text, size_t offset)
{
    size_t line = 1;
    for (size_t i = 0; i < offset; i++)
        if (text[i] == '\n')
            line++;
    return line;
}

static void free_patterns(pattern *patterns, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pcre2_code_free(patterns[i].code);
        free(patterns[i].source);
    }
    free(patterns);
}

static void rule_release(rule *r)
{
    free((char *)r->info.id);
    free((char *)r->info.task);
    free((char *)r->info.type);
    free((char *)r->info.description);
    free((char *)r->info.description_zh);
    free_patterns(r->patterns, r->npatterns);
    free_patterns(r->unless, r->nunless);
    memset(r, 0, sizeof *r);
}

void hb_rules_free(hb_rules *rules)
{
    if (!rules)
        return;
    for (size_t i = 0; i < rules->count; i++)
        rule_release(&rules->rules[i]);
    free(rules->rules);
    for (size_t i = 0; i < rules->nfiles; i++)
        free(rules->files[i]);
    free(rules->files);
    hb_prefilter_free(rules->prefilter);
    free(rules->first_ids);
    free(rules->rule_at);
    free(rules);
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */

/* State of the rule being read.  Arrays of patterns grow as lines arrive;
 * on success the whole struct moves into the set. */
typedef struct pending {
    rule r;
    size_t cap_patterns;
    size_t cap_unless;
    int active; /* a header has been read */
    int have_weight;
    int have_sign;
} pending;

/* Compile one pattern into *out.  Returns 0, or an error with err naming
 * origin:line, PCRE2's message and the offset in the pattern. */
static int compile_pattern(const char *pat, size_t n, const char *origin, size_t line,
                           pcre2_code **out, hb_error *err)
{
    int errcode = 0;
    PCRE2_SIZE erroff = 0;
    /* UTF + UCP: \w, \b, \d and [[:alpha:]] understand Chinese.
     * NEVER_BACKSLASH_C: \C could match half a character and yield a hit
     * span that is not on a code point boundary, which the evidence
     * highlighter (hb_text_source_span) relies on. */
    pcre2_code *code =
        pcre2_compile((PCRE2_SPTR)pat, n, PCRE2_UTF | PCRE2_UCP | PCRE2_NEVER_BACKSLASH_C,
                      &errcode, &erroff, NULL);
    if (!code) {
        if (errcode == PCRE2_ERROR_NOMEMORY)
            return hb_error_set(err, HB_ENOMEM, "%s:%zu: out of memory compiling pattern",
                                origin, line);
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(errcode, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "PCRE2 error %d", errcode);
        return hb_error_set(err, HB_EFORMAT, "%s:%zu: bad pattern: %s at offset %zu",
                            origin, line, (const char *)msg, (size_t)erroff);
    }
    /* JIT is an optimisation: if this platform or build has none
     * (PCRE2_ERROR_JIT_BADOPTION) or it runs out of executable memory,
     * pcre2_match uses the interpreter, under the same limits. */
    (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    *out = code;
    return 0;
}

/* Compile a `pattern` or `unless` line and append it to the rule. */
static int add_pattern(pending *p, const hb_ruledefs *defs, int is_unless, const char *v,
                       size_t vn, const char *file, size_t line, hb_error *err)
{
    pattern **arr = is_unless ? &p->r.unless : &p->r.patterns;
    size_t *cnt = is_unless ? &p->r.nunless : &p->r.npatterns;
    size_t *cap = is_unless ? &p->cap_unless : &p->cap_patterns;
    if (hb_grow((void **)arr, cap, *cnt + 1, sizeof(pattern)))
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    char *source = NULL;
    size_t sn = 0;
    int rc = hb_ruledefs_expand(defs, v, vn, &source, &sn, file, line, err);
    if (rc)
        return rc;
    pcre2_code *code = NULL;
    rc = compile_pattern(source, sn, file, line, &code, err);
    if (rc) {
        free(source);
        return rc;
    }
    (*arr)[*cnt].code = code;
    (*arr)[*cnt].source = source;
    (*cnt)++;
    return 0;
}

/* Move a finished pending rule into the set, after checking it has every
 * required key.  Returns 0 or a negative code with err set. */
static int finish_rule(hb_rules *set, pending *p, const char *origin, hb_error *err)
{
    if (!p->active)
        return 0;
    const char *missing = NULL;
    if (!p->r.info.task)
        missing = "task";
    else if (!p->have_weight)
        missing = "weight";
    else if (p->r.npatterns == 0)
        missing = "pattern";
    else if (!p->r.info.description)
        missing = "description";
    if (missing)
        return hb_error_set(err, HB_EFORMAT, "%s:%d: rule '%s' has no '%s' (required)",
                            origin, p->r.info.line, p->r.info.id, missing);
    if (!p->r.info.type) {
        p->r.info.type = dup_range("", 0);
        if (!p->r.info.type)
            return hb_error_set(err, HB_ENOMEM, "out of memory");
    }
    if (!p->r.info.description_zh) {
        p->r.info.description_zh = dup_range("", 0);
        if (!p->r.info.description_zh)
            return hb_error_set(err, HB_ENOMEM, "out of memory");
    }
    if (p->r.info.sign && p->r.info.weight <= 0)
        return hb_error_set(err, HB_EFORMAT,
                            "%s:%d: rule '%s' says 'sign = yes' but its weight is not "
                            "above 0",
                            origin, p->r.info.line, p->r.info.id);
    if (!p->have_sign)
        p->r.info.sign = p->r.info.weight >= HB_RULE_SIGN_WEIGHT;
    if (hb_grow((void **)&set->rules, &set->cap, set->count + 1, sizeof(rule)))
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    set->rules[set->count++] = p->r;
    memset(p, 0, sizeof *p);
    return 0;
}

/* Handle a `[id]` header line. */
static int start_rule(hb_rules *set, pending *p, const char *s, size_t n,
                      const char *file, size_t line, hb_error *err)
{
    if (n < 2 || s[n - 1] != ']')
        return hb_error_set(err, HB_EFORMAT,
                            "%s:%zu: rule header must look like [rule.id]", file, line);
    const char *id = s + 1;
    size_t idn = n - 2;
    trim(&id, &idn);
    if (!is_ident(id, idn, 1))
        return hb_error_set(err, HB_EFORMAT,
                            "%s:%zu: bad rule id '%.*s' (use a-z 0-9 _ . -)", file, line,
                            (int)(idn > 100 ? 100 : idn), id);
    for (size_t i = 0; i < set->count; i++) {
        const hb_rule_info *o = &set->rules[i].info;
        if (strlen(o->id) == idn && memcmp(o->id, id, idn) == 0)
            return hb_error_set(err, HB_EFORMAT,
                                "%s:%zu: duplicate rule id '%s' (first defined "
                                "at %s:%d)",
                                file, line, o->id, o->file, o->line);
    }
    p->active = 1;
    p->r.info.id = dup_range(id, idn);
    p->r.info.file = file;
    p->r.info.line = (int)line;
    if (!p->r.info.id)
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    return 0;
}

/* Set a single-valued string key, refusing a second occurrence. */
static int set_once(const char **slot, const char *key, const char *v, size_t vn,
                    const char *file, size_t line, hb_error *err)
{
    if (*slot)
        return hb_error_set(err, HB_EFORMAT, "%s:%zu: '%s' given twice", file, line, key);
    char *copy = dup_range(v, vn);
    if (!copy)
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    *slot = copy;
    return 0;
}

/* Handle one `key = value` line of the current rule. */
static int rule_key(pending *p, const hb_ruledefs *defs, const char *key, size_t kn,
                    const char *v, size_t vn, const char *file, size_t line,
                    hb_error *err)
{
#define KEY_IS(name) (kn == sizeof(name) - 1 && memcmp(key, name, kn) == 0)
    if (!(KEY_IS("task") || KEY_IS("type") || KEY_IS("weight") || KEY_IS("sign") ||
          KEY_IS("description") || KEY_IS("description_zh") || KEY_IS("pattern") ||
          KEY_IS("unless")))
        return hb_error_set(err, HB_EFORMAT,
                            "%s:%zu: unknown key '%.*s' (known: task, type, "
                            "weight, sign, pattern, unless, description, "
                            "description_zh)",
                            file, line, (int)(kn > 60 ? 60 : kn), key);
    if (vn == 0)
        return hb_error_set(err, HB_EFORMAT, "%s:%zu: '%.*s' has no value", file, line,
                            (int)kn, key);
    if (KEY_IS("task") || KEY_IS("type")) {
        if (!is_ident(v, vn, 0))
            return hb_error_set(err, HB_EFORMAT,
                                "%s:%zu: bad %.*s '%.*s' (use a-z 0-9 _)", file, line,
                                (int)kn, key, (int)(vn > 100 ? 100 : vn), v);
        return set_once(KEY_IS("task") ? &p->r.info.task : &p->r.info.type,
                        KEY_IS("task") ? "task" : "type", v, vn, file, line, err);
    }
    if (KEY_IS("weight")) {
        double w;
        if (p->have_weight)
            return hb_error_set(err, HB_EFORMAT, "%s:%zu: 'weight' given twice", file,
                                line);
        if (parse_weight(v, vn, &w) || !isfinite(w) || fabs(w) > MAX_WEIGHT)
            return hb_error_set(err, HB_EFORMAT,
                                "%s:%zu: bad weight '%.*s' (want a decimal "
                                "number such as 1.5 or -0.5, at most %g in "
                                "size)",
                                file, line, (int)(vn > 100 ? 100 : vn), v, MAX_WEIGHT);
        p->r.info.weight = w;
        p->have_weight = 1;
        return 0;
    }
    if (KEY_IS("sign")) {
        if (p->have_sign)
            return hb_error_set(err, HB_EFORMAT, "%s:%zu: 'sign' given twice", file,
                                line);
        if (!((vn == 3 && memcmp(v, "yes", 3) == 0) ||
              (vn == 2 && memcmp(v, "no", 2) == 0)))
            return hb_error_set(err, HB_EFORMAT,
                                "%s:%zu: bad sign '%.*s' (want yes or no)", file, line,
                                (int)(vn > 100 ? 100 : vn), v);
        p->r.info.sign = vn == 3;
        p->have_sign = 1;
        return 0;
    }
    if (KEY_IS("description"))
        return set_once(&p->r.info.description, "description", v, vn, file, line, err);
    if (KEY_IS("description_zh"))
        return set_once(&p->r.info.description_zh, "description_zh", v, vn, file, line,
                        err);
    return add_pattern(p, defs, KEY_IS("unless"), v, vn, file, line, err);
#undef KEY_IS
}

/* Handle a `define name = regex` line: name (nn bytes, after "define")
 * is trimmed here; the regex must compile on its own, so that a mistake
 * in it is reported at its own line. */
static int define_line(hb_ruledefs *defs, const char *name, size_t nn, const char *v,
                       size_t vn, const char *file, size_t line, hb_error *err)
{
    trim(&name, &nn);
    if (vn == 0)
        return hb_error_set(err, HB_EFORMAT, "%s:%zu: 'define %.*s' has no pattern", file,
                            line, (int)(nn > 60 ? 60 : nn), name);
    int rc = hb_ruledefs_add(defs, name, nn, v, vn, file, line, err);
    if (rc)
        return rc;
    const char *body = defs->items[defs->count - 1].body;
    pcre2_code *code = NULL;
    rc = compile_pattern(body, strlen(body), file, line, &code, err);
    pcre2_code_free(code);
    return rc;
}

/* Keep a copy of origin in set->files and return it, or NULL. */
static const char *intern_origin(hb_rules *set, const char *origin)
{
    char **files = realloc(set->files, (set->nfiles + 1) * sizeof *files);
    if (!files)
        return NULL;
    set->files = files;
    char *copy = dup_range(origin, strlen(origin));
    if (!copy)
        return NULL;
    set->files[set->nfiles++] = copy;
    return copy;
}

/* Parse text and append its rules to set.  On error set may hold some of
 * the text's rules; the caller frees it. */
static int parse_into(hb_rules *set, const char *text, size_t len, const char *origin,
                      hb_error *err)
{
    size_t bad = 0;
    int rc = check_utf8((const unsigned char *)text, len, &bad);
    if (rc == HB_EUTF8)
        return hb_error_set(err, HB_EUTF8,
                            "%s:%zu: not valid UTF-8 (byte offset %zu); "
                            "rules files must be UTF-8",
                            origin, line_of(text, bad), bad);
    if (rc)
        return hb_error_set(err, HB_EFORMAT,
                            "%s:%zu: NUL byte (byte offset %zu); rules files "
                            "are text",
                            origin, line_of(text, bad), bad);

    const char *file = intern_origin(set, origin);
    if (!file)
        return hb_error_set(err, HB_ENOMEM, "out of memory");

    /* An editor's byte order mark is harmless; skip it. */
    size_t pos = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;

    size_t before = set->count;
    pending p;
    memset(&p, 0, sizeof p);
    hb_ruledefs defs; /* this file's define lines */
    hb_ruledefs_init(&defs);
    size_t line = 0;
    rc = 0;
    while (pos < len && rc == 0) {
        line++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        const char *s = text + pos;
        size_t n = end - pos;
        pos = end + 1;
        trim(&s, &n);
        if (n == 0 || s[0] == '#')
            continue;
        if (s[0] == '[') {
            rc = finish_rule(set, &p, file, err);
            if (rc == 0)
                rc = start_rule(set, &p, s, n, file, line, err);
            continue;
        }
        const char *eq = memchr(s, '=', n);
        if (!eq) {
            rc = hb_error_set(err, HB_EFORMAT,
                              "%s:%zu: expected 'key = value', '[rule.id]' "
                              "or a '#' comment",
                              file, line);
            continue;
        }
        const char *key = s;
        size_t kn = (size_t)(eq - s);
        const char *v = eq + 1;
        size_t vn = n - kn - 1;
        trim(&key, &kn);
        trim(&v, &vn);
        if (kn >= 6 && memcmp(key, "define", 6) == 0 && (kn == 6 || is_space(key[6]))) {
            rc = define_line(&defs, key + 6, kn - 6, v, vn, file, line, err);
            continue;
        }
        if (!p.active) {
            rc = hb_error_set(err, HB_EFORMAT,
                              "%s:%zu: '%.*s' before the first [rule.id] "
                              "header",
                              file, line, (int)(kn > 60 ? 60 : kn), key);
            continue;
        }
        rc = rule_key(&p, &defs, key, kn, v, vn, file, line, err);
    }
    hb_ruledefs_release(&defs);
    if (rc == 0)
        rc = finish_rule(set, &p, file, err);
    if (rc) {
        rule_release(&p.r);
        return rc;
    }
    if (set->count == before)
        return hb_error_set(err, HB_EEMPTY,
                            "%s: no rules found (a rule starts with a "
                            "[rule.id] line)",
                            file);
    return 0;
}

/* Put r's pattern lines in sources[0 .. npatterns), NULL for those left
 * out of the prefilter: a line that makes a weak filter
 * (hb_prefilter_weak: "\b(you|u)\b" is found, as "u", in nearly every
 * English text) when the rule has another line that does not.  The rule
 * can only fire once that line is a candidate (decide_filtered), so the
 * weak one, always a candidate now, runs through PCRE2 about as often as
 * before, and the scan no longer stops at every "u". */
static void leave_weak_unfiltered(const rule *r, const char **sources)
{
    int any_strong = 0;
    for (size_t k = 0; k < r->npatterns; k++) {
        int weak = r->npatterns > 1 && hb_prefilter_weak(r->patterns[k].source);
        sources[k] = weak ? NULL : r->patterns[k].source;
        any_strong |= !weak;
    }
    for (size_t k = 0; k < r->npatterns && !any_strong; k++)
        sources[k] = r->patterns[k].source;
}

/* Finish a freshly parsed set: number its patterns (rule by rule, each
 * rule's pattern lines, then its unless lines), map first pattern ids to
 * rules and build the prefilter over the patterns.  Returns set, or NULL
 * (set freed) with err filled in. */
static hb_rules *finish_set(hb_rules *set, hb_error *err)
{
    size_t nids = 0;
    for (size_t i = 0; i < set->count; i++) {
        rule *r = &set->rules[i];
        r->first_id = (uint32_t)nids;
        nids += r->npatterns + r->nunless;
    }
    set->npattern_ids = nids;
    const char **sources = malloc((nids ? nids : 1) * sizeof *sources);
    set->first_ids = calloc(nids / 64 + 1, sizeof *set->first_ids);
    set->rule_at = malloc((nids ? nids : 1) * sizeof *set->rule_at);
    if (!sources || !set->first_ids || !set->rule_at) {
        free(sources);
        hb_error_set(err, HB_ENOMEM, "out of memory");
        hb_rules_free(set);
        return NULL;
    }
    for (size_t i = 0; i < set->count; i++) {
        const rule *r = &set->rules[i];
        set->first_ids[r->first_id >> 6] |= UINT64_C(1) << (r->first_id & 63);
        set->rule_at[r->first_id] = (uint32_t)i;
        leave_weak_unfiltered(r, sources + r->first_id);
        for (size_t k = 0; k < r->nunless; k++)
            sources[r->first_id + r->npatterns + k] = r->unless[k].source;
    }
    set->prefilter = hb_prefilter_new(sources, nids, err);
    free(sources);
    if (!set->prefilter) {
        hb_rules_free(set);
        return NULL;
    }
    return set;
}

static hb_rules *rules_new(hb_error *err)
{
    hb_rules *set = calloc(1, sizeof *set);
    if (!set)
        hb_error_set(err, HB_ENOMEM, "out of memory");
    return set;
}

hb_rules *hb_rules_parse(const char *text, size_t len, const char *origin, hb_error *err)
{
    hb_error_clear(err);
    if (!text && len) {
        hb_error_set(err, HB_EINVAL, "hb_rules_parse: NULL text");
        return NULL;
    }
    if (!origin)
        origin = "<rules>";
    hb_rules *set = rules_new(err);
    if (!set)
        return NULL;
    if (parse_into(set, text ? text : "", len, origin, err)) {
        hb_rules_free(set);
        return NULL;
    }
    return finish_set(set, err);
}

/* Read a whole file into a malloc'd buffer.  Returns 0 or an error. */
static int read_file(const char *path, char **out, size_t *outlen, hb_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return hb_error_set(err, errno == ENOENT ? HB_ENOTFOUND : HB_EIO,
                            "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (hb_grow((void **)&buf, &cap, n + 65536, 1)) {
            rc = hb_error_set(err, HB_ENOMEM, "%s: out of memory", path);
            break;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n > (size_t)MAX_FILE_BYTES) {
            rc = hb_error_set(err, HB_ETOOBIG,
                              "%s: larger than %u bytes; not a rules file?", path,
                              MAX_FILE_BYTES);
            break;
        }
        if (got == 0) {
            if (ferror(f))
                rc = hb_error_set(err, HB_EIO, "%s: read error: %s", path,
                                  strerror(errno));
            break;
        }
    }
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *outlen = n;
    return 0;
}

static int load_into(hb_rules *set, const char *path, hb_error *err)
{
    char *buf = NULL;
    size_t n = 0;
    int rc = read_file(path, &buf, &n, err);
    if (rc)
        return rc;
    rc = parse_into(set, buf, n, path, err);
    free(buf);
    return rc;
}

hb_rules *hb_rules_load_file(const char *path, hb_error *err)
{
    hb_error_clear(err);
    if (!path) {
        hb_error_set(err, HB_EINVAL, "hb_rules_load_file: NULL path");
        return NULL;
    }
    hb_rules *set = rules_new(err);
    if (!set)
        return NULL;
    if (load_into(set, path, err)) {
        hb_rules_free(set);
        return NULL;
    }
    return finish_set(set, err);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with_rules(const char *name)
{
    size_t n = strlen(name);
    return n > 6 && strcmp(name + n - 6, ".rules") == 0;
}

hb_rules *hb_rules_load_dir(const char *dir, hb_error *err)
{
    hb_error_clear(err);
    if (!dir) {
        hb_error_set(err, HB_EINVAL, "hb_rules_load_dir: NULL dir");
        return NULL;
    }
    DIR *d = opendir(dir);
    if (!d) {
        hb_error_set(err, errno == ENOENT ? HB_ENOTFOUND : HB_EIO,
                     "%s: cannot open rules directory: %s", dir, strerror(errno));
        return NULL;
    }

    /* Collect and sort the names so that rule order (and therefore hit
     * order) does not depend on the file system's directory order. */
    char **names = NULL;
    size_t nnames = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        /* Dot files are editor locks and backups, never rules. */
        if (e->d_name[0] == '.' || !ends_with_rules(e->d_name))
            continue;
        size_t need = strlen(dir) + strlen(e->d_name) + 2;
        char *path = malloc(need);
        if (!path || hb_grow((void **)&names, &cap, nnames + 1, sizeof *names)) {
            free(path);
            rc = hb_error_set(err, HB_ENOMEM, "out of memory");
            break;
        }
        snprintf(path, need, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        names[nnames++] = path;
    }
    closedir(d);

    hb_rules *set = NULL;
    if (rc == 0 && (nnames == 0 || !names)) {
        hb_error_set(err, HB_ENOTFOUND, "%s: no *.rules files", dir);
        rc = HB_ENOTFOUND;
    }
    if (rc == 0) {
        qsort(names, nnames, sizeof *names, cmp_names);
        set = rules_new(err);
        if (!set)
            rc = HB_ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < nnames; i++)
        rc = load_into(set, names[i], err);
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    if (rc) {
        hb_rules_free(set);
        return NULL;
    }
    return finish_set(set, err);
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */

size_t hb_rules_count(const hb_rules *rules)
{
    return rules ? rules->count : 0;
}

const hb_rule_info *hb_rules_info(const hb_rules *rules, size_t index)
{
    if (!rules || index >= rules->count)
        return NULL;
    return &rules->rules[index].info;
}

long hb_rules_find(const hb_rules *rules, const char *id)
{
    if (!rules || !id)
        return -1;
    for (size_t i = 0; i < rules->count; i++)
        if (strcmp(rules->rules[i].info.id, id) == 0)
            return (long)i;
    return -1;
}

size_t hb_rules_prefilter_fallbacks(const hb_rules *rules)
{
    return rules ? hb_prefilter_fallbacks(rules->prefilter) : 0;
}

/* ------------------------------------------------------------------ */
/* Matching                                                            */

hb_rules_scratch *hb_rules_scratch_new(void)
{
    hb_rules_scratch *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    /* One ovector pair is all we read (the whole-match span); a pattern
     * with capture groups still matches, pcre2_match then returns 0
     * ("ovector too small") with pair 0 filled in. */
    s->match = pcre2_match_data_create(1, NULL);
    s->context = pcre2_match_context_create(NULL);
    s->jit_stack = pcre2_jit_stack_create(JIT_STACK_START, JIT_STACK_MAX, NULL);
    s->prefilter_scratch = hb_prefilter_scratch_new();
    if (!s->match || !s->context || !s->jit_stack || !s->prefilter_scratch) {
        hb_rules_scratch_free(s);
        return NULL;
    }
    pcre2_set_match_limit(s->context, MATCH_LIMIT);
    pcre2_set_depth_limit(s->context, DEPTH_LIMIT);
    pcre2_set_heap_limit(s->context, HEAP_LIMIT_KIB);
    pcre2_jit_stack_assign(s->context, NULL, s->jit_stack);
    s->prefilter = 1;
    return s;
}

void hb_rules_scratch_free(hb_rules_scratch *scratch)
{
    if (!scratch)
        return;
    pcre2_match_data_free(scratch->match);
    pcre2_match_context_free(scratch->context);
    pcre2_jit_stack_free(scratch->jit_stack);
    hb_prefilter_scratch_free(scratch->prefilter_scratch);
    free(scratch);
}

void hb_rules_scratch_set_prefilter(hb_rules_scratch *scratch, int enabled)
{
    if (scratch)
        scratch->prefilter = enabled != 0;
}

enum outcome { NO_MATCH, MATCH, ABANDONED };

static enum outcome run(const pattern *pat, hb_rules_scratch *s, const char *text,
                        size_t len)
{
    /* NO_UTF_CHECK: the text comes from hb_normalize, which has already
     * validated it; re-checking would cost one full pass per pattern. */
    int rc = pcre2_match(pat->code, (PCRE2_SPTR)text, len, 0, PCRE2_NO_UTF_CHECK,
                         s->match, s->context);
    if (rc >= 0)
        return MATCH;
    if (rc == PCRE2_ERROR_NOMATCH)
        return NO_MATCH;
    /* Match, depth or heap limit, JIT stack exhausted, or anything else
     * unexpected: we cannot say whether the pattern matches. */
    return ABANDONED;
}

/* Decide rule r by running its patterns in order, as written: all pattern
 * lines must match, then no unless line may.  The span is that of the
 * first pattern line.  Used when the prefilter is off or cannot run. */
static enum outcome decide_all(const rule *r, hb_rules_scratch *s, const char *text,
                               size_t len, PCRE2_SIZE *start, PCRE2_SIZE *end)
{
    enum outcome o = MATCH;
    for (size_t k = 0; k < r->npatterns && o == MATCH; k++) {
        o = run(&r->patterns[k], s, text, len);
        if (k == 0 && o == MATCH) {
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->match);
            *start = ov[0];
            *end = ov[1];
        }
    }
    for (size_t k = 0; k < r->nunless && o == MATCH; k++) {
        enum outcome u = run(&r->unless[k], s, text, len);
        if (u == MATCH)
            o = NO_MATCH;
        else if (u == ABANDONED)
            o = ABANDONED;
    }
    return o;
}

/* Decide rule r knowing the candidate set cand.  A line that is not a
 * candidate cannot match; an exact line that is a candidate matches; only
 * the rest runs through PCRE2, and the first pattern line runs last (it is
 * needed for the span only if everything else allows the rule to fire).
 * The answer is decide_all's, except that a rule decide_all would abandon
 * at a limit is decided here whenever some line settles it without the
 * limit (so this abandons a subset of what decide_all abandons). */
static enum outcome decide_filtered(const rule *r, const uint64_t *cand,
                                    const uint64_t *exact, hb_rules_scratch *s,
                                    const char *text, size_t len, PCRE2_SIZE *start,
                                    PCRE2_SIZE *end)
{
    uint32_t id = r->first_id;
    for (size_t k = 0; k < r->npatterns; k++)
        if (!hb_prefilter_in(cand, id + k))
            return NO_MATCH;
    /* An exact unless line that is a candidate matches: the rule cannot
     * fire, whatever PCRE2 would say of its pattern lines. */
    uint32_t unless_id = id + (uint32_t)r->npatterns;
    for (size_t k = 0; k < r->nunless; k++)
        if (hb_prefilter_in(cand, unless_id + k) && hb_prefilter_in(exact, unless_id + k))
            return NO_MATCH;
    int abandoned = 0;
    for (size_t k = 1; k < r->npatterns; k++) {
        if (hb_prefilter_in(exact, id + k))
            continue;
        enum outcome o = run(&r->patterns[k], s, text, len);
        if (o == NO_MATCH)
            return NO_MATCH;
        abandoned |= o == ABANDONED;
    }
    enum outcome o = run(&r->patterns[0], s, text, len);
    if (o == NO_MATCH)
        return NO_MATCH;
    if (o == MATCH) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->match);
        *start = ov[0];
        *end = ov[1];
    }
    if (abandoned || o == ABANDONED)
        return ABANDONED;

    for (size_t k = 0; k < r->nunless; k++) {
        if (!hb_prefilter_in(cand, unless_id + k) ||
            hb_prefilter_in(exact, unless_id + k))
            continue;
        o = run(&r->unless[k], s, text, len);
        if (o == MATCH)
            return NO_MATCH;
        abandoned |= o == ABANDONED;
    }
    return abandoned ? ABANDONED : MATCH;
}

/* Hits and abandoned rules of one hb_rules_match call. */
typedef struct tally {
    hb_rule_hit *hits;
    size_t n, max, abandoned;
} tally;

/* Decide rule i (with the candidate set cand, or by running every line if
 * it is NULL) and record the outcome in t. */
static void consider(const hb_rules *rules, size_t i, const uint64_t *cand,
                     hb_rules_scratch *s, const char *text, size_t len, tally *t)
{
    const rule *r = &rules->rules[i];
    PCRE2_SIZE start = 0, end = 0;
    enum outcome o = cand ? decide_filtered(r, cand, hb_prefilter_exact(rules->prefilter),
                                            s, text, len, &start, &end)
                          : decide_all(r, s, text, len, &start, &end);
    if (o == ABANDONED)
        t->abandoned++;
    if (o != MATCH)
        return;
    /* \K inside a lookahead could report start > end; keep the span
     * well-formed for highlighting. */
    if (start > end)
        start = end;
    t->hits[t->n++] = (hb_rule_hit){(uint32_t)i, (uint32_t)start, (uint32_t)end};
}

int hb_rules_match(const hb_rules *rules, hb_rules_scratch *scratch, const char *text,
                   size_t len, hb_rule_hit *hits, size_t max_hits, size_t *nhits,
                   size_t *limited)
{
    if (nhits)
        *nhits = 0;
    if (limited)
        *limited = 0;
    if (!rules || !scratch || !nhits || (!text && len) || (!hits && max_hits) ||
        len > UINT32_MAX)
        return HB_EINVAL;
    if (!text)
        text = "";

    /* cand is NULL when every pattern has to run. */
    const uint64_t *cand =
        scratch->prefilter
            ? hb_prefilter_scan(rules->prefilter, scratch->prefilter_scratch, text, len)
            : NULL;
    tally t = {hits, 0, max_hits, 0};
    if (cand) {
        /* Only rules whose first line is a candidate can fire: walk those,
         * in rule order (first ids grow with the rule index). */
        for (size_t w = 0; w <= rules->npattern_ids / 64 && t.n < t.max; w++)
            for (uint64_t bits = cand[w] & rules->first_ids[w]; bits && t.n < t.max;
                 bits &= bits - 1) {
                size_t id = w * 64 + (size_t)__builtin_ctzll(bits);
                consider(rules, rules->rule_at[id], cand, scratch, text, len, &t);
            }
    } else {
        for (size_t i = 0; i < rules->count && t.n < t.max; i++)
            consider(rules, i, NULL, scratch, text, len, &t);
    }
    *nhits = t.n;
    if (limited)
        *limited = t.abandoned;
    return 0;
}
