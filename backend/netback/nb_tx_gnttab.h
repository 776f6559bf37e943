/* Guest TX, second and last pure step: a parsed packet becomes grant-copy
 * segments into a local buffer (FreeBSD xnb_txpkt2gnttab), and a handled packet
 * becomes responses in the ring (Linux make_tx_response). No hypercalls here. */
#ifndef PVBACK_NB_TX_GNTTAB_H
#define PVBACK_NB_TX_GNTTAB_H

#include <stddef.h>
#include <stdint.h>

#include "xh.h"
#include "netback/nb_tx_parse.h"

/* Resume point of a packet whose segments did not fit one batch. */
struct nb_tx_copy_cursor {
        uint32_t frag; /* next data slot to describe */
        uint32_t off;  /* its destination offset in the packet buffer */
};

static inline void nb_tx_copy_cursor_init(struct nb_tx_copy_cursor *cur)
{
        cur->frag = 0;
        cur->off = 0;
}

/* Segments the packet needs: one per non-empty data slot (a slot never crosses
 * a page on the guest side, the parser made sure). Lets a caller that wants a
 * packet whole in one batch check before building. */
unsigned int nb_tx_copy_ops_needed(const struct nb_tx_pkt *pkt);

/* Appends GNTCOPY_source_gref segments (source = frontend_domid's grant,
 * dest = buf at the slot's packet offset) to segs[*nr_segs .. max_segs).
 * Returns 0 when the packet is fully described; -ENOSPC when the batch filled
 * first: *cur says where to go on, the segments already written are valid, and
 * the caller issues the batch and calls again with *nr_segs = 0 (or, to keep
 * packets whole, discards them and checks nb_tx_copy_ops_needed() first).
 * -EINVAL unless the verdict is NB_TX_OK; -ENOBUFS if buf_len < total_len. */
int nb_tx_build_copy_ops(const struct nb_tx_pkt *pkt, uint16_t frontend_domid, void *buf,
                         size_t buf_len, struct nb_tx_copy_cursor *cur, xh_copy_seg_t *segs,
                         unsigned int max_segs, unsigned int *nr_segs);

/* Writes one response per slot of pkt at ring->rsp_prod_pvt and advances it:
 * the first slot and every data slot get {id, status}, each extra slot
 * NETIF_RSP_NULL (status only, as Linux). status is NETIF_RSP_OKAY, _ERROR (use
 * it for NB_TX_DROP and failed copies) or _DROPPED. Push and notify are the
 * caller's. -EINVAL for a bad status, a verdict that is answered with nothing
 * (EMPTY, INCOMPLETE, FATAL), or slots not yet consumed (answering them would
 * overwrite requests we have not read). */
int nb_tx_make_responses(netif_tx_back_ring_t *ring, const struct nb_tx_pkt *pkt, int16_t status);

#endif
