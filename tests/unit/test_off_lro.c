/* off_lro: one case per flush reason (table-driven), interleaved flows,
 * out-of-order and retransmitted segments, IPv4/IPv6 (extension headers and
 * refusal), options, the 64 KiB boundary, table-full eviction, the age
 * bound, pass-through of pure ACKs, a randomized order/ownership property,
 * and the round trip off_gso_segment -> off_lro == the original packet. */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "check_main.h"
#include "offload/off_build.h"
#include "offload/off_bytes.h"
#include "offload/off_csum.h"
#include "offload/off_gso.h"
#include "offload/off_lro.h"

#define FRAME_CAP  (OFF_LRO_FRAME_MAX + 64)
#define STREAM_LEN (256 * 1024)
#define MAX_RECS   64
#define MSS        1000
#define ISN        0xFFFFF000u /* streams cross the 2^32 sequence wrap */
#define ACK0       0x01020304u
#define WIN0       512
#define ID0        100
#define SPORT      40000
#define DPORT      5001
#define TCP_CHECK  16

static const uint8_t opts_ts[] = {0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 7, 0, 0, 0, 9};
static const uint8_t opts_ts2[] = {0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 8, 0, 0, 0, 9};
static const uint8_t ip_opts_nop[] = {0x01, 0x01, 0x01, 0x00};
static const uint8_t ext_hbh_dst[] = {IPPROTO_DSTOPTS, 0, 1, 4, 0, 0, 0, 0,
                                      IPPROTO_TCP,     0, 1, 4, 0, 0, 0, 0};
static const uint8_t ext_ah[] = {IPPROTO_TCP, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1};

static uint8_t stream[STREAM_LEN];
static uint8_t frame[FRAME_CAP];
static struct off_lro *lro;
static struct off_lro_pkt pkts[OFF_LRO_FLOWS_MAX + 1];

struct rec {
        struct off_lro_pkt p;
        uint8_t *data;
};
static struct rec recs[MAX_RECS];
static uint32_t nrecs;

/* ---- harness ---- */

static void make_lro(uint32_t flows, uint64_t age_ns, uint32_t max_size)
{
        struct off_lro_config c = {.max_flows = flows, .max_age_ns = age_ns, .max_size = max_size};
        off_lro_destroy(lro);
        lro = NULL;
        ck_assert_int_eq(off_lro_create(&c, &lro), 0);
}

static void setup(void)
{
        for (size_t i = 0; i < STREAM_LEN; i++)
                stream[i] = off_build_pattern(77, i);
        make_lro(0, 1000000000ull, 0);
        nrecs = 0;
}

static void teardown(void)
{
        for (uint32_t i = 0; i < nrecs; i++)
                free(recs[i].data);
        nrecs = 0;
        off_lro_destroy(lro);
        lro = NULL;
}

/* Emitted data is valid only until the next call: keep a copy. */
static void collect(const struct off_lro_out *o)
{
        for (uint32_t i = 0; i < o->n; i++) {
                ck_assert_uint_lt(nrecs, MAX_RECS);
                struct rec *r = &recs[nrecs++];
                r->p = o->pkts[i];
                r->data = malloc(o->pkts[i].len);
                ck_assert_ptr_nonnull(r->data);
                memcpy(r->data, o->pkts[i].data, o->pkts[i].len);
        }
}

static void feed(const uint8_t *f, size_t len, uint32_t rx, uint64_t now)
{
        struct off_lro_out o = {.pkts = pkts, .max = OFF_LRO_FLOWS_MAX + 1};
        ck_assert_int_eq(off_lro_add(lro, f, len, rx, now, &o), 0);
        collect(&o);
}

static void flush(uint64_t now)
{
        struct off_lro_out o = {.pkts = pkts, .max = OFF_LRO_FLOWS_MAX + 1};
        ck_assert_int_eq(off_lro_flush_all(lro, now, &o), 0);
        collect(&o);
        ck_assert_uint_eq(off_lro_held(lro), 0);
}

/* A segment of the test stream: payload = stream[seq - ISN ...]. */
static struct off_build_spec seg_spec(int v6, uint32_t idx, size_t plen)
{
        struct off_build_spec s = {
            .ethertype = v6 ? OFF_ETH_P_IPV6 : OFF_ETH_P_IPV4,
            .l4_proto = IPPROTO_TCP,
            .dst_mac = {2, 0, 0, 0, 0, 2},
            .src_mac = {2, 0, 0, 0, 0, 1},
            .saddr = {192, 0, 2, 1},
            .daddr = {198, 51, 100, 7},
            .sport = SPORT,
            .dport = DPORT,
            .seq = ISN + idx * MSS,
            .ack = ACK0,
            .tcp_flags = OFF_TCP_ACK,
            .tcp_window = WIN0,
            .ip_id = (uint16_t)(ID0 + idx),
            .tcp_opts = opts_ts,
            .tcp_opts_len = sizeof(opts_ts),
            .payload = stream + (size_t)idx * MSS,
            .payload_len = plen,
        };
        if (v6) {
                memset(s.saddr, 0, sizeof(s.saddr));
                memset(s.daddr, 0, sizeof(s.daddr));
                s.saddr[0] = s.daddr[0] = 0x20;
                s.saddr[1] = s.daddr[1] = 0x01;
                s.saddr[15] = 1;
                s.daddr[15] = 2;
        }
        return s;
}

/* Builds the frame with valid IPv4 header and TCP checksums. */
static size_t build(const struct off_build_spec *s, uint8_t *buf, struct off_pkt_info *pi)
{
        size_t len;
        ck_assert_int_eq(off_build_packet(buf, FRAME_CAP, s, &len), 0);
        ck_assert_int_eq(off_parse(buf, len, 0, pi), 0);
        ck_assert_int_eq(off_csum_fill_l4(buf, len, pi), 0);
        return len;
}

/* Recomputes both checksums after a test edited header bytes. */
static void refill(uint8_t *buf, size_t len, const struct off_pkt_info *pi)
{
        if (pi->ethertype == OFF_ETH_P_IPV4)
                off_csum_fill_ipv4_hdr(buf + pi->l3_off, pi->l3_hdr_len);
        ck_assert_int_eq(off_csum_fill_l4(buf, len, pi), 0);
}

static void feed_seg(int v6, uint32_t idx, size_t plen, uint64_t now)
{
        struct off_build_spec s = seg_spec(v6, idx, plen);
        struct off_pkt_info pi;
        size_t len = build(&s, frame, &pi);
        feed(frame, len, OFF_LRO_RX_CSUM_VALID, now);
}

