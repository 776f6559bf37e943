/* The vector checksum loops, written once and included by each x86 variant
 * (off_csum_sse2.c, off_csum_avx2.c, off_csum_avx512.c) after it defines:
 *   VEC            vector width in bytes          VEC_T    the vector type
 *   SIMD_TARGET    the function attribute enabling the instructions (may be empty)
 *   V_LOAD(p), V_STORE(p, v), V_ZERO(), V_AND(a, b), V_ADD32(a, b)
 *   V_SWAP16(v)    swaps the two bytes of every 16-bit lane
 *   V_ACC(acc, w)  adds to acc's 32-bit lanes the pairs of w's 16-bit lanes,
 *                  each taken as (lane - 0x8000), a signed 16-bit value
 *   v_hsum32(v)    the sum of v's 32-bit lanes, as int32_t
 *
 * Why biased lanes: x86 multiply-add of 16-bit pairs (pmaddwd, vpdpwssd) is
 * the cheapest way to widen 16-bit lanes (one operation, no carries to
 * chase), but it is signed; flipping each lane's top bit maps [0, 0xFFFF]
 * onto [-0x8000, 0x7FFF] exactly, and the 0x8000 per lane is added back at
 * the end, so the result is the exact 16-bit lane sum. */
#ifndef PVBACK_OFF_CSUM_SIMD_H
#define PVBACK_OFF_CSUM_SIMD_H

#include "offload/off_csum_impl.h"

#define LANE_BIAS 0x8000
/* A vector adds at most VEC * 2^14 in magnitude to the sum of its 32-bit
 * lanes: 32 KiB per chunk keeps every lane, and their total, within int32.
 * A multiple of 4 * VEC, so only a buffer's last chunk has odd vectors. */
#define CHUNK 32768u

/* VEC zeros then VEC ones: loading at @r keeps the last r bytes of a vector;
 * loading at 2 * VEC - h from head_mask keeps the first h. */
static const uint8_t tail_mask[2 * VEC] = {[VEC... 2 * VEC - 1] = 0xFF};
static const uint8_t head_mask[2 * VEC] = {[0 ... VEC - 1] = 0xFF};
/* Below this, aligning costs more than the split loads or stores it saves. */
#define ALIGN_MIN (4 * VEC)

/* The last r (1..VEC-1) bytes, loaded as the buffer's last vector with the
 * bytes already summed masked off. An odd length puts every byte in the
 * other half of its 16-bit lane than at its real offset: swapping each
 * lane's bytes restores each byte's weight (RFC 1071 §2(B)). */
SIMD_TARGET static inline VEC_T tail_words(VEC_T last, size_t r, size_t len)
{
        VEC_T w = V_AND(last, V_LOAD(tail_mask + r));
        return (len & 1) ? V_SWAP16(w) : w;
}

/* The bias of every lane loaded: ceil(len / VEC) vectors of VEC / 2 lanes. */
static inline int64_t lane_bias(size_t len)
{
        return (int64_t)((len + VEC - 1) / VEC) * (VEC / 2) * LANE_BIAS;
}

SIMD_TARGET static uint64_t sum_body(const uint8_t *p, size_t len)
{
        if (len < VEC)
                return off_csum_sum_short(p, len);
        size_t whole = len - len % VEC, i = 0;
        int64_t s = lane_bias(len);
        for (;;) {
                size_t stop = whole - i > CHUNK ? i + CHUNK : whole;
                VEC_T a0 = V_ZERO(), a1 = a0, a2 = a0, a3 = a0;
                for (; i + 4 * VEC <= stop; i += 4 * VEC) {
                        a0 = V_ACC(a0, V_LOAD(p + i));
                        a1 = V_ACC(a1, V_LOAD(p + i + VEC));
                        a2 = V_ACC(a2, V_LOAD(p + i + 2 * VEC));
                        a3 = V_ACC(a3, V_LOAD(p + i + 3 * VEC));
                }
                /* At most three vectors left (CHUNK is a multiple of 4 * VEC):
                 * spread over the accumulators, so no chain waits on another. */
                if (i + 2 * VEC <= stop) {
                        a0 = V_ACC(a0, V_LOAD(p + i));
                        a1 = V_ACC(a1, V_LOAD(p + i + VEC));
                        i += 2 * VEC;
                }
                if (i < stop) {
                        a2 = V_ACC(a2, V_LOAD(p + i));
                        i += VEC;
                }
                if (stop == whole && whole < len)
                        a3 = V_ACC(a3, tail_words(V_LOAD(p + len - VEC), len - whole, len));
                s += v_hsum32(V_ADD32(V_ADD32(a0, a1), V_ADD32(a2, a3)));
                if (stop == whole)
                        return (uint64_t)s;
        }
}

