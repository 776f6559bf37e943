/* nb_rx_off: the guest-RX glue between netback and the offload layer. The
 * negotiated features as capabilities (table), the decision on uplink
 * frames (table: GSO kinds, checksum families, VLAN, slots), software
 * segmentation into guest packets (every segment a whole frame with valid
 * checksums, the payload in order), LRO output as guest packets (a merged
 * stream is one GSO packet whose completed checksum is valid), which frames
 * may enter LRO, and the counters text the tests and benchmarks read. */
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "netback/nb_rx_off.h"
#include "offload/off_build.h"
#include "offload/off_bytes.h"
#include "offload/off_csum.h"

#define CAP      (UPLINK_MAX_FRAME + 64)
#define MSS      1448u
#define SEED     9u
#define ISN      0xFFFFFF00u /* the stream crosses the 2^32 sequence wrap */
#define ALL_TSO  (OFF_CAP_TSO4 | OFF_CAP_TSO6)
#define GUEST_OK (OFF_CAP_ALL)

static uint8_t frame[CAP];
static uint8_t stream[UPLINK_MAX_FRAME];
static uint8_t gso_mem[NB_RX_GSO_MEM];
static struct off_gso_seg gso_segs[NB_RX_GSO_SEGS_MAX];
static struct nb_rx_pkt out[NB_RX_GSO_SEGS_MAX];

static void setup(void)
{
        for (size_t i = 0; i < sizeof(stream); i++)
                stream[i] = off_build_pattern(SEED, i);
}

static struct off_build_spec tcp_spec(int v6, uint32_t seq_off, const uint8_t *payload, size_t plen)
{
        struct off_build_spec s = {.ethertype = v6 ? OFF_ETH_P_IPV6 : OFF_ETH_P_IPV4,
                                   .l4_proto = IPPROTO_TCP,
                                   .dst_mac = {0x00, 0x16, 0x3e, 0, 0, 1},
                                   .src_mac = {2, 0, 0, 0, 0, 9},
                                   .saddr = {10, 9, 0, 3},
                                   .daddr = {10, 9, 0, 2},
                                   .sport = 40000,
                                   .dport = 5001,
                                   .seq = ISN + seq_off,
                                   .ack = 77,
                                   .tcp_flags = OFF_TCP_ACK,
                                   .tcp_window = 500,
                                   .ip_id = 1000,
                                   .payload = payload,
                                   .payload_len = plen};
        if (v6) {
                memset(s.saddr, 0, sizeof(s.saddr));
                memset(s.daddr, 0, sizeof(s.daddr));
                s.saddr[0] = s.daddr[0] = 0xfd;
                s.saddr[15] = 3;
                s.daddr[15] = 2;
        }
        return s;
}

/* A frame as a local sender hands it to the TAP: partial checksum seeded. */
static size_t build_partial(const struct off_build_spec *s, uint8_t *buf, uint32_t parse_flags,
                            struct off_pkt_info *pi)
{
        size_t len;
        ck_assert_int_eq(off_build_packet(buf, CAP, s, &len), 0);
        ck_assert_int_eq(off_parse(buf, len, parse_flags, pi), 0);
        ck_assert_int_eq(off_csum_seed_partial(buf, len, pi), 0);
        return len;
}

/* ---- capabilities --------------------------------------------------------- */

struct caps_case {
        const char *what;
        bool sg, gso4, gso6, csum4, csum6;
        unsigned want;
};

static const struct caps_case caps_cases[] = {
    {"nothing", false, false, false, false, false, 0},
    {"Linux netfront default", true, true, true, true, true, OFF_CAP_ALL},
    {"no gso", true, false, false, true, true, OFF_CAP_SG | OFF_CAP_CSUM4 | OFF_CAP_CSUM6},
    {"gso without csum offload: no tso", true, true, true, false, false, OFF_CAP_SG},
    {"v4 csum only: tso4 only", true, true, true, true, false,
     OFF_CAP_SG | OFF_CAP_CSUM4 | OFF_CAP_TSO4},
    {"v6 csum only: tso6 only", true, true, true, false, true,
     OFF_CAP_SG | OFF_CAP_CSUM6 | OFF_CAP_TSO6},
    {"no sg", false, false, false, true, false, OFF_CAP_CSUM4},
};

