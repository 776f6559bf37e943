/* off_csum: wide-word Internet checksum against a byte-pair reference
 * (RFC 1071 §4.1), known answers, copy-and-checksum, incremental updates,
 * pseudo-headers, partial completion and the UDP zero rule; and every bulk
 * variant (portable, SSE2, AVX2, AVX-512 where the CPU runs them) against
 * the reference over all lengths and alignments, so a vector bug cannot
 * hide behind the variant the CPU happens to pick. */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

#include "check_main.h"
#include "offload/off_build.h"
#include "offload/off_bytes.h"
#include "offload/off_csum.h"
#include "offload/off_csum_impl.h"

#define BIG          70000
#define ALIGN_SHIFTS 8

/* RFC 1071 §4.1, one 16-bit big-endian word at a time: the independent model. */
static uint16_t ref_sum(const uint8_t *p, size_t n)
{
        uint64_t s = 0;
        for (size_t i = 0; i + 1 < n; i += 2)
                s += (uint32_t)(p[i] << 8 | p[i + 1]);
        if (n & 1)
                s += (uint32_t)p[n - 1] << 8;
        while (s >> 16)
                s = (s & 0xFFFF) + (s >> 16);
        return (uint16_t)s;
}

/* A raw (stored-order) 16-bit value as the big-endian number it encodes. */
static uint16_t as_be(uint16_t raw)
{
        uint8_t b[2];
        off_put_raw16(b, raw);
        return off_get_be16(b);
}

static uint8_t *random_buf(size_t n, unsigned seed)
{
        uint8_t *p = malloc(n + ALIGN_SHIFTS);
        ck_assert_ptr_nonnull(p);
        srand(seed);
        for (size_t i = 0; i < n + ALIGN_SHIFTS; i++)
                p[i] = (uint8_t)rand();
        return p;
}

START_TEST(rfc1071_example)
{
        /* RFC 1071 §3 numerical example: the sum is ddf2, the checksum 220d. */
        const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
        ck_assert_uint_eq(as_be(off_csum_fold(off_csum_partial(b, sizeof(b), 0))), 0xddf2);
        ck_assert_uint_eq(as_be(off_csum_buf(b, sizeof(b))), 0x220d);
}
END_TEST

START_TEST(ipv4_header_known_answer)
{
        /* A captured IPv4/UDP header whose checksum field holds b861. */
        uint8_t h[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                       0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
        ck_assert_uint_eq(off_csum_buf(h, sizeof(h)), 0); /* verifies to zero */
        off_csum_fill_ipv4_hdr(h, sizeof(h));
        ck_assert_uint_eq(h[10], 0xb8);
        ck_assert_uint_eq(h[11], 0x61);
}
END_TEST

/* Every length 0..300 and every start alignment, plus long odd lengths. */
START_TEST(matches_reference_all_lengths_and_alignments)
{
        uint8_t *p = random_buf(BIG, 1);
        for (size_t shift = 0; shift < ALIGN_SHIFTS; shift++) {
                for (size_t n = 0; n <= 300; n++)
                        ck_assert_uint_eq(as_be(off_csum_fold(off_csum_partial(p + shift, n, 0))),
                                          ref_sum(p + shift, n));
                const size_t longs[] = {1499, 1500, 9001, 65535, 65536, BIG - 1};
                for (size_t k = 0; k < sizeof(longs) / sizeof(longs[0]); k++)
                        ck_assert_uint_eq(
                            as_be(off_csum_fold(off_csum_partial(p + shift, longs[k], 0))),
                            ref_sum(p + shift, longs[k]));
        }
        free(p);
}
END_TEST

START_TEST(all_ones_data_does_not_lose_carries)
{
        uint8_t *p = malloc(BIG);
        memset(p, 0xFF, BIG);
        for (size_t n = 1; n < BIG; n = n * 3 + 1)
                ck_assert_uint_eq(as_be(off_csum_fold(off_csum_partial(p, n, 0))), ref_sum(p, n));
        free(p);
}
END_TEST

START_TEST(copy_and_checksum_in_one_pass)
{
        uint8_t *src = random_buf(BIG, 2);
        uint8_t *dst = malloc(BIG + ALIGN_SHIFTS);
        const size_t lens[] = {0, 1, 7, 8, 31, 32, 33, 63, 1448, 1449, 65535, BIG - 1};
        for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
                for (size_t s = 0; s < 3; s++) {
                        memset(dst, 0xA5, BIG + ALIGN_SHIFTS);
                        uint64_t sum = off_csum_copy(dst + 1 + s, src + s, lens[k], 0);
                        ck_assert_mem_eq(dst + 1 + s, src + s, lens[k]);
                        ck_assert_uint_eq(dst[1 + s + lens[k]], 0xA5); /* no overrun */
                        ck_assert_uint_eq(as_be(off_csum_fold(sum)), ref_sum(src + s, lens[k]));
                }
        }
        free(src);
        free(dst);
}
END_TEST

