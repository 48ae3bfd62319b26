/*
 * test_brands.c - the brands table (the shipped one loads, bad files are
 * refused with file:line), finding brands in normalised Chinese and English
 * text, and the impersonation / official / mentioned rules of brands.h.
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

#include "brands.h"
#include "normalize.h"
#include "testutil.h"

#define SHIPPED "models/brands.tsv"

typedef struct fixture {
    hb_brands *brands;
    hb_brands_scratch *scratch;
    hb_text text;
} fixture;

static int setup(void **state)
{
    hb_error err;
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->brands = hb_brands_load(SHIPPED, &err);
    if (!f->brands) {
        fprintf(stderr, "hb_brands_load: %s\n", err.message);
        free(f);
        return -1;
    }
    f->scratch = hb_brands_scratch_new();
    if (!f->scratch) {
        hb_brands_free(f->brands);
        free(f);
        return -1;
    }
    hb_text_init(&f->text);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hb_text_release(&f->text);
    hb_brands_scratch_free(f->scratch);
    hb_brands_free(f->brands);
    free(f);
    return 0;
}

/* ---- loading ------------------------------------------------------------ */

static void test_shipped_table(void **state)
{
    fixture *f = *state;
    size_t n = hb_brands_count(f->brands);
    assert_true(n >= 60);
    size_t per_kind[HB_BRAND_KINDS] = {0};
    for (size_t i = 0; i < n; i++) {
        const hb_brand_info *b = hb_brands_info(f->brands, i);
        assert_non_null(b);
        assert_int_equal(b->index, i);
        assert_true(*b->id && *b->name_zh && *b->name_en);
        assert_true(b->naliases + b->nsignatures > 0);
        assert_true(strncmp(b->source, "http", 4) == 0);
        per_kind[b->kind]++;
    }
    for (int k = 0; k < HB_BRAND_KINDS; k++)
        assert_true(per_kind[k] > 0);
    assert_null(hb_brands_info(f->brands, n));

    const hb_brand_info *icbc = hb_brands_find(f->brands, "icbc");
    assert_non_null(icbc);
    assert_int_equal(icbc->kind, HB_BRAND_BANK);
    assert_string_equal(hb_brand_kind_name(icbc->kind), "bank");
    assert_string_equal(icbc->domains[0], "icbc.com.cn");
    assert_string_equal(icbc->numbers[0], "95588");
    const char *ids[] = {"china_mobile", "sf_express", "alipay",     "air_china",
                         "tax_cn",       "hsbc",       "royal_mail", "hmrc"};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
        assert_non_null(hb_brands_find(f->brands, ids[i]));
    assert_null(hb_brands_find(f->brands, "no_such_brand"));
}

/* Every alias and signature must read as the normaliser writes it, or no
 * message could ever match it. */
static void test_shipped_names_are_normalised(void **state)
{
    fixture *f = *state;
    hb_error err;
    for (size_t i = 0; i < hb_brands_count(f->brands); i++) {
        const hb_brand_info *b = hb_brands_info(f->brands, i);
        for (size_t j = 0; j < b->naliases + b->nsignatures; j++) {
            const char *s =
                j < b->naliases ? b->aliases[j] : b->signatures[j - b->naliases];
            assert_int_equal(hb_normalize(s, strlen(s), &f->text, &err), 0);
            if (strcmp(f->text.utf8, s) != 0)
                fail_msg("brand %s: '%s' normalises to '%s'", b->id, s, f->text.utf8);
        }
    }
}

typedef struct bad_file {
    const char *name;
    int line;         /* 0: no line in the message */
    const char *says; /* part of the message */
} bad_file;

static const bad_file bad_files[] = {
    {"wrong_columns.tsv", 3, "8 tab-separated columns, expected 9"},
    {"duplicate_id.tsv", 3, "id 'icbc' is already used on line 2"},
    {"duplicate_alias.tsv", 4, "alias 'icbc' of brand 'ccb' already names brand 'icbc'"},
    {"bad_domain.tsv", 3, "domain 'ccb..com'"},
    {"bad_number.tsv", 3, "number '955-33'"},
    {"alias_not_normalised.tsv", 3, "alias 'CCB' has upper case"},
    {"bad_kind.tsv", 3, "kind 'banks'"},
    {"invalid_utf8.tsv", 4, "not valid UTF-8"},
    {"bad_header.tsv", 1, "header"},
    {"missing.tsv", 0, "cannot open"},
};

