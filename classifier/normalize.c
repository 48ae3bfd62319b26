/*
 * normalize.c - fold raw message text into the one canonical form that
 * rules, entities and features work on, remembering where every output
 * character came from.
 *
 * The work is six passes over one reusable hb_text:
 *
 *   1. decode_and_fold   UTF-8 -> code points.  Validates with
 *                        utf8proc_iterate and folds each character on its
 *                        own (NFKD + case fold + mark stripping + LUMP),
 *                        drops controls and default-ignorables, turns every
 *                        kind of whitespace into one ASCII space, collapses
 *                        runs and trims the ends.  ASCII never reaches
 *                        utf8proc's tables, and CJK ideographs, kana and
 *                        hangul syllables pass through untouched (see
 *                        below).  Also notes whether any character is
 *                        traditional Chinese.
 *   2. join_cjk          drops spaces, filler punctuation and symbols between
 *                        two CJK characters ("安 * 全", "兼→职" -> "安全", "兼职").
 *   3. fold_traditional  traditional Chinese -> simplified with OpenCC's
 *                        t2s, one character for one ("帳戶" -> "账户");
 *                        only for text pass 1 found traditional characters in.
 *   4. fold_disguises    the look-alike spellings: 薇信 -> 微信, 扣扣 -> qq,
 *                        hxxp -> http, [.] / (dot) / " dot " / 。 -> ".",
 *                        点 -> "." where it spells a domain, numbers
 *                        written in Chinese numerals -> digits.
 *   5. fold_word_dollars, fold_word_digits
 *                        $ inside a Latin word reads as s, then 0 and 1
 *                        as o and l.
 *   6. encode_utf8       code points -> the NUL-terminated UTF-8 string and
 *                        its per-code-point byte offsets.
 *
 * Passes 2 to 5 work in place on the code point array: every rule maps a
 * span to a span no longer than itself, so a write index that never
 * overtakes the read index is enough and no second buffer is needed.  Each
 * output code point carries src_byte, the input offset of the first
 * character of the span it replaces; since the passes never reorder, that
 * array is non-decreasing and hb_text_source_span can binary-search it.
 *
 * Why per-character decomposition and not utf8proc_map(NFKC): we need the
 * source offset of every output character, which the whole-string API
 * throws away, and it allocates.  The price is that we produce NFKD, not
 * NFKC: canonical reordering and recomposition are skipped.  With marks
 * stripped this only matters for scripts whose composed letters are not
 * "base + mark": hangul syllables (NFKD splits them into jamo) and kana
 * with voicing marks (が would lose its dakuten).  Those blocks are
 * therefore passed through as they are, which is exactly what NFKC would
 * give.  Half-width katakana still go through utf8proc and lose a
 * half-width voicing mark (ｶﾞ -> カ); such text is rare in the messages
 * we classify and the loss is harmless for classification.
 *
 * Traditional to simplified.  OpenCC converts phrase by phrase (乾隆 stays,
 * 乾燥 -> 干燥), but a call costs microseconds and allocates, while most
 * messages have no traditional character at all.  So a process-wide
 * bitmap marks the code points t2s changes when alone (and 帐, below).
 * Pass 1 ORs one bit per CJK character; text without a marked one skips
 * pass 3 entirely.  Otherwise the CJK runs holding a converted character
 * go through OpenCC in one call, and a run whose conversion has as many
 * characters as the run is taken character for character, so every
 * src_byte stays exact; a run whose conversion changed length (a phrase
 * mapped to a longer or shorter one) is converted character by character
 * instead.  The join of pass 2 only asks "is it CJK", which t2s never
 * changes, so it runs first and a phrase spaced out by a scammer ("乾 燥")
 * still converts as a phrase.  t2s leaves 帳 as 帐, which simplified
 * writing also uses for "account" (帐户, 帐号); pass 3 reads that 帐 as 账
 * so that rules need one spelling, except in the tent words (帐篷, 蚊帐).
 *
 * The bitmap is learnt from OpenCC itself, 64 code points at a time, the
 * first time a character of those 64 is seen: asking OpenCC about every
 * CJK code point at once takes ~35 ms (~1 s under AddressSanitizer, whose
 * allocator OpenCC leans on), which would land on the first request a
 * worker serves.  Until its 64 are learnt a character counts as marked,
 * so the first messages of a process take the slow path and teach the
 * table; bits only go from 1 to 0, under a mutex, and readers use relaxed
 * atomic loads (plain loads on x86).  OpenCC's conversion is thread-safe.
 *
 * Cost: ASCII never calls utf8proc; Chinese ideographs, full-width ASCII
 * and the commonest CJK punctuation cost one utf8proc_iterate, a range
 * check and a bitmap test; only other non-ASCII characters pay for a
 * decomposition lookup.  Pass 2 is skipped for text without CJK, pass 3
 * for text without traditional characters.  Buffers grow geometrically and
 * are kept, so a warmed-up hb_text normalises without allocating (OpenCC
 * allocates inside its own call, for text with traditional characters).
 * Measured (-O2, best of 7 x 100k): ~0.3 us for a 100-byte English
 * message, ~0.3 us for a 110-byte Chinese one, ~0.5 us for 190 bytes of
 * Chinese.  The traditional fold adds ~200 instructions (~20 ns) to a
 * message without traditional characters (callgrind, 3,000 bench
 * messages) and ~6 us, nearly all inside OpenCC, to one with them.
 */
#include "normalize.h"

#include <assert.h>
#include <opencc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define FOLD_OPTIONS                                                                     \
    ((utf8proc_option_t)(UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK |      \
                         UTF8PROC_DECOMPOSE | UTF8PROC_IGNORE | UTF8PROC_LUMP))

/* The longest full decomposition utf8proc produces is 18 code points
 * (U+FDFA); anything longer is treated as "leave the character alone". */
#define MAX_DECOMP 32

/* Code points the look-alike rules refer to. */
enum {
    CP_IDEO_STOP = 0x3002,     /* 。 */
    CP_DIAN = 0x70B9,          /* 点, dot (點 is folded to it first) */
    CP_REN_RADICAL = 0x4EBB,   /* 亻, left half of 信 */
    CP_XIN = 0x4FE1,           /* 信 */
    CP_ZHANG = 0x5E10,         /* 帐, tent; also written for 账 */
    CP_WEI = 0x5FAE,           /* 微 */
    CP_KOU = 0x6263,           /* 扣 */
    CP_YAN = 0x8A00,           /* 言, right half of 信 */
    CP_ZHANG_ACCOUNT = 0x8D26, /* 账, account */
};

/* ------------------------------------------------------------------ */
/* Buffers                                                            */
/* ------------------------------------------------------------------ */

/* The capacity to grow to from cap so as to hold need entries of elem
 * bytes: doubling, so that a stream of messages settles after a few calls.
 * Returns 0 if that would overflow size_t. */
static size_t next_cap(size_t cap, size_t need, size_t elem)
{
    size_t cap_new = cap ? cap : 64;
    while (cap_new < need) {
        if (cap_new > SIZE_MAX / 2)
            return 0;
        cap_new *= 2;
    }
    return cap_new <= SIZE_MAX / elem ? cap_new : 0;
}

/* Make room for need entries in each of the three code point arrays.
 * Returns 0 or HB_ENOMEM; on failure the arrays already grown stay valid
 * (merely larger than cap_cps says). */
static int reserve_cps(hb_text *t, size_t need)
{
    if (need <= t->cap_cps)
        return 0;
    size_t cap = next_cap(t->cap_cps, need, sizeof(uint32_t));
    if (cap == 0)
        return HB_ENOMEM;
    uint32_t *p;
    if (!(p = realloc(t->cps, cap * sizeof *p)))
        return HB_ENOMEM;
    t->cps = p;
    if (!(p = realloc(t->cp_byte, cap * sizeof *p)))
        return HB_ENOMEM;
    t->cp_byte = p;
    if (!(p = realloc(t->src_byte, cap * sizeof *p)))
        return HB_ENOMEM;
    t->src_byte = p;
    t->cap_cps = cap;
    return 0;
}

/* Make room for need bytes of UTF-8.  Returns 0 or HB_ENOMEM. */
static int reserve_bytes(hb_text *t, size_t need)
{
    if (need <= t->cap_bytes)
        return 0;
    size_t cap = next_cap(t->cap_bytes, need, 1);
    char *p = cap ? realloc(t->utf8, cap) : NULL;
    if (!p)
        return HB_ENOMEM;
    t->utf8 = p;
    t->cap_bytes = cap;
    return 0;
}