START_TEST(guest_caps_table)
{
        const struct caps_case *c = &caps_cases[_i];
        struct nb_fe_cfg cfg = {.sg = c->sg,
                                .gso_tcpv4 = c->gso4,
                                .gso_tcpv6 = c->gso6,
                                .csum_ipv4 = c->csum4,
                                .csum_ipv6 = c->csum6};
        ck_assert_msg(nb_rx_guest_caps(&cfg) == c->want, "%s: caps %#x, want %#x", c->what,
                      nb_rx_guest_caps(&cfg), c->want);
}
END_TEST

/* ---- the decision on uplink frames ---------------------------------------- */

struct decide_case {
        const char *what;
        int v6, vlan;
        enum uplink_gso gso;
        bool needs_csum;
        uint32_t slots;
        unsigned caps, want;
};

static const struct decide_case decide_cases[] = {
    {"tso4 to a guest without gso", 0, 0, UPLINK_GSO_TCPV4, true, 17, OFF_CAP_ALL & ~ALL_TSO,
     OFF_ACT_SEGMENT},
    {"tso6 to a guest with tso4 only", 1, 0, UPLINK_GSO_TCPV6, true, 17,
     OFF_CAP_ALL & ~OFF_CAP_TSO6, OFF_ACT_SEGMENT},
    {"tso4 to a guest with tso4", 0, 0, UPLINK_GSO_TCPV4, true, 17, GUEST_OK, OFF_ACT_PASS},
    {"tso4 to a guest with nothing", 0, 0, UPLINK_GSO_TCPV4, true, 17, 0, OFF_ACT_SEGMENT},
    {"udp gso: dropped", 0, 0, UPLINK_GSO_OTHER, true, 17, GUEST_OK, OFF_ACT_DROP},
    {"partial v4 to a guest without csum", 0, 0, UPLINK_GSO_NONE, true, 1, OFF_CAP_SG,
     OFF_ACT_CSUM},
    {"partial v6 (vlan) to a v4-csum guest", 1, 1, UPLINK_GSO_NONE, true, 1, OFF_CAP_CSUM4,
     OFF_ACT_CSUM},
    {"partial v6 (vlan) to a v6-csum guest", 1, 1, UPLINK_GSO_NONE, true, 1, OFF_CAP_CSUM6,
     OFF_ACT_PASS},
    {"partial v4 to a csum guest", 0, 0, UPLINK_GSO_NONE, true, 1, OFF_CAP_CSUM4, OFF_ACT_PASS},
    {"two slots to a guest without sg", 0, 0, UPLINK_GSO_NONE, false, 2, OFF_CAP_CSUM4,
     OFF_ACT_LINEARIZE},
};

START_TEST(decide_table)
{
        const struct decide_case *c = &decide_cases[_i];
        struct off_build_spec s = tcp_spec(c->v6, 0, stream, 100);
        struct uplink_meta um = {.gso = c->gso, .gso_size = MSS, .needs_csum = c->needs_csum};
        struct off_meta m;
        size_t len;
        s.vlan = c->vlan;
        s.vlan_tci = 5;
        ck_assert_int_eq(off_build_packet(frame, CAP, &s, &len), 0);
        nb_rx_off_meta(&um, frame, (uint32_t)len, c->slots, &m);
        ck_assert_msg(m.ipv6 == (c->v6 != 0), "%s: family", c->what);
        ck_assert_uint_eq(m.nr_bufs, c->slots);
        ck_assert_msg(off_decide(&m, c->caps) == c->want, "%s: act %#x, want %#x", c->what,
                      off_decide(&m, c->caps), c->want);
}
END_TEST

/* ---- segmentation --------------------------------------------------------- */

static const uint8_t tcp_opts_ts[] = {0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 2};

/* Segments a frame of @plen payload bytes at @mss in turns, as nb_rx.c
 * does, and checks every segment as the guest would; returns the turns. */
