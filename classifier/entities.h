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
 */
#ifndef HB_ENTITIES_H
#define HB_ENTITIES_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef enum hb_entity_kind {
    HB_ENTITY_URL = 0,     /* http(s) link, www.host, or bare domain with a known TLD */
    HB_ENTITY_PHONE,       /* mobile, landline, 400/800 or international number */
    HB_ENTITY_ACCOUNT,     /* bank card / account number (12-19 digits) */
    HB_ENTITY_MONEY,       /* an amount: ¥100, 100元, 5万, $20, 20 usd */
    HB_ENTITY_HANDLE,      /* messenger id: 微信/qq/telegram/whatsapp handle */
    HB_ENTITY_KINDS
} hb_entity_kind;

typedef struct hb_entity {
    hb_entity_kind kind;
    uint32_t start;  /* byte offsets in the normalised text */
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
 * overlaps (a phone number inside a URL is part of the URL).  Writes at most
 * max to out and the count to *n.  Returns 0 or HB_EINVAL. */
int hb_entities_find(const hb_entities *ents, hb_entities_scratch *scratch,
                     const char *text, size_t len, hb_entity *out, size_t max,
                     size_t *n);

/* Lower-case name of a kind: "url", "phone", "account", "money", "handle". */
const char *hb_entity_kind_name(hb_entity_kind kind);

/* Write a masked copy of an entity's text (len bytes) to out (cap bytes,
 * always NUL-terminated): phone and account numbers keep their first 3 and
 * last 4 digits ("138****5678", "6228********1234"), handles keep their first
 * two characters; URLs and money are copied unchanged.  Returns the length
 * written. */
size_t hb_entity_mask(hb_entity_kind kind, const char *text, size_t len,
                      char *out, size_t cap);

#endif
