/* The sim provider's backend grant operations: map/unmap (gntdev) and grant
 * copy, over the granting domain's shared table and memory file. Semantics
 * follow Linux gntdev.c and Xen grant_table.c; the copy is a plain memcpy
 * between mappings made once per process, under one table lock per batch. */
#include "xh_sim_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim_dom.h"

/* gntdev hands grant copies to Xen in batches of this many operations. */
#define GNTDEV_COPY_BATCH 16u

struct sim_mapping {
        struct sim_mapping *next;
        void *addr;
        uint32_t count;
        bool writable;
        struct sim_dom *dom;
        uint32_t refs[];
};

struct sim_gnttab_h {
        struct xh_gnttab base;
        const char *dir;
        uint16_t self;
        struct sim_mapping *maps;
};

static struct sim_gnttab_h *as_sg(struct xh_gnttab *g)
{
        return (struct sim_gnttab_h *)g;
}

/* Xen resolves DOMID_SELF for grant ops (rcu_lock_domain_by_any_id). */
static int lookup_dom(struct sim_gnttab_h *g, uint32_t domid, struct sim_dom **d)
{
        if (domid == DOMID_SELF)
                domid = g->self;
        if (domid >= DOMID_FIRST_RESERVED)
                return -ENOENT;
        return sim_dom_get(g->dir, (uint16_t)domid, d);
}

static bool dom_dying(const struct sim_dom *d)
{
        return __atomic_load_n(&d->gt->hdr.h.dying, __ATOMIC_ACQUIRE) != 0;
}

/* ---- map / unmap ------------------------------------------------------- */
static void unpin_refs(struct sim_gnttab *gt, const uint32_t *refs, uint32_t n, uint16_t self,
                       bool readonly)
{
        pid_t pid = getpid();
        for (uint32_t i = 0; i < n; i++) {
                sim_gnt_release(gt, refs[i], readonly);
                sim_maptrack_del(gt, pid, refs[i], self, readonly);
        }
}

/* map_grant_ref for each ref, all or nothing: any failing status makes gntdev's
 * mmap fail with EINVAL after the successful ones are unmapped again. */
static int pin_refs(struct sim_gnttab *gt, const uint32_t *refs, uint32_t count, uint16_t self,
                    bool readonly, uint32_t *frames)
{
        pid_t pid = getpid();
        uint32_t i;
        int rc = 0;

        if (__atomic_load_n(&gt->hdr.h.dying, __ATOMIC_ACQUIRE))
                return -EINVAL;
        for (i = 0; i < count; i++) {
                if (sim_gnt_acquire(gt, refs[i], self, readonly, &frames[i]) != GNTST_okay) {
                        rc = -EINVAL;
                        break;
                }
                if (sim_maptrack_add(gt, pid, refs[i], self, readonly) < 0) {
                        sim_gnt_release(gt, refs[i], readonly);
                        rc = -ENOMEM; /* gntdev: over its mapping limit */
                        break;
                }
        }
        if (rc < 0)
                unpin_refs(gt, refs, i, self, readonly);
        return rc;
}

static int sg_map(struct xh_gnttab *h, uint32_t domid, uint32_t count, const uint32_t *refs,
                  bool writable, void **addr)
{
        struct sim_gnttab_h *g = as_sg(h);
        struct sim_mapping *m;
        struct sim_dom *d;
        uint32_t *frames;
        int rc;

        if (count == 0 || count > SIM_GNT_ENTRIES)
                return -EINVAL;
        if (lookup_dom(g, domid, &d) < 0)
                return -EINVAL; /* Xen: GNTST_bad_domain; gntdev: EINVAL */
        m = malloc(sizeof(*m) + count * sizeof(uint32_t));
        frames = malloc(count * sizeof(uint32_t));
        if (!m || !frames) {
                rc = -ENOMEM;
                goto out;
        }
        if ((rc = sim_gnttab_lock(d->gt)) < 0)
                goto out;
        rc = pin_refs(d->gt, refs, count, g->self, !writable, frames);
        sim_gnttab_unlock(d->gt);
        if (rc < 0)
                goto out;
        rc = xh_sim_map_frames(d->mem_fd, frames, count,
                               PROT_READ | (writable ? PROT_WRITE : 0), &m->addr);
        if (rc < 0) {
                if (sim_gnttab_lock(d->gt) == 0) {
                        unpin_refs(d->gt, refs, count, g->self, !writable);
                        sim_gnttab_unlock(d->gt);
                }
                goto out;
        }
        m->count = count;
        m->writable = writable;
        m->dom = d;
        memcpy(m->refs, refs, count * sizeof(uint32_t));
        m->next = g->maps;
        g->maps = m;
        *addr = m->addr;
        m = NULL;
out:
        free(m);
        free(frames);
        return rc;
}