static void test_bad_files(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_files / sizeof *bad_files; i++) {
        const bad_file *c = &bad_files[i];
        char name[128], path[512], prefix[600];
        snprintf(name, sizeof name, "brands/%s", c->name);
        snprintf(path, sizeof path, "%s", tu_fixture(name));
        if (c->line)
            snprintf(prefix, sizeof prefix, "%s:%d: ", path, c->line);
        else
            snprintf(prefix, sizeof prefix, "%s: ", path);
        hb_error err;
        hb_error_clear(&err);
        hb_brands *b = hb_brands_load(path, &err);
        if (b)
            fail_msg("%s loaded", c->name);
        if (strncmp(err.message, prefix, strlen(prefix)) != 0 ||
            !strstr(err.message, c->says))
            fail_msg("%s: got '%s', want '%s...%s'", c->name, err.message, prefix,
                     c->says);
        assert_int_equal(err.code, c->line ? HB_EFORMAT : HB_ENOTFOUND);
    }
}

static void test_good_fixture(void **state)
{
    (void)state;
    hb_error err;
    hb_brands *b = hb_brands_load(tu_fixture("brands/good.tsv"), &err);
    assert_non_null(b);
    assert_int_equal(hb_brands_count(b), 1);
    const hb_brand_info *bi = hb_brands_info(b, 0);
    assert_int_equal(bi->line, 2);
    assert_int_equal(bi->naliases, 2);
    assert_string_equal(bi->aliases[1], "icbc");
    hb_brands_free(b);
    hb_brands_free(NULL);
}

/* ---- matching ------------------------------------------------------------ */

/* One matching case on normalised text: the expected hits as
 * "brand_id:by:text" (by: a alias, s signature), in order. */
typedef struct match_case {
    const char *text;
    const char *want[6];
} match_case;

static const match_case match_cases[] = {
    {"【工商银行】您的积分今日到期,登录 icbc-jf.top 兑换",
     {"icbc:s:【工商银行】", "icbc:a:icbc"}},
    {"[京东]您的订单已由京东物流发出,顺丰速运单号sf123",
     {"jd:s:[京东]", "jd_logistics:a:京东物流", "sf_express:a:顺丰速运"}},
    {"中国建设银行提醒:您尾号1234的卡已冻结", {"ccb:a:中国建设银行"}},
    {"中国银行保险监督管理委员会发布风险提示", {"nfra:a:中国银行保险监督管理委员会"}},
    {"支付宝和微信支付都可以", {"alipay:a:支付宝", "wechat_pay:a:微信支付"}},
    {"your hsbc card is blocked, call 07700 900123", {"hsbc:a:hsbc"}},
    {"paypal: we noticed a login from a new device. verify at paypal.com.secure-id.top",
     {"paypal:a:paypal", "paypal:a:paypal"}},
    {"royal mail: your parcel has a 1.99 gbp fee, pay at royalmail.parcel-fee.com",
     {"royal_mail:a:royal mail", "royal_mail:a:royalmail"}},
    {"usps: the package could not be delivered", {"usps:a:usps"}},
    {"bank of america alert: unusual sign-in", {"bofa:a:bank of america"}},
    /* Latin aliases need word boundaries */
    {"free delivery for all members, see you soon", {NULL}},
    {"ee: your bill is ready", {"ee:a:ee:"}},
    {"the music is so dhlish", {NULL}},
    {"施工行业招聘,中通知名企业", {NULL}},
};

/* Render a hit as "id:by:text". */
static void hit_str(const fixture *f, const char *text, const hb_brand_hit *h, char *out,
                    size_t cap)
{
    const hb_brand_info *b = hb_brands_info(f->brands, h->brand);
    snprintf(out, cap, "%s:%c:%.*s", b->id, h->by == HB_BRAND_BY_SIGNATURE ? 's' : 'a',
             (int)(h->end - h->start), text + h->start);
}

