/*
 * prefilter.h - which of many PCRE2 patterns could match a text, from one
 * Hyperscan scan.  Internal to the rules module: rules.c is its only
 * caller (and the tests); nothing else should include it.
 *
 * Running a few hundred PCRE2 patterns one after the other costs ~100 us
 * on a long message, although most of them cannot match it.  A prefilter
 * is built once from the patterns (hb_prefilter_new) and then, per
 * message, scans the text once, in linear time, and answers with the
 * candidate set (hb_prefilter_scan): a bitset over the patterns, by their
 * index in the array given to hb_prefilter_new.  Its one promise:
 *
 *   if pattern k matches the text (as PCRE2 compiled it for the rules:
 *   PCRE2_UTF | PCRE2_UCP), k is a candidate.
 *
 * A candidate may still not match (PCRE2 decides), except for an *exact*
 * pattern (hb_prefilter_exact), whose being a candidate means matching.
 *
 * How: Hyperscan never sees a pattern as written but a widened copy
 * (hb_prefilter_rewrite) whose language contains the original's, cut into
 * pieces that must all be found; see prefilter.c.  A pattern that cannot
 * be widened safely, can match the empty string, or that Hyperscan
 * refuses is a *fallback*: always a candidate (hb_prefilter_fallbacks
 * counts them).  Fallbacks cost speed, never correctness.
 *
 * Sharing: a prefilter is immutable after hb_prefilter_new and may be
 * used by any number of threads at once, each with its own scratch.
 */
#ifndef HB_PREFILTER_H
#define HB_PREFILTER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct hb_prefilter hb_prefilter;
typedef struct hb_prefilter_scratch hb_prefilter_scratch;

/* What the rewriter makes of one pattern: pieces, each a Hyperscan
 * expression, grouped by the top-level alternative ("branch") of the
 * pattern they come from.  The pattern can only match a text in which
 * every piece of one of its branches matches somewhere.  Owned by the
 * caller of hb_prefilter_rewrite; release with hb_prefilter_pieces_release. */
typedef struct hb_prefilter_pieces {
    char *text;       /* count NUL-terminated expressions, one after another */
    uint32_t *branch; /* branch[k]: branch of piece k (non-decreasing) */
    size_t count;     /* pieces */
    uint32_t nbranches;
    int exact; /* nothing was widened: every branch is one piece
                  that matches exactly where the branch does */
} hb_prefilter_pieces;

/* Rewrite pattern (NUL-terminated, valid UTF-8, already accepted by
 * PCRE2) into pieces.  Returns 0 with *pieces filled in, or -1 if the
 * pattern is a fallback: syntax the rewriter does not translate (see
 * docs/rules.md), a branch left without pieces (it can match the empty
 * string) or no memory; *pieces is then empty.  Does not ask Hyperscan:
 * a rewritten pattern may still become a fallback in hb_prefilter_new. */
int hb_prefilter_rewrite(const char *pattern, hb_prefilter_pieces *pieces);

/* Free what hb_prefilter_rewrite put in pieces and empty it; NULL and an
 * empty pieces are fine. */
void hb_prefilter_pieces_release(hb_prefilter_pieces *pieces);

/* Whether pattern (as for hb_prefilter_rewrite) makes a weak filter: one
 * of its branches has only pieces that can match in one or two bytes
 * ("u", "to", [0-9]), which most texts hold.  Such a piece filters
 * little and costs the scan a match at each of its occurrences; a caller
 * that will also require a stronger pattern before anything comes of
 * this one can leave it unfiltered (a NULL in hb_prefilter_new).  0 for a
 * fallback.  Asks Hyperscan (hs_expression_info). */
int hb_prefilter_weak(const char *pattern);

/* Build the prefilter of count patterns (NUL-terminated, each accepted by
 * PCRE2; patterns[k] is pattern k).  A NULL pattern is left unfiltered
 * on purpose: always a candidate, and not counted as a fallback.
 * Hyperscan refusing an expression is not an error: its patterns become
 * fallbacks (and if Hyperscan fails as a whole, every pattern does, and
 * hb_prefilter_scan answers NULL).
 * Takes about 0.4 s for the shipped rules.  Returns an owned prefilter
 * (free with hb_prefilter_free), or NULL with err set: HB_ENOMEM. */
hb_prefilter *hb_prefilter_new(const char *const *patterns, size_t count, hb_error *err);

/* Free a prefilter; NULL is fine. */
void hb_prefilter_free(hb_prefilter *pf);

/* Number of fallback patterns; 0 for NULL. */
size_t hb_prefilter_fallbacks(const hb_prefilter *pf);

/* The exact patterns, as a bitset over pattern indexes (test a bit with
 * hb_prefilter_in); owned by pf.  NULL for NULL. */
const uint64_t *hb_prefilter_exact(const hb_prefilter *pf);

/* Per-thread scan state (Hyperscan scratch, the candidate set and the
 * per-branch piece counters).  One scratch serves any prefilter, one
 * thread at a time; it is sized on the first scan of a prefilter it has
 * not seen before (after a reload), which allocates.  NULL on allocation
 * failure; free with hb_prefilter_scratch_free (NULL is fine). */
hb_prefilter_scratch *hb_prefilter_scratch_new(void);
void hb_prefilter_scratch_free(hb_prefilter_scratch *scratch);

/* Scan len bytes of valid UTF-8 text.  Returns the candidate set, a
 * bitset over pattern indexes (test a bit with hb_prefilter_in) owned by
 * scratch and valid until its next scan; or NULL when the prefilter
 * cannot answer this time (NULL arguments, no Hyperscan database, no
 * memory to size the scratch, a Hyperscan error, text of 4 GiB or more):
 * the caller must then treat every pattern as a candidate. */
const uint64_t *hb_prefilter_scan(const hb_prefilter *pf, hb_prefilter_scratch *scratch,
                                  const char *text, size_t len);

/* Whether pattern index id is in bitset set (a candidate set, or the
 * exact set).  Inline: the matcher asks once or more per rule. */
static inline int hb_prefilter_in(const uint64_t *set, size_t id)
{
    return (int)((set[id >> 6] >> (id & 63)) & 1);
}

#endif