static void drop_mapping(struct sim_gnttab_h *g, struct sim_mapping *m)
{
        munmap(m->addr, (size_t)m->count * XH_PAGE_SIZE);
        /* A dying domain's table is still ours to update: the pins were taken
         * in it, and Xen releases them on unmap of a zombie's grants too. */
        if (sim_gnttab_lock(m->dom->gt) == 0) {
                unpin_refs(m->dom->gt, m->refs, m->count, g->self, !m->writable);
                sim_gnttab_unlock(m->dom->gt);
        }
        free(m);
}

/* libxengnttab looks the address up (IOCTL_GNTDEV_GET_OFFSET_FOR_VADDR) and
 * fails with EINVAL for an address gntdev did not map or a count that differs. */
static int sg_unmap(struct xh_gnttab *h, void *addr, uint32_t count)
{
        struct sim_gnttab_h *g = as_sg(h);

        for (struct sim_mapping **pp = &g->maps; *pp; pp = &(*pp)->next) {
                struct sim_mapping *m = *pp;
                if (m->addr != addr)
                        continue;
                if (m->count != count)
                        return -EINVAL;
                *pp = m->next;
                drop_mapping(g, m);
                return 0;
        }
        return -EINVAL;
}

/* ---- grant copy ---------------------------------------------------------- */
struct copy_ctx {
        struct sim_gnttab_h *g;
        struct sim_dom *held[2]; /* locked tables, in lock order */
        unsigned nheld;
        uint32_t cache_domid[2];
        struct sim_dom *cache_dom[2];
};

static int ctx_dom(struct copy_ctx *c, unsigned side, uint32_t domid, struct sim_dom **d)
{
        if (c->cache_dom[side] && c->cache_domid[side] == domid) {
                *d = c->cache_dom[side];
                return 0;
        }
        int rc = lookup_dom(c->g, domid, d);
        if (rc == 0) {
                c->cache_domid[side] = domid;
                c->cache_dom[side] = *d;
        }
        return rc;
}

static void ctx_unlock(struct copy_ctx *c)
{
        while (c->nheld)
                sim_gnttab_unlock(c->held[--c->nheld]->gt);
}

/* A global order on tables (domid, then incarnation) so that two processes
 * copying between the same two domains cannot deadlock. */
static bool dom_before(const struct sim_dom *x, const struct sim_dom *y)
{
        return x->domid != y->domid ? x->domid < y->domid : x->ino < y->ino;
}

/* Holds exactly the tables of a and b (either may be NULL). The common case,
 * the same domain as the previous op, costs nothing: one lock per batch. */
static int ctx_lock(struct copy_ctx *c, struct sim_dom *a, struct sim_dom *b)
{
        struct sim_dom *want[2];
        unsigned n = 0;

        if (a)
                want[n++] = a;
        if (b && b != a)
                want[n++] = b;
        if (n == 2 && dom_before(want[1], want[0])) {
                struct sim_dom *t = want[0];
                want[0] = want[1];
                want[1] = t;
        }
        if (n == c->nheld && (n < 1 || c->held[0] == want[0]) && (n < 2 || c->held[1] == want[1]))
                return 0;
        ctx_unlock(c);
        for (unsigned i = 0; i < n; i++) {
                int rc = sim_gnttab_lock(want[i]->gt);
                if (rc < 0) {
                        ctx_unlock(c);
                        return rc;
                }
                c->held[c->nheld++] = want[i];
        }
        return 0;
}

