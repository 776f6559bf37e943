/* off_parse: a table of well-formed, refused and corrupt frames (IPv4
 * options, VLAN, IPv6 extension headers, fragments, bad lengths) and every
 * truncation of a full frame. */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "check_main.h"
#include "offload/off_build.h"
#include "offload/off_bytes.h"
#include "offload/off_parse.h"

#define BUF 2048
#define ETH 14
#define IP4_OFF ETH
#define TCP4_OFF (ETH + 20)

static const uint8_t ip_opts_ra[] = {0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00};
static const uint8_t tcp_opts_ts[] = {0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 2};
/* hop-by-hop (PadN) -> destination options (PadN) -> TCP */
static const uint8_t ext_hbh_dst[] = {IPPROTO_DSTOPTS, 0, 1, 4, 0, 0, 0, 0,
                                      IPPROTO_TCP,     0, 1, 4, 0, 0, 0, 0};
/* routing header, SRH type 4, segments left 0 -> TCP */
static const uint8_t ext_srh_done[] = {IPPROTO_TCP, 2, 4, 0, 0, 0, 0, 0, 0xfd, 0, 0, 0, 0, 0, 0,
                                       0, 0, 0, 0, 0, 0, 0, 0, 9};
static const uint8_t ext_srh_left[] = {IPPROTO_TCP, 2, 4, 1, 0, 0, 0, 0, 0xfd, 0, 0, 0, 0, 0, 0,
                                       0, 0, 0, 0, 0, 0, 0, 0, 9};
static const uint8_t ext_rh0_left[] = {IPPROTO_TCP, 2, 0, 1, 0, 0, 0, 0, 0xfd, 0, 0, 0, 0, 0, 0,
                                       0, 0, 0, 0, 0, 0, 0, 0, 9};
