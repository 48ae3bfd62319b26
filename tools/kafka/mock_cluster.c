/*
 * kafka-mock-cluster - librdkafka's built-in mock Kafka cluster on
 * loopback, for the Kafka tests, `make bench` and anyone trying `hubao
 * kafka` without a cluster (docs/kafka.md).
 *
 *   kafka-mock-cluster N [--topic NAME:PARTITIONS]...
 *
 * Starts N brokers (ids 1..N), creates the topics, prints the bootstrap
 * list as the first line on stdout and runs until SIGTERM or SIGINT.
 * While it runs it takes one command a line on stdin and answers each
 * with one line, "ok" or "error: why":
 *
 *   down ID          disconnect broker ID and refuse new connections
 *                    (-1: every broker); leadership does not move
 *   up ID            accept connections again
 *   topic NAME:PARTITIONS
 *
 * End of input on stdin only ends the commands; the cluster keeps
 * running.  The mock cluster keeps everything in memory and is no
 * measure of a real cluster's durability or speed.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
}

static void usage(FILE *out)
{
    fputs("usage: kafka-mock-cluster N [--topic NAME:PARTITIONS]...\n"
          "  Runs librdkafka's mock cluster of N brokers on loopback, prints its\n"
          "  bootstrap list on the first line and serves until SIGTERM.  Commands\n"
          "  on stdin, one a line: down ID, up ID, topic NAME:PARTITIONS.\n",
          out);
}

/* Parse a whole decimal number in [lo, hi] into *out; 0 or -1. */
static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Create the topic NAME:PARTITIONS spec names (replicated on every
 * broker, up to 3).  Returns 0, or -1 after writing why into why. */
static int create_topic(rd_kafka_mock_cluster_t *mc, int brokers, const char *spec,
                        char *why, size_t whylen)
{
    const char *colon = strrchr(spec, ':');
    long parts;
    if (!colon || colon == spec || parse_int(colon + 1, 1, 100000, &parts) < 0) {
        snprintf(why, whylen, "topic wants NAME:PARTITIONS, got \"%.200s\"", spec);
        return -1;
    }
    char name[256];
    size_t n = (size_t)(colon - spec);
    if (n >= sizeof name) {
        snprintf(why, whylen, "topic name longer than %zu bytes", sizeof name - 1);
        return -1;
    }
    memcpy(name, spec, n);
    name[n] = '\0';
    rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(mc, name, (int)parts, brokers < 3 ? brokers : 3);
    if (err) {
        snprintf(why, whylen, "topic %s: %s", name, rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

/* Run one stdin command; writes its answer line to stdout. */
static void run_command(rd_kafka_mock_cluster_t *mc, int brokers, char *line)
{
    char why[512] = "";
    char *arg = strchr(line, ' ');
    if (arg)
        *arg++ = '\0';
    long id;
    int bad = 1;
    if (arg && (strcmp(line, "down") == 0 || strcmp(line, "up") == 0)) {
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__INVALID_ARG;
        if (parse_int(arg, -1, brokers, &id) == 0 && id != 0)
            err = line[0] == 'd' ? rd_kafka_mock_broker_set_down(mc, (int32_t)id)
                                 : rd_kafka_mock_broker_set_up(mc, (int32_t)id);
        if (err == RD_KAFKA_RESP_ERR__INVALID_ARG)
            snprintf(why, sizeof why, "no broker \"%.100s\" (1..%d, or -1 for all)", arg,
                     brokers);
        else if (err)
            snprintf(why, sizeof why, "%s", rd_kafka_err2str(err));
        bad = err != RD_KAFKA_RESP_ERR_NO_ERROR;
    } else if (arg && strcmp(line, "topic") == 0) {
        bad = create_topic(mc, brokers, arg, why, sizeof why) < 0;
    } else {
        snprintf(why, sizeof why,
                 "unknown command \"%.100s\" (down ID, up ID, topic N:P)", line);
    }
    if (bad)
        printf("error: %s\n", why);
    else
        puts("ok");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    long brokers;
    if (parse_int(argv[1], 1, 32, &brokers) < 0) {
        fprintf(stderr, "kafka-mock-cluster: N must be 1..32, got \"%s\"\n", argv[1]);
        return 2;
    }
    for (int i = 2; i < argc; i += 2) {
        if (strcmp(argv[i], "--topic") != 0 || i + 1 >= argc) {
            usage(stderr);
            return 2;
        }
    }

    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* the handle only keeps the cluster's books; it never connects */
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "kafka-mock-cluster: %s\n", errstr);
        return 3;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, (int)brokers);
    if (!mc) {
        fprintf(stderr, "kafka-mock-cluster: could not start the mock cluster\n");
        rd_kafka_destroy(rk);
        return 3;
    }
    int rc = 0;
    for (int i = 2; i < argc && !rc; i += 2) {
        if (create_topic(mc, (int)brokers, argv[i + 1], errstr, sizeof errstr) < 0) {
            fprintf(stderr, "kafka-mock-cluster: %s\n", errstr);
            rc = 2;
        }
    }
    if (!rc) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
        fflush(stdout);

        char line[512];
        size_t have = 0;
        int commands = 1;
        while (!stop_signal) {
            struct pollfd p = {STDIN_FILENO, POLLIN, 0};
            if (poll(&p, commands, 200) <= 0 || !(p.revents & (POLLIN | POLLHUP)))
                continue;
            ssize_t n = read(STDIN_FILENO, line + have, sizeof line - 1 - have);
            if (n <= 0) {
                commands = 0; /* end of input: keep serving */
                continue;
            }
            have += (size_t)n;
            line[have] = '\0';
            char *nl;
            while ((nl = strchr(line, '\n'))) {
                *nl = '\0';
                if (nl > line && nl[-1] == '\r')
                    nl[-1] = '\0';
                if (line[0])
                    run_command(mc, (int)brokers, line);
                have -= (size_t)(nl + 1 - line);
                memmove(line, nl + 1, have + 1);
            }
            if (have == sizeof line - 1) {
                puts("error: command longer than 510 bytes");
                fflush(stdout);
                have = 0;
            }
        }
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return rc;
}
