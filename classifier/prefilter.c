/*
 * prefilter.c - rewrite PCRE2 patterns for Hyperscan, build one database
 * of them, and scan a text for the patterns that could match it (see
 * prefilter.h; the rules' side of it is in docs/rules.md).
 *
 * This is how Snort and Suricata make many regexes fast: at load time
 * every pattern is also compiled into one Hyperscan database, and per
 * message one Hyperscan scan, linear in the text, marks the patterns that
 * *could* match (a bitset in the scratch).  The caller then runs PCRE2 on
 * those only.  The prefilter may report false candidates but never misses
 * a pattern that matches, so what PCRE2 then finds is exactly what
 * running every pattern would find.
 *
 * "Never misses" needs care, because Hyperscan and PCRE2 are different
 * engines: Hyperscan's Unicode tables are older than PCRE2's (a Chinese
 * character added to Unicode since would be \w to one and not the other),
 * `.` and `$` depend on PCRE2's newline convention, and Hyperscan rejects
 * some syntax.  So Hyperscan never sees a pattern as written, but a
 * rewritten, *widened* copy (rewrite) whose language contains the
 * original's, in syntax both engines read alike: table-dependent classes
 * (\d \s \w \p{..}), negated classes and `.` become "any character",
 * zero-width assertions other than ^ are dropped, counted repeats are
 * loosened, and each top-level alternative is cut at its gaps (.* and the
 * like) into pieces that must all be found.  Widening also keeps
 * Hyperscan's compile time sane: the shipped rules as written take it 6 s
 * to compile, widened 0.4 s.  A pattern the rewriter did not have to
 * widen is *exact*: it is compiled without HS_FLAG_PREFILTER, and its
 * Hyperscan match is a real match, so the caller need only run PCRE2 on
 * it when it wants the span.  A pattern the rewriter does not understand,
 * one that can match the empty string (it matches every text, there is
 * nothing to filter) or one that Hyperscan still refuses is an "always
 * candidate" fallback.
 *
 * Three parts, in this order: the rewriter (pattern -> pieces), the
 * builder (pieces of every pattern -> one database of distinct pieces,
 * and who uses each), the scan (text -> candidate set).
 *
 * Storage: the prefilter owns the Hyperscan database and its tables;
 * nothing is mutated after hb_prefilter_new, so it can be shared by
 * threads and forks.  Everything per message lives in the scratch.
 */
#include "prefilter.h"

#include <hs/hs.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "hex.h"

/* Largest repeat count the prefilter keeps: x{40} is widened to x{16,}.
 * Counted repeats are what makes Hyperscan's compile time and database
 * size grow; a prefilter loses little by being vaguer about them. */
#define PREFILTER_MAX_REPEAT 16u

/* Deeper group nesting than this is not rewritten (the pattern becomes a
 * fallback).  It bounds the rewriter's recursion and Hyperscan's compile
 * time, which grows exponentially with nested repeats: ((((a)+)+)+)+
 * nested 25 deep takes it a second, 30 deep minutes. */
#define PREFILTER_MAX_DEPTH 10

#define NO_COUNTER UINT32_MAX

struct hb_prefilter {
    hs_database_t *db; /* NULL: no pattern could be prefiltered */
    size_t npatterns;
    uint64_t *always; /* bitset over patterns: the fallbacks and the
                         unfiltered (NULL) ones */
    uint64_t *exact;  /* bitset over patterns: being a candidate means
                         matching (see rewrite) */
    size_t nunfiltered, nfallbacks;
    /* The database's expressions are distinct pieces (see rewrite),
     * numbered by Hyperscan id.  Expression e is used by the branches
     * listed in use_pattern / use_counter from use_start[e] to
     * use_start[e + 1]: the pattern of the branch, and its counter, or
     * NO_COUNTER if the piece is its branch's only one.  A branch of
     * several pieces matches when its counter reaches its counter_need. */
    uint32_t *use_start;
    uint32_t *use_pattern;
    uint32_t *use_counter;
    uint8_t *counter_need;
    size_t ncounters;
    uint64_t serial; /* unique per prefilter: tells a scratch when its
                        Hyperscan part was sized for another database */
};

struct hb_prefilter_scratch {
    hs_scratch_t *hs;     /* NULL until the first scan */
    uint64_t hs_serial;   /* serial of the prefilter hs was sized for,
                             0: none */
    uint64_t *candidates; /* bitset over patterns, filled per scan */
    size_t ncandidate_words;
    uint8_t *counters; /* pieces seen per branch, per scan */
    size_t ncounters;
};

/* Source of hb_prefilter.serial.  A database's address cannot identify it:
 * after a reload the new one is likely to be allocated where the old one
 * was, and a scratch sized for the old one may be too small for the new. */
static atomic_uint_fast64_t next_serial = 1;

/* ------------------------------------------------------------------ */
/* Rewriting a pattern for Hyperscan                                   */