static uint32_t check_segments(int v6, size_t plen, uint16_t mss, bool timestamps)
{
        struct off_build_spec s = tcp_spec(v6, 0, stream, plen);
        struct off_pkt_info pi, spi;
        struct uplink_meta um = {
            .gso = v6 ? UPLINK_GSO_TCPV6 : UPLINK_GSO_TCPV4, .gso_size = mss, .needs_csum = true};
        struct off_gso_out go = {.mem = gso_mem,
                                 .mem_len = sizeof(gso_mem),
                                 .segs = gso_segs,
                                 .max_segs = NB_RX_GSO_SEGS_MAX};
        struct nb_rx_pkt tmpl = {.has_hash = true,
                                 .hash_value = 0xabcd,
                                 .hash_type = 3,
                                 .xdp_headroom = 64,
                                 .csum = NB_RX_CSUM_PARTIAL,
                                 .gso_type = XEN_NETIF_GSO_TYPE_TCPV4,
                                 .gso_size = mss};
        s.tcp_flags = OFF_TCP_ACK | OFF_TCP_PSH;
        if (timestamps) {
                s.tcp_opts = tcp_opts_ts;
                s.tcp_opts_len = sizeof(tcp_opts_ts);
        }
        size_t len = build_partial(&s, frame, OFF_PARSE_GSO, &pi);
        ck_assert_uint_le(len, UPLINK_MAX_FRAME);
        ck_assert_int_eq(nb_rx_segment_check(frame, (uint32_t)len, &um, &pi), 0);
        uint32_t total = (uint32_t)((plen + mss - 1) / mss), turns = 0, i = 0;
        size_t at = 0;
        ck_assert_uint_eq(off_gso_seg_count(&pi, mss), total);
        while (i < total) {
                int n = nb_rx_segment(frame, (uint32_t)len, &pi, mss, i, &go, &tmpl, out,
                                      NB_RX_GSO_SEGS_MAX);
                /* Ordinary headers: every turn is full but the last. */
                uint32_t want = total - i < NB_RX_GSO_SEGS_MAX ? total - i : NB_RX_GSO_SEGS_MAX;
                ck_assert_int_eq(n, (int)want);
                ck_assert_uint_le(go.mem_used, NB_RX_GSO_MEM);
                turns++;
                for (int k = 0; k < n; k++, i++) {
                        const struct nb_rx_pkt *r = &out[k];
                        ck_assert_uint_eq(r->gso_type, XEN_NETIF_GSO_TYPE_NONE);
                        ck_assert_uint_eq(r->gso_size, 0);
                        ck_assert_int_eq(r->csum, NB_RX_CSUM_UNNECESSARY);
                        ck_assert(r->has_hash && r->hash_value == 0xabcd && r->hash_type == 3);
                        ck_assert_uint_eq(r->xdp_headroom, 64);
                        ck_assert_int_eq(off_parse(r->data, r->len, 0, &spi), 0);
                        ck_assert_uint_eq(spi.payload_off, pi.payload_off);
                        ck_assert_uint_eq(spi.payload_off + spi.payload_len, r->len);
                        ck_assert_uint_eq(spi.payload_len, i + 1 < total ? mss : plen - at);
                        /* A full checksum the guest may trust (data_validated). */
                        ck_assert_msg(off_csum_l4_ok(r->data, r->len, &spi), "segment %u checksum",
                                      i);
                        if (!v6)
                                ck_assert_uint_eq(
                                    off_csum_buf(r->data + spi.l3_off, spi.l3_hdr_len), 0);
                        const uint8_t *th = (const uint8_t *)r->data + spi.l4_off;
                        ck_assert_uint_eq(off_get_be32(th + 4), ISN + (uint32_t)at);
                        ck_assert_uint_eq(!!(th[13] & OFF_TCP_PSH), i == total - 1);
                        ck_assert(memcmp((const uint8_t *)r->data + spi.payload_off, stream + at,
                                         spi.payload_len) == 0);
                        at += spi.payload_len;
                }
        }
        ck_assert_uint_eq(at, plen);
        return turns;
}

START_TEST(segments_tcp4_64k)
{
        /* 65495 = 45 * 1448 + 335: 46 segments, one turn. */
        ck_assert_uint_eq(check_segments(0, 65535 - 20 - 20, MSS, false), 1);
}
END_TEST

