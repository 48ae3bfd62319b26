/*
 * brands.h - the brands scammers impersonate (banks, operators, couriers,
 * platforms, payment services, airlines, government), their official
 * channels, and whether a message that names one uses them.
 *
 * A scam borrows a trusted name and replaces the channel: "【工商银行】您的
 * 积分今日到期，登录 icbc-jf.top 兑换" names ICBC but links elsewhere.
 * Knowing each brand's own registrable domains and service numbers turns
 * that into evidence a person can check: "names ICBC, but icbc-jf.top is
 * not one of ICBC's domains".
 *
 * The table is data (models/brands.tsv, format in docs/brands.md): one row
 * per brand with its names, the aliases it goes by in normalised text, its
 * official domains, service numbers and SMS signatures (the 【...】 tag a
 * Chinese SMS starts with), its kind and the public source of the domains
 * and numbers.
 *
 * Three steps, each usable alone:
 *   hb_brands_load    read and check the table; build the matcher
 *   hb_brands_match   which brands a normalised message names, and where
 *   hb_brands_assess  per named brand: impersonation, official or mentioned,
 *                     from the message's links and numbers
 *
 * Threads: an hb_brands is immutable once loaded and may be shared by any
 * number of threads; each thread matches with its own hb_brands_scratch,
 * which works with any hb_brands (it regrows when handed a bigger one, so
 * it survives reloads).  After the scratch has grown to the largest message
 * seen, matching and assessing allocate nothing.
 */
#ifndef HB_BRANDS_H
#define HB_BRANDS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef enum hb_brand_kind {
    HB_BRAND_BANK = 0,
    HB_BRAND_OPERATOR, /* mobile / telecom operator */
    HB_BRAND_COURIER,  /* parcels and post */
    HB_BRAND_PLATFORM, /* shopping, food, video, travel, apps */
    HB_BRAND_AIRLINE,
    HB_BRAND_GOVERNMENT, /* agencies, courts, police, public services */
    HB_BRAND_PAYMENT,    /* wallets and payment networks */
    HB_BRAND_KINDS
} hb_brand_kind;

/* One row of the table.  Every string is NUL-terminated and lives as long
 * as the hb_brands it came from.  Aliases and signatures are in normalised
 * form (lower case, half-width, simplified Chinese); domains are lower-case
 * ASCII (punycode for internationalised names); numbers are digits only,
 * as dialled inside the country ("95588", "03457404404", "18004321000"). */
typedef struct hb_brand_info {
    size_t index;        /* position in the table: hb_brands_info(b, index) */
    const char *id;      /* stable identifier, [a-z0-9_]: "icbc" */
    const char *name_zh; /* "中国工商银行" */
    const char *name_en; /* "Industrial and Commercial Bank of China" */
    hb_brand_kind kind;
    const char *source; /* URL where the domains / numbers are stated */
    const char *const *aliases;
    size_t naliases;
    const char *const *domains; /* registrable domains (or public suffixes
                                   such as gov.uk that only the owner uses) */
    size_t ndomains;
    const char *const *numbers;
    size_t nnumbers;
    const char *const *signatures; /* text inside 【】: "工商银行" */
    size_t nsignatures;
    int line; /* line of the row in the file */
} hb_brand_info;

typedef struct hb_brands hb_brands;
typedef struct hb_brands_scratch hb_brands_scratch;

/* Load the table at path and build its matcher.  The file must be UTF-8
 * with a header line `id name_zh name_en aliases domains numbers signatures
 * kind source` (tab-separated), then one row of those nine columns per
 * brand; blank lines and lines starting with '#' are skipped; list columns
 * are '|'-separated and may be empty.  Rejected, with `path:line: what is
 * wrong` in err (HB_EFORMAT unless noted):
 *   - a file that cannot be read (HB_ENOTFOUND / HB_EIO), over 4 MiB
 *     (HB_ETOOBIG), invalid UTF-8 (the line of the first bad byte), or
 *     without any brand;
 *   - a wrong header or a row without exactly nine columns;
 *   - an id that is empty, not [a-z0-9_] or used twice; an empty name_zh
 *     or name_en; a kind that is not bank, operator, courier, platform,
 *     airline, government or payment; a source that is not an http(s) URL;
 *   - a row with neither alias nor signature (it could never match);
 *   - an alias or signature that is empty, not in normalised form (upper
 *     case, full-width ASCII, tabs, control characters, leading, trailing
 *     or doubled spaces), or, for a signature, containing 【】[];
 *   - the same alias or signature text twice, whether in one brand or two
 *     (a name must point to one brand);
 *   - a domain that is not a lower-case host name of at least two labels
 *     (letters, digits, '-' not at a label's ends, labels of 1-63 bytes,
 *     253 bytes in all, an alphabetic or xn-- last label);
 *   - a number that is not 3 to 15 digits.
 * Returns the table, or NULL with err set; free with hb_brands_free. */
