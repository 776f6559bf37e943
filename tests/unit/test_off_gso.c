/* off_gso: segments of TCPv4/TCPv6 GSO packets checked as a receiver would
 * (parse, IPv4 header checksum, TCP checksum over the whole segment), the
 * checksums byte-equal to a from-scratch fill, the payload reassembled,
 * per-segment flags/seq/ID, both output modes, every checksum variant giving
 * the same bytes, segmenting in turns giving the bytes of segmenting at
 * once, and refusals (MSS bounds, wrong protocol, too little output
 * space). */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "check_main.h"
#include "offload/off_build.h"
#include "offload/off_bytes.h"
#include "offload/off_csum.h"
#include "offload/off_csum_impl.h"
#include "offload/off_gso.h"

#define PKT_MAX  (65535 + 18)
#define MAX_SEGS OFF_GSO_SEGS_MAX
#define ARENA    (MAX_SEGS * 200 + PKT_MAX)

static const uint8_t ip_opts_ra[] = {0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00};
static const uint8_t tcp_opts_ts[] = {0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 2};
static const uint8_t ip_opts_max[40] = {0x01, 0x01, 0x01, 0x01};  /* NOPs, EOL */
static const uint8_t tcp_opts_max[40] = {0x01, 0x01, 0x01, 0x01}; /* NOPs, EOL */
static const uint8_t ext_hbh_dst[] = {IPPROTO_DSTOPTS, 0, 1, 4, 0, 0, 0, 0,
                                      IPPROTO_TCP,     0, 1, 4, 0, 0, 0, 0};

struct gso_case {
        const char *name;
        uint16_t ethertype;
        int vlan;
        const uint8_t *ip_opts, *tcp_opts, *ext;
        size_t ip_opts_len, tcp_opts_len, ext_len;
        uint8_t ext_first;
        uint8_t flags;
        uint32_t seq;
        uint16_t ip_id;
        size_t payload;
        uint16_t mss;
        uint32_t want_segs;
};

#define V4   OFF_ETH_P_IPV4
#define V6   OFF_ETH_P_IPV6
#define ALLF (OFF_TCP_ACK | OFF_TCP_PSH | OFF_TCP_FIN | OFF_TCP_CWR | OFF_TCP_ECE)

/* One case per line reads as a table. Segment counts at the floor
 * (OFF_GSO_MSS_MIN, 8): 1003 = 125 * 8 + 3, so 126; 65535 - 120 = 65415 =
 * 8176 * 8 + 7, so 8177; 65535 - 60 = 65475 = 8184 * 8 + 3, so 8185. At 36,
 * Linux's smallest mss_cache with timestamps: 65535 - 20 - 32 = 65483 =
 * 1818 * 36 + 35, so 1819. */
