/*
 * require.h - REQUIRE(cond) for the libFuzzer targets: abort when a
 * property the target checks does not hold, so that libFuzzer reports
 * the input as a crash and keeps it (build/fuzz/NAME-crash-*).
 */
#ifndef HB_FUZZ_REQUIRE_H
#define HB_FUZZ_REQUIRE_H

#include <stdlib.h>

#define REQUIRE(cond)                                                                    \
    do {                                                                                 \
        if (!(cond))                                                                     \
            abort();                                                                     \
    } while (0)

#endif
