/*
 * train.c - `hubao train`: train a model bundle from label<TAB>text files.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "cli.h"
#include "paths.h"
#include "trainer.h"

static const char USAGE[] =
    "usage: hubao train --task TASK --data FILE.tsv[,FILE.tsv...] --out DIR [OPTIONS]\n"
    "\n"
    "Train a linear SVM model bundle for TASK (fraud, spam, rumour, or any name\n"
    "with --positive) from label<TAB>text files, with the same feature code the\n"
    "service scores with.  C is chosen by k-fold cross-validation, probabilities\n"
    "are calibrated on held-out folds (Platt), and the threshold maximises\n"
    "held-out MCC (docs/training.md).\n"
    "\n"
    "  --positive L,...    labels that are positive (default: the task's\n"
    "                      documented mapping); every other label is negative\n"
    "  --seed N            random seed (default 1): same seed, same model bytes\n"
    "  --folds K           cross-validation folds, 2..10 (default 5)\n"
    "  --repeats R         cross-validation runs, each with its own folds,\n"
    "                      all used for the choices above, 1..10 (default 3)\n"
    "  --c C,...           C values to try (default 0.0625,0.125,0.25,0.5,1,2)\n"
    "  --max-fpr X         cap the held-out false positive rate when choosing\n"
    "                      the threshold (e.g. 0.01)\n"
    "  --possible-precision P  the \"possible\" tier starts where the held-out\n"
    "                      messages between it and the threshold are at least\n"
    "                      this precise (default 0.5; 1: no possible tier)\n"
    "  --possible-max-fpr X  ... and flags at most this share of the held-out\n"
    "                      negatives (default 0.01)\n"
    "  --hash-bits B       feature hash space 2^B (default 20)\n"
    "  --char-ngrams A-B   character n-gram lengths (default 1-3; 0-0 off)\n"
    "  --word-ngrams A-B   word n-gram lengths (default 1-2; 0-0 off)\n"
    "  --rule-scale X      factor on the task's rule weights (default: chosen by\n"
    "                      cross-validation among 0, 0.25, 0.5, 1, per script)\n"
    "  --rule-scale-cjk X  the factor for Chinese/Japanese/Korean messages only\n"
    "  --balanced          calibrate probabilities as if both classes were equally\n"
    "                      common (default: the training data's own mix)\n"
    "  --keep-digits       keep digits as they are (default: read digits and\n"
    "                      digit masks such as xxx as 0)\n"
    "  --no-idf            do not weight text features by IDF\n"
    "  --min-df N          with IDF, leave out n-grams seen in fewer than N\n"
    "                      training messages, 1..255 (default 2)\n"
    "  --named-scale X     factor on rule and entity feature values while\n"
    "                      training, compensated in the saved weights: below 1\n"
    "                      the SVM leans less on them, 0 leaves them out\n"
    "                      (default: chosen by cross-validation from 1, 0.3, 0)\n"
    "  --types PREFIX      also train the fraud type model on the positive rows\n"
    "                      labelled PREFIX<type>, <type> a type of types.tsv\n"
    "                      (e.g. fraud_: fraud_loan trains the type loan)\n"
    "  --type-bits N       its hash buckets: 2^N, 8..20 (default 14)\n"
    "  --labels POS,NEG    verdict label names (default TASK,not_TASK)\n"
    "  --version V         version string recorded in the manifest\n"
    "  --exclude F,...     leave out training rows whose text (normalised, digits\n"
    "                      as 0) occurs in these files, e.g. the test splits\n"
    "  --conflicts P       a text that occurs with both a positive and a negative\n"
    "                      label (compared as --exclude does): keep (default)\n"
    "                      trains both rows; positive drops the negative ones\n"
    "  --rules DIR         rule files (default $HUBAO_RULES, else\n"
    "                      $HUBAO_MODELS/rules, else " HB_PATHS_MODELS "/rules)\n";

/* sha256 of a file as hex, or "" if unreadable. */
static void sha256_file(const char *path, char hex[65])
{
    hex[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    size_t n;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0)
        ok = EVP_DigestUpdate(ctx, buf, n);
    if (ok && !ferror(f) && EVP_DigestFinal_ex(ctx, md, &mdlen))
        for (unsigned i = 0; i < mdlen; i++)
            sprintf(hex + (size_t)2 * i, "%02x", md[i]);
    EVP_MD_CTX_free(ctx);
    fclose(f);
}

