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
#include <sys/types.h>

enum { EXIT_INPUT = 1, EXIT_USAGE = 2, EXIT_SETUP = 3 };

int cmd_check(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_stream(int argc, char **argv);
int cmd_feeds(int argc, char **argv);
int cmd_web(int argc, char **argv);       /* web.c */
int cmd_kafka(int argc, char **argv);     /* kafka.c */
int cmd_feedback(int argc, char **argv);  /* feedback.c */
int cmd_normalize(int argc, char **argv); /* normalize.c */
int cmd_control(int argc, char **argv);   /* control.c */
int cmd_labels(int argc, char **argv);    /* labels.c */
int cmd_keygen(int argc, char **argv);    /* keygen.c */

/* Progress bar on stderr (only when stderr is a terminal), for
 * hb_progress_fn. */
void cli_progress(void *ctx, const char *stage, size_t done, size_t total);

/* Key files for a hubaod with CURVE on its client endpoint (docs/protocol.md,
 * "Authentication (CURVE)"): the broker's public key and this client's
 * key pair, both given or neither (NULL). */
typedef struct cli_keys {
    const char *server_key; /* --curve-server-key FILE */
    const char *secret_key; /* --curve-secret-key FILE */
} cli_keys;

/* The usage lines of the two options, for a command's --help. */
#define CLI_KEYS_USAGE                                                                   \
    "  --curve-server-key FILE  hubaod's public key, when its client endpoint\n"         \
    "                  has CURVE (--curve-clients); with --curve-secret-key\n"           \
    "  --curve-secret-key FILE  this client's key pair (hubao keygen), whose\n"          \
    "                  .pub hubaod lets in\n"

/* Both keys or neither: 0, or EXIT_USAGE after saying why. */
int cli_keys_check(const cli_keys *k);

/* Pipelined hubaod client (stream.c).  next fills one request per call
 * and returns 0 at the end of the input; a request marked local is not
 * sent: its data is already the reply (a message that could not even be
 * encoded).  reply receives every reply in request order.  At most window
 * requests are in flight.  keys (may be NULL) are the CURVE key files to
 * connect with.  Returns 0, or EXIT_SETUP (after saying why) when the
 * endpoint or a key file is unusable, the server refused the handshake
 * (a key it does not let in, CURVE on one side only), or no reply came
 * for timeout_ms. */
typedef struct cli_request {
    const char *data; /* request JSON (or the local reply); borrowed */
    size_t len;
    int local;
} cli_request;
typedef int cli_next_fn(void *ctx, cli_request *out);
typedef void cli_reply_fn(void *ctx, const char *reply, size_t len);
int cli_pipeline(const char *endpoint, const cli_keys *keys, int window, int timeout_ms,
                 cli_next_fn *next, cli_reply_fn *reply, void *ctx);

/* Make {"text": TEXT} into *buf (freed and replaced on each call; free it
 * at the end), or a local invalid_utf8 error reply when text is not
 * UTF-8.  Returns 0, or -1 when out of memory. */
int cli_text_request(const char *text, size_t len, cli_request *out, char **buf);

/* 1 if a hubaod reply is an error, or a batch holding one. */
int cli_reply_is_error(const char *reply, size_t len);

/* getline, without the line end ("\n" or "\r\n"): the length of *line, or
 * -1 at the end of in (or on a read error). */
ssize_t cli_read_line(char **line, size_t *cap, FILE *in);

/* Print "hubao: " and the message to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
