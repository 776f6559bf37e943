/* Guest RX planning: one frame plus the guest's posted rx requests become
 * grant-copy segments and responses laid out as Linux rx.c lays them out.
 * Pure: the plan is written to the ring by the caller's choice, copies are
 * issued by the caller. Not for queueing, QoS or choosing the queue. */
#ifndef PVBACK_NB_RX_PLAN_H
#define PVBACK_NB_RX_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "xh.h"
#include "netback/nb_limits.h"

/* The checksum state of the frame, as the uplink reported it. */
enum nb_rx_csum {
        NB_RX_CSUM_NONE,        /* nothing known: no flag */
        NB_RX_CSUM_PARTIAL,     /* CHECKSUM_PARTIAL: csum_blank|data_validated */
        NB_RX_CSUM_UNNECESSARY, /* CHECKSUM_UNNECESSARY: data_validated */
};

struct nb_rx_pkt {
        const void *data; /* the frame, contiguous */
        uint32_t len;
        uint8_t gso_type;  /* XEN_NETIF_GSO_TYPE_*; NONE unless the frontend takes it */
        uint16_t gso_size; /* MSS, non-zero with a GSO type */
        enum nb_rx_csum csum;
        bool has_hash;     /* emit a HASH extra (Toeplitz, as Linux) */
        uint8_t hash_type; /* _XEN_NETIF_CTRL_HASH_TYPE_* */
        uint32_t hash_value;
        uint16_t xdp_headroom; /* frontend's xdp-headroom; non-zero emits an XDP extra */
};

/* One ring slot's response: data slots carry a netif_rx_response, extra slots
 * a netif_extra_info in the same 8 bytes. */
union nb_rx_slot {
        netif_rx_response_t rsp;
        struct netif_extra_info extra;
};

struct nb_rx_plan {
        RING_IDX first;    /* ring index of the first request used */
        uint32_t nr_slots; /* requests consumed (also: needed, on -EAGAIN) */
        uint32_t nr_data_slots;
        uint32_t nr_extras;
        uint32_t nr_segs;
        xh_copy_seg_t segs[NB_RX_MAX_DATA_SLOTS];
        /* Ring index whose response reports segs[i] (Linux rx_copy.idx). */
        RING_IDX seg_slot[NB_RX_MAX_DATA_SLOTS];
        union nb_rx_slot slots[NB_RX_MAX_SLOTS];
};

/* Requests the frame needs: data slots (the first one starts after the
 * headroom) + 1 per GSO, HASH and XDP extra. With no headroom this is Linux's
 * DIV_ROUND_UP(len, 4096) + gso + hash. -EINVAL for a malformed frame
 * description, -EMSGSIZE beyond NB_RX_MAX_DATA_SLOTS data slots. */
int nb_rx_slots_needed(const struct nb_rx_pkt *pkt, uint32_t *slots);
/* Data slots alone (the buffers the frame reaches the guest in), for a
 * frame that passes nb_rx_slots_needed's checks. */
uint32_t nb_rx_data_slots_needed(const struct nb_rx_pkt *pkt);

/* Plans the frame into the requests at ring->req_cons (bounded by req_prod,
 * the caller's snapshot). Each request is copied once; its id and gref are
 * only echoed and used as the copy target, the hypervisor judges the gref.
 * 0 on success; -EAGAIN when fewer requests are posted than needed
 * (plan->nr_slots says how many: wait for the guest); -EPROTO when req_prod is
 * further ahead than a ring holds; -EINVAL / -EMSGSIZE as above. */
int nb_rx_plan_build(const netif_rx_back_ring_t *ring, RING_IDX req_prod, uint16_t frontend_domid,
                     const struct nb_rx_pkt *pkt, struct nb_rx_plan *plan);

/* Writes the planned responses into the slots of the requests they answer,
 * consumes those requests and makes them ready to push (rsp_prod_pvt =
 * req_cons, Linux xenvif_rx_complete). -ESTALE if the ring moved since the
 * plan was built. Push and notify stay with the caller, after the copies. */
int nb_rx_plan_write_responses(netif_rx_back_ring_t *ring, const struct nb_rx_plan *plan);

/* After the copy: a segment that failed turns its slot's status into the
 * GNTST_* code, as Linux xenvif_rx_copy_flush() does. `done` are this plan's
 * segments as the copy returned them (in plan order). */
void nb_rx_plan_apply_copy_status(netif_rx_back_ring_t *ring, const struct nb_rx_plan *plan,
                                  const xh_copy_seg_t *done);

#endif
