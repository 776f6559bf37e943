/* Offload capabilities of the two sides of a vif, and the one per-packet
 * decision between them. The same rule serves both directions: on guest TX
 * the peer is the uplink, on guest RX the peer is the guest. Whatever the
 * peer cannot do with a packet is done here in software, and each path is
 * counted (struct off_path_stats). Pure: no I/O. */
#ifndef PVBACK_OFF_CAPS_H
#define PVBACK_OFF_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a receiver of frames can finish itself. */
enum off_cap {
        OFF_CAP_CSUM4 = 1u << 0, /* partial TCP/UDP checksum over IPv4 */
        OFF_CAP_CSUM6 = 1u << 1, /* partial TCP/UDP checksum over IPv6 */
        OFF_CAP_TSO4 = 1u << 2,  /* TCPv4 GSO packets */
        OFF_CAP_TSO6 = 1u << 3,  /* TCPv6 GSO packets */
        OFF_CAP_SG = 1u << 4,    /* a frame in several buffers */
        OFF_CAP_ALL = (1u << 5) - 1,
};

/* The GSO kind of a packet. */
enum off_gso_kind {
        OFF_GSO_KIND_NONE,
        OFF_GSO_KIND_TCP4,
        OFF_GSO_KIND_TCP6,
        OFF_GSO_KIND_OTHER, /* UDP, ECN, ...: nothing here segments it */
};

/* What the decision needs of one packet. */
struct off_meta {
        enum off_gso_kind gso;
        bool csum_partial; /* L4 checksum left to the receiver (csum_blank, NEEDS_CSUM) */
        bool ipv6;         /* family of the partial checksum (ignored otherwise) */
        uint32_t nr_bufs;  /* buffers the frame would reach the peer in (>= 1) */
};

/* What to do before the peer gets the packet; flags, PASS alone = nothing. */
enum off_action {
        OFF_ACT_PASS = 0,
        /* Segment in software; every segment carries a full checksum, so no
         * OFF_ACT_CSUM comes with it. */
        OFF_ACT_SEGMENT = 1u << 0,
        OFF_ACT_CSUM = 1u << 1,      /* complete the partial checksum */
        OFF_ACT_LINEARIZE = 1u << 2, /* one buffer for the peer without SG */
        OFF_ACT_DROP = 1u << 3,      /* nobody can finish it: count and drop */
};

/* The action for packet @m towards a peer with @peer_caps (enum off_cap).
 * GSO passes only to a peer with the TSO kind and SG (a GSO packet spans
 * buffers; Linux makes TSO depend on SG the same way). */
unsigned off_decide(const struct off_meta *m, unsigned peer_caps);

/* Per-direction path counters, in packets as they arrived. */
struct off_path_stats {
        uint64_t gso_pass;     /* GSO handed to a peer that segments (hardware or its stack) */
        uint64_t gso_sw;       /* GSO segmented here */
        uint64_t gso_sw_segs;  /* segments produced */
        uint64_t csum_pass;    /* partial checksum left to the peer */
        uint64_t csum_sw;      /* partial checksum completed here */
        uint64_t linearized;   /* frames put in one buffer for a peer without SG */
        uint64_t dropped;      /* OFF_ACT_DROP, or software work that failed */
};

/* Counts the decision @act for @m (before the work; gso_sw_segs is the
 * caller's once it knows the count). */
void off_path_count(struct off_path_stats *st, const struct off_meta *m, unsigned act);

/* "csum4,csum6,tso4,tso6,sg" for logs; "none" for 0. */
const char *off_caps_str(unsigned caps, char *buf, size_t len);

#endif