START_TEST(block_add_at_odd_offset)
{
        uint8_t *p = random_buf(1000, 3);
        const size_t splits[] = {0, 1, 2, 3, 499, 500, 999};
        for (size_t k = 0; k < sizeof(splits) / sizeof(splits[0]); k++) {
                size_t a = splits[k];
                uint64_t s = off_csum_partial(p, a, 0);
                s = off_csum_block_add(s, off_csum_partial(p + a, 1000 - a, 0), a);
                ck_assert_uint_eq(as_be(off_csum_fold(s)), ref_sum(p, 1000));
        }
        free(p);
}
END_TEST

/* RFC 1624 eqn. 3 must equal recomputation, including the change that makes
 * the sum all ones (where eqn. 2 yields -0). */
START_TEST(incremental_update_matches_recompute)
{
        uint8_t *p = random_buf(64, 4);
        for (int trial = 0; trial < 2000; trial++) {
                size_t at = (size_t)(rand() % 31) * 2;
                off_put_raw16(p + 62, 0);
                off_put_raw16(p + 62, off_csum_buf(p, 64));
                uint16_t old16 = off_get_raw16(p + at), new16 = (uint16_t)rand();
                if (trial == 0)
                        new16 = (uint16_t)(old16 + off_get_raw16(p + 62)); /* probes -0 */
                off_put_raw16(p + at, new16);
                uint16_t upd = off_csum_update16(off_get_raw16(p + 62), old16, new16);
                off_put_raw16(p + 62, upd);
                ck_assert_uint_eq(off_csum_fold(off_csum_partial(p, 64, 0)), 0xFFFF);

                uint32_t old32, new32 = (uint32_t)rand();
                memcpy(&old32, p + 4, 4);
                memcpy(p + 4, &new32, 4);
                off_put_raw16(p + 62, off_csum_update32(off_get_raw16(p + 62), old32, new32));
                ck_assert_uint_eq(off_csum_fold(off_csum_partial(p, 64, 0)), 0xFFFF);
        }
        free(p);
}
END_TEST

struct l4_case {
        const char *name;
        uint16_t ethertype;
        uint8_t proto;
        size_t payload;
};

static const struct l4_case l4_cases[] = {
    {"tcp4 empty", OFF_ETH_P_IPV4, IPPROTO_TCP, 0},
    {"tcp4 odd", OFF_ETH_P_IPV4, IPPROTO_TCP, 1001},
    {"udp4 odd", OFF_ETH_P_IPV4, IPPROTO_UDP, 1},
    {"udp4 big", OFF_ETH_P_IPV4, IPPROTO_UDP, 8000},
    {"tcp6 odd", OFF_ETH_P_IPV6, IPPROTO_TCP, 333},
    {"udp6 empty", OFF_ETH_P_IPV6, IPPROTO_UDP, 0},
    {"udp6 big", OFF_ETH_P_IPV6, IPPROTO_UDP, 9001},
};

static size_t build_l4(uint8_t *buf, size_t cap, const struct l4_case *c, struct off_pkt_info *pi)
{
        struct off_build_spec s = {
            .ethertype = c->ethertype,
            .l4_proto = c->proto,
            .sport = 1234,
            .dport = 80,
            .seq = 0x01020304,
            .tcp_flags = OFF_TCP_ACK,
            .payload_len = c->payload,
            .saddr = {10, 0, 0, 1},
            .daddr = {10, 0, 0, 2},
        };
        if (c->ethertype == OFF_ETH_P_IPV6) {
                s.saddr[0] = s.daddr[0] = 0xfd;
                s.saddr[15] = 1;
                s.daddr[15] = 2;
        }
        size_t len;
        ck_assert_int_eq(off_build_packet(buf, cap, &s, &len), 0);
        ck_assert_int_eq(off_parse(buf, len, 0, pi), 0);
        return len;
}