/* One gref-side buffer: gnttab_copy_lock_domain + gnttab_copy_claim_buf. */
struct copy_side {
        bool gref;
        uint32_t domid, ref, offset;
        uint8_t *virt;
        struct sim_dom *dom;
};

static int16_t side_domain(struct copy_ctx *c, unsigned slot, struct copy_side *s)
{
        if (!s->gref)
                return GNTST_okay;
        if (ctx_dom(c, slot, s->domid, &s->dom) < 0)
                return GNTST_bad_domain;
        return GNTST_okay;
}

static int16_t side_claim(struct copy_ctx *c, unsigned slot, struct copy_side *s, uint8_t **p)
{
        uint32_t frame;
        int16_t st;

        if (!s->gref) {
                *p = s->virt;
                return GNTST_okay;
        }
        /* A domain being destroyed is gone as far as new grant ops go. */
        if (dom_dying(s->dom))
                return GNTST_bad_domain;
        st = sim_gnt_acquire_copy(s->dom->gt, slot, s->ref, c->g->self, slot == 0, &frame);
        if (st != GNTST_okay)
                return st;
        *p = s->dom->mem + (size_t)frame * XH_PAGE_SIZE + s->offset;
        return GNTST_okay;
}

static void side_release(struct copy_side *s, unsigned slot)
{
        if (s->gref)
                sim_gnt_release_copy(s->dom->gt, slot, s->ref, slot == 0);
}

/* Xen copies with string instructions (x86 memcpy: rep movsq, then rep
 * movsb); a whole page, the common op, is copied here with a constant
 * length, which the compiler turns into the same. A libc memcpy of a
 * variable length picks a vector loop, slower than that for a page on CPUs
 * with fast string moves. */
static void op_copy(uint8_t *dp, const uint8_t *sp, uint32_t len)
{
        if (len == XH_PAGE_SIZE)
                memcpy(dp, sp, XH_PAGE_SIZE);
        else
                memcpy(dp, sp, len);
}

/* One hypervisor copy op (Xen's gnttab_copy_one): domains, then source claim
 * (read pin), then destination claim (write pin), memcpy, release. */
static int16_t copy_op(struct copy_ctx *c, struct copy_side *src, struct copy_side *dst,
                       uint32_t len)
{
        uint8_t *sp, *dp;
        int16_t st;

        if ((st = side_domain(c, 0, src)) != GNTST_okay ||
            (st = side_domain(c, 1, dst)) != GNTST_okay)
                return st;
        if (ctx_lock(c, src->gref ? src->dom : NULL, dst->gref ? dst->dom : NULL) < 0)
                return GNTST_bad_domain;
        if ((st = side_claim(c, 0, src, &sp)) != GNTST_okay)
                return st;
        if ((st = side_claim(c, 1, dst, &dp)) != GNTST_okay) {
                side_release(src, 0);
                return st;
        }
        op_copy(dp, sp, len);
        side_release(dst, 1);
        side_release(src, 0);
        return GNTST_okay;
}

static void seg_side(const xh_copy_seg_t *seg, bool source, struct copy_side *s)
{
        const union xengnttab_copy_ptr *p = source ? &seg->source : &seg->dest;
        s->gref = seg->flags & (source ? GNTCOPY_source_gref : GNTCOPY_dest_gref);
        if (s->gref) {
                s->domid = p->foreign.domid;
                s->ref = p->foreign.ref;
                s->offset = p->foreign.offset;
        } else {
                s->virt = p->virt;
        }
}

/* gntdev_grant_copy_seg's up-front checks: one side must be a gref, and a gref
 * side must not cross its page. */
static bool seg_valid(const xh_copy_seg_t *seg)
{
        if (!(seg->flags & (GNTCOPY_source_gref | GNTCOPY_dest_gref)))
                return false;
        if ((seg->flags & GNTCOPY_source_gref) &&
            seg->source.foreign.offset + seg->len > XH_PAGE_SIZE)
                return false;
        if ((seg->flags & GNTCOPY_dest_gref) && seg->dest.foreign.offset + seg->len > XH_PAGE_SIZE)
                return false;
        return true;
}