static int parse_range(const char *s, int *lo, int *hi)
{
    char *end;
    long a = strtol(s, &end, 10);
    if (*end != '-')
        return -1;
    long b = strtol(end + 1, &end, 10);
    if (*end || a < 0 || b < a || b > 8)
        return -1;
    *lo = (int)a;
    *hi = (int)b;
    return 0;
}

int cmd_train(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"task", required_argument, NULL, 't'},
        {"data", required_argument, NULL, 'd'},
        {"out", required_argument, NULL, 'o'},
        {"positive", required_argument, NULL, 'p'},
        {"seed", required_argument, NULL, 's'},
        {"folds", required_argument, NULL, 'k'},
        {"repeats", required_argument, NULL, 'R'},
        {"c", required_argument, NULL, 'c'},
        {"max-fpr", required_argument, NULL, 'f'},
        {"possible-precision", required_argument, NULL, 'P'},
        {"possible-max-fpr", required_argument, NULL, 'F'},
        {"hash-bits", required_argument, NULL, 'B'},
        {"char-ngrams", required_argument, NULL, 'C'},
        {"word-ngrams", required_argument, NULL, 'W'},
        {"labels", required_argument, NULL, 'L'},
        {"version", required_argument, NULL, 'V'},
        {"rules", required_argument, NULL, 'r'},
        {"exclude", required_argument, NULL, 'x'},
        {"conflicts", required_argument, NULL, 'X'},
        {"no-idf", no_argument, NULL, 'I'},
        {"keep-digits", no_argument, NULL, 'K'},
        {"balanced", no_argument, NULL, 'A'},
        {"rule-scale", required_argument, NULL, 'S'},
        {"rule-scale-cjk", required_argument, NULL, 'J'},
        {"min-df", required_argument, NULL, 'D'},
        {"named-scale", required_argument, NULL, 'N'},
        {"types", required_argument, NULL, 'Y'},
        {"type-bits", required_argument, NULL, 'y'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *task = NULL, *data = NULL, *out = NULL, *positive = NULL;
    const char *rules = NULL, *labels = NULL, *version = NULL, *exclude = NULL;
    int conflicts_positive = 0;
    hb_train_options o = hb_train_defaults("");
    char *end;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 't': task = optarg; break;
        case 'd': data = optarg; break;
        case 'o': out = optarg; break;
        case 'p': positive = optarg; break;
        case 'r': rules = optarg; break;
        case 'L': labels = optarg; break;
        case 'V': version = optarg; break;
        case 'x': exclude = optarg; break;
        case 'X':
            if (strcmp(optarg, "positive") != 0 && strcmp(optarg, "keep") != 0)
                goto usage;
            conflicts_positive = strcmp(optarg, "positive") == 0;
            break;
        case 'I': o.features.use_idf = 0; break;
        case 'K': o.features.map_digits = 0; break;
        case 'A': o.balanced_calibration = 1; break;
        case 'S':
            o.rule_scale = strtod(optarg, &end);
            if (*end || o.rule_scale < 0 || o.rule_scale > 10)
                goto usage;
            break;
        case 'J':
            o.rule_scale_script[HB_SCRIPT_CJK] = strtod(optarg, &end);
            if (*end || o.rule_scale_script[HB_SCRIPT_CJK] < 0 ||
                o.rule_scale_script[HB_SCRIPT_CJK] > 10)
                goto usage;
            break;
        case 'D':
            o.features.min_df = (int)strtol(optarg, &end, 10);
            if (*end || o.features.min_df < 1 || o.features.min_df > 255)
                goto usage;
            break;
        case 'N':
            o.named_scale = strtod(optarg, &end);
            if (*end || o.named_scale < 0 || o.named_scale > 10)
                goto usage;
            break;
        case 's':
            o.seed = strtoul(optarg, &end, 10);
            if (*end)
                goto usage;
            break;
        case 'k':
            o.folds = (int)strtol(optarg, &end, 10);
            if (*end)
                goto usage;
            break;
        case 'R':
            o.repeats = (int)strtol(optarg, &end, 10);
            if (*end || o.repeats < 1 || o.repeats > 10)
                goto usage;
            break;
        case 'f':
            o.max_fpr = strtod(optarg, &end);
            if (*end || o.max_fpr < 0 || o.max_fpr >= 1)
                goto usage;
            break;
        case 'P':
            o.possible_precision = strtod(optarg, &end);
            if (*end || o.possible_precision <= 0 || o.possible_precision > 1)
                goto usage;
            break;
        case 'F':
            o.possible_max_fpr = strtod(optarg, &end);
            if (*end || o.possible_max_fpr < 0 || o.possible_max_fpr >= 1)
                goto usage;
            break;
        case 'Y': o.type_prefix = optarg; break;
        case 'y': {
            long bits = strtol(optarg, &end, 10);
            if (*end || bits < HB_TYPE_BITS_MIN || bits > HB_TYPE_BITS_MAX)
                goto usage;
            o.type_bits = (unsigned)bits;
            break;
        }
        case 'B':
            o.features.hash_bits = (int)strtol(optarg, &end, 10);
            if (*end || o.features.hash_bits < 10 || o.features.hash_bits > 24)
                goto usage;
            break;
        case 'C':
            if (parse_range(optarg, &o.features.char_min, &o.features.char_max))
                goto usage;
            break;
        case 'W':
            if (parse_range(optarg, &o.features.word_min, &o.features.word_max) ||
                o.features.word_max > 4)
                goto usage;
            break;
        case 'c': {
            o.nc = 0;
            for (char *p = optarg; *p && o.nc < 8;) {
                o.c_grid[o.nc] = strtod(p, &end);
                if (end == p || o.c_grid[o.nc] <= 0)
                    goto usage;
                o.nc++;
                p = *end == ',' ? end + 1 : end;
                if (*p && end[0] != ',')
                    goto usage;
            }
            break;
        }
        case 'h': fputs(USAGE, stdout); return 0;
        default: goto usage;
        }
    }
    if (!task || !data || !out || optind != argc)
        goto usage;

    hb_train_set_task(&o, task);
    char pos_name[64], neg_name[64];
    snprintf(pos_name, sizeof pos_name, "%s", task);
    snprintf(neg_name, sizeof neg_name, "not_%s", task);
    if (labels) {
        const char *comma = strchr(labels, ',');
        if (!comma || comma == labels || !comma[1])
            goto usage;
        snprintf(pos_name, sizeof pos_name, "%.*s", (int)(comma - labels), labels);
        snprintf(neg_name, sizeof neg_name, "%s", comma + 1);
    }
    o.positive_name = pos_name;
    o.negative_name = neg_name;
    char version_buf[64];
    if (!version) {
        time_t now = time(NULL);
        strftime(version_buf, sizeof version_buf, "%Y-%m-%d", gmtime(&now));
        version = version_buf;
    }
    o.version = version;
    o.progress = cli_progress;

    hb_error err;
    hb_label_map map;
    if (hb_label_map_default(task, &map, &err) != 0 && !positive) {
        cli_error("%s", err.message);
        return EXIT_USAGE;
    }
    snprintf(map.task, sizeof map.task, "%s", task);
    if (positive && hb_label_map_set_positive(&map, positive, &err) != 0) {
        cli_error("%s", err.message);
        return EXIT_USAGE;
    }

    int rc = EXIT_SETUP;
    hb_dataset ds;
    hb_dataset_init(&ds);
    json_t *extra = json_object(), *files = json_array();
    json_object_set_new(extra, "data", files);
    char *list = strdup(data);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        size_t before = ds.n;
        if (hb_dataset_load(&ds, tok, &err) != 0) {
            cli_error("%s", err.message);
            goto done;
        }
        char hex[65];
        sha256_file(tok, hex);
        json_array_append_new(files, json_pack("{s:s, s:s, s:I}", "path", tok, "sha256",
                                               hex, "rows", (json_int_t)(ds.n - before)));
    }
    if (exclude) {
        hb_dataset held_out;
        hb_dataset_init(&held_out);
        char *xlist = strdup(exclude);
        int failed = 0;
        for (char *tok = strtok(xlist, ","); tok && !failed; tok = strtok(NULL, ","))
            failed = hb_dataset_load(&held_out, tok, &err) != 0;
        size_t removed = 0;
        if (!failed)
            failed = hb_dataset_exclude(&ds, &held_out, &removed, &err) != 0;
        free(xlist);
        hb_dataset_release(&held_out);
        if (failed) {
            cli_error("%s", err.message);
            goto done;
        }
        json_object_set_new(extra, "excluded",
                            json_pack("{s:s, s:I}", "files", exclude, "rows_removed",
                                      (json_int_t)removed));
        fprintf(stderr, "excluded %zu training rows whose text occurs in %s\n", removed,
                exclude);
    }
    if (conflicts_positive) {
        size_t removed = 0;
        if (hb_dataset_drop_conflicts(&ds, &map, &removed, &err) != 0) {
            cli_error("%s", err.message);
            goto done;
        }
        json_object_set_new(extra, "conflicts",
                            json_pack("{s:s, s:I}", "policy", "positive", "rows_removed",
                                      (json_int_t)removed));
        fprintf(stderr,
                "dropped %zu negative rows whose text also occurs with a positive "
                "label\n",
                removed);
    }
    if (positive)
        json_object_set_new(extra, "positive_labels", json_string(positive));
    time_t now = time(NULL);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    json_object_set_new(extra, "trained_at", json_string(stamp));

    char rules_buf[4096];
    hb_engine *engine = hb_engine_open(
        hb_paths_rules(rules, NULL, rules_buf, sizeof rules_buf), NULL, &err);
    if (!engine) {
        cli_error("cannot load rules: %s", err.message);
        goto done;
    }
    hb_train_result res;
    int trc = hb_train_text(engine, &ds, &map, &o, out, extra, &res, &err);
    if (trc == 0 && res.unusable)
        fprintf(stderr,
                "note: %zu rows had nothing to learn from (kept as empty vectors); "
                "the first: %s\n",
                res.unusable, res.first_unusable);
    if (trc != 0) {
        cli_error("%s", err.message);
        rc = err.code == HB_EFORMAT || err.code == HB_EINVAL ? EXIT_INPUT : EXIT_SETUP;
    } else {
        fprintf(
            stderr,
            "trained %s on %zu rows (%zu positive) in %.1f s: C=%g, named scale %g, "
            "rule scale %g (CJK %g), threshold %.3f; cross-validated precision %.3f recall %.3f "
            "F1 %.3f MCC %.3f AUC %.3f\nwrote %s\n",
            task, res.n, res.npositive, res.seconds, res.c, res.named_scale,
            res.rule_scale, res.rule_scale_script[HB_SCRIPT_CJK], res.threshold,
            res.cv.precision, res.cv.recall, res.cv.f1, res.cv.mcc, res.cv.auc, out);
        if (res.typed)
            fprintf(stderr, "type model trained on %zu typed rows\n", res.typed);
        rc = 0;
    }
    hb_engine_free(engine);
done:
    free(list);
    json_decref(extra);
    hb_dataset_release(&ds);
    return rc;
usage:
    fputs(USAGE, stderr);
    return EXIT_USAGE;
}
