/* The hypervisor seam: every contact with Xen event channels and grant tables
 * goes through this header. Providers: "xen" (libxenevtchn/libxengnttab) and
 * "sim" (pvback-sim). Xenstore is deliberately not behind the seam: callers use
 * the real libxenstore client in both worlds.
 *
 * All functions return 0 or a negative errno unless stated otherwise.
 * Handles are not thread-safe: open one per thread, as with libxenevtchn.
 */
#ifndef PVBACK_XH_H
#define PVBACK_XH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* xenctrl.h first: it defines __XEN_TOOLS__ and the barriers xen/io/ring.h needs. */
#include <xenctrl.h>
#include <xengnttab.h>
#include <xenevtchn.h>
#include <xenstore.h>

#define XH_PAGE_SIZE 4096u

/* Grant copy segments are libxengnttab's own type in both worlds, so a batch
 * built by the data path goes to the hypervisor without conversion. */
typedef xengnttab_grant_copy_segment_t xh_copy_seg_t;

struct xh_provider;
struct xh_evtchn;
struct xh_gnttab;
struct xh_gntshr;

/* Environment variable naming the provider ("xen" or "sim"). */
#define XH_ENV_PROVIDER "PVBACK_HYPERVISOR"

/* Picks a provider: `requested` (command line) wins, then $PVBACK_HYPERVISOR,
 * then auto-detection (/dev/xen/evtchn → xen; $PVBACK_SIM_DIR → sim).
 * On failure returns -ENODEV or -EINVAL and writes a sentence a user can act on
 * into err. */
int xh_provider_select(const char *requested, const struct xh_provider **out, char *err,
                       size_t errlen);
const char *xh_provider_name(const struct xh_provider *p);

/* Own domain id from the relative xenstore key "domid", the idiom QEMU and
 * libxenvchan use (there is no whoami hypercall). */
int xh_own_domid(struct xs_handle *xs, uint16_t *domid);

/* ---- event channels ---------------------------------------------------- */
int xh_evtchn_open(const struct xh_provider *p, struct xh_evtchn **out);
void xh_evtchn_close(struct xh_evtchn *h);
/* Pollable fd: readable when xh_evtchn_pending() has a port to return. */
int xh_evtchn_fd(struct xh_evtchn *h);
int xh_evtchn_bind_interdomain(struct xh_evtchn *h, uint32_t remote_domid, uint32_t remote_port,
                               uint32_t *local_port);
int xh_evtchn_bind_unbound(struct xh_evtchn *h, uint32_t remote_domid, uint32_t *local_port);
int xh_evtchn_notify(struct xh_evtchn *h, uint32_t local_port);
/* One pending port, which stays masked until xh_evtchn_unmask(). -EAGAIN if none. */
int xh_evtchn_pending(struct xh_evtchn *h, uint32_t *port);
int xh_evtchn_unmask(struct xh_evtchn *h, uint32_t port);
int xh_evtchn_unbind(struct xh_evtchn *h, uint32_t port);

/* ---- grant tables, backend side ---------------------------------------- */
int xh_gnttab_open(const struct xh_provider *p, struct xh_gnttab **out);
void xh_gnttab_close(struct xh_gnttab *g);
/* Maps `count` refs granted by `domid` contiguously. On any failure nothing
 * stays mapped (as libxengnttab). */
int xh_gnttab_map(struct xh_gnttab *g, uint32_t domid, uint32_t count, const uint32_t *refs,
                  bool writable, void **addr);
int xh_gnttab_unmap(struct xh_gnttab *g, void *addr, uint32_t count);
/* Returns a negative errno if the call as a whole failed (e.g. -EINVAL when a
 * gref-side segment crosses a page); otherwise 0, with each segment's status
 * (GNTST_*) to be checked by the caller. */
int xh_gnttab_copy(struct xh_gnttab *g, uint32_t count, xh_copy_seg_t *segs);

/* ---- grant sharing, frontend side -------------------------------------- */
int xh_gntshr_open(const struct xh_provider *p, struct xh_gntshr **out);
void xh_gntshr_close(struct xh_gntshr *s);
/* Allocates `count` pages, grants each to `domid` and maps them contiguously at
 * *addr; refs[i] is the grant for page i. */
int xh_gntshr_share(struct xh_gntshr *s, uint32_t domid, uint32_t count, uint32_t *refs,
                    bool writable, void **addr);
int xh_gntshr_unshare(struct xh_gntshr *s, void *addr, uint32_t count);

#endif
