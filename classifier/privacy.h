/*
 * privacy.h - personal data out of text that is kept: the hotline's
 * feedback database and what it exports for training.
 *
 * Phone, account and card numbers, messenger handles, e-mail addresses and
 * any run of seven or more digits (ASCII or Chinese numerals, mixed:
 * 一三八一二三四五六七八 is how numbers are spelt to dodge filters) are
 * replaced by placeholders: <PHONE>, <ACCOUNT>, <HANDLE>, <EMAIL>,
 * <NUMBER>.  Tabs and line breaks become spaces (an export is one record
 * a line).  What a person reads on a reply is masked another way, keeping
 * the shape of a number (hb_entity_mask in entities.h, used by render.h);
 * nothing that stores text should use that one.
 */
#ifndef HB_PRIVACY_H
#define HB_PRIVACY_H

#include <stddef.h>

#include "error.h"

typedef struct hb_scrubber hb_scrubber;

/* A scrubber (the entity patterns and its scratch): one per thread.  NULL
 * with err when the patterns cannot be built. */
hb_scrubber *hb_scrubber_new(hb_error *err);
void hb_scrubber_free(hb_scrubber *scrubber);

/* len bytes of raw text as it may be kept: normalised (normalize.h), then
 * scrubbed.  A malloc'd NUL-terminated string (the caller frees it), or
 * NULL when the text is not UTF-8 or memory ran out. */
char *hb_scrub_text(hb_scrubber *scrubber, const char *text, size_t len);

/* len bytes of text that is not a message (a verdict's summary, say),
 * scrubbed of e-mail addresses and digit runs only, not normalised.
 * Malloc'd, or NULL when memory ran out. */
char *hb_scrub_plain(const char *text, size_t len);

#endif