START_TEST(segments_tcp6_odd_tail)
{
        ck_assert_uint_eq(check_segments(1, 20 * MSS + 7, MSS, false), 1);
}
END_TEST

/* A 64 KiB frame with timestamps at the segmenter's floor, as a Linux host
 * sends when the guest's peer state shrinks its MSS (OFF_GSO_MSS_MIN).
 * IPv4: 65535 - 20 - 32 = 65483 payload bytes = 8185 * 8 + 3: 8186
 * segments, in turns of 128: 63 full ones and one of 122. */
START_TEST(segments_tcp4_64k_min_mss)
{
        ck_assert_uint_eq(OFF_GSO_MSS_MIN, 8);
        ck_assert_uint_eq(check_segments(0, 65535 - 20 - 32, OFF_GSO_MSS_MIN, true), 64);
}
END_TEST

/* IPv6: the largest frame the uplink hands over (UPLINK_MAX_FRAME) less
 * 14 + 40 + 32 header bytes, 65464 = 8183 * 8: 8183 segments, in 63 turns
 * of 128 and one of 119. */
START_TEST(segments_tcp6_64k_min_mss)
{
        ck_assert_uint_eq(check_segments(1, UPLINK_MAX_FRAME - 14 - 40 - 32, OFF_GSO_MSS_MIN, true),
                          64);
}
END_TEST

START_TEST(segment_check_refuses)
{
        struct off_build_spec s = tcp_spec(0, 0, stream, 4 * MSS);
        struct off_pkt_info pi;
        struct uplink_meta um = {.gso = UPLINK_GSO_TCPV4, .gso_size = MSS, .needs_csum = true};
        size_t len = build_partial(&s, frame, OFF_PARSE_GSO, &pi);
        ck_assert_int_eq(nb_rx_segment_check(frame, (uint32_t)len, &um, &pi), 0);
        um.gso_size = OFF_GSO_MSS_MIN;
        ck_assert_int_eq(nb_rx_segment_check(frame, (uint32_t)len, &um, &pi), 0);
        um.gso_size = OFF_GSO_MSS_MIN - 1; /* below Linux's TCP_MIN_GSO_SIZE */
        ck_assert_int_eq(nb_rx_segment_check(frame, (uint32_t)len, &um, &pi), -ERANGE);
        um.gso_size = MSS;
        um.gso = UPLINK_GSO_TCPV6; /* kind says v6, the frame is v4 */
        ck_assert_int_eq(nb_rx_segment_check(frame, (uint32_t)len, &um, &pi), -EINVAL);
        um.gso = UPLINK_GSO_OTHER;
        ck_assert_int_eq(nb_rx_segment_check(frame, (uint32_t)len, &um, &pi), -EINVAL);
        s.l4_proto = IPPROTO_UDP;
        um.gso = UPLINK_GSO_TCPV4;
        len = build_partial(&s, frame, OFF_PARSE_GSO, &pi);
        ck_assert_int_eq(nb_rx_segment_check(frame, (uint32_t)len, &um, &pi), -EINVAL);
        ck_assert_int_eq(nb_rx_segment_check(frame, 30, &um, &pi), -EINVAL);
}
END_TEST

/* ---- LRO ------------------------------------------------------------------ */

