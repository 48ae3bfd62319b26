/*
 * fuzz_feedconf.c - libFuzzer target for the feeds.conf parser
 * (hb_feedconf_parse): any byte string is either refused with an error
 * naming the origin, or gives a configuration whose feed names pass
 * hb_blocklist_feed_name_ok.  Aborts on the first violation.
 *
 * Built and run by `make fuzz` (and for a few seconds by `make test`).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blocklist.h"
#include "feedconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hb_error err;
    hb_error_clear(&err);
    hb_feedconf *conf = hb_feedconf_parse((const char *)data, size, "fuzz.conf", &err);
    if (!conf) {
        if (err.code == 0 || strncmp(err.message, "fuzz.conf", 9) != 0)
            abort();
        return 0;
    }
    for (size_t i = 0; i < conf->count; i++)
        if (!hb_blocklist_feed_name_ok(conf->feeds[i].name))
            abort();
    hb_feedconf_free(conf);
    return 0;
}
