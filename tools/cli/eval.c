/*
 * eval.c - `hubao eval`: measure a model bundle on labelled data, scoring
 * every row through the same verdict path as `hubao check` (rules included),
 * so the figures are what users get.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "dataset.h"
#include "metrics.h"
#include "paths.h"
#include "render.h"
#include "urls.h"
#include "verdict.h"

static const char USAGE[] =
    "usage: hubao eval --model DIR [OPTIONS] FILE.tsv\n"
    "\n"
    "Score every label<TAB>text row of FILE.tsv with the bundle in DIR and print\n"
    "accuracy, precision, recall, F1, MCC, ROC-AUC, the confusion matrix,\n"
    "calibration error, throughput, the share called positive per original\n"
    "label, and for fraud_* labels how often the fraud type was right.\n"
    "\n"
    "  --positive L,...   labels that are positive (default: the task's mapping)\n"
    "  --json             print one JSON object\n"
    "  --plot FILE.png    draw precision-recall and ROC curves (gnuplot)\n"
    "  --predictions F    write one line per row to F: line<TAB>truth<TAB>\n"
    "                     probability<TAB>called (truth and called 1 or 0), for\n"
    "                     paired comparisons (make eval's confidence intervals)\n"
    "  --rules DIR        rule files (default $HUBAO_RULES, else\n"
    "                     $HUBAO_MODELS/rules, else " HB_PATHS_MODELS "/rules)\n"
    "  --unseen-domains TRAIN.tsv\n"
    "                     URL models: keep only rows whose registrable domain\n"
    "                     does not occur in TRAIN.tsv (the host-grouped estimate)\n";

typedef struct label_stat {
    const char *label;
    size_t n, called_positive, type_right;
} label_stat;

typedef struct point {
    double p;
    int y;
} point;

static int by_score_desc(const void *a, const void *b)
{
    double x = ((const point *)a)->p, z = ((const point *)b)->p;
    return (x < z) - (x > z);
}

/* Precision-recall and ROC points by sweeping the scores high to low. */
static int write_curves(const double *p, const int *y, size_t n, const char *roc_path,
                        const char *pr_path)
{
    point *pts = malloc((n ? n : 1) * sizeof *pts);
    if (!pts)
        return -1;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        pts[i] = (point){p[i], y[i]};
        pos += (size_t)y[i];
    }
    qsort(pts, n, sizeof *pts, by_score_desc);
    FILE *roc = fopen(roc_path, "w"), *pr = fopen(pr_path, "w");
    if (!roc || !pr) {
        if (roc)
            fclose(roc);
        if (pr)
            fclose(pr);
        free(pts);
        return -1;
    }
    size_t tp = 0, fp = 0;
    fprintf(roc, "0 0\n");
    for (size_t i = 0; i < n; i++) {
        if (pts[i].y)
            tp++;
        else
            fp++;
        if (i + 1 < n && pts[i + 1].p == pts[i].p)
            continue;
        fprintf(roc, "%g %g\n", n - pos ? (double)fp / (double)(n - pos) : 0,
                pos ? (double)tp / (double)pos : 0);
        fprintf(pr, "%g %g\n", pos ? (double)tp / (double)pos : 0,
                (double)tp / (double)(tp + fp));
    }
    fclose(roc);
    fclose(pr);
    free(pts);
    return 0;
}

static int plot(const double *p, const int *y, size_t n, const char *png,
                const char *title)
{
    char roc[] = "/tmp/hubao-roc-XXXXXX", pr[] = "/tmp/hubao-pr-XXXXXX";
    int fr = mkstemp(roc), fq = mkstemp(pr);
    if (fr < 0 || fq < 0)
        return -1;
    close(fr);
    close(fq);
    int rc = write_curves(p, y, n, roc, pr);
    if (rc == 0) {
        FILE *g = popen("gnuplot", "w");
        if (!g) {
            rc = -1;
        } else {
            fprintf(
                g,
                "set terminal pngcairo size 1100,500 noenhanced\n"
                "set output '%s'\n"
                "set multiplot layout 1,2 title '%s'\n"
                "set grid\nset xrange [0:1]\nset yrange [0:1.02]\n"
                "set title 'Precision-recall'\nset xlabel 'recall'\nset ylabel 'precision'\n"
                "plot '%s' using 1:2 with lines lw 2 notitle\n"
                "set title 'ROC'\nset xlabel 'false positive rate'\nset ylabel 'true positive rate'\n"
                "plot '%s' using 1:2 with lines lw 2 notitle, x with lines dt 2 notitle\n"
                "unset multiplot\n",
                png, title, pr, roc);
            rc = pclose(g) == 0 ? 0 : -1;
        }
    }
    unlink(roc);
    unlink(pr);
    return rc;
}

