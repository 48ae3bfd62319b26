/*
 * labels.c - `hubao labels`: which data set labels count as positive for a
 * task, as `hubao train` and `hubao eval` map them.
 *
 * The research tools (tools/research/) train and score the scikit-learn
 * baseline on the same files as Hubao; asking this command for the
 * mapping, instead of keeping a copy of dataset.c's table in Python, is
 * what keeps the two sides comparing the same question.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "dataset.h"

static const char USAGE[] =
    "usage: hubao labels --task TASK [--positive LABEL,...] LABEL...\n"
    "\n"
    "Print LABEL<TAB>positive, negative or unknown for every LABEL, as\n"
    "`hubao train --task TASK` maps data set labels (docs/training.md): the\n"
    "task's default mapping, or with --positive the given labels (\"prefix*\"\n"
    "matches by prefix) and every other label negative.  Training refuses a\n"
    "file with an unknown label; give --positive to say what it is.\n";

int cmd_labels(int argc, char **argv)
{
    static const struct option opts[] = {
        {"task", required_argument, NULL, 't'},
        {"positive", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *task = NULL, *positive = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': task = optarg; break;
        case 'p': positive = optarg; break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: fputs(USAGE, stderr); return EXIT_USAGE;
        }
    }
    if (!task || optind >= argc) {
        cli_error("labels: give --task and at least one label\n\n%s", USAGE);
        return EXIT_USAGE;
    }
    hb_label_map map;
    hb_error err;
    /* a task without a default mapping is fine when --positive gives one,
     * as for training */
    if ((hb_label_map_default(task, &map, &err) != 0 && !positive) ||
        (positive && hb_label_map_set_positive(&map, positive, &err) != 0)) {
        cli_error("labels: %s", err.message);
        return EXIT_USAGE;
    }
    for (int i = optind; i < argc; i++) {
        int cls = hb_label_map_classify(&map, argv[i]);
        printf("%s\t%s\n", argv[i],
               cls > 0    ? "positive"
               : cls == 0 ? "negative"
                          : "unknown");
    }
    return 0;
}
