/*
 * rules.h - hand-written PCRE2 rules: the explainable half of every verdict.
 *
 * A rule set is loaded from plain-text *.rules files (format: docs/rules.md)
 * into an immutable hb_rules that any number of threads or forks may share.
 * Every pattern is compiled with PCRE2_UTF | PCRE2_UCP and JIT-compiled, and
 * matched against *normalised* text (normalize.h), so rules are written in
 * lower case, with half-width digits and without worrying about spacing.
 *
 * A rule belongs to one task ("fraud", "spam", "rumour", ... - tasks are data,
 * not code) and may name a type (for fraud: "authority", "customer_service",
 * ...; the shipped fraud types, with names and advice, are listed in
 * models/rules/types.tsv).  It fires when all of its `pattern` lines match
 * and none of its `unless` lines does.  Its weight is added to the task's
 * decision value when it fires (verdict.h).
 *
 * Loading is strict: an unknown key, a missing required key, a bad weight,
 * a pattern PCRE2 rejects, a duplicate id, a NUL byte or invalid UTF-8
 * fails the whole load with "file:line: what is wrong", so a typo can never
 * ship as a rule that silently never fires.
 *
 * Matching is bounded: a match limit and a fixed JIT stack mean no input can
 * make a rule run away; a rule that hits the limit simply does not fire and
 * is counted in hb_rules_match's *limited output.
 *
 * Matching is prefiltered: at load time every pattern (`pattern` and
 * `unless` lines alike) is also compiled, in a widened form, into one
 * Hyperscan database.  Per message one linear-time scan says which
 * patterns *could* match; PCRE2 then runs only those, so the hits are
 * exactly those of running every pattern (see hb_rules_match for the one
 * exception), at a fraction of the cost.  Patterns the prefilter cannot
 * handle run on every message (hb_rules_prefilter_fallbacks counts them).
 * Building the prefilter makes loading slower: about 0.4 s for the
 * shipped rules, against 15 ms for PCRE2 alone.
 */
#ifndef HB_RULES_H
#define HB_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct hb_rules hb_rules;
typedef struct hb_rules_scratch hb_rules_scratch;

/* A rule at least this heavy names a scam's move on its own (a
 * call-forwarding code, "complete your KYC", a fine to pay or face court):
 * where it fires, "no fraud signs found" would contradict the evidence, so
 * the task's tier is at least possible.  A lighter rule is a cue that
 * counts beside others.  A rule's `sign = yes` or `no` overrides the
 * weight: "Hi mum, this is my new number" calls for checking whoever sent
 * it, though a real child writes it too, so it stays light in the score. */
#define HB_RULE_SIGN_WEIGHT 1.5

/* What a rule is, for evidence and explanations.  Strings are owned by the
 * hb_rules and live as long as it does. */
typedef struct hb_rule_info {
    const char *id;             /* unique, e.g. "fraud.safe_account" */
    const char *task;           /* "fraud", "spam", "rumour", ... */
    const char *type;           /* sub-type, e.g. "authority"; "" if none */
    const char *description;    /* one line a hotline worker can read out */
    const char *description_zh; /* the same in Chinese; "" if none */
    double weight;              /* added to the task's decision value */
    int sign;                   /* a sign on its own: `sign`, by default
                                   weight >= HB_RULE_SIGN_WEIGHT */
    const char *file;           /* file it was loaded from */
    int line;                   /* line of its header in that file */
} hb_rule_info;

/* One rule that fired: the span of its first pattern's first match, in
 * bytes of the normalised text. */
typedef struct hb_rule_hit {
    uint32_t rule; /* index for hb_rules_info */
    uint32_t start;
    uint32_t end;
} hb_rule_hit;

/* Parse and compile rules from text (len bytes, need not be NUL-terminated);
 * origin names the source in error messages ("models/rules/fraud.rules";
 * NULL gives "<rules>").  Returns an owned rule set (free with
 * hb_rules_free), or NULL with err saying file:line and what is wrong
 * (including PCRE2's own message and offset for a bad pattern).  Codes:
 * HB_EFORMAT (syntax, keys, weights, patterns, duplicate ids, NUL bytes),
 * HB_EUTF8, HB_EEMPTY (no rule at all in the text), HB_ENOMEM. */
hb_rules *hb_rules_parse(const char *text, size_t len, const char *origin, hb_error *err);

/* Load one *.rules file, as hb_rules_parse with origin = path; also
 * HB_ENOTFOUND / HB_EIO when the file cannot be read and HB_ETOOBIG above
 * 16 MiB. */
