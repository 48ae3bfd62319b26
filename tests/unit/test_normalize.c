/*
 * test_normalize.c - unit tests for classifier/normalize.c.
 *
 * Every normalisation goes through check_norm(), which besides comparing
 * the output also verifies the structural contract of hb_text (offsets
 * monotonic, final entries, cps and utf8 agreeing), so each case below
 * doubles as a test of the provenance arrays.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <opencc.h>
#include <utf8proc.h>

#include "normalize.h"
#include "testutil.h"

/* Check the invariants every successful hb_normalize must leave behind. */
static void check_invariants(const hb_text *t, size_t srclen)
{
    assert_non_null(t->utf8);
    assert_int_equal(strlen(t->utf8), t->len);
    assert_int_equal(t->cp_byte[t->ncps], t->len);
    assert_int_equal(t->src_byte[t->ncps], srclen);
    size_t b = 0;
    for (size_t i = 0; i < t->ncps; i++) {
        assert_int_equal(t->cp_byte[i], b);
        if (i > 0)
            assert_true(t->src_byte[i] >= t->src_byte[i - 1]);
        assert_true(t->src_byte[i] < srclen);
        utf8proc_uint8_t enc[4];
        utf8proc_ssize_t n = utf8proc_encode_char((utf8proc_int32_t)t->cps[i], enc);
        assert_true(n > 0);
        assert_memory_equal(t->utf8 + b, enc, (size_t)n);
        b += (size_t)n;
    }
    assert_int_equal(b, t->len);
}

/* Normalise in (len bytes), require success and the invariants, and
 * return the normalised text. */
static const char *norm_len(hb_text *t, const char *in, size_t len)
{
    hb_error err;
    hb_error_clear(&err);
    int rc = hb_normalize(in, len, t, &err);
    if (rc != 0)
        fail_msg("hb_normalize(\"%s\") = %d: %s", in, rc, err.message);
    check_invariants(t, len);
    return t->utf8;
}

static const char *norm(hb_text *t, const char *in)
{
    return norm_len(t, in, strlen(in));
}

/* A macro so that a failure reports the line of the case, not of a
 * helper. */
#define CHECK_NORM(in, expected)                                                         \
    do {                                                                                 \
        hb_text t_;                                                                      \
        hb_text_init(&t_);                                                               \
        assert_string_equal(norm(&t_, (in)), (expected));                                \
        hb_text_release(&t_);                                                            \
    } while (0)

/* The source bytes that normalised bytes [start, end) came from. */
static void source_of(const hb_text *t, const char *src, size_t start, size_t end,
                      char *buf, size_t bufsize)
{
    size_t s, e;
    hb_text_source_span(t, start, end, &s, &e);
    assert_true(s <= e);
    assert_true(e - s < bufsize);
    memcpy(buf, src + s, e - s);
    buf[e - s] = '\0';
}

/* Source text of the first occurrence of needle in the normalised text. */
static void source_of_match(const hb_text *t, const char *src, const char *needle,
                            char *buf, size_t bufsize)
{
    const char *hit = strstr(t->utf8, needle);
    assert_non_null(hit);
    size_t start = (size_t)(hit - t->utf8);
    source_of(t, src, start, start + strlen(needle), buf, bufsize);
}

/* src normalises to want, and the match of needle there came from
 * the input's from. */
static void expect_source(const char *src, const char *want, const char *needle,
                          const char *from)
{
    hb_text t;
    hb_text_init(&t);
    assert_string_equal(norm(&t, src), want);
    char buf[64];
    source_of_match(&t, src, needle, buf, sizeof buf);
    assert_string_equal(buf, from);
    hb_text_release(&t);
}

/* ------------------------------------------------------------------ */

static void test_fullwidth(void **state)
{
    (void)state;
    CHECK_NORM("ＡＢＣ１２３", "abc123");
    CHECK_NORM("０１３８８８８８８８８", "01388888888");
    CHECK_NORM("ｅｘａｍｐｌｅ．ｃｏｍ／ｐａｔｈ：８０", "example.com/path:80");
    CHECK_NORM("ﬁnance ①② 𝐁𝐀𝐍𝐊", "finance 12 bank");
    /* Kangxi radicals; a compatibility ideograph, which becomes the
     * unified 豈 and then, that being traditional, 岂 */
    CHECK_NORM("⼀⼆三 豈", "一二三岂");
}

/* Look-alikes Unicode gives no compatibility form, folded by hand. */
static void test_fold_dingbats(void **state)
{
    (void)state;
    CHECK_NORM("日入❽❾❾", "日入899");
    CHECK_NORM("➀➁➂ ➓ ❿", "123 10 10");
    CHECK_NORM("⓫⓴ ⓵⓾ ⓿", "1120 110 0");
    CHECK_NORM("🅥🅧 🅐🅩", "vx az");
    CHECK_NORM("➕V信 ✚v", "+微信 +v");
    /* neighbours that are not look-alikes stay */
    CHECK_NORM("➔ ❤", "➔ ❤");
}

/* normalize.c folds full-width ASCII by a fixed offset and passes Chinese
 * text and its commonest punctuation through without asking utf8proc; both
 * shortcuts must agree with what utf8proc would have done.  A Chinese
 * character then goes through the traditional-to-simplified table, which
 * must agree with OpenCC on the character alone (and read a lone 帐 as
 * 账). */
