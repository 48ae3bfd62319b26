/*
 * normalize.c - `hubao normalize`: print text as Hubao's models read it.
 *
 * Researchers comparing Hubao with another classifier need to know how
 * much of a difference comes from the text each one sees (Hubao folds
 * full-width forms, disguised spellings and digits) and how much from the
 * model: feeding this output to the other classifier answers that
 * (tools/research/report.py does, for the scikit-learn peer).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "featurize.h"
#include "normalize.h"

static const char USAGE[] =
    "usage: hubao normalize [--keep-digits] [FILE...]\n"
    "\n"
    "Print every line of the files (or of stdin) as the n-gram features read\n"
    "it: normalised (full-width forms, case, disguised spellings such as V信\n"
    "and hxxp folded, spaces inside Chinese words dropped) and, unless\n"
    "--keep-digits, with digits and digit masks such as xxx read as 0.  A line\n"
    "label<TAB>text keeps its label, so a training or test file comes out in\n"
    "the same format, one line per line.  A line that is not UTF-8 is reported\n"
    "on stderr with its line number and printed with an empty text.\n"
    "\n"
    "  --keep-digits   leave digits as they are (models trained with\n"
    "                  `hubao train --keep-digits` read them so)\n";

typedef struct normalizer {
    hb_feature_config cfg;
    hb_text text;
    hb_fvec view;
    char *out;
    size_t out_cap;
} normalizer;

/* Print text's view to stdout after prefix (the label and its TAB, or
 * nothing).  Returns 0, EXIT_INPUT when text is not UTF-8, EXIT_SETUP
 * when normalisation cannot run at all (both reported as name:lineno), or
 * -1 when out of memory. */
static int print_line(normalizer *n, const char *prefix, size_t prefix_len,
                      const char *text, size_t len, const char *name, long lineno)
{
    hb_error err;
    int rc = hb_normalize(text, len, &n->text, &err);
    fwrite(prefix, 1, prefix_len, stdout);
    if (rc != 0) {
        putchar('\n');
        cli_error("%s:%ld: %s", name, lineno, err.message);
        return rc == HB_EUTF8 ? EXIT_INPUT : rc == HB_ENOMEM ? -1 : EXIT_SETUP;
    }
    const uint32_t *view = hb_features_view(&n->cfg, &n->text, &n->view);
    if (!view)
        return -1;
    if (n->out_cap < n->text.len + 1) {
        char *p = realloc(n->out, n->text.len + 1);
        if (!p)
            return -1;
        n->out = p;
        n->out_cap = n->text.len + 1;
    }
    /* the view differs from the text only in ASCII characters, so it is
     * the text's UTF-8 with those bytes replaced */
    memcpy(n->out, n->text.utf8, n->text.len);
    for (size_t i = 0; i < n->text.ncps; i++)
        if (view[i] != n->text.cps[i])
            n->out[n->text.cp_byte[i]] = (char)view[i];
    fwrite(n->out, 1, n->text.len, stdout);
    putchar('\n');
    return 0;
}

static int normalize_stream(normalizer *n, FILE *in, const char *name)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int status = 0;
    while ((len = cli_read_line(&line, &cap, in)) >= 0) {
        lineno++;
        const char *tab = memchr(line, '\t', (size_t)len);
        size_t prefix = tab ? (size_t)(tab - line) + 1 : 0;
        int rc = print_line(n, line, prefix, line + prefix, (size_t)len - prefix, name,
                            lineno);
        if (rc < 0 || rc == EXIT_SETUP) {
            if (rc < 0)
                cli_error("out of memory");
            status = EXIT_SETUP;
            break;
        }
        if (rc != 0)
            status = EXIT_INPUT;
    }
    free(line);
    return status;
}

int cmd_normalize(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"keep-digits", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    normalizer n = {.cfg = hb_feature_config_default()};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'k': n.cfg.map_digits = 0; break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: fputs(USAGE, stderr); return EXIT_USAGE;
        }
    }
    hb_text_init(&n.text);
    hb_fvec_init(&n.view);
    int status = 0;
    if (optind == argc) {
        status = normalize_stream(&n, stdin, "stdin");
    } else {
        for (int i = optind; i < argc && status != EXIT_SETUP; i++) {
            FILE *in = fopen(argv[i], "r");
            if (!in) {
                cli_error("cannot open %s", argv[i]);
                status = EXIT_SETUP;
                break;
            }
            int rc = normalize_stream(&n, in, argv[i]);
            fclose(in);
            if (rc > status)
                status = rc;
        }
    }
    hb_text_release(&n.text);
    hb_fvec_release(&n.view);
    free(n.out);
    if (fflush(stdout) != 0 && status == 0)
        status = EXIT_SETUP;
    return status;
}
