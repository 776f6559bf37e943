/* Guest RX planning after Linux rx.c: first data slot, then the extras
 * (xenvif_rx_extra_slot: "extras must go after the first data slot"), then the
 * remaining data; each response in the ring slot of the request it consumed. */
#include <errno.h>
#include <string.h>

#include "nb_rx_plan.h"

_Static_assert(sizeof(struct netif_extra_info) == sizeof(netif_rx_response_t),
               "an rx extra overlays a response");

/* Cursor over the frame while slots are laid out. */
struct nb_rx_fill {
        const uint8_t *data;
        uint32_t pos;
        uint32_t len;
};

static int nb_rx_pkt_check(const struct nb_rx_pkt *pkt)
{
        if (pkt->data == NULL || pkt->len == 0)
                return -EINVAL;
        if (pkt->gso_type != XEN_NETIF_GSO_TYPE_NONE && pkt->gso_type != XEN_NETIF_GSO_TYPE_TCPV4 &&
            pkt->gso_type != XEN_NETIF_GSO_TYPE_TCPV6)
                return -EINVAL;
        /* A GSO extra with size 0 is fatal to a Linux peer (xenvif_set_skb_gso). */
        if (pkt->gso_type != XEN_NETIF_GSO_TYPE_NONE && pkt->gso_size == 0)
                return -EINVAL;
        if (pkt->csum != NB_RX_CSUM_NONE && pkt->csum != NB_RX_CSUM_PARTIAL &&
            pkt->csum != NB_RX_CSUM_UNNECESSARY)
                return -EINVAL;
        /* The headroom must leave room for data in the first page; the xenbus
         * side clamps what the frontend asks for. */
        if (pkt->xdp_headroom >= NB_PAGE_SIZE)
                return -EINVAL;
        return 0;
}

static uint32_t nb_rx_data_slots(const struct nb_rx_pkt *pkt)
{
        uint32_t first_cap = NB_PAGE_SIZE - pkt->xdp_headroom;

        if (pkt->len <= first_cap)
                return 1;
        return 1 + (pkt->len - first_cap + NB_PAGE_SIZE - 1) / NB_PAGE_SIZE;
}

uint32_t nb_rx_data_slots_needed(const struct nb_rx_pkt *pkt)
{
        return pkt->xdp_headroom < NB_PAGE_SIZE ? nb_rx_data_slots(pkt) : NB_RX_MAX_DATA_SLOTS + 1;
}

static uint32_t nb_rx_extras(const struct nb_rx_pkt *pkt)
{
        return (pkt->gso_type != XEN_NETIF_GSO_TYPE_NONE) + pkt->has_hash +
               (pkt->xdp_headroom != 0);
}

int nb_rx_slots_needed(const struct nb_rx_pkt *pkt, uint32_t *slots)
{
        int err = nb_rx_pkt_check(pkt);

        if (err)
                return err;
        if (nb_rx_data_slots(pkt) > NB_RX_MAX_DATA_SLOTS)
                return -EMSGSIZE;
        *slots = nb_rx_data_slots(pkt) + nb_rx_extras(pkt);
        return 0;
}

static uint16_t nb_rx_first_flags(const struct nb_rx_pkt *pkt, uint32_t nr_extras)
{
        uint16_t flags = 0;

        if (pkt->csum == NB_RX_CSUM_PARTIAL)
                flags |= NETRXF_csum_blank | NETRXF_data_validated;
        else if (pkt->csum == NB_RX_CSUM_UNNECESSARY)
                flags |= NETRXF_data_validated;
        if (nr_extras != 0)
                flags |= NETRXF_extra_info;
        return flags;
}

/* One data slot: one segment (the guest side stays in its page; the local
 * side may cross pages, which gntdev splits itself). */
static void nb_rx_data_slot(struct nb_rx_plan *plan, struct nb_rx_fill *fill,
                            const netif_rx_request_t *req, uint32_t slot, uint16_t dest_off,
                            uint16_t flags, uint16_t domid)
{
        uint32_t chunk = fill->len - fill->pos;
        xh_copy_seg_t *seg = &plan->segs[plan->nr_segs];
        netif_rx_response_t *rsp = &plan->slots[slot].rsp;

        if (chunk > NB_PAGE_SIZE - dest_off)
                chunk = NB_PAGE_SIZE - dest_off;

        seg->source.virt = (void *)(fill->data + fill->pos);
        seg->dest.foreign.ref = req->gref;
        seg->dest.foreign.offset = dest_off;
        seg->dest.foreign.domid = domid;
        seg->len = chunk;
        seg->flags = GNTCOPY_dest_gref;
        seg->status = GNTST_okay;
        plan->seg_slot[plan->nr_segs++] = plan->first + slot;
        fill->pos += chunk;

        if (fill->pos < fill->len)
                flags |= NETRXF_more_data;
        rsp->id = req->id;
        /* Linux reports offset 0 and status = headroom + bytes; the protocol
         * (and netfront, which takes the offset from the XDP extra) means
         * offset = where the data starts, status = bytes in the slot. */
        rsp->offset = dest_off;
        rsp->flags = flags;
        rsp->status = (int16_t)chunk;
}

