/* Protocol limits and tuning constants shared by the netback data path.
 * Xen's own names (xen/io/netif.h, ring.h) are used where they exist; the rest
 * are Linux xen-netback's values, cited where they come from. No code here. */
#ifndef PVBACK_NB_LIMITS_H
#define PVBACK_NB_LIMITS_H

#include "xh.h" /* xenctrl.h before xen/io: barriers for ring.h */

#include <xen/io/netif.h>
#include <xen/io/ring.h>

/* Every tx/rx slot names at most one granted page. */
#define NB_PAGE_SIZE XH_PAGE_SIZE

/* Entries of a one-page netif ring (256 each; Linux MAX_PENDING_REQS). */
#define NB_TX_RING_SIZE __CONST_RING_SIZE(netif_tx, NB_PAGE_SIZE)
#define NB_RX_RING_SIZE __CONST_RING_SIZE(netif_rx, NB_PAGE_SIZE)

/* Shortest frame the uplink accepts (Linux checks txreq.size < ETH_HLEN). */
#define NB_ETH_HLEN 14u

/* TX slot limits, counted like Linux xenvif_count_requests(): over the data
 * slots that FOLLOW the first one. Reaching NB_TX_LEGACY_SLOTS_MAX of them
 * (XEN_NETBK_LEGACY_SLOTS_MAX, equal to the protocol's XEN_NETIF_NR_SLOTS_MIN)
 * and wanting one more drops the packet; reaching fatal_skb_slots (default 20)
 * and wanting one more disables the vif. Linux forces fatal >= legacy. */
#define NB_TX_LEGACY_SLOTS_MAX    XEN_NETIF_NR_SLOTS_MIN
#define NB_TX_FATAL_SLOTS_DEFAULT 20u
/* Compile-time bound on a configured fatal_skb_slots, so the descriptor's
 * slot array is fixed-size (no allocation on the data path). */
#define NB_TX_FATAL_SLOTS_CAP 62u
/* Data slots a descriptor can hold: the first slot plus every following one
 * the parser may read before giving up (fatal_skb_slots of them). */
#define NB_TX_DESC_SLOTS (NB_TX_FATAL_SLOTS_CAP + 1u)

/* Largest frame a guest can describe: slot 1's size field is 16 bits. */
#define NB_TX_MAX_SIZE XEN_NETIF_MAX_TX_SIZE

/* Linux's copy of netif.h adds an XDP extra (type 5, MAX 6) that Xen 4.17's
 * header lacks; Linux netback accepts type 5 on TX (and ignores it) and emits
 * it on RX when the frontend asked for headroom. We do both. */
#define NB_EXTRA_TYPE_XDP   5u
#define NB_EXTRA_TYPE_MAX   6u
#define NB_MAX_XDP_HEADROOM 0x7FFFu /* Linux XEN_NETIF_MAX_XDP_HEADROOM */

/* Multicast filter entries per vif (Linux XEN_NETBK_MCAST_MAX). */
#define NB_MCAST_MAX 64u

/* Grant-copy segments per hypercall batch (Linux rx.c COPY_BATCH_SIZE). */
#define NB_COPY_BATCH 64u

/* RX: Linux netfront refuses a packet spread over more data slots than
 * XEN_NETIF_NR_SLOTS_MIN (xennet_get_responses "Too many slots"), so the
 * planner never builds one. Extras: at most GSO, HASH and XDP. */
#define NB_RX_MAX_DATA_SLOTS XEN_NETIF_NR_SLOTS_MIN
#define NB_RX_MAX_EXTRAS     3u
#define NB_RX_MAX_SLOTS      (NB_RX_MAX_DATA_SLOTS + NB_RX_MAX_EXTRAS)

#endif