/* Leave text empty but valid ("" with the final offset entries) when its
 * buffers exist; used on every error path. */
static void set_empty(hb_text *t)
{
    t->len = 0;
    t->ncps = 0;
    if (t->utf8)
        t->utf8[0] = '\0';
    if (t->cap_cps) {
        t->cp_byte[0] = 0;
        t->src_byte[0] = 0;
    }
}

void hb_text_init(hb_text *text)
{
    *text = (hb_text){0};
}

void hb_text_release(hb_text *text)
{
    if (!text)
        return;
    free(text->utf8);
    free(text->cps);
    free(text->cp_byte);
    free(text->src_byte);
    hb_text_init(text);
}

/* ------------------------------------------------------------------ */
/* Character classes                                                  */
/* ------------------------------------------------------------------ */

int hb_is_cjk(uint32_t cp)
{
    if (cp < 0x1100)
        return 0;
    if (cp >= 0x4E00 && cp <= 0x9FFF) /* the common case first */
        return 1;
    return (cp <= 0x11FF) ||                 /* hangul jamo */
           (cp >= 0x2E80 && cp <= 0x2FDF) || /* radicals */
           (cp >= 0x3005 && cp <= 0x3007) || /* 々 〆 〇 */
           (cp >= 0x3041 && cp <= 0x3096) || /* hiragana */
           (cp >= 0x309D && cp <= 0x309F) ||
           (cp >= 0x30A1 && cp <= 0x30FA) ||   /* katakana */
           (cp >= 0x30FC && cp <= 0x30FF) ||   /* ー ヽ ヾ ヿ */
           (cp >= 0x3131 && cp <= 0x318E) ||   /* compatibility jamo */
           (cp >= 0x31F0 && cp <= 0x31FF) ||   /* katakana ext */
           (cp >= 0x3400 && cp <= 0x4DBF) ||   /* ext A */
           (cp >= 0xA960 && cp <= 0xA97F) ||   /* jamo ext A */
           (cp >= 0xAC00 && cp <= 0xD7A3) ||   /* hangul syllables */
           (cp >= 0xD7B0 && cp <= 0xD7FF) ||   /* jamo ext B */
           (cp >= 0xF900 && cp <= 0xFAFF) ||   /* compatibility */
           (cp >= 0xFF66 && cp <= 0xFF9D) ||   /* half-width kana */
           (cp >= 0xFFA0 && cp <= 0xFFDC) ||   /* half-width hangul */
           (cp >= 0x1B000 && cp <= 0x1B16F) || /* kana supplement */
           (cp >= 0x20000 && cp <= 0x2FA1F) || /* ext B-F, compat */
           (cp >= 0x30000 && cp <= 0x323AF);   /* ext G-H */
}

/* Characters that skip utf8proc because folding leaves them as they are:
 * the bulk of Chinese text and its commonest punctuation (、。〃 and the
 * brackets 《》「」『』【】, but not 〈〉, which LUMP turns into < >), plus
 * the blocks whose NFKD would differ from NFKC once marks are stripped
 * (hangul syllables, kana; see the top of the file).  The unit tests check
 * the first group against utf8proc. */
static inline int is_passthrough(uint32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3001 && cp <= 0x3003) ||
           (cp >= 0x300A && cp <= 0x3011) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0x3041 && cp <= 0x3096) ||
           (cp >= 0x30A1 && cp <= 0x30FA);
}

/* Full-width ASCII (！ ， ： Ａ ...), common in Chinese text: NFKC maps
 * U+FF01..U+FF5E to U+0021..U+007E by a fixed offset. */
static inline int is_fullwidth_ascii(uint32_t cp)
{
    return cp >= 0xFF01 && cp <= 0xFF5E;
}

/* Unicode whitespace that utf8proc's LUMP does not already turn into
 * U+0020: NEL, and the line and paragraph separators. */
static inline int is_other_space(uint32_t cp)
{
    return cp == 0x85 || cp == 0x2028 || cp == 0x2029;
}

static inline int is_ascii_alpha(uint32_t cp)
{
    return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
}

static inline int is_ascii_digit(uint32_t cp)
{
    return cp >= '0' && cp <= '9';
}

static inline int is_ascii_alnum(uint32_t cp)
{
    return is_ascii_alpha(cp) || is_ascii_digit(cp);
}

/* Punctuation scammers sprinkle between Chinese characters to break up
 * keywords.  Deliberately excludes sentence punctuation (，。、！) which
 * carries meaning, and + (as in "+v"). */
static inline int is_filler(uint32_t cp)
{
    switch (cp) {
    case ' ':
    case '*':
    case '_':
    case '-':
    case '|':
    case '~':
    case '`':
    case '^':
    case '.':
    case '/':
    case 0x00B7: /* · middle dot */
    case 0x2022: /* • bullet */
    case 0x2027: /* ‧ hyphenation point */
    case 0x2219: /* ∙ bullet operator */
    case 0x22C5: /* ⋅ dot operator */
    case 0x30FB: /* ・ katakana middle dot */ return 1;
    default: return 0;
    }
}

/* Symbols and emoji, which Chinese writing never puts inside a word, so
 * that between two Chinese characters they only break a keyword up
 * ("兼→职", "账❤户", "动动手指💰轻松赚").  Only non-ASCII: "+" reads as
 * "add" ("+v"), and < = > carry meaning. */
static inline int is_symbol_filler(uint32_t cp)
{
    /* ASCII, and the ideographs this is asked about most, first */
    if (cp < 0x80 || (cp >= 0x4E00 && cp <= 0x9FFF))
        return 0;
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c == UTF8PROC_CATEGORY_SM || c == UTF8PROC_CATEGORY_SO ||
           c == UTF8PROC_CATEGORY_SK;
}

/* Characters that, followed by 信, spell 微信 to a reader. */
static inline int is_wechat_lookalike(uint32_t cp)
{
    switch (cp) {
    case 0x8587: /* 薇 */
    case 0x5A01: /* 威 */
    case 0x5FBD: /* 徽 */
    case 0x7EF4: /* 维 */
    case 0x7DAD: /* 維 */ return 1;
    default: return 0;
    }
}

/* Ordinary words that end in a 微信 look-alike, so that the look-alike
 * followed by 信 is usually that word followed by 信息/信用/信号...:
 * 权威信息, 安徽信用社, 思维信念.  Folding those would turn everyday news
 * into "微信" mentions. */
static const uint32_t lookalike_words[][2] = {
    {0x6743, 0x5A01}, {0x793A, 0x5A01}, {0x58F0, 0x5A01}, /* 权威 示威 声威 */
    {0x56FD, 0x5A01}, {0x519B, 0x5A01}, {0x53D1, 0x5A01}, /* 国威 军威 发威 */
    {0x52A9, 0x5A01}, {0x795E, 0x5A01}, {0x626C, 0x5A01}, /* 助威 神威 扬威 */
    {0x5B89, 0x5FBD}, {0x56FD, 0x5FBD}, {0x6821, 0x5FBD}, /* 安徽 国徽 校徽 */
    {0x515A, 0x5FBD}, {0x4F1A, 0x5FBD}, {0x8B66, 0x5FBD}, /* 党徽 会徽 警徽 */
    {0x601D, 0x7EF4}, {0x7EA4, 0x7EF4}, {0x606D, 0x7EF4}, /* 思维 纤维 恭维 */
    {0x4E8C, 0x7EF4}, {0x4E09, 0x7EF4}, {0x591A, 0x7EF4}, /* 二维 三维 多维 */
    {0x601D, 0x7DAD}, {0x7E96, 0x7DAD}, {0x606D, 0x7DAD}, /* 思維 纖維 恭維 */
    {0x8537, 0x8587}, {0x7D2B, 0x8587},                   /* 蔷薇 紫薇 */
};

