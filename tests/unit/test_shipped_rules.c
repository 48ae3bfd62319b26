/*
 * test_shipped_rules.c - the shipped rule set: the *.rules files of
 * models/rules/.
 *
 * Rule authors start here: when you add or change a rule, add the message
 * it is written for (and the legitimate one it must leave alone) to the
 * test of its kind below, or a test of its own.  The engine itself
 * (parsing, matching, limits) is tested in test_rules.c; the fraud types
 * added after the first nine, with a probe message per type and the
 * catalogue models/rules/types.tsv, in test_fraud_types.c.
 *
 * Checked here: the set loads, with nothing left out of the prefilter
 * (no pattern runs on every message); a few representative scams trip the
 * rules meant for them; legitimate one-time-code notices, bank notices
 * and shop adverts trip no positive fraud rule; subscription prices mark
 * adverts and account notices count against spam; chain letters score as
 * rumours; and over ~45 varied messages (scams, adverts, rumours, ham,
 * hostile input; raw and normalised) and long near-misses, the hits with
 * the prefilter are exactly those of running every pattern.
 *
 * Texts for individual rules are written already normalised (lower case,
 * half-width punctuation, see normalize.h); the prefilter comparison runs
 * hb_normalize, to see messages as the service does.  Run from the
 * repository root (it loads models/rules).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "normalize.h"
#include "rules.h"
#include "testutil.h"

static hb_rules *shipped;
static hb_rules_scratch *scratch;
static hb_rule_hit *shipped_hits;

static int shipped_setup(void **state)
{
    (void)state;
    hb_error err;
    shipped = hb_rules_load_dir("models/rules", &err);
    if (!shipped) {
        fprintf(stderr, "models/rules: %s\n", err.message);
        return -1;
    }
    scratch = hb_rules_scratch_new();
    shipped_hits = calloc(hb_rules_count(shipped), sizeof *shipped_hits);
    return scratch && shipped_hits ? 0 : -1;
}

static int shipped_teardown(void **state)
{
    (void)state;
    free(shipped_hits);
    hb_rules_scratch_free(scratch);
    hb_rules_free(shipped);
    return 0;
}

/* Sum of the weights of fired rules of task, and of positive ones. */
static double task_score(const char *text, const char *task, size_t *npos)
{
    size_t n = tu_rules_run(shipped, scratch, text, shipped_hits, NULL);
    double sum = 0.0;
    *npos = 0;
    for (size_t i = 0; i < n; i++) {
        const hb_rule_info *info = hb_rules_info(shipped, shipped_hits[i].rule);
        if (strcmp(info->task, task) != 0)
            continue;
        sum += info->weight;
        if (info->weight > 0)
            (*npos)++;
    }
    return sum;
}

static int fired(const hb_rules *r, const hb_rule_hit *hits, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(hb_rules_info(r, hits[i].rule)->id, id) == 0)
            return 1;
    return 0;
}

static int shipped_fires(const char *text, const char *id)
{
    assert_true(hb_rules_find(shipped, id) >= 0);
    size_t n = tu_rules_run(shipped, scratch, text, shipped_hits, NULL);
    return fired(shipped, shipped_hits, n, id);
}

static void test_shipped_loads(void **state)
{
    (void)state;
    size_t n = hb_rules_count(shipped);
    assert_true(n >= 50);
    for (size_t i = 0; i < n; i++) {
        const hb_rule_info *info = hb_rules_info(shipped, i);
        assert_true(info->description[0] != '\0');
        assert_true(info->weight >= -3.0 && info->weight <= 3.0);
    }
}

/* A synthetic fake-police script: identity, accusation, safe account,
 * secrecy. */
static const char fake_police[] =
    "您好,我是市公安局刑侦支队的民警,您的身份证涉嫌一起洗钱案件,"
    "现在需要您配合调查,把名下资金转到安全账户进行核查,不要告诉任何人。";