/* Reference: pseudo-header built as bytes (RFC 793 §3.1, RFC 8200 §8.1)
 * followed by the L4 span, summed by the byte-pair model. */
static uint16_t ref_l4_csum(const uint8_t *pkt, const struct off_pkt_info *pi)
{
        static uint8_t tmp[BIG];
        size_t n = 0;
        const uint8_t *ip = pkt + pi->l3_off;
        if (pi->ethertype == OFF_ETH_P_IPV4) {
                memcpy(tmp, ip + 12, 8);
                tmp[8] = 0;
                tmp[9] = pi->l4_proto;
                off_put_be16(tmp + 10, (uint16_t)pi->l4_len);
                n = 12;
        } else {
                memcpy(tmp, ip + 8, 32);
                off_put_be32(tmp + 32, pi->l4_len);
                off_put_be32(tmp + 36, pi->l4_proto);
                n = 40;
        }
        memcpy(tmp + n, pkt + pi->l4_off, pi->l4_len);
        size_t co = pi->l4_proto == IPPROTO_TCP ? 16 : 6;
        off_put_be16(tmp + n + co, 0);
        return (uint16_t)~ref_sum(tmp, n + pi->l4_len);
}

START_TEST(fill_l4_matches_reference)
{
        static uint8_t buf[BIG];
        const struct l4_case *c = &l4_cases[_i];
        struct off_pkt_info pi;
        size_t len = build_l4(buf, sizeof(buf), c, &pi);
        ck_assert_int_eq(off_csum_fill_l4(buf, len, &pi), 0);
        size_t co = pi.l4_off + (c->proto == IPPROTO_TCP ? 16 : 6);
        uint16_t want = ref_l4_csum(buf, &pi);
        if (c->proto == IPPROTO_UDP && want == 0)
                want = 0xFFFF;
        ck_assert_msg(off_get_be16(buf + co) == want, "%s: %04x != %04x", c->name,
                      off_get_be16(buf + co), want);
        ck_assert(off_csum_l4_ok(buf, len, &pi));
        buf[len - 1 - (c->payload ? 0 : pi.l4_hdr_len - 1)] ^= 0x10;
        ck_assert(!off_csum_l4_ok(buf, len, &pi));
}
END_TEST

/* virtio / CHECKSUM_PARTIAL: seed the pseudo-header, complete from
 * csum_start; the result equals a from-scratch fill. */
START_TEST(partial_completion_equals_full_fill)
{
        static uint8_t a[BIG], b[BIG];
        const struct l4_case *c = &l4_cases[_i];
        struct off_pkt_info pi;
        size_t len = build_l4(a, sizeof(a), c, &pi);
        memcpy(b, a, len);
        ck_assert_int_eq(off_csum_fill_l4(a, len, &pi), 0);
        ck_assert_int_eq(off_csum_seed_partial(b, len, &pi), 0);
        size_t co = c->proto == IPPROTO_TCP ? 16 : 6;
        ck_assert_int_eq(off_csum_complete_partial(b, len, pi.l4_off, co), 0);
        ck_assert_mem_eq(a, b, len);
}
END_TEST

START_TEST(partial_completion_bounds)
{
        uint8_t p[64] = {0};
        ck_assert_int_eq(off_csum_complete_partial(p, sizeof(p), 65, 0), -EINVAL);
        ck_assert_int_eq(off_csum_complete_partial(p, sizeof(p), 60, 3), -EINVAL);
        ck_assert_int_eq(off_csum_complete_partial(p, sizeof(p), 0, 63), -EINVAL);
        ck_assert_int_eq(off_csum_complete_partial(p, sizeof(p), 0, SIZE_MAX), -EINVAL);
        ck_assert_int_eq(off_csum_complete_partial(p, sizeof(p), 60, 2), 0);
        /* all-zero data sums to zero: stored as 0xFFFF like skb_checksum_help */
        ck_assert_uint_eq(off_get_be16(p + 62), 0xFFFF);
}
END_TEST