/* What a guest checks of every packet it receives. */
static void check_rec_valid(const struct rec *r)
{
        struct off_pkt_info pi;
        ck_assert_int_eq(off_parse(r->data, r->p.len, 0, &pi), 0);
        ck_assert(pi.flags & OFF_PKT_L4);
        ck_assert_uint_eq(pi.l3_off + pi.l3_len, r->p.len);
        ck_assert_uint_eq(r->p.hdr_len, pi.payload_off);
        if (pi.ethertype == OFF_ETH_P_IPV4)
                ck_assert_uint_eq(off_csum_buf(r->data + pi.l3_off, pi.l3_hdr_len), 0);
        if (r->p.csum == OFF_LRO_CSUM_PARTIAL) {
                static uint8_t tmp[FRAME_CAP];
                ck_assert_uint_eq(r->p.csum_start, pi.l4_off);
                ck_assert_uint_eq(r->p.csum_offset, TCP_CHECK);
                uint16_t seed = off_csum_fold(off_csum_pseudo(r->data, &pi, pi.l4_len));
                ck_assert_uint_eq(off_get_raw16(r->data + pi.l4_off + TCP_CHECK), seed);
                memcpy(tmp, r->data, r->p.len);
                ck_assert_int_eq(
                    off_csum_complete_partial(tmp, r->p.len, r->p.csum_start, r->p.csum_offset), 0);
                ck_assert(off_csum_l4_ok(tmp, r->p.len, &pi));
        } else {
                ck_assert_int_eq(r->p.csum, OFF_LRO_CSUM_VALID);
                ck_assert(off_csum_l4_ok(r->data, r->p.len, &pi));
        }
}

/* A merged record carries stream[first * MSS ...] and matching metadata. */
static void check_rec_stream(const struct rec *r, uint32_t first, uint32_t segs, size_t bytes)
{
        struct off_pkt_info pi;
        check_rec_valid(r);
        ck_assert_int_eq(off_parse(r->data, r->p.len, 0, &pi), 0);
        ck_assert_uint_eq(r->p.gso_segs, segs);
        ck_assert_uint_eq(pi.payload_len, bytes);
        ck_assert_mem_eq(r->data + pi.payload_off, stream + (size_t)first * MSS, bytes);
        ck_assert_uint_eq(off_get_be32(r->data + pi.l4_off + 4), ISN + first * MSS);
        if (segs > 1) {
                ck_assert_int_eq(r->p.gso_type, pi.ethertype == OFF_ETH_P_IPV4 ? OFF_LRO_GSO_TCPV4
                                                                               : OFF_LRO_GSO_TCPV6);
                ck_assert_uint_eq(r->p.gso_size, MSS);
                ck_assert_int_eq(r->p.csum, OFF_LRO_CSUM_PARTIAL);
        } else {
                ck_assert_int_eq(r->p.gso_type, OFF_LRO_GSO_NONE);
        }
}

/* ---- one case per flush reason: 3 in-order segments, then a 4th ---- */

struct expect {
        uint16_t segs; /* 0 ends the list */
        uint8_t pass;
        enum off_lro_reason reason;
};

struct flush_case {
        const char *name;
        int v6;
        void (*spec)(struct off_build_spec *s);                          /* before building */
        size_t (*edit)(uint8_t *f, size_t len, struct off_pkt_info *pi); /* after */
        uint32_t rx;
        struct expect want[4];
};

static void sp_psh(struct off_build_spec *s)
{
        s->tcp_flags |= OFF_TCP_PSH;
}
static void sp_fin(struct off_build_spec *s)
{
        s->tcp_flags |= OFF_TCP_FIN;
}
static void sp_syn(struct off_build_spec *s)
{
        s->tcp_flags |= OFF_TCP_SYN;
}
static void sp_rst(struct off_build_spec *s)
{
        s->tcp_flags |= OFF_TCP_RST;
}
static void sp_urg(struct off_build_spec *s)
{
        s->tcp_flags |= OFF_TCP_URG;
}
static void sp_ece(struct off_build_spec *s)
{
        s->tcp_flags |= OFF_TCP_ECE;
}
static void sp_cwr(struct off_build_spec *s)
{
        s->tcp_flags |= OFF_TCP_CWR;
}
static void sp_gap(struct off_build_spec *s)
{
        s->seq += MSS;
        s->payload += MSS;
}
static void sp_rexmit(struct off_build_spec *s)
{
        s->seq -= 2 * MSS;
        s->payload -= 2 * MSS;
}
static void sp_tsval(struct off_build_spec *s)
{
        s->tcp_opts = opts_ts2;
}
static void sp_noopts(struct off_build_spec *s)
{
        s->tcp_opts = NULL;
        s->tcp_opts_len = 0;
}
static void sp_ack(struct off_build_spec *s)
{
        s->ack += 1448;
}
static void sp_win(struct off_build_spec *s)
{
        s->tcp_window++;
}
static void sp_ttl(struct off_build_spec *s)
{
        s->ip_ttl = 63;
}
static void sp_id(struct off_build_spec *s)
{
        s->ip_id += 7;
}
static void sp_ipopts(struct off_build_spec *s)
{
        s->ip_opts = ip_opts_nop;
        s->ip_opts_len = 4;
}
static void sp_mac(struct off_build_spec *s)
{
        s->src_mac[5] = 9;
}
static void sp_big(struct off_build_spec *s)
{
        s->payload_len = MSS + 1;
}
static void sp_short(struct off_build_spec *s)
{
        s->payload_len = MSS - 1;
}
static void sp_empty(struct off_build_spec *s)
{
        s->payload_len = 0;
}
static void sp_udp(struct off_build_spec *s)
{
        s->l4_proto = IPPROTO_UDP;
        s->tcp_opts_len = 0;
}

static size_t ed_tos(uint8_t *f, size_t len, struct off_pkt_info *pi)
{
        f[pi->l3_off + 1] = 0x10;
        refill(f, len, pi);
        return len;
}
static size_t ed_nodf(uint8_t *f, size_t len, struct off_pkt_info *pi)
{
        f[pi->l3_off + 6] = 0;
        refill(f, len, pi);
        return len;
}
static size_t ed_corrupt(uint8_t *f, size_t len, struct off_pkt_info *pi)
{
        f[len - 1] ^= 0x5a;
        return len;
}
static size_t ed_pad(uint8_t *f, size_t len, struct off_pkt_info *pi)
{
        f[len] = f[len + 1] = 0;
        return len + 2;
}
static size_t ed_flowlabel(uint8_t *f, size_t len, struct off_pkt_info *pi)
{
        f[pi->l3_off + 3] = 0x42;
        return len;
}
static size_t ed_tclass(uint8_t *f, size_t len, struct off_pkt_info *pi)
{
        f[pi->l3_off + 1] |= 0x40; /* low nibble of the traffic class */
        return len;
}
static size_t ed_hoplimit(uint8_t *f, size_t len, struct off_pkt_info *pi)
{
        f[pi->l3_off + 7] = 1;
        return len;
}

#define VALID      OFF_LRO_RX_CSUM_VALID
#define BAD        OFF_LRO_RX_CSUM_BAD
#define UNVERIFIED OFF_LRO_RX_CSUM_NONE
#define HELD(n, r)                                                                                 \
        {                                                                                          \
                n, 0, OFF_LRO_R_##r                                                                \
        }
#define PASSED(r)                                                                                  \
        {                                                                                          \
                1, 1, OFF_LRO_R_##r                                                                \
        }
#define THEN_NEW HELD(1, BATCH)

