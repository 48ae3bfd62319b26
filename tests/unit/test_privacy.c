/*
 * test_privacy.c - what the feedback store keeps of a message: every kind
 * of personal data replaced by its placeholder, the rest of the text as
 * the models read it, one line.  Until this scrubber moved into the
 * library it was tested only through the web API's "PII at rest" checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "privacy.h"

static hb_scrubber *scrubber;

static int setup(void **state)
{
    (void)state;
    hb_error err;
    scrubber = hb_scrubber_new(&err);
    return scrubber ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    hb_scrubber_free(scrubber);
    return 0;
}

static void expect_text(const char *raw, const char *want)
{
    char *got = hb_scrub_text(scrubber, raw, strlen(raw));
    if (!got || strcmp(got, want) != 0)
        fail_msg("\"%s\" kept as \"%s\", expected \"%s\"", raw, got ? got : "(null)",
                 want);
    free(got);
}

static void test_every_kind_of_personal_data_has_its_placeholder(void **state)
{
    (void)state;
    expect_text("打13812345678找我", "打<PHONE>找我");
    expect_text("卡号6222021234567890123", "卡号<ACCOUNT>");
    expect_text("加微信abc12345", "加<HANDLE>");
    expect_text("支付宝账号 name@163.com 转账", "支付宝账号 <EMAIL> 转账");
    /* written in Chinese numerals, it is read as the phone number it is */
    expect_text("电话一三八一二三四五六七八", "电话<PHONE>");
    expect_text("订单号 98765432 已发货", "订单号 <NUMBER> 已发货");
}

static void test_short_numbers_and_words_stay(void **state)
{
    (void)state;
    /* amounts, codes under seven digits and an at sign that is no address */
    expect_text("转账5000元，验证码 123456", "转账5000元,验证码 123456");
    expect_text("meet @ 5pm", "meet @ 5pm");
}

static void test_text_is_normalised_and_one_line(void **state)
{
    (void)state;
    expect_text("ＨＥＬＬＯ\tworld\nagain", "hello world again");
}

static void test_not_utf8_is_refused(void **state)
{
    (void)state;
    assert_null(hb_scrub_text(scrubber, "\xff\xfe", 2));
}

static void test_plain_text_keeps_its_form(void **state)
{
    (void)state;
    char *s = hb_scrub_plain("Likely fraud (97%): call 0755-12345678 or a@b.cn", 48);
    assert_non_null(s);
    assert_string_equal(s, "Likely fraud (97%): call 0755-<NUMBER> or <EMAIL>");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_of_personal_data_has_its_placeholder),
        cmocka_unit_test(test_short_numbers_and_words_stay),
        cmocka_unit_test(test_text_is_normalised_and_one_line),
        cmocka_unit_test(test_not_utf8_is_refused),
        cmocka_unit_test(test_plain_text_keeps_its_form),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
