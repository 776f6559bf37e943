/* Ring occupancy for `show`: how many entries lie between a producer and a
 * consumer index, when one of them is the guest's and may be anything.
 * Display only; the data path has its own overflow checks. */
#ifndef PVBACK_BE_RING_OCC_H
#define PVBACK_BE_RING_OCC_H

#include <stdbool.h>
#include <stdint.h>

/* prod - cons (free-running 32-bit ring indexes, as RING_IDX) into *out;
 * false, *out 0, when that is more than the ring's size entries: the guest
 * wrote an index no real ring state has, and the difference means
 * nothing. */
static inline bool be_ring_occupancy(uint32_t prod, uint32_t cons, uint32_t size, uint32_t *out)
{
        uint32_t n = prod - cons;
        *out = n <= size ? n : 0;
        return n <= size;
}

#endif
