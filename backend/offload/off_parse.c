/* Header parser of the offload layer: turns a frame into offsets and lengths
 * (struct off_pkt_info) with every length bounded by the buffer. It does not
 * verify checksums or IP options: segmentation copies those verbatim. */
#include <errno.h>
#include <netinet/in.h>

#include "offload/off_bytes.h"
#include "offload/off_parse.h"

#define ETH_TYPE_OFF 12
#define VLAN_TCI_OFF 14
#define VLAN_TYPE_OFF 16

#define IPV4_VERSION 4
#define IPV4_TOT_LEN_OFF 2
#define IPV4_FRAG_OFF 6
#define IPV4_PROTO_OFF 9
#define IPV4_MF 0x2000u
#define IPV4_OFFSET_MASK 0x1FFFu
#define IPV4_IHL_UNIT 4

#define IPV6_VERSION 6
#define IPV6_PLEN_OFF 4
#define IPV6_NEXTHDR_OFF 6
#define IPV6_EXT_UNIT 8      /* Hdr Ext Len counts 8-octet units (RFC 8200 §4.3) */
#define IPV6_EXT_MIN 2       /* next header + length octets */
#define IPV6_FRAG_HLEN 8
/* Enough for any sane stack (hop-by-hop, dest opts, routing, dest opts),
 * and a bound on work a guest can make us do. */
#define IPV6_MAX_EXTHDRS 8

/* Extension headers from the IANA registry that the layer refuses to walk:
 * the L4 header behind them cannot be offloaded safely. */
#define IPPROTO_HIP_EXT 139
#define IPPROTO_SHIM6_EXT 140
#define IPPROTO_EXP1_EXT 253
#define IPPROTO_EXP2_EXT 254

#define IPV6_DADDR_OFF 24
#define RH_TYPE_OFF 2
#define RH_SEGLEFT_OFF 3
#define RH_ADDR0_OFF 8
#define RH_TYPE_HOME 2  /* RFC 6275 §6.4: the home address is the final destination */
#define RH_TYPE_SRH 4   /* RFC 8754 §2: Segment List[0] is the final segment */
#define IPV6_ADDR_LEN 16

#define TCP_DOFF_OFF 12
#define TCP_FLAGS_OFF 13
#define TCP_DOFF_UNIT 4
#define UDP_LEN_OFF 4

static int refuse(struct off_pkt_info *pi, enum off_parse_reason reason, int err)
{
        pi->reason = reason;
        return err;
}

/* The frame's L3 protocol sits after at most one 802.1Q tag (IEEE 802.1Q §9). */
static int parse_l2(const uint8_t *pkt, size_t len, struct off_pkt_info *pi)
{
        if (len < OFF_ETH_HLEN)
                return refuse(pi, OFF_REASON_TRUNCATED, -EMSGSIZE);
        pi->ethertype = off_get_be16(pkt + ETH_TYPE_OFF);
        pi->l2_len = OFF_ETH_HLEN;
        if (pi->ethertype == OFF_ETH_P_8021Q) {
                if (len < OFF_ETH_HLEN + OFF_VLAN_HLEN)
                        return refuse(pi, OFF_REASON_TRUNCATED, -EMSGSIZE);
                pi->flags |= OFF_PKT_VLAN;
                pi->vlan_tci = off_get_be16(pkt + VLAN_TCI_OFF);
                pi->ethertype = off_get_be16(pkt + VLAN_TYPE_OFF);
                pi->l2_len += OFF_VLAN_HLEN;
        }
        pi->l3_off = pi->l2_len;
        return 0;
}

static int parse_ipv4(const uint8_t *ip, size_t avail, uint32_t flags, struct off_pkt_info *pi)
{
        if (avail < OFF_IPV4_MIN_HLEN)
                return refuse(pi, OFF_REASON_TRUNCATED, -EMSGSIZE);
        size_t ihl = (size_t)(ip[0] & 0x0F) * IPV4_IHL_UNIT;
        if ((ip[0] >> 4) != IPV4_VERSION || ihl < OFF_IPV4_MIN_HLEN)
                return refuse(pi, OFF_REASON_IPV4_HEADER, -EBADMSG);
        if (ihl > avail)
                return refuse(pi, OFF_REASON_TRUNCATED, -EMSGSIZE);

        size_t tot = off_get_be16(ip + IPV4_TOT_LEN_OFF);
        if (flags & OFF_PARSE_GSO) {
                tot = avail;
        } else {
                if (tot < ihl)
                        return refuse(pi, OFF_REASON_IPV4_HEADER, -EBADMSG);
                if (tot > avail)
                        return refuse(pi, OFF_REASON_TRUNCATED, -EMSGSIZE);
        }
        pi->l3_hdr_len = (uint16_t)ihl;
        pi->l3_len = (uint32_t)tot;
        pi->l4_proto = ip[IPV4_PROTO_OFF];
        /* RFC 791: any fragment, first included, leaves L4 to the reassembler. */
        if (off_get_be16(ip + IPV4_FRAG_OFF) & (IPV4_MF | IPV4_OFFSET_MASK)) {
                pi->flags |= OFF_PKT_FRAGMENT;
                return refuse(pi, OFF_REASON_FRAGMENT, 0);
        }
        return 0;
}

