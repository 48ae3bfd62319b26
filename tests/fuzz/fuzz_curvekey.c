/*
 * fuzz_curvekey.c - libFuzzer target for the CURVE key file parser
 * (hb_curve_key_parse, curvekey.h): hubaod reads every *.pub file in its
 * --curve-clients and --curve-workers directories, files that come from
 * the clients and workers themselves.  Any byte string is either refused
 * with an error naming the file, or gives keys that are 40 Z85 characters
 * that decode; a secret key comes with the public key that belongs to it,
 * and a public key file never carries a secret.  Aborts on the first
 * violation.
 *
 * Built and run by `make fuzz` (and for a few seconds by `make test`).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "curvekey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 if z85 is a key: 40 characters that decode to 32 bytes. */
static int is_key(const char *z85)
{
    unsigned char raw[HB_CURVE_KEY_BYTES];
    return hb_curve_key_decode(z85, raw) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int kind = HB_CURVE_PUBLIC; kind <= HB_CURVE_SECRET; kind++) {
        hb_curve_key k;
        hb_error err;
        hb_error_clear(&err);
        if (hb_curve_key_parse((const char *)data, size, "fuzz.pub", (hb_curve_kind)kind,
                               &k, &err) != 0) {
            if (err.code == 0 || strncmp(err.message, "fuzz.pub", 8) != 0 ||
                k.secret_key[0])
                abort();
            continue;
        }
        if (!is_key(k.public_key))
            abort();
        if (kind == HB_CURVE_PUBLIC && k.secret_key[0])
            abort();
        char derived[HB_CURVE_Z85_LEN + 1];
        if (kind == HB_CURVE_SECRET &&
            (!is_key(k.secret_key) || zmq_curve_public(derived, k.secret_key) != 0 ||
             strcmp(derived, k.public_key) != 0))
            abort();
    }
    return 0;
}