/* The rewriter reads a pattern PCRE2 has already accepted and writes a
 * widened copy for Hyperscan: regexes whose language contains the
 * original's, written only in syntax both engines read the same way and
 * whose meaning does not depend on Unicode tables or newline conventions.
 * Anything it is unsure about makes it refuse, and a refused pattern is a
 * fallback: refusing costs speed, a wrong rewrite would cost hits.
 *
 * The copy is a disjunction of conjunctions.  Each top-level alternative
 * ("branch") is cut at its top-level gaps - items that may repeat zero
 * times, such as [^。!?]{0,20} or .* - into "pieces", and the gaps are
 * dropped: a branch can only match a text in which each of its pieces
 * matches somewhere, so the pattern is a candidate when every piece of
 * one of its branches is found.  Hyperscan scans pieces much faster than
 * whole branches (a gap over a multi-byte class is a large automaton, and
 * it is what made compiling the shipped rules take seconds).  A piece
 * that can match the empty string constrains nothing and is dropped; a
 * branch left without pieces matches every text, so the pattern is a
 * fallback.  Pieces are written NUL-terminated, each with its branch.
 *
 * When nothing had to be widened (no gap, no class or assertion dropped
 * or replaced, no bounded repeat), the copy is exact: it matches exactly
 * what the original matches, so Hyperscan can be asked for real matches
 * (no HS_FLAG_PREFILTER) and its report is an answer, not a candidate. */
typedef struct rewriter {
    const char *p; /* the pattern */
    size_t n, i;   /* its length, read position */
    char *out;     /* the pieces, each NUL-terminated */
    size_t len, cap;
    uint32_t *branch; /* branch[k]: branch of the k-th piece */
    size_t npieces, cap_pieces;
    uint32_t nbranches;
    int emit;    /* 0 inside a lookaround, which is dropped */
    int refused; /* syntax we do not rewrite (or out of memory) */
    int widened; /* the copy matches more than the original */
} rewriter;

/* Pieces kept per branch at most; a branch with more keeps its first
 * ones (requiring fewer pieces is still a sound filter).  Bounds the
 * per-scan counters, which are bytes. */
#define PREFILTER_MAX_PIECES 255u

static const char ANY_CHAR[] = "(?s:.)";

static void rw_refuse(rewriter *w)
{
    w->refused = 1;
    w->i = w->n; /* stops every loop */
}

static void rw_put(rewriter *w, const char *s, size_t n)
{
    if (!w->emit || w->refused)
        return;
    if (hb_grow((void **)&w->out, &w->cap, w->len + n + 1, 1)) {
        rw_refuse(w);
        return;
    }
    memcpy(w->out + w->len, s, n);
    w->len += n;
}

static int rw_peek(const rewriter *w)
{
    return w->i < w->n ? (unsigned char)w->p[w->i] : -1;
}

/* Bytes in the UTF-8 sequence starting with lead byte c (the pattern is
 * valid UTF-8, checked at load). */
static size_t utf8_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* Copy one literal character at w->i (an ASCII byte or a whole UTF-8
 * sequence). */
static void rw_copy_char(rewriter *w)
{
    size_t k = utf8_len((unsigned char)w->p[w->i]);
    if (k > w->n - w->i) {
        rw_refuse(w);
        return;
    }
    rw_put(w, w->p + w->i, k);
    w->i += k;
}

/* Write code point cp as a literal: \xHH for ASCII, so that no character
 * is special, else its UTF-8 bytes (Hyperscan could read \xHH above 0x7F
 * as a byte rather than a character). */