/* clang-format off */
static const struct gso_case cases[] = {
    {"v4 plain", V4, 0, NULL, NULL, NULL, 0, 0, 0, 0, OFF_TCP_ACK | OFF_TCP_PSH, 1000, 7, 4000, 1448, 3},
    {"v4 options, odd mss and length", V4, 0, ip_opts_ra, tcp_opts_ts, NULL, 8, 12, 0, 0, ALLF, 5, 1, 10001, 1001, 10},
    {"v4 vlan", V4, 1, NULL, tcp_opts_ts, NULL, 0, 12, 0, 0, ALLF, 0, 0, 3000, 1448, 3},
    {"v4 exact multiple", V4, 0, NULL, NULL, NULL, 0, 0, 0, 0, ALLF, 0, 0, 4 * 1448, 1448, 4},
    {"v4 minimum mss", V4, 0, NULL, NULL, NULL, 0, 0, 0, 0, ALLF, 0, 0, 1003, OFF_GSO_MSS_MIN, 126},
    {"v4 seq and id wrap", V4, 0, NULL, NULL, NULL, 0, 0, 0, 0, ALLF, 0xFFFFF000u, 0xFFFE, 9000, 1448, 7},
    {"v4 payload == mss: one segment", V4, 0, NULL, NULL, NULL, 0, 0, 0, 0, ALLF, 9, 3, 1448, 1448, 1},
    {"v4 payload < mss: one segment", V4, 0, NULL, NULL, NULL, 0, 0, 0, 0, ALLF, 9, 3, 100, 1448, 1},
    {"v4 zero payload: one segment", V4, 0, NULL, NULL, NULL, 0, 0, 0, 0, ALLF, 9, 3, 0, 1448, 1},
    {"v4 64K, max options, min mss", V4, 0, ip_opts_max, tcp_opts_max, NULL, 40, 40, 0, 0, ALLF, 1, 1, 65535 - 120, OFF_GSO_MSS_MIN, 8177},
    {"v4 64K timestamps, mss 36", V4, 0, NULL, tcp_opts_ts, NULL, 0, 12, 0, 0, ALLF, 1, 1, 65535 - 20 - 32, 36, 1819},
    {"v4 maximum mss", V4, 0, NULL, NULL, NULL, 0, 0, 0, 0, ALLF, 1, 1, 65000, OFF_GSO_MSS_MAX, 1},
    {"v6 plain", V6, 0, NULL, NULL, NULL, 0, 0, 0, 0, ALLF, 77, 0, 5000, 1440, 4},
    {"v6 ext headers, options", V6, 0, NULL, tcp_opts_ts, ext_hbh_dst, 0, 12, 16, IPPROTO_HOPOPTS, ALLF, 77, 0, 7777, 1000, 8},
    {"v6 vlan, zero payload", V6, 1, NULL, NULL, NULL, 0, 0, 0, 0, OFF_TCP_ACK | OFF_TCP_FIN, 1, 0, 0, 1000, 1},
    {"v6 64K min mss", V6, 0, NULL, NULL, NULL, 0, 0, 0, 0, ALLF, 1, 0, 65535 - 60, OFF_GSO_MSS_MIN, 8185},
};
/* clang-format on */

static uint8_t pkt[PKT_MAX], arena[ARENA], arena2[ARENA], frame[PKT_MAX];
static struct off_gso_seg segs[MAX_SEGS], segs2[MAX_SEGS];

static size_t build(const struct gso_case *c, struct off_pkt_info *pi)
{
        struct off_build_spec s = {
            .ethertype = c->ethertype,
            .l4_proto = IPPROTO_TCP,
            .vlan = c->vlan,
            .ip_opts = c->ip_opts,
            .ip_opts_len = c->ip_opts_len,
            .tcp_opts = c->tcp_opts,
            .tcp_opts_len = c->tcp_opts_len,
            .ext = c->ext,
            .ext_len = c->ext_len,
            .ext_first = c->ext_first,
            .payload_len = c->payload,
            .sport = 40000,
            .dport = 5001,
            .seq = c->seq,
            .ack = 0xabcdef01,
            .tcp_flags = c->flags,
            .ip_id = c->ip_id,
            .saddr = {192, 0, 2, 1},
            .daddr = {198, 51, 100, 7},
        };
        if (c->ethertype == V6) {
                s.saddr[0] = s.daddr[0] = 0x20;
                s.saddr[1] = s.daddr[1] = 0x01;
                s.saddr[2] = s.daddr[2] = 0x0d;
                s.saddr[3] = s.daddr[3] = 0xb8;
        }
        size_t len;
        ck_assert_int_eq(off_build_packet(pkt, sizeof(pkt), &s, &len), 0);
        ck_assert_int_eq(off_parse(pkt, len, OFF_PARSE_GSO, pi), 0);
        return len;
}

static struct off_gso_out out_of(uint8_t *mem, struct off_gso_seg *sg)
{
        struct off_gso_out o = {.mem = mem, .mem_len = ARENA, .segs = sg, .max_segs = MAX_SEGS};
        return o;
}

static size_t flatten(const struct off_gso_seg *s)
{
        memcpy(frame, s->hdr, s->hdr_len);
        memcpy(frame + s->hdr_len, s->payload, s->payload_len);
        return s->hdr_len + (size_t)s->payload_len;
}