static void test_fast_paths_match_utf8proc(void **state)
{
    (void)state;
    opencc_t cc = opencc_open("t2s.json");
    assert_true(cc != (opencc_t)-1);
    static const uint32_t ranges[][2] = {
        {0xFF01, 0xFF5E}, /* full-width ASCII */
        {0x3001, 0x3011}, /* CJK punctuation and brackets */
        {0x3400, 0x4DBF}, /* ext A */
        {0x4E00, 0x9FFF}, /* unified ideographs */
    };
    const utf8proc_option_t opts =
        (utf8proc_option_t)(UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK |
                            UTF8PROC_DECOMPOSE | UTF8PROC_IGNORE | UTF8PROC_LUMP);
    hb_text t;
    hb_text_init(&t);
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
        for (uint32_t cp = ranges[r][0]; cp <= ranges[r][1]; cp++) {
            utf8proc_int32_t d[32];
            utf8proc_ssize_t nd =
                utf8proc_decompose_char((utf8proc_int32_t)cp, d, 32, opts, NULL);
            assert_true(nd >= 0 && nd <= 32);
            char want[160] = "";
            size_t wlen = 0;
            for (utf8proc_ssize_t i = 0; i < nd; i++)
                wlen +=
                    (size_t)utf8proc_encode_char(d[i], (utf8proc_uint8_t *)want + wlen);
            want[wlen] = '\0';
            if (cp >= 0x3400) {
                char *simple = opencc_convert_utf8(cc, want, wlen);
                assert_non_null(simple);
                assert_true(strlen(simple) < sizeof want);
                strcpy(want, strcmp(simple, "帐") == 0 ? "账" : simple);
                opencc_convert_utf8_free(simple);
            }
            char in[5] = "";
            size_t ilen = (size_t)utf8proc_encode_char((utf8proc_int32_t)cp,
                                                       (utf8proc_uint8_t *)in);
            const char *got = norm_len(&t, in, ilen);
            if (strcmp(got, want) != 0)
                fail_msg("U+%04X: got \"%s\", utf8proc and OpenCC give "
                         "\"%s\"",
                         (unsigned)cp, got, want);
        }
    }
    hb_text_release(&t);
    opencc_close(cc);
}

static void test_case_folding(void **state)
{
    (void)state;
    CHECK_NORM("HeLLo WORLD", "hello world");
    CHECK_NORM("Straße", "strasse");
    CHECK_NORM("ÉCOLE Café naïve", "ecole cafe naive");
    CHECK_NORM("ΑΒΓ", "αβγ");
}

static void test_cjk_scripts_kept(void **state)
{
    (void)state;
    /* Kana with voicing marks and hangul syllables survive intact (per
     * character NFKD would strip the dakuten and split hangul into jamo). */
    CHECK_NORM("ガイドがぎ", "ガイドがぎ");
    CHECK_NORM("안녕하세요", "안녕하세요");
    CHECK_NORM("ｶﾀｶﾅ", "カタカナ");
}

static void test_zero_width_and_controls(void **state)
{
    (void)state;
    CHECK_NORM("pay\xe2\x80\x8bpal", "paypal"); /* U+200B */
    CHECK_NORM("微\xe2\x80\x8d信", "微信");     /* U+200D */
    CHECK_NORM("\xef\xbb\xbf"
               "abc",
               "abc"); /* BOM */
    CHECK_NORM("a\xe2\x81\xa0"
               "b\xc2\xad"
               "c",
               "abc"); /* U+2060, SHY */
    CHECK_NORM("a\xe2\x80\x8e"
               "b\xe2\x80\xae"
               "c",
               "abc"); /* LRM, RLO */
    CHECK_NORM("a\x01"
               "b\x7f"
               "c\x1b",
               "abc");
    CHECK_NORM("x\xcc\x81y", "xy"); /* lone mark */

    /* An embedded NUL is a control character like any other. */
    hb_text t;
    hb_text_init(&t);
    assert_string_equal(norm_len(&t, "a\0b", 3), "ab");
    hb_text_release(&t);
}

static void test_whitespace(void **state)
{
    (void)state;
    CHECK_NORM("  a \t\n b\r\n\vc  ", "a b c");
    CHECK_NORM("ab\xe3\x80\x80"
               "b\xc2\xa0"
               "c\xe2\x80\x83"
               "d",
               "ab b c d");
    CHECK_NORM("a\xe2\x80\xa8"
               "b\xc2\x85"
               "c",
               "a b c");                   /* LS, NEL */
    CHECK_NORM("a \xe2\x80\x8b b", "a b"); /* removal does not split a run */
    CHECK_NORM("\xe3\x80\x80hi\xe3\x80\x80", "hi");
}

