/*
 * vocab.h - the n-grams a model was trained on, so scoring can leave out
 * the ones it never saw.
 *
 * Features are hashed into 2^hash_bits buckets (featurize.h), and about a
 * third of the buckets of a shipped model hold an n-gram it kept.  An
 * n-gram it never saw lands in one of those a third of the time and borrows
 * that bucket's weight: noise that decides short messages full of words no
 * training row had (personal chat, dialect), and an explanation naming an
 * n-gram the model never learned anything about.  The trainer counts
 * document frequencies in a finer hash space of 2^HB_VOCAB_BITS slots, where
 * distinct n-grams seldom share a slot, and keeps the n-grams seen often
 * enough (min_df); a vocabulary is the set of those slots.  Extraction with
 * a vocabulary drops every n-gram whose slot is not in it, which is what the
 * trainer did to its rows, so training and scoring see the same vectors.
 *
 * A vocabulary is a bitset of 2^HB_VOCAB_BITS bits (4 MiB): one load per
 * n-gram.  Immutable once filled; may be shared between threads.
 */
#ifndef HB_VOCAB_H
#define HB_VOCAB_H

#include <stddef.h>
#include <stdint.h>

/* Bits of an n-gram's hash that name its slot (the trainer's fine space). */
enum { HB_VOCAB_BITS = 25 };

typedef struct hb_vocab {
    uint64_t *words; /* 2^HB_VOCAB_BITS bits */
} hb_vocab;

/* An empty vocabulary, or NULL when out of memory. */
hb_vocab *hb_vocab_new(void);
void hb_vocab_free(hb_vocab *vocab);

/* Add n slots (each below 2^HB_VOCAB_BITS). */
void hb_vocab_add(hb_vocab *vocab, const uint32_t *slots, size_t n);

/* 1 if the n-gram with this hash is in the vocabulary. */
static inline int hb_vocab_has(const hb_vocab *vocab, uint64_t hash)
{
    uint32_t s = (uint32_t)(hash & ((1u << HB_VOCAB_BITS) - 1));
    return (int)((vocab->words[s >> 6] >> (s & 63)) & 1);
}

#endif
