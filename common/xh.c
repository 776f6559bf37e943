/* Provider selection and the thin dispatch from the seam's API to a provider.
 * No hypervisor logic lives here. */
#include "xh_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct xh_provider *const providers[] = {&xh_provider_xen, &xh_provider_sim};

static const struct xh_provider *provider_by_name(const char *name)
{
        for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++)
                if (strcmp(providers[i]->name, name) == 0)
                        return providers[i];
        return NULL;
}

static int select_named(const char *name, const char *origin, const struct xh_provider **out,
                        char *err, size_t errlen)
{
        const struct xh_provider *p = provider_by_name(name);
        char why[256] = "";

        if (!p) {
                snprintf(err, errlen, "unknown hypervisor provider '%s' (from %s); use 'xen' or 'sim'",
                         name, origin);
                return -EINVAL;
        }
        int rc = p->probe(why, sizeof(why));
        if (rc < 0) {
                snprintf(err, errlen, "hypervisor provider '%s' (from %s) is not usable: %s", name,
                         origin, why);
                return rc;
        }
        *out = p;
        return 0;
}

int xh_provider_select(const char *requested, const struct xh_provider **out, char *err,
                       size_t errlen)
{
        const char *env = getenv(XH_ENV_PROVIDER);
        char why_xen[256] = "", why_sim[256] = "";

        if (requested && *requested)
                return select_named(requested, "the command line", out, err, errlen);
        if (env && *env)
                return select_named(env, "$" XH_ENV_PROVIDER, out, err, errlen);

        if (xh_provider_xen.probe(why_xen, sizeof(why_xen)) == 0) {
                *out = &xh_provider_xen;
                return 0;
        }
        if (xh_provider_sim.probe(why_sim, sizeof(why_sim)) == 0) {
                *out = &xh_provider_sim;
                return 0;
        }
        snprintf(err, errlen,
                 "no hypervisor found: xen: %s; sim: %s. Run in a Xen domain, or start the "
                 "simulator and enter a domain with: eval \"$(pvback-sim env --domid 0)\"",
                 why_xen, why_sim);
        return -ENODEV;
}

const char *xh_provider_name(const struct xh_provider *p)
{
        return p->name;
}

int xh_own_domid(struct xs_handle *xs, uint16_t *domid)
{
        unsigned int len = 0;
        char *val = xs_read(xs, XBT_NULL, "domid", &len);
        char *end = NULL;

        if (!val)
                return -errno;
        errno = 0;
        unsigned long v = strtoul(val, &end, 10);
        int bad = errno || end == val || *end != '\0' || v >= DOMID_FIRST_RESERVED;
        free(val);
        if (bad)
                return -EINVAL;
        *domid = (uint16_t)v;
        return 0;
}

int xh_evtchn_open(const struct xh_provider *p, struct xh_evtchn **out)
{
        return p->evtchn_open(out);
}
void xh_evtchn_close(struct xh_evtchn *h)
{
        if (h)
                h->ops->close(h);
}
int xh_evtchn_fd(struct xh_evtchn *h)
{
        return h->ops->fd(h);
}
int xh_evtchn_bind_interdomain(struct xh_evtchn *h, uint32_t remote_domid, uint32_t remote_port,
                               uint32_t *local_port)
{
        return h->ops->bind_interdomain(h, remote_domid, remote_port, local_port);
}
int xh_evtchn_bind_unbound(struct xh_evtchn *h, uint32_t remote_domid, uint32_t *local_port)
{
        return h->ops->bind_unbound(h, remote_domid, local_port);
}
int xh_evtchn_notify(struct xh_evtchn *h, uint32_t local_port)
{
        return h->ops->notify(h, local_port);
}
int xh_evtchn_pending(struct xh_evtchn *h, uint32_t *port)
{
        return h->ops->pending(h, port);
}
int xh_evtchn_unmask(struct xh_evtchn *h, uint32_t port)
{
        return h->ops->unmask(h, port);
}
int xh_evtchn_unbind(struct xh_evtchn *h, uint32_t port)
{
        return h->ops->unbind(h, port);
}

int xh_gnttab_open(const struct xh_provider *p, struct xh_gnttab **out)
{
        return p->gnttab_open(out);
}
void xh_gnttab_close(struct xh_gnttab *g)
{
        if (g)
                g->ops->close(g);
}
int xh_gnttab_map(struct xh_gnttab *g, uint32_t domid, uint32_t count, const uint32_t *refs,
                  bool writable, void **addr)
{
        if (count == 0)
                return -EINVAL;
        return g->ops->map(g, domid, count, refs, writable, addr);
}
int xh_gnttab_unmap(struct xh_gnttab *g, void *addr, uint32_t count)
{
        return g->ops->unmap(g, addr, count);
}
int xh_gnttab_copy(struct xh_gnttab *g, uint32_t count, xh_copy_seg_t *segs)
{
        return g->ops->copy(g, count, segs);
}

int xh_gntshr_open(const struct xh_provider *p, struct xh_gntshr **out)
{
        return p->gntshr_open(out);
}
void xh_gntshr_close(struct xh_gntshr *s)
{
        if (s)
                s->ops->close(s);
}
int xh_gntshr_share(struct xh_gntshr *s, uint32_t domid, uint32_t count, uint32_t *refs,
                    bool writable, void **addr)
{
        if (count == 0)
                return -EINVAL;
        return s->ops->share(s, domid, count, refs, writable, addr);
}
int xh_gntshr_unshare(struct xh_gntshr *s, void *addr, uint32_t count)
{
        return s->ops->unshare(s, addr, count);
}
