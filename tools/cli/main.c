/*
 * main.c - the `hubao` command: dispatch to subcommands, and the helpers
 * they share (cli.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli.h"

static const char USAGE[] =
    "usage: hubao COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  check   classify messages: hubao check \"TEXT\", or one message per line on stdin\n"
    "  train   train a model bundle from label<TAB>text files\n"
    "  eval    evaluate a model bundle on a label<TAB>text file\n"
    "  stream  pipe one message (or JSON request) per line through hubaod\n"
    "  feeds   update URL blocklist feeds, or list the copies: hubao feeds update|list\n"
    "  web     serve the hotline page and HTTP API (docs/web.md)\n"
    "  kafka   classify a Kafka topic as a consumer group member (docs/kafka.md)\n"
    "  feedback  export hotline feedback for training: hubao feedback export --since DATE\n"
    "  normalize  print text as the models read it (normalised, digits as 0)\n"
    "  control  ask hubaod's control endpoint: hubao control ping|stats|reload\n"
    "  labels  which data set labels are positive for a task: hubao labels --task T L...\n"
    "  keygen  make a CURVE key pair for hubaod, a worker or a client: PREFIX.key, .pub\n"
    "\n"
    "`hubao COMMAND --help` describes each command's options.\n"
    "\n"
    "Exit codes: 0 success; 1 some input rejected (the rest processed);\n"
    "2 usage error; 3 models, rules or data could not be loaded.\n";

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("hubao: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

ssize_t cli_read_line(char **line, size_t *cap, FILE *in)
{
    ssize_t len = getline(line, cap, in);
    if (len > 0 && (*line)[len - 1] == '\n')
        (*line)[--len] = '\0';
    if (len > 0 && (*line)[len - 1] == '\r')
        (*line)[--len] = '\0';
    return len;
}

void cli_progress(void *ctx, const char *stage, size_t done, size_t total)
{
    (void)ctx;
    if (!isatty(STDERR_FILENO) || total == 0)
        return;
    int width = 30, filled = (int)((double)done / (double)total * width);
    fprintf(stderr, "\r%-18s [%.*s%*s] %zu/%zu", stage, filled,
            "##############################", width - filled, "", done, total);
    if (done >= total)
        fputc('\n', stderr);
    fflush(stderr);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc;
    if (strcmp(argv[1], "check") == 0)
        rc = cmd_check(argc - 1, argv + 1);
    else if (strcmp(argv[1], "train") == 0)
        rc = cmd_train(argc - 1, argv + 1);
    else if (strcmp(argv[1], "eval") == 0)
        rc = cmd_eval(argc - 1, argv + 1);
    else if (strcmp(argv[1], "stream") == 0)
        rc = cmd_stream(argc - 1, argv + 1);
    else if (strcmp(argv[1], "feeds") == 0)
        rc = cmd_feeds(argc - 1, argv + 1);
    else if (strcmp(argv[1], "kafka") == 0)
        rc = cmd_kafka(argc - 1, argv + 1);
    else if (strcmp(argv[1], "web") == 0)
        rc = cmd_web(argc - 1, argv + 1);
    else if (strcmp(argv[1], "feedback") == 0)
        rc = cmd_feedback(argc - 1, argv + 1);
    else if (strcmp(argv[1], "normalize") == 0)
        rc = cmd_normalize(argc - 1, argv + 1);
    else if (strcmp(argv[1], "control") == 0)
        rc = cmd_control(argc - 1, argv + 1);
    else if (strcmp(argv[1], "labels") == 0)
        rc = cmd_labels(argc - 1, argv + 1);
    else if (strcmp(argv[1], "keygen") == 0)
        rc = cmd_keygen(argc - 1, argv + 1);
    else {
        cli_error("unknown command \"%s\"\n\n%s", argv[1], USAGE);
        rc = EXIT_USAGE;
    }
    curl_global_cleanup();
    return rc;
}
