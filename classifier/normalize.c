/*
 * normalize.c - fold raw message text into the one canonical form that
 * rules, entities and features work on, remembering where every output
 * character came from.
 *
 * The work is five passes over one reusable hb_text:
 *
 *   1. decode_and_fold   UTF-8 -> code points.  Validates with
 *                        utf8proc_iterate and folds each character on its
 *                        own (NFKD + case fold + mark stripping + LUMP),
 *                        drops controls and default-ignorables, turns every
 *                        kind of whitespace into one ASCII space, collapses
 *                        runs and trims the ends.  ASCII never reaches
 *                        utf8proc's tables, and CJK ideographs, kana and
 *                        hangul syllables pass through untouched (see
 *                        below).
 *   2. join_cjk          drops spaces and filler punctuation between two CJK
 *                        characters ("安 * 全" -> "安全").
 *   3. fold_disguises    the look-alike spellings: 薇信 -> 微信, 扣扣 -> qq,
 *                        hxxp -> http, [.] / (dot) / " dot " / 。 -> ".".
 *   4. fold_word_digits  0 and 1 inside a Latin word read as o and l.
 *   5. encode_utf8       code points -> the NUL-terminated UTF-8 string and
 *                        its per-code-point byte offsets.
 *
 * Passes 2 to 4 work in place on the code point array: every rule maps a
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
 * Cost: ASCII never calls utf8proc; Chinese ideographs, full-width ASCII
 * and the commonest CJK punctuation cost one utf8proc_iterate and a range
 * check; only other non-ASCII characters pay for a decomposition lookup.
 * Pass 2 is skipped for text without CJK.  Buffers grow geometrically and
 * are kept, so a warmed-up hb_text normalises without allocating.  Measured
 * (-O2, best of 7 x 100k): ~0.3 us for a 100-byte English message, ~0.3 us
 * for a 110-byte Chinese one, ~0.5 us for 190 bytes of Chinese.
 */
#include "normalize.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define FOLD_OPTIONS                                                        \
    ((utf8proc_option_t)(UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |              \
                         UTF8PROC_STRIPMARK | UTF8PROC_DECOMPOSE |          \
                         UTF8PROC_IGNORE | UTF8PROC_LUMP))

/* The longest full decomposition utf8proc produces is 18 code points
 * (U+FDFA); anything longer is treated as "leave the character alone". */
#define MAX_DECOMP 32

/* Code points the look-alike rules refer to. */
enum {
    CP_IDEO_STOP = 0x3002,      /* 。 */
    CP_REN_RADICAL = 0x4EBB,    /* 亻, left half of 信 */
    CP_XIN = 0x4FE1,            /* 信 */
    CP_WEI = 0x5FAE,            /* 微 */
    CP_KOU = 0x6263,            /* 扣 */
    CP_YAN = 0x8A00,            /* 言, right half of 信 */
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
    if (cp >= 0x4E00 && cp <= 0x9FFF)       /* the common case first */
        return 1;
    return (cp <= 0x11FF) ||                        /* hangul jamo */
           (cp >= 0x2E80 && cp <= 0x2FDF) ||        /* radicals */
           (cp >= 0x3005 && cp <= 0x3007) ||        /* 々 〆 〇 */
           (cp >= 0x3041 && cp <= 0x3096) ||        /* hiragana */
           (cp >= 0x309D && cp <= 0x309F) ||
           (cp >= 0x30A1 && cp <= 0x30FA) ||        /* katakana */
           (cp >= 0x30FC && cp <= 0x30FF) ||        /* ー ヽ ヾ ヿ */
           (cp >= 0x3131 && cp <= 0x318E) ||        /* compatibility jamo */
           (cp >= 0x31F0 && cp <= 0x31FF) ||        /* katakana ext */
           (cp >= 0x3400 && cp <= 0x4DBF) ||        /* ext A */
           (cp >= 0xA960 && cp <= 0xA97F) ||        /* jamo ext A */
           (cp >= 0xAC00 && cp <= 0xD7A3) ||        /* hangul syllables */
           (cp >= 0xD7B0 && cp <= 0xD7FF) ||        /* jamo ext B */
           (cp >= 0xF900 && cp <= 0xFAFF) ||        /* compatibility */
           (cp >= 0xFF66 && cp <= 0xFF9D) ||        /* half-width kana */
           (cp >= 0xFFA0 && cp <= 0xFFDC) ||        /* half-width hangul */
           (cp >= 0x1B000 && cp <= 0x1B16F) ||      /* kana supplement */
           (cp >= 0x20000 && cp <= 0x2FA1F) ||      /* ext B-F, compat */
           (cp >= 0x30000 && cp <= 0x323AF);        /* ext G-H */
}

