/* Guest RX data path of one queue: keep the ring full of posted buffers,
 * reassemble responses into frames, hand them to the caller, and re-arm the
 * event index before sleeping (Linux xennet_poll / xennet_alloc_rx_buffers). */
#include "nf_dev.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "nf_rx_slots.h"

void nf_rxq_refill(struct nf_queue *q)
{
        uint32_t want = q->dev->cfg.rx_buffers;
        RING_IDX prod = q->rx.req_prod_pvt;
        int notify;

        if (want == 0 || want > NF_RX_RING_SIZE)
                want = NF_RX_RING_SIZE;
        for (; prod - q->rx.rsp_cons < want; prod++) {
                uint16_t id = (uint16_t)(prod & (NF_RX_RING_SIZE - 1));
                netif_rx_request_t *r = RING_GET_REQUEST(&q->rx, prod);
                r->id = id;
                r->gref = q->rx_buf_refs[id];
        }
        if (prod == q->rx.req_prod_pvt)
                return;
        q->rx.req_prod_pvt = prod;
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->rx, notify);
        /* Without feature-rx-notify the backend polls for buffers instead. */
        if (notify && q->dev->neg.rx_notify) {
                xh_evtchn_notify(q->dev->ev, q->port_rx);
                q->st.notify_rx++;
        }
}

static void deliver(struct nf_queue *q, const struct nf_rx_desc *desc)
{
        struct nf_dev *d = q->dev;
        uint32_t off = 0;
        for (uint32_t i = 0; i < desc->nr_segs; i++) {
                const struct nf_rx_seg *s = &desc->segs[i];
                size_t page = s->idx & (NF_RX_RING_SIZE - 1);
                memcpy(d->scratch + off, q->rx_bufs + page * NF_PAGE_SIZE + s->offset, s->len);
                off += s->len;
        }
        q->st.rx_packets++;
        q->st.rx_bytes += off;
        q->st.rx_gso += desc->has_gso;
        q->st.rx_csum_blank += desc->csum_blank;
        if (!d->rx_cb)
                return;
        struct nf_rx_frame f = {.data = d->scratch,
                                .len = off,
                                .queue = q->id,
                                .csum_blank = desc->csum_blank,
                                .data_validated = desc->data_validated,
                                .gso_type = desc->has_gso ? desc->gso_type : 0,
                                .gso_size = desc->has_gso ? desc->gso_size : 0,
                                .has_hash = desc->has_hash,
                                .hash_type = desc->hash_type,
                                .hash_value = desc->hash_value};
        d->rx_cb(d->rx_arg, &f);
}

static int poll_once(struct nf_queue *q)
{
        RING_IDX rp = q->rx.sring->rsp_prod;
        if (RING_RESPONSE_PROD_OVERFLOW(&q->rx, rp)) {
                nf_set_broken(q->dev, "%s: illegal number of rx responses %u", q->name,
                              rp - q->rx.rsp_cons);
                return -EIO;
        }
        xen_rmb(); /* see responses up to rp */
        while (q->rx.rsp_cons != rp) {
                struct nf_rx_desc desc;
                int err = nf_rx_parse(&q->rx, rp, &desc);
                if (err == 0) {
                        deliver(q, &desc);
                } else {
                        q->st.rx_errors++;
                        if (q->st.rx_errors <= 10)
                                pv_warn(q->name, "rx packet at %u dropped: %s (%u slots)",
                                        q->rx.rsp_cons, strerror(-err), desc.nr_slots);
                }
                q->rx.rsp_cons += desc.nr_slots;
                q->st.rx_slots += desc.nr_slots;
        }
        return 0;
}

int nf_rxq_poll(struct nf_queue *q)
{
        int more;
        do {
                int rc = poll_once(q);
                if (rc < 0)
                        return rc;
                nf_rxq_refill(q);
                RING_FINAL_CHECK_FOR_RESPONSES(&q->rx, more);
        } while (more);
        return 0;
}
