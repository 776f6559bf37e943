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

/* The smallest gso_size a Linux sender with default settings emits, which
 * Linux itself names TCP_MIN_GSO_SIZE (include/net/tcp.h): TCP_MIN_SND_MSS
 * (48, default and floor of net.ipv4.tcp_min_snd_mss) less
 * MAX_TCP_OPTION_SPACE (40). __tcp_mtu_to_mss() raises the peer's MSS to
 * tcp_min_snd_mss, tcp_mtu_to_mss() takes off the options every segment
 * carries (timestamps: 12), so mss_cache is 36 at least; tcp_current_mss()
 * takes off what a segment carries beyond those (SACK blocks while the
 * sender is receiving out of order: up to 3 with timestamps, 28 bytes), and
 * tcp_write_xmit() builds GSO packets at that MSS: 8. A Linux 6.18 sender
 * whose peer advertised MSS 48 sent 64 KiB GSO packets at 16 and 24, and
 * others at 8. Linux netback takes any non-zero gso_size; the floor bounds
 * what one packet costs here: OFF_GSO_SEGS_MAX segments and header copies. */
#define OFF_GSO_MSS_MIN 8u
/* gso_size is 16 bits in both netif_extra_info and virtio_net_hdr. */
#define OFF_GSO_MSS_MAX UINT16_MAX
/* Segments of a packet of up to 64 KiB (a TX slot's 16-bit size; an IPv4
 * length) at the floor: 8192. */
#define OFF_GSO_SEGS_MAX ((UINT16_MAX + OFF_GSO_MSS_MIN - 1u) / OFF_GSO_MSS_MIN)

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

/* The same in turns, for a caller whose buffers hold fewer segments than a
 * packet at a small MSS yields: segments @first, @first + 1, ... as many
 * whole ones as out->segs and out->mem take (out->nsegs, at least one).
 * The caller consumes them and calls again at @first + out->nsegs until
 * off_gso_seg_count(); a segment's bytes do not depend on the turn that
 * made it. Errors as off_gso_segment's, checked alike on every turn, plus
 * -EINVAL for @first past the last segment; -ENOSPC when not even segment
 * @first fits. */
int off_gso_segment_from(const uint8_t *pkt, size_t len, const struct off_pkt_info *pi,
                         uint16_t mss, uint32_t first, enum off_gso_mode mode,
                         struct off_gso_out *out);

/* Segments the packet yields at @mss (0 if mss is 0). */
uint32_t off_gso_seg_count(const struct off_pkt_info *pi, uint16_t mss);
/* Bytes of out->mem the mode needs for this packet at @mss. */
size_t off_gso_mem_needed(const struct off_pkt_info *pi, uint16_t mss, enum off_gso_mode mode);

#endif
