/* Grant-copy batches of blkback: segment copies between a guest's granted
 * pages and local buffers, collected across a whole ring drain and issued in
 * one call, each remembering the request it belongs to. Building is pure;
 * bb_gcopy_issue is the only hypercall. */
#ifndef PVBACK_BB_GCOPY_H
#define PVBACK_BB_GCOPY_H

#include <stdbool.h>
#include <stdint.h>

#include "xh.h"

struct bb_gcopy {
        xh_copy_seg_t *segs;
        uint32_t *owner; /* caller's tag per segment (a request slot) */
        uint32_t n, cap;
        uint16_t domid;  /* the frontend */
        uint64_t calls, copied; /* statistics */
};

int bb_gcopy_init(struct bb_gcopy *b, uint32_t cap, uint16_t domid);
void bb_gcopy_fini(struct bb_gcopy *b);
static inline uint32_t bb_gcopy_room(const struct bb_gcopy *b)
{
        return b->cap - b->n;
}
/* Guest page (gref, offset, len) -> local (a write's data, an indirect page). */
void bb_gcopy_from_guest(struct bb_gcopy *b, uint32_t gref, uint16_t offset, uint16_t len,
                         void *local, uint32_t owner);
/* Local -> guest page (a read's data). */
void bb_gcopy_to_guest(struct bb_gcopy *b, uint32_t gref, uint16_t offset, uint16_t len,
                       const void *local, uint32_t owner);
/* Issues the batch; for every segment that did not succeed, failed(owner) is
 * called (all of them when the call as a whole fails). Empties the batch. */
int bb_gcopy_issue(struct bb_gcopy *b, struct xh_gnttab *xgt,
                   void (*failed)(void *ctx, uint32_t owner, int16_t status), void *ctx);

#endif
