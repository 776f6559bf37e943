/* TCPv6 hooks of the merger: Linux ipv6_gro_receive() rules (extension
 * headers the parser walks must be byte-identical, traffic class, flow
 * label and hop limit unchanged) and the merged payload length. */
#include "offload/off_bytes.h"
#include "offload/off_lro_internal.h"

#define IPV6_FIRST_WORD_LEN 4 /* version, traffic class, flow label */
#define IPV6_PLEN_OFF       4
#define IPV6_NEXTHDR_OFF    6
#define IPV6_HOPLIMIT_OFF   7
#define IPV6_SADDR_OFF      8
#define IPV6_ADDRS_LEN      32

/* ipv6_gro_receive flushes when the payload length is not exactly the rest
 * of the frame. */
static enum off_lro_reason tcp6_frame_ok(const uint8_t *frame, size_t len,
                                         const struct off_pkt_info *pi)
{
        if ((size_t)pi->l3_off + pi->l3_len != len)
                return OFF_LRO_R_IP_HDR;
        return OFF_LRO_R_NONE;
}

static void tcp6_start(struct off_lro_flow *f, const uint8_t *ip)
{
        f->ip_id = 0;
        f->ip_fixedid = 0;
}

/* A different flow label, next header or extension header makes Linux
 * treat the frame as another flow, a different traffic class or hop limit
 * flushes (ipv6_gro_flush); with one entry per TCP 4-tuple both end the
 * held packet here. The caller checked the header lengths are equal. */
static enum off_lro_reason tcp6_compare(struct off_lro_flow *f, const uint8_t *ip,
                                        const uint8_t *held)
{
        size_t ext = (size_t)f->pi.l3_hdr_len - OFF_IPV6_HLEN;
        if (memcmp(ip, held, IPV6_FIRST_WORD_LEN) != 0 ||
            ip[IPV6_NEXTHDR_OFF] != held[IPV6_NEXTHDR_OFF] ||
            ip[IPV6_HOPLIMIT_OFF] != held[IPV6_HOPLIMIT_OFF] ||
            memcmp(ip + OFF_IPV6_HLEN, held + OFF_IPV6_HLEN, ext) != 0)
                return OFF_LRO_R_IP_HDR;
        return OFF_LRO_R_NONE;
}

/* RFC 8200 §3: the payload length counts extension headers too. */
static void tcp6_finish(uint8_t *ip, uint32_t l3_len)
{
        off_put_be16(ip + IPV6_PLEN_OFF, (uint16_t)(l3_len - OFF_IPV6_HLEN));
}

const struct off_lro_l3_ops off_lro_tcp6_ops = {
    .ethertype = OFF_ETH_P_IPV6,
    .gso_type = OFF_LRO_GSO_TCPV6,
    .addrs_off = IPV6_SADDR_OFF,
    .addrs_len = IPV6_ADDRS_LEN,
    .frame_ok = tcp6_frame_ok,
    .start = tcp6_start,
    .compare = tcp6_compare,
    .finish = tcp6_finish,
};
