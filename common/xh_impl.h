/* Provider-facing half of the seam: the operation tables each provider fills.
 * Only xh.c and the provider files (xh_xen*.c, xh_sim*.c) include this. */
#ifndef PVBACK_XH_IMPL_H
#define PVBACK_XH_IMPL_H

#include "xh.h"

struct xh_evtchn_ops {
        void (*close)(struct xh_evtchn *h);
        int (*fd)(struct xh_evtchn *h);
        int (*bind_interdomain)(struct xh_evtchn *h, uint32_t domid, uint32_t rport,
                                uint32_t *lport);
        int (*bind_unbound)(struct xh_evtchn *h, uint32_t domid, uint32_t *lport);
        int (*notify)(struct xh_evtchn *h, uint32_t port);
        int (*pending)(struct xh_evtchn *h, uint32_t *port);
        int (*unmask)(struct xh_evtchn *h, uint32_t port);
        int (*unbind)(struct xh_evtchn *h, uint32_t port);
};

struct xh_gnttab_ops {
        void (*close)(struct xh_gnttab *g);
        int (*map)(struct xh_gnttab *g, uint32_t domid, uint32_t count, const uint32_t *refs,
                   bool writable, void **addr);
        int (*unmap)(struct xh_gnttab *g, void *addr, uint32_t count);
        int (*copy)(struct xh_gnttab *g, uint32_t count, xh_copy_seg_t *segs);
};

struct xh_gntshr_ops {
        void (*close)(struct xh_gntshr *s);
        int (*share)(struct xh_gntshr *s, uint32_t domid, uint32_t count, uint32_t *refs,
                     bool writable, void **addr);
        int (*unshare)(struct xh_gntshr *s, void *addr, uint32_t count);
};

/* Each provider's handle structs start with one of these. */
struct xh_evtchn {
        const struct xh_evtchn_ops *ops;
};
struct xh_gnttab {
        const struct xh_gnttab_ops *ops;
};
struct xh_gntshr {
        const struct xh_gntshr_ops *ops;
};

struct xh_provider {
        const char *name;
        /* 0 if usable here; else -errno and a reason in why. */
        int (*probe)(char *why, size_t whylen);
        int (*evtchn_open)(struct xh_evtchn **out);
        int (*gnttab_open)(struct xh_gnttab **out);
        int (*gntshr_open)(struct xh_gntshr **out);
};

extern const struct xh_provider xh_provider_xen;
extern const struct xh_provider xh_provider_sim;

#endif
