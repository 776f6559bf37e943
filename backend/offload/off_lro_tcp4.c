/* TCPv4 hooks of the merger: which IPv4 headers Linux inet_gro_receive()
 * merges at all, which differences end a merge (inet_gro_flush), and the
 * total length / header checksum of the merged packet (inet_gro_complete). */
#include "offload/off_bytes.h"
#include "offload/off_csum.h"
#include "offload/off_lro_internal.h"

#define IPV4_VERSION_IHL5 0x45
#define IPV4_TOS_OFF      1
#define IPV4_TOT_LEN_OFF  2
#define IPV4_ID_OFF       4
#define IPV4_FRAG_OFF     6
#define IPV4_TTL_OFF      8
#define IPV4_CHECK_OFF    10
#define IPV4_SADDR_OFF    12
#define IPV4_ADDRS_LEN    8
#define IPV4_DF           0x4000u

/* inet_gro_receive: only 20-byte headers (*(u8 *)iph == 0x45), a good
 * header checksum, no fragment bits but DF, and a total length that is
 * exactly the rest of the frame (no link padding). */
static enum off_lro_reason tcp4_frame_ok(const uint8_t *frame, size_t len,
                                         const struct off_pkt_info *pi)
{
        const uint8_t *ip = frame + pi->l3_off;
        if (ip[0] != IPV4_VERSION_IHL5 || (off_get_be16(ip + IPV4_FRAG_OFF) & ~IPV4_DF) ||
            (size_t)pi->l3_off + pi->l3_len != len)
                return OFF_LRO_R_IP_HDR;
        if (off_csum_buf(ip, OFF_IPV4_MIN_HLEN) != 0)
                return OFF_LRO_R_BAD_CSUM;
        return OFF_LRO_R_NONE;
}

static void tcp4_start(struct off_lro_flow *f, const uint8_t *ip)
{
        f->ip_id = off_get_be16(ip + IPV4_ID_OFF);
        f->ip_fixedid = 0;
}

/* inet_gro_flush: TTL, TOS and DF must match. The ID must be the first
 * segment's plus the segment index, unless the second segment repeats the
 * first ID: then the flow is "fixed ID" (RFC 6864 §4.1) and every ID must
 * equal the first. Linux 6.18 takes the fixed mode whatever DF says (earlier
 * kernels required DF); re-segmentation with FIXEDID restores the same IDs,
 * so merging is transparent either way. */
static enum off_lro_reason tcp4_compare(struct off_lro_flow *f, const uint8_t *ip,
                                        const uint8_t *held)
{
        if (ip[IPV4_TOS_OFF] != held[IPV4_TOS_OFF] || ip[IPV4_TTL_OFF] != held[IPV4_TTL_OFF] ||
            ((off_get_be16(ip + IPV4_FRAG_OFF) ^ off_get_be16(held + IPV4_FRAG_OFF)) & IPV4_DF))
                return OFF_LRO_R_IP_HDR;
        uint16_t id_off = (uint16_t)(off_get_be16(ip + IPV4_ID_OFF) - f->ip_id);
        if (f->segs == 1 && id_off == 0)
                f->ip_fixedid = 1;
        if (f->ip_fixedid ? id_off != 0 : id_off != f->segs)
                return OFF_LRO_R_IP_HDR;
        return OFF_LRO_R_NONE;
}

/* inet_gro_complete: csum_replace2 of the length word (RFC 1624 eqn. 3). */
static void tcp4_finish(uint8_t *ip, uint32_t l3_len)
{
        uint16_t old = off_get_raw16(ip + IPV4_TOT_LEN_OFF);
        off_put_be16(ip + IPV4_TOT_LEN_OFF, (uint16_t)l3_len);
        uint16_t check = off_csum_update16(off_get_raw16(ip + IPV4_CHECK_OFF), old,
                                           off_get_raw16(ip + IPV4_TOT_LEN_OFF));
        off_put_raw16(ip + IPV4_CHECK_OFF, check);
}

const struct off_lro_l3_ops off_lro_tcp4_ops = {
    .ethertype = OFF_ETH_P_IPV4,
    .gso_type = OFF_LRO_GSO_TCPV4,
    .addrs_off = IPV4_SADDR_OFF,
    .addrs_len = IPV4_ADDRS_LEN,
    .frame_ok = tcp4_frame_ok,
    .start = tcp4_start,
    .compare = tcp4_compare,
    .finish = tcp4_finish,
};
