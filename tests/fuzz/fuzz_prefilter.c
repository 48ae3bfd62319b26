/*
 * fuzz_prefilter.c - libFuzzer target for the rules' prefilter
 * (classifier/prefilter.h): the widened patterns match wherever the
 * originals do.
 *
 * The prefilter decides which rule patterns PCRE2 runs at all, so a
 * pattern it wrongly rules out is a rule that silently stops firing.  Its
 * promise is checked here against PCRE2 itself, on fuzzed patterns and
 * texts.  The input is one pattern a line, up to the first empty line (at
 * most 8; lines PCRE2 refuses are dropped, as the rules loader would
 * refuse them), and after it the text, newlines and all.  Without an
 * empty line, the first line is the one pattern and the rest the text.
 * Aborts on the first violation of:
 *   - rewriting: a pattern is a fallback, or its pieces are NUL-terminated
 *     texts inside the buffer, in branches numbered from 0 without gaps;
 *   - the promise: when the text is valid UTF-8 (the scan's precondition)
 *     and PCRE2, compiled as the rules compile it, matches pattern k, k is
 *     a candidate; and an exact pattern that is a candidate does match
 *     (unless PCRE2 gives up at its match limit);
 *   - fallbacks (the rewriter refused them) are always candidates, and a
 *     scan may answer "cannot say" (NULL) only when every pattern is one.
 * Each pattern's own source is checked as a text too.  One scratch is
 * reused across inputs, as a worker would.
 *
 * Built and run by `make fuzz` on tests/fuzz/corpus/prefilter (and for
 * 1,000 inputs by `make test`: each compiles a Hyperscan database).
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prefilter.h"
#include "require.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PATTERNS 8

/* The rules' matching limit (rules.c): beyond it PCRE2 cannot say. */
#define MATCH_LIMIT 100000u
#define DEPTH_LIMIT 10000u

static hb_prefilter_scratch *scratch;
static pcre2_match_context *limits;

enum outcome { NO_MATCH, MATCH, UNKNOWN, BAD_TEXT };

/* Match text against code with the rules' limits.  BAD_TEXT: the text is
 * not valid UTF-8 (PCRE2 checks, since we do not pass NO_UTF_CHECK). */
static enum outcome pcre2_outcome(pcre2_code *code, const char *text, size_t len)
{
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    REQUIRE(md);
    int rc = pcre2_match(code, (PCRE2_SPTR)text, len, 0, 0, md, limits);
    pcre2_match_data_free(md);
    if (rc >= 0)
        return MATCH;
    if (rc == PCRE2_ERROR_NOMATCH)
        return NO_MATCH;
    if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21)
        return BAD_TEXT;
    return UNKNOWN;
}

/* The rewriter's output keeps its own contract; returns whether the
 * pattern is a fallback. */
static int check_rewrite(const char *pattern)
{
    hb_prefilter_pieces p;
    if (hb_prefilter_rewrite(pattern, &p) != 0) {
        REQUIRE(p.text == NULL && p.count == 0);
        return 1;
    }
    REQUIRE(p.count > 0 && p.text && p.branch && p.nbranches > 0);
    REQUIRE(p.branch[0] == 0 && p.branch[p.count - 1] == p.nbranches - 1);
    const char *t = p.text;
    for (size_t k = 0; k < p.count; k++) {
        REQUIRE(t[0] != '\0'); /* an empty piece would match everywhere */
        if (k > 0)
            REQUIRE(p.branch[k] == p.branch[k - 1] || p.branch[k] == p.branch[k - 1] + 1);
        t += strlen(t) + 1;
    }
    hb_prefilter_pieces_release(&p);
    return 0;
}

/* Scan text with pf and check its candidates against what PCRE2 says of
 * each of the n patterns. */