/* What a receiver checks, and what must be unchanged from the GSO packet. */
static void check_segment(const struct gso_case *c, const struct off_pkt_info *gpi, size_t flen,
                          uint32_t i, uint32_t n)
{
        struct off_pkt_info pi;
        ck_assert_int_eq(off_parse(frame, flen, 0, &pi), 0);
        ck_assert(pi.flags & OFF_PKT_L4);
        ck_assert_uint_eq(pi.payload_off, gpi->payload_off);
        ck_assert_uint_eq(pi.l3_len + pi.l3_off, flen); /* length fields exact */
        ck_assert(off_csum_l4_ok(frame, flen, &pi));
        const uint8_t *ip = frame + pi.l3_off, *gip = pkt + gpi->l3_off;
        if (c->ethertype == V4) {
                ck_assert_uint_eq(off_csum_buf(ip, pi.l3_hdr_len), 0);
                ck_assert_uint_eq(off_get_be16(ip + 4), (uint16_t)(c->ip_id + i));
                ck_assert_mem_eq(ip + 20, gip + 20, pi.l3_hdr_len - 20u); /* IP options */
                ck_assert_mem_eq(ip + 6, gip + 6, 4);                     /* frag, ttl, proto */
                ck_assert_mem_eq(ip + 12, gip + 12, 8);                   /* addresses */
        } else {
                ck_assert_mem_eq(ip, gip, 4);
                ck_assert_mem_eq(ip + 6, gip + 6, pi.l3_hdr_len - 6u); /* addrs + ext headers */
        }
        ck_assert_mem_eq(frame, pkt, pi.l3_off); /* L2 */
        const uint8_t *th = frame + pi.l4_off, *gth = pkt + gpi->l4_off;
        ck_assert_uint_eq(off_get_be32(th + 4), c->seq + i * (uint32_t)c->mss);
        ck_assert_mem_eq(th, gth, 4);                             /* ports */
        ck_assert_mem_eq(th + 8, gth + 8, 5);                     /* ack, data offset */
        ck_assert_mem_eq(th + 14, gth + 14, 2);                   /* window */
        ck_assert_mem_eq(th + 18, gth + 18, pi.l4_hdr_len - 18u); /* urg ptr + options */
        /* The segmenter sums the shared header bytes once per packet; its
         * checksums must be the very bytes a from-scratch fill writes (a
         * receiver accepts 0x0000 and 0xFFFF alike, so checking validity
         * alone would not tell). */
        static uint8_t scratch[PKT_MAX];
        memcpy(scratch, frame, flen);
        ck_assert_int_eq(off_csum_fill_l4(scratch, flen, &pi), 0);
        if (c->ethertype == V4)
                off_csum_fill_ipv4_hdr(scratch + pi.l3_off, pi.l3_hdr_len);
        ck_assert_mem_eq(scratch, frame, flen);
        uint8_t f = c->flags;
        if (i + 1 < n)
                f &= (uint8_t) ~(OFF_TCP_FIN | OFF_TCP_PSH);
        if (i > 0)
                f &= (uint8_t)~OFF_TCP_CWR;
        ck_assert_uint_eq(th[13], f);
        uint32_t want_len = i + 1 < n ? c->mss : (uint32_t)(c->payload - (size_t)i * c->mss);
        ck_assert_uint_eq(pi.payload_len, want_len);
}

START_TEST(segments_are_valid_and_reassemble)
{
        const struct gso_case *c = &cases[_i];
        struct off_pkt_info gpi;
        size_t len = build(c, &gpi);
        struct off_gso_out o = out_of(arena, segs), o2 = out_of(arena2, segs2);
        ck_assert_uint_eq(off_gso_seg_count(&gpi, c->mss), c->want_segs);
        ck_assert_int_eq(off_gso_segment(pkt, len, &gpi, c->mss, OFF_GSO_SLICE, &o), 0);
        ck_assert_int_eq(off_gso_segment(pkt, len, &gpi, c->mss, OFF_GSO_COPY, &o2), 0);
        ck_assert_uint_eq(o.nsegs, c->want_segs);
        ck_assert_uint_eq(o2.nsegs, c->want_segs);
        ck_assert_uint_eq(o.mem_used, off_gso_mem_needed(&gpi, c->mss, OFF_GSO_SLICE));
        ck_assert_uint_eq(o2.mem_used, off_gso_mem_needed(&gpi, c->mss, OFF_GSO_COPY));

        size_t reassembled = 0;
        for (uint32_t i = 0; i < o.nsegs; i++) {
                /* zero-copy: the payload is a slice of the input */
                ck_assert_ptr_eq(segs[i].payload, pkt + gpi.payload_off + reassembled);
                ck_assert_ptr_eq(segs2[i].payload, segs2[i].hdr + segs2[i].hdr_len);
                ck_assert_mem_eq(segs[i].payload, pkt + gpi.payload_off + reassembled,
                                 segs[i].payload_len);
                reassembled += segs[i].payload_len;
                size_t flen = flatten(&segs2[i]);
                static uint8_t copy_frame[PKT_MAX];
                memcpy(copy_frame, frame, flen);
                ck_assert_uint_eq(flatten(&segs[i]), flen);
                ck_assert_mem_eq(copy_frame, frame, flen); /* both modes agree */
                check_segment(c, &gpi, flen, i, o.nsegs);
        }
        ck_assert_uint_eq(reassembled, c->payload);
}
END_TEST