/* True if before + lookalike is one of lookalike_words. */
static int is_lookalike_word(uint32_t before, uint32_t lookalike)
{
    size_t n = sizeof lookalike_words / sizeof lookalike_words[0];
    for (size_t i = 0; i < n; i++)
        if (lookalike_words[i][0] == before && lookalike_words[i][1] == lookalike)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* The traditional-to-simplified table                                */
/* ------------------------------------------------------------------ */

/* OpenCC's configuration: traditional Chinese (OpenCC's standard forms,
 * which cover Taiwan's and Hong Kong's characters) to simplified.  By
 * absolute path (the Makefile asks pkg-config where OpenCC's data is):
 * given a bare name, OpenCC looks in the working directory first, where a
 * stray t2s.json would change what every message reads as. */
#ifndef HB_OPENCC_T2S
#error "HB_OPENCC_T2S: the absolute path of OpenCC's t2s.json (see the Makefile)"
#endif
#define T2S_CONFIG HB_OPENCC_T2S

/* The CJK ideograph blocks OpenCC's dictionaries draw on: ext A, unified,
 * compatibility, ext B-F with the compatibility supplement, ext G-H. */
static const uint32_t t2s_blocks[][2] = {
    {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},   {0xF900, 0xFAFF},
    {0x20000, 0x2FA1F}, {0x30000, 0x323AF},
};
enum {
    T2S_LIMIT = 0x323B0,               /* one past the last block */
    T2S_WORDS = (T2S_LIMIT + 63) / 64, /* 64 code points per word */
    T2S_STAGE = 64 * 5 + 1,            /* a word's code points, one a line */
};

/* The process-wide table, set up once by t2s_open and learnt a word (64
 * code points) at a time by t2s_learn.  A bit only ever goes from 1 to 0,
 * and only while its word is being learnt, so a reader that sees 0 can
 * trust it, and one that sees 1 checks learnt[] before believing it. */
static struct {
    pthread_once_t once;
    hb_error error;           /* code 0, or why OpenCC could not be opened */
    opencc_t cc;              /* the converter, for phrases and learning */
    pthread_mutex_t learning; /* one t2s_learn at a time */
    /* bit cp % 64 of word cp / 64: cp needs pass 3, because t2s changes
     * it, it is 帐, or its word is not learnt yet */
    _Atomic uint64_t marks[T2S_WORDS];
    _Atomic unsigned char learnt[T2S_WORDS]; /* marks[w] is exact */
} t2s = {.once = PTHREAD_ONCE_INIT, .learning = PTHREAD_MUTEX_INITIALIZER};

/* Bit 0 is set when cp (below T2S_LIMIT) is marked; the other bits are
 * noise, so that pass 1 can OR the value and test bit 0 once at the end. */
static inline uint64_t t2s_mark_bits(uint32_t cp)
{
    return atomic_load_explicit(&t2s.marks[cp >> 6], memory_order_relaxed) >> (cp & 63);
}

static inline int t2s_marked(uint32_t cp)
{
    return cp < T2S_LIMIT && (t2s_mark_bits(cp) & 1);
}

/* True if OpenCC changes cp (帐 is marked for pass 3, not for OpenCC);
 * exact once cp's word is learnt. */
static inline int t2s_converts(uint32_t cp)
{
    return cp != CP_ZHANG && t2s_marked(cp);
}

static int in_t2s_blocks(uint32_t cp)
{
    for (size_t b = 0; b < sizeof t2s_blocks / sizeof t2s_blocks[0]; b++)
        if (cp >= t2s_blocks[b][0] && cp <= t2s_blocks[b][1])
            return 1;
    return 0;
}

/* Write cp as UTF-8 at o; returns the byte count (1 to 4). */
static inline size_t put_utf8(unsigned char *o, uint32_t c)
{
    if (c < 0x80) {
        o[0] = (unsigned char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (unsigned char)(0xC0 | (c >> 6));
        o[1] = (unsigned char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (c >> 12));
        o[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (c >> 18));
    o[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (c & 0x3F));
    return 4;
}

/* Decode the UTF-8 in s[0..len) into at most max code points of out.
 * Returns how many code points s holds (which may exceed max; only the
 * first max are stored), or -1 if s is not valid UTF-8. */
static long get_utf8(const unsigned char *s, size_t len, uint32_t *out, size_t max)
{
    size_t n = 0;
    for (size_t pos = 0; pos < len; n++) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t clen = utf8proc_iterate(
            s + pos, (utf8proc_ssize_t)(len - pos < 4 ? len - pos : 4), &cp);
        if (clen < 0)
            return -1;
        if (n < max)
            out[n] = (uint32_t)cp;
        pos += (size_t)clen;
    }
    return (long)n;
}

/* Convert each of the n code points of cps through OpenCC on its own,
 * without phrase context, in one call: they go one a line through stage
 * (room for 5 * n + 1 bytes).  to[i] receives the conversion of cps[i]
 * when that is one code point, else 0.  Returns 0, or -1 when OpenCC
 * failed (to[] is then untouched). */
static int t2s_convert_chars(const uint32_t *cps, size_t n, uint32_t *to,
                             unsigned char *stage)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        len += put_utf8(stage + len, cps[i]);
        stage[len++] = '\n';
    }
    stage[len] = '\0';
    char *out = opencc_convert_utf8(t2s.cc, (const char *)stage, len);
    if (!out)
        return -1;
    const unsigned char *p = (const unsigned char *)out;
    const unsigned char *end = p + strlen(out);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            rc = -1; /* lines lost: cannot line up */
            break;
        }
        uint32_t c;
        to[i] = get_utf8(p, (size_t)(nl - p), &c, 1) == 1 ? c : 0;
        p = nl + 1;
    }
    opencc_convert_utf8_free(out);
    return rc;
}

/* Learn word w of the table: run its code points through OpenCC one by
 * one and keep the bits of those it changes (and of 帐).  Returns 1, or 0
 * when OpenCC failed and the word stays unlearnt (a later call tries
 * again); from then on the word's bits never change. */
static int t2s_learn(size_t w)
{
    pthread_mutex_lock(&t2s.learning);
    if (atomic_load_explicit(&t2s.learnt[w], memory_order_relaxed)) {
        pthread_mutex_unlock(&t2s.learning);
        return 1;
    }
    uint32_t cps[64] = {0}, to[64] = {0};
    size_t n = 0;
    for (uint32_t c = (uint32_t)w * 64; c < (uint32_t)w * 64 + 64; c++)
        if (in_t2s_blocks(c))
            cps[n++] = c;
    unsigned char stage[T2S_STAGE];
    int ok = t2s_convert_chars(cps, n, to, stage) == 0;
    if (ok) {
        uint64_t bits = 0;
        for (size_t i = 0; i < n; i++)
            if (to[i] != cps[i] || cps[i] == CP_ZHANG)
                bits |= (uint64_t)1 << (cps[i] & 63);
        atomic_store_explicit(&t2s.marks[w], bits, memory_order_relaxed);
        atomic_store_explicit(&t2s.learnt[w], 1, memory_order_release);
    }
    pthread_mutex_unlock(&t2s.learning);
    return ok;
}

/* pthread_once routine: open OpenCC and mark every code point of
 * t2s_blocks as not learnt.  On failure t2s.error says why. */
static void t2s_open(void)
{
    t2s.cc = opencc_open(T2S_CONFIG);
    if (t2s.cc == (opencc_t)-1) {
        const char *why = opencc_error();
        if (!why)
            why = "unknown error";
        size_t n = strlen(why);
        if (n > 0 && why[n - 1] == '.') /* OpenCC ends with a stop */
            n--;
        hb_error_set(&t2s.error, HB_ENOTFOUND,
                     "cannot fold traditional Chinese with OpenCC's "
                     "configuration %s: %.*s; install libopencc-data "
                     "(tools/install-deps does)",
                     T2S_CONFIG, (int)n, why);
        return;
    }
    for (size_t w = 0; w < T2S_WORDS; w++)
        atomic_init(&t2s.learnt[w], 1); /* nothing to learn */
    for (size_t b = 0; b < sizeof t2s_blocks / sizeof t2s_blocks[0]; b++)
        for (uint32_t c = t2s_blocks[b][0]; c <= t2s_blocks[b][1]; c++) {
            atomic_fetch_or_explicit(&t2s.marks[c >> 6], (uint64_t)1 << (c & 63),
                                     memory_order_relaxed);
            atomic_store_explicit(&t2s.learnt[c >> 6], 0, memory_order_relaxed);
        }
}

