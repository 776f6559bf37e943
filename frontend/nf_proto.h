/* netif protocol constants and slot types as the userspace netfront uses them:
 * Xen's names from xen/io/netif.h where they exist, Linux netfront's values
 * where Xen 4.17's header has none. No code here. */
#ifndef PVBACK_NF_PROTO_H
#define PVBACK_NF_PROTO_H

#include "xh.h" /* xenctrl.h before xen/io: barriers for ring.h */

#include <xen/io/netif.h>
#include <xen/io/ring.h>

#define NF_PAGE_SIZE XH_PAGE_SIZE

/* One-page rings (Linux NET_TX_RING_SIZE / NET_RX_RING_SIZE: 256 each). */
#define NF_TX_RING_SIZE   __CONST_RING_SIZE(netif_tx, NF_PAGE_SIZE)
#define NF_RX_RING_SIZE   __CONST_RING_SIZE(netif_rx, NF_PAGE_SIZE)
#define NF_CTRL_RING_SIZE __CONST_RING_SIZE(xen_netif_ctrl, NF_PAGE_SIZE)

/* Linux netfront MAX_QUEUES_DEFAULT. */
#define NF_MAX_QUEUES 8u

/* Largest frame slot 1's 16-bit size field can describe. */
#define NF_MAX_TX_SIZE XEN_NETIF_MAX_TX_SIZE
/* Linux MAX_XEN_SKB_FRAGS + 1: the most data slots netfront ever sends for
 * one packet (a 64 KiB frame that does not start on a page boundary). */
#define NF_TX_MAX_DATA_SLOTS (65536u / NF_PAGE_SIZE + 2u)
/* Builder capacity: data slots plus GSO/mcast extras, and room for the
 * hostile mode's oversized chains (more than fatal_skb_slots = 20). */
#define NF_TX_MAX_SLOTS 32u

/* Linux's copy of netif.h adds an XDP extra (type 5, MAX 6) that Xen 4.17's
 * lacks; netback sends it on RX when the frontend asked for headroom. */
#define NF_EXTRA_TYPE_XDP   5u
#define NF_EXTRA_TYPE_MAX   6u
#define NF_MAX_XDP_HEADROOM 0x7FFFu

/* xennet_get_responses: a packet may use XEN_NETIF_NR_SLOTS_MIN data slots,
 * one more when the first slot holds at most RX_COPY_THRESHOLD bytes. */
#define NF_RX_MAX_DATA_SLOTS XEN_NETIF_NR_SLOTS_MIN
#define NF_RX_COPY_THRESHOLD 256u
/* Fewest RX buffers a queue may keep posted: a packet's most slots (its
 * data slots, one more for a short first slot, and a GSO extra). */
#define NF_RX_BUFFERS_MIN (NF_RX_MAX_DATA_SLOTS + 2u)
/* Largest frame reassembled: 19 full pages. */
#define NF_RX_MAX_FRAME ((NF_RX_MAX_DATA_SLOTS + 1u) * NF_PAGE_SIZE)

/* Toeplitz hash limits Linux netback enforces (hash.c). */
#define NF_HASH_KEY_MAX     40u
#define NF_HASH_MAPPING_MAX 128u

/* A TX ring slot is a request or, after a first slot flagged extra_info, an
 * extra; both are 12 bytes on the ring. */
union nf_tx_slot {
        netif_tx_request_t req;
        struct netif_extra_info extra;
};

#endif