/* RFC 768: a UDP checksum that computes to 0 is sent as 0xFFFF; TCP keeps 0. */
START_TEST(zero_result_rules)
{
        static uint8_t buf[256];
        const uint8_t protos[] = {IPPROTO_UDP, IPPROTO_TCP};
        const uint16_t types[] = {OFF_ETH_P_IPV4, OFF_ETH_P_IPV6};
        for (int t = 0; t < 2; t++)
                for (int k = 0; k < 2; k++) {
                        struct l4_case c = {"zero", types[t], protos[k], 2};
                        struct off_pkt_info pi;
                        size_t len = build_l4(buf, sizeof(buf), &c, &pi);
                        off_put_raw16(buf + len - 2, 0);
                        ck_assert_int_eq(off_csum_fill_l4(buf, len, &pi), 0);
                        size_t co = pi.l4_off + (protos[k] == IPPROTO_TCP ? 16 : 6);
                        /* payload word = old checksum makes the new sum all ones */
                        off_put_raw16(buf + len - 2, off_get_raw16(buf + co));
                        ck_assert_int_eq(off_csum_fill_l4(buf, len, &pi), 0);
                        ck_assert_uint_eq(off_get_be16(buf + co),
                                          protos[k] == IPPROTO_UDP ? 0xFFFF : 0);
                        ck_assert(off_csum_l4_ok(buf, len, &pi));
                }
}
END_TEST

START_TEST(fill_refuses_without_l4)
{
        struct off_pkt_info pi = {0};
        uint8_t p[64] = {0};
        ck_assert_int_eq(off_csum_fill_l4(p, sizeof(p), &pi), -EINVAL);
        pi.flags = OFF_PKT_L4;
        pi.l4_proto = IPPROTO_ICMP;
        ck_assert_int_eq(off_csum_fill_l4(p, sizeof(p), &pi), -EPROTONOSUPPORT);
        pi.l4_proto = IPPROTO_TCP;
        pi.l4_off = 40;
        pi.l4_len = 40;
        ck_assert_int_eq(off_csum_fill_l4(p, sizeof(p), &pi), -EINVAL);
}
END_TEST

/* ---- every variant against the reference ---- */

#define DIFF_LEN_MAX 4200
#define DIFF_ALIGNS  64
#define GUARD        64
#define GUARD_BYTE   0xA5

enum pattern { PAT_RANDOM, PAT_ONES, PAT_ZEROS, PAT_BIAS_EDGES, PAT_COUNT };

static void fill_pattern(uint8_t *p, size_t n, enum pattern pat, unsigned seed)
{
        /* Lanes 0x8000, 0x7FFF, 0x8001 and 0xFFFF in either byte order sit at
         * the edge of the vector loops' signed 16-bit bias. */
        static const uint8_t edges[] = {0x00, 0x80, 0xFF, 0x7F, 0x01, 0x80, 0xFF, 0xFF, 0x80};
        srand(seed);
        for (size_t i = 0; i < n; i++) {
                switch (pat) {
                case PAT_RANDOM:
                        p[i] = (uint8_t)rand();
                        break;
                case PAT_ONES:
                        p[i] = 0xFF;
                        break;
                case PAT_ZEROS:
                        p[i] = 0;
                        break;
                default:
                        p[i] = edges[i % sizeof(edges)];
                        break;
                }
        }
}

/* C11 aligned_alloc wants a size that is a multiple of the alignment. */
static uint8_t *alloc64(size_t n)
{
        uint8_t *p = aligned_alloc(DIFF_ALIGNS, (n + DIFF_ALIGNS - 1) / DIFF_ALIGNS * DIFF_ALIGNS);
        ck_assert_ptr_nonnull(p);
        return p;
}

static uint16_t fold16(uint64_t s)
{
        while (s >> 16)
                s = (s & 0xFFFF) + (s >> 16);
        return (uint16_t)s;
}

/* The variant under test, or NULL (with a note) where this CPU cannot run it. */
static const struct off_csum_impl *impl_or_skip(int idx)
{
        const struct off_csum_impl *impl = off_csum_impl_at((size_t)idx);
        ck_assert_ptr_nonnull(impl);
        if (!impl->usable()) {
                printf("off_csum: variant %s not run: this CPU lacks it\n", impl->name);
                return NULL;
        }
        return impl;
}

static int impl_count(void)
{
        int n = 0;
        while (off_csum_impl_at((size_t)n))
                n++;
        return n;
}

/* All lengths 0..DIFF_LEN_MAX at every start alignment 0..63 (relative to a
 * 64-byte boundary), for each data pattern. The reference runs along the
 * length incrementally: the big-endian pair sum of the prefix. */