static void test_empty_input(void **state)
{
    (void)state;
    hb_text t;
    hb_text_init(&t);
    assert_string_equal(norm(&t, ""), "");
    assert_int_equal(t.ncps, 0);
    assert_string_equal(norm(&t, " \t\n\xe3\x80\x80\xe2\x80\x8b  "), "");
    assert_int_equal(t.len, 0);
    assert_int_equal(t.ncps, 0);
    assert_int_equal(hb_normalize(NULL, 0, &t, NULL), 0);
    assert_string_equal(t.utf8, "");

    size_t s, e;
    hb_text_source_span(&t, 0, 0, &s, &e);
    assert_int_equal(s, 0);
    assert_int_equal(e, 0);
    hb_text_release(&t);

    hb_error err;
    assert_int_equal(hb_normalize(NULL, 3, &t, &err), HB_EINVAL);
    assert_int_equal(err.code, HB_EINVAL);
    assert_int_equal(hb_normalize("x", 1, NULL, &err), HB_EINVAL);

    /* A never-used hb_text maps any span to nothing rather than crashing. */
    hb_text fresh;
    hb_text_init(&fresh);
    hb_text_source_span(&fresh, 0, 0, &s, &e);
    assert_int_equal(e, 0);
    hb_text_release(&fresh);
    hb_text_release(NULL);
}

static void test_cjk_spacing(void **state)
{
    (void)state;
    CHECK_NORM("请转到安 全 账 户", "请转到安全账户");
    CHECK_NORM("安*全*账*户", "安全账户");
    CHECK_NORM("安 - 全_账|户~号", "安全账户号");
    CHECK_NORM("安·全.账/户`号^码", "安全账户号码");
    CHECK_NORM("安・全•账\xe2\x80\x94户", "安全账户"); /* ・ • em dash */
    CHECK_NORM("安\xe3\x80\x80\xe3\x80\x80全", "安全");
    CHECK_NORM("か な", "かな");
    /* Sentence punctuation stays (full-width ，！ fold to ASCII). */
    CHECK_NORM("你好，世界。再见、朋友！", "你好,世界。再见、朋友!");
    CHECK_NORM("你好 ， 世界", "你好 , 世界");
    /* Spaces next to non-CJK are kept: amounts and Latin words. */
    CHECK_NORM("转账 5000 元", "转账 5000 元");
    CHECK_NORM("点击 link 领取", "点击 link 领取");
    CHECK_NORM("a * b", "a * b");
    CHECK_NORM("安 * ", "安 *");
    /* Symbols and emoji inside a Chinese word are filler too; ASCII +
     * stays ("加+v"), and symbols beside non-CJK are kept. */
    CHECK_NORM("兼→职→日→结", "兼职日结");
    CHECK_NORM("【农\xe2\x9d\xa4\xef\xb8\x8f行】账 \xe2\x9d\xa4 户",
               "【农行】账户");                                     /* ❤️ */
    CHECK_NORM("动动手指\xf0\x9f\x92\xb0轻松赚", "动动手指轻松赚"); /* 💰 */
    CHECK_NORM("加+薇", "加+薇");
    CHECK_NORM("\xf0\x9f\x94\xa5特惠 \xe2\x86\x92 go",
               "\xf0\x9f\x94\xa5特惠 \xe2\x86\x92 go");
    expect_source("请转安\xe2\x98\x85全账户", "请转安全账户", "安全", "安\xe2\x98\x85全");
}

static void test_fold_wechat(void **state)
{
    (void)state;
    CHECK_NORM("加薇信", "加微信");
    CHECK_NORM("加威信", "加微信");
    CHECK_NORM("加徽信", "加微信");
    CHECK_NORM("加维信", "加微信");
    CHECK_NORM("加微亻言", "加微信");
    CHECK_NORM("亻言用卡", "信用卡");
    CHECK_NORM("加V信", "加微信");
    CHECK_NORM("加ｖ信", "加微信");
    CHECK_NORM("加vx信好友", "加微信好友");
    CHECK_NORM("薇 * 信", "微信"); /* joined first, then folded */
    CHECK_NORM("微信", "微信");
    /* Not a standalone v: left alone. */
    CHECK_NORM("xv信", "xv信");
    CHECK_NORM("加 v 信", "加 v 信");
    CHECK_NORM("加vx好友", "加vx好友");
    CHECK_NORM("薇薇", "薇薇");
    /* The look-alike ends an ordinary word: 权威 + 信息, 安徽 + 信用社. */
    CHECK_NORM("权威信息发布", "权威信息发布");
    CHECK_NORM("安徽信用社", "安徽信用社");
    CHECK_NORM("思维信念", "思维信念");
    CHECK_NORM("蔷薇信", "蔷薇信");
}

static void test_fold_qq(void **state)
{
    (void)state;
    CHECK_NORM("加扣扣123456", "加qq123456");
    CHECK_NORM("加QQ", "加qq");
    CHECK_NORM("扣款", "扣款");
    CHECK_NORM("企鹅号", "企鹅号");
}

static void test_fold_hxxp(void **state)
{
    (void)state;
    CHECK_NORM("hxxp://a.cn", "http://a.cn");
    CHECK_NORM("HXXPS://a.cn", "https://a.cn");
    CHECK_NORM("见hxxps://a.cn", "见https://a.cn");
    CHECK_NORM("ahxxp", "ahxxp");
    CHECK_NORM("hxx", "hxx");
}