/* gntdev splits the local (virt) side at page boundaries, one op per piece. */
static uint32_t seg_piece(const xh_copy_seg_t *seg, uint32_t copied)
{
        uint32_t left = seg->len - copied;
        uintptr_t v;

        if ((seg->flags & GNTCOPY_source_gref) && (seg->flags & GNTCOPY_dest_gref))
                return left;
        v = (uintptr_t)((seg->flags & GNTCOPY_source_gref) ? seg->dest.virt : seg->source.virt);
        uint32_t room = XH_PAGE_SIZE - (uint32_t)((v + copied) % XH_PAGE_SIZE);
        return left < room ? left : room;
}

static uint32_t seg_ops(const xh_copy_seg_t *seg)
{
        uint32_t n = 0;
        for (uint32_t copied = 0; copied < seg->len; n++)
                copied += seg_piece(seg, copied);
        return n;
}

static void copy_seg(struct copy_ctx *c, xh_copy_seg_t *seg, uint64_t *ops_left)
{
        struct copy_side src, dst;

        seg_side(seg, true, &src);
        seg_side(seg, false, &dst);
        for (uint32_t copied = 0; copied < seg->len && *ops_left; (*ops_left)--) {
                uint32_t len = seg_piece(seg, copied);
                struct copy_side s = src, d = dst;
                if (s.gref)
                        s.offset += copied;
                else
                        s.virt += copied;
                if (d.gref)
                        d.offset += copied;
                else
                        d.virt += copied;
                int16_t st = copy_op(c, &s, &d, len);
                /* The first failing op of a segment gives its status. */
                if (st != GNTST_okay && seg->status == GNTST_okay)
                        seg->status = st;
                copied += len;
        }
}

/* How many ops gntdev would have handed to Xen before failing at segment
 * `bad`: only full batches are flushed; the batch being built is dropped. */
static uint64_t ops_before_failure(const xh_copy_seg_t *segs, uint32_t bad)
{
        uint64_t n = 0;
        for (uint32_t i = 0; i < bad; i++)
                n += seg_ops(&segs[i]);
        return n ? ((n - 1) / GNTDEV_COPY_BATCH) * GNTDEV_COPY_BATCH : 0;
}

static int sg_copy(struct xh_gnttab *h, uint32_t count, xh_copy_seg_t *segs)
{
        struct copy_ctx c = {.g = as_sg(h)};
        uint32_t bad = count;
        uint64_t ops_left = UINT64_MAX;

        for (uint32_t i = 0; i < count; i++) {
                if (!seg_valid(&segs[i])) {
                        bad = i;
                        ops_left = ops_before_failure(segs, bad);
                        break;
                }
        }
        for (uint32_t i = 0; i < bad; i++)
                segs[i].status = GNTST_okay;
        for (uint32_t i = 0; i < bad && ops_left; i++)
                copy_seg(&c, &segs[i], &ops_left);
        ctx_unlock(&c);
        return bad < count ? -EINVAL : 0;
}

/* ---- handle -------------------------------------------------------------- */
static void sg_close(struct xh_gnttab *h)
{
        struct sim_gnttab_h *g = as_sg(h);
        while (g->maps) {
                struct sim_mapping *m = g->maps;
                g->maps = m->next;
                drop_mapping(g, m);
        }
        free(g);
}

static const struct xh_gnttab_ops sim_gnttab_ops = {
        .close = sg_close,
        .map = sg_map,
        .unmap = sg_unmap,
        .copy = sg_copy,
};

int xh_sim_gnttab_open(struct xh_gnttab **out)
{
        struct sim_gnttab_h *g = calloc(1, sizeof(*g));
        int rc;

        if (!g)
                return -ENOMEM;
        if ((rc = xh_sim_env(&g->dir, &g->self)) < 0) {
                free(g);
                return -ENODEV;
        }
        g->base.ops = &sim_gnttab_ops;
        *out = &g->base;
        return 0;
}