hb_brands *hb_brands_load(const char *path, hb_error *err);

/* Free a table (NULL is fine).  Scratches that were used with it stay
 * valid. */
void hb_brands_free(hb_brands *brands);

/* Number of brands, and the i-th (NULL when i is out of range). */
size_t hb_brands_count(const hb_brands *brands);
const hb_brand_info *hb_brands_info(const hb_brands *brands, size_t i);

/* The brand with this id, or NULL. */
const hb_brand_info *hb_brands_find(const hb_brands *brands, const char *id);

/* Lower-case name of a kind ("bank", ...), or "unknown". */
const char *hb_brand_kind_name(hb_brand_kind kind);

/* Per-thread matching state; NULL when memory runs out.  Free with
 * hb_brands_scratch_free (NULL is fine). */
hb_brands_scratch *hb_brands_scratch_new(void);
void hb_brands_scratch_free(hb_brands_scratch *scratch);

typedef enum hb_brand_by {
    HB_BRAND_BY_ALIAS = 0, /* a name or alias in the text */
    HB_BRAND_BY_SIGNATURE, /* a signature in 【】 or [] */
} hb_brand_by;

/* One place a brand is named. */
typedef struct hb_brand_hit {
    uint32_t brand; /* index into the table */
    hb_brand_by by;
    uint32_t start, end; /* bytes of the text; a signature's span
                            includes its brackets */
} hb_brand_hit;

/* Find the brands named in len bytes of normalised text (hb_normalize's
 * output).  What counts as naming a brand:
 *   - one of its aliases, byte for byte.  An alias that starts (ends) with
 *     an ASCII letter or digit matches only where the byte before (after)
 *     it is not one ("ee" is not found in "free", "icbc" is found in
 *     "icbc-jf.top" and "www.icbc.com.cn"); other aliases (Chinese) match
 *     anywhere, so the table leaves out short forms that are commonly part
 *     of other words (工行 in 施工行业);
 *   - one of its signatures between 【 and 】 or between [ and ].
 * Where matches overlap, the one starting first wins, then the longer one
 * ("京东物流" is the courier, not "京东" the shop; "【工商银行】" is a
 * signature hit, not the alias inside it); the hits written do not
 * overlap and are in text order.  Writes at most max hits to out and
 * returns how many were written (0: none), or HB_EINVAL (NULL arguments,
 * len over 4 GiB) or HB_ENOMEM.
 * Precondition: text is valid UTF-8 (not re-checked).  At most 4096
 * candidate matches are considered per call; text beyond that is not
 * searched (a real message never comes near it). */
int hb_brands_match(const hb_brands *brands, hb_brands_scratch *scratch, const char *text,
                    size_t len, hb_brand_hit *out, size_t max);

/* What a message carries besides its text, for hb_brands_assess.  Plain
 * arrays so that any caller can fill them. */
typedef struct hb_brand_message {
    const char *text; /* the normalised text the hits came from
                         (for the call-to-action test); may be NULL */
    size_t len;
    const char *const *domains; /* each link's registrable domain (or host),
                                   NUL-terminated; NULL or "" entries are
                                   skipped */
    size_t ndomains;
    const char *const *numbers; /* each phone / service number as written
                                   ("07700 900123", "+86 138-0013-8000"),
                                   NUL-terminated; NULL or "" skipped */
    const uint32_t *number_at;  /* byte offset of numbers[i] in text, or
                                   NULL: each is looked up in text */
    size_t nnumbers;
} hb_brand_message;

typedef enum hb_brand_status {
    HB_BRAND_MENTIONED = 0, /* named; nothing says more */
    HB_BRAND_OFFICIAL,      /* every link and number is the brand's own */
    HB_BRAND_IMPERSONATION, /* named, but sends the reader elsewhere */
} hb_brand_status;

typedef enum hb_brand_cause {
    HB_BRAND_CAUSE_NONE = 0,
    HB_BRAND_CAUSE_LINK,   /* domains[item] */
    HB_BRAND_CAUSE_NUMBER, /* numbers[item] */
} hb_brand_cause;

