/* One queue's shared resources: TX and RX rings, their buffer pages and the
 * event channels (split first, one shared channel as fallback, as Linux
 * setup_netfront). Not the data path (nf_txq.c, nf_rxq.c). */
#include "nf_dev.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

void nf_set_broken(struct nf_dev *d, const char *fmt, ...)
{
        if (d->broken[0])
                return;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->broken, sizeof(d->broken), fmt, ap);
        va_end(ap);
        /* Linux: "Disabled for further use". */
        pv_err(d->name, "%s; disabled for further use", d->broken);
}

static int share_rings(struct nf_dev *d, struct nf_queue *q)
{
        int rc = xh_gntshr_share(d->shr, d->backend, 1, &q->tx_ring_ref, true, &q->tx_sring);
        if (rc < 0)
                return rc;
        SHARED_RING_INIT((netif_tx_sring_t *)q->tx_sring);
        FRONT_RING_INIT(&q->tx, (netif_tx_sring_t *)q->tx_sring, NF_PAGE_SIZE);
        rc = xh_gntshr_share(d->shr, d->backend, 1, &q->rx_ring_ref, true, &q->rx_sring);
        if (rc < 0)
                return rc;
        SHARED_RING_INIT((netif_rx_sring_t *)q->rx_sring);
        FRONT_RING_INIT(&q->rx, (netif_rx_sring_t *)q->rx_sring, NF_PAGE_SIZE);
        return 0;
}

/* Userspace cannot grant pages per packet cheaply: TX and RX buffers are
 * granted once and reused, TX read-only (Linux grants TX pages read-only). */
static int share_buffers(struct nf_dev *d, struct nf_queue *q)
{
        void *p;
        int rc = xh_gntshr_share(d->shr, d->backend, NF_TX_RING_SIZE, q->tx_buf_refs, false, &p);
        if (rc < 0)
                return rc;
        q->tx_bufs = p;
        rc = xh_gntshr_share(d->shr, d->backend, NF_RX_RING_SIZE, q->rx_buf_refs, true, &p);
        if (rc < 0)
                return rc;
        q->rx_bufs = p;
        return 0;
}

static int bind_channels(struct nf_dev *d, struct nf_queue *q, bool split)
{
        int rc;
        if (split) {
                rc = xh_evtchn_bind_unbound(d->ev, d->backend, &q->port_tx);
                if (rc == 0) {
                        rc = xh_evtchn_bind_unbound(d->ev, d->backend, &q->port_rx);
                        if (rc == 0)
                                return 0;
                        xh_evtchn_unbind(d->ev, q->port_tx);
                }
                pv_warn(q->name, "split event channels failed (%s); using one", strerror(-rc));
        }
        rc = xh_evtchn_bind_unbound(d->ev, d->backend, &q->port_tx);
        if (rc < 0)
                return rc;
        q->port_rx = q->port_tx;
        return 0;
}

int nf_queue_setup(struct nf_dev *d, struct nf_queue *q, bool split)
{
        int rc;
        q->dev = d;
        snprintf(q->name, sizeof(q->name), "%s q%u", d->name, q->id);
        if ((rc = share_rings(d, q)) < 0 || (rc = share_buffers(d, q)) < 0) {
                pv_err(q->name, "sharing rings and buffers with domain %u: %s", d->backend,
                       strerror(-rc));
                return rc;
        }
        if ((rc = bind_channels(d, q, split)) < 0) {
                pv_err(q->name, "offering an event channel to domain %u: %s", d->backend,
                       strerror(-rc));
                return rc;
        }
        q->bound = true;
        nf_txq_init(q);
        return 0;
}

void nf_queue_teardown(struct nf_dev *d, struct nf_queue *q)
{
        if (q->bound) {
                xh_evtchn_unbind(d->ev, q->port_tx);
                if (q->port_rx != q->port_tx)
                        xh_evtchn_unbind(d->ev, q->port_rx);
                q->bound = false;
        }
        if (q->rx_bufs)
                xh_gntshr_unshare(d->shr, q->rx_bufs, NF_RX_RING_SIZE);
        if (q->tx_bufs)
                xh_gntshr_unshare(d->shr, q->tx_bufs, NF_TX_RING_SIZE);
        if (q->rx_sring)
                xh_gntshr_unshare(d->shr, q->rx_sring, 1);
        if (q->tx_sring)
                xh_gntshr_unshare(d->shr, q->tx_sring, 1);
        q->rx_bufs = q->tx_bufs = NULL;
        q->rx_sring = q->tx_sring = NULL;
}

void nf_queue_keys(const struct nf_queue *q, struct nf_queue_keys *k)
{
        k->tx_ring_ref = q->tx_ring_ref;
        k->rx_ring_ref = q->rx_ring_ref;
        k->evtchn_tx = q->port_tx;
        k->evtchn_rx = q->port_rx;
}