int hb_normalize_init(hb_error *err)
{
    pthread_once(&t2s.once, t2s_open);
    if (t2s.error.code != 0)
        return hb_error_set(err, t2s.error.code, "%s", t2s.error.message);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Pass 1: decode and fold each character                             */
/* ------------------------------------------------------------------ */

/* n (0..20) as ASCII digits in out; returns how many. */
static size_t put_number(uint32_t n, utf8proc_int32_t out[2])
{
    if (n < 10) {
        out[0] = (utf8proc_int32_t)('0' + n);
        return 1;
    }
    out[0] = (utf8proc_int32_t)('0' + n / 10);
    out[1] = (utf8proc_int32_t)('0' + n % 10);
    return 2;
}

/* Digits, letters and plus signs that NFKC leaves alone because Unicode
 * gives them no compatibility decomposition, though scammers write them
 * for the plain ones to get past keyword filters ("日入❽❾❾", "➕V信",
 * "🅥"): the dingbat circled digits (three styles of 1 to 10), the
 * negative and double circled numbers, the negative circled and negative
 * squared capitals and the heavy plus signs.  Writes the ASCII form to out
 * (at most two characters: "10") and returns its length, or 0 for any
 * other cp. */
static size_t fold_dingbat(uint32_t cp, utf8proc_int32_t out[2])
{
    uint32_t letter_base = 0;
    if (cp >= 0x2776 && cp <= 0x2793) /* ❶..❿ ➀..➉ ➊..➓ */
        return put_number((cp - 0x2776) % 10 + 1, out);
    if (cp >= 0x24EB && cp <= 0x24F4) /* ⓫..⓴ */
        return put_number(cp - 0x24EB + 11, out);
    if (cp >= 0x24F5 && cp <= 0x24FE) /* ⓵..⓾ */
        return put_number(cp - 0x24F5 + 1, out);
    if (cp == 0x24FF) /* ⓿ */
        return put_number(0, out);
    if (cp >= 0x1F150 && cp <= 0x1F169) /* 🅐..🅩 */
        letter_base = 0x1F150;
    else if (cp >= 0x1F170 && cp <= 0x1F189) /* 🅰..🆉 */
        letter_base = 0x1F170;
    if (letter_base) {
        out[0] = (utf8proc_int32_t)('a' + (cp - letter_base));
        return 1;
    }
    if (cp == 0x2795 || cp == 0x271A || cp == 0x2719) { /* ➕ ✚ ✙ */
        out[0] = '+';
        return 1;
    }
    return 0;
}

/* Fold an ASCII character: letters to lower case, whitespace to ' ',
 * other controls to 0 (meaning "drop"). */
static inline uint32_t fold_ascii(uint32_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c + ('a' - 'A');
    if (c <= ' ' || c == 0x7F)
        return (c == ' ' || (c >= '\t' && c <= '\r')) ? ' ' : 0;
    return c;
}

/* Where pass 1 appends.  Local copies of the array pointers, so that the
 * hot loop keeps them in registers; refreshed after a reserve_cps. */
typedef struct sink {
    uint32_t *cps;
    uint32_t *src;
    size_t n;
    uint32_t any;  /* OR of every code point emitted; below 0x1100
                      proves there is no CJK (hb_is_cjk starts there) */
    uint32_t trad; /* OR of t2s_mark_bits of the CJK emitted: bit 0 set
                      when some character needs pass 3 */
} sink;

/* Append cp (from input offset src), collapsing spaces: a space is dropped
 * at the start and after another space.  The caller guarantees capacity. */
static inline void emit(sink *k, uint32_t cp, uint32_t src)
{
    if (cp == ' ' && (k->n == 0 || k->cps[k->n - 1] == ' '))
        return;
    k->cps[k->n] = cp;
    k->src[k->n] = src;
    k->n++;
    k->any |= cp;
}

/* Emit one code point produced by utf8proc's decomposition, applying the
 * space and control rules to it (a decomposition can contain spaces, and
 * IGNORE does not remove every format character). */
static void emit_folded(sink *k, uint32_t cp, uint32_t src)
{
    if (cp < 0x80) {
        cp = fold_ascii(cp);
    } else {
        switch (utf8proc_category((utf8proc_int32_t)cp)) {
        case UTF8PROC_CATEGORY_ZS:
        case UTF8PROC_CATEGORY_ZL:
        case UTF8PROC_CATEGORY_ZP: cp = ' '; break;
        case UTF8PROC_CATEGORY_CC:
        case UTF8PROC_CATEGORY_CF: cp = 0; break;
        default: break;
        }
        /* compatibility ideographs decompose to unified ones, which are
         * checked here; extensions B and up come here as themselves */
        if (cp >= 0x3400 && cp < T2S_LIMIT)
            k->trad |= (uint32_t)(t2s_mark_bits(cp) & 1);
    }
    if (cp)
        emit(k, cp, src);
}

/* Decode src[0..len) into t->cps / t->src_byte with per-character folding,
 * whitespace collapsed and both ends trimmed.  *any receives the OR of all
 * code points, which lets pass 2 be skipped for text without CJK; *trad
 * is set when a character is marked in the t2s table (pass 3 is needed).
 * Returns 0, HB_EUTF8 or HB_ENOMEM. */
static int decode_and_fold(const unsigned char *src, size_t len, hb_text *t,
                           uint32_t *any, int *trad, hb_error *err)
{
    /* Every fast path gives at most one code point per input byte, so
     * len + 1 entries (the +1 for the final offsets) cover everything but
     * long decompositions, which check for themselves. */
    if (reserve_cps(t, len + 1))
        return hb_error_set(err, HB_ENOMEM, "out of memory normalising %zu bytes", len);
    sink k = {t->cps, t->src_byte, 0, 0, 0};
    size_t pos = 0;
    while (pos < len) {
        uint32_t c = src[pos];
        if (c < 0x80) {
            if ((c = fold_ascii(c)) != 0)
                emit(&k, c, (uint32_t)pos);
            pos++;
            continue;
        }

        utf8proc_int32_t cp;
        size_t avail = len - pos < 4 ? len - pos : 4;
        utf8proc_ssize_t clen = utf8proc_iterate(src + pos, (utf8proc_ssize_t)avail, &cp);
        if (clen < 0)
            return hb_error_set(err, HB_EUTF8,
                                "invalid UTF-8 at byte offset %zu "
                                "(byte 0x%02x): send text as UTF-8",
                                pos, (unsigned)src[pos]);
        c = (uint32_t)cp;

        if (is_passthrough(c)) {
            k.trad |= (uint32_t)t2s_mark_bits(c); /* c < T2S_LIMIT */
            emit(&k, c, (uint32_t)pos);
        } else if (is_fullwidth_ascii(c)) {
            emit(&k, fold_ascii(c - 0xFEE0), (uint32_t)pos);
        } else if (is_other_space(c)) {
            emit(&k, ' ', (uint32_t)pos);
        } else {
            utf8proc_int32_t d[MAX_DECOMP];
            utf8proc_ssize_t nd = (utf8proc_ssize_t)fold_dingbat(c, d);
            if (nd == 0)
                nd = utf8proc_decompose_char(cp, d, MAX_DECOMP, FOLD_OPTIONS, NULL);
            if (nd < 0 || nd > MAX_DECOMP) {
                d[0] = cp;
                nd = 1;
            }
            /* Keep the invariant "room for one entry per remaining input
             * byte" after an expansion. */
            size_t need = k.n + (size_t)nd + (len - pos - (size_t)clen) + 1;
            if (need > t->cap_cps) {
                if (reserve_cps(t, need))
                    return hb_error_set(err, HB_ENOMEM,
                                        "out of memory normalising %zu "
                                        "bytes",
                                        len);
                k.cps = t->cps;
                k.src = t->src_byte;
            }
            for (utf8proc_ssize_t i = 0; i < nd; i++)
                emit_folded(&k, (uint32_t)d[i], (uint32_t)pos);
        }
        pos += (size_t)clen;
    }
    if (k.n > 0 && k.cps[k.n - 1] == ' ')
        k.n--;
    t->ncps = k.n;
    *any = k.any;
    *trad = (int)(k.trad & 1);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Pass 2: join CJK broken up by spaces and filler                    */
/* ------------------------------------------------------------------ */

static inline int is_cjk_gap(uint32_t cp)
{
    return is_filler(cp) || is_symbol_filler(cp);
}

/* Drop every run of spaces, filler punctuation and symbols that has a CJK
 * character on both sides.  Returns the new length. */
static size_t join_cjk(uint32_t *cps, uint32_t *src, size_t n)
{
    size_t r = 0, w = 0;
    while (r < n) {
        if (!is_cjk_gap(cps[r]) || w == 0 || !hb_is_cjk(cps[w - 1])) {
            cps[w] = cps[r];
            src[w] = src[r];
            w++, r++;
            continue;
        }
        size_t end = r;
        while (end < n && is_cjk_gap(cps[end]))
            end++;
        if (end < n && hb_is_cjk(cps[end])) {
            r = end;
            continue;
        }
        while (r < end) {
            cps[w] = cps[r];
            src[w] = src[r];
            w++, r++;
        }
    }
    return w;
}

/* ------------------------------------------------------------------ */
/* Pass 3: traditional to simplified                                  */
/* ------------------------------------------------------------------ */

/* Find the first run of CJK characters at or after from that holds a
 * character OpenCC converts; store it as [*a, *b) and return 1, or return
 * 0 when there is none. */
static int next_t2s_run(const uint32_t *cps, size_t n, size_t from, size_t *a, size_t *b)
{
    size_t i = from;
    while (i < n) {
        if (!hb_is_cjk(cps[i])) {
            i++;
            continue;
        }
        size_t start = i;
        int convert = 0;
        for (; i < n && hb_is_cjk(cps[i]); i++)
            convert |= t2s_converts(cps[i]);
        if (convert) {
            *a = start;
            *b = i;
            return 1;
        }
    }
    return 0;
}

/* True if the UTF-8 s[0..len) holds exactly want CJK characters. */
static int piece_fits(const unsigned char *s, size_t len, size_t want)
{
    size_t n = 0;
    for (size_t pos = 0; pos < len; n++) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t clen = utf8proc_iterate(
            s + pos, (utf8proc_ssize_t)(len - pos < 4 ? len - pos : 4), &cp);
        if (clen < 0 || n == want || !hb_is_cjk((uint32_t)cp))
            return 0;
        pos += (size_t)clen;
    }
    return n == want;
}

/* 帐 is a tent or curtain after 蚊 营 军 纱 罗 床 幔 帷 毡 锦 绛 篷 and
 * before 篷 蓬 幕 子 幔 幄 帘 (蚊帐, 帐篷, 帐幕); anywhere else it is the
 * older spelling of 账, account (帐户, 转帐), and what t2s makes of 帳. */
static int is_tent_before(uint32_t cp)
{
    switch (cp) {
    case 0x868A:
    case 0x8425:
    case 0x519B:
    case 0x7EB1:
    case 0x7F57:
    case 0x5E8A:
    case 0x5E54:
    case 0x5E37:
    case 0x6BE1:
    case 0x9526:
    case 0x7EDB:
    case 0x7BF7: return 1;
    default: return 0;
    }
}

static int is_tent_after(uint32_t cp)
{
    switch (cp) {
    case 0x7BF7:
    case 0x84EC:
    case 0x5E55:
    case 0x5B50:
    case 0x5E54:
    case 0x5E44:
    case 0x5E18: return 1;
    default: return 0;
    }
}

/* 帐 in the sense of account -> 账, so that rules need one spelling. */
static void fold_account_zhang(uint32_t *cps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (cps[i] == CP_ZHANG && !(i > 0 && is_tent_before(cps[i - 1])) &&
            !(i + 1 < n && is_tent_after(cps[i + 1])))
            cps[i] = CP_ZHANG_ACCOUNT;
}

/* Convert the run cps[a..b) character by character, without phrase
 * context (when OpenCC's conversion of the run changed its length).
 * stage and to are scratch for 5 * (b - a) + 1 bytes and b - a entries. */
static void t2s_run_by_char(uint32_t *cps, size_t a, size_t b, unsigned char *stage,
                            uint32_t *to)
{
    if (t2s_convert_chars(cps + a, b - a, to, stage) != 0)
        return;
    for (size_t i = a; i < b; i++)
        if (to[i - a] != 0 && hb_is_cjk(to[i - a]))
            cps[i] = to[i - a];
}

/* Fold t's traditional characters to simplified, one for one, so src_byte
 * stays as it is.  First the table learns the words of the marked
 * characters it does not know yet, so that the bits read below cannot
 * change under us; then the CJK runs that hold a character OpenCC
 * converts go to OpenCC in one call, one run a line.  t->utf8 and
 * t->cp_byte, not yet written by pass 6, are the scratch.  Returns 0 or
 * HB_ENOMEM; when OpenCC itself fails, the text is left as it is. */
static int fold_traditional(hb_text *t, size_t srclen, hb_error *err)
{
    uint32_t *cps = t->cps;
    size_t n = t->ncps;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cps[i];
        if (t2s_marked(c) &&
            !atomic_load_explicit(&t2s.learnt[c >> 6], memory_order_acquire) &&
            !t2s_learn(c >> 6))
            return 0;
    }

    if (n > (SIZE_MAX - 1) / 5 || reserve_bytes(t, n * 5 + 1))
        return hb_error_set(err, HB_ENOMEM, "out of memory normalising %zu bytes",
                            srclen);
    unsigned char *stage = (unsigned char *)t->utf8;
    size_t len = 0, runs = 0, a, b;
    for (size_t i = 0; next_t2s_run(cps, n, i, &a, &b); i = b) {
        for (size_t k = a; k < b; k++)
            len += put_utf8(stage + len, cps[k]);
        stage[len++] = '\n';
        runs++;
    }
    if (runs > 0) {
        stage[len] = '\0';
        char *out = opencc_convert_utf8(t2s.cc, (const char *)stage, len);
        if (out) {
            const unsigned char *p = (const unsigned char *)out;
            const unsigned char *end = p + strlen(out);
            size_t lines = 0;
            for (const unsigned char *q = p; q < end; q++)
                lines += *q == '\n';
            if (lines != runs)
                p = NULL; /* cannot line up: go character by character */
            for (size_t i = 0; next_t2s_run(cps, n, i, &a, &b); i = b) {
                const unsigned char *nl = p ? memchr(p, '\n', (size_t)(end - p)) : NULL;
                if (nl && piece_fits(p, (size_t)(nl - p), b - a))
                    get_utf8(p, (size_t)(nl - p), cps + a, b - a);
                else
                    t2s_run_by_char(cps, a, b, stage, t->cp_byte);
                p = nl ? nl + 1 : NULL;
            }
            opencc_convert_utf8_free(out);
        }
    }
    fold_account_zhang(cps, n);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Pass 4: look-alike spellings                                       */
/* ------------------------------------------------------------------ */

/* The rules below read cps[r..n) and write at *w (never past r); each
 * returns how many code points it consumed, or 0 when it does not apply. */

/* True when output position w starts a Latin token: it is the first
 * position or follows something other than an ASCII letter or digit. */
static inline int at_token_start(const uint32_t *cps, size_t w)
{
    return w == 0 || !is_ascii_alnum(cps[w - 1]);
}

/* 信 (or 亻言) preceded by 薇 威 徽 维 維 (unless that ends a word such
 * as 权威), by a standalone v, or by a standalone vx: the prefix becomes
 * 微 and keeps its source offset. */
static size_t fold_wechat(uint32_t *cps, uint32_t *src, size_t n, size_t r, size_t *w)
{
    size_t used;
    if (cps[r] == CP_XIN)
        used = 1;
    else if (cps[r] == CP_REN_RADICAL && r + 1 < n && cps[r + 1] == CP_YAN)
        used = 2;
    else
        return 0;

    uint32_t at = src[r];
    size_t o = *w;
    /* a one-character prefix (a look-alike of 微 or a standalone v), or
     * the two of a standalone vx */
    if (o >= 1 && ((is_wechat_lookalike(cps[o - 1]) &&
                    !(o >= 2 && is_lookalike_word(cps[o - 2], cps[o - 1]))) ||
                   (cps[o - 1] == 'v' && at_token_start(cps, o - 1)))) {
        cps[o - 1] = CP_WEI;
    } else if (o >= 2 && cps[o - 2] == 'v' && cps[o - 1] == 'x' &&
               at_token_start(cps, o - 2)) {
        o--;
        cps[o - 1] = CP_WEI;
    }
    cps[o] = CP_XIN;
    src[o] = at;
    *w = o + 1;
    return used;
}

/* 扣扣 (a homophone of QQ) -> qq. */
static size_t fold_koukou(uint32_t *cps, uint32_t *src, size_t n, size_t r, size_t *w)
{
    if (cps[r] != CP_KOU || r + 1 >= n || cps[r + 1] != CP_KOU)
        return 0;
    uint32_t s0 = src[r], s1 = src[r + 1];
    cps[*w] = 'q';
    src[*w] = s0;
    cps[*w + 1] = 'q';
    src[*w + 1] = s1;
    *w += 2;
    return 2;
}

/* The Chinese numerals of a number read out digit by digit (幺 is how a 1
 * is said in a phone number; 壹 .. 玖 are the banking forms), in a table
 * that (cp * NUMERAL_HASH) >> 26 indexes without collisions, so that the
 * test every Chinese character meets is one multiply, one load and one
 * compare.  Each entry is cp << 4 | digit; 0 marks an empty slot.  (A
 * multiplier that collided would make one numeral overwrite another, and
 * test_fold_numerals, which folds all of them, would fail.) */
#define NUMERAL_HASH 0x82283d15u
#define NUMERAL_SLOT(cp) ((uint32_t)((uint32_t)(cp)*NUMERAL_HASH) >> 26)
#define NUMERAL_ENTRY(cp, d) ((uint32_t)(cp) << 4 | (d))
static const uint32_t numerals[64] = {
    [NUMERAL_SLOT(0x3007)] = NUMERAL_ENTRY(0x3007, 0), /* 〇 */
    [NUMERAL_SLOT(0x96F6)] = NUMERAL_ENTRY(0x96F6, 0), /* 零 */
    [NUMERAL_SLOT(0x4E00)] = NUMERAL_ENTRY(0x4E00, 1), /* 一 */
    [NUMERAL_SLOT(0x5E7A)] = NUMERAL_ENTRY(0x5E7A, 1), /* 幺 */
    [NUMERAL_SLOT(0x58F9)] = NUMERAL_ENTRY(0x58F9, 1), /* 壹 */
    [NUMERAL_SLOT(0x4E8C)] = NUMERAL_ENTRY(0x4E8C, 2), /* 二 */
    [NUMERAL_SLOT(0x8D30)] = NUMERAL_ENTRY(0x8D30, 2), /* 贰 */
    [NUMERAL_SLOT(0x4E09)] = NUMERAL_ENTRY(0x4E09, 3), /* 三 */
    [NUMERAL_SLOT(0x53C1)] = NUMERAL_ENTRY(0x53C1, 3), /* 叁 */
    [NUMERAL_SLOT(0x56DB)] = NUMERAL_ENTRY(0x56DB, 4), /* 四 */
    [NUMERAL_SLOT(0x8086)] = NUMERAL_ENTRY(0x8086, 4), /* 肆 */
    [NUMERAL_SLOT(0x4E94)] = NUMERAL_ENTRY(0x4E94, 5), /* 五 */
    [NUMERAL_SLOT(0x4F0D)] = NUMERAL_ENTRY(0x4F0D, 5), /* 伍 */
    [NUMERAL_SLOT(0x516D)] = NUMERAL_ENTRY(0x516D, 6), /* 六 */
    [NUMERAL_SLOT(0x9646)] = NUMERAL_ENTRY(0x9646, 6), /* 陆 */
    [NUMERAL_SLOT(0x4E03)] = NUMERAL_ENTRY(0x4E03, 7), /* 七 */
    [NUMERAL_SLOT(0x67D2)] = NUMERAL_ENTRY(0x67D2, 7), /* 柒 */
    [NUMERAL_SLOT(0x516B)] = NUMERAL_ENTRY(0x516B, 8), /* 八 */
    [NUMERAL_SLOT(0x634C)] = NUMERAL_ENTRY(0x634C, 8), /* 捌 */
    [NUMERAL_SLOT(0x4E5D)] = NUMERAL_ENTRY(0x4E5D, 9), /* 九 */
    [NUMERAL_SLOT(0x7396)] = NUMERAL_ENTRY(0x7396, 9), /* 玖 */
};

/* The digit numeral cp stands for, or -1. */
static inline int numeral_digit(uint32_t cp)
{
    uint32_t e = numerals[NUMERAL_SLOT(cp)];
    return e >> 4 == cp && e ? (int)(e & 15) : -1;
}

/* The shortest run of numerals read as a number: a QQ id has at least
 * five digits, while words made of numerals ("三五成群", "七七八八") have
 * at most four. */
#define NUMERAL_RUN_MIN 5

/* A phone, QQ or account number written in Chinese numerals to get past
 * filters ("二九七三一八四六五零" -> "2973184650"), one digit for one. */
static size_t fold_numerals(uint32_t *cps, uint32_t *src, size_t n, size_t r, size_t *w)
{
    size_t end = r;
    while (end < n && numeral_digit(cps[end]) >= 0)
        end++;
    if (end - r < NUMERAL_RUN_MIN)
        return 0;
    for (size_t i = r; i < end; i++) {
        cps[*w] = (uint32_t)('0' + numeral_digit(cps[i]));
        src[*w] = src[i];
        (*w)++;
    }
    return end - r;
}

/* hxxp / hxxps at the start of a token -> http / https (the s, if any, is
 * copied by the main loop). */
static size_t fold_hxxp(uint32_t *cps, uint32_t *src, size_t n, size_t r, size_t *w)
{
    if (cps[r] != 'h' || r + 3 >= n || cps[r + 1] != 'x' || cps[r + 2] != 'x' ||
        cps[r + 3] != 'p' || !at_token_start(cps, *w))
        return 0;
    static const uint32_t http[4] = {'h', 't', 't', 'p'};
    for (size_t k = 0; k < 4; k++) {
        cps[*w + k] = http[k];
        src[*w + k] = src[r + k];
    }
    *w += 4;
    return 4;
}

/* Replace a defanged separator spanning cps[r..end) by the single
 * character sep.  When Latin alphanumerics sit on both sides (at most one
 * space away), the spaces around it go too: "example [dot] com" ->
 * "example.com". */
static size_t put_separator(uint32_t *cps, uint32_t *src, size_t n, size_t r, size_t end,
                            uint32_t sep, size_t *w)
{
    uint32_t at = src[r];
    size_t o = *w;
    size_t left = (o >= 1 && cps[o - 1] == ' ') ? o - 1 : o;
    size_t right = (end < n && cps[end] == ' ') ? end + 1 : end;
    if (left > 0 && is_ascii_alnum(cps[left - 1]) && right < n &&
        is_ascii_alnum(cps[right])) {
        o = left;
        end = right;
    }
    cps[o] = sep;
    src[o] = at;
    *w = o + 1;
    return end - r;
}

/* [.] (.) {.} [dot] (dot) {dot} -> "." and [:] (:) {:} -> ":". */
static size_t fold_bracketed(uint32_t *cps, uint32_t *src, size_t n, size_t r, size_t *w)
{
    uint32_t close;
    switch (cps[r]) {
    case '[': close = ']'; break;
    case '(': close = ')'; break;
    case '{': close = '}'; break;
    default: return 0;
    }
    uint32_t sep;
    size_t end;
    if (r + 2 < n && (cps[r + 1] == '.' || cps[r + 1] == ':') && cps[r + 2] == close) {
        sep = cps[r + 1];
        end = r + 3;
    } else if (r + 4 < n && cps[r + 1] == 'd' && cps[r + 2] == 'o' && cps[r + 3] == 't' &&
               cps[r + 4] == close) {
        sep = '.';
        end = r + 5;
    } else {
        return 0;
    }
    return put_separator(cps, src, n, r, end, sep, w);
}

/* True if cps[i..n) starts with the ASCII string s. */
static int starts_with(const uint32_t *cps, size_t n, size_t i, const char *s)
{
    for (; *s; s++, i++)
        if (i >= n || cps[i] != (unsigned char)*s)
            return 0;
    return 1;
}

/* True if the Latin token cps[i..end) is a top-level domain scammers use.
 * A heuristic list: it only decides whether " dot " is spelling a domain
 * ("example dot com") or is the English word ("polka dot dress"). */
static int is_common_tld(const uint32_t *cps, size_t i, size_t end)
{
    static const char *const tlds[] = {
        "com", "net",  "org",  "cn",   "top", "xyz", "info", "vip",    "cc",
        "io",  "co",   "me",   "hk",   "tw",  "biz", "site", "online", "shop",
        "app", "club", "ru",   "uk",   "us",  "jp",  "kr",   "in",     "de",
        "gov", "edu",  "link", "live", "icu", "win", "work", "fun",    "asia",
    };
    for (size_t k = 0; k < sizeof tlds / sizeof tlds[0]; k++)
        if (strlen(tlds[k]) == end - i && starts_with(cps, end, i, tlds[k]))
            return 1;
    return 0;
}

/* True if the Latin token starting at cps[start] ends a domain spelled
 * with a word for its dot: it is a common TLD, or it is followed by ".",
 * " dot " or 点 and a letter or digit ("www dot example dot com"). */
static int spells_domain(const uint32_t *cps, size_t n, size_t start)
{
    size_t end = start;
    while (end < n && is_ascii_alnum(cps[end]))
        end++;
    if (is_common_tld(cps, start, end))
        return 1;
    size_t next = starts_with(cps, n, end, " dot ")                     ? end + 5
                  : end < n && (cps[end] == '.' || cps[end] == CP_DIAN) ? end + 1
                                                                        : n;
    return next < n && is_ascii_alnum(cps[next]);
}

/* Write "." for the disguise that starts at cps[r]. */
static void write_dot(uint32_t *cps, uint32_t *src, size_t r, size_t *w)
{
    cps[*w] = '.';
    src[*w] = src[r];
    *w += 1;
}

/* " dot " between two Latin alphanumeric tokens -> ".", when it spells a
 * domain (spells_domain). */
static size_t fold_spelled_dot(uint32_t *cps, uint32_t *src, size_t n, size_t r,
                               size_t *w)
{
    if (!starts_with(cps, n, r, " dot ") || r + 5 >= n || *w == 0 ||
        !is_ascii_alnum(cps[*w - 1]) || !spells_domain(cps, n, r + 5))
        return 0;
    write_dot(cps, src, r, w);
    return 5;
}

/* 。 between two Latin alphanumerics ("example。com") -> ".". */
static size_t fold_ideographic_stop(uint32_t *cps, uint32_t *src, size_t n, size_t r,
                                    size_t *w)
{
    if (cps[r] != CP_IDEO_STOP || *w == 0 || !is_ascii_alnum(cps[*w - 1]) || r + 1 >= n ||
        !is_ascii_alnum(cps[r + 1]))
        return 0;
    write_dot(cps, src, r, w);
    return 1;
}

/* 点 ("dot") written for "." in a domain so that link filters miss it
 * ("icbc-jf点cn", "www点example点com") -> ".", when the Latin label before
 * it holds a letter ("9点cn" is nine o'clock) and it spells a domain
 * (spells_domain). */
static size_t fold_written_dot(uint32_t *cps, uint32_t *src, size_t n, size_t r,
                               size_t *w)
{
    if (cps[r] != CP_DIAN || *w == 0 || !is_ascii_alnum(cps[*w - 1]) || r + 1 >= n ||
        !is_ascii_alnum(cps[r + 1]))
        return 0;
    int letter = 0;
    for (size_t b = *w;
         b > 0 && (is_ascii_alnum(cps[b - 1]) || cps[b - 1] == '-' || cps[b - 1] == '.');
         b--)
        letter |= cps[b - 1] >= 'a' && cps[b - 1] <= 'z';
    if (!letter || !spells_domain(cps, n, r + 1))
        return 0;
    write_dot(cps, src, r, w);
    return 1;
}

/* A gap between the characters of a spaced-out link: a space, a middle
 * dot or a bullet. */
static inline int is_link_gap(uint32_t cp)
{
    return cp == ' ' || cp == 0x00B7 || cp == 0x2022 || cp == 0x30FB;
}

/* A dot or hyphen of a spaced-out link (点 is read as its dot). */
static inline int is_link_joint(uint32_t cp)
{
    return cp == '.' || cp == '-' || cp == CP_DIAN;
}

/* The longest spaced-out link joined; longer runs are left alone. */
#define SPACED_LINK_MAX 64

/* A link spelled one character at a time so that filters miss it
 * ("b o c - v i p . t o p", "l·o·v·e·5·2·0·点cc", "y j h x .x y z")
 * -> "boc-vip.top": one-character tokens with gaps between them
 * (is_link_gap; a dot or hyphen may touch its neighbours instead), at
 * least three gaps, a first label with a letter and a last label that is a
 * common TLD, which alone may be written whole.  English with one-letter
 * words ("I a m", "U . S . A") is no such run. */
static size_t fold_spaced_link(uint32_t *cps, uint32_t *src, size_t n, size_t r,
                               size_t *w)
{
    if (!at_token_start(cps, *w) || (r + 1 < n && is_ascii_alnum(cps[r + 1])))
        return 0;
    uint32_t out[SPACED_LINK_MAX];
    size_t at[SPACED_LINK_MAX]; /* where out[i] is in cps */
    size_t m = 0, gaps = 0, k = r;
    for (;;) {
        size_t e = k + 1;
        if (is_ascii_alnum(cps[k])) {
            while (e < n && is_ascii_alnum(cps[e]))
                e++;
            if (e - k > 1 && (m == 0 || out[m - 1] != '.')) /* a word: the TLD only */
                break;
        } else if (m == 0 || !is_link_joint(cps[k]) || !is_ascii_alnum(out[m - 1])) {
            break;
        }
        if (m + (e - k) > SPACED_LINK_MAX)
            return 0;
        for (size_t i = k; i < e; i++) {
            out[m] = cps[i] == CP_DIAN ? '.' : cps[i];
            at[m++] = i;
        }
        if (e - k > 1 || e == n)
            break;
        k = e;
        if (is_link_gap(cps[k]) && k + 1 < n &&
            (is_ascii_alnum(cps[k + 1]) || is_link_joint(cps[k + 1]))) {
            gaps++;
            k++;
        } else if (!is_link_joint(cps[k]) && is_ascii_alnum(out[m - 1])) {
            break; /* neither a gap nor a dot or hyphen touching it */
        }
    }
    /* a trailing dot or hyphen ends the sentence, not the link */
    while (m > 0 && !is_ascii_alnum(out[m - 1]))
        m--;
    size_t first = 0, last = m;
    while (first < m && out[first] != '.')
        first++;
    while (last > 0 && out[last - 1] != '.')
        last--;
    int letter = 0;
    for (size_t i = 0; i < first; i++)
        letter |= out[i] >= 'a' && out[i] <= 'z';
    if (m < 6 || gaps < 3 || last == 0 || !letter || !is_common_tld(out, last, m))
        return 0;
    for (size_t i = 0; i < m; i++) {
        cps[*w + i] = out[i];
        src[*w + i] = src[at[i]];
    }
    *w += m;
    return at[m - 1] + 1 - r;
}

/* The fewest letters a spelled-out word must have: English has one-letter
 * words ("I a m" is three), a disguised "F R E E" has four. */
#define SPACED_WORD_MIN 4

/* A word spelled one letter at a time so that filters miss it
 * ("s h i p p i n g", "F.R.E.E") -> "shipping", "free": one-letter tokens
 * separated by the same single space or dot throughout, at least
 * SPACED_WORD_MIN of them.  Runs once fold_spaced_link has found no link
 * in them. */
static size_t fold_spaced_word(uint32_t *cps, uint32_t *src, size_t n, size_t r,
                               size_t *w)
{
    /* cps[r] is a letter; a one-letter token when a separator follows */
    if (!at_token_start(cps, *w) || r + 2 >= n ||
        (cps[r + 1] != ' ' && cps[r + 1] != '.'))
        return 0;
    uint32_t sep = cps[r + 1];
    size_t k = r, letters = 1;
    while (k + 2 < n && cps[k + 1] == sep && is_ascii_alpha(cps[k + 2]) &&
           (k + 3 == n || !is_ascii_alnum(cps[k + 3]))) {
        k += 2;
        letters++;
    }
    if (letters < SPACED_WORD_MIN)
        return 0;
    for (size_t i = r; i <= k; i += 2) {
        cps[*w] = cps[i];
        src[*w] = src[i];
        (*w)++;
    }
    return k + 1 - r;
}

/* Apply every look-alike rule left to right.  Returns the new length. */
static size_t fold_disguises(uint32_t *cps, uint32_t *src, size_t n)
{
    size_t r = 0, w = 0;
    while (r < n) {
        uint32_t c = cps[r];
        size_t used = 0;
        /* Only a few characters can start a rule; test those first so
         * that ordinary text is a plain copy. */
        if (c >= 0x80) {
            if (!(used = fold_wechat(cps, src, n, r, &w)) &&
                !(used = fold_koukou(cps, src, n, r, &w)) &&
                !(used = fold_ideographic_stop(cps, src, n, r, &w)) &&
                !(used = fold_written_dot(cps, src, n, r, &w)))
                used = fold_numerals(cps, src, n, r, &w);
        } else if (c == 'h' || c == '[' || c == '(' || c == '{' || c == ' ') {
            if (!(used = fold_hxxp(cps, src, n, r, &w)) &&
                !(used = fold_bracketed(cps, src, n, r, &w)))
                used = fold_spelled_dot(cps, src, n, r, &w);
        }
        /* 'h' may also start a spaced-out link ("h k - b a n k . c c") */
        if (!used && is_ascii_alnum(c))
            used = fold_spaced_link(cps, src, n, r, &w);
        if (!used && is_ascii_alpha(c))
            used = fold_spaced_word(cps, src, n, r, &w);
        if (used) {
            r += used;
            continue;
        }
        cps[w] = c;
        src[w] = src[r];
        w++, r++;
    }
    return w;
}

/* ------------------------------------------------------------------ */
/* Pass 5: $, 0 and 1 inside Latin words                             */
/* ------------------------------------------------------------------ */

/* The fewest letters before a word-final $ run for it to read as s:
 * "addre$$" folds, the currency signs "us$", "hk$" and "nt$" do not. */
#define TRAILING_DOLLAR_LETTERS 4

/* In a token of ASCII letters, digits and $ with at least two letters,
 * read $ as s where a letter follows ("U$PS", "ca$h"), and a word-final $
 * run as s after enough letters ("addre$$").  Left alone: a token starting
 * with $ ("$ave", "$AAPL"), and $ before a digit ("hk$500").  @ is not
 * read as a: "pack@ge" would fold, but so would UPI payment addresses
 * ("shop@icici"), which have no dot to tell them by. */
static void fold_word_dollars(uint32_t *cps, size_t n)
{
    size_t i = 0;
    while (i < n && cps[i] != '$') /* most text has none */
        i++;
    while (i > 0 && (is_ascii_alnum(cps[i - 1])))
        i--;
    while (i < n) {
        if (!is_ascii_alnum(cps[i]) && cps[i] != '$') {
            i++;
            continue;
        }
        size_t start = i, letters = 0;
        int dollars = 0;
        for (; i < n && (is_ascii_alnum(cps[i]) || cps[i] == '$'); i++) {
            letters += is_ascii_alpha(cps[i]) != 0;
            dollars |= cps[i] == '$';
        }
        if (!dollars || letters < 2)
            continue;
        for (size_t k = start + 1; k < i; k++) {
            if (cps[k] != '$')
                continue;
            size_t next = k + 1;
            while (next < i && cps[next] == '$')
                next++;
            if (next < i ? is_ascii_alpha(cps[next]) : letters >= TRAILING_DOLLAR_LETTERS)
                cps[k] = 's';
        }
    }
}

/* In a word of ASCII letters and digits, read 0 as o and 1 as l, but only
 * when every digit of the word is a 0/1 run with letters on both sides:
 * "g00gle" and "micr0s0ft" fold, while "covid19", "top10", "2024" and
 * "h1n1" (a trailing digit shows digits are meant) are left alone. */
static void fold_word_digits(uint32_t *cps, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (!is_ascii_alnum(cps[i])) {
            i++;
            continue;
        }
        size_t start = i;
        int has_digit = 0, ok = 1;
        while (i < n && is_ascii_alnum(cps[i])) {
            if (!is_ascii_digit(cps[i])) {
                i++;
                continue;
            }
            size_t run = i;
            while (i < n && is_ascii_digit(cps[i])) {
                if (cps[i] != '0' && cps[i] != '1')
                    ok = 0;
                i++;
            }
            has_digit = 1;
            if (run == start || i == n || !is_ascii_alpha(cps[i]))
                ok = 0;
        }
        if (has_digit && ok) {
            for (size_t k = start; k < i; k++) {
                if (cps[k] == '0')
                    cps[k] = 'o';
                else if (cps[k] == '1')
                    cps[k] = 'l';
            }
        }
    }
}

