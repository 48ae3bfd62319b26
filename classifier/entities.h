/*
 * entities.h - find the things a scam message carries: links, phone numbers,
 * bank card / account numbers, money amounts and messenger handles.
 *
 * Works on normalised text (normalize.h), so obfuscated links have already
 * been folded (hxxp -> http, [.] -> .) and full-width digits are ASCII.
 * Entities are counted as features, shown as evidence, and masked in
 * anything printed or logged: phone and account numbers are personal data.
 *
 * The hb_entities object holds compiled PCRE2 patterns, is immutable once
 * built and may be shared; matching uses an hb_rules_scratch-like per-thread
 * scratch and allocates nothing.
 *
 * What is found (entities.c lists what is deliberately not):
 *   url      scheme://anything (http, https, ftp, alipays://, ...), www.host,
 *            or a bare name whose last label is a known TLD
 *            ("icbc-vip.top/login"), with :port and /path; ends at space, at
 *            non-ASCII text (CJK, CJK punctuation) and drops trailing
 *            .,;:!?) .  E-mail addresses are not URLs and are ignored.
 *   phone    mainland mobile (+86/0086/86 prefix, '-' or ' ' separators),
 *            landline 0xx(x)-xxxxxxxx, 400/800 numbers, +/00 international,
 *            (415) 555-2671, 07911 123456; never part of a longer digit run.
 *   account  12-19 digit runs that are not phones, groups of four
 *            ("6222 0212 3456 7890"), masked cards ("6228****1234").
 *   money    currency then amount (¥100, $20.5, rmb 500) or amount then
 *            unit (3.5元, 3万, 5000块, 20 usd, 5 dollars), and 5k / 2.5w.
 *   handle   messenger name and id: "微信abc123", "微信号: abc_123",
 *            "qq 12345678", "tg @scamguy"; the span covers the name too.
 */
#ifndef HB_ENTITIES_H
#define HB_ENTITIES_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef enum hb_entity_kind {
    HB_ENTITY_URL = 0, /* http(s) link, www.host, or bare domain with a known TLD */
    HB_ENTITY_PHONE,   /* mobile, landline, 400/800 or international number */
    HB_ENTITY_ACCOUNT, /* bank card / account number (12-19 digits) */
    HB_ENTITY_MONEY,   /* an amount: ¥100, 100元, 5万, $20, 20 usd */
    HB_ENTITY_HANDLE,  /* messenger id: 微信/qq/telegram/whatsapp handle */
    HB_ENTITY_KINDS
} hb_entity_kind;

typedef struct hb_entity {
    hb_entity_kind kind;
    uint32_t start; /* byte offsets in the normalised text */
    uint32_t end;
} hb_entity;

typedef struct hb_entities hb_entities;
typedef struct hb_entities_scratch hb_entities_scratch;

/* Compile the entity patterns.  NULL with err on failure. */
hb_entities *hb_entities_new(hb_error *err);
void hb_entities_free(hb_entities *ents);

hb_entities_scratch *hb_entities_scratch_new(void);
void hb_entities_scratch_free(hb_entities_scratch *scratch);

/* Find entities in len bytes of normalised text, in text order, without
 * overlaps (a phone number inside a URL is part of the URL): where spans
 * overlap the one starting first wins, then the longer, then the lower
 * kind.  Writes at most max to out and the count to *n; stops once max are
 * found.  Returns 0 or HB_EINVAL (NULL arguments, len over 4 GiB).
 *
 * Precondition: text is valid UTF-8 (as hb_normalize's output is).  It is
 * not re-checked, for speed; invalid UTF-8 gives undefined results.
 * Matching is bounded by a match limit in the scratch: on hostile input a
 * kind that hits it stops reporting for that text, the call still
 * succeeds. */
int hb_entities_find(const hb_entities *ents, hb_entities_scratch *scratch,
                     const char *text, size_t len, hb_entity *out, size_t max, size_t *n);

/* Lower-case name of a kind: "url", "phone", "account", "money", "handle". */
const char *hb_entity_kind_name(hb_entity_kind kind);

/* Write a masked copy of an entity's text (len bytes) to out (cap bytes,
 * always NUL-terminated when cap > 0): phone and account numbers keep their
 * first 3 and last 4 digits, every other digit becomes '*' and separators
 * are dropped ("138-1234-5678" -> "138****5678", "+86 138 1234 5678" ->
 * "+861******5678", "6228 4800 1234 5678" -> "622*********5678"); numbers of
 * 7 digits or fewer keep only their last half (at most 4).  Handles keep the
 * messenger name and the first two characters of the id ("微信:abc123" ->
 * "微信:ab***").  URLs and money are copied unchanged.  Output that does not
 * fit is cut at a character boundary.  Returns the length written. */
size_t hb_entity_mask(hb_entity_kind kind, const char *text, size_t len, char *out,
                      size_t cap);

#endif
