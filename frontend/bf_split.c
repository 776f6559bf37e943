/* Implementation of bf_split.h. A request ends on a page boundary unless the
 * I/O ends first, so only an I/O's first request can start inside a page. */
#include "bf_split.h"

#include <errno.h>

#include "bf_abi.h"

int bf_split_init(struct bf_split *s, uint64_t sector, uint64_t nsectors, uint32_t unit,
                  uint32_t page_off, uint32_t max_segs)
{
        if (unit < 512 || unit > BF_PAGE_SIZE || BF_PAGE_SIZE % unit || max_segs == 0 ||
            page_off >= BF_PAGE_SIZE / unit)
                return -EINVAL;
        *s = (struct bf_split){.sector = sector,
                               .left = nsectors,
                               .unit = unit,
                               .page_off = page_off,
                               .max_segs = max_segs};
        return 0;
}

int bf_split_next(struct bf_split *s, struct bf_req_plan *plan, struct bf_seg_plan *segs)
{
        const uint32_t per_page = BF_PAGE_SIZE / s->unit;

        if (s->left == 0)
                return 0;
        *plan = (struct bf_req_plan){.sector = s->sector};
        while (s->left && plan->nsegs < s->max_segs) {
                uint32_t first = s->page_off;
                uint64_t n = per_page - first;
                if (n > s->left)
                        n = s->left;
                segs[plan->nsegs++] = (struct bf_seg_plan){
                        .first_sect = (uint8_t)first,
                        .last_sect = (uint8_t)(first + n - 1),
                        .len = (uint32_t)(n * s->unit),
                        .buf_off = s->buf_off,
                };
                s->buf_off += n * s->unit;
                s->sector += n;
                s->left -= n;
                plan->nsectors += n;
                s->page_off = 0;
        }
        plan->indirect = plan->nsegs > BLKIF_MAX_SEGMENTS_PER_REQUEST;
        return 1;
}

uint64_t bf_split_count(uint64_t nsectors, uint32_t unit, uint32_t page_off, uint32_t max_segs)
{
        if (unit < 512 || unit > BF_PAGE_SIZE || BF_PAGE_SIZE % unit || max_segs == 0)
                return 0;
        uint64_t per_page = BF_PAGE_SIZE / unit;
        uint64_t pages = (page_off + nsectors + per_page - 1) / per_page;
        return (pages + max_segs - 1) / max_segs;
}