static void test_fold_defanged_dots(void **state)
{
    (void)state;
    CHECK_NORM("example[.]com", "example.com");
    CHECK_NORM("example(.)com", "example.com");
    CHECK_NORM("example{.}com", "example.com");
    CHECK_NORM("example(dot)com", "example.com");
    CHECK_NORM("example[DOT]com", "example.com");
    CHECK_NORM("example{dot}com", "example.com");
    CHECK_NORM("example [dot] com", "example.com");
    CHECK_NORM("hxxps[:]//evil[.]example[.]com", "https://evil.example.com");
    CHECK_NORM("example（．）com", "example.com");
    CHECK_NORM("see (.)", "see .");
    CHECK_NORM("[.", "[.");
    CHECK_NORM("(dot", "(dot");
}

static void test_fold_numerals(void **state)
{
    (void)state;
    CHECK_NORM("加扣扣：二九七三一八四六五零", "加qq:2973184650");
    CHECK_NORM("幺三八零零幺三八零零零", "13800138000");
    CHECK_NORM("账号壹贰叁肆伍陆", "账号123456");
    CHECK_NORM("尾号〇柒捌玖〇", "尾号07890"); /* every numeral folds */
    /* words and years of four numerals or fewer stay */
    CHECK_NORM("三五成群，七七八八，二〇二四年", "三五成群,七七八八,二〇二四年");
    expect_source("号码一二三四五", "号码12345", "12345", "一二三四五");
}

static void test_fold_spelled_dot(void **state)
{
    (void)state;
    CHECK_NORM("example dot com", "example.com");
    CHECK_NORM("Visit example DOT com dot cn now", "visit example.com.cn now");
    CHECK_NORM("dot com", "dot com");
    CHECK_NORM("example dot", "example dot");
    CHECK_NORM("a dotcom", "a dotcom");
    CHECK_NORM("你 dot com", "你 dot com");
    CHECK_NORM("www dot example dot com", "www.example.com");
    CHECK_NORM("paypal dot secure.com", "paypal.secure.com");
    /* The English word stays: the next token does not look like a domain. */
    CHECK_NORM("polka dot dress", "polka dot dress");
    CHECK_NORM("a dot matrix", "a dot matrix");
    CHECK_NORM("example dot community", "example dot community");
}

static void test_fold_ideographic_stop(void **state)
{
    (void)state;
    CHECK_NORM("example。com", "example.com");
    CHECK_NORM("www。example。com", "www.example.com");
    CHECK_NORM("你好。再见", "你好。再见");
    CHECK_NORM("ok。你好", "ok。你好");
    CHECK_NORM("done。", "done。");
}

/* 点 written for the dot of a domain; a time ("9点", digits only before
 * it) and a word after it that is no TLD stay. */
static void test_fold_written_dot(void **state)
{
    (void)state;
    CHECK_NORM("登录boc-vip点top领取", "登录boc-vip.top领取");
    CHECK_NORM("www点example点com", "www.example.com");
    CHECK_NORM("www dot example点com", "www.example.com");
    CHECK_NORM("ICBC點CN", "icbc.cn");
    CHECK_NORM("晚上9点cn", "晚上9点cn");
    CHECK_NORM("abc点def", "abc点def");
    CHECK_NORM("abc点", "abc点");
    CHECK_NORM("点com", "点com");
}

/* A link spelled one character at a time joins up; English with
 * one-letter words, and runs without a TLD at the end, stay. */
static void test_fold_spaced_link(void **state)
{
    (void)state;
    CHECK_NORM("登录 b o c - v i p . t o p 领取", "登录 boc-vip.top 领取");
    CHECK_NORM("w w w . e x a m p l e . c o m", "www.example.com");
    CHECK_NORM("进入 i c b c . v i p领取", "进入 icbc.vip领取");
    CHECK_NORM("a b . c o m", "ab.com");
    /* middle dots for gaps, 点 for the dot, a TLD written whole */
    CHECK_NORM("点 l·o·v·e·5·2·6·点cc", "点 love526.cc");
    CHECK_NORM("点击 d k b j 点 c n 领取", "点击 dkbj.cn 领取");
    CHECK_NORM("y j h x ．x y z", "yjhx.xyz");
    CHECK_NORM("看 x c 点 v i p / 3 r", "看 xc.vip / 3 r");
    CHECK_NORM("a b . c o m.", "ab.com.");
    CHECK_NORM("下午 3 点 c n", "下午 3 点 c n");
    CHECK_NORM("I a m here", "i a m here");
    CHECK_NORM("U . S . A", "u . s . a");
    CHECK_NORM("the a b c d . e f g", "the abcd . e f g"); /* a word, no link */
    CHECK_NORM("x . c o m", "x . c o m");
    CHECK_NORM("p . s . see you", "p . s . see you");

    /* each joined character keeps its own source offset */
    expect_source("go b o c . t o p now", "go boc.top now", "boc.top", "b o c . t o p");
    expect_source("go b o c . t o p now", "go boc.top now", "now", "now");
}

