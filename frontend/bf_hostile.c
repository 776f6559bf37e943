/* Implementation of bf_hostile.h. Each request is valid except for the one
 * field its class breaks (a real page, a sector inside the disk), so a
 * backend that answers OKAY really skipped that check. */
#include "bf_hostile.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bf_internal.h"
#include "xb.h"

/* An operation no blkif version defines. */
#define HOSTILE_BAD_OP 0x7e
/* A ref far beyond any grant table (Xen's default is 32 frames: 16384 refs). */
#define HOSTILE_BAD_GREF 0x7ffffff0u

static const char *const class_names[BF_HOSTILE_NR_CLASSES] = {
        [BF_HOSTILE_BAD_OP] = "bad-op",
        [BF_HOSTILE_ZERO_SEGMENTS] = "zero-segments",
        [BF_HOSTILE_TOO_MANY_SEGMENTS] = "too-many-segments",
        [BF_HOSTILE_FIRST_GT_LAST] = "first-sect>last-sect",
        [BF_HOSTILE_LAST_SECT_GE8] = "last-sect>=8",
        [BF_HOSTILE_OUT_OF_RANGE] = "out-of-range",
        [BF_HOSTILE_WRITE_ON_READONLY] = "write-on-readonly",
        [BF_HOSTILE_BAD_GREF] = "bad-gref",
        [BF_HOSTILE_FOREIGN_GREF] = "foreign-gref",
        [BF_HOSTILE_TOO_MANY_INDIRECT_PAGES] = "too-many-indirect-pages",
        [BF_HOSTILE_REQ_PROD_FAR] = "req-prod-far",
};

const char *bf_hostile_name(enum bf_hostile_class c)
{
        return (unsigned)c < BF_HOSTILE_NR_CLASSES ? class_names[c] : "?";
}

int bf_hostile_parse(const char *s, enum bf_hostile_class *out)
{
        /* Aliases for shells where > and ≥ are awkward. */
        if (!strcmp(s, "first-gt-last"))
                s = class_names[BF_HOSTILE_FIRST_GT_LAST];
        else if (!strcmp(s, "last-sect-ge8") || !strcmp(s, "last-sect≥8"))
                s = class_names[BF_HOSTILE_LAST_SECT_GE8];
        else if (!strcmp(s, "out-of-range-sector"))
                s = class_names[BF_HOSTILE_OUT_OF_RANGE];
        for (int c = 0; c < BF_HOSTILE_NR_CLASSES; c++)
                if (!strcmp(s, class_names[c])) {
                        *out = (enum bf_hostile_class)c;
                        return 0;
                }
        return -EINVAL;
}

const char *bf_hostile_outcome_name(const struct bf_hostile_result *r, char *buf, size_t len)
{
        if (r->outcome == BF_HOSTILE_DISCONNECTED)
                return "disconnected";
        if (r->outcome == BF_HOSTILE_SILENT)
                return "silent";
        switch (r->status) {
        case BLKIF_RSP_OKAY:
                return "okay";
        case BLKIF_RSP_ERROR:
                return "error";
        case BLKIF_RSP_EOPNOTSUPP:
                return "eopnotsupp";
        }
        snprintf(buf, len, "status %d", r->status);
        return buf;
}

struct hostile_pages {
        struct bf_gnt_batch data, foreign;
        uint32_t data_ref[2], foreign_ref; /* data page, indirect page */
};

struct raw_wait {
        bool answered;
        struct bf_rsp rsp;
};

static void on_raw(void *arg, const struct bf_rsp *rsp)
{
        struct raw_wait *w = arg;
        if (rsp->status == INT16_MIN) /* aborted: the backend left */
                return;
        w->answered = true;
        w->rsp = *rsp;
}

/* A third domain: neither us nor the backend, so its grants are not ours to
 * hand the backend. */
static uint32_t other_domain(const struct bf_info *in)
{
        uint32_t dom = in->backend_id + 1u;
        while (dom == in->self || dom == in->backend_id)
                dom++;
        return dom;
}