START_TEST(refusals)
{
        struct off_pkt_info gpi;
        size_t len = build(&cases[0], &gpi);
        struct off_gso_out o = out_of(arena, segs);

        ck_assert_int_eq(off_gso_segment(pkt, len, &gpi, OFF_GSO_MSS_MIN - 1, OFF_GSO_SLICE, &o),
                         -ERANGE);
        ck_assert_int_eq(off_gso_segment(pkt, len, &gpi, 0, OFF_GSO_SLICE, &o), -ERANGE);
        ck_assert_int_eq(off_gso_segment_tcp6(pkt, len, &gpi, 1448, OFF_GSO_SLICE, &o), -EINVAL);
        ck_assert_int_eq(off_gso_segment(pkt, len - 1, &gpi, 1448, OFF_GSO_SLICE, &o), -EINVAL);

        o.max_segs = 2; /* needs 3 */
        ck_assert_int_eq(off_gso_segment(pkt, len, &gpi, 1448, OFF_GSO_SLICE, &o), -ENOSPC);
        o = out_of(arena, segs);
        o.mem_len = off_gso_mem_needed(&gpi, 1448, OFF_GSO_COPY) - 1;
        ck_assert_int_eq(off_gso_segment(pkt, len, &gpi, 1448, OFF_GSO_COPY, &o), -ENOSPC);
        o.mem_len++;
        ck_assert_int_eq(off_gso_segment(pkt, len, &gpi, 1448, OFF_GSO_COPY, &o), 0);

        struct off_pkt_info bad = gpi;
        bad.l4_proto = IPPROTO_UDP;
        ck_assert_int_eq(off_gso_segment(pkt, len, &bad, 1448, OFF_GSO_SLICE, &o), -EINVAL);
        bad = gpi;
        bad.flags |= OFF_PKT_FRAGMENT;
        ck_assert_int_eq(off_gso_segment(pkt, len, &bad, 1448, OFF_GSO_SLICE, &o), -EINVAL);
        bad = gpi;
        bad.flags &= ~(uint32_t)OFF_PKT_L4;
        ck_assert_int_eq(off_gso_segment(pkt, len, &bad, 1448, OFF_GSO_SLICE, &o), -EINVAL);
        bad.ethertype = 0x0806;
        ck_assert_int_eq(off_gso_segment(pkt, len, &bad, 1448, OFF_GSO_SLICE, &o), -EINVAL);
        ck_assert_int_eq(off_gso_segment(pkt, len, NULL, 1448, OFF_GSO_SLICE, &o), -EINVAL);
}
END_TEST

/* Turns of at most @max segments in at most @mem bytes give, one after the
 * other, the very segments of one whole run; every turn but the last is as
 * long as the limits allow. */
