/*
 * ruledefs.h - named pattern pieces of a rules file: `define name = regex`
 * lines, and the `(?&name)` references that pattern, unless and later
 * define lines make to them (docs/rules.md, "Shared pieces").
 *
 * A list of words that many rules share (the anti-fraud warnings that make
 * a scam rule stand down, the official sites of banks and operators) is
 * written once and named; the rules parser (rules.c, the only caller)
 * expands every reference before PCRE2 compiles a line, so PCRE2, the
 * Hyperscan prefilter and the evidence spans see the same pattern as if
 * the piece had been copied into it.  `(?&name)` is PCRE2's syntax for
 * calling a named group, which is what a reference means; the expansion
 * is the piece as a non-capturing group, `(?:regex)`.
 *
 * Scope: a definition holds from its line to the end of its file.  A
 * reference found where PCRE2 would read `(?&` as syntax (not escaped,
 * not in a class, a \Q..\E quote or a (?#..) comment) must name a
 * definition above it.
 */
#ifndef HB_RULEDEFS_H
#define HB_RULEDEFS_H

#include <stddef.h>

#include "error.h"

/* Longest pattern after expansion, in bytes: a bound for references that
 * nest, and far above any hand-written line (the longest shipped one is
 * under 2 KiB). */
#define HB_RULEDEFS_MAX_EXPANDED ((size_t)64 * 1024)

typedef struct hb_ruledef {
    char *name;
    char *body;  /* expanded: it holds no references */
    size_t line; /* where it was defined */
} hb_ruledef;

typedef struct hb_ruledefs {
    hb_ruledef *items;
    size_t count, cap;
} hb_ruledefs;

void hb_ruledefs_init(hb_ruledefs *defs);

/* Free every definition and empty defs. */
void hb_ruledefs_release(hb_ruledefs *defs);

/* Add the definition of name (nn bytes; a-z 0-9 _) as body (bn bytes),
 * which is expanded first.  Returns 0, or an error naming file:line:
 * HB_EFORMAT for a bad or already defined name or a bad reference in
 * body, HB_ENOMEM.  Does not compile body (the caller does). */
int hb_ruledefs_add(hb_ruledefs *defs, const char *name, size_t nn, const char *body,
                    size_t bn, const char *file, size_t line, hb_error *err);

/* Expand the references in pattern (n bytes) into *out (NUL-terminated,
 * *outn bytes, free() it).  Returns 0, or an error naming file:line:
 * HB_EFORMAT for a reference to an unknown name or an expansion over
 * HB_RULEDEFS_MAX_EXPANDED, HB_ENOMEM. */
int hb_ruledefs_expand(const hb_ruledefs *defs, const char *pattern, size_t n, char **out,
                       size_t *outn, const char *file, size_t line, hb_error *err);

#endif