static void test_shipped_fake_police(void **state)
{
    (void)state;
    assert_true(shipped_fires(fake_police, "fraud.zh.authority.safe_account"));
    assert_true(shipped_fires(fake_police, "fraud.zh.authority.accuses_you"));
    assert_true(shipped_fires(fake_police, "fraud.zh.any.secrecy"));
    size_t npos;
    assert_true(task_score(fake_police, "fraud", &npos) >= 3.0);
}

static void test_shipped_code_request(void **state)
{
    (void)state;
    const char *text = "您好,我是平台客服,刚才系统给您发了一条验证码,"
                       "麻烦您把验证码发给我核对一下。";
    assert_true(shipped_fires(text, "fraud.zh.account_phishing.code_request"));
    size_t npos;
    assert_true(task_score(text, "fraud", &npos) >= 2.0);
    /* the verb before the code: "give us the code" */
    assert_true(shipped_fires("退款需要您提供银行卡号和验证码。",
                              "fraud.zh.account_phishing.code_request"));
    assert_false(shipped_fires("验证码为000000,请勿向任何人提供验证码。",
                               "fraud.zh.account_phishing.code_request"));
}

/* A card number is what a friend needs to pay you back; the secrets that
 * let someone spend from the card weigh more. */
static void test_shipped_card_number_and_secrets(void **state)
{
    (void)state;
    const char *friend = "你把卡号发我,我把饭钱转你";
    assert_true(shipped_fires(friend, "fraud.zh.any.card_number"));
    assert_false(shipped_fires(friend, "fraud.zh.any.card_details"));
    const char *secrets = "为了核实身份,请提供您的银行卡密码和安全码。";
    assert_true(shipped_fires(secrets, "fraud.zh.any.card_details"));
    assert_false(shipped_fires(secrets, "fraud.zh.any.card_number"));
    size_t npos;
    assert_true(task_score(secrets, "fraud", &npos) > task_score(friend, "fraud", &npos));
}

/* asks_money is about money asked of you: a friend who paid for you, or
 * who wants to borrow an eraser, is not asking for money. */
static void test_shipped_money_direction(void **state)
{
    (void)state;
    assert_false(shipped_fires("我们班下周春游,要交50块钱,我先帮你垫上了",
                               "fraud.zh.acquaintance.asks_money"));
    assert_false(shipped_fires("能不能借我一块橡皮,我的忘带了",
                               "fraud.zh.acquaintance.asks_money"));
    assert_true(shipped_fires("兄弟,能不能借我点钱周转一下,下午就还你",
                              "fraud.zh.acquaintance.asks_money"));
    assert_true(shipped_fires("你先帮我垫付一下3000,回头还你",
                              "fraud.zh.acquaintance.asks_money"));
    /* a payout into the reader's own designated account is no demand */
    assert_false(
        shipped_fires("您的理赔款已审核通过,将于3个工作日内汇入您指定的账户,请留意查收",
                      "fraud.zh.any.designated_account"));
    assert_true(shipped_fires("请把货款转到我们指定的账户,今天之内必须到账",
                              "fraud.zh.any.designated_account"));
}

/* Claiming a relation is a scam opener, but a parent writing to a teacher,
 * or a friend passing on a message, opens the same way and is no claim on
 * the reader. */
static void test_shipped_relation_claims(void **state)
{
    (void)state;
    assert_false(shipped_fires("王老师您好,我是李明的家长,孩子今天发烧了,请假一天",
                               "fraud.zh.acquaintance.claims_relation"));
    assert_true(shipped_fires("家长您好,我是您孩子的班主任,请加这个新微信",
                              "fraud.zh.acquaintance.claims_relation"));
    assert_true(shipped_fires("我是你儿子的同学,他出事了",
                              "fraud.zh.acquaintance.claims_relation"));
    /* a message passed on for someone claims nothing of the reader */
    assert_false(shipped_fires("叔叔好,我是乐乐的同学,她让我跟您说今天补课晚一点",
                               "fraud.zh.acquaintance.claims_relation"));
}