static int is_refused_exthdr(uint8_t nh)
{
        switch (nh) {
        case IPPROTO_AH:
        case IPPROTO_MH:
        case IPPROTO_HIP_EXT:
        case IPPROTO_SHIM6_EXT:
        case IPPROTO_EXP1_EXT:
        case IPPROTO_EXP2_EXT:
                return 1;
        default:
                return 0;
        }
}

/* RFC 8200 §8.1: with segments left, the upper-layer checksum uses the final
 * destination, which only routing types with a known layout let us find. */
static int note_routing_dst(const uint8_t *ip, size_t off, size_t ext_len,
                            struct off_pkt_info *pi)
{
        const uint8_t *rh = ip + off;
        if (rh[RH_SEGLEFT_OFF] == 0)
                return 0;
        if ((rh[RH_TYPE_OFF] != RH_TYPE_HOME && rh[RH_TYPE_OFF] != RH_TYPE_SRH) ||
            ext_len < RH_ADDR0_OFF + IPV6_ADDR_LEN)
                return refuse(pi, OFF_REASON_IPV6_EXTHDR, -EPROTONOSUPPORT);
        pi->ipv6_dst_off = (uint16_t)(pi->l3_off + off + RH_ADDR0_OFF);
        return 0;
}

/* Walks hop-by-hop, routing and destination options (RFC 8200 §4.3-4.6) up to
 * the upper-layer header; stops at a fragment header like Linux GSO does. */
static int walk_ipv6_ext(const uint8_t *ip, struct off_pkt_info *pi)
{
        uint8_t nh = ip[IPV6_NEXTHDR_OFF];
        size_t off = OFF_IPV6_HLEN;
        for (unsigned n = 0;; n++) {
                if (nh == IPPROTO_HOPOPTS && n != 0)
                        return refuse(pi, OFF_REASON_IPV6_HOP_ORDER, -EBADMSG);
                if (nh == IPPROTO_FRAGMENT) {
                        if (off + IPV6_FRAG_HLEN > pi->l3_len)
                                return refuse(pi, OFF_REASON_TRUNCATED, -EMSGSIZE);
                        pi->flags |= OFF_PKT_FRAGMENT;
                        pi->l3_hdr_len = (uint16_t)(off + IPV6_FRAG_HLEN);
                        pi->l4_proto = ip[off];
                        return refuse(pi, OFF_REASON_FRAGMENT, 0);
                }
                if (is_refused_exthdr(nh) || (n == IPV6_MAX_EXTHDRS &&
                    (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS)))
                        return refuse(pi, OFF_REASON_IPV6_EXTHDR, -EPROTONOSUPPORT);
                if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING && nh != IPPROTO_DSTOPTS)
                        break;
                if (off + IPV6_EXT_MIN > pi->l3_len)
                        return refuse(pi, OFF_REASON_TRUNCATED, -EMSGSIZE);
                size_t ext_len = ((size_t)ip[off + 1] + 1) * IPV6_EXT_UNIT;
                if (off + ext_len > pi->l3_len)
                        return refuse(pi, OFF_REASON_TRUNCATED, -EMSGSIZE);
                if (nh == IPPROTO_ROUTING && note_routing_dst(ip, off, ext_len, pi))
                        return -EPROTONOSUPPORT;
                pi->flags |= OFF_PKT_IPV6_EXT;
                nh = ip[off];
                off += ext_len;
        }
        pi->l3_hdr_len = (uint16_t)off;
        pi->l4_proto = nh;
        return 0;
}

static int parse_ipv6(const uint8_t *ip, size_t avail, uint32_t flags, struct off_pkt_info *pi)
{
        if (avail < OFF_IPV6_HLEN)
                return refuse(pi, OFF_REASON_TRUNCATED, -EMSGSIZE);
        if ((ip[0] >> 4) != IPV6_VERSION)
                return refuse(pi, OFF_REASON_IPV6_HEADER, -EBADMSG);
        size_t tot = OFF_IPV6_HLEN + (size_t)off_get_be16(ip + IPV6_PLEN_OFF);
        if (flags & OFF_PARSE_GSO)
                tot = avail;
        else if (tot > avail)
                return refuse(pi, OFF_REASON_TRUNCATED, -EMSGSIZE);
        pi->l3_len = (uint32_t)tot;
        pi->ipv6_dst_off = (uint16_t)(pi->l3_off + IPV6_DADDR_OFF);
        return walk_ipv6_ext(ip, pi);
}

