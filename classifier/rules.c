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
 * Matching is prefiltered, the way Snort and Suricata do it.  Running
 * ~300 patterns one after the other costs ~100 us on a long message,
 * although most of them cannot match it.  So at load time every pattern
 * (pattern and unless lines alike) is also compiled into one Hyperscan
 * database, and per message one Hyperscan scan, linear in the text, marks
 * the patterns that *could* match (a bitset in the scratch).  PCRE2 then
 * runs only those: a rule with a pattern line that is not a candidate
 * cannot fire and is skipped, an unless line that is not a candidate
 * cannot match and is not run.  The prefilter may report false candidates
 * but never misses a pattern that matches, so hits and spans (which still
 * come from PCRE2) are exactly those of running every pattern.
 *
 * "Never misses" needs care, because Hyperscan and PCRE2 are different
 * engines: Hyperscan's Unicode tables are older than PCRE2's (a Chinese
 * character added to Unicode since would be \w to one and not the other),
 * `.` and `$` depend on PCRE2's newline convention, and Hyperscan rejects
 * some syntax.  So Hyperscan never sees a pattern as written, but a
 * rewritten, *widened* copy (prefilter_rewrite) whose language contains
 * the original's, in syntax both engines read alike: table-dependent
 * classes (\d \s \w \p{..}), negated classes and `.` become "any
 * character", zero-width assertions other than ^ are dropped, counted
 * repeats are loosened, and each top-level alternative is cut at its gaps
 * (.* and the like) into pieces that must all be found.  Widening also
 * keeps Hyperscan's compile time sane: the shipped rules as written take
 * it 6 s to compile, widened 0.4 s.  A pattern the rewriter did not have
 * to widen is *exact*: it is compiled without HS_FLAG_PREFILTER, and its
 * Hyperscan match is a real match, so PCRE2 only runs it when the span is
 * wanted (the first pattern line of a rule that fires).  A pattern the
 * rewriter does not understand, one that can match the empty string (it
 * matches every text, there is nothing to filter) or one that Hyperscan
 * still refuses is an "always candidate" fallback, counted by
 * hb_rules_prefilter_fallbacks.
 *
 * Storage: the rule set owns every string (ids, tasks, descriptions, file
 * names, pattern sources), every compiled pattern and the Hyperscan
 * database; hb_rule_info points into it.  Nothing is mutated after
 * loading, so a set can be shared by threads and forks.  Lookups by id
 * are linear: sets hold hundreds of rules, and the only callers (loading,
 * tests, tools) are not on the per-message path.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "rules.h"

#include "grow.h"

#include <dirent.h>
#include <errno.h>
#include <hs/hs.h>
#include <math.h>
#include <pcre2.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Matching limits.  MATCH_LIMIT bounds backtracking steps per pcre2_match
 * call (the JIT honours it too); legitimate rules over a long message use
 * a few thousand at most, a runaway one hits it within milliseconds.
 * DEPTH_LIMIT and HEAP_LIMIT (KiB) bound the interpreter's backtracking
 * frames when JIT is unavailable; the JIT stack bounds the JIT's. */
#define MATCH_LIMIT 100000u
#define DEPTH_LIMIT 10000u
#define HEAP_LIMIT_KIB 4096u
#define JIT_STACK_START (32u * 1024u)
#define JIT_STACK_MAX (512u * 1024u)

/* A rules file larger than this is certainly a mistake (the shipped sets
 * are tens of kilobytes). */
#define MAX_FILE_BYTES (16u * 1024u * 1024u)

/* A weight outside +-MAX_WEIGHT would swamp the model's decision value
 * (typically -2..+2); it is almost certainly a typo. */
#define MAX_WEIGHT 100.0

/* Largest repeat count the prefilter keeps: x{40} is widened to x{16,}.
 * Counted repeats are what makes Hyperscan's compile time and database
 * size grow; a prefilter loses little by being vaguer about them. */
#define PREFILTER_MAX_REPEAT 16u

/* Deeper group nesting than this is not rewritten (the pattern becomes a
 * fallback).  It bounds the rewriter's recursion and Hyperscan's compile
 * time, which grows exponentially with nested repeats: ((((a)+)+)+)+
 * nested 25 deep takes it a second, 30 deep minutes. */
#define PREFILTER_MAX_DEPTH 10

#define NO_COUNTER UINT32_MAX

typedef struct pattern {
    pcre2_code *code;
    char *source; /* as written, NUL-terminated; read by the prefilter */
} pattern;

typedef struct rule {
    hb_rule_info info;
    pattern *patterns; /* all must match */
    size_t npatterns;
    pattern *unless;   /* none may match */
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
    /* The prefilter (see the top of this file).  ids number every pattern
     * of every rule in rule order. */
    hs_database_t *prefilter; /* NULL: no pattern could be prefiltered */
    uint64_t *always;         /* bitset over ids: fallback patterns */
    uint64_t *exact;          /* bitset over ids: being a candidate means
                                 matching (see prefilter_rewrite) */
    size_t nids;
    size_t nfallbacks;
    /* The database's expressions are distinct pieces (see
     * prefilter_rewrite), numbered by Hyperscan id.  Expression e is used
     * by the branches listed in use_pattern / use_counter from
     * use_start[e] to use_start[e + 1]: the pattern id of the branch, and
     * its counter, or NO_COUNTER if the piece is its branch's only one.  A
     * branch of several pieces matches when its counter reaches its
     * counter_need. */
    uint32_t *use_start;
    uint32_t *use_pattern;
    uint32_t *use_counter;
    uint8_t *counter_need;
    size_t ncounters;
    uint64_t serial; /* unique per loaded set: tells a scratch when its
                        Hyperscan part was sized for another database */
};

struct hb_rules_scratch {
    pcre2_match_data *match;
    pcre2_match_context *context;
    pcre2_jit_stack *jit_stack;
    hs_scratch_t *hs;       /* NULL until the first prefiltered match */
    uint64_t hs_serial;     /* serial of the set hs was sized for, 0: none */
    uint64_t *candidates;   /* bitset over ids, filled per message */
    size_t ncandidate_words;
    uint8_t *counters;      /* pieces seen per branch, per message */
    size_t ncounters;
    int prefilter;          /* hb_rules_scratch_set_prefilter */
};

