/*
 * vocab.c - a bitset of hash slots (see vocab.h).
 */
#include "vocab.h"

#include <stdlib.h>

enum { VOCAB_WORDS = (1u << HB_VOCAB_BITS) / 64 };

hb_vocab *hb_vocab_new(void)
{
    hb_vocab *v = malloc(sizeof *v);
    if (v && !(v->words = calloc(VOCAB_WORDS, sizeof *v->words))) {
        free(v);
        return NULL;
    }
    return v;
}

void hb_vocab_free(hb_vocab *v)
{
    if (!v)
        return;
    free(v->words);
    free(v);
}

void hb_vocab_add(hb_vocab *v, const uint32_t *slots, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v->words[slots[i] >> 6] |= 1ull << (slots[i] & 63);
}