/* Characters that skip utf8proc because folding leaves them as they are:
 * the bulk of Chinese text and its commonest punctuation (、。〃 and the
 * brackets 《》「」『』【】, but not 〈〉, which LUMP turns into < >), plus
 * the blocks whose NFKD would differ from NFKC once marks are stripped
 * (hangul syllables, kana; see the top of the file).  The unit tests check
 * the first group against utf8proc. */
static inline int is_passthrough(uint32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) ||
           (cp >= 0x3001 && cp <= 0x3003) ||
           (cp >= 0x300A && cp <= 0x3011) ||
           (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0xAC00 && cp <= 0xD7A3) ||
           (cp >= 0x3041 && cp <= 0x3096) ||
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
    case ' ': case '*': case '_': case '-': case '|': case '~':
    case '`': case '^': case '.': case '/':
    case 0x00B7:    /* · middle dot */
    case 0x2022:    /* • bullet */
    case 0x2027:    /* ‧ hyphenation point */
    case 0x2219:    /* ∙ bullet operator */
    case 0x22C5:    /* ⋅ dot operator */
    case 0x30FB:    /* ・ katakana middle dot */
        return 1;
    default:
        return 0;
    }
}

/* Characters that, followed by 信, spell 微信 to a reader. */
static inline int is_wechat_lookalike(uint32_t cp)
{
    switch (cp) {
    case 0x8587:    /* 薇 */
    case 0x5A01:    /* 威 */
    case 0x5FBD:    /* 徽 */
    case 0x7EF4:    /* 维 */
    case 0x7DAD:    /* 維 */
        return 1;
    default:
        return 0;
    }
}

/* Ordinary words that end in a 微信 look-alike, so that the look-alike
 * followed by 信 is usually that word followed by 信息/信用/信号...:
 * 权威信息, 安徽信用社, 思维信念.  Folding those would turn everyday news
 * into "微信" mentions. */
static const uint32_t lookalike_words[][2] = {
    {0x6743, 0x5A01}, {0x793A, 0x5A01}, {0x58F0, 0x5A01},   /* 权威 示威 声威 */
    {0x56FD, 0x5A01}, {0x519B, 0x5A01}, {0x53D1, 0x5A01},   /* 国威 军威 发威 */
    {0x52A9, 0x5A01}, {0x795E, 0x5A01}, {0x626C, 0x5A01},   /* 助威 神威 扬威 */
    {0x5B89, 0x5FBD}, {0x56FD, 0x5FBD}, {0x6821, 0x5FBD},   /* 安徽 国徽 校徽 */
    {0x515A, 0x5FBD}, {0x4F1A, 0x5FBD}, {0x8B66, 0x5FBD},   /* 党徽 会徽 警徽 */
    {0x601D, 0x7EF4}, {0x7EA4, 0x7EF4}, {0x606D, 0x7EF4},   /* 思维 纤维 恭维 */
    {0x4E8C, 0x7EF4}, {0x4E09, 0x7EF4}, {0x591A, 0x7EF4},   /* 二维 三维 多维 */
    {0x601D, 0x7DAD}, {0x7E96, 0x7DAD}, {0x606D, 0x7DAD},   /* 思維 纖維 恭維 */
    {0x8537, 0x8587}, {0x7D2B, 0x8587},                     /* 蔷薇 紫薇 */
};

/* True if before + lookalike is one of lookalike_words. */
static int is_lookalike_word(uint32_t before, uint32_t lookalike)
{
    size_t n = sizeof lookalike_words / sizeof lookalike_words[0];
    for (size_t i = 0; i < n; i++)
        if (lookalike_words[i][0] == before &&
            lookalike_words[i][1] == lookalike)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Pass 1: decode and fold each character                             */
/* ------------------------------------------------------------------ */

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
    uint32_t any;   /* OR of every code point emitted; below 0x1100
                       proves there is no CJK (hb_is_cjk starts there) */
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
        case UTF8PROC_CATEGORY_ZP:
            cp = ' ';
            break;
        case UTF8PROC_CATEGORY_CC:
        case UTF8PROC_CATEGORY_CF:
            cp = 0;
            break;
        default:
            break;
        }
    }
    if (cp)
        emit(k, cp, src);
}

/* Decode src[0..len) into t->cps / t->src_byte with per-character folding,
 * whitespace collapsed and both ends trimmed.  *any receives the OR of all
 * code points, which lets pass 2 be skipped for text without CJK.
 * Returns 0, HB_EUTF8 or HB_ENOMEM. */
