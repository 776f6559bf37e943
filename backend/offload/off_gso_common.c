/* Protocol-independent core of the software segmenter: sizing, header copy,
 * TCP sequence/flags/checksum per segment. IP-version details live in
 * off_gso_tcp4.c and off_gso_tcp6.c; this file knows no IP header layout. */
#include <errno.h>
#include <netinet/in.h>

#include "offload/off_bytes.h"
#include "offload/off_csum.h"
#include "offload/off_gso_internal.h"

#define TCP_SEQ_OFF 4
#define TCP_FLAGS_OFF 13
#define TCP_CHECK_OFF 16
#define IP_LEN_FIELD_MAX UINT16_MAX

/* Linux tcp_gso_segment(): FIN and PSH only on the last segment; CWR only on
 * the first (the sender reduced its window once, RFC 3168 §6.1.2). */
static uint8_t seg_tcp_flags(uint8_t flags, uint32_t idx, uint32_t nsegs)
{
        if (idx + 1 < nsegs)
                flags &= (uint8_t)~(OFF_TCP_FIN | OFF_TCP_PSH);
        if (idx > 0)
                flags &= (uint8_t)~OFF_TCP_CWR;
        return flags;
}

uint32_t off_gso_seg_count(const struct off_pkt_info *pi, uint16_t mss)
{
        if (!mss)
                return 0;
        if (pi->payload_len == 0)
                return 1;
        return (pi->payload_len + mss - 1u) / mss;
}

size_t off_gso_mem_needed(const struct off_pkt_info *pi, uint16_t mss, enum off_gso_mode mode)
{
        size_t hdrs = (size_t)off_gso_seg_count(pi, mss) * pi->payload_off;
        return mode == OFF_GSO_COPY ? hdrs + pi->payload_len : hdrs;
}

static int check_request(const uint8_t *pkt, size_t len, const struct off_pkt_info *pi,
                         uint16_t mss, struct off_gso_out *out,
                         const struct off_gso_l3_ops *ops)
{
        if (!pkt || !pi || !out || (!out->segs && out->max_segs))
                return -EINVAL;
        if (pi->ethertype != ops->ethertype || !(pi->flags & OFF_PKT_L4) ||
            (pi->flags & OFF_PKT_FRAGMENT) || pi->l4_proto != IPPROTO_TCP)
                return -EINVAL;
        if ((size_t)pi->payload_off + pi->payload_len > len)
                return -EINVAL;
        if (mss < OFF_GSO_MSS_MIN)
                return -ERANGE;
        return 0;
}

/* Headers, sequence number, flags and checksum of segment @idx. The payload
 * sum arrives from the caller, taken while reading or copying the payload. */
static void finish_segment(uint8_t *hdr, const struct off_pkt_info *pi, uint32_t idx,
                           uint32_t nsegs, uint16_t mss, uint32_t plen, uint64_t payload_sum,
                           const struct off_gso_l3_ops *ops)
{
        uint8_t *th = hdr + pi->l4_off;
        uint32_t tcp_len = pi->l4_hdr_len + plen;

        ops->fix_l3(hdr + pi->l3_off, pi, pi->l3_hdr_len + tcp_len, idx);
        /* RFC 793: sequence numbers wrap modulo 2^32. */
        off_put_be32(th + TCP_SEQ_OFF, off_get_be32(th + TCP_SEQ_OFF) + idx * (uint32_t)mss);
        th[TCP_FLAGS_OFF] = seg_tcp_flags(th[TCP_FLAGS_OFF], idx, nsegs);
        off_put_raw16(th + TCP_CHECK_OFF, 0);
        /* The TCP header is a multiple of 4 bytes: the payload sum starts at an
         * even offset of the checksummed span and adds without a byte swap. */
        uint64_t sum = off_csum_pseudo(hdr, pi, tcp_len);
        sum = off_csum_partial(th, pi->l4_hdr_len, sum);
        sum = off_csum_add(sum, payload_sum);
        off_put_raw16(th + TCP_CHECK_OFF, off_csum_finish(sum));
}

int off_gso_segment_common(const uint8_t *pkt, size_t len, const struct off_pkt_info *pi,
                           uint16_t mss, enum off_gso_mode mode, struct off_gso_out *out,
                           const struct off_gso_l3_ops *ops)
{
        int rc = check_request(pkt, len, pi, mss, out, ops);
        if (rc)
                return rc;
        uint32_t nsegs = off_gso_seg_count(pi, mss);
        uint32_t first_plen = pi->payload_len < mss ? pi->payload_len : mss;
        uint32_t first_l3 = pi->l3_hdr_len + pi->l4_hdr_len + first_plen;
        if (ops->l3_len_field(pi, first_l3) > IP_LEN_FIELD_MAX)
                return -EMSGSIZE;
        if (nsegs > out->max_segs || off_gso_mem_needed(pi, mss, mode) > out->mem_len)
                return -ENOSPC;

        const uint8_t *payload = pkt + pi->payload_off;
        uint32_t hlen = pi->payload_off;
        uint8_t *dst = out->mem;
        for (uint32_t i = 0; i < nsegs; i++) {
                uint32_t off = i * (uint32_t)mss;
                uint32_t plen = pi->payload_len - off < mss ? pi->payload_len - off : mss;
                struct off_gso_seg *seg = &out->segs[i];
                uint64_t psum;

                memcpy(dst, pkt, hlen);
                seg->hdr = dst;
                seg->hdr_len = (uint16_t)hlen;
                seg->payload_len = plen;
                dst += hlen;
                if (mode == OFF_GSO_COPY) {
                        psum = off_csum_copy(dst, payload + off, plen, 0);
                        seg->payload = dst;
                        dst += plen;
                } else {
                        psum = off_csum_partial(payload + off, plen, 0);
                        seg->payload = payload + off;
                }
                finish_segment(seg->hdr, pi, i, nsegs, mss, plen, psum, ops);
        }
        out->nsegs = nsegs;
        out->mem_used = (size_t)(dst - out->mem);
        return 0;
}

int off_gso_segment(const uint8_t *pkt, size_t len, const struct off_pkt_info *pi, uint16_t mss,
                    enum off_gso_mode mode, struct off_gso_out *out)
{
        if (!pi)
                return -EINVAL;
        if (pi->ethertype == OFF_ETH_P_IPV4)
                return off_gso_segment_tcp4(pkt, len, pi, mss, mode, out);
        if (pi->ethertype == OFF_ETH_P_IPV6)
                return off_gso_segment_tcp6(pkt, len, pi, mss, mode, out);
        return -EINVAL;
}
