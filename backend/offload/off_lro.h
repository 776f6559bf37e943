/* Receive-side TCP coalescing (LRO/GRO in the backend) for TCPv4 and TCPv6:
 * in-order segments of one flow merged into one GSO packet under Linux GRO's
 * rules (tcp_gro_receive, inet_gro_receive, ipv6_gro_receive). Pure: no I/O,
 * no clock (the caller passes `now`), no allocation after off_lro_create.
 * It is not a reassembler: nothing out of order is ever held or reordered.
 *
 * Frames are copied into per-flow buffers as they are held, so the caller
 * may reuse a frame as soon as off_lro_add returns, and a merged packet is
 * one contiguous frame (fewest grant-copy operations towards the guest).
 * An emitted packet's buffer is the caller's until its next call, or, with
 * cfg.lend, until the caller hands it back (off_lro_release): a caller that
 * batches the copies of many packets keeps them all readable meanwhile.
 * Each call returns, in order, the packets that must be emitted now: held
 * packets that were flushed, then (if it was not held) the frame itself.
 * A merged packet leaves as CHECKSUM_PARTIAL (pseudo-header sum in the TCP
 * field, csum_start/offset set), exactly as Linux tcp_gro_complete leaves
 * it: no payload is summed here, and the guest (data_validated) or the
 * segmenter, if the packet is split again, finishes it. */
#ifndef PVBACK_OFF_LRO_H
#define PVBACK_OFF_LRO_H

#include <stddef.h>
#include <stdint.h>

#include "offload/off_parse.h"

#define OFF_LRO_FLOWS_MAX 64u
/* Linux MAX_GRO_SKBS: packets held per GRO hash bucket. */
#define OFF_LRO_FLOWS_DEFAULT 8u
/* Linux GRO_LEGACY_MAX_SIZE: a merged packet, from its network header (an
 * in-band VLAN tag included, as skb->len counts it), stays below this. */
#define OFF_LRO_MAX_SIZE 65536u
/* A held packet older than this is emitted at the next call. Linux holds
 * for at most one NAPI poll (or a jiffy with gro_flush_timeout); 100 us is
 * below a LAN RTT, so ACK clocking barely notices, and a batch end flushes
 * earlier anyway. The coalescing layer tunes it. */
#define OFF_LRO_AGE_DEFAULT_NS 100000ull
/* Emitted packets a caller may keep at once beyond a call (cfg.lend). */
#define OFF_LRO_LEND_MAX 64u
/* Largest frame a flow buffer holds: Ethernet header + the size limit. */
#define OFF_LRO_FRAME_MAX (OFF_ETH_HLEN + OFF_LRO_MAX_SIZE - 1u)

struct off_lro_config {
        uint32_t max_flows;  /* packets held at once, 1..OFF_LRO_FLOWS_MAX; 0: default */
        uint32_t max_size;   /* OFF_LRO_MAX_SIZE or less; 0: OFF_LRO_MAX_SIZE */
        uint64_t max_age_ns; /* 0: OFF_LRO_AGE_DEFAULT_NS */
        /* 0: an emitted packet's buffer is reused at the next call. 1..
         * OFF_LRO_LEND_MAX: emitted packets stay valid until returned with
         * off_lro_release, oldest first; this many extra buffers are made,
         * and off_lro_add says -EBUSY once the caller keeps them all. */
        uint32_t lend;
};

/* What the caller knows of a received frame (one value of the low bits). */
enum off_lro_rx {
        /* Not verified: verified in software before merging, as Linux GRO
         * does for CHECKSUM_NONE (skb_gro_checksum_validate). */
        OFF_LRO_RX_CSUM_NONE = 0,
        /* Verified by the uplink (VIRTIO_NET_HDR_F_DATA_VALID). */
        OFF_LRO_RX_CSUM_VALID = 1,
        /* The field holds the pseudo-header sum of a local sender
         * (VIRTIO_NET_HDR_F_NEEDS_CSUM): trusted, as Linux GRO trusts
         * CHECKSUM_PARTIAL. */
        OFF_LRO_RX_CSUM_PARTIAL = 2,
        /* Known bad: never merged. */
        OFF_LRO_RX_CSUM_BAD = 3,
        OFF_LRO_RX_CSUM_MASK = 3,
        /* The frame is already a GSO packet: passed through (after its
         * flow's held packet, so order holds), never merged. */
        OFF_LRO_RX_GSO = 1u << 2,
};

/* Why a packet was emitted now (or a frame passed through unmerged). */
enum off_lro_reason {
        OFF_LRO_R_NONE = 0,
        OFF_LRO_R_PSH,        /* PSH: merged, then emitted */
        OFF_LRO_R_CTRL,       /* FIN (merged, then emitted), SYN, RST, URG, CWR */
        OFF_LRO_R_SEQ,        /* out of order or retransmitted segment */
        OFF_LRO_R_TCP_OPTS,   /* option bytes (timestamps included) or their length changed */
        OFF_LRO_R_TCP_HDR,    /* ACK number, window, ECE or reserved bits changed */
        OFF_LRO_R_IP_HDR,     /* L2, TOS/TTL/DF, IPv4 ID sequence, IPv6 class/label/hop
                               * limit/extension headers changed, or an IP header GRO never
                               * merges (IPv4 options, bytes past the IP length) */
        OFF_LRO_R_SIZE,       /* size limit reached, or a segment larger than gso_size */
        OFF_LRO_R_SHORT,      /* segment shorter than gso_size: merged, ends the packet */
        OFF_LRO_R_NO_PAYLOAD, /* zero-payload segment (pure ACK, window update) */
        OFF_LRO_R_AGE,        /* held for max_age_ns */
        OFF_LRO_R_TABLE_FULL, /* evicted to make room for a new flow */
        OFF_LRO_R_BATCH,      /* off_lro_flush_all at the end of an RX batch */
        OFF_LRO_R_HOLD_END,   /* the caller's notification hold ended (off_lro_flush_all_for) */
        OFF_LRO_R_NOT_TCP,    /* not TCP over IPv4/IPv6, IP fragment, or unparsable */
        OFF_LRO_R_BAD_CSUM,   /* L4 or IPv4 header checksum bad */
        OFF_LRO_R_GSO,        /* frame was a GSO packet already */
        OFF_LRO_R_COUNT,
};

