/* The sim provider's frontend side: sharing own pages with another domain, as
 * Linux gntalloc does for libxengntshr. Frames and refs come from this
 * domain's own mem file and grant table. */
#include "xh_sim_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sim_dom.h"

struct sim_share {
        struct sim_share *next;
        void *addr;
        uint32_t count;
        uint32_t refs[];
};

struct sim_gntshr_h {
        struct xh_gntshr base;
        const char *dir;
        uint16_t self;
        struct sim_share *shares;
};

static struct sim_gntshr_h *as_ss(struct xh_gntshr *s)
{
        return (struct sim_gntshr_h *)s;
}

/* Ends access to each ref; ones still mapped or in a copy are deferred and
 * freed by a later sweep (see sim_gnt_end_access). */
static void end_refs(struct sim_gnttab *gt, const uint32_t *refs, uint32_t n)
{
        bool busy = false;
        for (uint32_t i = 0; i < n; i++)
                busy |= sim_gnt_end_access(gt, refs[i]) == -EBUSY;
        if (busy)
                sim_gnt_sweep(gt, true); /* a dead mapper's pins go first */
        else if (gt->hdr.h.deferred)
                sim_gnt_sweep(gt, false);
}

static int grant_pages(struct sim_dom *d, uint32_t domid, uint32_t count, uint32_t *refs,
                       bool writable, uint32_t *frames)
{
        uint32_t i;
        int rc = 0;

        if (d->gt->hdr.h.deferred)
                sim_gnt_sweep(d->gt, false);
        for (i = 0; i < count; i++) {
                rc = sim_gnt_share_one(d, (uint16_t)domid, writable, &refs[i]);
                if (rc < 0 && sim_gnt_sweep(d->gt, true) > 0)
                        rc = sim_gnt_share_one(d, (uint16_t)domid, writable, &refs[i]);
                if (rc < 0)
                        break;
                frames[i] = d->gt->act[refs[i]].alloc_frame;
        }
        if (rc < 0)
                end_refs(d->gt, refs, i);
        return rc;
}

static int ss_share(struct xh_gntshr *h, uint32_t domid, uint32_t count, uint32_t *refs,
                    bool writable, void **addr)
{
        struct sim_gntshr_h *s = as_ss(h);
        struct sim_share *sh;
        struct sim_dom *d;
        uint32_t *frames;
        int rc;

        if (count == 0 || count > SIM_GNT_ENTRIES || domid >= DOMID_FIRST_RESERVED)
                return -EINVAL;
        if ((rc = sim_dom_get(s->dir, s->self, &d)) < 0)
                return rc;
        sh = malloc(sizeof(*sh) + count * sizeof(uint32_t));
        frames = malloc(count * sizeof(uint32_t));
        if (!sh || !frames) {
                rc = -ENOMEM;
                goto out;
        }
        if ((rc = sim_gnttab_lock(d->gt)) < 0)
                goto out;
        rc = grant_pages(d, domid, count, sh->refs, writable, frames);
        sim_gnttab_unlock(d->gt);
        if (rc < 0)
                goto out;
        /* The granting domain always maps its own pages read-write. */
        if ((rc = xh_sim_map_frames(d->mem_fd, frames, count, PROT_READ | PROT_WRITE, &sh->addr)) <
            0) {
                if (sim_gnttab_lock(d->gt) == 0) {
                        end_refs(d->gt, sh->refs, count);
                        sim_gnttab_unlock(d->gt);
                }
                goto out;
        }
        sh->count = count;
        memcpy(refs, sh->refs, count * sizeof(uint32_t));
        sh->next = s->shares;
        s->shares = sh;
        *addr = sh->addr;
        sh = NULL;
out:
        free(sh);
        free(frames);
        return rc;
}

static void drop_share(struct sim_gntshr_h *s, struct sim_share *sh)
{
        struct sim_dom *d;

        munmap(sh->addr, (size_t)sh->count * XH_PAGE_SIZE);
        if (sim_dom_get(s->dir, s->self, &d) == 0 && sim_gnttab_lock(d->gt) == 0) {
                end_refs(d->gt, sh->refs, sh->count);
                sim_gnttab_unlock(d->gt);
        }
        free(sh);
}

/* Unknown address or other count: -EINVAL (libxengntshr would munmap blindly;
 * refusing is what catches a caller's bookkeeping bug). */
static int ss_unshare(struct xh_gntshr *h, void *addr, uint32_t count)
{
        struct sim_gntshr_h *s = as_ss(h);

        for (struct sim_share **pp = &s->shares; *pp; pp = &(*pp)->next) {
                struct sim_share *sh = *pp;
                if (sh->addr != addr)
                        continue;
                if (sh->count != count)
                        return -EINVAL;
                *pp = sh->next;
                drop_share(s, sh);
                return 0;
        }
        return -EINVAL;
}

static void ss_close(struct xh_gntshr *h)
{
        struct sim_gntshr_h *s = as_ss(h);
        while (s->shares) {
                struct sim_share *sh = s->shares;
                s->shares = sh->next;
                drop_share(s, sh);
        }
        free(s);
}

static const struct xh_gntshr_ops sim_gntshr_ops = {
        .close = ss_close,
        .share = ss_share,
        .unshare = ss_unshare,
};

int xh_sim_gntshr_open(struct xh_gntshr **out)
{
        struct sim_gntshr_h *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        if (xh_sim_env(&s->dir, &s->self) < 0) {
                free(s);
                return -ENODEV;
        }
        s->base.ops = &sim_gntshr_ops;
        *out = &s->base;
        return 0;
}