static int decode_and_fold(const unsigned char *src, size_t len, hb_text *t,
                           uint32_t *any, hb_error *err)
{
    /* Every fast path gives at most one code point per input byte, so
     * len + 1 entries (the +1 for the final offsets) cover everything but
     * long decompositions, which check for themselves. */
    if (reserve_cps(t, len + 1))
        return hb_error_set(err, HB_ENOMEM,
                            "out of memory normalising %zu bytes", len);
    sink k = {t->cps, t->src_byte, 0, 0};
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
        utf8proc_ssize_t clen =
            utf8proc_iterate(src + pos, (utf8proc_ssize_t)avail, &cp);
        if (clen < 0)
            return hb_error_set(err, HB_EUTF8,
                                "invalid UTF-8 at byte offset %zu "
                                "(byte 0x%02x): send text as UTF-8",
                                pos, (unsigned)src[pos]);
        c = (uint32_t)cp;

        if (is_passthrough(c)) {
            emit(&k, c, (uint32_t)pos);
        } else if (is_fullwidth_ascii(c)) {
            emit(&k, fold_ascii(c - 0xFEE0), (uint32_t)pos);
        } else if (is_other_space(c)) {
            emit(&k, ' ', (uint32_t)pos);
        } else {
            utf8proc_int32_t d[MAX_DECOMP];
            utf8proc_ssize_t nd = utf8proc_decompose_char(
                cp, d, MAX_DECOMP, FOLD_OPTIONS, NULL);
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
                                        "bytes", len);
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
    return 0;
}

/* ------------------------------------------------------------------ */
/* Pass 2: join CJK broken up by spaces and filler                    */
/* ------------------------------------------------------------------ */

/* Drop every run of spaces and filler punctuation that has a CJK
 * character on both sides.  Returns the new length. */