static const struct flush_case flush_cases[] = {
    {"psh: merged, then emitted", 0, sp_psh, NULL, VALID, {HELD(4, PSH)}},
    {"fin: merged, then emitted", 0, sp_fin, NULL, VALID, {HELD(4, CTRL)}},
    {"syn", 0, sp_syn, NULL, VALID, {HELD(3, CTRL), PASSED(CTRL)}},
    {"rst", 0, sp_rst, NULL, VALID, {HELD(3, CTRL), PASSED(CTRL)}},
    {"urg", 0, sp_urg, NULL, VALID, {HELD(3, CTRL), PASSED(CTRL)}},
    {"sequence gap", 0, sp_gap, NULL, VALID, {HELD(3, SEQ), THEN_NEW}},
    {"retransmission", 0, sp_rexmit, NULL, VALID, {HELD(3, SEQ), THEN_NEW}},
    {"timestamp changed", 0, sp_tsval, NULL, VALID, {HELD(3, TCP_OPTS), THEN_NEW}},
    {"options removed", 0, sp_noopts, NULL, VALID, {HELD(3, TCP_OPTS), THEN_NEW}},
    {"ack changed", 0, sp_ack, NULL, VALID, {HELD(3, TCP_HDR), THEN_NEW}},
    {"window changed", 0, sp_win, NULL, VALID, {HELD(3, TCP_HDR), THEN_NEW}},
    {"ece set", 0, sp_ece, NULL, VALID, {HELD(3, TCP_HDR), THEN_NEW}},
    {"cwr is delivered alone", 0, sp_cwr, NULL, VALID, {HELD(3, CTRL), PASSED(CTRL)}},
    {"ttl changed", 0, sp_ttl, NULL, VALID, {HELD(3, IP_HDR), THEN_NEW}},
    {"tos changed", 0, NULL, ed_tos, VALID, {HELD(3, IP_HDR), THEN_NEW}},
    {"df cleared", 0, NULL, ed_nodf, VALID, {HELD(3, IP_HDR), THEN_NEW}},
    {"ip id jumps", 0, sp_id, NULL, VALID, {HELD(3, IP_HDR), THEN_NEW}},
    {"ip options: never merged", 0, sp_ipopts, NULL, VALID, {HELD(3, IP_HDR), PASSED(IP_HDR)}},
    {"link padding: never merged", 0, NULL, ed_pad, VALID, {HELD(3, IP_HDR), PASSED(IP_HDR)}},
    {"mac changed", 0, sp_mac, NULL, VALID, {HELD(3, IP_HDR), THEN_NEW}},
    {"larger than gso_size", 0, sp_big, NULL, VALID, {HELD(3, SIZE), THEN_NEW}},
    {"short segment: merged, ends", 0, sp_short, NULL, VALID, {HELD(4, SHORT)}},
    {"pure ack passes", 0, sp_empty, NULL, VALID, {HELD(3, NO_PAYLOAD), PASSED(NO_PAYLOAD)}},
    {"known bad checksum", 0, NULL, NULL, BAD, {HELD(3, BAD_CSUM), PASSED(BAD_CSUM)}},
    {"unverified, corrupt", 0, NULL, ed_corrupt, UNVERIFIED, {HELD(3, BAD_CSUM), PASSED(BAD_CSUM)}},
    {"unverified, good: merged", 0, NULL, NULL, UNVERIFIED, {HELD(4, BATCH)}},
    {"udp between: held packet kept", 0, sp_udp, NULL, VALID, {PASSED(NOT_TCP), HELD(3, BATCH)}},
    {"gso frame", 0, NULL, NULL, VALID | OFF_LRO_RX_GSO, {HELD(3, GSO), PASSED(GSO)}},
    {"v6 psh", 1, sp_psh, NULL, VALID, {HELD(4, PSH)}},
    {"v6 sequence gap", 1, sp_gap, NULL, VALID, {HELD(3, SEQ), THEN_NEW}},
    {"v6 flow label", 1, NULL, ed_flowlabel, VALID, {HELD(3, IP_HDR), THEN_NEW}},
    {"v6 traffic class", 1, NULL, ed_tclass, VALID, {HELD(3, IP_HDR), THEN_NEW}},
    {"v6 hop limit", 1, NULL, ed_hoplimit, VALID, {HELD(3, IP_HDR), THEN_NEW}},
    {"v6 pure ack", 1, sp_empty, NULL, VALID, {HELD(3, NO_PAYLOAD), PASSED(NO_PAYLOAD)}},
};

START_TEST(flush_reasons)
{
        const struct flush_case *c = &flush_cases[_i];
        for (uint32_t i = 0; i < 3; i++)
                feed_seg(c->v6, i, MSS, i);
        ck_assert_uint_eq(nrecs, 0);
        ck_assert_uint_eq(off_lro_held(lro), 1);

        struct off_build_spec s = seg_spec(c->v6, 3, MSS);
        if (c->spec)
                c->spec(&s);
        struct off_pkt_info pi;
        size_t len = build(&s, frame, &pi);
        if (c->edit)
                len = c->edit(frame, len, &pi);
        feed(frame, len, c->rx, 3);
        flush(4);

        uint32_t n = 0;
        while (n < 4 && c->want[n].segs)
                n++;
        ck_assert_msg(nrecs == n, "%s: %u packets emitted, want %u", c->name, nrecs, n);
        for (uint32_t i = 0; i < n; i++) {
                const struct rec *r = &recs[i];
                int pass = !!(r->p.flags & OFF_LRO_PKT_PASS);
                ck_assert_msg(r->p.gso_segs == c->want[i].segs &&
                                  r->p.reason == c->want[i].reason && pass == c->want[i].pass,
                              "%s: packet %u has %u segs, %s, pass %d", c->name, i, r->p.gso_segs,
                              off_lro_reason_str(r->p.reason), pass);
                if (r->p.flags & OFF_LRO_PKT_PASS)
                        ck_assert_msg(r->p.len == len && memcmp(r->data, frame, len) == 0,
                                      "%s: passed frame altered", c->name);
        }
        /* The first packet is always the three clean segments. */
        const struct rec *r3 = recs[0].p.flags & OFF_LRO_PKT_PASS ? &recs[1] : &recs[0];
        if (r3->p.gso_segs == 3)
                check_rec_stream(r3, 0, 3, 3 * MSS);
        const struct off_lro_stats *st = off_lro_get_stats(lro);
        ck_assert_uint_eq(st->frames, 4);
        ck_assert_uint_eq(st->flush[c->want[0].reason] + st->pass[c->want[0].reason] >= 1, 1);
}
END_TEST

/* PSH/FIN are OR'ed into the merged header (tcp_gro_receive), not lost. */
START_TEST(psh_fin_carried_into_header)
{
        for (uint32_t i = 0; i < 2; i++)
                feed_seg(0, i, MSS, 0);
        struct off_build_spec s = seg_spec(0, 2, MSS);
        s.tcp_flags |= OFF_TCP_PSH | OFF_TCP_FIN;
        struct off_pkt_info pi;
        size_t len = build(&s, frame, &pi);
        feed(frame, len, VALID, 0);
        ck_assert_uint_eq(nrecs, 1);
        check_rec_stream(&recs[0], 0, 3, 3 * MSS);
        ck_assert_uint_eq(recs[0].data[pi.l4_off + 13], OFF_TCP_ACK | OFF_TCP_PSH | OFF_TCP_FIN);
}
END_TEST

/* A CWR segment is never held (Linux 6.18): the segments after it start a
 * new packet, which therefore never carries CWR (no SKB_GSO_TCP_ECN). */