static const uint8_t ext_frag[] = {IPPROTO_TCP, 0, 0, 1, 0, 0, 0, 7};
static const uint8_t ext_ah[] = {IPPROTO_TCP, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
static const uint8_t ext_dst_hbh[] = {IPPROTO_HOPOPTS, 0, 1, 4, 0, 0, 0, 0,
                                      IPPROTO_TCP,     0, 1, 4, 0, 0, 0, 0};
static uint8_t ext_nine_dst[9 * 8];

typedef void (*mutate_fn)(uint8_t *pkt, size_t *len);

static void set_ip4_ver5(uint8_t *p, size_t *len) { p[IP4_OFF] = 0x55; }
static void set_ihl4(uint8_t *p, size_t *len) { p[IP4_OFF] = 0x44; }
static void set_ihl15(uint8_t *p, size_t *len) { p[IP4_OFF] = 0x4f; *len = ETH + 40; }
static void tot_len_big(uint8_t *p, size_t *len) { off_put_be16(p + IP4_OFF + 2, 2000); }
static void tot_len_small(uint8_t *p, size_t *len) { off_put_be16(p + IP4_OFF + 2, 19); }
static void tot_len_zero(uint8_t *p, size_t *len) { off_put_be16(p + IP4_OFF + 2, 0); }
static void pad_frame(uint8_t *p, size_t *len) { memset(p + *len, 0, 10); *len += 10; }
static void set_mf(uint8_t *p, size_t *len) { off_put_be16(p + IP4_OFF + 6, 0x2000); }
static void set_frag_off(uint8_t *p, size_t *len) { off_put_be16(p + IP4_OFF + 6, 0x0010); }
static void set_icmp(uint8_t *p, size_t *len) { p[IP4_OFF + 9] = IPPROTO_ICMP; }
static void set_doff4(uint8_t *p, size_t *len) { p[TCP4_OFF + 12] = 0x40; }
static void set_doff15(uint8_t *p, size_t *len) { p[TCP4_OFF + 12] = 0xf0; }
static void set_arp(uint8_t *p, size_t *len) { off_put_be16(p + 12, 0x0806); }
static void udp_len7(uint8_t *p, size_t *len) { off_put_be16(p + TCP4_OFF + 4, 7); }
static void udp_len_big(uint8_t *p, size_t *len) { off_put_be16(p + TCP4_OFF + 4, 500); }
static void udp_len_short(uint8_t *p, size_t *len) { off_put_be16(p + TCP4_OFF + 4, 10); }
static void set_ip6_ver4(uint8_t *p, size_t *len) { p[ETH] = 0x40; }
static void ip6_none(uint8_t *p, size_t *len) { p[ETH + 6] = 59; /* No Next Header */ }
static void cut_ext(uint8_t *p, size_t *len) { off_put_be16(p + ETH + 4, 4); *len = ETH + 44; }

struct parse_case {
        const char *name;
        uint16_t ethertype;
        uint8_t proto;
        int vlan;
        const uint8_t *ip_opts, *tcp_opts, *ext;
        size_t ip_opts_len, tcp_opts_len, ext_len;
        uint8_t ext_first;
        size_t payload;
        mutate_fn mutate;
        uint32_t parse_flags;
        int rc;
        enum off_parse_reason reason;
        uint32_t want_flags; /* bits that must be set */
        int l4_off;          /* -1: do not check */
        int payload_len;     /* -1: do not check */
};

#define V4 OFF_ETH_P_IPV4
#define V6 OFF_ETH_P_IPV6
#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP

static const struct parse_case cases[] = {
    {"tcp4", V4, TCP, 0, NULL, NULL, NULL, 0, 0, 0, 0, 100, NULL, 0, 0, OFF_REASON_NONE, OFF_PKT_L4, 34, 100},
    {"tcp4 ip+tcp options", V4, TCP, 0, ip_opts_ra, tcp_opts_ts, NULL, 8, 12, 0, 0, 33, NULL, 0, 0, OFF_REASON_NONE, OFF_PKT_L4, 42, 33},
    {"tcp4 vlan", V4, TCP, 1, NULL, NULL, NULL, 0, 0, 0, 0, 7, NULL, 0, 0, OFF_REASON_NONE, OFF_PKT_L4 | OFF_PKT_VLAN, 38, 7},
    {"udp4", V4, UDP, 0, NULL, NULL, NULL, 0, 0, 0, 0, 1, NULL, 0, 0, OFF_REASON_NONE, OFF_PKT_L4, 34, 1},
    {"udp4 zero payload", V4, UDP, 0, NULL, NULL, NULL, 0, 0, 0, 0, 0, NULL, 0, 0, OFF_REASON_NONE, OFF_PKT_L4, 34, 0},
    {"tcp4 ethernet padding ignored", V4, TCP, 0, NULL, NULL, NULL, 0, 0, 0, 0, 2, pad_frame, 0, 0, OFF_REASON_NONE, OFF_PKT_L4, 34, 2},
    {"udp4 length trims", V4, UDP, 0, NULL, NULL, NULL, 0, 0, 0, 0, 20, udp_len_short, 0, 0, OFF_REASON_NONE, OFF_PKT_L4, 34, 2},
    {"tcp4 gso ignores tot_len", V4, TCP, 0, NULL, NULL, NULL, 0, 0, 0, 0, 1000, tot_len_zero, OFF_PARSE_GSO, 0, OFF_REASON_NONE, OFF_PKT_L4, 34, 1000},
    {"tcp6", V6, TCP, 0, NULL, NULL, NULL, 0, 0, 0, 0, 10, NULL, 0, 0, OFF_REASON_NONE, OFF_PKT_L4, 54, 10},
    {"udp6 vlan", V6, UDP, 1, NULL, NULL, NULL, 0, 0, 0, 0, 3, NULL, 0, 0, OFF_REASON_NONE, OFF_PKT_L4 | OFF_PKT_VLAN, 58, 3},
    {"tcp6 hop-by-hop + dstopts", V6, TCP, 0, NULL, NULL, ext_hbh_dst, 0, 0, 16, IPPROTO_HOPOPTS, 5, NULL, 0, 0, OFF_REASON_NONE, OFF_PKT_L4 | OFF_PKT_IPV6_EXT, 70, 5},
    {"tcp6 srh, no segments left", V6, TCP, 0, NULL, NULL, ext_srh_done, 0, 0, 24, IPPROTO_ROUTING, 5, NULL, 0, 0, OFF_REASON_NONE, OFF_PKT_L4 | OFF_PKT_IPV6_EXT, 78, 5},
    {"tcp6 srh, segments left", V6, TCP, 0, NULL, NULL, ext_srh_left, 0, 0, 24, IPPROTO_ROUTING, 5, NULL, 0, 0, OFF_REASON_NONE, OFF_PKT_L4 | OFF_PKT_IPV6_EXT, 78, 5},
    {"ipv4 more fragments", V4, TCP, 0, NULL, NULL, NULL, 0, 0, 0, 0, 10, set_mf, 0, 0, OFF_REASON_FRAGMENT, OFF_PKT_FRAGMENT, -1, -1},
    {"ipv4 fragment offset", V4, UDP, 0, NULL, NULL, NULL, 0, 0, 0, 0, 10, set_frag_off, 0, 0, OFF_REASON_FRAGMENT, OFF_PKT_FRAGMENT, -1, -1},
    {"ipv6 fragment header", V6, TCP, 0, NULL, NULL, ext_frag, 0, 0, 8, IPPROTO_FRAGMENT, 10, NULL, 0, 0, OFF_REASON_FRAGMENT, OFF_PKT_FRAGMENT, -1, -1},
    {"icmp: no l4 offload", V4, TCP, 0, NULL, NULL, NULL, 0, 0, 0, 0, 10, set_icmp, 0, 0, OFF_REASON_L4_PROTO, 0, -1, -1},
    {"ipv6 no next header", V6, TCP, 0, NULL, NULL, NULL, 0, 0, 0, 0, 0, ip6_none, 0, 0, OFF_REASON_L4_PROTO, 0, -1, -1},
    {"arp: no l3", V4, TCP, 0, NULL, NULL, NULL, 0, 0, 0, 0, 10, set_arp, 0, 0, OFF_REASON_L3_PROTO, 0, -1, -1},
    {"ipv6 AH refused", V6, TCP, 0, NULL, NULL, ext_ah, 0, 0, 16, IPPROTO_AH, 10, NULL, 0, -EPROTONOSUPPORT, OFF_REASON_IPV6_EXTHDR, 0, -1, -1},
    {"ipv6 routing type 0 with segments left refused", V6, TCP, 0, NULL, NULL, ext_rh0_left, 0, 0, 24, IPPROTO_ROUTING, 5, NULL, 0, -EPROTONOSUPPORT, OFF_REASON_IPV6_EXTHDR, 0, -1, -1},
    {"ipv6 nine extension headers refused", V6, TCP, 0, NULL, NULL, ext_nine_dst, 0, 0, sizeof(ext_nine_dst), IPPROTO_DSTOPTS, 5, NULL, 0, -EPROTONOSUPPORT, OFF_REASON_IPV6_EXTHDR, 0, -1, -1},
    {"ipv6 hop-by-hop not first", V6, TCP, 0, NULL, NULL, ext_dst_hbh, 0, 0, 16, IPPROTO_DSTOPTS, 5, NULL, 0, -EBADMSG, OFF_REASON_IPV6_HOP_ORDER, 0, -1, -1},
    {"ipv6 extension past payload length", V6, TCP, 0, NULL, NULL, ext_hbh_dst, 0, 0, 16, IPPROTO_HOPOPTS, 5, cut_ext, 0, -EMSGSIZE, OFF_REASON_TRUNCATED, 0, -1, -1},
    {"ipv6 bad version", V6, TCP, 0, NULL, NULL, NULL, 0, 0, 0, 0, 5, set_ip6_ver4, 0, -EBADMSG, OFF_REASON_IPV6_HEADER, 0, -1, -1},
    {"ipv4 bad version", V4, TCP, 0, NULL, NULL, NULL, 0, 0, 0, 0, 5, set_ip4_ver5, 0, -EBADMSG, OFF_REASON_IPV4_HEADER, 0, -1, -1},
    {"ipv4 ihl 4", V4, TCP, 0, NULL, NULL, NULL, 0, 0, 0, 0, 5, set_ihl4, 0, -EBADMSG, OFF_REASON_IPV4_HEADER, 0, -1, -1},
    {"ipv4 ihl past buffer", V4, TCP, 0, NULL, NULL, NULL, 0, 0, 0, 0, 5, set_ihl15, 0, -EMSGSIZE, OFF_REASON_TRUNCATED, 0, -1, -1},
    {"ipv4 total length past buffer", V4, TCP, 0, NULL, NULL, NULL, 0, 0, 0, 0, 5, tot_len_big, 0, -EMSGSIZE, OFF_REASON_TRUNCATED, 0, -1, -1},
    {"ipv4 total length below ihl", V4, TCP, 0, NULL, NULL, NULL, 0, 0, 0, 0, 5, tot_len_small, 0, -EBADMSG, OFF_REASON_IPV4_HEADER, 0, -1, -1},
    {"tcp data offset 4", V4, TCP, 0, NULL, NULL, NULL, 0, 0, 0, 0, 5, set_doff4, 0, -EBADMSG, OFF_REASON_TCP_HEADER, 0, -1, -1},
    {"tcp data offset past packet", V4, TCP, 0, NULL, NULL, NULL, 0, 0, 0, 0, 5, set_doff15, 0, -EMSGSIZE, OFF_REASON_TRUNCATED, 0, -1, -1},
    {"udp length 7", V4, UDP, 0, NULL, NULL, NULL, 0, 0, 0, 0, 5, udp_len7, 0, -EBADMSG, OFF_REASON_UDP_HEADER, 0, -1, -1},
    {"udp length past packet", V4, UDP, 0, NULL, NULL, NULL, 0, 0, 0, 0, 5, udp_len_big, 0, -EMSGSIZE, OFF_REASON_TRUNCATED, 0, -1, -1},
};

static size_t build(uint8_t *buf, const struct parse_case *c)
{
        struct off_build_spec s = {
            .ethertype = c->ethertype, .l4_proto = c->proto, .vlan = c->vlan, .vlan_tci = 5,
            .ip_opts = c->ip_opts, .ip_opts_len = c->ip_opts_len, .tcp_opts = c->tcp_opts,
            .tcp_opts_len = c->tcp_opts_len, .ext = c->ext, .ext_len = c->ext_len,
            .ext_first = c->ext_first, .payload_len = c->payload, .sport = 1, .dport = 2,
            .tcp_flags = OFF_TCP_ACK | OFF_TCP_PSH,
        };
        size_t len;
        ck_assert_int_eq(off_build_packet(buf, BUF, &s, &len), 0);
        if (c->mutate)
                c->mutate(buf, &len);
        return len;
}

static void init_nine(void)
{
        for (int i = 0; i < 9; i++) {
                uint8_t *h = ext_nine_dst + i * 8;
                h[0] = i == 8 ? IPPROTO_TCP : IPPROTO_DSTOPTS;
                h[1] = 0;
                h[2] = 1; /* PadN */
                h[3] = 4;
        }
}

START_TEST(parse_table)
{
        static uint8_t buf[BUF];
        const struct parse_case *c = &cases[_i];
        struct off_pkt_info pi;
        init_nine();
        size_t len = build(buf, c);
        int rc = off_parse(buf, len, c->parse_flags, &pi);
        ck_assert_msg(rc == c->rc, "%s: rc %d want %d (%s)", c->name, rc, c->rc,
                      off_parse_reason_str(pi.reason));
        ck_assert_msg(pi.reason == c->reason, "%s: reason %s", c->name,
                      off_parse_reason_str(pi.reason));
        ck_assert_msg((pi.flags & c->want_flags) == c->want_flags, "%s: flags %x", c->name,
                      pi.flags);
        if (c->l4_off >= 0)
                ck_assert_msg(pi.l4_off == c->l4_off, "%s: l4_off %u", c->name, pi.l4_off);
        if (c->payload_len >= 0) {
                ck_assert_msg(pi.payload_len == (uint32_t)c->payload_len, "%s: payload %u",
                              c->name, pi.payload_len);
                ck_assert_uint_eq(pi.payload_off, pi.l4_off + pi.l4_hdr_len);
                ck_assert_uint_le(pi.payload_off + pi.payload_len, len);
        }
        if (rc == 0 && c->reason == OFF_REASON_NONE)
                ck_assert(pi.flags & OFF_PKT_L4);
}
END_TEST

START_TEST(fields_of_a_full_tcp4_frame)
{
        static uint8_t buf[BUF];
        struct off_pkt_info pi;
        size_t len = build(buf, &cases[1]);
        ck_assert_int_eq(off_parse(buf, len, 0, &pi), 0);
        ck_assert_uint_eq(pi.ethertype, OFF_ETH_P_IPV4);
        ck_assert_uint_eq(pi.l3_off, 14);
        ck_assert_uint_eq(pi.l3_hdr_len, 28);
        ck_assert_uint_eq(pi.l3_len, 28 + 32 + 33);
        ck_assert_uint_eq(pi.l4_proto, IPPROTO_TCP);
        ck_assert_uint_eq(pi.l4_hdr_len, 32);
        ck_assert_uint_eq(pi.l4_len, 32 + 33);
        ck_assert_uint_eq(pi.tcp_flags, OFF_TCP_ACK | OFF_TCP_PSH);
        ck_assert_uint_eq(pi.payload_off, 14 + 28 + 32);

        len = build(buf, &cases[2]);
        ck_assert_int_eq(off_parse(buf, len, 0, &pi), 0);
        ck_assert_uint_eq(pi.vlan_tci, 5);
        ck_assert_uint_eq(pi.l2_len, 18);
}
END_TEST

/* RFC 8200 §8.1: with segments left the pseudo-header uses the final
 * destination, Segment List[0] of an SRH. */
START_TEST(srh_final_destination)
{
        static uint8_t buf[BUF];
        struct off_pkt_info pi;
        size_t len = build(buf, &cases[12]);
        ck_assert_int_eq(off_parse(buf, len, 0, &pi), 0);
        ck_assert_uint_eq(pi.ipv6_dst_off, 14 + 40 + 8);
        ck_assert_uint_eq(buf[pi.ipv6_dst_off], 0xfd);
        len = build(buf, &cases[11]);
        ck_assert_int_eq(off_parse(buf, len, 0, &pi), 0);
        ck_assert_uint_eq(pi.ipv6_dst_off, 14 + 24);
}
END_TEST

/* Every prefix of a full frame is refused as truncated, none read past it
 * (ASan builds check the reads). */
START_TEST(every_truncation_is_refused)
{
        static const int full[] = {1, 2, 9, 10, 11};
        init_nine();
        for (size_t k = 0; k < sizeof(full) / sizeof(full[0]); k++) {
                uint8_t buf[BUF];
                size_t len = build(buf, &cases[full[k]]);
                for (size_t n = 0; n < len; n++) {
                        struct off_pkt_info pi;
                        uint8_t *copy = malloc(n ? n : 1);
                        memcpy(copy, buf, n);
                        int rc = off_parse(copy, n, 0, &pi);
                        free(copy);
                        ck_assert_msg(rc == -EMSGSIZE, "%s cut at %zu: rc %d", cases[full[k]].name,
                                      n, rc);
                        ck_assert_uint_eq(pi.reason, OFF_REASON_TRUNCATED);
                }
        }
}
END_TEST

START_TEST(bad_arguments_and_reason_strings)
{
        struct off_pkt_info pi;
        uint8_t b[64] = {0};
        ck_assert_int_eq(off_parse(NULL, 64, 0, &pi), -EINVAL);
        ck_assert_int_eq(off_parse(b, sizeof(b), 0, NULL), -EINVAL);
        for (int r = 0; r <= OFF_REASON_COUNT; r++)
                ck_assert_ptr_nonnull(off_parse_reason_str((enum off_parse_reason)r));
        ck_assert_str_eq(off_parse_reason_str(OFF_REASON_COUNT), "unknown");
}
END_TEST

static Suite *off_parse_suite(void)
{
        Suite *s = suite_create("off_parse");
        TCase *tc = tcase_create("core");
        tcase_add_loop_test(tc, parse_table, 0, (int)(sizeof(cases) / sizeof(cases[0])));
        tcase_add_test(tc, fields_of_a_full_tcp4_frame);
        tcase_add_test(tc, srh_final_destination);
        tcase_add_test(tc, every_truncation_is_refused);
        tcase_add_test(tc, bad_arguments_and_reason_strings);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(off_parse_suite)
