/*
 * fuzz_rules.c - libFuzzer target for hb_rules_parse.
 *
 * Rules files are written by people and may arrive from a model bundle or
 * a feed, so the parser must survive any byte string: either it returns
 * NULL with an error message, or a rule set that keeps the hb_rules
 * contract.  Beyond "no crash, no sanitizer report" this checks, and
 * aborts on the first violation:
 *   - on failure, the error is one of the documented codes and the message
 *     is non-empty and starts with the origin name;
 *   - on success, every rule has a non-empty id, task and description, a
 *     finite weight, a type string (possibly ""), and can be found by id;
 *   - matching the input itself (when it is valid UTF-8, the matcher's
 *     precondition) and a fixed hostile text returns 0 with spans inside
 *     the text and in rule order.
 * One scratch is reused across inputs, as a worker would.
 *
 * Built and run by `make fuzz` on tests/fuzz/corpus/rules (and for a few
 * seconds by `make test`).
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <math.h>
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "require.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ORIGIN "fuzz.rules"

static hb_rules_scratch *scratch;

/* Valid UTF-8 per PCRE2 itself, so the check cannot drift from the
 * matcher's own notion. */
static int valid_utf8(const uint8_t *data, size_t size)
{
    int errcode;
    PCRE2_SIZE off;
    pcre2_code *any = pcre2_compile((PCRE2_SPTR) "", 0, PCRE2_UTF, &errcode, &off, NULL);
    REQUIRE(any);
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    REQUIRE(md);
    int rc = pcre2_match(any, data, size, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    pcre2_code_free(any);
    return rc >= 0;
}

static void check_match(const hb_rules *r, const char *text, size_t len)
{
    size_t count = hb_rules_count(r);
    hb_rule_hit *hits = calloc(count ? count : 1, sizeof *hits);
    REQUIRE(hits);
    size_t n = 0, limited = 0;
    REQUIRE(hb_rules_match(r, scratch, text, len, hits, count, &n, &limited) == 0);
    REQUIRE(n + limited <= count);
    for (size_t i = 0; i < n; i++) {
        REQUIRE(hits[i].rule < count);
        REQUIRE(hits[i].start <= hits[i].end && hits[i].end <= len);
        if (i > 0)
            REQUIRE(hits[i].rule > hits[i - 1].rule);
    }
    free(hits);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!scratch) {
        scratch = hb_rules_scratch_new();
        REQUIRE(scratch);
    }
    hb_error err;
    hb_rules *r = hb_rules_parse((const char *)data, size, ORIGIN, &err);
    if (!r) {
        REQUIRE(err.code == HB_EFORMAT || err.code == HB_EUTF8 || err.code == HB_EEMPTY ||
                err.code == HB_ENOMEM);
        REQUIRE(strncmp(err.message, ORIGIN, strlen(ORIGIN)) == 0 ||
                strcmp(err.message, "out of memory") == 0);
        return 0;
    }

    size_t count = hb_rules_count(r);
    REQUIRE(count > 0);
    for (size_t i = 0; i < count; i++) {
        const hb_rule_info *info = hb_rules_info(r, i);
        REQUIRE(info && info->id[0] && info->task[0] && info->description[0]);
        REQUIRE(info->type != NULL);
        REQUIRE(isfinite(info->weight));
        REQUIRE(strcmp(info->file, ORIGIN) == 0 && info->line >= 1);
        REQUIRE(hb_rules_find(r, info->id) == (long)i);
    }
    REQUIRE(hb_rules_info(r, count) == NULL);

    if (valid_utf8(data, size))
        check_match(r, (const char *)data, size);
    static const char hostile[] =
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"
        " 安全账户 转账 验证码 http://example.com/ 你好";
    check_match(r, hostile, sizeof hostile - 1);
    hb_rules_free(r);
    return 0;
}