static void test_match(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < sizeof match_cases / sizeof *match_cases; i++) {
        const match_case *c = &match_cases[i];
        hb_brand_hit hits[8];
        int n = hb_brands_match(f->brands, f->scratch, c->text, strlen(c->text), hits, 8);
        assert_true(n >= 0);
        size_t want = 0;
        while (want < 6 && c->want[want])
            want++;
        char got[256];
        for (int k = 0; k < n; k++) {
            hit_str(f, c->text, &hits[k], got, sizeof got);
            if ((size_t)k >= want || strcmp(got, c->want[k]) != 0)
                fail_msg("'%s': hit %d is %s, want %s", c->text, k, got,
                         (size_t)k < want ? c->want[k] : "none");
            if (k > 0)
                assert_true(hits[k].start >= hits[k - 1].end);
        }
        if ((size_t)n != want)
            fail_msg("'%s': %d hits, want %zu", c->text, n, want);
    }
}

static void test_match_limits(void **state)
{
    fixture *f = *state;
    const char *t = "工商银行 建设银行 农业银行 中国银行";
    hb_brand_hit hits[2];
    assert_int_equal(hb_brands_match(f->brands, f->scratch, t, strlen(t), hits, 2), 2);
    assert_int_equal(hb_brands_match(f->brands, f->scratch, t, 0, hits, 2), 0);
    assert_int_equal(hb_brands_match(f->brands, f->scratch, t, strlen(t), NULL, 0), 0);
    assert_int_equal(hb_brands_match(NULL, f->scratch, t, strlen(t), hits, 2), HB_EINVAL);
    assert_int_equal(hb_brands_match(f->brands, NULL, t, strlen(t), hits, 2), HB_EINVAL);

    /* A long text of repeated names: every hit found up to max, no more. */
    size_t reps = 2000, unit = strlen("工商银行 ");
    char *big = malloc(reps * unit + 1);
    assert_non_null(big);
    for (size_t i = 0; i < reps; i++)
        memcpy(big + i * unit, "工商银行 ", unit);
    big[reps * unit] = '\0';
    hb_brand_hit many[64];
    assert_int_equal(hb_brands_match(f->brands, f->scratch, big, reps * unit, many, 64),
                     64);
    free(big);

    /* One scratch serves two tables (a reload). */
    hb_error err;
    hb_brands *small = hb_brands_load(tu_fixture("brands/good.tsv"), &err);
    assert_non_null(small);
    assert_int_equal(hb_brands_match(small, f->scratch, t, strlen(t), hits, 2), 1);
    assert_int_equal(hits[0].brand, 0);
    hb_brands_free(small);
    assert_int_equal(hb_brands_match(f->brands, f->scratch, t, strlen(t), hits, 2), 2);
}

/* ---- ownership and call-to-action rules ---------------------------------- */

static void test_owns(void **state)
{
    fixture *f = *state;
    const hb_brand_info *icbc = hb_brands_find(f->brands, "icbc");
    const hb_brand_info *hsbc = hb_brands_find(f->brands, "hsbc");
    const hb_brand_info *bofa = hb_brands_find(f->brands, "bofa");
    const hb_brand_info *hmrc = hb_brands_find(f->brands, "hmrc");
#define OWNS_D(b, s) hb_brand_owns_domain(b, s, strlen(s))
#define OWNS_N(b, s) hb_brand_owns_number(b, s, strlen(s))
    assert_true(OWNS_D(icbc, "icbc.com.cn"));
    assert_true(OWNS_D(icbc, "www.icbc.com.cn"));
    assert_true(OWNS_D(icbc, "ICBC.com.cn."));
    assert_false(OWNS_D(icbc, "icbc-jf.top"));
    assert_false(OWNS_D(icbc, "icbc.com.cn.evil.top"));
    assert_false(OWNS_D(icbc, "myicbc.com.cn"));
    assert_true(OWNS_D(hmrc, "www.gov.uk"));
    assert_false(OWNS_D(hmrc, "gov.uk.tax-refund.help"));

    assert_true(OWNS_N(icbc, "95588"));
    assert_true(OWNS_N(icbc, "+86 95588"));
    assert_false(OWNS_N(icbc, "955880"));
    assert_true(OWNS_N(hsbc, "03457 404 404"));
    assert_true(OWNS_N(hsbc, "+44 3457 404 404"));
    assert_true(OWNS_N(hsbc, "0044 3457 404404"));
    assert_false(OWNS_N(hsbc, "07700 900123"));
    assert_true(OWNS_N(bofa, "1-800-432-1000"));
    assert_true(OWNS_N(bofa, "(800) 432-1000"));
    assert_true(OWNS_N(bofa, "+1 800 432 1000"));
    assert_false(OWNS_N(bofa, "800-432-1001"));
}

