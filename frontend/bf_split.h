/* Splitting one I/O (a sector range over a buffer) into blkif requests and
 * their segments, as Linux blkfront's blkif_queue_rw_req lays a request's
 * pages out. Pure: it plans, grants and rings are elsewhere. */
#ifndef PVBACK_BF_SPLIT_H
#define PVBACK_BF_SPLIT_H

#include <stdbool.h>
#include <stdint.h>

/* One segment: sectors first..last (inclusive, in protocol units) of one
 * granted page, and where its bytes sit in the caller's buffer. */
struct bf_seg_plan {
        uint8_t first_sect;
        uint8_t last_sect;
        uint32_t len;     /* bytes */
        uint64_t buf_off; /* bytes into the I/O buffer */
};

struct bf_req_plan {
        uint64_t sector;   /* protocol units */
        uint64_t nsectors; /* protocol units */
        uint32_t nsegs;
        bool indirect; /* more than BLKIF_MAX_SEGMENTS_PER_REQUEST segments */
};

struct bf_split {
        uint64_t sector;   /* next sector to plan */
        uint64_t left;     /* sectors still to plan */
        uint64_t buf_off;  /* bytes consumed */
        uint32_t unit;     /* bytes per protocol sector: 512, or sector-size */
        uint32_t page_off; /* units into the first page of the next request */
        uint32_t max_segs; /* per request: 11, or the indirect segment count */
};

/* unit must divide the page and be ≥ 512; page_off < units per page; max_segs
 * ≥ 1. -EINVAL otherwise. page_off models a buffer that starts inside a page
 * (as a bio vector may): the first segment then starts at that sector. */
int bf_split_init(struct bf_split *s, uint64_t sector, uint64_t nsectors, uint32_t unit,
                  uint32_t page_off, uint32_t max_segs);
/* Plans the next request into *plan and segs[0..plan->nsegs) (room for
 * max_segs). Returns 1 when a request was planned, 0 when the I/O is done. */
int bf_split_next(struct bf_split *s, struct bf_req_plan *plan, struct bf_seg_plan *segs);
/* Requests the whole I/O takes (for sizing and tests). */
uint64_t bf_split_count(uint64_t nsectors, uint32_t unit, uint32_t page_off, uint32_t max_segs);

#endif