START_TEST(cwr_is_delivered_alone)
{
        feed_seg(0, 0, MSS, 0);
        struct off_build_spec s = seg_spec(0, 1, MSS);
        s.tcp_flags |= OFF_TCP_CWR;
        struct off_pkt_info pi;
        size_t len = build(&s, frame, &pi);
        feed(frame, len, VALID, 0);
        feed_seg(0, 2, MSS, 0);
        feed_seg(0, 3, MSS, 0);
        flush(1);
        ck_assert_uint_eq(nrecs, 3);
        check_rec_stream(&recs[0], 0, 1, MSS);
        ck_assert(recs[1].p.flags & OFF_LRO_PKT_PASS);
        ck_assert_int_eq(recs[1].p.reason, OFF_LRO_R_CTRL);
        check_rec_stream(&recs[2], 2, 2, 2 * MSS);
}
END_TEST

/* inet_gro_flush: the second segment decides fixed vs incrementing IDs. */
START_TEST(ipv4_fixed_ids)
{
        for (uint32_t i = 0; i < 4; i++) {
                struct off_build_spec s = seg_spec(0, i, MSS);
                s.ip_id = 555;
                struct off_pkt_info pi;
                size_t len = build(&s, frame, &pi);
                feed(frame, len, VALID, 0);
        }
        /* then an incrementing ID breaks the fixed flow */
        struct off_build_spec s = seg_spec(0, 4, MSS);
        s.ip_id = 556;
        struct off_pkt_info pi;
        size_t len = build(&s, frame, &pi);
        feed(frame, len, VALID, 0);
        flush(0);
        ck_assert_uint_eq(nrecs, 2);
        check_rec_stream(&recs[0], 0, 4, 4 * MSS);
        ck_assert(recs[0].p.flags & OFF_LRO_PKT_FIXEDID);
        ck_assert_int_eq(recs[0].p.reason, OFF_LRO_R_IP_HDR);
        ck_assert_uint_eq(off_get_be16(recs[0].data + pi.l3_off + 4), 555);
        check_rec_stream(&recs[1], 4, 1, MSS);
}
END_TEST

START_TEST(ipv4_id_wraps)
{
        for (uint32_t i = 0; i < 4; i++) {
                struct off_build_spec s = seg_spec(0, i, MSS);
                s.ip_id = (uint16_t)(0xFFFE + i);
                struct off_pkt_info pi;
                size_t len = build(&s, frame, &pi);
                feed(frame, len, VALID, 0);
        }
        flush(0);
        ck_assert_uint_eq(nrecs, 1);
        check_rec_stream(&recs[0], 0, 4, 4 * MSS);
        ck_assert(!(recs[0].p.flags & OFF_LRO_PKT_FIXEDID));
}
END_TEST

/* Header of a merged packet: the first segment's, with lengths fixed. */
START_TEST(merged_header_fields)
{
        for (uint32_t i = 0; i < 5; i++)
                feed_seg(0, i, MSS, 0);
        flush(0);
        ck_assert_uint_eq(nrecs, 1);
        struct off_build_spec s = seg_spec(0, 0, MSS);
        struct off_pkt_info pi;
        build(&s, frame, &pi);
        const uint8_t *m = recs[0].data;
        ck_assert_mem_eq(m, frame, pi.l3_off + 2u); /* L2, ver/ihl, tos */
        ck_assert_uint_eq(off_get_be16(m + pi.l3_off + 2), pi.l3_hdr_len + pi.l4_hdr_len + 5 * MSS);
        ck_assert_mem_eq(m + pi.l3_off + 4, frame + pi.l3_off + 4, 6); /* id, frag, ttl, proto */
        ck_assert_mem_eq(m + pi.l3_off + 12, frame + pi.l3_off + 12, 8);
        ck_assert_mem_eq(m + pi.l4_off, frame + pi.l4_off, 16); /* ports .. window */
        ck_assert_mem_eq(m + pi.l4_off + 18, frame + pi.l4_off + 18, pi.l4_hdr_len - 18u);
        check_rec_stream(&recs[0], 0, 5, 5 * MSS);
}
END_TEST

START_TEST(ipv6_extension_headers)
{
        for (uint32_t i = 0; i < 4; i++) {
                struct off_build_spec s = seg_spec(1, i, MSS);
                s.ext = ext_hbh_dst;
                s.ext_len = sizeof(ext_hbh_dst);
                s.ext_first = IPPROTO_HOPOPTS;
                struct off_pkt_info pi;
                size_t len = build(&s, frame, &pi);
                feed(frame, len, VALID, 0);
        }
        flush(0);
        ck_assert_uint_eq(nrecs, 1);
        check_rec_stream(&recs[0], 0, 4, 4 * MSS);
        struct off_pkt_info pi;
        ck_assert_int_eq(off_parse(recs[0].data, recs[0].p.len, 0, &pi), 0);
        ck_assert_uint_eq(pi.l3_hdr_len, OFF_IPV6_HLEN + sizeof(ext_hbh_dst));
        ck_assert_uint_eq(off_get_be16(recs[0].data + pi.l3_off + 4), pi.l3_len - OFF_IPV6_HLEN);
}
END_TEST

/* An extension header the parser refuses (AH) is passed through untouched. */
START_TEST(ipv6_refused_extension_passes)
{
        for (uint32_t i = 0; i < 3; i++) {
                struct off_build_spec s = seg_spec(1, i, MSS);
                s.ext = ext_ah;
                s.ext_len = sizeof(ext_ah);
                s.ext_first = IPPROTO_AH;
                size_t len;
                ck_assert_int_eq(off_build_packet(frame, FRAME_CAP, &s, &len), 0);
                feed(frame, len, VALID, 0);
                ck_assert_uint_eq(nrecs, i + 1);
                ck_assert_int_eq(recs[i].p.reason, OFF_LRO_R_NOT_TCP);
                ck_assert(recs[i].p.flags & OFF_LRO_PKT_PASS);
        }
        ck_assert_uint_eq(off_lro_held(lro), 0);
}
END_TEST

/* Two flows interleaved segment by segment: two packets, no cross-merge. */
START_TEST(interleaved_flows)
{
        for (uint32_t i = 0; i < 6; i++) {
                for (int v6 = 0; v6 < 2; v6++) {
                        struct off_build_spec s = seg_spec(0, i, MSS);
                        s.sport = (uint16_t)(SPORT + v6); /* same addresses, other port */
                        struct off_pkt_info pi;
                        size_t len = build(&s, frame, &pi);
                        feed(frame, len, VALID, i);
                }
        }
        ck_assert_uint_eq(off_lro_held(lro), 2);
        flush(9);
        ck_assert_uint_eq(nrecs, 2);
        for (uint32_t k = 0; k < 2; k++) {
                check_rec_stream(&recs[k], 0, 6, 6 * MSS);
                struct off_pkt_info pi;
                ck_assert_int_eq(off_parse(recs[k].data, recs[k].p.len, 0, &pi), 0);
                ck_assert_uint_eq(off_get_be16(recs[k].data + pi.l4_off), SPORT + k);
        }
}
END_TEST

