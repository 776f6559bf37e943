/* Software TCP segmentation (TSO/GSO in the backend) for TCPv4 and TCPv6:
 * one GSO packet in, MSS-sized segments out, matching Linux skb_gso_segment()
 * byte for byte. Allocation-free: the caller provides every buffer.
 *
 * Two output modes over the same core:
 *  - OFF_GSO_SLICE (zero-copy): each segment is a fixed-up header copy in a
 *    caller arena plus a pointer into the original payload; the payload is
 *    only read (to checksum it), so the caller hands {hdr, payload} as two
 *    iovecs / grant-copy sources and no payload byte is copied in software.
 *  - OFF_GSO_COPY: each segment is one contiguous frame written into the
 *    caller's buffer; the payload is copied and checksummed in one pass
 *    (off_csum_copy), for consumers that need flat frames (AF_XDP umem,
 *    guest RX buffers without scatter-gather). */
#ifndef PVBACK_OFF_GSO_H
#define PVBACK_OFF_GSO_H

#include <stddef.h>
#include <stdint.h>

#include "offload/off_parse.h"

/* Linux TCP_MIN_MSS (include/net/tcp.h): no stack sends smaller segments, and
 * the bound caps the segments (and header copies) one guest packet can cost. */
#define OFF_GSO_MSS_MIN 88u
/* gso_size is 16 bits in both netif_extra_info and virtio_net_hdr. */
#define OFF_GSO_MSS_MAX UINT16_MAX

enum off_gso_mode {
        OFF_GSO_SLICE,
        OFF_GSO_COPY,
};

struct off_gso_seg {
        uint8_t *hdr;           /* L2..L4 headers of this segment, fixed up */
        uint16_t hdr_len;
        const uint8_t *payload; /* SLICE: into the input; COPY: hdr + hdr_len */
        uint32_t payload_len;
};

struct off_gso_out {
        uint8_t *mem;           /* SLICE: header arena; COPY: frames back to back */
        size_t mem_len;
        struct off_gso_seg *segs;
        uint32_t max_segs;
        uint32_t nsegs;         /* out */
        size_t mem_used;        /* out */
};

/* Segments the GSO packet @pkt (@len bytes, parsed with OFF_PARSE_GSO into
 * @pi) at @mss. Returns 0, -EINVAL (not TCP over the expected IP version,
 * fragment, no L4), -ERANGE (mss outside [OFF_GSO_MSS_MIN, OFF_GSO_MSS_MAX]),
 * -EMSGSIZE (a segment's IP length would overflow 16 bits) or -ENOSPC
 * (out->segs or out->mem too small: see off_gso_seg_count/off_gso_mem_needed).
 * A payload <= mss, zero included, yields one segment: Linux's tap/virtio
 * ingress (virtio_net_hdr_to_skb) clears GSO for such packets and sends them
 * whole. The input's TCP checksum field is ignored (csum_blank semantics). */
int off_gso_segment(const uint8_t *pkt, size_t len, const struct off_pkt_info *pi, uint16_t mss,
                    enum off_gso_mode mode, struct off_gso_out *out);
int off_gso_segment_tcp4(const uint8_t *pkt, size_t len, const struct off_pkt_info *pi,
                         uint16_t mss, enum off_gso_mode mode, struct off_gso_out *out);
int off_gso_segment_tcp6(const uint8_t *pkt, size_t len, const struct off_pkt_info *pi,
                         uint16_t mss, enum off_gso_mode mode, struct off_gso_out *out);

/* Segments the packet yields at @mss (0 if mss is 0). */
uint32_t off_gso_seg_count(const struct off_pkt_info *pi, uint16_t mss);
/* Bytes of out->mem the mode needs for this packet at @mss. */
size_t off_gso_mem_needed(const struct off_pkt_info *pi, uint16_t mss, enum off_gso_mode mode);

#endif