static void check_turns(const struct gso_case *c, enum off_gso_mode mode, uint32_t max, size_t mem)
{
        struct off_pkt_info gpi;
        size_t len = build(c, &gpi);
        struct off_gso_out whole = out_of(arena, segs);
        ck_assert_int_eq(off_gso_segment(pkt, len, &gpi, c->mss, mode, &whole), 0);
        size_t per = gpi.payload_off + (mode == OFF_GSO_COPY ? c->mss : 0);
        uint32_t want_n = max < mem / per ? max : (uint32_t)(mem / per);
        uint32_t first = 0, turns = 0;
        size_t used = 0;
        while (first < whole.nsegs) {
                struct off_gso_out o = {
                    .mem = arena2, .mem_len = mem, .segs = segs2, .max_segs = max};
                memset(arena2, 0xee, mem);
                ck_assert_int_eq(off_gso_segment_from(pkt, len, &gpi, c->mss, first, mode, &o), 0);
                uint32_t left = whole.nsegs - first;
                ck_assert_msg(o.nsegs == (left < want_n ? left : want_n) ||
                                  (o.nsegs == left && left == want_n + 1),
                              "%s: turn at %u made %u of %u left (limit %u)", c->name, first,
                              o.nsegs, left, want_n);
                for (uint32_t i = 0; i < o.nsegs; i++) {
                        const struct off_gso_seg *a = &segs[first + i], *b = &segs2[i];
                        ck_assert_uint_eq(a->hdr_len, b->hdr_len);
                        ck_assert_uint_eq(a->payload_len, b->payload_len);
                        ck_assert_mem_eq(a->hdr, b->hdr, a->hdr_len);
                        ck_assert_mem_eq(a->payload, b->payload, a->payload_len);
                        if (mode == OFF_GSO_SLICE)
                                ck_assert_ptr_eq(a->payload, b->payload);
                }
                ck_assert_uint_le(o.mem_used, mem);
                used += o.mem_used;
                first += o.nsegs;
                turns++;
        }
        ck_assert_uint_eq(used, whole.mem_used);
        ck_assert_uint_ge(turns, (whole.nsegs + max - 1) / max);
}

/* Turns limited by the segment array, then by memory: in memory, the last
 * segment is short, so one more than a full-size prefix may fit. */
START_TEST(turns_give_the_same_segments)
{
        const struct gso_case *c = &cases[_i];
        const enum off_gso_mode modes[] = {OFF_GSO_SLICE, OFF_GSO_COPY};
        for (size_t m = 0; m < 2; m++) {
                struct off_pkt_info gpi;
                build(c, &gpi);
                size_t per = gpi.payload_off + (modes[m] == OFF_GSO_COPY ? c->mss : 0);
                check_turns(c, modes[m], 7, ARENA);
                check_turns(c, modes[m], MAX_SEGS, 3 * per + per / 2);
                check_turns(c, modes[m], 1, per);
        }
}
END_TEST

START_TEST(turn_refusals)
{
        struct off_pkt_info gpi;
        size_t len = build(&cases[0], &gpi); /* 4000 bytes at 1448: 3 segments */
        struct off_gso_out o = out_of(arena, segs);

        ck_assert_int_eq(off_gso_segment_from(pkt, len, &gpi, 1448, 2, OFF_GSO_COPY, &o), 0);
        ck_assert_uint_eq(o.nsegs, 1);
        ck_assert_uint_eq(o.segs[0].payload_len, 4000 - 2 * 1448);
        ck_assert_int_eq(off_gso_segment_from(pkt, len, &gpi, 1448, 3, OFF_GSO_COPY, &o), -EINVAL);
        ck_assert_int_eq(
            off_gso_segment_from(pkt, len, &gpi, OFF_GSO_MSS_MIN - 1, 0, OFF_GSO_COPY, &o),
            -ERANGE);
        ck_assert_int_eq(off_gso_segment_from(pkt, len, &gpi, 1448, 0, OFF_GSO_COPY, NULL),
                         -EINVAL);
        ck_assert_int_eq(off_gso_segment_from(pkt, len, NULL, 1448, 0, OFF_GSO_COPY, &o), -EINVAL);
        o.max_segs = 0;
        ck_assert_int_eq(off_gso_segment_from(pkt, len, &gpi, 1448, 0, OFF_GSO_COPY, &o), -ENOSPC);
        o = out_of(arena, segs);
        o.mem_len = gpi.payload_off + 1448 - 1; /* one byte short of a segment */
        ck_assert_int_eq(off_gso_segment_from(pkt, len, &gpi, 1448, 0, OFF_GSO_COPY, &o), -ENOSPC);
        /* The short last segment fits where a full one would not. */
        ck_assert_int_eq(off_gso_segment_from(pkt, len, &gpi, 1448, 2, OFF_GSO_COPY, &o), 0);
        ck_assert_uint_eq(o.nsegs, 1);
}
END_TEST