static int share_pages(struct bf_dev *d, enum bf_hostile_class c, struct hostile_pages *hp)
{
        int rc = bf_gnt_batch_share(d->shr, d->info.backend_id, 2, true, hp->data_ref, &hp->data,
                                    &d->stats.gnt);
        if (rc == 0 && c == BF_HOSTILE_FOREIGN_GREF)
                rc = bf_gnt_batch_share(d->shr, other_domain(&d->info), 1, true, &hp->foreign_ref,
                                        &hp->foreign, &d->stats.gnt);
        if (rc == 0)
                memset(hp->data.addr, 0xa5, BF_PAGE_SIZE);
        return rc;
}

static void one_segment(struct bf_req *r, uint32_t gref, uint8_t first, uint8_t last)
{
        r->nr_segments = 1;
        r->seg[0] = (struct blkif_request_segment){.gref = gref, .first_sect = first,
                                                   .last_sect = last};
}

/* An indirect request naming more descriptor pages than the protocol's 8:
 * 9 × 512 segments, all 8 gref slots pointing at a valid descriptor page. */
static void too_many_indirect(struct bf_dev *d, struct hostile_pages *hp, struct bf_req *r)
{
        struct blkif_request_segment *descs =
                (void *)((uint8_t *)hp->data.addr + BF_PAGE_SIZE);
        for (uint32_t i = 0; i < BF_SEGS_PER_INDIRECT_PAGE; i++)
                descs[i] = (struct blkif_request_segment){.gref = hp->data_ref[0], .last_sect = 7};
        r->operation = BLKIF_OP_INDIRECT;
        r->indirect_op = BLKIF_OP_READ;
        r->nr_segments = (BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST + 1) * BF_SEGS_PER_INDIRECT_PAGE;
        r->nr_indirect = BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST;
        for (uint32_t k = 0; k < r->nr_indirect; k++)
                r->indirect_grefs[k] = hp->data_ref[1];
        (void)d;
}

static void build(struct bf_dev *d, enum bf_hostile_class c, struct hostile_pages *hp,
                  struct bf_req *r, char *detail, size_t len)
{
        const struct bf_info *in = &d->info;
        uint32_t per_page = BF_PAGE_SIZE / in->unit;

