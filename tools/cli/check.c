/*
 * check.c - `hubao check`: classify messages offline with the local models
 * and print a verdict a hotline worker can read out, or JSON.  With
 * --server the verdicts come from a running hubaod instead (the replies
 * are the same JSON, plus "models"), printed the same way.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "paths.h"
#include "request.h"
#include "verdict.h"

static const char USAGE[] =
    "usage: hubao check [OPTIONS] [TEXT...]\n"
    "\n"
    "Classify each TEXT, or each line of standard input when no TEXT is given,\n"
    "as fraud (with its type), spam (advertising) and rumour, and say why.\n"
    "\n"
    "  --json          one JSON object per message (the service's reply format)\n"
    "  --lang en|zh    language of the verdict sentence (default en)\n"
    "  --unmask        show phone and account numbers in clear\n"
    "  --models DIR    model bundles (default $HUBAO_MODELS or " HB_PATHS_MODELS ")\n"
    "  --rules DIR     rule files (default $HUBAO_RULES or MODELS/rules)\n"
    "  --feeds DIR     blocklist copies from `hubao feeds update` (default\n"
    "                  $HUBAO_FEEDS_DIR, else " HB_PATHS_FEEDS_STORE " if it exists)\n"
    "  --max-bytes N   reject messages longer than N bytes (default 65536)\n"
    "  --server ENDPOINT  ask the hubaod at ENDPOINT (e.g. tcp://127.0.0.1:7531)\n"
    "                  instead of loading models; its settings decide limits\n"
    "                  and masking\n"
    "  --timeout-ms N  with --server: give up after N ms without a reply\n"
    "                  (default 10000)\n" CLI_KEYS_USAGE "\n"
    "Exit codes: 0 all classified; 1 some message rejected; 2 usage; 3 models\n"
    "or rules could not be loaded (or the server did not answer).\n";

typedef struct check_opts {
    int json;
    int unmask;
    const char *lang;
} check_opts;

/* Print a verdict for a person, from its JSON (render.h), so a local
 * verdict and one from hubaod read exactly the same. */
static void print_human(const json_t *r, const check_opts *o)
{
    int zh = strcmp(o->lang, "zh") == 0;
    const char *verdict = json_string_value(json_object_get(r, "verdict"));
    const char *summary =
        json_string_value(json_object_get(json_object_get(r, "summary"), o->lang));
    printf("%s %s\n", verdict && strcmp(verdict, "clean") != 0 ? "!!" : "ok",
           summary ? summary : "?");
    json_t *tasks = json_object_get(r, "tasks"), *t;
    const char *name;
    json_object_foreach(tasks, name, t)
    {
        const char *type = json_string_value(json_object_get(t, "type"));
        const char *tier = json_string_value(json_object_get(t, "tier"));
        int possible = tier && strcmp(tier, "possible") == 0;
        printf("   %-7s %-11s %3d%%", name,
               possible ? (zh ? "可能" : "possible")
                        : json_string_value(json_object_get(t, "label")),
               (int)(json_real_value(json_object_get(t, "probability")) * 100 + 0.5));
        const char *type_by = json_string_value(json_object_get(t, "type_by"));
        if (type && (possible || json_is_true(json_object_get(t, "positive"))))
            printf("  type: %s%s", type,
                   type_by && strcmp(type_by, "model") == 0
                       ? (zh ? "（类型由模型判断）" : " (by the type model)")
                       : "");
        putchar('\n');
    }
    int said_why = 0;
    json_object_foreach(tasks, name, t)
    {
        json_t *rules = json_object_get(json_object_get(t, "evidence"), "rules"), *h;
        size_t i;
        json_array_foreach(rules, i, h)
        {
            if (!said_why++)
                printf("   %s\n", zh ? "依据:" : "Why:");
            printf("    - [%s] %s: \"%s\"\n", name,
                   json_string_value(json_object_get(h, "description")),
                   json_string_value(json_object_get(h, "match")));
        }
    }
    json_object_foreach(tasks, name, t)
    {
        if (!json_is_true(json_object_get(t, "possible")))
            continue;
        json_t *ev = json_object_get(t, "evidence"), *f;
        size_t i, shown = 0;
        json_array_foreach(json_object_get(ev, "features"), i, f)
        {
            const char *feat = json_string_value(json_object_get(f, "feature"));
            /* rules and entities are listed on their own */
            const char *kind = json_string_value(json_object_get(f, "kind"));
            if (!feat || !kind || strcmp(kind, "ngram") != 0)
                continue;
            if (!shown++)
                printf("    - [%s] %s", name, zh ? "关键词:" : "strongest words:");
            printf(" \"%s\"", feat);
        }
        if (shown)
            putchar('\n');
    }
    json_t *brands = json_object_get(r, "brands"), *b;
    size_t bi;
    json_array_foreach(brands, bi, b)
    {
        json_t *reason = json_object_get(b, "reason");
        printf("   %s %s\n", zh ? "品牌:" : "Brand:",
               json_string_value(json_object_get(reason, o->lang)));
    }
    json_t *ents = json_object_get(r, "entities"), *x;
    size_t i;
    json_array_foreach(ents, i, x)
    {
        printf("%s %s %s",
               i    ? ";"
               : zh ? "   提取:"
                    : "   Found:",
               json_string_value(json_object_get(x, "kind")),
               json_string_value(json_object_get(x, "text")));
    }
    if (json_array_size(ents))
        putchar('\n');
    json_t *u;
    json_array_foreach(json_object_get(r, "urls"), i, u)
    {
        const char *feed = json_string_value(json_object_get(u, "feed"));
        json_t *p = json_object_get(u, "probability");
        printf("   %s %s",
               zh ? "链接:" : "Link:", json_string_value(json_object_get(u, "url")));
        if (feed)
            printf(zh ? "  列入黑名单 %s" : "  blocklisted by %s", feed);
        else if (json_is_number(p))
            printf(zh ? "  链接模型 %d%%%s" : "  link model %d%%%s",
                   (int)(json_number_value(p) * 100 + 0.5),
                   json_is_true(json_object_get(u, "malicious"))
                       ? (zh ? "（可疑）" : " (suspicious)")
                       : "");
        putchar('\n');
    }
    const char *advice =
        json_string_value(json_object_get(json_object_get(r, "advice"), o->lang));
    if (advice)
        printf("   %s %s\n", zh ? "建议:" : "Advice:", advice);
}

