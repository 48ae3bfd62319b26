/*
 * cli.h - pieces shared by the `hubao` subcommands.
 *
 * Exit codes (documented in the README and `hubao --help`):
 *   0  every message was classified / the command succeeded
 *   1  some input was rejected (invalid UTF-8, empty, too long); the rest
 *      was processed
 *   2  usage error (unknown option, missing argument)
 *   3  set-up failure: models, rules or data could not be loaded
 */
#ifndef HB_CLI_H
#define HB_CLI_H

#include <stddef.h>
#include <stdio.h>

enum { EXIT_INPUT = 1, EXIT_USAGE = 2, EXIT_SETUP = 3 };

int cmd_check(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);

/* Where models and rules live: --models/--rules, else $HUBAO_MODELS and
 * $HUBAO_RULES, else ./models and MODELS/rules.  rules_buf holds the
 * derived rules path. */
const char *cli_models_dir(const char *opt);
const char *cli_rules_dir(const char *opt, const char *models_dir,
                          char *rules_buf, size_t cap);

/* Progress bar on stderr (only when stderr is a terminal), for
 * hb_progress_fn. */
void cli_progress(void *ctx, const char *stage, size_t done, size_t total);

/* Print "hubao: " and the message to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