        *r = (struct bf_req){.operation = BLKIF_OP_READ, .handle = (uint16_t)d->opts.devid,
                             .id = UINT64_MAX};
        one_segment(r, hp->data_ref[0], 0, (uint8_t)(per_page - 1));
        switch (c) {
        case BF_HOSTILE_BAD_OP:
                r->operation = HOSTILE_BAD_OP;
                snprintf(detail, len, "operation %u", HOSTILE_BAD_OP);
                break;
        case BF_HOSTILE_ZERO_SEGMENTS:
                r->nr_segments = 0;
                snprintf(detail, len, "read with nr_segments 0");
                break;
        case BF_HOSTILE_TOO_MANY_SEGMENTS:
                for (uint32_t i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
                        r->seg[i] = r->seg[0];
                r->nr_segments = BLKIF_MAX_SEGMENTS_PER_REQUEST + 1;
                snprintf(detail, len, "read with nr_segments %u, not indirect",
                         BLKIF_MAX_SEGMENTS_PER_REQUEST + 1);
                break;
        case BF_HOSTILE_FIRST_GT_LAST:
                one_segment(r, hp->data_ref[0], 5, 2);
                snprintf(detail, len, "segment first_sect 5 > last_sect 2");
                break;
        case BF_HOSTILE_LAST_SECT_GE8:
                one_segment(r, hp->data_ref[0], 0, 8);
                snprintf(detail, len, "segment last_sect 8 (a page has 8 sectors)");
                break;
        case BF_HOSTILE_OUT_OF_RANGE:
                /* Straddles the end: half inside, half beyond `sectors`. */
                r->sector_number = in->sectors >= per_page / 2 ? in->sectors - per_page / 2 : 0;
                snprintf(detail, len, "read of sectors %llu..%llu on a disk of %llu",
                         (unsigned long long)r->sector_number,
                         (unsigned long long)(r->sector_number + per_page - 1),
                         (unsigned long long)in->sectors);
                break;
        case BF_HOSTILE_WRITE_ON_READONLY:
                r->operation = BLKIF_OP_WRITE;
                snprintf(detail, len, "write of sector 0%s",
                         in->info & VDISK_READONLY ? "" : " (the disk is not read-only!)");
                break;
        case BF_HOSTILE_BAD_GREF:
                one_segment(r, HOSTILE_BAD_GREF, 0, (uint8_t)(per_page - 1));
                snprintf(detail, len, "segment gref %#x, never granted", HOSTILE_BAD_GREF);
                break;
        case BF_HOSTILE_FOREIGN_GREF:
                one_segment(r, hp->foreign_ref, 0, (uint8_t)(per_page - 1));
                snprintf(detail, len, "segment gref %u, granted to domain %u", hp->foreign_ref,
                         other_domain(in));
                break;
        case BF_HOSTILE_TOO_MANY_INDIRECT_PAGES:
                too_many_indirect(d, hp, r);
                snprintf(detail, len, "indirect read of %u segments (%u descriptor pages > %u)",
                         r->nr_segments, bf_abi_indirect_pages(r->nr_segments),
                         BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST);
                break;
        default:
                break;
        }
}

/* req_prod pushed more than a ring ahead of rsp_prod: Linux blkback calls the
 * frontend bogus ("Halting ring processing") and stops serving the ring. */
static int req_prod_far(struct bf_dev *d, char *detail, size_t len)
{
        struct bf_ring *r = &d->rings[0];
        bf_x86_64_front_ring_t *fr = &r->fr.x86_64;
        RING_IDX bogus = fr->req_prod_pvt + RING_SIZE(fr) + 7;
        xen_wmb();
        fr->sring->req_prod = bogus;
        xen_mb();
        snprintf(detail, len, "req_prod %u with rsp_prod %u (ring of %u)", bogus,
                 fr->sring->rsp_prod, RING_SIZE(fr));
        return xh_evtchn_notify(d->ev, r->port);
}

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wait_outcome(struct bf_dev *d, struct raw_wait *w, int timeout_ms,
                         struct bf_hostile_result *res)
{
        int64_t end = now_ms() + timeout_ms;
        res->outcome = BF_HOSTILE_SILENT;
        while (now_ms() < end) {
                int rc = bf_poll(d, 100);
                if (w->answered) {
                        res->outcome = BF_HOSTILE_ANSWERED;
                        res->status = w->rsp.status;
                        res->operation = w->rsp.operation;
                        break;
                }
                if (rc < 0) {
                        res->outcome = BF_HOSTILE_DISCONNECTED;
                        break;
                }
        }
        res->backend_state = bf_xs_check(d);
}

int bf_hostile_run(struct bf_dev *d, enum bf_hostile_class c, int timeout_ms,
                   struct bf_hostile_result *res)
{
        struct hostile_pages hp = {0};
        struct raw_wait w = {0};
        struct bf_req req;
        int rc;

        memset(res, 0, sizeof(*res));
        if ((unsigned)c >= BF_HOSTILE_NR_CLASSES)
                return -EINVAL;
        if (c == BF_HOSTILE_REQ_PROD_FAR) {
                rc = req_prod_far(d, res->detail, sizeof(res->detail));
        } else if ((rc = share_pages(d, c, &hp)) == 0) {
                build(d, c, &hp, &req, res->detail, sizeof(res->detail));
                rc = bf_dev_raw_submit(d, &req, on_raw, &w);
        }
        if (rc >= 0)
                wait_outcome(d, &w, timeout_ms, res);
        /* Unanswered: the slot must not call back into this stack frame later. */
        if (rc >= 0 && c != BF_HOSTILE_REQ_PROD_FAR && !w.answered && d->rings[0].shadow &&
            d->rings[0].shadow[rc].busy)
                d->rings[0].shadow[rc].raw_done = NULL;
        /* Only now: the backend may have been copying from these pages. */
        bf_gnt_batch_end(d->shr, &hp.data, &d->stats.gnt);
        bf_gnt_batch_end(d->shr, &hp.foreign, &d->stats.gnt);
        return rc < 0 ? rc : 0;
}
