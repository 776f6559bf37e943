/* Protocol-independent core of the software segmenter: sizing, header copy,
 * TCP sequence/flags/checksum per segment. IP-version details live in
 * off_gso_tcp4.c and off_gso_tcp6.c; this file knows no IP header layout. */
#include <errno.h>
#include <netinet/in.h>

#include "offload/off_bytes.h"
#include "offload/off_csum.h"
#include "offload/off_gso_internal.h"

#define TCP_SEQ_OFF       4
#define TCP_OFF_FLAGS_OFF 12 /* the 16-bit word of data offset and flags */
#define TCP_FLAGS_OFF     13
#define TCP_CHECK_OFF     16
#define IP_LEN_FIELD_MAX  UINT16_MAX

/* Linux tcp_gso_segment(): FIN and PSH only on the last segment; CWR only on
 * the first (the sender reduced its window once, RFC 3168 §6.1.2). */
static uint8_t seg_tcp_flags(uint8_t flags, uint32_t idx, uint32_t nsegs)
{
        if (idx + 1 < nsegs)
                flags &= (uint8_t) ~(OFF_TCP_FIN | OFF_TCP_PSH);
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

/* Bytes of out->mem segments [first, first + n) take. */
static size_t range_mem(const struct off_pkt_info *pi, uint16_t mss, uint32_t first, uint32_t n,
                        enum off_gso_mode mode)
{
        size_t mem = (size_t)n * pi->payload_off;
        if (mode == OFF_GSO_COPY) {
                size_t start = (size_t)first * mss, end = (size_t)(first + n) * mss;
                mem += (end < pi->payload_len ? end : pi->payload_len) - start;
        }
        return mem;
}

/* How many segments from @first the output takes, 0 if not one. Every
 * segment but the last carries mss bytes: when the rest does not fit, a
 * prefix of full-size ones is the most that does. */
static uint32_t turn_segs(const struct off_pkt_info *pi, uint16_t mss, uint32_t first,
                          uint32_t nsegs, enum off_gso_mode mode, const struct off_gso_out *out)
{
        uint32_t n = nsegs - first;
        size_t per = pi->payload_off + (mode == OFF_GSO_COPY ? (size_t)mss : 0);

        if (n > out->max_segs)
                n = out->max_segs;
        if (range_mem(pi, mss, first, n, mode) > out->mem_len)
                n = (uint32_t)(out->mem_len / per);
        return n;
}

static int check_request(const uint8_t *pkt, size_t len, const struct off_pkt_info *pi,
                         uint16_t mss, struct off_gso_out *out, const struct off_gso_l3_ops *ops)
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

/* What every segment's TCP checksum shares, summed once per GSO packet: the
 * pseudo-header without its length, and the TCP header without the sequence
 * number, the offset/flags word and the checksum (taken out by adding their
 * complements, RFC 1624 eqn. 3). A pseudo-header's 32-bit IPv6 length and a
 * 16-bit IPv4 one add alike (2^16 == 1 modulo 0xFFFF), so segments add theirs
 * as 16 bits whatever the IP version. */
static uint64_t tcp_shared_sum(const uint8_t *pkt, const struct off_pkt_info *pi)
{
        const uint8_t *th = pkt + pi->l4_off;
        uint64_t sum = off_csum_partial(th, pi->l4_hdr_len, off_csum_pseudo(pkt, pi, 0));
        uint32_t seq;
        memcpy(&seq, th + TCP_SEQ_OFF, sizeof(seq));
        sum += (uint32_t)~seq;
        sum += (uint16_t)~off_get_raw16(th + TCP_OFF_FLAGS_OFF);
        sum += (uint16_t)~off_get_raw16(th + TCP_CHECK_OFF);
        return sum;
}

struct gso_shared {
        uint64_t l3_sum, tcp_sum;
        uint32_t seq;
        uint8_t flags;
        uint32_t nsegs;
        uint16_t mss;
};

/* Headers, sequence number, flags and checksum of segment @idx. The payload
 * sum arrives from the caller, taken while reading or copying the payload.
 * The TCP header is a multiple of 4 bytes: the payload sum starts at an even
 * offset of the checksummed span and adds without a byte swap. The result
 * equals a from-scratch sum over the segment: both sums are congruent and
 * non-zero (the pseudo-header's protocol), so they fold alike. */
static void finish_segment(uint8_t *hdr, const struct off_pkt_info *pi, const struct gso_shared *sh,
                           uint32_t idx, uint32_t plen, uint64_t payload_sum,
                           const struct off_gso_l3_ops *ops)
{
        uint8_t *th = hdr + pi->l4_off;
        uint32_t tcp_len = pi->l4_hdr_len + plen;

        ops->fix_l3(hdr + pi->l3_off, pi, pi->l3_hdr_len + tcp_len, idx, sh->l3_sum);
        /* RFC 793: sequence numbers wrap modulo 2^32. */
        off_put_be32(th + TCP_SEQ_OFF, sh->seq + idx * (uint32_t)sh->mss);
        th[TCP_FLAGS_OFF] = seg_tcp_flags(sh->flags, idx, sh->nsegs);
        uint32_t seq;
        memcpy(&seq, th + TCP_SEQ_OFF, sizeof(seq));
        uint64_t sum =
            sh->tcp_sum + seq + off_get_raw16(th + TCP_OFF_FLAGS_OFF) + htons((uint16_t)tcp_len);
        off_put_raw16(th + TCP_CHECK_OFF, off_csum_finish(off_csum_add(sum, payload_sum)));
}

int off_gso_segment_common(const uint8_t *pkt, size_t len, const struct off_pkt_info *pi,
                           uint16_t mss, uint32_t first, bool whole, enum off_gso_mode mode,
                           struct off_gso_out *out, const struct off_gso_l3_ops *ops)
{
        int rc = check_request(pkt, len, pi, mss, out, ops);
        if (rc)
                return rc;
        uint32_t nsegs = off_gso_seg_count(pi, mss);
        /* The first segment is the largest: its length field bounds all. */
        uint32_t first_plen = pi->payload_len < mss ? pi->payload_len : mss;
        uint32_t first_l3 = pi->l3_hdr_len + pi->l4_hdr_len + first_plen;
        if (ops->l3_len_field(pi, first_l3) > IP_LEN_FIELD_MAX)
                return -EMSGSIZE;
        if (first >= nsegs)
                return -EINVAL;
        uint32_t n = turn_segs(pi, mss, first, nsegs, mode, out);
        if (n == 0 || (whole && n < nsegs))
                return -ENOSPC;

        const uint8_t *th = pkt + pi->l4_off;
        const struct gso_shared sh = {
            .l3_sum = ops->l3_shared_sum(pkt + pi->l3_off, pi),
            .tcp_sum = tcp_shared_sum(pkt, pi),
            .seq = off_get_be32(th + TCP_SEQ_OFF),
            .flags = th[TCP_FLAGS_OFF],
            .nsegs = nsegs,
            .mss = mss,
        };
        const uint8_t *payload = pkt + pi->payload_off;
        uint32_t hlen = pi->payload_off;
        uint8_t *dst = out->mem;
        for (uint32_t i = first; i < first + n; i++) {
                uint32_t off = i * (uint32_t)mss;
                uint32_t plen = pi->payload_len - off < mss ? pi->payload_len - off : mss;
                struct off_gso_seg *seg = &out->segs[i - first];
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
                finish_segment(seg->hdr, pi, &sh, i, plen, psum, ops);
        }
        out->nsegs = n;
        out->mem_used = (size_t)(dst - out->mem);
        return 0;
}

static const struct off_gso_l3_ops *l3_ops(const struct off_pkt_info *pi)
{
        if (!pi)
                return NULL;
        if (pi->ethertype == OFF_ETH_P_IPV4)
                return &off_gso_tcp4_ops;
        if (pi->ethertype == OFF_ETH_P_IPV6)
                return &off_gso_tcp6_ops;
        return NULL;
}

int off_gso_segment(const uint8_t *pkt, size_t len, const struct off_pkt_info *pi, uint16_t mss,
                    enum off_gso_mode mode, struct off_gso_out *out)
{
        const struct off_gso_l3_ops *ops = l3_ops(pi);
        return ops ? off_gso_segment_common(pkt, len, pi, mss, 0, true, mode, out, ops) : -EINVAL;
}

int off_gso_segment_from(const uint8_t *pkt, size_t len, const struct off_pkt_info *pi,
                         uint16_t mss, uint32_t first, enum off_gso_mode mode,
                         struct off_gso_out *out)
{
        const struct off_gso_l3_ops *ops = l3_ops(pi);
        return ops ? off_gso_segment_common(pkt, len, pi, mss, first, false, mode, out, ops)
                   : -EINVAL;
}