static int solicits(const char *text, const char *number)
{
    const char *p = strstr(text, number);
    assert_non_null(p);
    size_t at = (size_t)(p - text);
    return hb_brands_solicits(text, strlen(text), at, at + strlen(number));
}

static void test_solicits(void **state)
{
    (void)state;
    assert_true(solicits("your card is blocked, call 07700 900123", "07700 900123"));
    assert_true(solicits("请立即拨打4001234567办理", "4001234567"));
    assert_true(solicits("客服电话:13812345678", "13812345678"));
    assert_true(solicits("退款请加13812345678微信同号", "13812345678"));
    assert_true(solicits("07700 900123 - whatsapp us today", "07700 900123"));
    assert_false(solicits("text stop to 80082", "80082"));
    assert_false(solicits("回复退订至10690000", "10690000"));
    assert_false(solicits("您尾号5678的卡于今日消费", "5678"));
    /* the cue is in another sentence */
    assert_false(solicits("please call us. your ref is 07700900123", "07700900123"));
    assert_false(solicits("有问题请联系我们。订单号13812345678", "13812345678"));
}

/* ---- assessment ------------------------------------------------------------ */

/* Normalise raw, match and assess with the given links and numbers (as
 * written in the normalised text); returns the assessment of brand id. */
static hb_brand_assessment assess(fixture *f, const char *raw, const char *id,
                                  const char *const *domains, size_t ndomains,
                                  const char *const *numbers, size_t nnumbers)
{
    hb_error err;
    assert_int_equal(hb_normalize(raw, strlen(raw), &f->text, &err), 0);
    hb_brand_hit hits[16];
    int n = hb_brands_match(f->brands, f->scratch, f->text.utf8, f->text.len, hits, 16);
    assert_true(n > 0);
    hb_brand_message msg = {f->text.utf8, f->text.len, domains, ndomains,
                            numbers,      NULL,        nnumbers};
    hb_brand_assessment out[16];
    int na = hb_brands_assess(f->brands, &msg, hits, (size_t)n, out, 16);
    assert_true(na > 0);
    const hb_brand_info *want = hb_brands_find(f->brands, id);
    assert_non_null(want);
    for (int i = 0; i < na; i++)
        if (out[i].brand == want->index)
            return out[i];
    fail_msg("'%s': brand %s not named", raw, id);
    return out[0];
}

static void test_assess_required_cases(void **state)
{
    fixture *f = *state;
    const char *fake[] = {"icbc-jf.top"};
    hb_brand_assessment a =
        assess(f, "【工商银行】您的积分今日到期，登录 icbc-jf.top 兑换", "icbc", fake, 1,
               NULL, 0);
    assert_int_equal(a.status, HB_BRAND_IMPERSONATION);
    assert_int_equal(a.cause, HB_BRAND_CAUSE_LINK);
    assert_int_equal(a.item, 0);
    assert_string_equal(hb_brand_status_name(a.status), "impersonation");

    const char *real[] = {"icbc.com.cn"};
    a = assess(f, "【工商银行】您的积分今日到期，登录 icbc.com.cn 兑换", "icbc", real, 1,
               NULL, 0);
    assert_int_equal(a.status, HB_BRAND_OFFICIAL);
    assert_int_equal(a.cause, HB_BRAND_CAUSE_NONE);
    assert_int_equal(a.own, 1);

    const char *num[] = {"07700 900123"};
    a = assess(f, "Your HSBC card is blocked, call 07700 900123", "hsbc", NULL, 0, num,
               1);
    assert_int_equal(a.status, HB_BRAND_IMPERSONATION);
    assert_int_equal(a.cause, HB_BRAND_CAUSE_NUMBER);
    assert_int_equal(a.item, 0);

    a = assess(f, "【招商银行】您账户0123于12月3日支出人民币56.00元", "cmb", NULL, 0,
               NULL, 0);
    assert_int_not_equal(a.status, HB_BRAND_IMPERSONATION);
    assert_int_equal(a.status, HB_BRAND_MENTIONED);
}