/* One line per scored row, in file order, for paired comparisons. */
static int write_predictions(const char *path, const hb_dataset *ds, const int *y,
                             const double *p, const int *pred)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("line\ttruth\tprobability\tcalled\n", f);
    for (size_t i = 0; i < ds->n; i++)
        fprintf(f, "%d\t%d\t%.6f\t%d\n", ds->rows[i].line, y[i], p[i], pred[i]);
    int failed = ferror(f);
    return fclose(f) == 0 && !failed ? 0 : -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Keep only the rows of ds whose link's registrable domain is absent from
 * the training file: with a random split nearly every test host also occurs
 * in training, which flatters a URL model. */
static int drop_seen_domains(hb_dataset *ds, const char *train_path, hb_error *err)
{
    hb_dataset train;
    hb_dataset_init(&train);
    int rc = hb_dataset_load(&train, train_path, err);
    if (rc != 0) {
        hb_dataset_release(&train);
        return rc;
    }
    char **domains = malloc((train.n ? train.n : 1) * sizeof *domains);
    if (!domains) {
        rc = hb_error_set(err, HB_ENOMEM, "out of memory");
        hb_dataset_release(&train);
        return rc;
    }
    size_t nd = 0;
    hb_url u;
    for (size_t i = 0; rc == 0 && i < train.n; i++) {
        if (hb_url_parse(train.rows[i].text, train.rows[i].text_len, &u, NULL) != 0)
            continue;
        if (!(domains[nd] = strdup(u.domain)))
            rc = hb_error_set(err, HB_ENOMEM, "out of memory");
        else
            nd++;
    }
    if (rc == 0) {
        qsort(domains, nd, sizeof *domains, cmp_str);
        size_t kept = 0;
        for (size_t i = 0; i < ds->n; i++) {
            const char *key = u.domain;
            if (hb_url_parse(ds->rows[i].text, ds->rows[i].text_len, &u, NULL) == 0 &&
                bsearch(&key, domains, nd, sizeof *domains, cmp_str))
                continue;
            ds->rows[kept++] = ds->rows[i];
        }
        ds->n = kept;
    }
    for (size_t i = 0; i < nd; i++)
        free(domains[i]);
    free(domains);
    hb_dataset_release(&train);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"positive", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"plot", required_argument, NULL, 'P'},
        {"predictions", required_argument, NULL, 'o'},
        {"rules", required_argument, NULL, 'r'},
        {"unseen-domains", required_argument, NULL, 'U'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *model_dir = NULL, *positive = NULL, *png = NULL, *rules = NULL;
    const char *unseen = NULL, *predictions = NULL;
    int as_json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model_dir = optarg; break;
        case 'p': positive = optarg; break;
        case 'j': as_json = 1; break;
        case 'P': png = optarg; break;
        case 'o': predictions = optarg; break;
        case 'r': rules = optarg; break;
        case 'U': unseen = optarg; break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: fputs(USAGE, stderr); return EXIT_USAGE;
        }
    }
    if (!model_dir || optind != argc - 1) {
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }
    const char *file = argv[optind];
    hb_error err;
    char rules_buf[4096];
    hb_engine *e = hb_engine_open(
        hb_paths_rules(rules, NULL, rules_buf, sizeof rules_buf), model_dir, &err);
    if (!e) {
        cli_error("cannot load %s: %s", model_dir, err.message);
        return EXIT_SETUP;
    }
    int url_mode = hb_engine_ntasks(e) == 0;
    const hb_model *model = url_mode ? hb_engine_url_model(e) : hb_engine_model(e, 0);
    const char *task = hb_model_task(model);
    hb_label_map map;
    int rc = EXIT_SETUP;
    hb_dataset ds;
    hb_dataset_init(&ds);
    double *p = NULL;
    int *y = NULL, *pred = NULL;
    label_stat stats[64];
    size_t nstats = 0;
    hb_session *s = hb_session_new();
    if (hb_label_map_default(task, &map, &err) != 0 && !positive) {
        cli_error("%s", err.message);
        goto done;
    }
    snprintf(map.task, sizeof map.task, "%s", task);
    if ((positive && hb_label_map_set_positive(&map, positive, &err) != 0) ||
        hb_dataset_load(&ds, file, &err) != 0 ||
        hb_label_map_check(&map, &ds, &err) != 0) {
        cli_error("%s", err.message);
        goto done;
    }
    if (unseen && drop_seen_domains(&ds, unseen, &err) != 0) {
        cli_error("%s", err.message);
        goto done;
    }
    p = calloc(ds.n ? ds.n : 1, sizeof *p);
    y = calloc(ds.n ? ds.n : 1, sizeof *y);
    pred = calloc(ds.n ? ds.n : 1, sizeof *pred);
    if (!p || !y || !pred || !s) {
        cli_error("out of memory");
        goto done;
    }
    size_t rejected = 0, caught_frauds = 0, type_right = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < ds.n; i++) {
        const hb_example *ex = &ds.rows[i];
        const hb_verdict *v;
        y[i] = hb_label_map_classify(&map, ex->label);
        const hb_task_result *r = NULL;
        int called = 0;
        if (url_mode) {
            hb_url_verdict uv;
            if (hb_classify_url(e, s, ex->text, ex->text_len, &uv, &err) == 0) {
                p[i] = uv.probability;
                called = uv.malicious;
            } else {
                p[i] = 0.0;
                rejected++;
            }
        } else {
            if (hb_classify(e, s, ex->text, ex->text_len, &v, &err) == 0)
                r = &v->tasks[0];
            else
                rejected++;
            p[i] = r ? r->probability : 0.0;
            called = r && r->positive;
        }
        pred[i] = called;
        size_t k = 0;
        while (k < nstats && strcmp(stats[k].label, ex->label) != 0)
            k++;
        if (k == nstats && nstats < 64)
            stats[nstats++] = (label_stat){ex->label, 0, 0, 0};
        if (k < nstats) {
            stats[k].n++;
            stats[k].called_positive += (size_t)called;
        }
        /* a fraud_<type> label checks the type the rules gave (a URL
         * model gives no verdict, so no type) */
        if (called && r && strncmp(ex->label, "fraud_", 6) == 0) {
            caught_frauds++;
            int right = r->type && strcmp(r->type, ex->label + 6) == 0;
            type_right += (size_t)right;
            if (k < nstats)
                stats[k].type_right += (size_t)right;
        }
        if (i % 512 == 0 || i + 1 == ds.n)
            cli_progress(NULL, "scoring", i + 1, ds.n);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs =
        (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    hb_metrics m;
    /* the verdict's own decisions: a model may have a threshold per script */
    hb_metrics_compute_pred(p, pred, y, ds.n, hb_model_threshold(model), &m);
    double rate = secs > 0 ? (double)ds.n / secs : 0;
    double type_acc = caught_frauds ? (double)type_right / (double)caught_frauds : NAN;

    if (as_json) {
        json_t *labels = json_object();
        for (size_t k = 0; k < nstats; k++)
            json_object_set_new(
                labels, stats[k].label,
                json_pack("{s:I, s:f}", "n", (json_int_t)stats[k].n, "called_positive",
                          (double)stats[k].called_positive / (double)stats[k].n));
        json_t *j = json_pack(
            "{s:s, s:s, s:s, s:I, s:f, s:f, s:f, s:f, s:f, s:o, s:f, s:I, s:I, "
            "s:I, s:I, s:f, s:f, s:I, s:o, s:o}",
            "model", model_dir, "task", task, "data", file, "n", (json_int_t)m.n,
            "accuracy", m.accuracy, "precision", m.precision, "recall", m.recall, "f1",
            m.f1, "mcc", m.mcc, "auc", isnan(m.auc) ? json_null() : json_real(m.auc),
            "ece", m.ece, "tp", (json_int_t)m.tp, "fp", (json_int_t)m.fp, "tn",
            (json_int_t)m.tn, "fn", (json_int_t)m.fn, "threshold",
            hb_model_threshold(model), "msgs_per_s", rate, "rejected",
            (json_int_t)rejected, "type_accuracy",
            isnan(type_acc) ? json_null() : json_real(type_acc), "labels", labels);
        char *out = json_dumps(j, JSON_COMPACT);
        puts(out ? out : "{}");
        free(out);
        json_decref(j);
    } else {
        printf("%s on %s (%zu rows, task %s, threshold %.3f)\n", model_dir, file, m.n,
               task, hb_model_threshold(model));
        printf("  accuracy %.4f  precision %.4f  recall %.4f  F1 %.4f  MCC %.4f  "
               "AUC %.4f  ECE %.4f\n",
               m.accuracy, m.precision, m.recall, m.f1, m.mcc, m.auc, m.ece);
        printf("  confusion: tp %zu  fp %zu  tn %zu  fn %zu   rejected rows %zu\n", m.tp,
               m.fp, m.tn, m.fn, rejected);
        printf("  throughput %.0f messages/s (one thread, whole verdict path)\n", rate);
        printf("  called positive, per original label:\n");
        for (size_t k = 0; k < nstats; k++) {
            printf("    %-24s %6zu rows  %6.2f%%", stats[k].label, stats[k].n,
                   100.0 * (double)stats[k].called_positive / (double)stats[k].n);
            if (!url_mode && strncmp(stats[k].label, "fraud_", 6) == 0 &&
                stats[k].called_positive)
                printf("   type right %.1f%%", 100.0 * (double)stats[k].type_right /
                                                   (double)stats[k].called_positive);
            putchar('\n');
        }
        if (!isnan(type_acc))
            printf("  fraud type right for %.1f%% of caught frauds\n", 100 * type_acc);
    }
    rc = 0;
    if (predictions && write_predictions(predictions, &ds, y, p, pred) != 0) {
        cli_error("cannot write %s", predictions);
        rc = EXIT_SETUP;
    }
    if (png) {
        char title[512];
        snprintf(title, sizeof title, "%s on %s", model_dir, file);
        if (plot(p, y, ds.n, png, title) != 0) {
            cli_error("could not draw %s (is gnuplot installed?)", png);
            rc = EXIT_SETUP;
        }
    }
done:
    free(p);
    free(y);
    free(pred);
    hb_session_free(s);
    hb_dataset_release(&ds);
    hb_engine_free(e);
    return rc;
}
