/* The netif control ring (feature-ctrl-ring): the frontend configures the
 * Toeplitz hash (algorithm, flags, key, mapping) that RX uses for the HASH
 * extra and queue choice. Served on queue 0's worker with its own grant and
 * event-channel handles. Linux: interface.c xenvif_ctrl_action, hash.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netback/nb_vif.h"
#include "worker.h"

struct nb_ctrl {
        struct nb_vif *vif;
        struct worker *w;
        char ctx[64];
        struct xh_gnttab *gt;
        struct xh_evtchn *ev;
        int ev_fd;
        uint32_t port;
        void *page;
        xen_netif_ctrl_back_ring_t ring;
        bool registered, dead;
        uint32_t mapping_buf[NB_PAGE_SIZE / sizeof(uint32_t)];
};

/* Copies len bytes at offset 0 of the guest's grant into dst. */
static int ctrl_fetch(struct nb_ctrl *c, uint32_t gref, void *dst, uint32_t len)
{
        xh_copy_seg_t seg;
        if (len == 0)
                return 0;
        memset(&seg, 0, sizeof(seg));
        seg.source.foreign.ref = gref;
        seg.source.foreign.offset = 0;
        seg.source.foreign.domid = c->vif->dev->fedom;
        seg.dest.virt = dst;
        seg.len = (uint16_t)len;
        seg.flags = GNTCOPY_source_gref;
        if (xh_gnttab_copy(c->gt, 1, &seg) < 0 || seg.status != GNTST_okay)
                return -EFAULT;
        return 0;
}

static uint32_t ctrl_handle(struct nb_ctrl *c, const struct xen_netif_ctrl_request *req,
                            uint32_t *data)
{
        struct nb_vif *vif = c->vif;
        uint8_t key[NB_HASH_KEY_MAX];
        uint32_t st;

        *data = 0;
        pthread_mutex_lock(&vif->lock);
        switch (req->type) {
        case XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM:
                st = nb_hash_set_alg(&vif->hash, req->data[0]);
                break;
        case XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS:
                st = nb_hash_get_flags(&vif->hash, data);
                break;
        case XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS:
                st = nb_hash_set_flags(&vif->hash, req->data[0]);
                break;
        case XEN_NETIF_CTRL_TYPE_SET_HASH_KEY:
                if (req->data[1] > NB_HASH_KEY_MAX) {
                        st = nb_hash_set_key(&vif->hash, NULL, req->data[1]);
                        break;
                }
                pthread_mutex_unlock(&vif->lock);
                if (ctrl_fetch(c, req->data[0], key, req->data[1]) < 0)
                        return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
                pthread_mutex_lock(&vif->lock);
                st = nb_hash_set_key(&vif->hash, key, req->data[1]);
                break;
        case XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE:
                *data = NB_HASH_MAPPING_MAX;
                st = XEN_NETIF_CTRL_STATUS_SUCCESS;
                break;
        case XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE:
                st = nb_hash_set_mapping_size(&vif->hash, req->data[0]);
                break;
        case XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING: {
                uint32_t gref = req->data[0], len = req->data[1], off = req->data[2];
                st = nb_hash_check_mapping(&vif->hash, off, len);
                if (st != XEN_NETIF_CTRL_STATUS_SUCCESS)
                        break;
                pthread_mutex_unlock(&vif->lock);
                if (ctrl_fetch(c, gref, c->mapping_buf, len * (uint32_t)sizeof(uint32_t)) < 0)
                        return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
                pthread_mutex_lock(&vif->lock);
                st = nb_hash_set_mapping(&vif->hash, vif->nr_queues, off, c->mapping_buf, len);
                break;
        }
        default:
                /* GREF mapping staging and anything newer (as Linux). */
                st = XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED;
                break;
        }
        if (st == XEN_NETIF_CTRL_STATUS_SUCCESS)
                atomic_fetch_add(&vif->hash_gen, 1);
        pthread_mutex_unlock(&vif->lock);
        return st;
}

static void ctrl_unregister(struct nb_ctrl *c)
{
        if (c->registered)
                worker_del_fd(c->w, c->ev_fd);
        c->registered = false;
}

