/* The netif control ring (netif.h "Control ring", Xen 4.17): shared before
 * Connected (ctrl-ring-ref, event-channel-ctrl), then used to set up
 * Toeplitz hashing: algorithm, flags, key, mapping size, mapping, in the
 * order Linux netback's checks need (flags are refused while the algorithm
 * is NONE). Linux netfront has no control ring; this is the Windows PV
 * drivers' sequence. */
#include "nf_dev.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

#define NF_CTRL_TIMEOUT_MS 5000

int nf_ctrl_setup(struct nf_dev *d)
{
        struct nf_ctrl *c = &d->ctrl;
        void *p;
        int rc = xh_gntshr_share(d->shr, d->backend, 1, &c->ring_ref, true, &c->sring);
        if (rc < 0)
                return rc;
        SHARED_RING_INIT((xen_netif_ctrl_sring_t *)c->sring);
        FRONT_RING_INIT(&c->ring, (xen_netif_ctrl_sring_t *)c->sring, NF_PAGE_SIZE);
        if ((rc = xh_gntshr_share(d->shr, d->backend, 1, &c->page_ref, false, &p)) < 0)
                return rc;
        c->page = p;
        if ((rc = xh_evtchn_bind_unbound(d->ev, d->backend, &c->port)) < 0)
                return rc;
        c->active = true;
        return 0;
}

void nf_ctrl_teardown(struct nf_dev *d)
{
        struct nf_ctrl *c = &d->ctrl;
        if (c->active)
                xh_evtchn_unbind(d->ev, c->port);
        if (c->page)
                xh_gntshr_unshare(d->shr, c->page, 1);
        if (c->sring)
                xh_gntshr_unshare(d->shr, c->sring, 1);
        memset(c, 0, sizeof(*c));
}

/* Waits for the response to request id; other ports that fire meanwhile are
 * unmasked and their queues polled afterwards by the caller. */
static int wait_response(struct nf_dev *d, uint16_t id, struct xen_netif_ctrl_response *out)
{
        struct nf_ctrl *c = &d->ctrl;
        for (int waited = 0; waited < NF_CTRL_TIMEOUT_MS; waited += 10) {
                RING_IDX rp = c->ring.sring->rsp_prod;
                xen_rmb();
                if (c->ring.rsp_cons != rp) {
                        RING_COPY_RESPONSE(&c->ring, c->ring.rsp_cons, out);
                        c->ring.rsp_cons++;
                        return out->id == id ? 0 : -EPROTO;
                }
                c->ring.sring->rsp_event = c->ring.rsp_cons + 1;
                struct pollfd pfd = {.fd = xh_evtchn_fd(d->ev), .events = POLLIN};
                if (poll(&pfd, 1, 10) > 0) {
                        uint32_t port;
                        while (xh_evtchn_pending(d->ev, &port) == 0)
                                xh_evtchn_unmask(d->ev, port);
                }
        }
        return -ETIMEDOUT;
}

static int ctrl_call(struct nf_dev *d, uint16_t type, uint32_t a, uint32_t b, uint32_t c3,
                     char *err, size_t errlen)
{
        struct nf_ctrl *c = &d->ctrl;
        struct xen_netif_ctrl_response rsp;
        int notify;
        uint16_t id = c->next_id++;
        struct xen_netif_ctrl_request *req = RING_GET_REQUEST(&c->ring, c->ring.req_prod_pvt);
        req->id = id;
        req->type = type;
        req->data[0] = a;
        req->data[1] = b;
        req->data[2] = c3;
        c->ring.req_prod_pvt++;
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&c->ring, notify);
        if (notify)
                xh_evtchn_notify(d->ev, c->port);
        int rc = wait_response(d, id, &rsp);
        if (rc < 0) {
                snprintf(err, errlen, "control request type %u: %s", type,
                         rc == -ETIMEDOUT ? "no answer" : "answer out of order");
                return rc;
        }
        if (rsp.status != XEN_NETIF_CTRL_STATUS_SUCCESS) {
                snprintf(err, errlen, "control request type %u refused with status %u", type,
                         rsp.status);
                return -EREMOTEIO;
        }
        return 0;
}

int nf_ctrl_apply_hash(struct nf_dev *d, char *err, size_t errlen)
{
        const struct nf_hash_cfg *h = &d->cfg.hash;
        struct nf_ctrl *c = &d->ctrl;
        int rc;
        if (!c->active)
                return -ENOTCONN;
        if ((rc = ctrl_call(d, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM,
                            XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, 0, 0, err, errlen)) < 0 ||
            (rc = ctrl_call(d, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, h->flags, 0, 0, err, errlen)) < 0)
                return rc;
        memcpy(c->page, h->key, h->key_len);
        if ((rc = ctrl_call(d, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, c->page_ref, h->key_len, 0, err,
                            errlen)) < 0)
                return rc;
        if (h->mapping_size == 0)
                return 0;
        if ((rc = ctrl_call(d, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, h->mapping_size, 0, 0,
                            err, errlen)) < 0)
                return rc;
        memcpy(c->page, h->mapping, h->mapping_size * sizeof(uint32_t));
        return ctrl_call(d, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, c->page_ref, h->mapping_size, 0,
                         err, errlen);
}