/* ------------------------------------------------------------------ */
/* Pass 6: encode                                                     */
/* ------------------------------------------------------------------ */

#ifndef NDEBUG
/* 1 if t's src_byte, final entry included, never decreases: what the
 * passes promise and hb_text_source_span's binary search relies on.  For
 * assert() only: it walks the whole array. */
static int src_byte_nondecreasing(const hb_text *t)
{
    for (size_t i = 0; i < t->ncps; i++)
        if (t->src_byte[i] > t->src_byte[i + 1])
            return 0;
    return 1;
}
#endif

/* Write t->cps as UTF-8 into t->utf8 with cp_byte offsets, and the final
 * entries of cp_byte and src_byte.  Returns 0, HB_ENOMEM or HB_ETOOBIG. */
static int encode_utf8(hb_text *t, size_t srclen, hb_error *err)
{
    size_t n = t->ncps;
    if (n > (SIZE_MAX - 1) / 4 || reserve_bytes(t, n * 4 + 1))
        return hb_error_set(err, HB_ENOMEM, "out of memory normalising %zu bytes",
                            srclen);
    unsigned char *o = (unsigned char *)t->utf8;
    size_t b = 0;
    for (size_t i = 0; i < n; i++) {
        t->cp_byte[i] = (uint32_t)b; /* checked for overflow below */
        b += put_utf8(o + b, t->cps[i]);
    }
    o[b] = '\0';
    if (b > UINT32_MAX)
        return hb_error_set(err, HB_ETOOBIG,
                            "normalised text over 4 GiB; split the input");
    t->len = b;
    t->cp_byte[n] = (uint32_t)b;
    t->src_byte[n] = (uint32_t)srclen;
    assert(src_byte_nondecreasing(t));
    return 0;
}