START_TEST(lro_candidates)
{
        struct off_build_spec s = tcp_spec(0, 0, stream, 100);
        size_t len;
        ck_assert_int_eq(off_build_packet(frame, CAP, &s, &len), 0);
        ck_assert(nb_rx_lro_candidate(frame, (uint32_t)len, OFF_CAP_TSO4));
        ck_assert(!nb_rx_lro_candidate(frame, (uint32_t)len, OFF_CAP_TSO6));
        ck_assert(!nb_rx_lro_candidate(frame, 20, OFF_CAP_TSO4));
        s.vlan = 1;
        ck_assert_int_eq(off_build_packet(frame, CAP, &s, &len), 0);
        ck_assert(nb_rx_lro_candidate(frame, (uint32_t)len, OFF_CAP_TSO4));
        s.l4_proto = IPPROTO_UDP;
        ck_assert_int_eq(off_build_packet(frame, CAP, &s, &len), 0);
        ck_assert(!nb_rx_lro_candidate(frame, (uint32_t)len, ALL_TSO));
        s = tcp_spec(1, 0, stream, 100);
        ck_assert_int_eq(off_build_packet(frame, CAP, &s, &len), 0);
        ck_assert(nb_rx_lro_candidate(frame, (uint32_t)len, OFF_CAP_TSO6));
        ck_assert(!nb_rx_lro_candidate(frame, (uint32_t)len, OFF_CAP_TSO4));
        frame[12] = 0x08, frame[13] = 0x06; /* ARP */
        ck_assert(!nb_rx_lro_candidate(frame, (uint32_t)len, ALL_TSO));

        struct uplink_meta um = {.needs_csum = true, .data_valid = true};
        ck_assert_uint_eq(nb_rx_lro_rx(&um), OFF_LRO_RX_CSUM_PARTIAL);
        um.needs_csum = false;
        ck_assert_uint_eq(nb_rx_lro_rx(&um), OFF_LRO_RX_CSUM_VALID);
        um.data_valid = false;
        um.gso = UPLINK_GSO_TCPV4;
        ck_assert_uint_eq(nb_rx_lro_rx(&um), OFF_LRO_RX_CSUM_NONE | OFF_LRO_RX_GSO);
}
END_TEST

/* MTU-sized frames of one stream, as the TAP hands them (partial checksums),
 * through LRO and the glue: one GSO packet for the guest, csum_blank, whose
 * completed checksum is valid and whose payload is the stream. */
static void lro_stream(int v6)
{
        struct off_lro *lro = NULL;
        struct off_lro_pkt pkts[OFF_LRO_FLOWS_MAX + 1];
        struct off_lro_out lo = {.pkts = pkts, .max = OFF_LRO_FLOWS_MAX + 1};
        struct uplink_meta um = {.needs_csum = true};
        struct off_pkt_info pi;
        const uint32_t segs = 10;
        static uint8_t merged[CAP];
        struct nb_rx_pkt r;

        ck_assert_int_eq(off_lro_create(NULL, &lro), 0);
        for (uint32_t i = 0; i < segs; i++) {
                struct off_build_spec s = tcp_spec(v6, i * MSS, stream + i * MSS, MSS);
                s.ip_id = (uint16_t)(1000 + i);
                size_t len = build_partial(&s, frame, 0, &pi);
                ck_assert(nb_rx_lro_candidate(frame, (uint32_t)len, ALL_TSO));
                ck_assert_int_eq(off_lro_add(lro, frame, len, nb_rx_lro_rx(&um), 1000 + i, &lo), 0);
                ck_assert_uint_eq(lo.n, 0); /* held, nothing out yet */
        }
        ck_assert_int_eq(off_lro_flush_all(lro, 2000, &lo), 0);
        ck_assert_uint_eq(lo.n, 1);
        ck_assert(!(pkts[0].flags & OFF_LRO_PKT_PASS));
        nb_rx_pkt_from_lro(&pkts[0], &r);
        ck_assert_uint_eq(r.gso_type, v6 ? XEN_NETIF_GSO_TYPE_TCPV6 : XEN_NETIF_GSO_TYPE_TCPV4);
        ck_assert_uint_eq(r.gso_size, MSS);
        ck_assert_int_eq(r.csum, NB_RX_CSUM_PARTIAL);
        ck_assert(!r.has_hash && r.xdp_headroom == 0);
        ck_assert_uint_eq(r.len, pkts[0].hdr_len + segs * MSS);
        uint32_t slots;
        ck_assert_int_eq(nb_rx_slots_needed(&r, &slots), 0);
        /* What the guest does with csum_blank: complete it, then it verifies. */
        memcpy(merged, r.data, r.len);
        ck_assert_int_eq(
            off_csum_complete_partial(merged, r.len, pkts[0].csum_start, pkts[0].csum_offset), 0);
        ck_assert_int_eq(off_parse(merged, r.len, 0, &pi), 0);
        ck_assert(off_csum_l4_ok(merged, r.len, &pi));
        ck_assert(memcmp(merged + pi.payload_off, stream, segs * MSS) == 0);
        off_lro_destroy(lro);
}

START_TEST(lro_stream_tcp4)
{
        lro_stream(0);
}
END_TEST

