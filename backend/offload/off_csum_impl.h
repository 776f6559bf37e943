/* Private to the checksum code and its tests: the interchangeable bulk loops
 * (portable C, SSE2, AVX2, AVX-512), their run-time selection, and the scalar pieces
 * they share. Not an API for the data path: use off_csum.h.
 *
 * Every loop returns an unfolded sum congruent, modulo 0xFFFF, to the sum of
 * the buffer's 16-bit lanes (odd tail byte zero-padded), zero only for
 * all-zero data and below 2^62: so it folds to the RFC 1071 sum. The value
 * itself may differ between variants; only the fold is the contract. */
#ifndef PVBACK_OFF_CSUM_IMPL_H
#define PVBACK_OFF_CSUM_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The longest buffer one call sums: every variant's accumulators stay far
 * from overflow below it. Callers split longer buffers into blocks of this
 * size (even, so blocks add unswapped). */
#define OFF_CSUM_IMPL_MAX (1ull << 30)

struct off_csum_impl {
        const char *name;
        bool (*usable)(void); /* the CPU (and OS) run it */
        uint64_t (*sum)(const uint8_t *p, size_t len);
        /* Copies @len bytes (no overlap) and returns their sum. */
        uint64_t (*sum_copy)(uint8_t *d, const uint8_t *s, size_t len);
};

extern const struct off_csum_impl off_csum_impl_portable;
#if defined(__x86_64__) && defined(__GNUC__)
#define OFF_CSUM_HAVE_X86 1
extern const struct off_csum_impl off_csum_impl_sse2;
extern const struct off_csum_impl off_csum_impl_avx2;
extern const struct off_csum_impl off_csum_impl_avx512;
#endif

/* Compiled variants, best last; NULL past the end. Includes ones this CPU
 * cannot run: check ->usable(). */
const struct off_csum_impl *off_csum_impl_at(size_t idx);
/* The variant off_csum_partial/off_csum_copy use (the best usable one unless
 * a test chose another). */
const struct off_csum_impl *off_csum_impl_active(void);
/* Makes @impl the active variant; -ENOTSUP if this CPU cannot run it. For
 * tests and benchmarks, before other threads use the checksum code. */
int off_csum_impl_use(const struct off_csum_impl *impl);

/* A native 32-bit or 64-bit word is congruent to the sum of its 16-bit lanes
 * modulo 0xFFFF in either byte order, so pieces of any even length and even
 * offset can be added in any grouping. Splitting a 64-bit word into halves
 * keeps every carry: the sum of halves is exact. */
static inline uint64_t off_csum_load64(const uint8_t *p)
{
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        return v;
}

static inline uint32_t off_csum_load32(const uint8_t *p)
{
        uint32_t v;
        memcpy(&v, p, sizeof(v));
        return v;
}

/* Fewer than 8 bytes. The last odd byte starts a lane (the pieces before it
 * are even) and RFC 1071 pads it with a zero byte: copying it into the first
 * byte of a zeroed lane does that in either byte order. */
static inline uint64_t off_csum_tail8(const uint8_t *p, size_t n)
{
        uint64_t t = 0;
        if (n & 4) {
                t += off_csum_load32(p);
                p += 4;
        }
        if (n & 2) {
                uint16_t v;
                memcpy(&v, p, sizeof(v));
                t += v;
                p += 2;
        }
        if (n & 1) {
                uint16_t v = 0;
                memcpy(&v, p, 1);
                t += v;
        }
        return t;
}

/* A sum of bytes that start at offset @off of the summed region: at an odd
 * offset every byte sits in the other half of its 16-bit lane, so the folded
 * sum's bytes swap (RFC 1071 §2(B)). Zero stays zero. */
static inline uint64_t off_csum_at_offset(uint64_t sum, size_t off)
{
        if (!(off & 1))
                return sum;
        sum = (sum & 0xFFFFFFFFu) + (sum >> 32);
        sum = (sum & 0xFFFFFFFFu) + (sum >> 32);
        sum = (sum & 0xFFFFu) + (sum >> 16);
        sum = (sum & 0xFFFFu) + (sum >> 16);
        return ((sum & 0xFFu) << 8) | (sum >> 8);
}

/* Short buffers (headers, pseudo-header pieces): whole words, then the tail.
 * Accumulating the words wrapping and their high halves separately needs no
 * carry handling in the loop; the low halves' sum is recovered at the end. */
static inline uint64_t off_csum_sum_short(const uint8_t *p, size_t len)
{
        uint64_t all = 0, hi = 0;
        size_t i = 0;
        for (; i + 8 <= len; i += 8) {
                uint64_t w = off_csum_load64(p + i);
                all += w;
                hi += w >> 32;
        }
        return all - (hi << 32) + hi + off_csum_tail8(p + i, len - i);
}

#endif