/* A first segment whose IPv4 total length would exceed 65535 is refused. */
START_TEST(segment_length_overflow)
{
        const struct gso_case c = {
            "v4 huge mss", V4, 0, ip_opts_max, tcp_opts_max, NULL, 40, 40, 0, 0,
            ALLF,          1,  1, 65419,       65418,        2};
        struct off_pkt_info gpi;
        size_t len = build(&c, &gpi);
        struct off_gso_out o = out_of(arena, segs);
        ck_assert_int_eq(off_gso_segment(pkt, len, &gpi, c.mss, OFF_GSO_SLICE, &o), -EMSGSIZE);
        ck_assert_int_eq(off_gso_segment(pkt, len, &gpi, 65415, OFF_GSO_SLICE, &o), 0);
        ck_assert_uint_eq(o.nsegs, 2);
}
END_TEST

/* The input's checksum field is ignored: garbage there changes nothing. */
START_TEST(input_checksum_field_ignored)
{
        struct off_pkt_info gpi;
        size_t len = build(&cases[1], &gpi);
        struct off_gso_out o = out_of(arena, segs), o2 = out_of(arena2, segs2);
        ck_assert_int_eq(off_gso_segment(pkt, len, &gpi, 1001, OFF_GSO_COPY, &o), 0);
        off_put_be16(pkt + gpi.l4_off + 16, 0xdead);
        ck_assert_int_eq(off_gso_segment(pkt, len, &gpi, 1001, OFF_GSO_COPY, &o2), 0);
        ck_assert_mem_eq(arena, arena2, o.mem_used);
}
END_TEST

/* Every checksum variant this CPU runs yields the same segments, byte for
 * byte, as the portable one, in both modes. */
START_TEST(checksum_variants_agree)
{
        const struct gso_case *c = &cases[_i];
        struct off_pkt_info gpi;
        size_t len = build(c, &gpi);
        const struct off_csum_impl *best = off_csum_impl_active(), *impl;
        const enum off_gso_mode modes[] = {OFF_GSO_SLICE, OFF_GSO_COPY};
        for (size_t m = 0; m < 2; m++) {
                ck_assert_int_eq(off_csum_impl_use(&off_csum_impl_portable), 0);
                struct off_gso_out ref = out_of(arena, segs);
                ck_assert_int_eq(off_gso_segment(pkt, len, &gpi, c->mss, modes[m], &ref), 0);
                for (size_t v = 0; (impl = off_csum_impl_at(v)) != NULL; v++) {
                        if (off_csum_impl_use(impl) != 0)
                                continue;
                        struct off_gso_out o = out_of(arena2, segs2);
                        memset(arena2, 0, ref.mem_used);
                        ck_assert_int_eq(off_gso_segment(pkt, len, &gpi, c->mss, modes[m], &o), 0);
                        ck_assert_uint_eq(o.mem_used, ref.mem_used);
                        ck_assert_msg(memcmp(arena, arena2, ref.mem_used) == 0,
                                      "%s: variant %s, mode %zu differs", c->name, impl->name, m);
                }
        }
        ck_assert_int_eq(off_csum_impl_use(best), 0);
}
END_TEST

static Suite *off_gso_suite(void)
{
        Suite *s = suite_create("off_gso");
        TCase *tc = tcase_create("core");
        tcase_add_loop_test(tc, segments_are_valid_and_reassemble, 0,
                            (int)(sizeof(cases) / sizeof(cases[0])));
        tcase_add_loop_test(tc, checksum_variants_agree, 0,
                            (int)(sizeof(cases) / sizeof(cases[0])));
        tcase_add_loop_test(tc, turns_give_the_same_segments, 0,
                            (int)(sizeof(cases) / sizeof(cases[0])));
        tcase_add_test(tc, refusals);
        tcase_add_test(tc, turn_refusals);
        tcase_add_test(tc, segment_length_overflow);
        tcase_add_test(tc, input_checksum_field_ignored);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(off_gso_suite)
