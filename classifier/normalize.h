/*
 * normalize.h - turn raw message text into the canonical form every later
 * stage (rules, entities, features) works on.
 *
 * Scammers obfuscate: full-width digits, spaces inside words, zero-width
 * characters, 薇信/V信 for 微信, hxxp and [.] in links.  Normalisation folds
 * all of these to one form so that a rule or an n-gram written once matches
 * every disguise:
 *   - invalid UTF-8 is rejected with HB_EUTF8 (never crashed on);
 *   - NFKC compatibility folding (full-width to half-width, ligatures,
 *     circled digits, Kangxi radicals), case folding, combining marks
 *     stripped (done per character; see normalize.c for the details);
 *     the look-alikes NFKC has no form for read as what they imitate
 *     (dingbat and negative circled digits ❽ ➀ ⓫, negative circled and
 *     squared letters 🅥 🅰, heavy plus signs ➕ ✚);
 *   - zero-width, default-ignorable and control characters removed; tabs,
 *     newlines and every Unicode space become one ASCII space; runs of
 *     spaces collapse and the ends are trimmed;
 *   - spaces and filler punctuation (* _ - | ~ · ` ^ . / and bullets)
 *     between two CJK characters are dropped ("安 全 账 户" -> "安全账户");
 *     sentence punctuation (，。、！) is kept.  Hangul counts as CJK, so
 *     the spaces between Korean words go too;
 *   - traditional Chinese folded to simplified with OpenCC's t2s, phrase
 *     by phrase (乾燥 -> 干燥, 乾隆 stays) but always one character for
 *     one, so offsets stay exact; 帐 in the sense of account reads 账
 *     (帳戶, 帐户 -> 账户; 帐篷, 蚊帐 are kept).  Text without traditional
 *     characters costs one table look-up per CJK character, once the
 *     process's first messages have taught the table its characters;
 *   - obfuscated spellings folded (after the two steps above, so that
 *     "薇 * 信" and the traditional 維信 fold too): 薇信 威信 徽信 维信 亻言 V信 vx信 →
 * 微信 (not where the look-alike ends a word: 权威信息, 安徽信用社), 扣扣 → qq, hxxp(s) →
 * http(s), [.] (.) {.} (dot) [dot] {dot} → ".", [:] → ":", "example。com" →
 * "example.com", and "example dot com" and "example点com" likewise when the word after
 * the dot looks like a domain ("polka dot dress" and "9点cn" stay); a link spelled one
 * character at a time, "b o c - v i p . t o p", joins up when it ends in a common TLD;
 *   - inside a Latin word, digits 0 and 1 sandwiched between letters read as
 *     o and l ("g00gle" -> "google", "app1e" -> "apple"), but only when the
 *     word has no other digits ("covid19", "top10", "h1n1" are kept).
 *
 * Digits are otherwise kept (phone and amount extraction needs them).
 *
 * The normalised text is for matching, not for display or lookup: it is
 * case-folded and de-obfuscated, so a URL in it is no longer the URL that
 * was sent (paths lose their case, "g00gle.com" reads "google.com").  Take
 * URLs and other literal evidence from the input through
 * hb_text_source_span.
 *
 * The output keeps, for every code point, where it came from in the input,
 * so evidence (a rule's match) can be highlighted in the text as the user
 * pasted it.
 *
 * Hot path: an hb_text is reusable scratch; after its buffers have grown to
 * the largest message seen, hb_normalize allocates nothing (OpenCC
 * allocates inside its own call, made only for text with traditional
 * characters).
 */
#ifndef HB_NORMALIZE_H
#define HB_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct hb_text {
    char *utf8;         /* normalised text, NUL-terminated */
    size_t len;         /* bytes in utf8, excluding the NUL */
    uint32_t *cps;      /* the same text as code points */
    size_t ncps;        /* number of code points */
    uint32_t *cp_byte;  /* cp_byte[i]: byte offset of cps[i] in utf8;
                           cp_byte[ncps] == len */
    uint32_t *src_byte; /* src_byte[i]: byte offset in the original input
                           of the character cps[i] came from;
                           src_byte[ncps] == input length */
    size_t cap_bytes;   /* allocated bytes of utf8 */
    size_t cap_cps;     /* allocated entries of the three arrays */
} hb_text;

/* Load OpenCC's traditional-to-simplified configuration (t2s.json), once
 * per process (thread-safe; later calls only report the first outcome).
 * The first hb_normalize does this itself; call it at start-up to fail
 * early and to pay the few milliseconds there.  Returns 0 or HB_ENOTFOUND,
 * with a message that names the configuration and says to install
 * libopencc-data.  The converter lives until the process exits. */
int hb_normalize_init(hb_error *err);

/* Prepare an empty hb_text (no allocation). */
void hb_text_init(hb_text *text);

/* Free the buffers of text and reset it to empty; text itself is the
 * caller's. */
void hb_text_release(hb_text *text);

/* Normalise len bytes of src into out (buffers grown as needed; out must
 * have been set up with hb_text_init).  src need not be NUL-terminated and
 * may hold NUL bytes (dropped as control characters).
 * Returns 0, HB_EUTF8 (message gives the byte offset of the first invalid
 * sequence: truncated, overlong, surrogate, over U+10FFFF or a stray
 * continuation byte), HB_ENOMEM, HB_ETOOBIG (input or output over 4 GiB),
 * HB_EINVAL (NULL out, or NULL src with len > 0) or hb_normalize_init's
 * error when OpenCC cannot be loaded.  On error out->len
 * and out->ncps are 0 and out->utf8, if allocated, is "".  Empty or
 * all-whitespace input gives an empty out->utf8 and returns 0: deciding
 * whether that is an error is the caller's business. */
int hb_normalize(const char *src, size_t len, hb_text *out, hb_error *err);

/* Map a byte range [start, end) of text->utf8 to the byte range of the
 * original input it came from.  start and end must be code point
 * boundaries within text->utf8 (as PCRE2 match offsets are).  The source
 * range runs from the first matched character to the start of the next
 * kept one, so it also covers anything normalisation dropped just after
 * the match (spaces or filler joined away, zero-width characters); a
 * range ending inside the expansion of one input character (the "f" of
 * "ﬁ") covers that whole character.  O(log n), no allocation. */
void hb_text_source_span(const hb_text *text, size_t start, size_t end, size_t *src_start,
                         size_t *src_end);

/* True if cp is a CJK ideograph (unified, extensions, compatibility,
 * radicals), kana or hangul (syllables and jamo); CJK punctuation such as
 * ，。、 is not.  Used for n-gram and spacing decisions. */
int hb_is_cjk(uint32_t cp);

/* The script a message is mostly written in, for per-language calibration:
 * HB_SCRIPT_CJK when at least a third of its letters are CJK, else
 * HB_SCRIPT_OTHER (Latin and everything else). */
enum { HB_SCRIPT_OTHER = 0, HB_SCRIPT_CJK = 1, HB_SCRIPTS = 2 };
int hb_text_script(const hb_text *text);

#endif
