/*
 * check.c - `hubao check`: classify messages offline with the local models
 * and print a verdict a hotline worker can read out, or JSON.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "protocol.h"
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
    "  --models DIR    model bundles (default $HUBAO_MODELS or ./models)\n"
    "  --rules DIR     rule files (default $HUBAO_RULES or MODELS/rules)\n"
    "  --max-bytes N   reject messages longer than N bytes (default 65536)\n"
    "\n"
    "Exit codes: 0 all classified; 1 some message rejected; 2 usage; 3 models\n"
    "or rules could not be loaded.\n";

typedef struct check_opts {
    int json;
    int unmask;
    const char *lang;
} check_opts;

static void print_human(const hb_engine *e, const hb_session *s,
                        const hb_verdict *v, const check_opts *o)
{
    int zh = strcmp(o->lang, "zh") == 0;
    char line[512];
    hb_verdict_summary(e, v, o->lang, line, sizeof line);
    const hb_task_result *head = hb_verdict_headline(v);
    printf("%s %s\n", head ? "!!" : "ok", line);

    for (size_t i = 0; i < v->ntasks; i++) {
        const hb_task_result *r = &v->tasks[i];
        printf("   %-7s %-11s %3d%%", r->task, r->label,
               (int)(r->probability * 100 + 0.5));
        if (r->type && r->positive)
            printf("  type: %s", r->type);
        putchar('\n');
    }
    int said_why = 0;
    for (size_t i = 0; i < v->nhits; i++) {
        const hb_rule_hit *h = &v->hits[i];
        const hb_rule_info *info = hb_rules_info(hb_engine_rules(e), h->rule);
        char match[256];
        if (o->unmask)
            snprintf(match, sizeof match, "%.*s", (int)(h->end - h->start),
                     v->text->utf8 + h->start);
        else
            hb_masked_excerpt(v, h->start, h->end, match, sizeof match);
        if (!said_why++)
            printf("   %s\n", zh ? "依据:" : "Why:");
        printf("    - [%s] %s: \"%s\"\n", info->task, info->description, match);
    }
    for (size_t i = 0; i < v->ntasks; i++) {
        if (!v->tasks[i].positive)
            continue;
        hb_contribution top[5];
        size_t n = hb_explain(s, i, 1, top, 5);
        size_t shown = 0;
        for (size_t k = 0; k < n; k++) {
            if (top[k].name)
                continue; /* rules and entities are listed on their own */
            const hb_text *t = v->text;
            uint32_t a = t->cp_byte[top[k].start];
            uint32_t b = t->cp_byte[top[k].start + top[k].len];
            char gram[64];
            snprintf(gram, sizeof gram, "%.*s", (int)(b - a), t->utf8 + a);
            for (char *c = gram; *c; c++)
                if (*c >= '0' && *c <= '9')
                    *c = '0';
            if (!shown++)
                printf("    - [%s] %s", v->tasks[i].task,
                       zh ? "关键词:" : "strongest words:");
            printf(" \"%s\"", gram);
        }
        if (shown)
            putchar('\n');
    }
    if (v->nentities) {
        printf("   %s", zh ? "提取:" : "Found:");
        for (size_t i = 0; i < v->nentities; i++) {
            const hb_entity *x = &v->entities[i];
            char text[256];
            if (o->unmask)
                snprintf(text, sizeof text, "%.*s", (int)(x->end - x->start),
                         v->text->utf8 + x->start);
            else
                hb_entity_mask(x->kind, v->text->utf8 + x->start,
                               x->end - x->start, text, sizeof text);
            printf("%s %s %s", i ? ";" : "", hb_entity_kind_name(x->kind), text);
        }
        putchar('\n');
    }
    if (head && strcmp(head->task, "fraud") == 0) {
        const hb_type_info *t = hb_catalog_find(hb_engine_catalog(e), head->type);
        if (t)
            printf("   %s %s\n", zh ? "建议:" : "Advice:",
                   zh ? t->advice_zh : t->advice_en);
    }
}

/* Classify one message and print it; returns 0 or 1 (rejected). */
static int check_one(const hb_engine *e, hb_session *s, const char *text,
                     size_t len, const check_opts *o, const char *where)
{
    const hb_verdict *v;
    hb_error err;
    if (hb_classify(e, s, text, len, &v, &err) != 0) {
        if (o->json) {
            json_t *j = hb_error_to_json(NULL, err.code, err.message);
            char *out = json_dumps(j, JSON_COMPACT);
            puts(out ? out : "{}");
            free(out);
            json_decref(j);
        } else {
            cli_error("%s: %s", where, err.message);
        }
        return 1;
    }
    if (o->json) {
        hb_render_options ro = hb_render_defaults();
        ro.unmask = o->unmask;
        json_t *j = hb_verdict_to_json(e, s, v, &ro);
        char *out = json_dumps(j, JSON_COMPACT);
        puts(out ? out : "{}");
        free(out);
        json_decref(j);
    } else {
        print_human(e, s, v, o);
    }
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
        {"max-bytes", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    check_opts o = {.json = 0, .unmask = 0, .lang = "en"};
    const char *models = NULL, *rules = NULL;
    long max_bytes = HB_DEFAULT_MAX_TEXT;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': o.json = 1; break;
        case 'l': o.lang = optarg; break;
        case 'u': o.unmask = 1; break;
        case 'm': models = optarg; break;
        case 'r': rules = optarg; break;
        case 'b': max_bytes = strtol(optarg, NULL, 10); break;
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
    char rules_buf[4096];
    const char *models_dir = cli_models_dir(models);
    const char *rules_dir = cli_rules_dir(rules, models_dir, rules_buf, sizeof rules_buf);
    hb_error err;
    hb_engine *e = hb_engine_open(rules_dir, models_dir, &err);
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
        while ((len = getline(&line, &cap, stdin)) >= 0) {
            lineno++;
            if (len > 0 && line[len - 1] == '\n')
                line[--len] = '\0';
            if (len > 0 && line[len - 1] == '\r')
                line[--len] = '\0';
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