static void rw_put_cp(rewriter *w, uint32_t cp)
{
    char buf[8];
    size_t k;
    if (cp < 0x80) {
        snprintf(buf, sizeof buf, "\\x%02X", (unsigned)cp);
        k = 4;
    } else if (cp < 0x800) {
        buf[0] = (char)(0xC0 | (cp >> 6));
        buf[1] = (char)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        buf[0] = (char)(0xE0 | (cp >> 12));
        buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[2] = (char)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        buf[0] = (char)(0xF0 | (cp >> 18));
        buf[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        buf[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[3] = (char)(0x80 | (cp & 0x3F));
        k = 4;
    }
    rw_put(w, buf, k);
}

/* Read up to max digits of base 8 or 16 at w->i into *cp; with braces,
 * read "{digits}" instead.  Returns 0, or -1 when malformed or above
 * U+10FFFF. */
static int rw_number(rewriter *w, int base, size_t max, int braces, uint32_t *cp)
{
    uint32_t v = 0;
    size_t digits = 0;
    if (braces) {
        if (rw_peek(w) != '{')
            return -1;
        w->i++;
        max = 8;
    }
    while (digits < max && w->i < w->n) {
        int d = hb_hex_value(w->p[w->i]);
        if (d < 0 || d >= base)
            break;
        v = v * (uint32_t)base + (uint32_t)d;
        w->i++;
        digits++;
    }
    if (braces) {
        if (digits == 0 || rw_peek(w) != '}')
            return -1;
        w->i++;
    }
    if (v > 0x10FFFF)
        return -1;
    *cp = v;
    return 0;
}

/* What an escape turned out to be. */
enum esc { ESC_CHAR, ESC_CLASS, ESC_ASSERT, ESC_REFUSE };

/* Read the escape at w->i (pointing at the backslash).  Literal
 * characters are written (ESC_CHAR); for a table-dependent class (\d \s
 * \w \h \v \p{..} and their negations, \N) and a zero-width assertion
 * (\b \B \A \z \Z \G) nothing is written and the caller decides.  in_class
 * selects the meaning of \b (backspace inside a class). */
static enum esc rw_escape(rewriter *w, int in_class)
{
    if (w->n - w->i < 2)
        return ESC_REFUSE;
    unsigned char c = (unsigned char)w->p[w->i + 1];
    w->i += 2;
    uint32_t cp = 0;
    switch (c) {
    case 'd':
    case 'D':
    case 's':
    case 'S':
    case 'w':
    case 'W':
    case 'h':
    case 'H':
    case 'v':
    case 'V': return ESC_CLASS;
    case 'N': /* any but newline, or \N{U+..}: not worth translating */
        if (in_class || rw_peek(w) == '{')
            return ESC_REFUSE;
        return ESC_CLASS;
    case 'p':
    case 'P':
        if (w->i >= w->n)
            return ESC_REFUSE;
        if (rw_peek(w) == '{') {
            while (w->i < w->n && w->p[w->i] != '}')
                w->i++;
            if (w->i == w->n)
                return ESC_REFUSE;
        }
        w->i++;
        return ESC_CLASS;
    case 'b':
        if (in_class) {
            rw_put_cp(w, 0x08);
            return ESC_CHAR;
        }
        return ESC_ASSERT;
    case 'B':
    case 'A':
    case 'z':
    case 'Z':
    case 'G': return in_class ? ESC_REFUSE : ESC_ASSERT;
    case 'x':
        if (rw_number(w, 16, 2, rw_peek(w) == '{', &cp))
            return ESC_REFUSE;
        break;
    case 'o':
        if (rw_number(w, 8, 0, 1, &cp))
            return ESC_REFUSE;
        break;
    case '0':
        if (rw_number(w, 8, 2, 0, &cp))
            return ESC_REFUSE;
        break;
    case 't': cp = 0x09; break;
    case 'n': cp = 0x0A; break;
    case 'r': cp = 0x0D; break;
    case 'f': cp = 0x0C; break;
    case 'e': cp = 0x1B; break;
    case 'a': cp = 0x07; break;
    case 'c': {
        /* \cX: X upper-cased, bit 6 flipped; PCRE2 allows printable
         * ASCII only. */
        int x = rw_peek(w);
        if (x < 0x20 || x > 0x7E)
            return ESC_REFUSE;
        if (x >= 'a' && x <= 'z')
            x -= 32;
        cp = (uint32_t)x ^ 0x40;
        w->i++;
        break;
    }
    default:
        if (c >= 0x80) {
            /* \ before a non-ASCII character: the character itself. */
            w->i--;
            rw_copy_char(w);
            return ESC_CHAR;
        }
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            return ESC_REFUSE; /* backreferences, \Q, \K, \R, \X, ... */
        cp = c;                /* escaped punctuation */
        break;
    }
    rw_put_cp(w, cp);
    return ESC_CHAR;
}

/* Read the bracket class at w->i.  Writes it (translated) unless it is
 * negated or uses a table-dependent class, in which case nothing is
 * written and *any is set: the caller writes "any character" instead.
 * (A negated class is, in UTF-8, a large automaton: [^。!?]{16} alone
 * takes Hyperscan a second to compile, "any character" a millisecond.) */
static void rw_class(rewriter *w, int *any)
{
    size_t mark = w->len;
    *any = 0;
    w->i++; /* [ */
    rw_put(w, "[", 1);
    if (rw_peek(w) == '^') {
        *any = 1;
        w->i++;
    }
    int first = 1;
    while (!w->refused) {
        int c = rw_peek(w);
        if (c < 0) {
            rw_refuse(w);
            break;
        }
        if (c == ']' && !first) {
            w->i++;
            break;
        }
        first = 0;
        if (c == '\\') {
            enum esc e = rw_escape(w, 1);
            if (e == ESC_REFUSE)
                rw_refuse(w);
            else if (e == ESC_CLASS)
                *any = 1;
        } else if (c == '[') {
            rw_refuse(w); /* POSIX [:alpha:] and friends */
        } else if (c == ']') {
            w->i++;
            rw_put_cp(w, ']');
        } else {
            rw_copy_char(w);
        }
    }
    if (*any && w->emit)
        w->len = mark;
    else
        rw_put(w, "]", 1);
}

/* Read a quantifier at w->i, if any.  Returns 0 if there is none; else 1
 * with *min set to its lower bound (capped at PREFILTER_MAX_REPEAT) and
 * *optional set for a plain ? (which stays as it is; every other
 * quantifier is widened to "at least *min"); *exact tells whether that
 * changes nothing (*, +, ?, and {m,} with m under the cap).  A lazy ? is
 * skipped: laziness does not change whether a match exists.  A possessive
 * quantifier, a '{' that is not a quantifier (PCRE2 versions disagree on
 * "{,n}") and a quantifier of a quantifier are refused. */
static int rw_quantifier(rewriter *w, unsigned *min, int *optional, int *exact)
{
    int c = rw_peek(w);
    *optional = c == '?';
    *exact = 1;
    if (c == '*' || c == '?') {
        *min = 0;
        w->i++;
    } else if (c == '+') {
        *min = 1;
        w->i++;
    } else if (c == '{') {
        size_t i = w->i + 1;
        unsigned lo = 0;
        size_t digits = 0;
        while (i < w->n && w->p[i] >= '0' && w->p[i] <= '9') {
            if (lo < 100000)
                lo = lo * 10 + (unsigned)(w->p[i] - '0');
            i++;
            digits++;
        }
        if (digits == 0) {
            rw_refuse(w);
            return 0;
        }
        *exact = 0;
        if (i < w->n && w->p[i] == ',') {
            i++;
            *exact = i < w->n && w->p[i] == '}' && lo <= PREFILTER_MAX_REPEAT;
            while (i < w->n && w->p[i] >= '0' && w->p[i] <= '9')
                i++;
        }
        if (i >= w->n || w->p[i] != '}') {
            rw_refuse(w);
            return 0;
        }
        w->i = i + 1;
        *min = lo < PREFILTER_MAX_REPEAT ? lo : PREFILTER_MAX_REPEAT;
    } else {
        return 0;
    }
    if (rw_peek(w) == '?')
        w->i++;
    c = rw_peek(w);
    if (c == '+' || c == '*' || c == '?' || c == '{')
        rw_refuse(w);
    return 1;
}

/* Write the widened quantifier: {m,} for any {m,n}, {m} or {m,}. */
static void rw_put_quantifier(rewriter *w, unsigned min)
{
    if (min == 0) {
        rw_put(w, "*", 1);
    } else if (min == 1) {
        rw_put(w, "+", 1);
    } else {
        char buf[16];
        int k = snprintf(buf, sizeof buf, "{%u,}", min);
        rw_put(w, buf, (size_t)k);
    }
}

static int rw_alternatives(rewriter *w, int depth);

/* What rw_item found. */
#define ITEM_NULLABLE 1 /* can match the empty string */
#define ITEM_GAP 2      /* a top-level gap: nothing written, cut here */

/* Read one item (an atom and its quantifier).  Returns ITEM_ flags. */
static int rw_item(rewriter *w, int depth)
{
    int c = rw_peek(w);
    size_t mark = w->len;
    int nullable = 0;
    int zero_width = 0; /* dropped or an anchor: must not be quantified */
    if (c == '\\') {
        enum esc e = rw_escape(w, 0);
        if (e == ESC_REFUSE) {
            rw_refuse(w);
        } else if (e == ESC_CLASS) {
            rw_put(w, ANY_CHAR, sizeof ANY_CHAR - 1);
            w->widened = 1;
        } else if (e == ESC_ASSERT) {
            zero_width = nullable = 1;
            w->widened = 1;
        }
    } else if (c == '[') {
        int any;
        rw_class(w, &any);
        if (any) {
            rw_put(w, ANY_CHAR, sizeof ANY_CHAR - 1);
            w->widened = 1;
        }
    } else if (c == '(') {
        const char *q = w->p + w->i;
        size_t left = w->n - w->i;
        size_t skip = 0;
        int look = 0;
        if (left >= 3 && q[1] == '?' && (q[2] == '=' || q[2] == '!')) {
            look = 1;
            skip = 3;
        } else if (left >= 4 && q[1] == '?' && q[2] == '<' &&
                   (q[3] == '=' || q[3] == '!')) {
            look = 1;
            skip = 4;
        } else if (left >= 3 && q[1] == '?' && q[2] == ':') {
            skip = 3;
        } else if (left >= 2 && q[1] != '?' && q[1] != '*') {
            skip = 1;
        } else if (left >= 3 && q[1] == '?' &&
                   (q[2] == '<' || q[2] == '\'' ||
                    (left >= 4 && q[2] == 'P' && q[3] == '<'))) {
            /* named group: (?<name> (?'name' (?P<name> */
            size_t k = q[2] == 'P' ? 4 : 3;
            char close = q[2] == '\'' ? '\'' : '>';
            while (k < left &&
                   (q[k] == '_' || (q[k] >= '0' && q[k] <= '9') ||
                    (q[k] >= 'a' && q[k] <= 'z') || (q[k] >= 'A' && q[k] <= 'Z')))
                k++;
            if (k < left && q[k] == close)
                skip = k + 1;
        }
        if (skip == 0 || depth >= PREFILTER_MAX_DEPTH) {
            rw_refuse(w); /* options, atomic groups, conditionals, ... */
            return 0;
        }
        w->i += skip;
        int saved = w->emit;
        if (look)
            w->emit = 0;
        rw_put(w, "(?:", 3);
        nullable = rw_alternatives(w, depth + 1);
        if (rw_peek(w) != ')') {
            rw_refuse(w);
            return 0;
        }
        w->i++;
        rw_put(w, ")", 1);
        w->emit = saved;
        if (look)
            zero_width = nullable = w->widened = 1;
    } else if (c == '.') {
        w->i++;
        rw_put(w, ANY_CHAR, sizeof ANY_CHAR - 1);
        w->widened = 1;
    } else if (c == '^') {
        w->i++;
        rw_put(w, "^", 1);
        zero_width = nullable = 1;
    } else if (c == '$') {
        w->i++;
        zero_width = nullable = w->widened = 1;
    } else if (c == '*' || c == '+' || c == '?' || c == '{') {
        rw_refuse(w);
        return 0;
    } else if (c == ']' || c == '}') {
        w->i++;
        rw_put_cp(w, (uint32_t)c);
    } else {
        rw_copy_char(w);
    }
    if (w->refused)
        return 0;

    unsigned min;
    int optional, exact;
    if (rw_quantifier(w, &min, &optional, &exact)) {
        if (zero_width) {
            rw_refuse(w);
            return 0;
        }
        /* Counted repeats cost Hyperscan states: nested, they multiply
         * (((x{16}){16}){16} is 4096 of them), and over a character that
         * is several bytes in UTF-8, each is a small automaton.  So only
         * a single ASCII character keeps its count; anything else
         * repeats at least once, whatever the count. */
        int wide = c == '(' || c == '.' || c == '[' || c == '\\';
        if (c == '[' || c == '\\') {
            /* A class or an escape is narrow if it was written out with
             * ASCII bytes only, and is not "any character". */
            wide =
                !w->emit || (w->len - mark == sizeof ANY_CHAR - 1 &&
                             memcmp(w->out + mark, ANY_CHAR, sizeof ANY_CHAR - 1) == 0);
            for (size_t k = mark; k < w->len && !wide; k++)
                wide = (unsigned char)w->out[k] >= 0x80;
        } else if (c >= 0x80) {
            wide = 1;
        }
        if (wide && min > 1) {
            min = 1;
            exact = 0;
        }
        if (!exact)
            w->widened = 1;
        if (min == 0 && !optional && depth == 0) {
            if (w->emit)
                w->len = mark;
            w->widened = 1;
            return ITEM_NULLABLE | ITEM_GAP;
        }
        if (min == 0)
            nullable = 1;
        if (optional)
            rw_put(w, "?", 1);
        else
            rw_put_quantifier(w, min);
    }
    return nullable ? ITEM_NULLABLE : 0;
}

/* End the piece being written at depth 0, which started at *start: keep
 * it if it cannot match the empty string (and the branch has room),
 * else forget it. */
static void rw_end_piece(rewriter *w, size_t *start, int *nullable, uint32_t *kept)
{
    if (*kept >= PREFILTER_MAX_PIECES)
        w->widened = 1;
    if (!*nullable && w->len > *start && *kept < PREFILTER_MAX_PIECES) {
        rw_put(w, "", 1); /* its NUL */
        if (hb_grow((void **)&w->branch, &w->cap_pieces, w->npieces + 1,
                    sizeof *w->branch)) {
            rw_refuse(w);
            return;
        }
        w->branch[w->npieces++] = w->nbranches;
        (*kept)++;
    } else {
        w->len = *start;
    }
    *start = w->len;
    *nullable = 1;
}

/* Read alternatives up to a ')' or the end.  At depth 0 each one is a
 * branch, cut into pieces.  Returns 1 if any alternative can match the
 * empty string (at depth 0: if a branch was left without pieces). */
static int rw_alternatives(rewriter *w, int depth)
{
    int any_nullable = 0;
    for (;;) {
        int nullable = 1;      /* of the alternative (depth > 0) */
        size_t start = w->len; /* of the piece (depth 0) */
        int piece_nullable = 1;
        uint32_t kept = 0;
        while (!w->refused) {
            int c = rw_peek(w);
            if (c < 0 || c == '|' || c == ')')
                break;
            int item = rw_item(w, depth);
            if (item & ITEM_GAP) {
                rw_end_piece(w, &start, &piece_nullable, &kept);
            } else if (!(item & ITEM_NULLABLE)) {
                nullable = 0;
                piece_nullable = 0;
            }
        }
        if (depth == 0) {
            rw_end_piece(w, &start, &piece_nullable, &kept);
            nullable = kept == 0;
            w->nbranches++;
        }
        any_nullable |= nullable;
        if (rw_peek(w) != '|')
            break;
        w->i++;
        if (depth > 0)
            rw_put(w, "|", 1);
    }
    return any_nullable;
}

/* Rewrite pattern src for the prefilter into w (which the caller frees
 * with free(w->out), free(w->branch)).  Returns 0, or -1 if the pattern is
 * a fallback (refused, or a branch can match the empty string). */
static int rewrite(const char *src, rewriter *w)
{
    memset(w, 0, sizeof *w);
    w->p = src;
    w->n = strlen(src);
    w->emit = 1;
    int nullable = rw_alternatives(w, 0);
    if (w->i < w->n) /* a stray ')' */
        rw_refuse(w);
    return w->refused || nullable ? -1 : 0;
}

int hb_prefilter_rewrite(const char *pattern, hb_prefilter_pieces *pieces)
{
    rewriter w;
    int rc = rewrite(pattern, &w);
    if (rc) {
        free(w.out);
        free(w.branch);
        memset(pieces, 0, sizeof *pieces);
        return rc;
    }
    pieces->text = w.out;
    pieces->branch = w.branch;
    pieces->count = w.npieces;
    pieces->nbranches = w.nbranches;
    pieces->exact = !w.widened;
    return 0;
}

void hb_prefilter_pieces_release(hb_prefilter_pieces *pieces)
{
    if (!pieces)
        return;
    free(pieces->text);
    free(pieces->branch);
    memset(pieces, 0, sizeof *pieces);
}

/* ------------------------------------------------------------------ */
/* Building the database                                               */

static void bit_set(uint64_t *bits, size_t i)
{
    bits[i >> 6] |= UINT64_C(1) << (i & 63);
}

/* A piece as the builder sees it: its text, the pattern of its branch and
 * the branch's counter (or NO_COUNTER). */
typedef struct piece_use {
    const char *text;
    uint32_t pattern;
    uint32_t counter;
} piece_use;

static int cmp_uses(const void *a, const void *b)
{
    return strcmp(((const piece_use *)a)->text, ((const piece_use *)b)->text);
}

#define PREFILTER_FLAGS                                                                  \
    (HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH | HS_FLAG_UTF8 | HS_FLAG_UCP)
#define EXACT_FLAGS (HS_FLAG_SINGLEMATCH | HS_FLAG_UTF8 | HS_FLAG_UCP)

/* Gather the pieces of every pattern that is not a fallback into uses
 * (numbering the counters of branches of several pieces), sort them by
 * text and make one expression per distinct text in exprs / flags /
 * pf->use_start, exact if any of its users is.  Returns the number of
 * expressions. */
static size_t gather_pieces(hb_prefilter *pf, const hb_prefilter_pieces *pieces,
                            piece_use *uses, const char **exprs, unsigned *flags)
{
    size_t nuses = 0, ncounters = 0;
    for (size_t id = 0; id < pf->npatterns; id++) {
        if (hb_prefilter_in(pf->always, id))
            continue;
        const hb_prefilter_pieces *w = &pieces[id];
        const char *text = w->text;
        for (size_t k = 0; k < w->count;) {
            size_t end = k + 1; /* a branch's pieces are consecutive */
            while (end < w->count && w->branch[end] == w->branch[k])
                end++;
            uint32_t counter = NO_COUNTER;
            if (end - k > 1) {
                counter = (uint32_t)ncounters;
                pf->counter_need[ncounters++] = (uint8_t)(end - k);
            }
            for (; k < end; k++, text += strlen(text) + 1)
                uses[nuses++] = (piece_use){text, (uint32_t)id, counter};
        }
    }
    pf->ncounters = ncounters;
    qsort(uses, nuses, sizeof *uses, cmp_uses);
    size_t n = 0;
    for (size_t u = 0; u < nuses; u++) {
        if (u == 0 || strcmp(uses[u].text, uses[u - 1].text) != 0) {
            exprs[n] = uses[u].text;
            flags[n] = PREFILTER_FLAGS;
            pf->use_start[n++] = (uint32_t)u;
        }
        if (hb_prefilter_in(pf->exact, uses[u].pattern))
            flags[n - 1] = EXACT_FLAGS;
        pf->use_pattern[u] = uses[u].pattern;
        pf->use_counter[u] = uses[u].counter;
    }
    pf->use_start[n] = (uint32_t)nuses;
    return n;
}

/* A piece that can match in fewer bytes than this is weak
 * (hb_prefilter_weak): on `make bench`'s messages, the 21 English pieces
 * of the shipped rules that can match one or two bytes were 4% of the
 * database's expressions and a third of its scan time on English text. */
#define PREFILTER_WEAK_BYTES 3u

static int piece_is_weak(const char *piece)
{
    hs_expr_info_t *info = NULL;
    hs_compile_error_t *cerr = NULL;
    int weak = 0;
    if (hs_expression_info(piece, PREFILTER_FLAGS, &info, &cerr) == HS_SUCCESS)
        weak = info->min_width < PREFILTER_WEAK_BYTES;
    else if (cerr)
        hs_free_compile_error(cerr);
    free(info); /* Hyperscan's misc allocator: malloc by default */
    return weak;
}

int hb_prefilter_weak(const char *pattern)
{
    hb_prefilter_pieces p;
    if (!pattern || hb_prefilter_rewrite(pattern, &p))
        return 0;
    int weak = 0;
    const char *text = p.text;
    for (size_t k = 0; k < p.count && !weak;) {
        size_t end = k + 1; /* a branch's pieces are consecutive */
        while (end < p.count && p.branch[end] == p.branch[k])
            end++;
        weak = 1;
        for (; k < end; k++, text += strlen(text) + 1)
            weak = weak && piece_is_weak(text);
    }
    hb_prefilter_pieces_release(&p);
    return weak;
}

/* Rewrite every pattern into pieces[], marking the fallbacks, the ones
 * left unfiltered (NULL) and the exact ones in pf.  Returns the number of
 * pieces in all. */
static size_t rewrite_all(hb_prefilter *pf, const char *const *patterns,
                          hb_prefilter_pieces *pieces)
{
    size_t total = 0;
    for (size_t id = 0; id < pf->npatterns; id++) {
        if (!patterns[id]) {
            bit_set(pf->always, id);
            pf->nunfiltered++;
            continue;
        }
        if (hb_prefilter_rewrite(patterns[id], &pieces[id])) {
            bit_set(pf->always, id);
            continue;
        }
        if (pieces[id].exact)
            bit_set(pf->exact, id);
        total += pieces[id].count;
    }
    return total;
}

/* Hyperscan failures are not errors: an expression Hyperscan refuses in
 * exact mode is tried again in prefilter mode, one it refuses in
 * prefilter mode makes its patterns fallbacks, and if Hyperscan fails as
 * a whole every pattern is one. */
hb_prefilter *hb_prefilter_new(const char *const *patterns, size_t count, hb_error *err)
{
    if (count > UINT32_MAX / 2) { /* ids are 32-bit; not reachable in
                                     practice (16 MiB per rules file) */
        hb_error_set(err, HB_ENOMEM, "too many patterns (%zu)", count);
        return NULL;
    }
    hb_prefilter *pf = calloc(1, sizeof *pf);
    if (!pf) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        return NULL;
    }
    pf->npatterns = count;
    pf->always = calloc(count / 64 + 1, sizeof(uint64_t));
    pf->exact = calloc(count / 64 + 1, sizeof(uint64_t));
    hb_prefilter_pieces *pieces = calloc(count ? count : 1, sizeof *pieces);
    piece_use *uses = NULL;
    const char **exprs = NULL;
    unsigned *flags = NULL, *ids = NULL;
    int rc = 0;
    if (!pf->always || !pf->exact || !pieces) {
        rc = hb_error_set(err, HB_ENOMEM, "out of memory");
        goto done;
    }
    size_t room = rewrite_all(pf, patterns, pieces) + 1;
    uses = malloc(room * sizeof *uses);
    exprs = malloc(room * sizeof *exprs);
    flags = malloc(room * sizeof *flags);
    ids = malloc(room * sizeof *ids);
    pf->use_start = malloc(room * sizeof *pf->use_start);
    pf->use_pattern = malloc(room * sizeof *pf->use_pattern);
    pf->use_counter = malloc(room * sizeof *pf->use_counter);
    pf->counter_need = malloc(room * sizeof *pf->counter_need);
    if (!uses || !exprs || !flags || !ids || !pf->use_start || !pf->use_pattern ||
        !pf->use_counter || !pf->counter_need) {
        rc = hb_error_set(err, HB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < room; i++)
        ids[i] = (unsigned)i;
    /* Compile; when Hyperscan names an expression it refuses, demote its
     * users (exact to prefiltered, prefiltered to fallback) and try
     * again.  Each round demotes a pattern, so this ends. */
    for (;;) {
        size_t n = gather_pieces(pf, pieces, uses, exprs, flags);
        if (n == 0)
            break;
        hs_compile_error_t *cerr = NULL;
        hs_error_t hrc = hs_compile_multi(exprs, flags, ids, (unsigned)n, HS_MODE_BLOCK,
                                          NULL, &pf->db, &cerr);
        if (hrc == HS_SUCCESS)
            break;
        int bad = cerr ? cerr->expression : -1;
        if (cerr)
            hs_free_compile_error(cerr);
        pf->db = NULL;
        if (bad < 0 || (size_t)bad >= n) {
            /* Not one expression's fault (memory, a resource limit): no
             * prefilter at all. */
            for (size_t id = 0; id < count; id++)
                bit_set(pf->always, id);
            break;
        }
        for (uint32_t u = pf->use_start[bad]; u < pf->use_start[bad + 1]; u++) {
            uint32_t id = pf->use_pattern[u];
            if (flags[bad] == EXACT_FLAGS)
                pf->exact[id >> 6] &= ~(UINT64_C(1) << (id & 63));
            else
                bit_set(pf->always, id);
        }
    }
    for (size_t id = 0; id < count; id++) {
        if (hb_prefilter_in(pf->always, id)) {
            pf->exact[id >> 6] &= ~(UINT64_C(1) << (id & 63));
            pf->nfallbacks++;
        }
    }
    pf->nfallbacks -= pf->nunfiltered;
    pf->serial = (uint64_t)atomic_fetch_add(&next_serial, 1);
done:
    if (pieces)
        for (size_t id = 0; id < count; id++)
            hb_prefilter_pieces_release(&pieces[id]);
    free(pieces);
    free(uses);
    free(exprs);
    free(flags);
    free(ids);
    if (rc) {
        hb_prefilter_free(pf);
        return NULL;
    }
    return pf;
}

void hb_prefilter_free(hb_prefilter *pf)
{
    if (!pf)
        return;
    hs_free_database(pf->db);
    free(pf->always);
    free(pf->exact);
    free(pf->use_start);
    free(pf->use_pattern);
    free(pf->use_counter);
    free(pf->counter_need);
    free(pf);
}

size_t hb_prefilter_fallbacks(const hb_prefilter *pf)
{
    return pf ? pf->nfallbacks : 0;
}

const uint64_t *hb_prefilter_exact(const hb_prefilter *pf)
{
    return pf ? pf->exact : NULL;
}

/* ------------------------------------------------------------------ */
/* Scanning                                                            */

hb_prefilter_scratch *hb_prefilter_scratch_new(void)
{
    return calloc(1, sizeof(hb_prefilter_scratch));
}

void hb_prefilter_scratch_free(hb_prefilter_scratch *scratch)
{
    if (!scratch)
        return;
    hs_free_scratch(scratch->hs);
    free(scratch->candidates);
    free(scratch->counters);
    free(scratch);
}

/* What the Hyperscan callback needs. */
typedef struct scan_state {
    const hb_prefilter *pf;
    hb_prefilter_scratch *scratch;
} scan_state;

/* Hyperscan's match callback: expression id was found (once at most, by
 * SINGLEMATCH).  Each pattern using it becomes a candidate if this
 * completes one of its branches.  Always goes on scanning. */
static int on_piece(unsigned int id, unsigned long long from, unsigned long long to,
                    unsigned int flags, void *context)
{
    (void)from;
    (void)to;
    (void)flags;
    const scan_state *st = context;
    const hb_prefilter *pf = st->pf;
    for (uint32_t u = pf->use_start[id]; u < pf->use_start[id + 1]; u++) {
        uint32_t c = pf->use_counter[u];
        if (c == NO_COUNTER || ++st->scratch->counters[c] == pf->counter_need[c])
            bit_set(st->scratch->candidates, pf->use_pattern[u]);
    }
    return 0;
}

/* The candidates are the fallback patterns plus every pattern with a
 * branch whose pieces the Hyperscan scan all found.  The scratch is sized
 * for this prefilter the first time it is seen (the only allocation). */
const uint64_t *hb_prefilter_scan(const hb_prefilter *pf, hb_prefilter_scratch *s,
                                  const char *text, size_t len)
{
    if (!pf || !s || !pf->db || (!text && len) || len > UINT_MAX)
        return NULL;
    size_t words = pf->npatterns / 64 + 1;
    if (words > s->ncandidate_words) {
        uint64_t *c = realloc(s->candidates, words * sizeof *c);
        if (!c)
            return NULL;
        s->candidates = c;
        s->ncandidate_words = words;
    }
    if (pf->ncounters > s->ncounters) {
        uint8_t *c = realloc(s->counters, pf->ncounters);
        if (!c)
            return NULL;
        s->counters = c;
        s->ncounters = pf->ncounters;
    }
    if (s->hs_serial != pf->serial) {
        /* Grows s->hs if this database needs more room; on failure
         * Hyperscan frees it and sets it to NULL. */
        s->hs_serial = 0;
        if (hs_alloc_scratch(pf->db, &s->hs) != HS_SUCCESS)
            return NULL;
        s->hs_serial = pf->serial;
    }
    memcpy(s->candidates, pf->always, words * sizeof *s->candidates);
    if (pf->ncounters)
        memset(s->counters, 0, pf->ncounters);
    scan_state st = {pf, s};
    if (hs_scan(pf->db, text ? text : "", (unsigned int)len, 0, s->hs, on_piece, &st) !=
        HS_SUCCESS)
        return NULL;
    return s->candidates;
}