START_TEST(lro_stream_tcp6)
{
        lro_stream(1);
}
END_TEST

/* A lone held segment leaves as it came (verified: data_validated); a
 * frame LRO passes is the caller's own. */
START_TEST(lro_single_and_pass)
{
        struct off_lro *lro = NULL;
        struct off_lro_pkt pkts[OFF_LRO_FLOWS_MAX + 1];
        struct off_lro_out lo = {.pkts = pkts, .max = OFF_LRO_FLOWS_MAX + 1};
        struct uplink_meta um = {.data_valid = true};
        struct off_pkt_info pi;
        struct nb_rx_pkt r;
        size_t len;

        ck_assert_int_eq(off_lro_create(NULL, &lro), 0);
        struct off_build_spec s = tcp_spec(0, 0, stream, MSS);
        ck_assert_int_eq(off_build_packet(frame, CAP, &s, &len), 0);
        ck_assert_int_eq(off_parse(frame, len, 0, &pi), 0);
        ck_assert_int_eq(off_csum_fill_l4(frame, len, &pi), 0);
        ck_assert_int_eq(off_lro_add(lro, frame, len, nb_rx_lro_rx(&um), 1, &lo), 0);
        ck_assert_int_eq(off_lro_flush_all(lro, 2, &lo), 0);
        ck_assert_uint_eq(lo.n, 1);
        nb_rx_pkt_from_lro(&pkts[0], &r);
        ck_assert_uint_eq(r.gso_type, XEN_NETIF_GSO_TYPE_NONE);
        ck_assert_int_eq(r.csum, NB_RX_CSUM_UNNECESSARY);
        ck_assert_uint_eq(r.len, len);

        /* A pure ACK passes through at once, as the caller's frame. */
        s = tcp_spec(0, 0, NULL, 0);
        ck_assert_int_eq(off_build_packet(frame, CAP, &s, &len), 0);
        ck_assert_int_eq(off_lro_add(lro, frame, len, nb_rx_lro_rx(&um), 3, &lo), 0);
        ck_assert_uint_eq(lo.n, 1);
        ck_assert(pkts[0].flags & OFF_LRO_PKT_PASS);
        ck_assert_ptr_eq(pkts[0].data, frame);
        off_lro_destroy(lro);
}
END_TEST

/* ---- counters text -------------------------------------------------------- */

START_TEST(format_reads_back)
{
        struct off_path_stats o = {.gso_pass = 1,
                                   .gso_sw = 2,
                                   .gso_sw_segs = 3,
                                   .csum_pass = 4,
                                   .csum_sw = 5,
                                   .linearized = 6,
                                   .dropped = 7};
        struct off_lro_stats l = {.frames = 100, .merged = 90, .gso_out = 8, .single_out = 2};
        unsigned long long v[12];
        char buf[512];
        l.flush[OFF_LRO_R_BATCH] = 3;
        l.flush[OFF_LRO_R_HOLD_END] = 4;
        l.flush[OFF_LRO_R_PSH] = 7;
        nb_rx_off_format(&o, &l, buf, sizeof(buf));
        ck_assert_int_eq(sscanf(buf,
                                "rx offload gso_pass %llu gso_sw %llu gso_sw_segs %llu "
                                "csum_pass %llu csum_sw %llu linearized %llu dropped %llu; "
                                "lro frames %llu merged %llu gso_out %llu single_out %llu "
                                "flushes %llu",
                                &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8],
                                &v[9], &v[10], &v[11]),
                         12);
        const unsigned long long want[12] = {1, 2, 3, 4, 5, 6, 7, 100, 90, 8, 2, 14};
        for (int i = 0; i < 12; i++)
                ck_assert_uint_eq(v[i], want[i]);
        ck_assert_ptr_nonnull(strstr(buf, "(batch 3 hold_end 4 age 0 size 0 psh 7 short 0)"));
}
END_TEST

/* Keeping LRO flows open past a pass: only while L3 holds, never at or
 * past either deadline, and the wake-up never later than the earlier one. */