static void test_fold_spaced_word(void **state)
{
    (void)state;
    CHECK_NORM("just pay s h i p p i n g!", "just pay shipping!");
    CHECK_NORM("F.R.E.E iPhone", "free iphone");
    CHECK_NORM("W I N N E R", "winner");
    CHECK_NORM("C A S H 500", "cash 500");
    /* one-letter English words, initials, abbreviations and mixed
     * separators stay */
    CHECK_NORM("I a m", "i a m");
    CHECK_NORM("J. R. R. Tolkien", "j. r. r. tolkien");
    CHECK_NORM("e.g. a.m. U.S.A", "e.g. a.m. u.s.a");
    CHECK_NORM("f r.e e", "f r.e e");
    CHECK_NORM("a b c d1", "a b c d1");

    /* the joined word keeps each letter's source offset */
    expect_source("pay s h i p p i n g now", "pay shipping now", "shipping",
                  "s h i p p i n g");
}

static void test_digits_in_words(void **state)
{
    (void)state;
    CHECK_NORM("g00gle", "google");
    CHECK_NORM("app1e", "apple");
    CHECK_NORM("faceb00k", "facebook");
    CHECK_NORM("micr0s0ft", "microsoft");
    CHECK_NORM("G00GLE.com", "google.com");
    CHECK_NORM("登录g00gle账户", "登录google账户");
    /* Digits meant as digits are kept. */
    CHECK_NORM("covid19", "covid19");
    CHECK_NORM("top10", "top10");
    CHECK_NORM("win1000", "win1000");
    CHECK_NORM("2024", "2024");
    CHECK_NORM("10apples", "10apples");
    CHECK_NORM("h1n1", "h1n1");
    CHECK_NORM("a1b2c", "a1b2c");
    CHECK_NORM("0x1f", "0x1f");
    CHECK_NORM("a1 b", "a1 b");
    CHECK_NORM("13800138000", "13800138000");
}

static void test_dollars_in_words(void **state)
{
    (void)state;
    CHECK_NORM("U$PS: update addre$$, ca$$h", "usps: update address, cassh");
    CHECK_NORM("Y0ur ca$h is on h0ld", "your cash is on hold");
    /* currencies, prices, tickers and payment addresses stay */
    CHECK_NORM("US$ 500, HK$500, NT$ 99, $ave, $$$",
               "us$ 500, hk$500, nt$ 99, $ave, $$$");
    CHECK_NORM("pay shop@icici or pack@ge", "pay shop@icici or pack@ge");
}

/* Expect hb_normalize(in) to fail with HB_EUTF8 naming offset. */
static void check_bad_utf8(hb_text *t, const char *in, size_t len, size_t offset)
{
    hb_error err;
    hb_error_clear(&err);
    assert_int_equal(hb_normalize(in, len, t, &err), HB_EUTF8);
    assert_int_equal(err.code, HB_EUTF8);
    char want[64];
    snprintf(want, sizeof want, "offset %zu ", offset);
    if (!strstr(err.message, want))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, want);
    assert_int_equal(t->len, 0);
    assert_int_equal(t->ncps, 0);
    if (t->utf8)
        assert_string_equal(t->utf8, "");
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    hb_text t;
    hb_text_init(&t);
    check_bad_utf8(&t, "ab\xe4\xb8", 4, 2);       /* truncated */
    check_bad_utf8(&t, "ab\xe4\xb8z", 5, 2);      /* cut short */
    check_bad_utf8(&t, "a\xc0\x80", 3, 1);        /* overlong NUL */
    check_bad_utf8(&t, "\xe0\x80\xaf", 3, 0);     /* overlong / */
    check_bad_utf8(&t, "abc\x80", 4, 3);          /* lone continuation */
    check_bad_utf8(&t, "x\xed\xa0\x80y", 5, 1);   /* surrogate D800 */
    check_bad_utf8(&t, "\xf4\x90\x80\x80", 4, 0); /* over U+10FFFF */
    check_bad_utf8(&t, "ok\xff", 3, 2);
    check_bad_utf8(&t, "安全\xe8", 7, 6);
    /* The same hb_text still works after a failure. */
    assert_string_equal(norm(&t, "安 全"), "安全");
    hb_text_release(&t);
}

static void test_source_spans(void **state)
{
    (void)state;
    char buf[256];
    hb_text t;
    hb_text_init(&t);

    const char *a = "请转到安 全 账 户";
    norm(&t, a);
    source_of_match(&t, a, "安全账户", buf, sizeof buf);
    assert_string_equal(buf, "安 全 账 户");
    source_of_match(&t, a, "请", buf, sizeof buf);
    assert_string_equal(buf, "请");

    const char *b = "请转到安 全 账 户，谢谢";
    norm(&t, b);
    source_of_match(&t, b, "安全账户", buf, sizeof buf);
    assert_string_equal(buf, "安 全 账 户");
    source_of_match(&t, b, ",", buf, sizeof buf);
    assert_string_equal(buf, "，");

    const char *c = "  访问 Ｇ００ｇｌｅ  now";
    norm(&t, c);
    assert_string_equal(t.utf8, "访问 google now");
    source_of_match(&t, c, "google", buf, sizeof buf);
    assert_string_equal(buf, "Ｇ００ｇｌｅ");

    const char *d = "快加vx信:abc";
    norm(&t, d);
    source_of_match(&t, d, "微信", buf, sizeof buf);
    assert_string_equal(buf, "vx信");

    const char *e = "go hxxps[:]//evil[.]com now";
    norm(&t, e);
    source_of_match(&t, e, "https://evil.com", buf, sizeof buf);
    assert_string_equal(buf, "hxxps[:]//evil[.]com");

    /* Part of a one-to-many fold maps to the whole source character. */
    const char *f = "ﬁx";
    norm(&t, f);
    assert_string_equal(t.utf8, "fix");
    source_of(&t, f, 0, 1, buf, sizeof buf);
    assert_string_equal(buf, "ﬁ");
    source_of(&t, f, 1, 2, buf, sizeof buf);
    assert_string_equal(buf, "ﬁ");
    source_of(&t, f, 2, 3, buf, sizeof buf);
    assert_string_equal(buf, "x");

    /* Empty ranges and out-of-range ends are clamped, not read past. */
    source_of(&t, f, 3, 3, buf, sizeof buf);
    assert_string_equal(buf, "");
    size_t s, en;
    hb_text_source_span(&t, 0, 1000, &s, &en);
    assert_int_equal(s, 0);
    assert_int_equal(en, strlen(f));
    hb_text_release(&t);
}

