/*
 * keygen.c - `hubao keygen`: make a CURVE key pair for hubaod, one of its
 * remote workers or a client (docs/protocol.md, "Authentication
 * (CURVE)").  The key is libzmq's (zmq_curve_keypair); the files are
 * curvekey.h's.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "curvekey.h"

static const char USAGE[] =
    "usage: hubao keygen [--out PREFIX]\n"
    "\n"
    "Make a CURVE key pair and write it as PREFIX.key, the secret key (mode\n"
    "0600: keep it where only its owner reads it), and PREFIX.pub, the public\n"
    "key to hand out: into hubaod's --curve-clients or --curve-workers\n"
    "directory to let the owner in, or, for the broker's own pair, to its\n"
    "clients and workers as --curve-server-key.  Existing files are never\n"
    "overwritten.  Prints the public key.\n"
    "\n"
    "  --out PREFIX   where to write (default ./hubao: hubao.key, hubao.pub)\n"
    "\n"
    "Exit codes: 0 written; 2 usage; 3 not written (a file exists, or the\n"
    "directory is not writable).\n";

int cmd_keygen(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *prefix = "hubao";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': prefix = optarg; break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: fputs(USAGE, stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("keygen takes no arguments; name the files with --out PREFIX");
        return EXIT_USAGE;
    }
    hb_curve_key key;
    hb_error err;
    if (hb_curve_keypair(&key, &err) != 0 ||
        hb_curve_key_write(&key, prefix, &err) != 0) {
        explicit_bzero(&key, sizeof key);
        cli_error("%s", err.message);
        return EXIT_SETUP;
    }
    printf("%s\n", key.public_key);
    explicit_bzero(&key, sizeof key);
    fprintf(stderr, "hubao: wrote %s.key (secret, mode 0600) and %s.pub (public)\n",
            prefix, prefix);
    return 0;
}