/* Source of hb_rules.serial.  A database's address cannot identify it:
 * after a reload the new one is likely to be allocated where the old one
 * was, and a scratch sized for the old one may be too small for the new. */
static atomic_uint_fast64_t next_serial = 1;

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
    hs_free_database(rules->prefilter);
    free(rules->always);
    free(rules->exact);
    free(rules->use_start);
    free(rules->use_pattern);
    free(rules->use_counter);
    free(rules->counter_need);
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
    int active;      /* a header has been read */
    int have_weight;
} pending;

/* Compile one pattern into *out.  Returns 0, or an error with err naming
 * origin:line, PCRE2's message and the offset in the pattern. */
static int compile_pattern(const char *pat, size_t n, const char *origin,
                           size_t line, pcre2_code **out, hb_error *err)
{
    int errcode = 0;
    PCRE2_SIZE erroff = 0;
    /* UTF + UCP: \w, \b, \d and [[:alpha:]] understand Chinese.
     * NEVER_BACKSLASH_C: \C could match half a character and yield a hit
     * span that is not on a code point boundary, which the evidence
     * highlighter (hb_text_source_span) relies on. */
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pat, n,
                                     PCRE2_UTF | PCRE2_UCP |
                                         PCRE2_NEVER_BACKSLASH_C,
                                     &errcode, &erroff, NULL);
    if (!code) {
        if (errcode == PCRE2_ERROR_NOMEMORY)
            return hb_error_set(err, HB_ENOMEM,
                                "%s:%zu: out of memory compiling pattern",
                                origin, line);
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(errcode, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "PCRE2 error %d", errcode);
        return hb_error_set(err, HB_EFORMAT,
                            "%s:%zu: bad pattern: %s at offset %zu", origin,
                            line, (const char *)msg, (size_t)erroff);
    }
    /* JIT is an optimisation: if this platform or build has none
     * (PCRE2_ERROR_JIT_BADOPTION) or it runs out of executable memory,
     * pcre2_match uses the interpreter, under the same limits. */
    (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    *out = code;
    return 0;
}

/* Compile a `pattern` or `unless` line and append it to the rule. */
static int add_pattern(pending *p, int is_unless, const char *v, size_t vn,
                       const char *file, size_t line, hb_error *err)
{
    pattern **arr = is_unless ? &p->r.unless : &p->r.patterns;
    size_t *cnt = is_unless ? &p->r.nunless : &p->r.npatterns;
    size_t *cap = is_unless ? &p->cap_unless : &p->cap_patterns;
    if (hb_grow((void **)arr, cap, *cnt + 1, sizeof(pattern)))
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    pcre2_code *code = NULL;
    int rc = compile_pattern(v, vn, file, line, &code, err);
    if (rc)
        return rc;
    char *source = dup_range(v, vn);
    if (!source) {
        pcre2_code_free(code);
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    }
    (*arr)[*cnt].code = code;
    (*arr)[*cnt].source = source;
    (*cnt)++;
    return 0;
}

/* Move a finished pending rule into the set, after checking it has every
 * required key.  Returns 0 or a negative code with err set. */
static int finish_rule(hb_rules *set, pending *p, const char *origin,
                       hb_error *err)
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
        return hb_error_set(err, HB_EFORMAT,
                            "%s:%d: rule '%s' has no '%s' (required)",
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
                            "%s:%zu: rule header must look like [rule.id]",
                            file, line);
    const char *id = s + 1;
    size_t idn = n - 2;
    trim(&id, &idn);
    if (!is_ident(id, idn, 1))
        return hb_error_set(err, HB_EFORMAT,
                            "%s:%zu: bad rule id '%.*s' (use a-z 0-9 _ . -)",
                            file, line, (int)(idn > 100 ? 100 : idn), id);
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
static int set_once(const char **slot, const char *key, const char *v,
                    size_t vn, const char *file, size_t line, hb_error *err)
{
    if (*slot)
        return hb_error_set(err, HB_EFORMAT, "%s:%zu: '%s' given twice",
                            file, line, key);
    char *copy = dup_range(v, vn);
    if (!copy)
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    *slot = copy;
    return 0;
}

/* Handle one `key = value` line of the current rule. */
static int rule_key(pending *p, const char *key, size_t kn, const char *v,
                    size_t vn, const char *file, size_t line, hb_error *err)
{
#define KEY_IS(name) (kn == sizeof(name) - 1 && memcmp(key, name, kn) == 0)
    if (!(KEY_IS("task") || KEY_IS("type") || KEY_IS("weight") ||
          KEY_IS("description") || KEY_IS("description_zh") ||
          KEY_IS("pattern") || KEY_IS("unless")))
        return hb_error_set(err, HB_EFORMAT,
                            "%s:%zu: unknown key '%.*s' (known: task, type, "
                            "weight, pattern, unless, description, "
                            "description_zh)",
                            file, line, (int)(kn > 60 ? 60 : kn), key);
    if (vn == 0)
        return hb_error_set(err, HB_EFORMAT, "%s:%zu: '%.*s' has no value",
                            file, line, (int)kn, key);
    if (KEY_IS("task") || KEY_IS("type")) {
        if (!is_ident(v, vn, 0))
            return hb_error_set(err, HB_EFORMAT,
                                "%s:%zu: bad %.*s '%.*s' (use a-z 0-9 _)",
                                file, line, (int)kn, key,
                                (int)(vn > 100 ? 100 : vn), v);
        return set_once(KEY_IS("task") ? &p->r.info.task : &p->r.info.type,
                        KEY_IS("task") ? "task" : "type", v, vn, file, line,
                        err);
    }
    if (KEY_IS("weight")) {
        double w;
        if (p->have_weight)
            return hb_error_set(err, HB_EFORMAT, "%s:%zu: 'weight' given twice",
                                file, line);
        if (parse_weight(v, vn, &w) || !isfinite(w) || fabs(w) > MAX_WEIGHT)
            return hb_error_set(err, HB_EFORMAT,
                                "%s:%zu: bad weight '%.*s' (want a decimal "
                                "number such as 1.5 or -0.5, at most %g in "
                                "size)",
                                file, line, (int)(vn > 100 ? 100 : vn), v,
                                MAX_WEIGHT);
        p->r.info.weight = w;
        p->have_weight = 1;
        return 0;
    }
    if (KEY_IS("description"))
        return set_once(&p->r.info.description, "description", v, vn, file,
                        line, err);
    if (KEY_IS("description_zh"))
        return set_once(&p->r.info.description_zh, "description_zh", v, vn,
                        file, line, err);
    return add_pattern(p, KEY_IS("unless"), v, vn, file, line, err);
#undef KEY_IS
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
static int parse_into(hb_rules *set, const char *text, size_t len,
                      const char *origin, hb_error *err)
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
        if (!p.active) {
            rc = hb_error_set(err, HB_EFORMAT,
                              "%s:%zu: '%.*s' before the first [rule.id] "
                              "header",
                              file, line, (int)(kn > 60 ? 60 : kn), key);
            continue;
        }
        rc = rule_key(&p, key, kn, v, vn, file, line, err);
    }
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