static void check_text(const hb_prefilter *pf, pcre2_code *const *codes,
                       const int *fallback, size_t n, const char *text, size_t len)
{
    enum outcome o[MAX_PATTERNS];
    for (size_t k = 0; k < n; k++) {
        o[k] = pcre2_outcome(codes[k], text, len);
        if (o[k] == BAD_TEXT)
            return; /* the scan's precondition does not hold */
    }
    const uint64_t *cand = hb_prefilter_scan(pf, scratch, text, len);
    if (!cand) {
        REQUIRE(hb_prefilter_fallbacks(pf) == n);
        return;
    }
    const uint64_t *exact = hb_prefilter_exact(pf);
    for (size_t k = 0; k < n; k++) {
        int is_cand = hb_prefilter_in(cand, k);
        if (o[k] == MATCH || fallback[k])
            REQUIRE(is_cand);
        if (is_cand && hb_prefilter_in(exact, k))
            REQUIRE(o[k] != NO_MATCH);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!scratch) {
        scratch = hb_prefilter_scratch_new();
        limits = pcre2_match_context_create(NULL);
        REQUIRE(scratch && limits);
        pcre2_set_match_limit(limits, MATCH_LIMIT);
        pcre2_set_depth_limit(limits, DEPTH_LIMIT);
    }
    const char *in = (const char *)data;
    const char *blank = NULL;
    for (size_t i = 0; i + 1 < size && !blank; i++)
        if (in[i] == '\n' && in[i + 1] == '\n')
            blank = in + i;
    const char *first_nl = memchr(in, '\n', size);
    const char *end_patterns = blank ? blank : first_nl ? first_nl : in + size;
    const char *text = blank ? blank + 2 : first_nl ? first_nl + 1 : in + size;
    size_t text_len = (size_t)(in + size - text);

    char *patterns[MAX_PATTERNS];
    pcre2_code *codes[MAX_PATTERNS];
    int fallback[MAX_PATTERNS];
    size_t n = 0;
    for (const char *line = in; line < end_patterns && n < MAX_PATTERNS;) {
        const char *nl = memchr(line, '\n', (size_t)(end_patterns - line));
        size_t len = (size_t)((nl ? nl : end_patterns) - line);
        int errcode;
        PCRE2_SIZE erroff;
        /* A rules file holds no NUL byte, so no pattern does. */
        pcre2_code *code =
            memchr(line, '\0', len)
                ? NULL
                : pcre2_compile((PCRE2_SPTR)line, len,
                                PCRE2_UTF | PCRE2_UCP | PCRE2_NEVER_BACKSLASH_C, &errcode,
                                &erroff, NULL);
        if (code) {
            patterns[n] = malloc(len + 1);
            REQUIRE(patterns[n]);
            memcpy(patterns[n], line, len);
            patterns[n][len] = '\0';
            codes[n] = code;
            fallback[n] = check_rewrite(patterns[n]);
            n++;
        }
        line = nl ? nl + 1 : end_patterns;
    }

    hb_error err;
    hb_prefilter *pf = hb_prefilter_new((const char *const *)patterns, n, &err);
    REQUIRE(pf || err.code == HB_ENOMEM);
    if (pf) {
        REQUIRE(hb_prefilter_fallbacks(pf) <= n && hb_prefilter_exact(pf));
        for (size_t k = 0; k < n; k++)
            REQUIRE(!(fallback[k] && hb_prefilter_in(hb_prefilter_exact(pf), k)));
        /* Compiling is what costs (Hyperscan's compiler allocates a lot,
         * and ASan makes that slow), so each database also meets the
         * patterns' own sources as texts: literal-rich, they often
         * match, which exercises the side of the promise that matters. */
        check_text(pf, codes, fallback, n, text, text_len);
        for (size_t k = 0; k < n; k++)
            check_text(pf, codes, fallback, n, patterns[k], strlen(patterns[k]));
        hb_prefilter_free(pf);
    }
    for (size_t k = 0; k < n; k++) {
        pcre2_code_free(codes[k]);
        free(patterns[k]);
    }
    return 0;
}
