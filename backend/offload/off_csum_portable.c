/* Portable bulk checksum loops in plain C: the fallback on CPUs without a
 * vector variant, and the variant every other one is tested against. Four
 * words per step in independent chains so a superscalar core overlaps them. */
#include "offload/off_csum_impl.h"

#define STEP 32u

/* The wrapping word sum and the sum of high halves give the low halves' sum
 * exactly (it stays far below 2^64), so the loop needs no carry handling. */
static inline uint64_t recover(uint64_t all, uint64_t hi)
{
        return all - (hi << 32) + hi;
}

static uint64_t portable_sum(const uint8_t *p, size_t len)
{
        uint64_t all = 0, hi = 0;
        size_t i = 0;
        for (; i + STEP <= len; i += STEP) {
                uint64_t w0 = off_csum_load64(p + i), w1 = off_csum_load64(p + i + 8);
                uint64_t w2 = off_csum_load64(p + i + 16), w3 = off_csum_load64(p + i + 24);
                all += (w0 + w1) + (w2 + w3);
                hi += ((w0 >> 32) + (w1 >> 32)) + ((w2 >> 32) + (w3 >> 32));
        }
        return recover(all, hi) + off_csum_sum_short(p + i, len - i);
}

static uint64_t portable_sum_copy(uint8_t *d, const uint8_t *s, size_t len)
{
        uint64_t all = 0, hi = 0;
        size_t i = 0;
        for (; i + STEP <= len; i += STEP) {
                uint64_t w0 = off_csum_load64(s + i), w1 = off_csum_load64(s + i + 8);
                uint64_t w2 = off_csum_load64(s + i + 16), w3 = off_csum_load64(s + i + 24);
                memcpy(d + i, &w0, 8);
                memcpy(d + i + 8, &w1, 8);
                memcpy(d + i + 16, &w2, 8);
                memcpy(d + i + 24, &w3, 8);
                all += (w0 + w1) + (w2 + w3);
                hi += ((w0 >> 32) + (w1 >> 32)) + ((w2 >> 32) + (w3 >> 32));
        }
        memcpy(d + i, s + i, len - i);
        return recover(all, hi) + off_csum_sum_short(s + i, len - i);
}

static bool portable_usable(void)
{
        return true;
}

const struct off_csum_impl off_csum_impl_portable = {
    .name = "portable",
    .usable = portable_usable,
    .sum = portable_sum,
    .sum_copy = portable_sum_copy,
};
