/*
 * grow.h - grow a heap array by doubling, for the modules that build
 * arrays of unknown length (the rules parser, the prefilter's rewriter).
 *
 * Header only: one small function, inlined where it is used.
 */
#ifndef HB_GROW_H
#define HB_GROW_H

#include <stdlib.h>

/* Grow *array (of elements of size elem) so that it holds at least need;
 * *cap is updated.  Returns 0, or -1 on allocation failure (the array is
 * then intact and still owned by the caller). */
static inline int hb_grow(void **array, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*array, ncap * elem);
    if (!p)
        return -1;
    *array = p;
    *cap = ncap;
    return 0;
}

#endif