/* ------------------------------------------------------------------ */
/* Prefilter: rewriting a pattern for Hyperscan                        */

/* The rewriter reads a pattern PCRE2 has already accepted and writes a
 * widened copy for Hyperscan: regexes whose language contains the
 * original's, written only in syntax both engines read the same way and
 * whose meaning does not depend on Unicode tables or newline conventions.
 * Anything it is unsure about makes it refuse, and a refused pattern is a
 * fallback: refusing costs speed, a wrong rewrite would cost hits.
 *
 * The copy is a disjunction of conjunctions.  Each top-level alternative
 * ("branch") is cut at its top-level gaps - items that may repeat zero
 * times, such as [^。!?]{0,20} or .* - into "pieces", and the gaps are
 * dropped: a branch can only match a text in which each of its pieces
 * matches somewhere, so the pattern is a candidate when every piece of
 * one of its branches is found.  Hyperscan scans pieces much faster than
 * whole branches (a gap over a multi-byte class is a large automaton, and
 * it is what made compiling the shipped rules take seconds).  A piece
 * that can match the empty string constrains nothing and is dropped; a
 * branch left without pieces matches every text, so the pattern is a
 * fallback.  Pieces are written NUL-terminated, each with its branch.
 *
 * When nothing had to be widened (no gap, no class or assertion dropped
 * or replaced, no bounded repeat), the copy is exact: it matches exactly
 * what the original matches, so Hyperscan can be asked for real matches
 * (no HS_FLAG_PREFILTER) and its report is an answer, not a candidate. */
typedef struct rewriter {
    const char *p; /* the pattern */
    size_t n, i;   /* its length, read position */
    char *out;     /* the pieces, each NUL-terminated */
    size_t len, cap;
    uint32_t *branch; /* branch[k]: branch of the k-th piece */
    size_t npieces, cap_pieces;
    uint32_t nbranches;
    int emit;    /* 0 inside a lookaround, which is dropped */
    int refused; /* syntax we do not rewrite (or out of memory) */
    int widened; /* the copy matches more than the original */
} rewriter;

/* Pieces kept per branch at most; a branch with more keeps its first
 * ones (requiring fewer pieces is still a sound filter).  Bounds the
 * per-scan counters, which are bytes. */
#define PREFILTER_MAX_PIECES 255u

static const char ANY_CHAR[] = "(?s:.)";

static void rw_refuse(rewriter *w)
{
    w->refused = 1;
    w->i = w->n; /* stops every loop */
}

static void rw_put(rewriter *w, const char *s, size_t n)
{
    if (!w->emit || w->refused)
        return;
    if (hb_grow((void **)&w->out, &w->cap, w->len + n + 1, 1)) {
        rw_refuse(w);
        return;
    }
    memcpy(w->out + w->len, s, n);
    w->len += n;
}

static int rw_peek(const rewriter *w)
{
    return w->i < w->n ? (unsigned char)w->p[w->i] : -1;
}

/* Bytes in the UTF-8 sequence starting with lead byte c (the pattern is
 * valid UTF-8, checked at load). */
static size_t utf8_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* Copy one literal character at w->i (an ASCII byte or a whole UTF-8
 * sequence). */
static void rw_copy_char(rewriter *w)
{
    size_t k = utf8_len((unsigned char)w->p[w->i]);
    if (k > w->n - w->i) {
        rw_refuse(w);
        return;
    }
    rw_put(w, w->p + w->i, k);
    w->i += k;
}

/* Write code point cp as a literal: \xHH for ASCII, so that no character
 * is special, else its UTF-8 bytes (Hyperscan could read \xHH above 0x7F
 * as a byte rather than a character). */