static int parse_tcp(const uint8_t *l4, size_t span, struct off_pkt_info *pi)
{
        if (span < OFF_TCP_MIN_HLEN)
                return refuse(pi, OFF_REASON_TRUNCATED, -EMSGSIZE);
        size_t thl = (size_t)(l4[TCP_DOFF_OFF] >> 4) * TCP_DOFF_UNIT;
        if (thl < OFF_TCP_MIN_HLEN)
                return refuse(pi, OFF_REASON_TCP_HEADER, -EBADMSG);
        if (thl > span)
                return refuse(pi, OFF_REASON_TRUNCATED, -EMSGSIZE);
        pi->l4_hdr_len = (uint16_t)thl;
        pi->l4_len = (uint32_t)span;
        pi->tcp_flags = l4[TCP_FLAGS_OFF];
        return 0;
}

/* RFC 768: the UDP length bounds the datagram; bytes after it are padding
 * (Linux trims them in __udp4_lib_rcv). A GSO buffer is bounded by itself. */
static int parse_udp(const uint8_t *l4, size_t span, uint32_t flags, struct off_pkt_info *pi)
{
        if (span < OFF_UDP_HLEN)
                return refuse(pi, OFF_REASON_TRUNCATED, -EMSGSIZE);
        size_t ulen = off_get_be16(l4 + UDP_LEN_OFF);
        if (flags & OFF_PARSE_GSO) {
                ulen = span;
        } else {
                if (ulen < OFF_UDP_HLEN)
                        return refuse(pi, OFF_REASON_UDP_HEADER, -EBADMSG);
                if (ulen > span)
                        return refuse(pi, OFF_REASON_TRUNCATED, -EMSGSIZE);
        }
        pi->l4_hdr_len = OFF_UDP_HLEN;
        pi->l4_len = (uint32_t)ulen;
        return 0;
}

static int parse_l4(const uint8_t *pkt, uint32_t flags, struct off_pkt_info *pi)
{
        size_t l4_off = (size_t)pi->l3_off + pi->l3_hdr_len;
        size_t span = pi->l3_len - pi->l3_hdr_len;
        int rc;

        if (pi->l4_proto == IPPROTO_TCP)
                rc = parse_tcp(pkt + l4_off, span, pi);
        else if (pi->l4_proto == IPPROTO_UDP)
                rc = parse_udp(pkt + l4_off, span, flags, pi);
        else
                return refuse(pi, OFF_REASON_L4_PROTO, 0);
        if (rc)
                return rc;
        pi->l4_off = (uint16_t)l4_off;
        pi->payload_off = (uint32_t)(l4_off + pi->l4_hdr_len);
        pi->payload_len = pi->l4_len - pi->l4_hdr_len;
        pi->flags |= OFF_PKT_L4;
        return 0;
}

int off_parse(const uint8_t *pkt, size_t len, uint32_t flags, struct off_pkt_info *pi)
{
        if (!pkt || !pi)
                return -EINVAL;
        memset(pi, 0, sizeof(*pi));
        /* Offsets are 16-bit: a frame is at most a 64 KiB GSO packet plus headers. */
        if (len > UINT16_MAX + (size_t)OFF_ETH_HLEN + OFF_VLAN_HLEN)
                return refuse(pi, OFF_REASON_TRUNCATED, -EINVAL);

        int rc = parse_l2(pkt, len, pi);
        if (rc)
                return rc;
        const uint8_t *ip = pkt + pi->l3_off;
        size_t avail = len - pi->l3_off;
        if (pi->ethertype == OFF_ETH_P_IPV4)
                rc = parse_ipv4(ip, avail, flags, pi);
        else if (pi->ethertype == OFF_ETH_P_IPV6)
                rc = parse_ipv6(ip, avail, flags, pi);
        else
                return refuse(pi, OFF_REASON_L3_PROTO, 0);
        if (rc || pi->reason != OFF_REASON_NONE)
                return rc;
        return parse_l4(pkt, flags, pi);
}

static const char *const reason_names[OFF_REASON_COUNT] = {
        [OFF_REASON_NONE] = "ok",
        [OFF_REASON_TRUNCATED] = "header runs past the buffer",
        [OFF_REASON_L3_PROTO] = "not IPv4/IPv6",
        [OFF_REASON_IPV4_HEADER] = "corrupt IPv4 header",
        [OFF_REASON_IPV6_HEADER] = "corrupt IPv6 header",
        [OFF_REASON_FRAGMENT] = "IP fragment",
        [OFF_REASON_IPV6_EXTHDR] = "unsupported IPv6 extension header",
        [OFF_REASON_IPV6_HOP_ORDER] = "IPv6 hop-by-hop header not first",
        [OFF_REASON_L4_PROTO] = "neither TCP nor UDP",
        [OFF_REASON_TCP_HEADER] = "corrupt TCP header",
        [OFF_REASON_UDP_HEADER] = "corrupt UDP header",
};

const char *off_parse_reason_str(enum off_parse_reason reason)
{
        if ((unsigned)reason >= OFF_REASON_COUNT)
                return "unknown";
        return reason_names[reason];
}