START_TEST(variant_sum_matches_reference)
{
        const struct off_csum_impl *impl = impl_or_skip(_i);
        if (!impl)
                return;
        uint8_t *base = alloc64(DIFF_ALIGNS + DIFF_LEN_MAX + DIFF_ALIGNS);
        for (int pat = 0; pat < PAT_COUNT; pat++) {
                fill_pattern(base, DIFF_ALIGNS + DIFF_LEN_MAX + DIFF_ALIGNS, pat, 11u + pat);
                for (size_t a = 0; a < DIFF_ALIGNS; a++) {
                        const uint8_t *q = base + a;
                        uint64_t pairs = 0;
                        /* Check's assertions cost a syscall each: a plain test
                         * in this loop, an abort on the first failure */
                        for (size_t n = 0; n <= DIFF_LEN_MAX; n++) {
                                if (n >= 2 && !(n & 1))
                                        pairs += (uint32_t)(q[n - 2] << 8 | q[n - 1]);
                                uint64_t want = pairs + ((n & 1) ? (uint32_t)q[n - 1] << 8 : 0);
                                uint16_t got = as_be(off_csum_fold(impl->sum(q, n)));
                                if (got != fold16(want))
                                        ck_abort_msg("%s: pattern %d align %zu len %zu: %04x "
                                                     "!= %04x",
                                                     impl->name, pat, a, n, got, fold16(want));
                        }
                }
        }
        free(base);
}
END_TEST

/* Copy-and-sum: every length, every source alignment, and destination
 * alignments that cycle with the length so every (source, destination)
 * pair meets; the copy must be exact and touch no byte outside it. */
START_TEST(variant_copy_matches_reference)
{
        const struct off_csum_impl *impl = impl_or_skip(_i);
        if (!impl)
                return;
        size_t cap = DIFF_ALIGNS + DIFF_LEN_MAX + DIFF_ALIGNS;
        uint8_t *src = alloc64(cap);
        uint8_t *dbase = alloc64(GUARD + cap + GUARD);
        fill_pattern(src, cap, PAT_RANDOM, 21);
        for (size_t a = 0; a < DIFF_ALIGNS; a++) {
                for (size_t n = 0; n <= DIFF_LEN_MAX; n++) {
                        uint8_t *d = dbase + GUARD + (a * 7 + n) % DIFF_ALIGNS;
                        memset(d - GUARD, GUARD_BYTE, GUARD);
                        memset(d + n, GUARD_BYTE, GUARD);
                        uint64_t got = impl->sum_copy(d, src + a, n);
                        /* Check's assertions cost a syscall each: plain tests
                         * in this loop, an abort on the first failure */
                        if (memcmp(d, src + a, n) != 0)
                                ck_abort_msg("%s: copy differs, len %zu", impl->name, n);
                        for (size_t g = 0; g < GUARD; g++)
                                if (d[-1 - (ptrdiff_t)g] != GUARD_BYTE || d[n + g] != GUARD_BYTE)
                                        ck_abort_msg("%s: wrote outside, src align %zu len %zu",
                                                     impl->name, a, n);
                        if (as_be(off_csum_fold(got)) != ref_sum(src + a, n))
                                ck_abort_msg("%s: src align %zu dst align %zu len %zu", impl->name,
                                             a, (size_t)(d - dbase) % DIFF_ALIGNS, n);
                }
        }
        free(src);
        free(dbase);
}
END_TEST

/* Past the loops' 32 KiB chunks, with the data that pushes the per-lane
 * accumulators hardest (all zeros and all ones are the extremes of the
 * biased lanes). */
START_TEST(variant_long_buffers)
{
        const struct off_csum_impl *impl = impl_or_skip(_i);
        if (!impl)
                return;
        const size_t lens[] = {32767, 32768, 32769, 65535 + 64, 98304 + 1, 200001};
        const size_t cap = 200001 + DIFF_ALIGNS;
        uint8_t *src = alloc64(cap + DIFF_ALIGNS);
        uint8_t *dst = alloc64(cap + DIFF_ALIGNS);
        const enum pattern pats[] = {PAT_ZEROS, PAT_ONES, PAT_RANDOM, PAT_BIAS_EDGES};
        for (size_t k = 0; k < sizeof(pats) / sizeof(pats[0]); k++) {
                fill_pattern(src, cap, pats[k], 31);
                for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
                        const size_t aligns[] = {0, 1, 63};
                        for (size_t j = 0; j < 3; j++) {
                                const uint8_t *q = src + aligns[j];
                                uint16_t want = ref_sum(q, lens[l]);
                                ck_assert_uint_eq(as_be(off_csum_fold(impl->sum(q, lens[l]))),
                                                  want);
                                uint64_t c = impl->sum_copy(dst + 2 * j + 1, q, lens[l]);
                                ck_assert_uint_eq(as_be(off_csum_fold(c)), want);
                                ck_assert_mem_eq(dst + 2 * j + 1, q, lens[l]);
                                /* only all-zero data sums to zero */
                                ck_assert_uint_eq(impl->sum(q, lens[l]) == 0, pats[k] == PAT_ZEROS);
                        }
                }
        }
        free(src);
        free(dst);
}
END_TEST