static void ctrl_run(struct nb_ctrl *c)
{
        for (;;) {
                RING_IDX rp = c->ring.sring->req_prod, idx;
                int more, notify;
                xen_rmb();
                if (rp - c->ring.req_cons > RING_SIZE(&c->ring)) {
                        char reason[128];
                        c->dead = true;
                        ctrl_unregister(c);
                        snprintf(reason, sizeof(reason), "%s: req_prod %u is %u past req_cons",
                                 c->ctx, rp, rp - c->ring.req_cons);
                        if (!atomic_exchange(&c->vif->disabled, true))
                                be_dev_report_guest_error(c->vif->dev, reason);
                        return;
                }
                while (c->ring.req_cons != rp) {
                        struct xen_netif_ctrl_request req;
                        struct xen_netif_ctrl_response *rsp;
                        uint32_t data;
                        RING_COPY_REQUEST(&c->ring, c->ring.req_cons, &req);
                        c->ring.req_cons++;
                        uint32_t st = ctrl_handle(c, &req, &data);
                        idx = c->ring.rsp_prod_pvt++;
                        rsp = RING_GET_RESPONSE(&c->ring, idx);
                        rsp->id = req.id;
                        rsp->type = req.type;
                        rsp->status = st;
                        rsp->data = data;
                }
                RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&c->ring, notify);
                if (notify)
                        xh_evtchn_notify(c->ev, c->port);
                RING_FINAL_CHECK_FOR_REQUESTS(&c->ring, more);
                if (!more)
                        return;
        }
}

static void on_ctrl_evtchn(struct worker *w, int fd, uint32_t events, void *arg)
{
        struct nb_ctrl *c = arg;
        uint32_t port;
        (void)w;
        (void)fd;
        (void)events;
        while (xh_evtchn_pending(c->ev, &port) == 0)
                xh_evtchn_unmask(c->ev, port);
        if (!c->dead && !atomic_load(&c->vif->disabled))
                ctrl_run(c);
}

static void ctrl_release(struct nb_ctrl *c)
{
        ctrl_unregister(c);
        if (c->ev) {
                if (c->port)
                        xh_evtchn_unbind(c->ev, c->port);
                xh_evtchn_close(c->ev);
        }
        if (c->gt) {
                if (c->page)
                        xh_gnttab_unmap(c->gt, c->page, 1);
                xh_gnttab_close(c->gt);
        }
        free(c);
}

static int ctrl_start_on_worker(struct worker *w, void *arg)
{
        struct nb_ctrl *c = arg;
        struct nb_vif *vif = c->vif;
        const struct xh_provider *hv = vif->dev->hv;
        xen_netif_ctrl_sring_t *s;
        RING_IDX rsp, req;
        int rc;

        c->w = w;
        rc = xh_gnttab_open(hv, &c->gt);
        rc = rc ?: xh_evtchn_open(hv, &c->ev);
        rc =
            rc ?: xh_gnttab_map(c->gt, vif->dev->fedom, 1, &vif->cfg.ctrl_ring_ref, true, &c->page);
        if (rc < 0) {
                pv_err(c->ctx, "mapping ctrl-ring-ref %u: %s", vif->cfg.ctrl_ring_ref,
                       strerror(-rc));
                return rc;
        }
        s = c->page;
        rsp = __atomic_load_n(&s->rsp_prod, __ATOMIC_ACQUIRE);
        req = __atomic_load_n(&s->req_prod, __ATOMIC_ACQUIRE);
        BACK_RING_ATTACH(&c->ring, s, rsp, NB_PAGE_SIZE);
        if (req - rsp > RING_SIZE(&c->ring)) {
                pv_err(c->ctx, "req_prod %u is %u ahead of rsp_prod", req, req - rsp);
                return -EIO;
        }
        rc = xh_evtchn_bind_interdomain(c->ev, vif->dev->fedom, vif->cfg.ctrl_evtchn, &c->port);
        if (rc < 0) {
                pv_err(c->ctx, "binding event-channel-ctrl %u: %s", vif->cfg.ctrl_evtchn,
                       strerror(-rc));
                c->port = 0;
                return rc;
        }
        c->ev_fd = xh_evtchn_fd(c->ev);
        rc = worker_add_fd(w, c->ev_fd, EPOLLIN, on_ctrl_evtchn, c);
        if (rc < 0)
                return rc;
        c->registered = true;
        ctrl_run(c); /* requests queued before we bound */
        return 0;
}

static int ctrl_stop_on_worker(struct worker *w, void *arg)
{
        (void)w;
        ctrl_release(arg);
        return 0;
}

int nb_ctrl_start(struct nb_vif *vif, struct worker *w)
{
        struct nb_ctrl *c = calloc(1, sizeof(*c));
        int rc;
        if (!c)
                return -ENOMEM;
        c->vif = vif;
        snprintf(c->ctx, sizeof(c->ctx), "%s ctrl", vif->dev->name);
        rc = worker_call(w, ctrl_start_on_worker, c);
        if (rc < 0) {
                worker_call(w, ctrl_stop_on_worker, c);
                return rc;
        }
        vif->ctrl = c;
        return 0;
}

void nb_ctrl_stop(struct nb_vif *vif)
{
        struct nb_ctrl *c = vif->ctrl;
        if (!c)
                return;
        vif->ctrl = NULL;
        worker_call(c->w, ctrl_stop_on_worker, c);
}