static void test_shipped_english_smishing(void **state)
{
    (void)state;
    const char *text = "urgent: your bank account has been suspended. "
                       "verify your identity at http://secure-login.example/"
                       "verify to avoid closure.";
    assert_true(shipped_fires(text, "fraud.en.account_phishing.suspended"));
    assert_true(shipped_fires(text, "fraud.en.account_phishing.verify_details"));
    size_t npos;
    assert_true(task_score(text, "fraud", &npos) >= 2.0);

    const char *prize = "congratulations! you have won a £1000 prize. "
                        "to claim call 09061234567 now.";
    assert_true(shipped_fires(prize, "fraud.en.prize.you_won"));
    assert_true(task_score(prize, "fraud", &npos) >= 2.0);
}

/* A failed payment is phishing only with a link to "update" at; a
 * stranger is a pig-butchering opener only once investing comes up. */
static void test_shipped_payment_failed_and_stranger(void **state)
{
    (void)state;
    const char *phish = "final notice: your prime membership payment failed. "
                        "update billing: amzn-prime-billing.com";
    assert_true(shipped_fires(phish, "fraud.en.account_phishing.payment_failed"));
    assert_false(shipped_fires("your payment failed. please update your card in the app.",
                               "fraud.en.account_phishing.payment_failed"));
    const char *opener = "hey, is this jessica? we met at the conference last week, "
                         "i'd love to chat more about crypto investing";
    assert_true(shipped_fires(opener, "fraud.en.romance.stranger_investing"));
    assert_false(shipped_fires("is this the number for the plumber? the sink is leaking",
                               "fraud.en.romance.stranger_investing"));
}

/* Legitimate messages that share the scams' words. */
static void test_shipped_legitimate(void **state)
{
    (void)state;
    size_t npos;
    const char *otp_zh = "【示例银行】验证码为482913,您正在进行网上支付,"
                         "请勿泄露给他人。";
    assert_true(task_score(otp_zh, "fraud", &npos) <= 0.0);
    assert_int_equal(npos, 0);
    assert_true(shipped_fires(otp_zh, "fraud.zh.legit.otp_notice"));
    /* the other way apps close a code notice: "not you? ignore this" */
    assert_true(shipped_fires("【示例外卖】您的验证码是531908,请于5分钟内完成验证,"
                              "如非本人操作请忽略本短信。",
                              "fraud.zh.legit.otp_notice"));

    const char *otp_en = "482913 is your verification code. "
                         "do not share this code with anyone.";
    assert_true(task_score(otp_en, "fraud", &npos) <= 0.0);
    assert_int_equal(npos, 0);

    const char *bank = "您尾号1234的储蓄卡3月5日14:20支出人民币200.00元,"
                       "余额3,518.20元。";
    assert_true(task_score(bank, "fraud", &npos) <= 0.0);
    assert_int_equal(npos, 0);

    /* An advert is spam, not fraud. */
    const char *advert = "【优品生活】双十一全场5折,满200减50,进店再送好礼!"
                         "详询4008001234,回t退订";
    assert_true(task_score(advert, "fraud", &npos) <= 0.0);
    assert_int_equal(npos, 0);
    assert_true(shipped_fires(advert, "spam.zh.unsubscribe"));
    assert_true(task_score(advert, "spam", &npos) >= 2.0);

    const char *en_advert = "summer sale: 30% off everything this weekend, "
                            "use promo code sun30. reply stop to opt out";
    assert_true(task_score(en_advert, "fraud", &npos) <= 0.0);
    assert_int_equal(npos, 0);
    assert_true(task_score(en_advert, "spam", &npos) >= 1.5);

    /* Genuine import-duty notices pay through the courier's own channels;
     * a duty demand with a link or a private contact is still the scam,
     * "official" or not. */
    assert_false(shipped_fires("【某邮政】您有一件国际邮件需缴纳关税36元,请在邮政官方app"
                               "或到网点缴纳后领取。",
                               "fraud.zh.parcel.customs"));
    assert_false(shipped_fires("您的进口快件已清关完毕,税费已由寄件方预付,今日派送。",
                               "fraud.zh.parcel.customs"));
    assert_true(shipped_fires("您的包裹被海关扣押,需缴纳关税860元,请登录官方网站 "
                              "hg-gs.top 缴纳。",
                              "fraud.zh.parcel.customs_link"));
    assert_true(shipped_fires("您的包裹在海关查出违禁品,请立即联系海关专员处理。",
                              "fraud.zh.parcel.customs"));
    /* money received, with the bank's own service line, asks nothing */
    assert_false(shipped_fires("您尾号1234的账户收到跨行转账5,000.00元,如有疑问请致电"
                               "本行客服。",
                               "fraud.zh.customer_service.fake_platform_staff"));
    assert_true(shipped_fires("我是淘宝客服,您的订单异常需要退款,请按我说的转账操作。",
                              "fraud.zh.customer_service.fake_platform_staff"));
}