static size_t join_cjk(uint32_t *cps, uint32_t *src, size_t n)
{
    size_t r = 0, w = 0;
    while (r < n) {
        if (!is_filler(cps[r]) || w == 0 || !hb_is_cjk(cps[w - 1])) {
            cps[w] = cps[r];
            src[w] = src[r];
            w++, r++;
            continue;
        }
        size_t end = r;
        while (end < n && is_filler(cps[end]))
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
/* Pass 3: look-alike spellings                                       */
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
static size_t fold_wechat(uint32_t *cps, uint32_t *src, size_t n, size_t r,
                          size_t *w)
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
    if (o >= 1 && is_wechat_lookalike(cps[o - 1]) &&
        !(o >= 2 && is_lookalike_word(cps[o - 2], cps[o - 1]))) {
        cps[o - 1] = CP_WEI;
    } else if (o >= 1 && cps[o - 1] == 'v' && at_token_start(cps, o - 1)) {
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
static size_t fold_koukou(uint32_t *cps, uint32_t *src, size_t n, size_t r,
                          size_t *w)
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

/* hxxp / hxxps at the start of a token -> http / https (the s, if any, is
 * copied by the main loop). */
static size_t fold_hxxp(uint32_t *cps, uint32_t *src, size_t n, size_t r,
                        size_t *w)
{
    if (cps[r] != 'h' || r + 3 >= n || cps[r + 1] != 'x' ||
        cps[r + 2] != 'x' || cps[r + 3] != 'p' || !at_token_start(cps, *w))
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
static size_t put_separator(uint32_t *cps, uint32_t *src, size_t n, size_t r,
                            size_t end, uint32_t sep, size_t *w)
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
static size_t fold_bracketed(uint32_t *cps, uint32_t *src, size_t n,
                             size_t r, size_t *w)
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
    if (r + 2 < n && (cps[r + 1] == '.' || cps[r + 1] == ':') &&
        cps[r + 2] == close) {
        sep = cps[r + 1];
        end = r + 3;
    } else if (r + 4 < n && cps[r + 1] == 'd' && cps[r + 2] == 'o' &&
               cps[r + 3] == 't' && cps[r + 4] == close) {
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
        "com", "net", "org", "cn", "top", "xyz", "info", "vip", "cc",
        "io", "co", "me", "hk", "tw", "biz", "site", "online", "shop",
        "app", "club", "ru", "uk", "us", "jp", "kr", "in", "de", "gov",
        "edu", "link", "live", "icu", "win", "work", "fun", "asia",
    };
    for (size_t k = 0; k < sizeof tlds / sizeof tlds[0]; k++)
        if (strlen(tlds[k]) == end - i && starts_with(cps, end, i, tlds[k]))
            return 1;
    return 0;
}

/* " dot " between two Latin alphanumeric tokens -> ".", when it spells a
 * domain: the token after it is a common TLD or is itself followed by
 * " dot " or ".x" ("www dot example dot com"). */
static size_t fold_spelled_dot(uint32_t *cps, uint32_t *src, size_t n,
                               size_t r, size_t *w)
{
    if (!starts_with(cps, n, r, " dot ") || r + 5 >= n || *w == 0 ||
        !is_ascii_alnum(cps[*w - 1]) || !is_ascii_alnum(cps[r + 5]))
        return 0;
    size_t end = r + 5;
    while (end < n && is_ascii_alnum(cps[end]))
        end++;
    int domain = is_common_tld(cps, r + 5, end) ||
                 (starts_with(cps, n, end, " dot ") && end + 5 < n &&
                  is_ascii_alnum(cps[end + 5])) ||
                 (end + 1 < n && cps[end] == '.' &&
                  is_ascii_alnum(cps[end + 1]));
    if (!domain)
        return 0;
    cps[*w] = '.';
    src[*w] = src[r];
    *w += 1;
    return 5;
}

/* 。 between two Latin alphanumerics ("example。com") -> ".". */
static size_t fold_ideographic_stop(uint32_t *cps, uint32_t *src, size_t n,
                                    size_t r, size_t *w)
{
    if (cps[r] != CP_IDEO_STOP || *w == 0 || !is_ascii_alnum(cps[*w - 1]) ||
        r + 1 >= n || !is_ascii_alnum(cps[r + 1]))
        return 0;
    cps[*w] = '.';
    src[*w] = src[r];
    *w += 1;
    return 1;
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
        if (c == 'h' || c == '[' || c == '(' || c == '{' || c == ' ') {
            if (!(used = fold_hxxp(cps, src, n, r, &w)) &&
                !(used = fold_bracketed(cps, src, n, r, &w)))
                used = fold_spelled_dot(cps, src, n, r, &w);
        } else if (c >= 0x80) {
            if (!(used = fold_wechat(cps, src, n, r, &w)) &&
                !(used = fold_koukou(cps, src, n, r, &w)))
                used = fold_ideographic_stop(cps, src, n, r, &w);
        }
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
/* Pass 4: 0 and 1 inside Latin words                                 */
/* ------------------------------------------------------------------ */

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
/* Pass 5: encode                                                     */
/* ------------------------------------------------------------------ */

/* Write t->cps as UTF-8 into t->utf8 with cp_byte offsets, and the final
 * entries of cp_byte and src_byte.  Returns 0, HB_ENOMEM or HB_ETOOBIG. */
static int encode_utf8(hb_text *t, size_t srclen, hb_error *err)
{
    size_t n = t->ncps;
    if (n > (SIZE_MAX - 1) / 4 || reserve_bytes(t, n * 4 + 1))
        return hb_error_set(err, HB_ENOMEM,
                            "out of memory normalising %zu bytes", srclen);
    unsigned char *o = (unsigned char *)t->utf8;
    size_t b = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = t->cps[i];
        t->cp_byte[i] = (uint32_t)b;    /* checked for overflow below */
        if (c < 0x80) {
            o[b++] = (unsigned char)c;
        } else if (c < 0x800) {
            o[b++] = (unsigned char)(0xC0 | (c >> 6));
            o[b++] = (unsigned char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            o[b++] = (unsigned char)(0xE0 | (c >> 12));
            o[b++] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            o[b++] = (unsigned char)(0x80 | (c & 0x3F));
        } else {
            o[b++] = (unsigned char)(0xF0 | (c >> 18));
            o[b++] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
            o[b++] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            o[b++] = (unsigned char)(0x80 | (c & 0x3F));
        }
    }
    o[b] = '\0';
    if (b > UINT32_MAX)
        return hb_error_set(err, HB_ETOOBIG,
                            "normalised text over 4 GiB; split the input");
    t->len = b;
    t->cp_byte[n] = (uint32_t)b;
    t->src_byte[n] = (uint32_t)srclen;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Public API                                                         */
/* ------------------------------------------------------------------ */

int hb_normalize(const char *src, size_t len, hb_text *out, hb_error *err)
{
    if (!out || (!src && len > 0))
        return hb_error_set(err, HB_EINVAL,
                            "hb_normalize: NULL %s", out ? "src" : "out");
    /* src_byte holds input offsets as uint32_t, and src_byte[ncps] holds
     * len itself. */
    if (len >= UINT32_MAX) {
        set_empty(out);
        return hb_error_set(err, HB_ETOOBIG,
                            "text of %zu bytes is over the 4 GiB limit", len);
    }

    uint32_t any = 0;
    int rc = decode_and_fold((const unsigned char *)src, len, out, &any, err);
    if (rc == 0) {
        if (any >= 0x1100)      /* there may be CJK to join */
            out->ncps = join_cjk(out->cps, out->src_byte, out->ncps);
        out->ncps = fold_disguises(out->cps, out->src_byte, out->ncps);
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

void hb_text_source_span(const hb_text *text, size_t start, size_t end,
                         size_t *src_start, size_t *src_end)
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
