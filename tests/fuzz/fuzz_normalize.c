/*
 * fuzz_normalize.c - libFuzzer target for hb_normalize.
 *
 * Message text is the most exposed input Hubao has: any byte string must
 * either be rejected with HB_EUTF8 or normalise to text that keeps the
 * hb_text contract.  Beyond "no crash, no sanitizer report" this checks
 * the properties later stages rely on, and aborts on the first violation:
 *   - offsets: cp_byte strictly increasing and matching the UTF-8,
 *     src_byte non-decreasing and inside the input, the final entries;
 *   - the output is valid UTF-8 with no control characters, no leading,
 *     trailing or doubled spaces;
 *   - hb_text_source_span stays inside the input for every range.
 * One hb_text is reused across inputs, as a worker would.
 *
 * Built and run by `make fuzz` on tests/fuzz/corpus/normalize (and for a few
 * seconds by `make test`).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "normalize.h"
#include "require.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const hb_text *t, size_t size)
{
    REQUIRE(t->utf8 && strlen(t->utf8) == t->len);
    REQUIRE(t->cp_byte[t->ncps] == t->len);
    REQUIRE(t->src_byte[t->ncps] == size);
    if (t->ncps > 0) {
        REQUIRE(t->cps[0] != ' ');
        REQUIRE(t->cps[t->ncps - 1] != ' ');
    }
    size_t b = 0;
    for (size_t i = 0; i < t->ncps; i++) {
        uint32_t c = t->cps[i];
        REQUIRE(t->cp_byte[i] == b);
        REQUIRE(t->src_byte[i] < size);
        REQUIRE(i == 0 || t->src_byte[i] >= t->src_byte[i - 1]);
        REQUIRE(c >= ' ' && c != 0x7F);
        REQUIRE(!(c == ' ' && i > 0 && t->cps[i - 1] == ' '));
        utf8proc_int32_t dec;
        utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)t->utf8 + b,
                                              (utf8proc_ssize_t)(t->len - b), &dec);
        REQUIRE(n > 0 && (uint32_t)dec == c);
        b += (size_t)n;
    }
    REQUIRE(b == t->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hb_text text; /* zero-initialised: a valid empty hb_text */
    hb_error err;

    int rc = hb_normalize((const char *)data, size, &text, &err);
    if (rc != 0) {
        REQUIRE(rc == HB_EUTF8 && err.code == HB_EUTF8);
        REQUIRE(text.len == 0 && text.ncps == 0);
        return 0;
    }
    check_text(&text, size);

    /* Map a handful of code point ranges back, including empty ones. */
    for (size_t i = 0; i <= text.ncps; i += 1 + text.ncps / 8) {
        for (size_t j = i; j <= text.ncps; j += 1 + text.ncps / 4) {
            size_t s, e;
            hb_text_source_span(&text, text.cp_byte[i], text.cp_byte[j], &s, &e);
            REQUIRE(s <= e && e <= size);
        }
    }
    return 0;
}
