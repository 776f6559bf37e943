/* Guest TX: descriptor -> grant-copy segments, and descriptor -> responses.
 * Works only from the parsed descriptor, never from the shared ring, so a
 * guest rewriting its slots after parsing changes nothing here. */
#include <errno.h>

#include "nb_tx_gnttab.h"

unsigned int nb_tx_copy_ops_needed(const struct nb_tx_pkt *pkt)
{
        unsigned int n = 0;

        for (uint32_t i = 0; i < pkt->nr_frags && i < NB_TX_DESC_SLOTS; i++)
                n += pkt->frags[i].len != 0;
        return n;
}

static void nb_tx_fill_seg(xh_copy_seg_t *seg, const struct nb_tx_frag *f, uint16_t domid,
                           uint8_t *dest)
{
        seg->source.foreign.ref = f->gref;
        seg->source.foreign.offset = f->offset;
        seg->source.foreign.domid = domid;
        seg->dest.virt = dest;
        seg->len = f->len;
        seg->flags = GNTCOPY_source_gref;
        seg->status = GNTST_okay;
}

int nb_tx_build_copy_ops(const struct nb_tx_pkt *pkt, uint16_t frontend_domid, void *buf,
                         size_t buf_len, struct nb_tx_copy_cursor *cur, xh_copy_seg_t *segs,
                         unsigned int max_segs, unsigned int *nr_segs)
{
        uint8_t *dest = buf;

        if (pkt->verdict != NB_TX_OK || pkt->nr_frags > NB_TX_DESC_SLOTS)
                return -EINVAL;
        if (buf_len < pkt->total_len)
                return -ENOBUFS;
        for (; cur->frag < pkt->nr_frags; cur->frag++) {
                const struct nb_tx_frag *f = &pkt->frags[cur->frag];

                /* The parser guarantees the slots sum to total_len; re-check
                 * rather than trust it with someone else's memory. */
                if ((size_t)cur->off + f->len > pkt->total_len)
                        return -EINVAL;
                if (f->len == 0)
                        continue;
                if (*nr_segs >= max_segs)
                        return -ENOSPC;
                nb_tx_fill_seg(&segs[(*nr_segs)++], f, frontend_domid, dest + cur->off);
                cur->off += f->len;
        }
        return 0;
}

static bool nb_tx_status_valid(int16_t status)
{
        return status == NETIF_RSP_OKAY || status == NETIF_RSP_ERROR || status == NETIF_RSP_DROPPED;
}

static void nb_tx_put_rsp(netif_tx_back_ring_t *ring, uint16_t id, int16_t status)
{
        netif_tx_response_t *rsp = RING_GET_RESPONSE(ring, ring->rsp_prod_pvt);

        rsp->id = id;
        rsp->status = status;
        ring->rsp_prod_pvt++;
}

int nb_tx_make_responses(netif_tx_back_ring_t *ring, const struct nb_tx_pkt *pkt, int16_t status)
{
        uint32_t unanswered = ring->req_cons - ring->rsp_prod_pvt;

        if (pkt->verdict != NB_TX_OK && pkt->verdict != NB_TX_DROP && pkt->verdict != NB_TX_MCAST)
                return -EINVAL;
        if (!nb_tx_status_valid(status) || pkt->nr_frags == 0 || pkt->nr_frags > NB_TX_DESC_SLOTS ||
            pkt->nr_slots != pkt->nr_frags + pkt->nr_extras || pkt->nr_slots > unanswered)
                return -EINVAL;

        nb_tx_put_rsp(ring, pkt->frags[0].id, status);
        /* Linux writes only the status of an extra's response: netfront skips
         * NETIF_RSP_NULL without looking at the id. */
        for (uint32_t i = 0; i < pkt->nr_extras; i++)
                RING_GET_RESPONSE(ring, ring->rsp_prod_pvt++)->status = NETIF_RSP_NULL;
        for (uint32_t i = 1; i < pkt->nr_frags; i++)
                nb_tx_put_rsp(ring, pkt->frags[i].id, status);
        return 0;
}