/* Operator subscription adverts carry their price per day, week or
 * message in any currency; receipts and balance notices of the reader's own
 * account share the adverts' words ("recharge", "bonus", "dial") and count
 * against spam, unless they also carry an advert's call to action. */
static void test_shipped_subscription_and_notice(void **state)
{
    (void)state;
    size_t npos;
    const char *priced[] = {
        "daily tips: text tips to 33070. n50/day",
        "football news every morning. sms news to 32011, ksh 10 per sms",
        "set your caller tune for \u20a6100/month. reply 1 to 4100",
        "150p/msg. txt stop to 87021",
    };
    for (size_t i = 0; i < sizeof priced / sizeof *priced; i++)
        assert_true(shipped_fires(priced[i], "spam.en.premium_billing"));
    assert_false(shipped_fires("your caller tune has been renewed for 30 days "
                               "at n100",
                               "spam.en.premium_billing"));

    const char *notices[] = {
        "you have recharged n500. your new balance is n612.40",
        "acct:012****889 amt:ngn12,000.00 dr desc:pos purchase bal: ngn43,902.11",
        "your transfer of ngn20,000.00 to adeola was successful",
        "kes 1,000 has been deducted for your monthly plan",
    };
    for (size_t i = 0; i < sizeof notices / sizeof *notices; i++) {
        assert_true(shipped_fires(notices[i], "spam.en.account_notice"));
        assert_true(task_score(notices[i], "spam", &npos) < 0.0);
        assert_int_equal(npos, 0);
    }
    /* An advert that opens with a receipt is still an advert. */
    assert_false(shipped_fires("you have received 100mb free! win more: send "
                               "win to 20419, n100/sms",
                               "spam.en.account_notice"));
}

static void test_shipped_rumour(void **state)
{
    (void)state;
    size_t npos;
    const char *chain = "紧急扩散!每天喝这种茶能治癌症,医生都不会告诉你,"
                        "请转发给你的家人和朋友!";
    assert_true(task_score(chain, "rumour", &npos) >= 2.0);
    assert_true(task_score(chain, "fraud", &npos) < 1.0);

    const char *en = "doctors don't want you to know this: garlic cures "
                     "cancer naturally. share this with everyone before "
                     "it's deleted!";
    assert_true(task_score(en, "rumour", &npos) >= 2.0);

    /* the short health scare forwarded in family chats; telling your own
     * parents good news is no chain appeal */
    const char *scare = "专家提醒:吃香蕉会得癌症,赶紧告诉家里老人!";
    assert_true(shipped_fires(scare, "rumour.zh.health_scare"));
    assert_true(shipped_fires(scare, "rumour.zh.forward_plea"));
    assert_false(shipped_fires("你考上了?赶紧告诉你爸妈!", "rumour.zh.forward_plea"));
}

/* Messages for the prefilter comparison: scams, adverts, rumours and
 * everyday messages in Chinese and English, as users paste them (upper
 * case, full-width punctuation, disguises), then hostile input. */
