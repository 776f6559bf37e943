/* TCPv6 hooks of the segmenter: the payload length per segment, as Linux
 * ipv6_gso_segment() writes it; extension headers are copied unchanged. */
#include "offload/off_bytes.h"
#include "offload/off_gso_internal.h"

#define IPV6_PLEN_OFF 4

/* RFC 8200 §3: Payload Length counts extension headers too. */
static uint32_t tcp6_len_field(const struct off_pkt_info *pi, uint32_t l3_len)
{
        return l3_len - OFF_IPV6_HLEN;
}

/* IPv6 has no header checksum. */
static uint64_t tcp6_shared_sum(const uint8_t *ip, const struct off_pkt_info *pi)
{
        return 0;
}

static void tcp6_fix_l3(uint8_t *ip, const struct off_pkt_info *pi, uint32_t l3_len, uint32_t idx,
                        uint64_t shared_sum)
{
        off_put_be16(ip + IPV6_PLEN_OFF, (uint16_t)tcp6_len_field(pi, l3_len));
}

const struct off_gso_l3_ops off_gso_tcp6_ops = {
    .ethertype = OFF_ETH_P_IPV6,
    .l3_len_field = tcp6_len_field,
    .l3_shared_sum = tcp6_shared_sum,
    .fix_l3 = tcp6_fix_l3,
};

int off_gso_segment_tcp6(const uint8_t *pkt, size_t len, const struct off_pkt_info *pi,
                         uint16_t mss, enum off_gso_mode mode, struct off_gso_out *out)
{
        return off_gso_segment_common(pkt, len, pi, mss, 0, true, mode, out, &off_gso_tcp6_ops);
}
