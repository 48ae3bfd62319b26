/*
 * webcheck.h - what answers `hubao web`'s checks: a running hubaod reached
 * over ZeroMQ, or (--local) an engine loaded in this process.  Either way
 * the request and reply are the ZeroMQ protocol's JSON (docs/protocol.md),
 * so the HTTP API and the service can never disagree.
 *
 * Not thread-safe: the web server calls it from its one event thread.
 */
#ifndef HB_CLI_WEBCHECK_H
#define HB_CLI_WEBCHECK_H

#include <stddef.h>

#include <jansson.h>

typedef struct web_backend web_backend;

/* Load models and rules (cli_models_dir / cli_rules_dir rules apply to
 * NULL arguments) and answer in process.  NULL with a message in err. */
web_backend *web_backend_local(const char *models, const char *rules, const char *feeds,
                               char *err, size_t cap);

/* Forward to hubaod at endpoint, waiting at most timeout_ms per request. */
web_backend *web_backend_remote(const char *endpoint, int timeout_ms);

void web_backend_free(web_backend *b);

/* Answer a request body already checked by hb_request_parse: returns the
 * reply JSON (malloc'd, *out_len bytes, caller frees), or NULL when the
 * service did not answer (down, or out of memory). */
char *web_backend_check(web_backend *b, const char *body, size_t len, size_t *out_len);

/* {"ready": true|false, "mode": "local"|"server", "models": {...}} (owned);
 * a remote backend pings hubaod and asks for its model versions. */
json_t *web_backend_health(web_backend *b);

#endif
