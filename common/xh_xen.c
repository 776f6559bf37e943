/* The "xen" provider: the seam over libxenevtchn and libxengnttab/gntshr.
 * Thin by design; the semantics are the hypervisor's. */
#include "xh_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define XEN_EVTCHN_DEV "/dev/xen/evtchn"

struct xen_evtchn {
        struct xh_evtchn base;
        xenevtchn_handle *xce;
};
struct xen_gnttab {
        struct xh_gnttab base;
        xengnttab_handle *xgt;
};
struct xen_gntshr {
        struct xh_gntshr base;
        xengntshr_handle *xgs;
};

static int neg_errno(void)
{
        return errno ? -errno : -EIO;
}

static int xen_probe(char *why, size_t whylen)
{
        if (access(XEN_EVTCHN_DEV, R_OK | W_OK) == 0)
                return 0;
        snprintf(why, whylen, "%s: %s", XEN_EVTCHN_DEV, strerror(errno));
        return -ENODEV;
}

/* ---- event channels ---- */
static struct xen_evtchn *as_xe(struct xh_evtchn *h)
{
        return (struct xen_evtchn *)h;
}
static void xe_close(struct xh_evtchn *h)
{
        xenevtchn_close(as_xe(h)->xce);
        free(h);
}
static int xe_fd(struct xh_evtchn *h)
{
        return xenevtchn_fd(as_xe(h)->xce);
}
static int xe_port_result(xenevtchn_port_or_error_t p, uint32_t *lport)
{
        if (p < 0)
                return neg_errno();
        *lport = (uint32_t)p;
        return 0;
}
static int xe_bind_interdomain(struct xh_evtchn *h, uint32_t domid, uint32_t rport, uint32_t *lport)
{
        return xe_port_result(xenevtchn_bind_interdomain(as_xe(h)->xce, domid, rport), lport);
}
static int xe_bind_unbound(struct xh_evtchn *h, uint32_t domid, uint32_t *lport)
{
        return xe_port_result(xenevtchn_bind_unbound_port(as_xe(h)->xce, domid), lport);
}
static int xe_notify(struct xh_evtchn *h, uint32_t port)
{
        return xenevtchn_notify(as_xe(h)->xce, port) < 0 ? neg_errno() : 0;
}
static int xe_pending(struct xh_evtchn *h, uint32_t *port)
{
        xenevtchn_port_or_error_t p = xenevtchn_pending(as_xe(h)->xce);
        if (p < 0)
                return errno == EWOULDBLOCK ? -EAGAIN : neg_errno();
        *port = (uint32_t)p;
        return 0;
}
static int xe_unmask(struct xh_evtchn *h, uint32_t port)
{
        return xenevtchn_unmask(as_xe(h)->xce, port) < 0 ? neg_errno() : 0;
}
static int xe_unbind(struct xh_evtchn *h, uint32_t port)
{
        return xenevtchn_unbind(as_xe(h)->xce, port) < 0 ? neg_errno() : 0;
}

static const struct xh_evtchn_ops xen_evtchn_ops = {
        .close = xe_close,
        .fd = xe_fd,
        .bind_interdomain = xe_bind_interdomain,
        .bind_unbound = xe_bind_unbound,
        .notify = xe_notify,
        .pending = xe_pending,
        .unmask = xe_unmask,
        .unbind = xe_unbind,
};

static int xen_evtchn_open(struct xh_evtchn **out)
{
        struct xen_evtchn *e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->xce = xenevtchn_open(NULL, 0);
        if (!e->xce) {
                int rc = neg_errno();
                free(e);
                return rc;
        }
        /* libxenevtchn opens /dev/xen/evtchn blocking, so its pending() sleeps
         * when nothing is pending. Callers drain with pending() until -EAGAIN
         * from a worker's event loop: a blocking read there would stall every
         * queue on that worker (and every worker_call to it). */
        int fd = xenevtchn_fd(e->xce);
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
                int rc = neg_errno();
                xenevtchn_close(e->xce);
                free(e);
                return rc;
        }
        e->base.ops = &xen_evtchn_ops;
        *out = &e->base;
        return 0;
}

/* ---- grant tables ---- */
static struct xen_gnttab *as_xg(struct xh_gnttab *g)
{
        return (struct xen_gnttab *)g;
}
static void xg_close(struct xh_gnttab *g)
{
        xengnttab_close(as_xg(g)->xgt);
        free(g);
}
static int xg_map(struct xh_gnttab *g, uint32_t domid, uint32_t count, const uint32_t *refs,
                  bool writable, void **addr)
{
        int prot = PROT_READ | (writable ? PROT_WRITE : 0);
        void *p = xengnttab_map_domain_grant_refs(as_xg(g)->xgt, count, domid, (uint32_t *)refs,
                                                  prot);
        if (!p)
                return neg_errno();
        *addr = p;
        return 0;
}
static int xg_unmap(struct xh_gnttab *g, void *addr, uint32_t count)
{
        return xengnttab_unmap(as_xg(g)->xgt, addr, count) < 0 ? neg_errno() : 0;
}
static int xg_copy(struct xh_gnttab *g, uint32_t count, xh_copy_seg_t *segs)
{
        return xengnttab_grant_copy(as_xg(g)->xgt, count, segs) < 0 ? neg_errno() : 0;
}

static const struct xh_gnttab_ops xen_gnttab_ops = {
        .close = xg_close,
        .map = xg_map,
        .unmap = xg_unmap,
        .copy = xg_copy,
};

static int xen_gnttab_open(struct xh_gnttab **out)
{
        struct xen_gnttab *g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->xgt = xengnttab_open(NULL, 0);
        if (!g->xgt) {
                int rc = neg_errno();
                free(g);
                return rc;
        }
        g->base.ops = &xen_gnttab_ops;
        *out = &g->base;
        return 0;
}

/* ---- grant sharing ---- */
static struct xen_gntshr *as_xs(struct xh_gntshr *s)
{
        return (struct xen_gntshr *)s;
}
static void xs_close_shr(struct xh_gntshr *s)
{
        xengntshr_close(as_xs(s)->xgs);
        free(s);
}
static int xs_share(struct xh_gntshr *s, uint32_t domid, uint32_t count, uint32_t *refs,
                    bool writable, void **addr)
{
        void *p = xengntshr_share_pages(as_xs(s)->xgs, domid, (int)count, refs, writable);
        if (!p)
                return neg_errno();
        *addr = p;
        return 0;
}
static int xs_unshare(struct xh_gntshr *s, void *addr, uint32_t count)
{
        return xengntshr_unshare(as_xs(s)->xgs, addr, count) < 0 ? neg_errno() : 0;
}

static const struct xh_gntshr_ops xen_gntshr_ops = {
        .close = xs_close_shr,
        .share = xs_share,
        .unshare = xs_unshare,
};

static int xen_gntshr_open(struct xh_gntshr **out)
{
        struct xen_gntshr *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->xgs = xengntshr_open(NULL, 0);
        if (!s->xgs) {
                int rc = neg_errno();
                free(s);
                return rc;
        }
        s->base.ops = &xen_gntshr_ops;
        *out = &s->base;
        return 0;
}

const struct xh_provider xh_provider_xen = {
        .name = "xen",
        .probe = xen_probe,
        .evtchn_open = xen_evtchn_open,
        .gnttab_open = xen_gnttab_open,
        .gntshr_open = xen_gntshr_open,
};
