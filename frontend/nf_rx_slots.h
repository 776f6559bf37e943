/* Guest RX reassembly: the responses of one packet (data slots, extras after
 * the first) become a descriptor, with Linux netfront's checks
 * (xennet_get_responses, xennet_get_extras, xennet_set_skb_gso). Pure: each
 * response is copied once; the queue copies the data and reposts buffers. */
#ifndef PVBACK_NF_RX_SLOTS_H
#define PVBACK_NF_RX_SLOTS_H

#include <stdbool.h>
#include <stdint.h>

#include "nf_proto.h"

/* Data slots one descriptor holds: Linux's limit plus the small-first-slot one. */
#define NF_RX_DESC_SEGS (NF_RX_MAX_DATA_SLOTS + 1u)

struct nf_rx_seg {
        RING_IDX idx; /* ring index: which posted buffer holds the bytes */
        uint16_t offset;
        uint16_t len;
};

struct nf_rx_desc {
        uint32_t nr_slots; /* responses to consume, extras included */
        uint32_t nr_segs;
        struct nf_rx_seg segs[NF_RX_DESC_SEGS];
        uint32_t len;
        bool csum_blank;     /* NETRXF_csum_blank: CHECKSUM_PARTIAL */
        bool data_validated; /* NETRXF_data_validated */
        bool has_gso;
        uint8_t gso_type;
        uint16_t gso_size;
        bool has_hash;
        uint8_t hash_type;
        uint32_t hash_value;
        bool has_xdp;
        uint16_t xdp_headroom;
};

/* Reads the packet at ring->rsp_cons, looking no further than rp (the
 * caller's snapshot of rsp_prod, read before an rmb). Returns 0 for a good
 * packet; on error the descriptor still says how many slots to consume:
 * -EBADR missing extra, -EINVAL bad extra/slot/GSO, -ENOENT chain runs past rp,
 * -E2BIG too many slots (Linux's names for each). */
int nf_rx_parse(const netif_rx_front_ring_t *ring, RING_IDX rp, struct nf_rx_desc *d);

#endif