/* Both spellings of a message must normalise to the same text. */
#define CHECK_SAME(trad, simp, expected)                                                 \
    do {                                                                                 \
        CHECK_NORM((trad), (expected));                                                  \
        CHECK_NORM((simp), (expected));                                                  \
    } while (0)

static void test_traditional(void **state)
{
    (void)state;
    hb_error err;
    assert_int_equal(hb_normalize_init(&err), 0);
    assert_int_equal(hb_normalize_init(NULL), 0); /* once is enough */

    CHECK_SAME("媽，我換號了，急需用錢，能不能先轉我5000？別告訴爸",
               "妈，我换号了，急需用钱，能不能先转我5000？别告诉爸",
               "妈,我换号了,急需用钱,能不能先转我5000?别告诉爸");
    CHECK_SAME("您的帳戶存在異常", "您的账户存在异常", "您的账户存在异常");
    CHECK_SAME("驗證碼：834120", "验证码：834120", "验证码:834120");
    CHECK_SAME("中國銀行提醒您", "中国银行提醒您", "中国银行提醒您");
    CHECK_SAME("請點擊鏈接領取", "请点击链接领取", "请点击链接领取");
    CHECK_NORM("臺灣", "台湾");
    CHECK_NORM("台灣", "台湾");
    CHECK_NORM("台湾", "台湾");

    /* Phrase by phrase: 乾 is 干 in 乾燥 but stays in 乾隆, also when a
     * scammer spaced the phrase out (pass 2 joins it first). */
    CHECK_NORM("乾燥", "干燥");
    CHECK_NORM("乾隆皇帝", "乾隆皇帝");
    CHECK_NORM("乾 * 隆", "乾隆");

    /* 帐 for account reads 账, in either script; tents and nets stay. */
    CHECK_NORM("帳號", "账号");
    CHECK_NORM("帐号", "账号");
    CHECK_NORM("请转帐到帐户", "请转账到账户");
    CHECK_NORM("帳篷和蚊帳", "帐篷和蚊帐");
    CHECK_NORM("帐", "账");

    /* Mixed with Latin text, digits and disguises. */
    CHECK_NORM("Click 這裡 to 驗證 your 帳號: hxxp://t[.]cn 謝謝",
               "click 这里 to 验证 your 账号: http://t.cn 谢谢");
    CHECK_NORM("ＡＰＰ下載 ８８８", "app下载 888");

    /* Disguises are folded after simplification: the traditional
     * look-alikes fold, and 權威 is the word 权威 before 信息. */
    CHECK_SAME("請加薇信 abc123", "请加薇信 abc123", "请加微信 abc123");
    CHECK_NORM("加維信", "加微信");
    CHECK_NORM("加 維 * 信", "加微信");
    CHECK_NORM("權威信息發布", "权威信息发布");
    CHECK_NORM("安徽信用社", "安徽信用社");

    /* Text without traditional characters comes out as before. */
    CHECK_NORM("请点击链接验证您的银行账户 hello", "请点击链接验证您的银行账户 hello");
    CHECK_NORM("著名作家", "著名作家");
    CHECK_NORM("ガイドが 안녕", "ガイドが안녕");
}

/* Every output character of a traditional text maps back to the input
 * character it came from, byte for byte. */
static void test_traditional_offsets(void **state)
{
    (void)state;
    /* 𠁞 (extension B) is traditional too: 𠀾 */
    const char *in = "媽，我換號了 OK 帳戶！𠁞，乾燥 x";
    const char *want = "妈,我换号了 ok 账户!𠀾,干燥 x";
    hb_text t;
    hb_text_init(&t);
    assert_string_equal(norm(&t, in), want);

    /* One output code point per input code point, so the i-th output one
     * came from the i-th input one. */
    size_t pos = 0, i = 0, len = strlen(in);
    while (pos < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t clen = utf8proc_iterate((const utf8proc_uint8_t *)in + pos,
                                                 (utf8proc_ssize_t)(len - pos), &cp);
        assert_true(clen > 0);
        assert_true(i < t.ncps);
        if (t.src_byte[i] != pos)
            fail_msg("output %zu (U+%04X) comes from byte %u, not %zu", i,
                     (unsigned)t.cps[i], (unsigned)t.src_byte[i], pos);
        pos += (size_t)clen;
        i++;
    }
    assert_int_equal(i, t.ncps);

    char buf[64];
    source_of_match(&t, in, "账户", buf, sizeof buf);
    assert_string_equal(buf, "帳戶");
    source_of_match(&t, in, "换号", buf, sizeof buf);
    assert_string_equal(buf, "換號");
    source_of_match(&t, in, "妈", buf, sizeof buf);
    assert_string_equal(buf, "媽");
    source_of_match(&t, in, "干燥", buf, sizeof buf);
    assert_string_equal(buf, "乾燥");
    source_of_match(&t, in, "\xf0\xa0\x80\xbe", buf, sizeof buf); /* 𠀾 */
    assert_string_equal(buf, "𠁞");

    /* Spaces joined away between traditional characters: the span still
     * covers what the user typed. */
    const char *spaced = "安 全 帳 戶";
    assert_string_equal(norm(&t, spaced), "安全账户");
    source_of_match(&t, spaced, "账户", buf, sizeof buf);
    assert_string_equal(buf, "帳 戶");
    hb_text_release(&t);
}

