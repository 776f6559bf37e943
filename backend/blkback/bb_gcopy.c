/* Grant-copy batch building and issuing for blkback (QEMU xen-block's
 * approach: copy every non-persistent segment, never map it). The gref side
 * of a segment never crosses its page: bb_req checked last_sect < 8. */
#include "blkback/bb_gcopy.h"

#include <errno.h>
#include <stdlib.h>

int bb_gcopy_init(struct bb_gcopy *b, uint32_t cap, uint16_t domid)
{
        *b = (struct bb_gcopy){.cap = cap, .domid = domid};
        b->segs = calloc(cap, sizeof(*b->segs));
        b->owner = calloc(cap, sizeof(*b->owner));
        if (!b->segs || !b->owner) {
                bb_gcopy_fini(b);
                return -ENOMEM;
        }
        return 0;
}

void bb_gcopy_fini(struct bb_gcopy *b)
{
        free(b->segs);
        free(b->owner);
        b->segs = NULL;
        b->owner = NULL;
        b->n = b->cap = 0;
}

void bb_gcopy_from_guest(struct bb_gcopy *b, uint32_t gref, uint16_t offset, uint16_t len,
                         void *local, uint32_t owner)
{
        xh_copy_seg_t *s = &b->segs[b->n];
        s->source.foreign.ref = gref;
        s->source.foreign.offset = offset;
        s->source.foreign.domid = b->domid;
        s->dest.virt = local;
        s->len = len;
        s->flags = GNTCOPY_source_gref;
        s->status = 0;
        b->owner[b->n++] = owner;
}

void bb_gcopy_to_guest(struct bb_gcopy *b, uint32_t gref, uint16_t offset, uint16_t len,
                       const void *local, uint32_t owner)
{
        xh_copy_seg_t *s = &b->segs[b->n];
        s->source.virt = (void *)local;
        s->dest.foreign.ref = gref;
        s->dest.foreign.offset = offset;
        s->dest.foreign.domid = b->domid;
        s->len = len;
        s->flags = GNTCOPY_dest_gref;
        s->status = 0;
        b->owner[b->n++] = owner;
}

int bb_gcopy_issue(struct bb_gcopy *b, struct xh_gnttab *xgt,
                   void (*failed)(void *ctx, uint32_t owner, int16_t status), void *ctx)
{
        int rc = 0;
        if (!b->n)
                return 0;
        rc = xh_gnttab_copy(xgt, b->n, b->segs);
        b->calls++;
        b->copied += b->n;
        for (uint32_t i = 0; i < b->n; i++) {
                if (rc < 0)
                        failed(ctx, b->owner[i], GNTST_general_error);
                else if (b->segs[i].status != GNTST_okay)
                        failed(ctx, b->owner[i], b->segs[i].status);
        }
        b->n = 0;
        return rc;
}