static const struct {
        const char *name;
        struct nb_rx_lro_hold h;
        enum off_lro_reason want;
        uint64_t wake;
} pass_end_cases[] = {
    {"no hold: flush at the pass end", {false, 0, 500, 100}, OFF_LRO_R_BATCH, 0},
    {"no hold, stale deadline ignored", {false, 900, 500, 100}, OFF_LRO_R_BATCH, 0},
    {"holding without a deadline", {true, 0, 500, 100}, OFF_LRO_R_BATCH, 0},
    {"holding, both ahead: keep, wake at LRO's", {true, 900, 500, 100}, OFF_LRO_R_NONE, 500},
    {"holding, both ahead: keep, wake at L3's", {true, 300, 500, 100}, OFF_LRO_R_NONE, 300},
    {"equal deadlines", {true, 500, 500, 499}, OFF_LRO_R_NONE, 500},
    {"LRO bound reached", {true, 900, 500, 500}, OFF_LRO_R_AGE, 0},
    {"LRO bound passed", {true, 900, 500, 700}, OFF_LRO_R_AGE, 0},
    {"hold bound reached", {true, 300, 500, 300}, OFF_LRO_R_HOLD_END, 0},
    {"hold bound passed", {true, 300, 500, 400}, OFF_LRO_R_HOLD_END, 0},
    {"both passed: the expired first", {true, 300, 500, 600}, OFF_LRO_R_AGE, 0},
    {"nothing held (no LRO deadline)", {true, 300, UINT64_MAX, 100}, OFF_LRO_R_NONE, 300},
};

START_TEST(lro_pass_end_table)
{
        const struct nb_rx_lro_hold *h = &pass_end_cases[_i].h;
        enum off_lro_reason got = nb_rx_lro_pass_end(h);
        uint64_t wake = nb_rx_lro_wake_at(h);

        ck_assert_msg(got == pass_end_cases[_i].want, "%s: %d", pass_end_cases[_i].name, got);
        ck_assert_msg(wake == pass_end_cases[_i].wake, "%s: wake %llu", pass_end_cases[_i].name,
                      (unsigned long long)wake);
}
END_TEST

/* The bound rule over a grid: a packet is kept only strictly before both
 * deadlines, and the wake-up is then no later than either. */
START_TEST(lro_pass_end_never_late)
{
        for (uint64_t l3 = 1; l3 < 12; l3++)
                for (uint64_t lro = 1; lro < 12; lro++)
                        for (uint64_t now = 0; now < 14; now++) {
                                struct nb_rx_lro_hold h = {true, l3, lro, now};
                                enum off_lro_reason r = nb_rx_lro_pass_end(&h);
                                uint64_t w = nb_rx_lro_wake_at(&h);
                                if (r == OFF_LRO_R_NONE) {
                                        ck_assert(now < l3 && now < lro);
                                        ck_assert(w > now && w <= l3 && w <= lro);
                                } else {
                                        ck_assert(now >= l3 || now >= lro);
                                        ck_assert_uint_eq(w, 0);
                                }
                        }
}
END_TEST

static Suite *nb_rx_off_suite(void)
{
        Suite *s = suite_create("nb_rx_off");
        TCase *tc = tcase_create("glue");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_loop_test(tc, guest_caps_table, 0, sizeof(caps_cases) / sizeof(caps_cases[0]));
        tcase_add_loop_test(tc, decide_table, 0, sizeof(decide_cases) / sizeof(decide_cases[0]));
        tcase_add_test(tc, segments_tcp4_64k);
        tcase_add_test(tc, segments_tcp6_odd_tail);
        tcase_add_test(tc, segments_tcp4_64k_min_mss);
        tcase_add_test(tc, segments_tcp6_64k_min_mss);
        tcase_add_test(tc, segment_check_refuses);
        tcase_add_test(tc, lro_candidates);
        tcase_add_test(tc, lro_stream_tcp4);
        tcase_add_test(tc, lro_stream_tcp6);
        tcase_add_test(tc, lro_single_and_pass);
        tcase_add_test(tc, format_reads_back);
        tcase_add_loop_test(tc, lro_pass_end_table, 0,
                            sizeof(pass_end_cases) / sizeof(pass_end_cases[0]));
        tcase_add_test(tc, lro_pass_end_never_late);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(nb_rx_off_suite)