/* Threads that meet characters the table has not learnt yet (extension
 * B, which no other test touches) learn them together and all get what
 * one thread alone gets. */
enum { T2S_THREADS = 4, T2S_TEXTS = 64, T2S_TEXT_CPS = 48 };

typedef struct t2s_job {
    int id;
    char *in[T2S_TEXTS];
    char *out[T2S_TEXTS];
} t2s_job;

/* Text number k: T2S_TEXT_CPS extension B code points, spread over many
 * table words, interleaved with 帳 so that every text holds traditional
 * characters. */
static char *ext_b_text(int k)
{
    char *s = malloc(T2S_TEXT_CPS * 8 + 1);
    assert_non_null(s);
    size_t len = 0;
    for (int i = 0; i < T2S_TEXT_CPS; i++) {
        utf8proc_int32_t cp = 0x21000 + ((k * 97 + i * 61) % 0x2000);
        len += (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)s + len);
        if (i % 8 == 0)
            len += (size_t)utf8proc_encode_char(0x5E33, (utf8proc_uint8_t *)s + len);
    }
    s[len] = '\0';
    return s;
}

static void *t2s_worker(void *arg)
{
    t2s_job *job = arg;
    hb_text t;
    hb_text_init(&t);
    for (int k = 0; k < T2S_TEXTS; k++) {
        int i = (k + job->id * 16) % T2S_TEXTS;
        int rc = hb_normalize(job->in[i], strlen(job->in[i]), &t, NULL);
        job->out[i] = rc == 0 ? strdup(t.utf8) : NULL;
    }
    hb_text_release(&t);
    return NULL;
}

static void test_traditional_threads(void **state)
{
    (void)state;
    t2s_job jobs[T2S_THREADS];
    pthread_t threads[T2S_THREADS];
    for (int j = 0; j < T2S_THREADS; j++) {
        jobs[j].id = j;
        for (int k = 0; k < T2S_TEXTS; k++)
            jobs[j].in[k] = ext_b_text(k);
        assert_int_equal(pthread_create(&threads[j], NULL, t2s_worker, &jobs[j]), 0);
    }
    for (int j = 0; j < T2S_THREADS; j++)
        assert_int_equal(pthread_join(threads[j], NULL), 0);

    hb_text t;
    hb_text_init(&t);
    for (int k = 0; k < T2S_TEXTS; k++) {
        const char *want = norm(&t, jobs[0].in[k]);
        assert_non_null(strstr(want, "账"));
        for (int j = 0; j < T2S_THREADS; j++) {
            assert_non_null(jobs[j].out[k]);
            assert_string_equal(jobs[j].out[k], want);
        }
    }
    for (int j = 0; j < T2S_THREADS; j++)
        for (int k = 0; k < T2S_TEXTS; k++) {
            free(jobs[j].in[k]);
            free(jobs[j].out[k]);
        }
    hb_text_release(&t);
}

static void test_is_cjk(void **state)
{
    (void)state;
    assert_true(hb_is_cjk(0x5B89));  /* 安 */
    assert_true(hb_is_cjk(0x3400));  /* ext A */
    assert_true(hb_is_cjk(0x20000)); /* ext B */
    assert_true(hb_is_cjk(0xF900));  /* compatibility ideograph */
    assert_true(hb_is_cjk(0x304B));  /* か */
    assert_true(hb_is_cjk(0x30AB));  /* カ */
    assert_true(hb_is_cjk(0x30FC));  /* ー */
    assert_true(hb_is_cjk(0xD55C));  /* 한 */
    assert_false(hb_is_cjk('A'));
    assert_false(hb_is_cjk(0xFF0C));  /* ， */
    assert_false(hb_is_cjk(0x3002));  /* 。 */
    assert_false(hb_is_cjk(0x3001));  /* 、 */
    assert_false(hb_is_cjk(0x30FB));  /* ・ */
    assert_false(hb_is_cjk(0xFF01));  /* ！ */
    assert_false(hb_is_cjk(0x1F600)); /* emoji */
}