START_TEST(vlan_tags_are_separate_flows)
{
        for (uint32_t i = 0; i < 3; i++)
                for (uint16_t tci = 10; tci < 12; tci++) {
                        struct off_build_spec s = seg_spec(0, i, MSS);
                        s.vlan = 1;
                        s.vlan_tci = tci;
                        struct off_pkt_info pi;
                        size_t len = build(&s, frame, &pi);
                        feed(frame, len, VALID, 0);
                }
        flush(0);
        ck_assert_uint_eq(nrecs, 2);
        check_rec_stream(&recs[0], 0, 3, 3 * MSS);
        check_rec_stream(&recs[1], 0, 3, 3 * MSS);
        ck_assert_uint_ne(recs[0].data[15], recs[1].data[15]);
}
END_TEST

/* Out of order and retransmitted segments leave unmerged, in arrival order. */
START_TEST(reordered_stream_keeps_arrival_order)
{
        static const uint32_t order[] = {0, 1, 3, 2, 4, 5, 4, 6};
        for (uint32_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
                feed_seg(0, order[i], MSS, 0);
        flush(0);
        /* {0,1} {3} {2} {4,5} {4} {6}: a merge needs seq == expected. */
        static const uint32_t first[] = {0, 3, 2, 4, 4, 6};
        static const uint32_t segs[] = {2, 1, 1, 2, 1, 1};
        ck_assert_uint_eq(nrecs, 6);
        for (uint32_t i = 0; i < 6; i++) {
                ck_assert_uint_eq(recs[i].p.gso_segs, segs[i]);
                ck_assert_int_eq(recs[i].p.reason, i < 5 ? OFF_LRO_R_SEQ : OFF_LRO_R_BATCH);
        }
        for (uint32_t i = 0; i < 6; i++)
                check_rec_stream(&recs[i], first[i], segs[i], segs[i] * MSS);
}
END_TEST

/* The size limit: a merged packet stays below 64 KiB from the IP header. */
START_TEST(size_limit_64k)
{
        /* 1448-byte segments: 45 fit (40 + 12 + 45*1448 = 65212), the 46th not. */
        static uint8_t big[FRAME_CAP];
        uint32_t hdr = 20 + 20 + sizeof(opts_ts);
        for (uint32_t i = 0; i < 46; i++) {
                struct off_build_spec s = seg_spec(0, 0, 1448);
                s.seq = ISN + i * 1448;
                s.ip_id = (uint16_t)(ID0 + i);
                s.payload = stream + (size_t)i * 1448;
                struct off_pkt_info pi;
                size_t len = build(&s, big, &pi);
                feed(big, len, VALID, 0);
        }
        flush(0);
        ck_assert_uint_eq(nrecs, 2);
        ck_assert_uint_eq(recs[0].p.gso_segs, 45);
        ck_assert_int_eq(recs[0].p.reason, OFF_LRO_R_SIZE);
        ck_assert_uint_eq(recs[0].p.len, OFF_ETH_HLEN + hdr + 45 * 1448);
        check_rec_valid(&recs[0]);
        ck_assert_uint_eq(recs[1].p.gso_segs, 1);
}
END_TEST

/* Exactly at the boundary (skb_gro_receive: p->len + len >= gro_max_size
 * refuses): two segments making L3 65536 do not merge, 65535 does. */
START_TEST(size_limit_exact)
{
        static uint8_t big[FRAME_CAP];
        uint32_t hdr = 20 + 20 + sizeof(opts_ts);
        uint32_t half = (OFF_LRO_MAX_SIZE - hdr) / 2;
        for (uint32_t round = 0; round < 2; round++) {
                for (uint32_t i = 0; i < 2; i++) {
                        struct off_build_spec s = seg_spec(0, 0, half - (round == 1 && i == 1));
                        s.seq = ISN + round * 0x100000u + i * half;
                        s.ip_id = (uint16_t)(ID0 + i);
                        s.payload = stream + (size_t)i * half;
                        struct off_pkt_info pi;
                        size_t len = build(&s, big, &pi);
                        feed(big, len, VALID, 0);
                }
                flush(0);
        }
        ck_assert_uint_eq(nrecs, 3);
        ck_assert_uint_eq(recs[0].p.gso_segs, 1);
        ck_assert_int_eq(recs[0].p.reason, OFF_LRO_R_SIZE);
        ck_assert_uint_eq(recs[1].p.gso_segs, 1);
        ck_assert_uint_eq(recs[2].p.gso_segs, 2);
        ck_assert_int_eq(recs[2].p.reason, OFF_LRO_R_SHORT);
        ck_assert_uint_eq(recs[2].p.len - OFF_ETH_HLEN, OFF_LRO_MAX_SIZE - 1);
        check_rec_valid(&recs[2]);
}
END_TEST

/* A smaller configured limit is honoured the same way. */
START_TEST(size_limit_configured)
{
        make_lro(0, 1000000000ull, 3000);
        for (uint32_t i = 0; i < 4; i++)
                feed_seg(0, i, MSS, 0);
        flush(0);
        ck_assert_uint_eq(nrecs, 2);
        ck_assert_uint_eq(recs[0].p.gso_segs, 2); /* 52 + 2000 < 3000, + 1000 is not */
        ck_assert_int_eq(recs[0].p.reason, OFF_LRO_R_SIZE);
        check_rec_stream(&recs[1], 2, 2, 2 * MSS);
}
END_TEST

/* A full table gives up its oldest packet; emitted data survives the reuse. */
START_TEST(table_full_evicts_oldest)
{
        make_lro(4, 1000000000ull, 0);
        for (uint32_t f = 0; f < 5; f++) {
                struct off_build_spec s = seg_spec(0, f, MSS);
                s.sport = (uint16_t)(SPORT + f);
                struct off_pkt_info pi;
                size_t len = build(&s, frame, &pi);
                feed(frame, len, VALID, f);
        }
        ck_assert_uint_eq(nrecs, 1);
        ck_assert_int_eq(recs[0].p.reason, OFF_LRO_R_TABLE_FULL);
        check_rec_stream(&recs[0], 0, 1, MSS);
        ck_assert_uint_eq(off_lro_held(lro), 4);
        ck_assert_uint_eq(off_lro_get_stats(lro)->flush[OFF_LRO_R_TABLE_FULL], 1);
}
END_TEST

START_TEST(one_flow_table_reuses_buffers_safely)
{
        make_lro(1, 1000000000ull, 0);
        struct off_lro_out o = {.pkts = pkts, .max = 2};
        struct off_pkt_info pi;
        struct off_build_spec a = seg_spec(0, 0, MSS), b = seg_spec(0, 1, MSS);
        b.sport = SPORT + 1;
        size_t la = build(&a, frame, &pi);
        ck_assert_int_eq(off_lro_add(lro, frame, la, VALID, 0, &o), 0);
        static uint8_t fb[FRAME_CAP], copy_a[FRAME_CAP];
        memcpy(copy_a, frame, la);
        size_t lb = build(&b, fb, &pi);
        ck_assert_int_eq(off_lro_add(lro, fb, lb, VALID, 0, &o), 0);
        ck_assert_uint_eq(o.n, 1);
        ck_assert_uint_eq(o.pkts[0].len, la);
        ck_assert_mem_eq(o.pkts[0].data, copy_a, la); /* B was stored elsewhere */
}
END_TEST

/* A held packet is emitted once max_age_ns old, at the next call. */
START_TEST(age_bound)
{
        make_lro(0, 1000, 0);
        feed_seg(0, 0, MSS, 100);
        ck_assert_uint_eq(off_lro_deadline(lro), 1100);
        feed_seg(0, 1, MSS, 600); /* merged: age counts from the first segment */
        ck_assert_uint_eq(nrecs, 0);
        struct off_lro_out o = {.pkts = pkts, .max = OFF_LRO_FLOWS_MAX + 1};
        ck_assert_int_eq(off_lro_flush_expired(lro, 1099, &o), 0);
        ck_assert_uint_eq(o.n, 0);
        ck_assert_int_eq(off_lro_flush_expired(lro, 1100, &o), 0);
        collect(&o);
        ck_assert_uint_eq(nrecs, 1);
        ck_assert_int_eq(recs[0].p.reason, OFF_LRO_R_AGE);
        check_rec_stream(&recs[0], 0, 2, 2 * MSS);
        ck_assert_uint_eq(off_lro_deadline(lro), UINT64_MAX);
        ck_assert_uint_eq(off_lro_get_stats(lro)->hold_ns_max, 1000);

        /* On add: the segment merges, then the expired packet leaves. */
        feed_seg(0, 2, MSS, 2000);
        feed_seg(0, 3, MSS, 3000);
        ck_assert_uint_eq(nrecs, 2);
        ck_assert_int_eq(recs[1].p.reason, OFF_LRO_R_AGE);
        check_rec_stream(&recs[1], 2, 2, 2 * MSS);
}
END_TEST

/* cfg.lend: emitted packets stay the caller's across calls until released,
 * oldest first; with every spare buffer lent, off_lro_add refuses (-EBUSY)
 * and changes nothing. One flow, PSH on every second segment, so each two
 * calls emit a two-segment packet. */
static const struct {
        uint32_t flows, lend;
} lend_cases[] = {{1, 1}, {1, 4}, {2, 3}, {8, 16}, {4, OFF_LRO_LEND_MAX}};

static size_t psh_seg(uint32_t idx)
{
        struct off_build_spec s = seg_spec(0, idx, MSS);
        struct off_pkt_info pi;
        if (idx & 1)
                s.tcp_flags |= OFF_TCP_PSH;
        return build(&s, frame, &pi);
}

static void check_kept(const struct off_lro_pkt *kept, uint32_t n, uint32_t first_pkt)
{
        for (uint32_t k = 0; k < n; k++) {
                struct rec r = {.p = kept[k], .data = (uint8_t *)kept[k].data};
                check_rec_stream(&r, 2 * (first_pkt + k), 2, 2 * MSS);
                ck_assert_int_eq(kept[k].reason, OFF_LRO_R_PSH);
        }
}

START_TEST(lent_packets_stay_valid)
{
        static struct off_lro_pkt kept[OFF_LRO_FLOWS_MAX + 1 + OFF_LRO_LEND_MAX];
        struct off_lro_config c = {.max_flows = lend_cases[_i].flows,
                                   .max_age_ns = 1000000000ull,
                                   .lend = lend_cases[_i].lend};
        uint32_t nkept = 0, idx = 0;
        int rc;

        off_lro_destroy(lro);
        lro = NULL;
        ck_assert_int_eq(off_lro_create(&c, &lro), 0);
        for (;;) {
                struct off_lro_out o = {.pkts = pkts, .max = OFF_LRO_FLOWS_MAX + 1};
                size_t len = psh_seg(idx);
                rc = off_lro_add(lro, frame, len, VALID, idx, &o);
                if (rc == -EBUSY)
                        break;
                ck_assert_int_eq(rc, 0);
                for (uint32_t i = 0; i < o.n; i++)
                        kept[nkept++] = o.pkts[i];
                ck_assert_uint_lt(++idx, 1000);
        }
        /* Refused only once every buffer is held or lent. */
        ck_assert_uint_eq(off_lro_lent(lro), nkept);
        ck_assert_uint_eq(nkept + off_lro_held(lro), c.max_flows + 1 + c.lend);
        check_kept(kept, nkept, 0);
        uint64_t frames = off_lro_get_stats(lro)->frames;
        uint32_t held = off_lro_held(lro);
        struct off_lro_out o = {.pkts = pkts, .max = OFF_LRO_FLOWS_MAX + 1};
        ck_assert_int_eq(off_lro_add(lro, frame, psh_seg(idx), VALID, idx, &o), -EBUSY);
        ck_assert_uint_eq(off_lro_get_stats(lro)->frames, frames);
        ck_assert_uint_eq(off_lro_held(lro), held);
        /* Flushing needs no buffer: it works while all are lent. */
        ck_assert_int_eq(off_lro_flush_expired(lro, idx, &o), 0);
        ck_assert_uint_eq(o.n, 0);

        /* The oldest goes back; the others are untouched by what follows. */
        ck_assert_uint_eq(off_lro_release(lro, 1), 1);
        ck_assert_int_eq(off_lro_add(lro, frame, psh_seg(idx), VALID, idx, &o), 0);
        check_kept(kept + 1, nkept - 1, 1);
        ck_assert_uint_eq(off_lro_release(lro, 1000), nkept - 1 + o.n);
        ck_assert_uint_eq(off_lro_lent(lro), 0);
        ck_assert_uint_eq(off_lro_release(lro, 1), 0);
}
END_TEST

/* Without lend, buffers come back at every call: never -EBUSY, nothing lent. */
START_TEST(unlent_buffers_come_back)
{
        for (uint32_t idx = 0; idx < 2 * (MAX_RECS - 4); idx++) {
                struct off_lro_out o = {.pkts = pkts, .max = OFF_LRO_FLOWS_MAX + 1};
                ck_assert_int_eq(off_lro_add(lro, frame, psh_seg(idx), VALID, idx, &o), 0);
                ck_assert_uint_eq(off_lro_lent(lro), o.n);
                collect(&o);
        }
        ck_assert_uint_eq(nrecs, MAX_RECS - 4);
        for (uint32_t k = 0; k < nrecs; k++)
                check_rec_stream(&recs[k], 2 * k, 2, 2 * MSS);
        ck_assert_uint_eq(off_lro_release(lro, 1000), 1);
}
END_TEST

/* A flush for the end of a notification hold is counted as such. */
START_TEST(flush_for_hold_end)
{
        struct off_lro_out o = {.pkts = pkts, .max = OFF_LRO_FLOWS_MAX + 1};
        feed_seg(0, 0, MSS, 100);
        feed_seg(0, 1, MSS, 200);
        ck_assert_int_eq(off_lro_flush_all_for(lro, 700, OFF_LRO_R_COUNT, &o), -EINVAL);
        ck_assert_uint_eq(off_lro_held(lro), 1);
        ck_assert_int_eq(off_lro_flush_all_for(lro, 700, OFF_LRO_R_HOLD_END, &o), 0);
        collect(&o);
        ck_assert_uint_eq(nrecs, 1);
        ck_assert_int_eq(recs[0].p.reason, OFF_LRO_R_HOLD_END);
        check_rec_stream(&recs[0], 0, 2, 2 * MSS);
        ck_assert_uint_eq(off_lro_get_stats(lro)->flush[OFF_LRO_R_HOLD_END], 1);
        ck_assert_uint_eq(off_lro_get_stats(lro)->flush[OFF_LRO_R_BATCH], 0);
        ck_assert_uint_eq(off_lro_get_stats(lro)->hold_ns_max, 600);
        ck_assert_str_eq(off_lro_reason_str(OFF_LRO_R_HOLD_END), "hold end");
}
END_TEST

START_TEST(pure_acks_pass_through)
{
        for (uint32_t i = 0; i < 3; i++) {
                struct off_build_spec s = seg_spec(0, 0, 0);
                s.ack = ACK0 + i * 1448;
                struct off_pkt_info pi;
                size_t len = build(&s, frame, &pi);
                feed(frame, len, VALID, 0);
                ck_assert_uint_eq(nrecs, i + 1);
                ck_assert(recs[i].p.flags & OFF_LRO_PKT_PASS);
                ck_assert_int_eq(recs[i].p.reason, OFF_LRO_R_NO_PAYLOAD);
                ck_assert_int_eq(recs[i].p.csum, OFF_LRO_CSUM_VALID);
        }
        ck_assert_uint_eq(off_lro_held(lro), 0);
        ck_assert_uint_eq(off_lro_get_stats(lro)->pass[OFF_LRO_R_NO_PAYLOAD], 3);
}
END_TEST

/* Frames whose field holds a pseudo-header sum (local sender) merge, and a
 * lone one leaves with its partial state intact. */
START_TEST(partial_checksum_input)
{
        for (uint32_t i = 0; i < 3; i++) {
                struct off_build_spec s = seg_spec(1, i, MSS);
                struct off_pkt_info pi;
                size_t len = build(&s, frame, &pi);
                off_csum_seed_partial(frame, len, &pi);
                feed(frame, len, OFF_LRO_RX_CSUM_PARTIAL, 0);
        }
        flush(0);
        struct off_build_spec s = seg_spec(1, 3, MSS);
        struct off_pkt_info pi;
        size_t len = build(&s, frame, &pi);
        off_csum_seed_partial(frame, len, &pi);
        feed(frame, len, OFF_LRO_RX_CSUM_PARTIAL, 0);
        flush(0);
        ck_assert_uint_eq(nrecs, 2);
        check_rec_stream(&recs[0], 0, 3, 3 * MSS);
        check_rec_stream(&recs[1], 3, 1, MSS);
        ck_assert_int_eq(recs[1].p.csum, OFF_LRO_CSUM_PARTIAL);
        ck_assert_mem_eq(recs[1].data, frame, len);
}
END_TEST

START_TEST(argument_errors)
{
        struct off_lro *l2 = NULL;
        struct off_lro_config bad = {.max_flows = OFF_LRO_FLOWS_MAX + 1};
        ck_assert_int_eq(off_lro_create(&bad, &l2), -EINVAL);
        bad = (struct off_lro_config){.max_size = OFF_LRO_MAX_SIZE + 1};
        ck_assert_int_eq(off_lro_create(&bad, &l2), -EINVAL);
        bad = (struct off_lro_config){.lend = OFF_LRO_LEND_MAX + 1};
        ck_assert_int_eq(off_lro_create(&bad, &l2), -EINVAL);
        ck_assert_int_eq(off_lro_create(NULL, NULL), -EINVAL);
        ck_assert_uint_eq(off_lro_out_max(lro), OFF_LRO_FLOWS_DEFAULT + 1);
        struct off_lro_out small = {.pkts = pkts, .max = OFF_LRO_FLOWS_DEFAULT};
        feed_seg(0, 0, MSS, 0);
        ck_assert_int_eq(off_lro_add(lro, frame, 100, VALID, 0, &small), -ENOSPC);
        ck_assert_int_eq(off_lro_flush_all(lro, 0, &small), -ENOSPC);
        ck_assert_uint_eq(off_lro_held(lro), 1); /* nothing changed */
        struct off_lro_out none = {.pkts = NULL, .max = 100};
        ck_assert_int_eq(off_lro_add(lro, frame, 100, VALID, 0, &none), -EINVAL);
        /* truncated and empty frames pass through as "not tcp" */
        feed(frame, 20, VALID, 0);
        feed(frame, 0, VALID, 0);
        ck_assert_uint_eq(nrecs, 2);
        ck_assert_int_eq(recs[0].p.reason, OFF_LRO_R_NOT_TCP);
        ck_assert_str_eq(off_lro_reason_str(OFF_LRO_R_AGE), "age limit");
        ck_assert_str_eq(off_lro_reason_str(OFF_LRO_R_COUNT), "unknown");
}
END_TEST

/* ---- round trip: off_gso_segment, then off_lro, gives the packet back ---- */

#define ACK_PSH (OFF_TCP_ACK | OFF_TCP_PSH)

struct rt_case {
        const char *name;
        int v6;
        uint8_t flags;
        uint16_t mss;
        size_t payload;
};

static const struct rt_case rt_cases[] = {
    {"v4 ack|psh, 1448", 0, OFF_TCP_ACK | OFF_TCP_PSH, 1448, 20000},
    {"v4 fin|psh|ece, odd mss", 0, ACK_PSH | OFF_TCP_FIN | OFF_TCP_ECE, 1001, 7777},
    {"v4 ack only, exact multiple", 0, OFF_TCP_ACK, 1000, 8000},
    {"v4 near 64K", 0, OFF_TCP_ACK | OFF_TCP_PSH, 1448, 65535 - 52},
    {"v6 psh", 1, OFF_TCP_ACK | OFF_TCP_PSH, 1440, 30000},
    {"v6 fin, minimum mss", 1, OFF_TCP_ACK | OFF_TCP_FIN, OFF_GSO_MSS_MIN, 5000},
};

START_TEST(gso_round_trip)
{
        const struct rt_case *c = &rt_cases[_i];
        static uint8_t gso[FRAME_CAP], arena[FRAME_CAP * 2];
        static struct off_gso_seg segs[1024];
        struct off_build_spec s = seg_spec(c->v6, 0, c->payload);
        s.tcp_flags = c->flags;
        s.ext = c->v6 ? ext_hbh_dst : NULL;
        s.ext_len = c->v6 ? sizeof(ext_hbh_dst) : 0;
        s.ext_first = IPPROTO_HOPOPTS;
        size_t len;
        struct off_pkt_info gpi;
        ck_assert_int_eq(off_build_packet(gso, sizeof(gso), &s, &len), 0);
        ck_assert_int_eq(off_parse(gso, len, OFF_PARSE_GSO, &gpi), 0);
        struct off_gso_out o = {
            .mem = arena, .mem_len = sizeof(arena), .segs = segs, .max_segs = 1024};
        ck_assert_int_eq(off_gso_segment(gso, len, &gpi, c->mss, OFF_GSO_COPY, &o), 0);
        for (uint32_t i = 0; i < o.nsegs; i++)
                feed(o.segs[i].hdr, o.segs[i].hdr_len + (size_t)o.segs[i].payload_len, VALID, 0);
        flush(0);
        ck_assert_msg(nrecs == 1, "%s: %u packets", c->name, nrecs);
        ck_assert_uint_eq(recs[0].p.gso_segs, o.nsegs);
        ck_assert_uint_eq(recs[0].p.gso_size, o.nsegs > 1 ? c->mss : 0);
        /* Equal to the original with its checksum field seeded, as Linux
         * GRO leaves it; IPv4 length/checksum as off_build set them. */
        off_csum_seed_partial(gso, len, &gpi);
        ck_assert_uint_eq(recs[0].p.len, len);
        ck_assert_msg(memcmp(recs[0].data, gso, len) == 0, "%s: merged != original", c->name);
        check_rec_valid(&recs[0]);
}
END_TEST

/* ---- property: random traffic of several flows is never reordered,
 * never merged across flows, and nothing is lost or altered ---- */

#define P_FLOWS  5
#define P_FRAMES 3000

struct p_in {
        uint32_t seq, len;
        uint16_t flow;
};

static struct p_in p_ins[P_FRAMES];

static uint32_t rnd(uint32_t *st)
{
        *st = *st * 1103515245u + 12345u;
        return *st >> 8;
}

static void p_collect_check(const struct off_lro_out *o, uint32_t *next_in)
{
        for (uint32_t k = 0; k < o->n; k++) {
                const struct off_lro_pkt *p = &o->pkts[k];
                struct off_pkt_info pi;
                if (off_parse(p->data, p->len, 0, &pi) != 0 || !(pi.flags & OFF_PKT_L4))
                        ck_abort_msg("emitted packet does not parse");
                uint16_t flow = (uint16_t)(off_get_be16(p->data + pi.l4_off) - SPORT);
                uint32_t seq = off_get_be32(p->data + pi.l4_off + 4);
                /* Walk this flow's inputs in order: the packet must cover the
                 * next ones exactly, byte for byte. */
                uint32_t covered = 0;
                for (uint32_t s = 0; s < p->gso_segs; s++) {
                        uint32_t i = next_in[flow];
                        while (i < P_FRAMES && p_ins[i].flow != flow)
                                i++;
                        ck_assert_msg(i < P_FRAMES, "flow %u: output beyond its input", flow);
                        ck_assert_msg(s > 0 || p_ins[i].seq == seq, "flow %u reordered", flow);
                        ck_assert_uint_le(covered + p_ins[i].len, pi.payload_len);
                        ck_assert_mem_eq(p->data + pi.payload_off + covered,
                                         stream + (p_ins[i].seq - ISN) % (STREAM_LEN / 2),
                                         p_ins[i].len);
                        covered += p_ins[i].len;
                        next_in[flow] = i + 1;
                }
                ck_assert_uint_eq(covered, pi.payload_len);
                if (p->gso_segs > 1) {
                        struct rec r = {.p = *p, .data = (uint8_t *)p->data};
                        check_rec_valid(&r);
                }
        }
}

START_TEST(random_traffic_keeps_flow_order)
{
        uint32_t st = 12345 + (uint32_t)_i, seqs[P_FLOWS], next_in[P_FLOWS] = {0};
        uint64_t now = 0;
        make_lro(3, 5000, 0); /* fewer slots than flows: eviction happens */
        for (uint32_t f = 0; f < P_FLOWS; f++)
                seqs[f] = ISN;
        struct off_lro_out o = {.pkts = pkts, .max = 4};
        for (uint32_t n = 0; n < P_FRAMES; n++) {
                uint16_t flow = (uint16_t)(rnd(&st) % P_FLOWS);
                uint32_t r = rnd(&st) % 100, plen = MSS;
                struct off_build_spec s = seg_spec(0, 0, MSS);
                if (r < 5)
                        seqs[flow] -= MSS; /* retransmission */
                else if (r < 8)
                        seqs[flow] += MSS; /* loss: a gap */
                else if (r < 12)
                        plen = rnd(&st) % MSS; /* short, maybe empty */
                else if (r < 15)
                        s.tcp_flags |= OFF_TCP_PSH;
                s.sport = (uint16_t)(SPORT + flow);
                s.seq = seqs[flow];
                s.payload_len = plen;
                s.payload = stream + (s.seq - ISN) % (STREAM_LEN / 2);
                s.ip_id = (uint16_t)(s.seq / MSS);
                struct off_pkt_info pi;
                size_t len = build(&s, frame, &pi);
                p_ins[n] = (struct p_in){.seq = s.seq, .len = plen, .flow = flow};
                seqs[flow] += plen;
                now += rnd(&st) % 2000;
                ck_assert_int_eq(off_lro_add(lro, frame, len, VALID, now, &o), 0);
                p_collect_check(&o, next_in);
                if (rnd(&st) % 64 == 0) {
                        ck_assert_int_eq(off_lro_flush_all(lro, now, &o), 0);
                        p_collect_check(&o, next_in);
                }
        }
        ck_assert_int_eq(off_lro_flush_all(lro, now, &o), 0);
        p_collect_check(&o, next_in);
        for (uint16_t f = 0; f < P_FLOWS; f++) {
                uint32_t i = next_in[f];
                while (i < P_FRAMES && p_ins[i].flow != f)
                        i++;
                ck_assert_msg(i == P_FRAMES, "flow %u: input %u never emitted", f, i);
        }
        const struct off_lro_stats *stt = off_lro_get_stats(lro);
        ck_assert_uint_gt(stt->merged, 0);
        ck_assert_uint_gt(stt->flush[OFF_LRO_R_TABLE_FULL], 0);
        ck_assert_uint_gt(stt->flush[OFF_LRO_R_SEQ], 0);
        ck_assert_uint_le(stt->hold_ns_max, 5000 + 2000);
}
END_TEST

static Suite *off_lro_suite(void)
{
        Suite *s = suite_create("off_lro");
        TCase *tc = tcase_create("rules");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_loop_test(tc, flush_reasons, 0, sizeof(flush_cases) / sizeof(flush_cases[0]));
        tcase_add_test(tc, psh_fin_carried_into_header);
        tcase_add_test(tc, cwr_is_delivered_alone);
        tcase_add_test(tc, ipv4_fixed_ids);
        tcase_add_test(tc, ipv4_id_wraps);
        tcase_add_test(tc, merged_header_fields);
        tcase_add_test(tc, ipv6_extension_headers);
        tcase_add_test(tc, ipv6_refused_extension_passes);
        tcase_add_test(tc, interleaved_flows);
        tcase_add_test(tc, vlan_tags_are_separate_flows);
        tcase_add_test(tc, reordered_stream_keeps_arrival_order);
        tcase_add_test(tc, size_limit_64k);
        tcase_add_test(tc, size_limit_exact);
        tcase_add_test(tc, size_limit_configured);
        tcase_add_test(tc, table_full_evicts_oldest);
        tcase_add_test(tc, one_flow_table_reuses_buffers_safely);
        tcase_add_test(tc, age_bound);
        tcase_add_loop_test(tc, lent_packets_stay_valid, 0,
                            sizeof(lend_cases) / sizeof(lend_cases[0]));
        tcase_add_test(tc, unlent_buffers_come_back);
        tcase_add_test(tc, flush_for_hold_end);
        tcase_add_test(tc, pure_acks_pass_through);
        tcase_add_test(tc, partial_checksum_input);
        tcase_add_test(tc, argument_errors);
        tcase_add_loop_test(tc, gso_round_trip, 0, sizeof(rt_cases) / sizeof(rt_cases[0]));
        tcase_add_loop_test(tc, random_traffic_keeps_flow_order, 0, 4);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(off_lro_suite)