static void test_assess_rules(void **state)
{
    fixture *f = *state;
    /* The brand's own number, asked for: official. */
    const char *own[] = {"03457 404 404"};
    hb_brand_assessment a = assess(
        f, "HSBC: call us on 03457 404 404 if this was not you", "hsbc", NULL, 0, own, 1);
    assert_int_equal(a.status, HB_BRAND_OFFICIAL);

    /* A number nobody is asked to call: not official, not impersonation. */
    const char *ref[] = {"07700900123"};
    a = assess(f, "HSBC reference 07700900123 for your records", "hsbc", NULL, 0, ref, 1);
    assert_int_equal(a.status, HB_BRAND_MENTIONED);

    /* Opt-out short codes ask nothing. */
    const char *stop[] = {"80082"};
    a = assess(f, "Amazon deals this week! Text STOP to 80082", "amazon", NULL, 0, stop,
               1);
    assert_int_equal(a.status, HB_BRAND_MENTIONED);

    /* Links decide before numbers, and the first foreign link is named. */
    const char *links[] = {"icbc.com.cn", "icbc-vip.top", "other.top"};
    const char *nums[] = {"4001234567"};
    a = assess(f,
               "工商银行:登录 icbc.com.cn 或 icbc-vip.top 或 other.top,或拨打4001234567",
               "icbc", links, 3, nums, 1);
    assert_int_equal(a.status, HB_BRAND_IMPERSONATION);
    assert_int_equal(a.cause, HB_BRAND_CAUSE_LINK);
    assert_int_equal(a.item, 1);
    assert_int_equal(a.own, 1);

    /* Another named brand's link is left out: Taobao official, Alipay
     * only mentioned. */
    const char *tb[] = {"taobao.com"};
    a = assess(f, "在淘宝下单用支付宝付款 taobao.com", "taobao", tb, 1, NULL, 0);
    assert_int_equal(a.status, HB_BRAND_OFFICIAL);
    a = assess(f, "在淘宝下单用支付宝付款 taobao.com", "alipay", tb, 1, NULL, 0);
    assert_int_equal(a.status, HB_BRAND_MENTIONED);

    /* A brand named only inside the link it is impersonated with. */
    const char *pp[] = {"paypal-secure.top"};
    a = assess(f, "Your account is limited: paypal-secure.top/login", "paypal", pp, 1,
               NULL, 0);
    assert_int_equal(a.status, HB_BRAND_IMPERSONATION);

    /* Government on gov.uk subdomains is official. */
    const char *gov[] = {"www.gov.uk"};
    a = assess(f, "HMRC: file your return at www.gov.uk/self-assessment", "hmrc", gov, 1,
               NULL, 0);
    assert_int_equal(a.status, HB_BRAND_OFFICIAL);

    /* A courier's notice gives the driver's mobile: not an impersonation.
     * The same number given for a "claims agent" is one. */
    const char *driver[] = {"17712345678"};
    a = assess(f, "【顺丰速运】您的快件正在派送中，派送员王师傅，电话17712345678",
               "sf_express", NULL, 0, driver, 1);
    assert_int_equal(a.status, HB_BRAND_MENTIONED);
    a = assess(f, "【中通快递】快件已放快递柜，如有疑问请联系派件员17712345678", "zto",
               NULL, 0, driver, 1);
    assert_int_equal(a.status, HB_BRAND_MENTIONED);
    a = assess(f, "【中国邮政】您的EMS快件今日送达，投递员电话17712345678", "china_post",
               NULL, 0, driver, 1);
    assert_int_equal(a.status, HB_BRAND_MENTIONED);
    a = assess(f, "【顺丰速运】您的快件丢失，请致电理赔专员17712345678", "sf_express",
               NULL, 0, driver, 1);
    assert_int_equal(a.status, HB_BRAND_IMPERSONATION);
    /* A shop's or food platform's own rider, too. */
    a = assess(f, "【京东】您的订单已由配送员赵师傅(电话 17712345678)开始配送", "jd",
               NULL, 0, driver, 1);
    assert_int_equal(a.status, HB_BRAND_MENTIONED);
    a = assess(f, "【美团】骑手正在赶来，骑手电话17712345678", "meituan", NULL, 0, driver,
               1);
    assert_int_equal(a.status, HB_BRAND_MENTIONED);
    a = assess(f, "【京东】您的订单异常，请联系售后专员17712345678办理退款", "jd", NULL,
               0, driver, 1);
    assert_int_equal(a.status, HB_BRAND_IMPERSONATION);
    /* ... and only theirs: a bank's "师傅" is no deliverer. */
    a = assess(f, "工商银行:王师傅,电话17712345678,帮你办理贷款", "icbc", NULL, 0, driver,
               1);
    assert_int_equal(a.status, HB_BRAND_IMPERSONATION);

    /* A brand without official numbers: an asked-for number impersonates. */
    const char *etc[] = {"13812345678"};
    a = assess(f, "您的ETC已失效,请联系客服13812345678重新认证", "etc", NULL, 0, etc, 1);
    assert_int_equal(a.status, HB_BRAND_IMPERSONATION);
    assert_int_equal(a.cause, HB_BRAND_CAUSE_NUMBER);
}

