/*
 * half.h - IEEE 754 half-precision (binary16) storage for model tables.
 *
 * A linear model's weight and IDF tables are read at random, one row per
 * feature, so their size decides how many buckets fit a worker's memory and
 * cache.  They are held as 16-bit floats: 11 significant bits, a relative
 * error of at most 2^-11 (0.05%), far below what moves a verdict.
 *
 * Only the values a model table needs are encoded: magnitudes below 2^-14
 * (about 6.1e-5, where binary16 turns subnormal) become zero, magnitudes
 * above the largest binary16 (65504) saturate, and rounding is to nearest,
 * ties to even.  So the decoder never sees an infinity, a NaN or a
 * subnormal, and is a few integer operations.
 */
#ifndef HB_HALF_H
#define HB_HALF_H
#include <stdint.h>
#include <string.h>

/* float32 bits of 2^-14 (smallest kept magnitude), the exponent rebias
 * 127 - 15 = 112 in place, the midpoint above 65504 (rounds past it),
 * and the binary16 bits of 65504. */
enum {
    HB_HALF_MIN_BITS = 0x38800000,
    HB_HALF_REBIAS = 0x38000000,
    HB_HALF_OVER_BITS = 0x477ff000,
    HB_HALF_MAX_BITS = 0x7bff
};

static inline uint16_t hb_half_from_float(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t mag = x & 0x7fffffffu;
    if (mag < HB_HALF_MIN_BITS)
        return sign;
    if (mag >= HB_HALF_OVER_BITS)
        return sign | HB_HALF_MAX_BITS;
    uint32_t h = mag - HB_HALF_REBIAS;
    h += 0x0fffu + ((h >> 13) & 1u); /* round the 23-bit fraction to 10 */
    return (uint16_t)(sign | (h >> 13));
}

static inline float hb_half_to_float(uint16_t h)
{
    uint32_t mag = h & 0x7fffu;
    uint32_t x =
        ((uint32_t)(h & 0x8000u) << 16) | (mag ? (mag << 13) + HB_HALF_REBIAS : 0);
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

/* f as the table will hold it. */
static inline float hb_half_round(float f)
{
    return hb_half_to_float(hb_half_from_float(f));
}

#endif