/* ------------------------------------------------------------------ */
/* Public API                                                         */
/* ------------------------------------------------------------------ */

int hb_normalize(const char *src, size_t len, hb_text *out, hb_error *err)
{
    if (!out || (!src && len > 0))
        return hb_error_set(err, HB_EINVAL, "hb_normalize: NULL %s", out ? "src" : "out");
    /* src_byte holds input offsets as uint32_t, and src_byte[ncps] holds
     * len itself. */
    if (len >= UINT32_MAX) {
        set_empty(out);
        return hb_error_set(err, HB_ETOOBIG, "text of %zu bytes is over the 4 GiB limit",
                            len);
    }

    int rc = hb_normalize_init(err);
    if (rc != 0) {
        set_empty(out);
        return rc;
    }

    uint32_t any = 0;
    int trad = 0;
    rc = decode_and_fold((const unsigned char *)src, len, out, &any, &trad, err);
    if (rc == 0) {
        if (any >= 0x1100) /* there may be CJK to join */
            out->ncps = join_cjk(out->cps, out->src_byte, out->ncps);
        if (trad)
            rc = fold_traditional(out, len, err);
    }
    if (rc == 0) {
        out->ncps = fold_disguises(out->cps, out->src_byte, out->ncps);
        fold_word_dollars(out->cps, out->ncps);
        fold_word_digits(out->cps, out->ncps);
        rc = encode_utf8(out, len, err);
    }
    if (rc != 0)
        set_empty(out);
    return rc;
}