static void test_assess_positions_and_args(void **state)
{
    fixture *f = *state;
    const char *text = "hsbc: call 07700 900123";
    hb_brand_hit hits[4];
    int n = hb_brands_match(f->brands, f->scratch, text, strlen(text), hits, 4);
    assert_int_equal(n, 1);
    const char *nums[] = {"+44 7700 900123"}; /* not as written: placed by number_at */
    uint32_t at[] = {11};
    hb_brand_message msg = {text, strlen(text), NULL, 0, nums, at, 1};
    hb_brand_assessment out[4];
    assert_int_equal(hb_brands_assess(f->brands, &msg, hits, 1, out, 4), 1);
    assert_int_equal(out[0].status, HB_BRAND_IMPERSONATION);
    assert_int_equal(out[0].hit, 0);

    /* Without positions the number is looked up in the text; not found:
     * not counted as asked for. */
    msg.number_at = NULL;
    assert_int_equal(hb_brands_assess(f->brands, &msg, hits, 1, out, 4), 1);
    assert_int_equal(out[0].status, HB_BRAND_MENTIONED);

    /* Two hits of one brand give one assessment; max limits the output. */
    hb_brand_hit two[2] = {hits[0], hits[0]};
    assert_int_equal(hb_brands_assess(f->brands, &msg, two, 2, out, 4), 1);
    assert_int_equal(hb_brands_assess(f->brands, &msg, two, 2, out, 0), 0);
    assert_int_equal(hb_brands_assess(NULL, &msg, two, 2, out, 4), HB_EINVAL);
    hb_brand_hit bad = {9999, HB_BRAND_BY_ALIAS, 0, 1};
    assert_int_equal(hb_brands_assess(f->brands, &msg, &bad, 1, out, 4), HB_EINVAL);
}

/* ---- threads -------------------------------------------------------------- */

typedef struct worker {
    const hb_brands *brands;
    int failures;
} worker;

static void *match_many(void *arg)
{
    worker *w = arg;
    hb_brands_scratch *s = hb_brands_scratch_new();
    const char *texts[] = {"【工商银行】您的积分今日到期,登录 icbc-jf.top 兑换",
                           "your hsbc card is blocked, call 07700 900123"};
    hb_brand_hit hits[8];
    for (int i = 0; s && i < 2000; i++) {
        const char *t = texts[i % 2];
        if (hb_brands_match(w->brands, s, t, strlen(t), hits, 8) != 2 - i % 2)
            w->failures++;
    }
    if (!s)
        w->failures++;
    hb_brands_scratch_free(s);
    return NULL;
}

/* One table, several threads, a scratch each. */
static void test_threads(void **state)
{
    fixture *f = *state;
    pthread_t t[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){f->brands, 0};
        assert_int_equal(pthread_create(&t[i], NULL, match_many, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_table),
        cmocka_unit_test(test_shipped_names_are_normalised),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_good_fixture),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_match_limits),
        cmocka_unit_test(test_owns),
        cmocka_unit_test(test_solicits),
        cmocka_unit_test(test_assess_required_cases),
        cmocka_unit_test(test_assess_rules),
        cmocka_unit_test(test_assess_positions_and_args),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