/* Checksum state of an emitted packet. */
enum off_lro_csum {
        OFF_LRO_CSUM_NONE,    /* as received, not verified (pass-through only) */
        OFF_LRO_CSUM_VALID,   /* full checksum verified: NETRXF_data_validated */
        OFF_LRO_CSUM_PARTIAL, /* field = pseudo-header sum, complete from csum_start
                               * (NETRXF_csum_blank | NETRXF_data_validated) */
        OFF_LRO_CSUM_BAD,     /* pass-through only */
};

enum off_lro_gso_type {
        OFF_LRO_GSO_NONE = 0,
        OFF_LRO_GSO_TCPV4,
        OFF_LRO_GSO_TCPV6,
};

enum off_lro_pkt_flags {
        OFF_LRO_PKT_PASS = 1u << 0,    /* the caller's own frame, unmodified */
        OFF_LRO_PKT_FIXEDID = 1u << 1, /* IPv4 IDs were fixed: SKB_GSO_TCP_FIXEDID */
};

struct off_lro_pkt {
        const uint8_t *data; /* PASS: the caller's frame; else LRO's buffer (see cfg.lend) */
        size_t len;
        uint32_t flags; /* enum off_lro_pkt_flags */
        enum off_lro_reason reason;
        enum off_lro_csum csum;
        enum off_lro_gso_type gso_type;
        uint16_t gso_size;    /* payload of the first segment (Linux gso_size) */
        uint16_t gso_segs;    /* segments merged (1 for a lone or passed frame) */
        uint16_t hdr_len;     /* L2..L4 headers; 0 for a frame that did not parse */
        uint16_t csum_start;  /* PARTIAL: L4 offset from the frame start */
        uint16_t csum_offset; /* PARTIAL: checksum field offset from csum_start */
};

struct off_lro_out {
        struct off_lro_pkt *pkts;
        uint32_t max; /* at least off_lro_out_max() */
        uint32_t n;   /* out: packets to emit, in this order */
};

struct off_lro_stats {
        uint64_t frames;                 /* frames given to off_lro_add */
        uint64_t merged;                 /* frames appended to a held packet */
        uint64_t flows;                  /* held packets started */
        uint64_t gso_out;                /* held packets emitted with >= 2 segments */
        uint64_t single_out;             /* held packets emitted with 1 segment */
        uint64_t hold_ns_max;            /* longest hold seen at emission */
        uint64_t flush[OFF_LRO_R_COUNT]; /* held packets emitted, by reason */
        uint64_t pass[OFF_LRO_R_COUNT];  /* frames passed through unheld, by reason */
};

struct off_lro;

/* Allocates the table and (max_flows + 1 + lend) buffers. 0, -EINVAL, -ENOMEM. */
int off_lro_create(const struct off_lro_config *cfg, struct off_lro **lro);
void off_lro_destroy(struct off_lro *lro);

/* Capacity every out array must have (max_flows + 1). */
uint32_t off_lro_out_max(const struct off_lro *lro);

/* Offers one received frame (@rx: enum off_lro_rx). Emitted packets land in
 * @out (reset first): flushed held packets, then the frame itself when it
 * was not held; held packets older than max_age_ns follow. 0, -EINVAL,
 * -ENOSPC (out->max too small) or, with cfg.lend, -EBUSY (every spare
 * buffer is still the caller's: release some and call again); on an error
 * nothing changed. */
int off_lro_add(struct off_lro *lro, const uint8_t *frame, size_t len, uint32_t rx, uint64_t now,
                struct off_lro_out *out);
/* Emits every held packet, oldest first (end of an RX batch). */
int off_lro_flush_all(struct off_lro *lro, uint64_t now, struct off_lro_out *out);
/* The same, counted under @why (OFF_LRO_R_BATCH or OFF_LRO_R_HOLD_END). */
int off_lro_flush_all_for(struct off_lro *lro, uint64_t now, enum off_lro_reason why,
                          struct off_lro_out *out);
/* Emits the held packets that are max_age_ns old at @now (for a timer). */
int off_lro_flush_expired(struct off_lro *lro, uint64_t now, struct off_lro_out *out);
/* When the oldest held packet expires, UINT64_MAX if none is held. */
uint64_t off_lro_deadline(const struct off_lro *lro);
/* Packets held now. */
uint32_t off_lro_held(const struct off_lro *lro);
/* With cfg.lend: hands back the buffers of the @n oldest emitted packets
 * the caller still keeps (fewer if it keeps fewer); returns how many. */
uint32_t off_lro_release(struct off_lro *lro, uint32_t n);
/* Emitted packets whose buffers the caller keeps. */
uint32_t off_lro_lent(const struct off_lro *lro);

const struct off_lro_stats *off_lro_get_stats(const struct off_lro *lro);
const char *off_lro_reason_str(enum off_lro_reason reason);

#endif