static void rw_put_cp(rewriter *w, uint32_t cp)
{
    char buf[8];
    size_t k;
    if (cp < 0x80) {
        snprintf(buf, sizeof buf, "\\x%02X", (unsigned)cp);
        k = 4;
    } else if (cp < 0x800) {
        buf[0] = (char)(0xC0 | (cp >> 6));
        buf[1] = (char)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        buf[0] = (char)(0xE0 | (cp >> 12));
        buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[2] = (char)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        buf[0] = (char)(0xF0 | (cp >> 18));
        buf[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        buf[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[3] = (char)(0x80 | (cp & 0x3F));
        k = 4;
    }
    rw_put(w, buf, k);
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Read up to max digits of base 8 or 16 at w->i into *cp; with braces,
 * read "{digits}" instead.  Returns 0, or -1 when malformed or above
 * U+10FFFF. */
static int rw_number(rewriter *w, int base, size_t max, int braces,
                     uint32_t *cp)
{
    uint32_t v = 0;
    size_t digits = 0;
    if (braces) {
        if (rw_peek(w) != '{')
            return -1;
        w->i++;
        max = 8;
    }
    while (digits < max && w->i < w->n) {
        int d = hex_value(w->p[w->i]);
        if (d < 0 || d >= base)
            break;
        v = v * (uint32_t)base + (uint32_t)d;
        w->i++;
        digits++;
    }
    if (braces) {
        if (digits == 0 || rw_peek(w) != '}')
            return -1;
        w->i++;
    }
    if (v > 0x10FFFF)
        return -1;
    *cp = v;
    return 0;
}

/* What an escape turned out to be. */
enum esc { ESC_CHAR, ESC_CLASS, ESC_ASSERT, ESC_REFUSE };

/* Read the escape at w->i (pointing at the backslash).  Literal
 * characters are written (ESC_CHAR); for a table-dependent class (\d \s
 * \w \h \v \p{..} and their negations, \N) and a zero-width assertion
 * (\b \B \A \z \Z \G) nothing is written and the caller decides.  in_class
 * selects the meaning of \b (backspace inside a class). */
static enum esc rw_escape(rewriter *w, int in_class)
{
    if (w->n - w->i < 2)
        return ESC_REFUSE;
    unsigned char c = (unsigned char)w->p[w->i + 1];
    w->i += 2;
    uint32_t cp = 0;
    switch (c) {
    case 'd': case 'D': case 's': case 'S': case 'w': case 'W':
    case 'h': case 'H': case 'v': case 'V':
        return ESC_CLASS;
    case 'N': /* any but newline, or \N{U+..}: not worth translating */
        if (in_class || rw_peek(w) == '{')
            return ESC_REFUSE;
        return ESC_CLASS;
    case 'p': case 'P':
        if (w->i >= w->n)
            return ESC_REFUSE;
        if (rw_peek(w) == '{') {
            while (w->i < w->n && w->p[w->i] != '}')
                w->i++;
            if (w->i == w->n)
                return ESC_REFUSE;
        }
        w->i++;
        return ESC_CLASS;
    case 'b':
        if (in_class) {
            rw_put_cp(w, 0x08);
            return ESC_CHAR;
        }
        return ESC_ASSERT;
    case 'B': case 'A': case 'z': case 'Z': case 'G':
        return in_class ? ESC_REFUSE : ESC_ASSERT;
    case 'x':
        if (rw_number(w, 16, 2, rw_peek(w) == '{', &cp))
            return ESC_REFUSE;
        break;
    case 'o':
        if (rw_number(w, 8, 0, 1, &cp))
            return ESC_REFUSE;
        break;
    case '0':
        if (rw_number(w, 8, 2, 0, &cp))
            return ESC_REFUSE;
        break;
    case 't': cp = 0x09; break;
    case 'n': cp = 0x0A; break;
    case 'r': cp = 0x0D; break;
    case 'f': cp = 0x0C; break;
    case 'e': cp = 0x1B; break;
    case 'a': cp = 0x07; break;
    case 'c': {
        /* \cX: X upper-cased, bit 6 flipped; PCRE2 allows printable
         * ASCII only. */
        int x = rw_peek(w);
        if (x < 0x20 || x > 0x7E)
            return ESC_REFUSE;
        if (x >= 'a' && x <= 'z')
            x -= 32;
        cp = (uint32_t)x ^ 0x40;
        w->i++;
        break;
    }
    default:
        if (c >= 0x80) {
            /* \ before a non-ASCII character: the character itself. */
            w->i--;
            rw_copy_char(w);
            return ESC_CHAR;
        }
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
            (c >= 'A' && c <= 'Z'))
            return ESC_REFUSE; /* backreferences, \Q, \K, \R, \X, ... */
        cp = c; /* escaped punctuation */
        break;
    }
    rw_put_cp(w, cp);
    return ESC_CHAR;
}

/* Read the bracket class at w->i.  Writes it (translated) unless it is
 * negated or uses a table-dependent class, in which case nothing is
 * written and *any is set: the caller writes "any character" instead.
 * (A negated class is, in UTF-8, a large automaton: [^。!?]{16} alone
 * takes Hyperscan a second to compile, "any character" a millisecond.) */
static void rw_class(rewriter *w, int *any)
{
    size_t mark = w->len;
    *any = 0;
    w->i++; /* [ */
    rw_put(w, "[", 1);
    if (rw_peek(w) == '^') {
        *any = 1;
        w->i++;
    }
    int first = 1;
    while (!w->refused) {
        int c = rw_peek(w);
        if (c < 0) {
            rw_refuse(w);
            break;
        }
        if (c == ']' && !first) {
            w->i++;
            break;
        }
        first = 0;
        if (c == '\\') {
            enum esc e = rw_escape(w, 1);
            if (e == ESC_REFUSE)
                rw_refuse(w);
            else if (e == ESC_CLASS)
                *any = 1;
        } else if (c == '[') {
            rw_refuse(w); /* POSIX [:alpha:] and friends */
        } else if (c == ']') {
            w->i++;
            rw_put_cp(w, ']');
        } else {
            rw_copy_char(w);
        }
    }
    if (*any && w->emit)
        w->len = mark;
    else
        rw_put(w, "]", 1);
}

/* Read a quantifier at w->i, if any.  Returns 0 if there is none; else 1
 * with *min set to its lower bound (capped at PREFILTER_MAX_REPEAT) and
 * *optional set for a plain ? (which stays as it is; every other
 * quantifier is widened to "at least *min"); *exact tells whether that
 * changes nothing (*, +, ?, and {m,} with m under the cap).  A lazy ? is
 * skipped: laziness does not change whether a match exists.  A possessive
 * quantifier, a '{' that is not a quantifier (PCRE2 versions disagree on
 * "{,n}") and a quantifier of a quantifier are refused. */
static int rw_quantifier(rewriter *w, unsigned *min, int *optional,
                         int *exact)
{
    int c = rw_peek(w);
    *optional = c == '?';
    *exact = 1;
    if (c == '*' || c == '?') {
        *min = 0;
        w->i++;
    } else if (c == '+') {
        *min = 1;
        w->i++;
    } else if (c == '{') {
        size_t i = w->i + 1;
        unsigned lo = 0;
        size_t digits = 0;
        while (i < w->n && w->p[i] >= '0' && w->p[i] <= '9') {
            if (lo < 100000)
                lo = lo * 10 + (unsigned)(w->p[i] - '0');
            i++;
            digits++;
        }
        if (digits == 0) {
            rw_refuse(w);
            return 0;
        }
        *exact = 0;
        if (i < w->n && w->p[i] == ',') {
            i++;
            *exact = i < w->n && w->p[i] == '}' && lo <= PREFILTER_MAX_REPEAT;
            while (i < w->n && w->p[i] >= '0' && w->p[i] <= '9')
                i++;
        }
        if (i >= w->n || w->p[i] != '}') {
            rw_refuse(w);
            return 0;
        }
        w->i = i + 1;
        *min = lo < PREFILTER_MAX_REPEAT ? lo : PREFILTER_MAX_REPEAT;
    } else {
        return 0;
    }
    if (rw_peek(w) == '?')
        w->i++;
    c = rw_peek(w);
    if (c == '+' || c == '*' || c == '?' || c == '{')
        rw_refuse(w);
    return 1;
}

/* Write the widened quantifier: {m,} for any {m,n}, {m} or {m,}. */
static void rw_put_quantifier(rewriter *w, unsigned min)
{
    if (min == 0) {
        rw_put(w, "*", 1);
    } else if (min == 1) {
        rw_put(w, "+", 1);
    } else {
        char buf[16];
        int k = snprintf(buf, sizeof buf, "{%u,}", min);
        rw_put(w, buf, (size_t)k);
    }
}

static int rw_alternatives(rewriter *w, int depth);

/* What rw_item found. */
#define ITEM_NULLABLE 1 /* can match the empty string */
#define ITEM_GAP 2      /* a top-level gap: nothing written, cut here */

/* Read one item (an atom and its quantifier).  Returns ITEM_ flags. */
static int rw_item(rewriter *w, int depth)
{
    int c = rw_peek(w);
    size_t mark = w->len;
    int nullable = 0;
    int zero_width = 0; /* dropped or an anchor: must not be quantified */
    if (c == '\\') {
        enum esc e = rw_escape(w, 0);
        if (e == ESC_REFUSE) {
            rw_refuse(w);
        } else if (e == ESC_CLASS) {
            rw_put(w, ANY_CHAR, sizeof ANY_CHAR - 1);
            w->widened = 1;
        } else if (e == ESC_ASSERT) {
            zero_width = nullable = 1;
            w->widened = 1;
        }
    } else if (c == '[') {
        int any;
        rw_class(w, &any);
        if (any) {
            rw_put(w, ANY_CHAR, sizeof ANY_CHAR - 1);
            w->widened = 1;
        }
    } else if (c == '(') {
        const char *q = w->p + w->i;
        size_t left = w->n - w->i;
        size_t skip = 0;
        int look = 0;
        if (left >= 3 && q[1] == '?' && (q[2] == '=' || q[2] == '!')) {
            look = 1;
            skip = 3;
        } else if (left >= 4 && q[1] == '?' && q[2] == '<' &&
                   (q[3] == '=' || q[3] == '!')) {
            look = 1;
            skip = 4;
        } else if (left >= 3 && q[1] == '?' && q[2] == ':') {
            skip = 3;
        } else if (left >= 2 && q[1] != '?' && q[1] != '*') {
            skip = 1;
        } else if (left >= 3 && q[1] == '?' &&
                   (q[2] == '<' || q[2] == '\'' ||
                    (left >= 4 && q[2] == 'P' && q[3] == '<'))) {
            /* named group: (?<name> (?'name' (?P<name> */
            size_t k = q[2] == 'P' ? 4 : 3;
            char close = q[2] == '\'' ? '\'' : '>';
            while (k < left && (q[k] == '_' || (q[k] >= '0' && q[k] <= '9') ||
                                (q[k] >= 'a' && q[k] <= 'z') ||
                                (q[k] >= 'A' && q[k] <= 'Z')))
                k++;
            if (k < left && q[k] == close)
                skip = k + 1;
        }
        if (skip == 0 || depth >= PREFILTER_MAX_DEPTH) {
            rw_refuse(w); /* options, atomic groups, conditionals, ... */
            return 0;
        }
        w->i += skip;
        int saved = w->emit;
        if (look)
            w->emit = 0;
        rw_put(w, "(?:", 3);
        nullable = rw_alternatives(w, depth + 1);
        if (rw_peek(w) != ')') {
            rw_refuse(w);
            return 0;
        }
        w->i++;
        rw_put(w, ")", 1);
        w->emit = saved;
        if (look)
            zero_width = nullable = w->widened = 1;
    } else if (c == '.') {
        w->i++;
        rw_put(w, ANY_CHAR, sizeof ANY_CHAR - 1);
        w->widened = 1;
    } else if (c == '^') {
        w->i++;
        rw_put(w, "^", 1);
        zero_width = nullable = 1;
    } else if (c == '$') {
        w->i++;
        zero_width = nullable = w->widened = 1;
    } else if (c == '*' || c == '+' || c == '?' || c == '{') {
        rw_refuse(w);
        return 0;
    } else if (c == ']' || c == '}') {
        w->i++;
        rw_put_cp(w, (uint32_t)c);
    } else {
        rw_copy_char(w);
    }
    if (w->refused)
        return 0;

    unsigned min;
    int optional, exact;
    if (rw_quantifier(w, &min, &optional, &exact)) {
        if (zero_width) {
            rw_refuse(w);
            return 0;
        }
        /* Counted repeats cost Hyperscan states: nested, they multiply
         * (((x{16}){16}){16} is 4096 of them), and over a character that
         * is several bytes in UTF-8, each is a small automaton.  So only
         * a single ASCII character keeps its count; anything else
         * repeats at least once, whatever the count. */
        int wide = c == '(' || c == '.' || c == '[' || c == '\\';
        if (c == '[' || c == '\\') {
            /* A class or an escape is narrow if it was written out with
             * ASCII bytes only, and is not "any character". */
            wide = !w->emit ||
                   (w->len - mark == sizeof ANY_CHAR - 1 &&
                    memcmp(w->out + mark, ANY_CHAR, sizeof ANY_CHAR - 1) == 0);
            for (size_t k = mark; k < w->len && !wide; k++)
                wide = (unsigned char)w->out[k] >= 0x80;
        } else if (c >= 0x80) {
            wide = 1;
        }
        if (wide && min > 1) {
            min = 1;
            exact = 0;
        }
        if (!exact)
            w->widened = 1;
        if (min == 0 && !optional && depth == 0) {
            if (w->emit)
                w->len = mark;
            w->widened = 1;
            return ITEM_NULLABLE | ITEM_GAP;
        }
        if (min == 0)
            nullable = 1;
        if (optional)
            rw_put(w, "?", 1);
        else
            rw_put_quantifier(w, min);
    }
    return nullable ? ITEM_NULLABLE : 0;
}

/* End the piece being written at depth 0, which started at *start: keep
 * it if it cannot match the empty string (and the branch has room),
 * else forget it. */
static void rw_end_piece(rewriter *w, size_t *start, int *nullable,
                         uint32_t *kept)
{
    if (*kept >= PREFILTER_MAX_PIECES)
        w->widened = 1;
    if (!*nullable && w->len > *start && *kept < PREFILTER_MAX_PIECES) {
        rw_put(w, "", 1); /* its NUL */
        if (hb_grow((void **)&w->branch, &w->cap_pieces, w->npieces + 1,
                 sizeof *w->branch)) {
            rw_refuse(w);
            return;
        }
        w->branch[w->npieces++] = w->nbranches;
        (*kept)++;
    } else {
        w->len = *start;
    }
    *start = w->len;
    *nullable = 1;
}

/* Read alternatives up to a ')' or the end.  At depth 0 each one is a
 * branch, cut into pieces.  Returns 1 if any alternative can match the
 * empty string (at depth 0: if a branch was left without pieces). */
static int rw_alternatives(rewriter *w, int depth)
{
    int any_nullable = 0;
    for (;;) {
        int nullable = 1;     /* of the alternative (depth > 0) */
        size_t start = w->len; /* of the piece (depth 0) */
        int piece_nullable = 1;
        uint32_t kept = 0;
        while (!w->refused) {
            int c = rw_peek(w);
            if (c < 0 || c == '|' || c == ')')
                break;
            int item = rw_item(w, depth);
            if (item & ITEM_GAP) {
                rw_end_piece(w, &start, &piece_nullable, &kept);
            } else if (!(item & ITEM_NULLABLE)) {
                nullable = 0;
                piece_nullable = 0;
            }
        }
        if (depth == 0) {
            rw_end_piece(w, &start, &piece_nullable, &kept);
            nullable = kept == 0;
            w->nbranches++;
        }
        any_nullable |= nullable;
        if (rw_peek(w) != '|')
            break;
        w->i++;
        if (depth > 0)
            rw_put(w, "|", 1);
    }
    return any_nullable;
}

/* Rewrite pattern src for the prefilter into w (which the caller frees
 * with free(w->out), free(w->branch)).  Returns 0, or -1 if the pattern is
 * a fallback (refused, or a branch can match the empty string). */
static int prefilter_rewrite(const char *src, rewriter *w)
{
    memset(w, 0, sizeof *w);
    w->p = src;
    w->n = strlen(src);
    w->emit = 1;
    int nullable = rw_alternatives(w, 0);
    if (w->i < w->n) /* a stray ')' */
        rw_refuse(w);
    return w->refused || nullable ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Prefilter: building the database                                    */

static void bit_set(uint64_t *bits, size_t i)
{
    bits[i >> 6] |= UINT64_C(1) << (i & 63);
}

static int bit_test(const uint64_t *bits, size_t i)
{
    return (int)((bits[i >> 6] >> (i & 63)) & 1);
}

/* A piece as the builder sees it: its text, the pattern id of its branch
 * and the branch's counter (or NO_COUNTER). */
typedef struct piece_use {
    const char *text;
    uint32_t pattern;
    uint32_t counter;
} piece_use;

static int cmp_uses(const void *a, const void *b)
{
    return strcmp(((const piece_use *)a)->text, ((const piece_use *)b)->text);
}

#define PREFILTER_FLAGS                                                     \
    (HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH | HS_FLAG_UTF8 | HS_FLAG_UCP)
#define EXACT_FLAGS (HS_FLAG_SINGLEMATCH | HS_FLAG_UTF8 | HS_FLAG_UCP)

/* Gather the pieces of every pattern that is not a fallback into uses
 * (numbering the counters of branches of several pieces), sort them by
 * text and make one expression per distinct text in exprs / flags /
 * set->use_start, exact if any of its users is.  Returns the number of
 * expressions. */
static size_t gather_pieces(hb_rules *set, const rewriter *rw,
                            piece_use *uses, const char **exprs,
                            unsigned *flags)
{
    size_t nuses = 0, ncounters = 0;
    for (size_t id = 0; id < set->nids; id++) {
        if (bit_test(set->always, id))
            continue;
        const rewriter *w = &rw[id];
        const char *text = w->out;
        for (size_t k = 0; k < w->npieces;) {
            size_t end = k + 1; /* a branch's pieces are consecutive */
            while (end < w->npieces && w->branch[end] == w->branch[k])
                end++;
            uint32_t counter = NO_COUNTER;
            if (end - k > 1) {
                counter = (uint32_t)ncounters;
                set->counter_need[ncounters++] = (uint8_t)(end - k);
            }
            for (; k < end; k++, text += strlen(text) + 1)
                uses[nuses++] = (piece_use){text, (uint32_t)id, counter};
        }
    }
    set->ncounters = ncounters;
    qsort(uses, nuses, sizeof *uses, cmp_uses);
    size_t n = 0;
    for (size_t u = 0; u < nuses; u++) {
        if (u == 0 || strcmp(uses[u].text, uses[u - 1].text) != 0) {
            exprs[n] = uses[u].text;
            flags[n] = PREFILTER_FLAGS;
            set->use_start[n++] = (uint32_t)u;
        }
        if (bit_test(set->exact, uses[u].pattern))
            flags[n - 1] = EXACT_FLAGS;
        set->use_pattern[u] = uses[u].pattern;
        set->use_counter[u] = uses[u].counter;
    }
    set->use_start[n] = (uint32_t)nuses;
    return n;
}

/* Build the prefilter of set from its loaded rules.  Hyperscan failures
 * are not errors: an expression Hyperscan refuses in exact mode is tried
 * again in prefilter mode, one it refuses in prefilter mode makes its
 * patterns fallbacks, and if Hyperscan fails as a whole every pattern is
 * one.  Returns 0 or HB_ENOMEM. */
static int build_prefilter(hb_rules *set, hb_error *err)
{
    size_t nids = 0;
    for (size_t i = 0; i < set->count; i++) {
        rule *r = &set->rules[i];
        r->first_id = (uint32_t)nids;
        nids += r->npatterns + r->nunless;
    }
    if (nids > UINT32_MAX / 2) /* ids are 32-bit; not reachable in
                                  practice (16 MiB per file) */
        return hb_error_set(err, HB_ENOMEM, "too many patterns (%zu)", nids);
    set->nids = nids;
    set->always = calloc(nids / 64 + 1, sizeof(uint64_t));
    set->exact = calloc(nids / 64 + 1, sizeof(uint64_t));
    rewriter *rw = calloc(nids ? nids : 1, sizeof *rw);
    piece_use *uses = NULL;
    const char **exprs = NULL;
    unsigned *flags = NULL, *ids = NULL;
    int rc = 0;
    if (!set->always || !set->exact || !rw) {
        rc = hb_error_set(err, HB_ENOMEM, "out of memory");
        goto done;
    }
    size_t total = 0;
    for (size_t i = 0; i < set->count; i++) {
        const rule *r = &set->rules[i];
        for (size_t k = 0; k < r->npatterns + r->nunless; k++) {
            size_t id = r->first_id + k;
            const pattern *p = k < r->npatterns ? &r->patterns[k]
                                                : &r->unless[k - r->npatterns];
            if (prefilter_rewrite(p->source, &rw[id])) {
                bit_set(set->always, id);
                continue;
            }
            if (!rw[id].widened)
                bit_set(set->exact, id);
            total += rw[id].npieces;
        }
    }
    size_t room = total + 1;
    uses = malloc(room * sizeof *uses);
    exprs = malloc(room * sizeof *exprs);
    flags = malloc(room * sizeof *flags);
    ids = malloc(room * sizeof *ids);
    set->use_start = malloc(room * sizeof *set->use_start);
    set->use_pattern = malloc(room * sizeof *set->use_pattern);
    set->use_counter = malloc(room * sizeof *set->use_counter);
    set->counter_need = malloc(room * sizeof *set->counter_need);
    if (!uses || !exprs || !flags || !ids || !set->use_start ||
        !set->use_pattern || !set->use_counter || !set->counter_need) {
        rc = hb_error_set(err, HB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < room; i++)
        ids[i] = (unsigned)i;
    /* Compile; when Hyperscan names an expression it refuses, demote its
     * users (exact to prefiltered, prefiltered to fallback) and try
     * again.  Each round demotes a pattern, so this ends. */
    for (;;) {
        size_t n = gather_pieces(set, rw, uses, exprs, flags);
        if (n == 0)
            break;
        hs_compile_error_t *cerr = NULL;
        hs_error_t hrc = hs_compile_multi(exprs, flags, ids, (unsigned)n,
                                          HS_MODE_BLOCK, NULL,
                                          &set->prefilter, &cerr);
        if (hrc == HS_SUCCESS)
            break;
        int bad = cerr ? cerr->expression : -1;
        if (cerr)
            hs_free_compile_error(cerr);
        set->prefilter = NULL;
        if (bad < 0 || (size_t)bad >= n) {
            /* Not one expression's fault (memory, a resource limit): no
             * prefilter at all. */
            for (size_t id = 0; id < nids; id++)
                bit_set(set->always, id);
            break;
        }
        for (uint32_t u = set->use_start[bad]; u < set->use_start[bad + 1];
             u++) {
            uint32_t id = set->use_pattern[u];
            if (flags[bad] == EXACT_FLAGS)
                set->exact[id >> 6] &= ~(UINT64_C(1) << (id & 63));
            else
                bit_set(set->always, id);
        }
    }
    for (size_t id = 0; id < nids; id++) {
        if (bit_test(set->always, id)) {
            set->exact[id >> 6] &= ~(UINT64_C(1) << (id & 63));
            set->nfallbacks++;
        }
    }
    set->serial = (uint64_t)atomic_fetch_add(&next_serial, 1);
done:
    if (rw)
        for (size_t id = 0; id < nids; id++) {
            free(rw[id].out);
            free(rw[id].branch);
        }
    free(rw);
    free(uses);
    free(exprs);
    free(flags);
    free(ids);
    return rc;
}

/* Finish a freshly parsed set: build its prefilter.  Returns set, or
 * NULL (set freed) with err filled in. */
static hb_rules *finish_set(hb_rules *set, hb_error *err)
{
    if (build_prefilter(set, err)) {
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

hb_rules *hb_rules_parse(const char *text, size_t len, const char *origin,
                         hb_error *err)
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
static int read_file(const char *path, char **out, size_t *outlen,
                     hb_error *err)
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
        if (n > MAX_FILE_BYTES) {
            rc = hb_error_set(err, HB_ETOOBIG,
                              "%s: larger than %u bytes; not a rules file?",
                              path, MAX_FILE_BYTES);
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
                     "%s: cannot open rules directory: %s", dir,
                     strerror(errno));
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
    return rules ? rules->nfallbacks : 0;
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
    if (!s->match || !s->context || !s->jit_stack) {
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
    hs_free_scratch(scratch->hs);
    free(scratch->candidates);
    free(scratch->counters);
    free(scratch);
}

void hb_rules_scratch_set_prefilter(hb_rules_scratch *scratch, int enabled)
{
    if (scratch)
        scratch->prefilter = enabled != 0;
}

/* What the Hyperscan callback needs. */
typedef struct scan_state {
    const hb_rules *rules;
    hb_rules_scratch *scratch;
} scan_state;

/* Hyperscan's match callback: expression id was found (once at most, by
 * SINGLEMATCH).  Each pattern using it becomes a candidate if this
 * completes one of its branches.  Always goes on scanning. */
static int on_piece(unsigned int id, unsigned long long from,
                    unsigned long long to, unsigned int flags, void *context)
{
    (void)from;
    (void)to;
    (void)flags;
    const scan_state *st = context;
    const hb_rules *r = st->rules;
    for (uint32_t u = r->use_start[id]; u < r->use_start[id + 1]; u++) {
        uint32_t c = r->use_counter[u];
        if (c == NO_COUNTER || ++st->scratch->counters[c] == r->counter_need[c])
            bit_set(st->scratch->candidates, r->use_pattern[u]);
    }
    return 0;
}

/* Fill scratch->candidates for text: the fallback patterns plus every
 * pattern with a branch whose pieces the Hyperscan scan all found.  Sizes
 * the scratch for this rule set the first time it is seen (the only
 * allocation).  Returns 0, or -1 if the prefilter cannot run this time
 * (disabled, no database, no memory, a scan error): the caller then runs
 * every pattern. */
static int prefilter_scan(const hb_rules *rules, hb_rules_scratch *s,
                          const char *text, size_t len)
{
    if (!s->prefilter || !rules->prefilter)
        return -1;
    size_t words = rules->nids / 64 + 1;
    if (words > s->ncandidate_words) {
        uint64_t *c = realloc(s->candidates, words * sizeof *c);
        if (!c)
            return -1;
        s->candidates = c;
        s->ncandidate_words = words;
    }
    if (rules->ncounters > s->ncounters) {
        uint8_t *c = realloc(s->counters, rules->ncounters);
        if (!c)
            return -1;
        s->counters = c;
        s->ncounters = rules->ncounters;
    }
    if (s->hs_serial != rules->serial) {
        /* Grows s->hs if this database needs more room; on failure
         * Hyperscan frees it and sets it to NULL. */
        s->hs_serial = 0;
        if (hs_alloc_scratch(rules->prefilter, &s->hs) != HS_SUCCESS)
            return -1;
        s->hs_serial = rules->serial;
    }
    memcpy(s->candidates, rules->always, words * sizeof *s->candidates);
    if (rules->ncounters)
        memset(s->counters, 0, rules->ncounters);
    scan_state st = {rules, s};
    if (hs_scan(rules->prefilter, text, (unsigned int)len, 0, s->hs,
                on_piece, &st) != HS_SUCCESS)
        return -1;
    return 0;
}

enum outcome { NO_MATCH, MATCH, ABANDONED };

static enum outcome run(const pattern *pat, hb_rules_scratch *s,
                        const char *text, size_t len)
{
    /* NO_UTF_CHECK: the text comes from hb_normalize, which has already
     * validated it; re-checking would cost one full pass per pattern. */
    int rc = pcre2_match(pat->code, (PCRE2_SPTR)text, len, 0,
                         PCRE2_NO_UTF_CHECK, s->match, s->context);
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
static enum outcome decide_all(const rule *r, hb_rules_scratch *s,
                               const char *text, size_t len,
                               PCRE2_SIZE *start, PCRE2_SIZE *end)
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
                                    const uint64_t *exact,
                                    hb_rules_scratch *s, const char *text,
                                    size_t len, PCRE2_SIZE *start,
                                    PCRE2_SIZE *end)
{
    uint32_t id = r->first_id;
    for (size_t k = 0; k < r->npatterns; k++)
        if (!bit_test(cand, id + k))
            return NO_MATCH;
    int abandoned = 0;
    for (size_t k = 1; k < r->npatterns; k++) {
        if (bit_test(exact, id + k))
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

    id += (uint32_t)r->npatterns;
    for (size_t k = 0; k < r->nunless; k++)
        if (bit_test(cand, id + k) && bit_test(exact, id + k))
            return NO_MATCH;
    for (size_t k = 0; k < r->nunless; k++) {
        if (!bit_test(cand, id + k) || bit_test(exact, id + k))
            continue;
        o = run(&r->unless[k], s, text, len);
        if (o == MATCH)
            return NO_MATCH;
        abandoned |= o == ABANDONED;
    }
    return abandoned ? ABANDONED : MATCH;
}

int hb_rules_match(const hb_rules *rules, hb_rules_scratch *scratch,
                   const char *text, size_t len, hb_rule_hit *hits,
                   size_t max_hits, size_t *nhits, size_t *limited)
{
    if (nhits)
        *nhits = 0;
    if (limited)
        *limited = 0;
    if (!rules || !scratch || !nhits || (!text && len) ||
        (!hits && max_hits) || len > UINT32_MAX)
        return HB_EINVAL;
    if (!text)
        text = "";

    /* cand is NULL when every pattern has to run. */
    const uint64_t *cand =
        prefilter_scan(rules, scratch, text, len) == 0 ? scratch->candidates
                                                       : NULL;
    size_t n = 0, abandoned = 0;
    for (size_t i = 0; i < rules->count && n < max_hits; i++) {
        const rule *r = &rules->rules[i];
        PCRE2_SIZE start = 0, end = 0;
        enum outcome o =
            cand ? decide_filtered(r, cand, rules->exact, scratch, text, len,
                                   &start, &end)
                 : decide_all(r, scratch, text, len, &start, &end);
        if (o == ABANDONED) {
            abandoned++;
            continue;
        }
        if (o != MATCH)
            continue;
        /* \K inside a lookahead could report start > end; keep the span
         * well-formed for highlighting. */
        if (start > end)
            start = end;
        hits[n].rule = (uint32_t)i;
        hits[n].start = (uint32_t)start;
        hits[n].end = (uint32_t)end;
        n++;
    }
    *nhits = n;
    if (limited)
        *limited = abandoned;
    return 0;
}