typedef struct server_ctx {
    const check_opts *o;
    int argc, next_arg;
    char **argv;
    int from_stdin, tty;
    char *line, *buf;
    size_t cap;
    long lineno;
    long done; /* replies printed */
    int rejected;
    int failed;
} server_ctx;

static int server_next(void *vctx, cli_request *out)
{
    server_ctx *c = vctx;
    const char *text;
    size_t len;
    if (!c->from_stdin) {
        if (c->next_arg >= c->argc)
            return 0;
        text = c->argv[c->next_arg++];
        len = strlen(text);
    } else {
        ssize_t n;
        do {
            if ((n = cli_read_line(&c->line, &c->cap, stdin)) < 0)
                return 0;
            c->lineno++;
        } while (c->tty && n == 0);
        text = c->line;
        len = (size_t)n;
    }
    if (cli_text_request(text, len, out, &c->buf) != 0) {
        c->failed = 1;
        return 0;
    }
    return 1;
}

static void server_reply(void *vctx, const char *reply, size_t len)
{
    server_ctx *c = vctx;
    c->done++;
    if (c->o->json) {
        fwrite(reply, 1, len, stdout);
        putchar('\n');
        c->rejected |= cli_reply_is_error(reply, len);
    } else {
        json_t *j = json_loadb(reply, len, 0, NULL);
        json_t *e = json_object_get(j, "error");
        if (!j || e) {
            cli_error("%s %ld: %s", c->from_stdin ? "line" : "argument", c->done,
                      e ? json_string_value(json_object_get(e, "message"))
                        : "the server sent a reply that is not JSON");
            c->rejected = 1;
        } else {
            print_human(j, c->o);
        }
        json_decref(j);
    }
    fflush(stdout);
}

/* `hubao check --server`: the same input and output, verdicts from hubaod.
 * One request at a time when reading a terminal, else pipelined. */
static int check_server(const char *server, const cli_keys *keys, long timeout_ms,
                        int argc, char **argv, const check_opts *o)
{
    server_ctx c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.argc = argc;
    c.argv = argv;
    c.next_arg = optind;
    c.from_stdin = optind >= argc;
    c.tty = c.from_stdin && isatty(STDIN_FILENO);
    if (c.tty && !o->json)
        fprintf(stderr, "Paste a message and press Enter (Ctrl-D to quit).\n");
    int rc = cli_pipeline(server, keys, c.tty ? 1 : 64, (int)timeout_ms, server_next,
                          server_reply, &c);
    free(c.line);
    free(c.buf);
    if (rc == 0 && c.failed) {
        cli_error("out of memory");
        rc = EXIT_SETUP;
    }
    return rc ? rc : c.rejected ? EXIT_INPUT : 0;
}

/* Classify one message and print it; returns 0 or 1 (rejected). */
static int check_one(const hb_engine *e, hb_session *s, const char *text, size_t len,
                     const check_opts *o, const char *where)
{
    const hb_verdict *v;
    hb_error err;
    if (hb_classify(e, s, text, len, &v, &err) != 0) {
        if (o->json) {
            json_t *j = hb_error_reply(NULL, err.code, err.message);
            char *out = json_dumps(j, HB_JSON_FLAGS);
            puts(out ? out : "{}");
            free(out);
            json_decref(j);
        } else {
            cli_error("%s: %s", where, err.message);
        }
        return 1;
    }
    hb_render_options ro = hb_render_defaults();
    ro.unmask = o->unmask;
    json_t *j = hb_verdict_to_json(e, s, v, &ro);
    if (o->json) {
        char *out = json_dumps(j, HB_JSON_FLAGS);
        if (!out) { /* out of memory, or a verdict that is not valid JSON */
            json_decref(j);
            puts("{\"error\":{\"code\":\"internal\",\"message\":\"the verdict could "
                 "not be serialised\"}}");
            cli_error("%s: the verdict could not be serialised", where);
            return 1;
        }
        puts(out);
        free(out);
    } else {
        print_human(j, o);
    }
    json_decref(j);
    fflush(stdout);
    return 0;
}

