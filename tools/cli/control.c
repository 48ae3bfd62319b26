/*
 * control.c - `hubao control ping|stats|reload`: send one control command
 * to hubaod's control endpoint and print the reply.
 *
 * The endpoint is found as hubaod finds it (endpoint.h), so on the host
 * and as the user hubaod runs as, no option is needed.  A unix socket
 * that is not there, or that this user may not open, is reported at once
 * instead of after the timeout: ZeroMQ would otherwise keep trying to
 * connect in silence.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "endpoint.h"

static const char USAGE[] =
    "usage: hubao control ping|stats|reload [--control ENDPOINT] [--timeout-ms N]\n"
    "\n"
    "Send a control command to hubaod's control endpoint and print its JSON\n"
    "reply (docs/protocol.md, \"Control commands\"):\n"
    "  ping    is hubaod up: its workers and the model versions they serve\n"
    "  stats   requests, errors, latency, queue, workers, clients\n"
    "  reload  load the models, rules and feeds again in every worker; the\n"
    "          reply says what each worker did (SIGHUP does the same)\n"
    "\n"
    "  --control ENDPOINT  hubaod's control endpoint (default, as hubaod's:\n"
    "                      ipc://$XDG_RUNTIME_DIR/hubaod/control, else\n"
    "                      ipc:///tmp/hubaod-UID/control); run as the user\n"
    "                      hubaod runs as\n"
    "  --timeout-ms N      give up after N ms without a reply (default 10000;\n"
    "                      60000 for reload, which waits for every worker)\n"
    "\n"
    "Exit codes: 0 done; 1 hubaod refused the command, or a reload failed;\n"
    "2 usage error; 3 no reply (no hubaod there, or not allowed to connect).\n";

typedef struct control_ctx {
    const char *request;
    int sent;
    int failed; /* an error reply, or a reload not every worker took */
} control_ctx;

static int control_next(void *vctx, cli_request *out)
{
    control_ctx *c = vctx;
    if (c->sent)
        return 0;
    c->sent = 1;
    *out = (cli_request){.data = c->request, .len = strlen(c->request), .local = 0};
    return 1;
}

/* Print the reply indented for a person (as it came when it is not JSON). */
static void control_reply(void *vctx, const char *reply, size_t len)
{
    control_ctx *c = vctx;
    json_t *j = json_loadb(reply, len, 0, NULL);
    json_t *reload = json_object_get(j, "reload");
    c->failed = !json_is_object(j) || json_object_get(j, "error") ||
                (reload && !json_is_true(json_object_get(reload, "ok")));
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) : NULL;
    if (text)
        puts(text);
    else
        printf("%.*s\n", (int)len, reply);
    free(text);
    json_decref(j);
}

/* Say why an ipc:// endpoint cannot be used, before waiting on it.
 * Returns 0 when it may be, else EXIT_SETUP. */
static int check_ipc(const char *endpoint)
{
    const char *path = hb_endpoint_ipc_path(endpoint);
    if (!path || access(path, W_OK) == 0)
        return 0;
    if (errno == ENOENT)
        cli_error("no control socket at %s: is hubaod running, as this user? (else give "
                  "--control ENDPOINT)",
                  path);
    else
        cli_error("cannot use the control socket %s: %s (run as the user hubaod runs as)",
                  path, strerror(errno));
    return EXIT_SETUP;
}

int cmd_control(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"control", required_argument, NULL, 'c'},
        {"timeout-ms", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *endpoint = NULL;
    long timeout_ms = 0;
    int c, timeout_given = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': endpoint = optarg; break;
        case 't':
            timeout_ms = strtol(optarg, NULL, 10);
            timeout_given = 1;
            break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: fputs(USAGE, stderr); return EXIT_USAGE;
        }
    }
    static const char *const COMMANDS[] = {"ping", "stats", "reload"};
    const char *command = optind == argc - 1 ? argv[optind] : NULL;
    int known = 0;
    for (size_t i = 0; command && i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        known |= strcmp(command, COMMANDS[i]) == 0;
    if (!known) {
        cli_error("control needs one command: ping, stats or reload");
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }
    if (!timeout_given)
        timeout_ms = strcmp(command, "reload") == 0 ? 60000 : 10000;
    if (timeout_ms < 1 || timeout_ms > 3600000) {
        cli_error("--timeout-ms must be 1..3600000");
        return EXIT_USAGE;
    }
    char dir[4096], fallback[4200];
    hb_error err;
    if (!endpoint) {
        if (hb_endpoint_control_default(getenv("XDG_RUNTIME_DIR"),
                                        (unsigned long)geteuid(), dir, sizeof dir,
                                        fallback, sizeof fallback, &err) != 0) {
            cli_error("%s", err.message);
            return EXIT_USAGE;
        }
        endpoint = fallback;
    }
    if (check_ipc(endpoint) != 0)
        return EXIT_SETUP;
    char request[64];
    snprintf(request, sizeof request, "{\"control\":\"%s\"}", command);
    control_ctx ctx = {request, 0, 0};
    int rc = cli_pipeline(endpoint, NULL, 1, (int)timeout_ms, control_next, control_reply,
                          &ctx);
    return rc ? rc : ctx.failed ? EXIT_INPUT : 0;
}