/* The assessment of one named brand. */
typedef struct hb_brand_assessment {
    uint32_t brand; /* index into the table */
    hb_brand_status status;
    hb_brand_cause cause; /* what made it an impersonation; NONE for
                             official and mentioned */
    size_t item;          /* index into domains[] or numbers[] (cause
                             LINK / NUMBER) */
    size_t hit;           /* index into hits[] of the brand's first hit */
    size_t own;           /* links and numbers that are the brand's */
} hb_brand_assessment;

/* Assess each brand named in hits (hb_brands_match's output for
 * msg->text), one assessment per distinct brand, in the order of their
 * first hit.  The rules, for a named brand B:
 *
 *   A link is B's when its domain equals one of B's domains or ends with
 *   "." and one of them (case-insensitive, a trailing dot ignored), so
 *   www.icbc.com.cn and icbc.com.cn are ICBC's and icbc.com.cn.evil.top is
 *   not.
 *
 *   A number is B's when its digits (separators ignored, a leading + or 00
 *   dropped) equal one of B's numbers, or equal it behind country code 86,
 *   or 44 in place of a UK number's leading 0, or when a 10-digit number
 *   equals a North American number of B's without its leading 1.
 *
 *   A link or number that is not B's but belongs to another brand named in
 *   the same message is left out of B's assessment ("pay on taobao.com
 *   with 支付宝" does not make Taobao's link an Alipay impersonation).
 *
 *   A number is one the reader is asked to use when, in the same sentence
 *   (not across 。!?！？; or a newline or ". "), a call-to-action word is
 *   within 48 bytes before it or 24 bytes after it: call, ring, dial,
 *   phone, tel, text, sms, whatsapp, contact, hotline, helpline, reply,
 *   message us; 拨打 致电 来电 回电 回拨 电话 热线 联系 咨询 添加 加我 加微
 *   加v 加qq 微信 qq 短信 发送 回复 客服 专线 专员 同号 - unless an opt-out
 *   word (stop, unsubscribe, opt out, 退订) is in the window: "text STOP
 *   to 80082" asks nothing.  The number starts at msg->number_at[i] and
 *   is taken to be as long as numbers[i] (cut at the end of the text), or
 *   when number_at is NULL, it is the first place numbers[i] occurs in
 *   msg->text; a number that cannot be placed (no text, not found, an
 *   offset past the end) is not counted as asked.
 *
 *   A courier's number for the reader to use is the deliverer's own when,
 *   in its sentence, one of 派送员 快递员 配送员 送货员 快递小哥 骑手 师傅
 *   courier driver rider is within 48 bytes before it ("派送员王师傅，电话
 *   177..."): genuine delivery notices give the driver's mobile.
 *
 *   B is IMPERSONATION when the message carries a link that is neither
 *   B's nor another named brand's (cause LINK, item: the first such link),
 *   or else a number the reader is asked to use that is neither B's nor
 *   another named brand's nor, for a courier, the deliverer's own (cause
 *   NUMBER, item: the first such number).
 *   Links decide before numbers.
 *   B is OFFICIAL when it is not an impersonation and the message carries
 *   at least one link or number, all of them B's.
 *   Otherwise B is MENTIONED: no links or numbers at all, or some that are
 *   another named brand's, or numbers nobody is asked to use.
 *
 * A brand without domains (or numbers) in the table has no official link
 * (number): any link (number asked for) makes it an impersonation.
 * Writes at most max assessments (brands beyond that are left out) and
 * returns how many, or HB_EINVAL for NULL arguments.  Allocates nothing. */
int hb_brands_assess(const hb_brands *brands, const hb_brand_message *msg,
                     const hb_brand_hit *hits, size_t nhits, hb_brand_assessment *out,
                     size_t max);

/* The rules above, one at a time.  1 if domain (len bytes) is one of
 * brand's per the link rule, else 0. */
int hb_brand_owns_domain(const hb_brand_info *brand, const char *domain, size_t len);

/* 1 if number (len bytes, as written) is one of brand's per the number
 * rule, else 0. */
int hb_brand_owns_number(const hb_brand_info *brand, const char *number, size_t len);

/* 1 if the number at bytes [start, end) of normalised text is one the
 * reader is asked to call, text or add (the call-to-action rule), else 0. */
int hb_brands_solicits(const char *text, size_t len, size_t start, size_t end);

/* "mentioned", "official", "impersonation". */
const char *hb_brand_status_name(hb_brand_status status);

#endif
