/* Header parsing for the offload layer: Ethernet (+ one 802.1Q tag), IPv4,
 * IPv6 with the extension headers the layer supports, TCP and UDP. Pure and
 * bounded by the buffer; it validates what offload needs, not routing rules. */
#ifndef PVBACK_OFF_PARSE_H
#define PVBACK_OFF_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define OFF_ETH_ALEN 6
#define OFF_ETH_HLEN 14
#define OFF_VLAN_HLEN 4
#define OFF_ETH_P_IPV4 0x0800
#define OFF_ETH_P_IPV6 0x86DD
#define OFF_ETH_P_8021Q 0x8100

#define OFF_IPV4_MIN_HLEN 20
#define OFF_IPV6_HLEN 40
#define OFF_TCP_MIN_HLEN 20
#define OFF_UDP_HLEN 8

/* TCP flag bits as in byte 13 of the header (RFC 793, RFC 3168). */
#define OFF_TCP_FIN 0x01
#define OFF_TCP_SYN 0x02
#define OFF_TCP_RST 0x04
#define OFF_TCP_PSH 0x08
#define OFF_TCP_ACK 0x10
#define OFF_TCP_URG 0x20
#define OFF_TCP_ECE 0x40
#define OFF_TCP_CWR 0x80

/* Parse options. */
enum off_parse_flags {
        /* The buffer is a GSO super-packet: its length, not the IPv4 total
         * length / IPv6 payload length, bounds L3 (Linux inet_gso_segment and
         * ipv6_gso_segment rewrite those fields from the skb length). */
        OFF_PARSE_GSO = 1u << 0,
};

/* What the parser learnt, set in off_pkt_info.flags. */
enum off_pkt_flags {
        OFF_PKT_VLAN = 1u << 0,
        OFF_PKT_L4 = 1u << 1,       /* TCP or UDP header parsed: L4 offload possible */
        OFF_PKT_FRAGMENT = 1u << 2, /* IPv4 MF/offset or IPv6 fragment header */
        OFF_PKT_IPV6_EXT = 1u << 3, /* supported IPv6 extension headers present */
};

/* Why the parser stopped short of L4, or refused: for logs and counters. */
enum off_parse_reason {
        OFF_REASON_NONE = 0,
        OFF_REASON_TRUNCATED,     /* a header runs past the buffer */
        OFF_REASON_L3_PROTO,      /* not IPv4/IPv6: nothing to offload */
        OFF_REASON_IPV4_HEADER,   /* version, IHL or total length corrupt */
        OFF_REASON_IPV6_HEADER,   /* version or payload length corrupt */
        OFF_REASON_FRAGMENT,      /* fragments carry no offloadable L4 */
        OFF_REASON_IPV6_EXTHDR,   /* extension header the layer does not walk */
        OFF_REASON_IPV6_HOP_ORDER,/* hop-by-hop not first (RFC 8200 §4.1) */
        OFF_REASON_L4_PROTO,      /* upper layer is neither TCP nor UDP */
        OFF_REASON_TCP_HEADER,    /* data offset corrupt */
        OFF_REASON_UDP_HEADER,    /* UDP length corrupt */
        OFF_REASON_COUNT,
};

struct off_pkt_info {
        uint32_t flags;           /* enum off_pkt_flags */
        enum off_parse_reason reason;
        uint16_t ethertype;       /* after the VLAN tag, host order */
        uint16_t vlan_tci;        /* valid with OFF_PKT_VLAN */
        uint16_t l2_len;          /* Ethernet (+ VLAN) header */
        uint16_t l3_off;
        uint16_t l3_hdr_len;      /* IPv4 incl. options; IPv6 incl. extension headers */
        uint32_t l3_len;          /* header + payload, per length field or GSO buffer */
        uint16_t ipv6_dst_off;    /* IPv6: the pseudo-header's destination (RFC 8200 §8.1) */
        uint8_t l4_proto;         /* IPPROTO_* of the upper layer */
        uint16_t l4_off;          /* valid with OFF_PKT_L4 */
        uint16_t l4_hdr_len;      /* TCP incl. options, or 8 for UDP */
        uint32_t l4_len;          /* L4 header + payload (the checksummed span) */
        uint8_t tcp_flags;        /* byte 13 of the TCP header */
        uint32_t payload_off;
        uint32_t payload_len;
};

/* Parses @len bytes at @pkt into @pi. Returns 0 when the headers are sound
 * (check OFF_PKT_L4 / pi->reason for what is offloadable), -EMSGSIZE when a
 * header or length field runs past the buffer, -EBADMSG for a corrupt field,
 * -EPROTONOSUPPORT for an IPv6 extension header the layer refuses, -EINVAL
 * for bad arguments. pi->reason is set on every outcome. */
int off_parse(const uint8_t *pkt, size_t len, uint32_t flags, struct off_pkt_info *pi);

/* Human-readable reason, for log lines. */
const char *off_parse_reason_str(enum off_parse_reason reason);

#endif
