/* TCPv4 hooks of the segmenter: total length, identification and header
 * checksum per segment, as Linux inet_gso_segment() writes them. */
#include "offload/off_bytes.h"
#include "offload/off_csum.h"
#include "offload/off_gso_internal.h"

#define IPV4_TOT_LEN_OFF 2
#define IPV4_ID_OFF 4

static uint32_t tcp4_len_field(const struct off_pkt_info *pi, uint32_t l3_len)
{
        return l3_len;
}

/* IDs increase by one per segment from the GSO packet's ID (modulo 2^16), as
 * Linux does unless SKB_GSO_TCP_FIXEDID; RFC 6864 §4.1 allows either for
 * atomic datagrams, and incrementing is what a real sender would have done. */
static void tcp4_fix_l3(uint8_t *ip, const struct off_pkt_info *pi, uint32_t l3_len, uint32_t idx)
{
        off_put_be16(ip + IPV4_TOT_LEN_OFF, (uint16_t)l3_len);
        off_put_be16(ip + IPV4_ID_OFF, (uint16_t)(off_get_be16(ip + IPV4_ID_OFF) + idx));
        off_csum_fill_ipv4_hdr(ip, pi->l3_hdr_len);
}

static const struct off_gso_l3_ops tcp4_ops = {
        .ethertype = OFF_ETH_P_IPV4,
        .l3_len_field = tcp4_len_field,
        .fix_l3 = tcp4_fix_l3,
};

int off_gso_segment_tcp4(const uint8_t *pkt, size_t len, const struct off_pkt_info *pi,
                         uint16_t mss, enum off_gso_mode mode, struct off_gso_out *out)
{
        return off_gso_segment_common(pkt, len, pi, mss, mode, out, &tcp4_ops);
}