static const char *const messages[] = {
    /* Chinese scams */
    "【公安局】您好，我是市公安局刑侦支队民警王警官，您的身份证涉嫌一起洗钱"
    "案件，请立即将名下资金转到安全账户配合调查，不要告诉任何人。",
    "您好，我是淘宝客服，您购买的商品因质量问题需要退款，请点击链接 "
    "http://tb-refund.example.cn 填写银行卡号和验证码办理理赔。",
    "招聘兼职刷单，日赚300-500元，在家动动手指就能赚钱，先垫付后返佣，"
    "加微信 ab12345 了解详情。",
    "【XX金融】您的贷款额度已审批通过，额度50000元，需先缴纳保证金2000元"
    "解冻账户后即可放款，请联系专员办理。",
    "小王，我是你们张总，我在开会不方便接电话，你先帮我转5万元给这个账户，"
    "6222 0000 1111 2222，急用。",
    "妈，我手机掉水里了，这是我新号，我现在急需用钱交学费，你先转3000到我"
    "同学的卡上。",
    "恭喜您被抽中为幸运用户，获得二等奖现金88000元及笔记本电脑一台，请登录"
    "www.zhongjiang-example.com领取，需先缴纳个人所得税。",
    "老师带你炒股，内幕消息，稳赚不赔，收益率高达30%，扫码进群："
    "https://t.example/abc",
    "您的征信出现异常，将影响个人征信，请下载APP注销校园贷账户，否则将上报"
    "央行。",
    "您好，您的快递在运输途中丢失，我们将给您3倍理赔，请加客服QQ 123456789 "
    "办理。",
    "【医保局】您的医保卡已被冻结，涉嫌违规套取医保基金，请拨打 "
    "010-12345678 联系处理。",
    "请下载腾讯会议，打开屏幕共享，我们工作人员远程帮您操作退款。",
    "您的游戏账号涉嫌违规将被封号，请添加客服薇信解冻，需要支付解冻费。",
    "安 全 账 户 转 账，V信联系，扣扣 ８８８８８８",
    "您好，请把验证码发给我核对一下，谢谢！ＱＱ：１２３４５６",
    /* Chinese ham, adverts, rumours */
    "【招商银行】验证码：482913，您正在进行转账操作，请勿泄露给他人。",
    "【工商银行】您尾号1234的储蓄卡3月5日14:20支出人民币200.00元，余额"
    "3,518.20元。",
    "【优品生活】双十一全场5折，满200减50，进店再送好礼！详询4008001234，"
    "回T退订",
    "【碧桂园】城市核心地段，首付20万起，火爆认筹中，欢迎来电咨询："
    "0755-88886666，拒收请回复R",
    "【反诈中心提醒】公检法机关不会通过电话办案，更没有所谓的安全账户，谨防"
    "电信诈骗！",
    "紧急扩散！每天喝这种茶能治癌症，医生都不会告诉你，请转发给你的家人和"
    "朋友！",
    "据说某地已经有3个孩子被拐，人贩子开着白色面包车，大家转发提醒身边的人！",
    "今晚七点一起吃饭吗？我在老地方等你。",
    "【顺丰速运】您的快件已到达小区丰巢柜，取件码 56789，请及时领取。",
    /* English */
    "URGENT! You have won a £1000 prize GUARANTEED. Call 09061234567 to "
    "claim. T&C apply.",
    "Your bank account has been suspended. Verify your identity at "
    "http://secure-login.example/verify to avoid closure.",
    "Hi mum, this is my new number, I dropped my phone. Can you transfer "
    "£300 for my rent? I'll pay you back tomorrow.",
    "USPS: your package could not be delivered due to incomplete address. "
    "Update here: https://usps-track.example/p",
    "IRS notice: you owe back taxes. Pay immediately with gift cards or face "
    "arrest.",
    "Free entry in 2 a wkly comp to win FA Cup final tkts 21st May 2005. "
    "Text FA to 87121 to receive entry question(std txt rate)",
    "I'm going to be late, can you pick up milk on the way home?",
    "482913 is your verification code. Do not share this code with anyone.",
    "Summer sale: 30% off everything this weekend, use promo code SUN30. "
    "Reply STOP to opt out",
    "Doctors don't want you to know this: garlic cures cancer naturally. "
    "Share this with everyone before it's deleted!",
    "Invest $500 in bitcoin today and earn 20% daily returns guaranteed! Join "
    "our WhatsApp group.",
    "Hey sexy, lonely tonight? Chat with local singles now, text DATE to "
    "69696, £1.50/msg",
    "Your Amazon order #123-4567 has shipped. Track it in the app.",
    /* Hostile */
    "",
    " ",
    "安全\n账户\t转账\u200b验证码\r\n123456\x01\x7f",
    "我是𰀀总，𠀀𠀁快转账，🎁🎉 you won 🏆 prize",
    "((((((((((]]]]]]]]}}}}}}{{{{{{\\\\\\\\\\\\[[[[????****++++",
    "。。。！！！？？？,,,...!!!???",
    "ｗｗｗ．ｅｘａｍｐｌｅ．ｃｏｍ／ＬＯＧＩＮ hxxp://evil[.]example/verify",
};