hb_rules *hb_rules_load_file(const char *path, hb_error *err);

/* Load every *.rules file in dir, in name order, as one set.  Rule ids must
 * be unique across files.  Dot files and other names are ignored.  An empty
 * or missing directory is an error (HB_ENOTFOUND); so is any bad file. */
hb_rules *hb_rules_load_dir(const char *dir, hb_error *err);

/* Free a rule set; NULL is fine. */
void hb_rules_free(hb_rules *rules);

/* hb_rules_count is 0 for NULL; hb_rules_info is NULL for an index out of
 * range.  Rules are numbered in load order (file name order, then file
 * order). */
size_t hb_rules_count(const hb_rules *rules);
const hb_rule_info *hb_rules_info(const hb_rules *rules, size_t index);

/* Index of the rule with this id, or -1 (linear search: not for the
 * per-message path). */
long hb_rules_find(const hb_rules *rules, const char *id);

/* Number of patterns (`pattern` and `unless` lines) the prefilter cannot
 * rule out, so that PCRE2 runs them on every message: those using syntax
 * the prefilter does not translate (backreferences, inline options such
 * as (?i), atomic groups, possessive quantifiers, \Q..\E, \R, \X, POSIX
 * classes, a literal '{'; see docs/rules.md), those that can match the
 * empty string, and those Hyperscan refuses.  They cost speed, never
 * correctness.  0 for NULL; a healthy shipped set has 0. */
size_t hb_rules_prefilter_fallbacks(const hb_rules *rules);

/* Per-thread matching state (PCRE2 match data, match context with the
 * matching limits, JIT stack; Hyperscan scratch and the candidate set of
 * the prefilter).  One scratch serves any rule set but only one thread at
 * a time: the first message matched against a rule set the scratch has
 * not seen before (after a reload) sizes its Hyperscan part for that set,
 * which allocates.  NULL on allocation failure; free with
 * hb_rules_scratch_free (NULL is fine). */
hb_rules_scratch *hb_rules_scratch_new(void);
void hb_rules_scratch_free(hb_rules_scratch *scratch);

/* Turn the prefilter on (enabled != 0, the default) or off for matches
 * made with this scratch.  Off, every pattern of every rule runs through
 * PCRE2 as if there were no prefilter: slower, and meant for tests that
 * check the prefilter changes nothing.  NULL is ignored. */
void hb_rules_scratch_set_prefilter(hb_rules_scratch *scratch, int enabled);

/* Run every rule over len bytes of normalised UTF-8 text.  Writes at most
 * max_hits hits, in rule order, to hits and their count to *nhits; matching
 * stops once hits is full, so pass max_hits = hb_rules_count(rules) to see
 * every rule that fires.  *limited (may be NULL) gets the number of rules
 * abandoned at a matching limit (match, depth or heap limit, or the JIT
 * stack): such a rule does not fire.
 *
 * With the prefilter on, a pattern the prefilter proves cannot match is
 * not run at all, so it can never be abandoned: a rule whose `pattern`
 * lines cannot all match is skipped, an `unless` line that cannot
 * match does not stop its rule, and one the prefilter proves matches
 * stops it before any pattern runs.  Hits are otherwise those of running
 * every pattern; the one difference is for the better: where PCRE2 alone
 * would give up on a rule at a limit, the prefilter may already know the
 * answer, and the rule is decided (it may fire) instead of abandoned, so
 * *limited is never higher than without it.  If the prefilter cannot run
 * (no memory to size the scratch, a Hyperscan error), this call quietly
 * runs every pattern instead.
 *
 * Precondition: text must be valid UTF-8 (as hb_normalize output always
 * is).  Patterns run with PCRE2_NO_UTF_CHECK to avoid re-validating the
 * text once per pattern, so invalid UTF-8 here is undefined behaviour.
 * The text need not be NUL-terminated and must be under 4 GiB.
 *
 * Returns 0, or HB_EINVAL for bad arguments (NULL rules, scratch or nhits;
 * NULL hits with max_hits > 0).  No allocation when PCRE2's JIT is
 * available, except on the first message after a new rule set (see
 * hb_rules_scratch_new); the interpreter fallback may grow the scratch's
 * frame vector on first use, bounded by the heap limit. */
int hb_rules_match(const hb_rules *rules, hb_rules_scratch *scratch, const char *text,
                   size_t len, hb_rule_hit *hits, size_t max_hits, size_t *nhits,
                   size_t *limited);

#endif