int cmd_check(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"lang", required_argument, NULL, 'l'},
        {"unmask", no_argument, NULL, 'u'},
        {"models", required_argument, NULL, 'm'},
        {"rules", required_argument, NULL, 'r'},
        {"feeds", required_argument, NULL, 'f'},
        {"max-bytes", required_argument, NULL, 'b'},
        {"server", required_argument, NULL, 's'},
        {"timeout-ms", required_argument, NULL, 't'},
        {"curve-server-key", required_argument, NULL, 'K'},
        {"curve-secret-key", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    check_opts o = {.json = 0, .unmask = 0, .lang = "en"};
    const char *models = NULL, *rules = NULL, *feeds = NULL;
    long max_bytes = HB_DEFAULT_MAX_TEXT;
    const char *server = NULL;
    cli_keys keys = {NULL, NULL};
    long timeout_ms = 10000;
    int local_only = 0; /* an option that only makes sense offline */
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': o.json = 1; break;
        case 'l': o.lang = optarg; break;
        case 'u':
            o.unmask = 1;
            local_only = 1;
            break;
        case 'm':
            models = optarg;
            local_only = 1;
            break;
        case 'r':
            rules = optarg;
            local_only = 1;
            break;
        case 'f':
            feeds = optarg;
            local_only = 1;
            break;
        case 'b':
            max_bytes = strtol(optarg, NULL, 10);
            local_only = 1;
            break;
        case 's': server = optarg; break;
        case 't': timeout_ms = strtol(optarg, NULL, 10); break;
        case 'K': keys.server_key = optarg; break;
        case 'S': keys.secret_key = optarg; break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: fputs(USAGE, stderr); return EXIT_USAGE;
        }
    }
    if (strcmp(o.lang, "en") != 0 && strcmp(o.lang, "zh") != 0) {
        cli_error("--lang must be en or zh");
        return EXIT_USAGE;
    }
    if (max_bytes <= 0) {
        cli_error("--max-bytes must be a positive number");
        return EXIT_USAGE;
    }
    if (cli_keys_check(&keys) != 0)
        return EXIT_USAGE;
    if (keys.server_key && !server) {
        cli_error("--curve-server-key and --curve-secret-key are for --server");
        return EXIT_USAGE;
    }
    if (server) {
        if (local_only) {
            cli_error("--unmask, --models, --rules and --max-bytes are for local "
                      "checks; with --server, hubaod's settings apply");
            return EXIT_USAGE;
        }
        if (timeout_ms < 1 || timeout_ms > 3600000) {
            cli_error("--timeout-ms must be 1..3600000");
            return EXIT_USAGE;
        }
        return check_server(server, &keys, timeout_ms, argc, argv, &o);
    }
    char rules_buf[4096];
    const char *models_dir = hb_paths_models(models);
    const char *rules_dir =
        hb_paths_rules(rules, models_dir, rules_buf, sizeof rules_buf);
    hb_error err;
    feeds = hb_paths_feeds(feeds);
    hb_engine_paths paths = {rules_dir, models_dir, feeds};
    hb_engine *e = hb_engine_open_paths(&paths, &err);
    if (!e) {
        cli_error("cannot load models: %s", err.message);
        return EXIT_SETUP;
    }
    hb_engine_set_max_text(e, (size_t)max_bytes);
    hb_session *s = hb_session_new();
    if (!s) {
        hb_engine_free(e);
        cli_error("out of memory");
        return EXIT_SETUP;
    }
    int rejected = 0;
    if (optind < argc) {
        for (int i = optind; i < argc; i++) {
            char where[32];
            snprintf(where, sizeof where, "argument %d", i - optind + 1);
            rejected |= check_one(e, s, argv[i], strlen(argv[i]), &o, where);
        }
    } else {
        int tty = isatty(STDIN_FILENO);
        if (tty && !o.json)
            fprintf(stderr, "Paste a message and press Enter (Ctrl-D to quit).\n");
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        long lineno = 0;
        while ((len = cli_read_line(&line, &cap, stdin)) >= 0) {
            lineno++;
            if (tty && len == 0)
                continue;
            char where[32];
            snprintf(where, sizeof where, "line %ld", lineno);
            rejected |= check_one(e, s, line, (size_t)len, &o, where);
        }
        free(line);
    }
    hb_session_free(s);
    hb_engine_free(e);
    return rejected ? EXIT_INPUT : 0;
}