/* Extras in Linux's order (by type: GSO, HASH, XDP), MORE on all but the last. */
static void nb_rx_extra_slots(struct nb_rx_plan *plan, const struct nb_rx_pkt *pkt)
{
        uint32_t slot = 1;
        struct netif_extra_info *e;

        if (pkt->gso_type != XEN_NETIF_GSO_TYPE_NONE) {
                e = &plan->slots[slot++].extra;
                memset(e, 0, sizeof(*e));
                e->type = XEN_NETIF_EXTRA_TYPE_GSO;
                e->u.gso.type = pkt->gso_type;
                e->u.gso.size = pkt->gso_size;
        }
        if (pkt->has_hash) {
                e = &plan->slots[slot++].extra;
                memset(e, 0, sizeof(*e));
                e->type = XEN_NETIF_EXTRA_TYPE_HASH;
                e->u.hash.type = pkt->hash_type;
                e->u.hash.algorithm = XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ;
                for (unsigned int i = 0; i < sizeof(e->u.hash.value); i++)
                        e->u.hash.value[i] = (uint8_t)(pkt->hash_value >> (8 * i));
        }
        if (pkt->xdp_headroom != 0) {
                e = &plan->slots[slot++].extra;
                memset(e, 0, sizeof(*e));
                e->type = NB_EXTRA_TYPE_XDP;
                e->u.pad[0] = pkt->xdp_headroom; /* u.xdp.headroom in Linux's netif.h */
        }
        for (uint32_t i = 1; i + 1 < slot; i++)
                plan->slots[i].extra.flags |= XEN_NETIF_EXTRA_FLAG_MORE;
}

static uint32_t nb_rx_posted(const netif_rx_back_ring_t *ring, RING_IDX req_prod)
{
        uint32_t req = req_prod - ring->req_cons;
        uint32_t unanswered = ring->req_cons - ring->rsp_prod_pvt;
        uint32_t room = unanswered <= RING_SIZE(ring) ? RING_SIZE(ring) - unanswered : 0;

        return req < room ? req : room;
}

int nb_rx_plan_build(const netif_rx_back_ring_t *ring, RING_IDX req_prod, uint16_t frontend_domid,
                     const struct nb_rx_pkt *pkt, struct nb_rx_plan *plan)
{
        netif_rx_request_t req[NB_RX_MAX_SLOTS];
        struct nb_rx_fill fill = {.data = pkt->data, .len = pkt->len};
        uint32_t needed;
        int err;

        memset(plan, 0, offsetof(struct nb_rx_plan, segs));
        plan->first = ring->req_cons;
        err = nb_rx_slots_needed(pkt, &needed);
        if (err)
                return err;
        plan->nr_slots = needed;
        if ((uint32_t)(req_prod - ring->req_cons) > RING_SIZE(ring))
                return -EPROTO;
        if (nb_rx_posted(ring, req_prod) < needed)
                return -EAGAIN;

        plan->nr_data_slots = nb_rx_data_slots(pkt);
        plan->nr_extras = nb_rx_extras(pkt);
        /* needed <= NB_RX_MAX_SLOTS: nb_rx_slots_needed bounded the data
         * slots and there are at most NB_RX_MAX_EXTRAS extras. */
        for (uint32_t i = 0; i < needed; i++)
                RING_COPY_REQUEST(ring, plan->first + i, &req[i]);

        nb_rx_data_slot(plan, &fill, &req[0], 0, pkt->xdp_headroom,
                        nb_rx_first_flags(pkt, plan->nr_extras), frontend_domid);
        nb_rx_extra_slots(plan, pkt);
        for (uint32_t slot = 1 + plan->nr_extras; slot < needed; slot++)
                nb_rx_data_slot(plan, &fill, &req[slot], slot, 0, 0, frontend_domid);
        return 0;
}

int nb_rx_plan_write_responses(netif_rx_back_ring_t *ring, const struct nb_rx_plan *plan)
{
        if (ring->req_cons != plan->first || plan->nr_slots > NB_RX_MAX_SLOTS || plan->nr_segs == 0)
                return -ESTALE;
        for (uint32_t i = 0; i < plan->nr_slots; i++)
                memcpy(RING_GET_RESPONSE(ring, plan->first + i), &plan->slots[i],
                       sizeof(netif_rx_response_t));
        ring->req_cons += plan->nr_slots;
        ring->rsp_prod_pvt = ring->req_cons;
        return 0;
}

void nb_rx_plan_apply_copy_status(netif_rx_back_ring_t *ring, const struct nb_rx_plan *plan,
                                  const xh_copy_seg_t *done)
{
        for (uint32_t i = 0; i < plan->nr_segs && i < NB_RX_MAX_DATA_SLOTS; i++)
                if (done[i].status != GNTST_okay)
                        RING_GET_RESPONSE(ring, plan->seg_slot[i])->status = done[i].status;
}