/* Hostile messages built at run time: long near-misses. */
static char *repeat(const char *unit, size_t times, const char *tail)
{
    size_t u = strlen(unit), t = strlen(tail);
    char *s = malloc(u * times + t + 1);
    assert_non_null(s);
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * u, unit, u);
    memcpy(s + u * times, tail, t + 1);
    return s;
}

/* Compare raw and normalised forms of text. */
static size_t compare_both_forms(hb_text *norm, const char *text, size_t len)
{
    size_t hits = tu_rules_same_with_prefilter(shipped, text, len);
    hb_error err;
    assert_int_equal(hb_normalize(text, len, norm, &err), 0);
    hits += tu_rules_same_with_prefilter(shipped, norm->utf8, norm->len);
    return hits;
}

static void test_shipped_prefilter_changes_nothing(void **state)
{
    (void)state;
    /* Every shipped pattern is prefiltered. */
    assert_int_equal(hb_rules_prefilter_fallbacks(shipped), 0);
    hb_text norm;
    hb_text_init(&norm);
    size_t total = 0;
    size_t n = sizeof messages / sizeof *messages;
    for (size_t i = 0; i < n; i++)
        total += compare_both_forms(&norm, messages[i], strlen(messages[i]));
    assert_true(total >= 60); /* the messages do trip rules */

    /* A NUL byte inside (raw form only: normalisation drops it). */
    static const char nul[] = "安全账户\0转账 验证码 123456";
    tu_rules_same_with_prefilter(shipped, nul, sizeof nul - 1);

    /* Long near-misses, and all the messages as one. */
    char *long_inputs[] = {
        repeat("a", 30000, "!"),           repeat("你", 20000, "转账"),
        repeat("ab", 10000, " code"),      repeat("1", 50000, ""),
        repeat("安全账户 ", 3000, "不会"), repeat("http://x.example/", 2000, ""),
    };
    for (size_t i = 0; i < sizeof long_inputs / sizeof *long_inputs; i++) {
        compare_both_forms(&norm, long_inputs[i], strlen(long_inputs[i]));
        free(long_inputs[i]);
    }
    size_t all_len = 0;
    for (size_t i = 0; i < n; i++)
        all_len += strlen(messages[i]) + 1;
    char *all = malloc(all_len + 1);
    assert_non_null(all);
    all_len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(messages[i]);
        memcpy(all + all_len, messages[i], k);
        all[all_len + k] = '\n';
        all_len += k + 1;
    }
    all[all_len] = '\0';
    assert_true(compare_both_forms(&norm, all, all_len) > 0);
    free(all);
    hb_text_release(&norm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_loads),
        cmocka_unit_test(test_shipped_fake_police),
        cmocka_unit_test(test_shipped_code_request),
        cmocka_unit_test(test_shipped_card_number_and_secrets),
        cmocka_unit_test(test_shipped_money_direction),
        cmocka_unit_test(test_shipped_relation_claims),
        cmocka_unit_test(test_shipped_english_smishing),
        cmocka_unit_test(test_shipped_payment_failed_and_stranger),
        cmocka_unit_test(test_shipped_legitimate),
        cmocka_unit_test(test_shipped_subscription_and_notice),
        cmocka_unit_test(test_shipped_rumour),
        cmocka_unit_test(test_shipped_prefilter_changes_nothing),
    };
    return cmocka_run_group_tests_name("shipped rules", tests, shipped_setup,
                                       shipped_teardown);
}