/* The tail's overlapping store rewrites bytes already copied with the same
 * values, which is why the buffers must not overlap. */
SIMD_TARGET static uint64_t sum_copy_body(uint8_t *d, const uint8_t *s, size_t len)
{
        if (len < VEC) {
                memcpy(d, s, len);
                return off_csum_sum_short(s, len);
        }
        size_t whole = len - len % VEC, i = 0;
        int64_t sum = lane_bias(len);
        for (;;) {
                size_t stop = whole - i > CHUNK ? i + CHUNK : whole;
                VEC_T a0 = V_ZERO(), a1 = a0, a2 = a0, a3 = a0;
                for (; i + 4 * VEC <= stop; i += 4 * VEC) {
                        VEC_T w0 = V_LOAD(s + i), w1 = V_LOAD(s + i + VEC);
                        VEC_T w2 = V_LOAD(s + i + 2 * VEC), w3 = V_LOAD(s + i + 3 * VEC);
                        V_STORE(d + i, w0);
                        V_STORE(d + i + VEC, w1);
                        V_STORE(d + i + 2 * VEC, w2);
                        V_STORE(d + i + 3 * VEC, w3);
                        a0 = V_ACC(a0, w0);
                        a1 = V_ACC(a1, w1);
                        a2 = V_ACC(a2, w2);
                        a3 = V_ACC(a3, w3);
                }
                if (i + 2 * VEC <= stop) {
                        VEC_T w0 = V_LOAD(s + i), w1 = V_LOAD(s + i + VEC);
                        V_STORE(d + i, w0);
                        V_STORE(d + i + VEC, w1);
                        a0 = V_ACC(a0, w0);
                        a1 = V_ACC(a1, w1);
                        i += 2 * VEC;
                }
                if (i < stop) {
                        VEC_T w = V_LOAD(s + i);
                        V_STORE(d + i, w);
                        a2 = V_ACC(a2, w);
                        i += VEC;
                }
                if (stop == whole && whole < len) {
                        VEC_T last = V_LOAD(s + len - VEC);
                        V_STORE(d + len - VEC, last);
                        a3 = V_ACC(a3, tail_words(last, len - whole, len));
                }
                sum += v_hsum32(V_ADD32(V_ADD32(a0, a1), V_ADD32(a2, a3)));
                if (stop == whole)
                        return (uint64_t)sum;
        }
}

/* Bytes before @p is vector-aligned, if worth aligning a buffer of @len. */
static inline size_t head_len(const void *p, size_t len)
{
        size_t mis = (uintptr_t)p % VEC;
        return len >= ALIGN_MIN && mis ? VEC - mis : 0;
}

/* The sum of the first h bytes of @first, a vector loaded at the start. */
SIMD_TARGET static inline uint64_t head_sum(VEC_T first, size_t h)
{
        VEC_T w = V_AND(first, V_LOAD(head_mask + VEC - h));
        return (uint64_t)(v_hsum32(V_ACC(V_ZERO(), w)) + lane_bias(VEC));
}

/* Loads that cross cache lines cost twice: the bulk starts at an aligned
 * address, after a head summed from one unaligned vector. */
SIMD_TARGET static uint64_t simd_sum(const uint8_t *p, size_t len)
{
        size_t h = head_len(p, len);
        if (!h)
                return sum_body(p, len);
        return head_sum(V_LOAD(p), h) + off_csum_at_offset(sum_body(p + h, len - h), h);
}

/* Stores that cross cache lines cost more than loads do: the destination is
 * the side aligned. */
SIMD_TARGET static uint64_t simd_sum_copy(uint8_t *d, const uint8_t *s, size_t len)
{
        size_t h = head_len(d, len);
        if (!h)
                return sum_copy_body(d, s, len);
        VEC_T first = V_LOAD(s);
        V_STORE(d, first);
        return head_sum(first, h) + off_csum_at_offset(sum_copy_body(d + h, s + h, len - h), h);
}

#endif