static void test_reuse(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "【通知】您的账户存在异常，请加薇信 abc123 处理。",
        "Your PayPa1 account is LOCKED, visit hxxps://paypa1[.]com now",
        "",
        "安 全 账 户",
        "x",
        "Ｇ００ｇｌｅ\xe2\x80\x8b dot com",
        "請點擊連結驗證您的帳戶",
    };
    static const char *const expected[] = {
        "【通知】您的账户存在异常,请加微信 abc123 处理。",
        "your paypa1 account is locked, visit https://paypa1.com now",
        "",
        "安全账户",
        "x",
        "google.com",
        "请点击连结验证您的账户",
    };
    const size_t ninputs = sizeof inputs / sizeof inputs[0];
    hb_text t;
    hb_text_init(&t);
    for (size_t i = 0; i < ninputs; i++)
        norm(&t, inputs[i]);

    /* Warmed up: later calls must not move (reallocate) any buffer. */
    const void *p0 = t.utf8, *p1 = t.cps, *p2 = t.cp_byte, *p3 = t.src_byte;
    size_t caps = t.cap_bytes, capc = t.cap_cps;
    for (int round = 0; round < 2000; round++) {
        size_t i = (size_t)round % ninputs;
        assert_string_equal(norm(&t, inputs[i]), expected[i]);
    }
    assert_ptr_equal(t.utf8, p0);
    assert_ptr_equal(t.cps, p1);
    assert_ptr_equal(t.cp_byte, p2);
    assert_ptr_equal(t.src_byte, p3);
    assert_int_equal(t.cap_bytes, caps);
    assert_int_equal(t.cap_cps, capc);
    hb_text_release(&t);
    assert_null(t.utf8);
    assert_int_equal(t.cap_cps, 0);
}

/* Fill a buffer of about size bytes with copies of unit. */
static char *repeat(const char *unit, size_t size, size_t *len)
{
    size_t ulen = strlen(unit);
    size_t copies = size / ulen;
    char *buf = malloc(copies * ulen + 1);
    assert_non_null(buf);
    for (size_t i = 0; i < copies; i++)
        memcpy(buf + i * ulen, unit, ulen);
    buf[copies * ulen] = '\0';
    *len = copies * ulen;
    return buf;
}

static void test_long_input(void **state)
{
    (void)state;
    hb_text t;
    hb_text_init(&t);
    size_t len;

    const char *unit_in = "请加薇信 G00gle hxxp://a[.]b  安 全 end\n";
    const char *unit_out = "请加微信 google http://a.b 安全 end ";
    char *mixed = repeat(unit_in, 1 << 20, &len);
    norm_len(&t, mixed, len);
    assert_int_equal(t.len, len / strlen(unit_in) * strlen(unit_out) - 1);
    assert_memory_equal(t.utf8, unit_out, strlen(unit_out));
    size_t s, e;
    hb_text_source_span(&t, t.len - 3, t.len, &s, &e);
    assert_int_equal(s, len - 4);
    assert_int_equal(e, len);
    free(mixed);

    /* U+FDFA expands 3 bytes into 18 code points: the worst case for the
     * growth of the code point arrays. */
    char *wide = repeat("\xef\xb7\xba", 1 << 20, &len);
    norm_len(&t, wide, len);
    assert_int_equal(t.ncps, (len / 3) * 18);
    free(wide);

    /* Traditional text throughout: one OpenCC call for all its runs, and
     * still one output character per input character. */
    char *trad = repeat("請點擊連結，驗證帳戶 OK。", 1 << 18, &len);
    norm_len(&t, trad, len);
    assert_memory_equal(t.utf8, "请点击连结,验证账户 ok。",
                        strlen("请点击连结,验证账户 ok。"));
    hb_text_source_span(&t, t.len - 3, t.len, &s, &e);
    assert_int_equal(s, len - 3);
    assert_int_equal(e, len);
    free(trad);

    char *ascii = repeat("The quick brown fox jumps over the lazy dog. ", 1 << 20, &len);
    norm_len(&t, ascii, len);
    assert_int_equal(t.len, len - 1);
    free(ascii);
    hb_text_release(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fullwidth),
        cmocka_unit_test(test_fold_dingbats),
        cmocka_unit_test(test_fast_paths_match_utf8proc),
        cmocka_unit_test(test_case_folding),
        cmocka_unit_test(test_cjk_scripts_kept),
        cmocka_unit_test(test_zero_width_and_controls),
        cmocka_unit_test(test_whitespace),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_cjk_spacing),
        cmocka_unit_test(test_fold_wechat),
        cmocka_unit_test(test_fold_qq),
        cmocka_unit_test(test_fold_hxxp),
        cmocka_unit_test(test_fold_defanged_dots),
        cmocka_unit_test(test_fold_numerals),
        cmocka_unit_test(test_fold_spelled_dot),
        cmocka_unit_test(test_fold_ideographic_stop),
        cmocka_unit_test(test_fold_written_dot),
        cmocka_unit_test(test_fold_spaced_link),
        cmocka_unit_test(test_fold_spaced_word),
        cmocka_unit_test(test_digits_in_words),
        cmocka_unit_test(test_dollars_in_words),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_source_spans),
        cmocka_unit_test(test_traditional),
        cmocka_unit_test(test_traditional_offsets),
        cmocka_unit_test(test_traditional_threads),
        cmocka_unit_test(test_is_cjk),
        cmocka_unit_test(test_reuse),
        cmocka_unit_test(test_long_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
