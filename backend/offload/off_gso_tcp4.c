/* TCPv4 hooks of the segmenter: total length, identification and header
 * checksum per segment, as Linux inet_gso_segment() writes them. */
#include "offload/off_bytes.h"
#include "offload/off_csum.h"
#include "offload/off_gso_internal.h"

#define IPV4_TOT_LEN_OFF 2
#define IPV4_ID_OFF      4
#define IPV4_CHECK_OFF   10

static uint32_t tcp4_len_field(const struct off_pkt_info *pi, uint32_t l3_len)
{
        return l3_len;
}

/* Total length and ID change per segment; the header checksum covers them,
 * so it is the rest of the header, summed once, plus those two fields. The
 * fields are taken out by adding their complements (RFC 1624 eqn. 3). */
static uint64_t tcp4_shared_sum(const uint8_t *ip, const struct off_pkt_info *pi)
{
        uint64_t sum = off_csum_partial(ip, pi->l3_hdr_len, 0);
        sum += (uint16_t)~off_get_raw16(ip + IPV4_TOT_LEN_OFF);
        sum += (uint16_t)~off_get_raw16(ip + IPV4_ID_OFF);
        sum += (uint16_t)~off_get_raw16(ip + IPV4_CHECK_OFF);
        return sum;
}

/* IDs increase by one per segment from the GSO packet's ID (modulo 2^16), as
 * Linux does unless SKB_GSO_TCP_FIXEDID; RFC 6864 §4.1 allows either for
 * atomic datagrams, and incrementing is what a real sender would have done.
 * The header checksum equals a full recomputation (ip_send_check): both sums
 * are congruent and non-zero (the version byte), so they fold alike. */
static void tcp4_fix_l3(uint8_t *ip, const struct off_pkt_info *pi, uint32_t l3_len, uint32_t idx,
                        uint64_t shared_sum)
{
        off_put_be16(ip + IPV4_TOT_LEN_OFF, (uint16_t)l3_len);
        off_put_be16(ip + IPV4_ID_OFF, (uint16_t)(off_get_be16(ip + IPV4_ID_OFF) + idx));
        uint64_t sum =
            shared_sum + off_get_raw16(ip + IPV4_TOT_LEN_OFF) + off_get_raw16(ip + IPV4_ID_OFF);
        off_put_raw16(ip + IPV4_CHECK_OFF, off_csum_finish(sum));
}

const struct off_gso_l3_ops off_gso_tcp4_ops = {
    .ethertype = OFF_ETH_P_IPV4,
    .l3_len_field = tcp4_len_field,
    .l3_shared_sum = tcp4_shared_sum,
    .fix_l3 = tcp4_fix_l3,
};

int off_gso_segment_tcp4(const uint8_t *pkt, size_t len, const struct off_pkt_info *pi,
                         uint16_t mss, enum off_gso_mode mode, struct off_gso_out *out)
{
        return off_gso_segment_common(pkt, len, pi, mss, 0, true, mode, out, &off_gso_tcp4_ops);
}