/* Index of the first code point whose byte offset is >= off (ncps when
 * off is past the last one). */
static size_t cp_index(const hb_text *text, size_t off)
{
    size_t lo = 0, hi = text->ncps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (text->cp_byte[mid] < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void hb_text_source_span(const hb_text *text, size_t start, size_t end, size_t *src_start,
                         size_t *src_end)
{
    if (!text->cp_byte || !text->src_byte) {
        *src_start = *src_end = 0;
        return;
    }
    if (end > text->len)
        end = text->len;
    if (start > end)
        start = end;
    size_t i = cp_index(text, start);
    size_t j = cp_index(text, end);
    /* One input character can give several output code points ("ﬁ" ->
     * "fi"); a range ending inside such a group must still cover the whole
     * input character, so extend to the end of the group. */
    while (j > i && j < text->ncps && text->src_byte[j] == text->src_byte[j - 1])
        j++;
    *src_start = text->src_byte[i];
    *src_end = text->src_byte[j];
}

int hb_text_script(const hb_text *t)
{
    size_t cjk = 0, other = 0;
    for (size_t i = 0; i < t->ncps; i++) {
        uint32_t c = t->cps[i];
        if (hb_is_cjk(c))
            cjk++;
        else if ((c >= 'a' && c <= 'z') || c >= 0x80)
            other++;
    }
    return cjk > 0 && cjk * 3 >= cjk + other ? HB_SCRIPT_CJK : HB_SCRIPT_OTHER;
}