/* The public entry points (short-buffer path, seed, odd-offset blocks, L4
 * fill) give the same answers whichever variant is active. */
START_TEST(public_api_under_each_variant)
{
        const struct off_csum_impl *impl = impl_or_skip(_i);
        if (!impl)
                return;
        const struct off_csum_impl *best = off_csum_impl_active();
        ck_assert_int_eq(off_csum_impl_use(impl), 0);
        ck_assert_ptr_eq(off_csum_impl_active(), impl);
        uint8_t *p = random_buf(3000, 41);
        uint8_t *d = malloc(3000);
        ck_assert_ptr_nonnull(d);
        for (size_t n = 0; n < 3000; n += 37) {
                for (size_t split = 0; split <= n; split += 1 + n / 5) {
                        uint64_t s = off_csum_partial(p + 1, split, 0x12345);
                        s = off_csum_block_add(s, off_csum_copy(d, p + 1 + split, n - split, 0),
                                               split);
                        /* byte order does not matter to ones' complement
                         * addition (RFC 1071 §2(B)): add the seed as BE too */
                        ck_assert_uint_eq(
                            as_be(off_csum_fold(s)),
                            fold16((uint64_t)as_be(off_csum_fold(0x12345)) + ref_sum(p + 1, n)));
                        ck_assert_mem_eq(d, p + 1 + split, n - split);
                }
        }
        ck_assert_int_eq(off_csum_impl_use(best), 0);
        free(p);
        free(d);
}
END_TEST

START_TEST(best_usable_variant_is_active)
{
        const char *pin = getenv("PVBACK_CSUM_IMPL");
        const struct off_csum_impl *impl, *want = NULL, *pinned = NULL;
        for (size_t i = 0; (impl = off_csum_impl_at(i)) != NULL; i++) {
                if (!impl->usable()) {
                        ck_assert_int_eq(off_csum_impl_use(impl), -ENOTSUP);
                        continue;
                }
                want = impl;
                if (pin && !strcmp(pin, impl->name))
                        pinned = impl;
        }
        ck_assert_ptr_nonnull(want);
        ck_assert_ptr_eq(off_csum_impl_active(), pinned ? pinned : want);
        ck_assert_int_eq(off_csum_impl_use(NULL), -ENOTSUP);
}
END_TEST

static Suite *off_csum_suite(void)
{
        Suite *s = suite_create("off_csum");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, rfc1071_example);
        tcase_add_test(tc, ipv4_header_known_answer);
        tcase_add_test(tc, matches_reference_all_lengths_and_alignments);
        tcase_add_test(tc, all_ones_data_does_not_lose_carries);
        tcase_add_test(tc, copy_and_checksum_in_one_pass);
        tcase_add_test(tc, block_add_at_odd_offset);
        tcase_add_test(tc, incremental_update_matches_recompute);
        const int n = (int)(sizeof(l4_cases) / sizeof(l4_cases[0]));
        tcase_add_loop_test(tc, fill_l4_matches_reference, 0, n);
        tcase_add_loop_test(tc, partial_completion_equals_full_fill, 0, n);
        tcase_add_test(tc, partial_completion_bounds);
        tcase_add_test(tc, zero_result_rules);
        tcase_add_test(tc, fill_refuses_without_l4);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);

        TCase *tv = tcase_create("variants");
        const int nv = impl_count();
        tcase_add_test(tv, best_usable_variant_is_active);
        tcase_add_loop_test(tv, variant_sum_matches_reference, 0, nv);
        tcase_add_loop_test(tv, variant_copy_matches_reference, 0, nv);
        tcase_add_loop_test(tv, variant_long_buffers, 0, nv);
        tcase_add_loop_test(tv, public_api_under_each_variant, 0, nv);
        tcase_set_timeout(tv, 300);
        suite_add_tcase(s, tv);
        return s;
}

PV_CHECK_MAIN(off_csum_suite)
