/* From an I/O to ring requests and back (Linux blkfront blkif_queue_request,
 * blkif_queue_rw_req, blkif_queue_discard_req and blkif_completion): grants
 * for each page, data copied into them for writes and out of them for reads,
 * indirect pages when a request needs more than 11 segments. */
#include "bf_internal.h"

#include <errno.h>
#include <string.h>

static void *shadow_page(const struct bf_dev *d, const struct bf_shadow *s, uint32_t i)
{
        if (d->info.persistent)
                return s->gnts[i]->page;
        return (uint8_t *)s->batch.addr + (size_t)i * BF_PAGE_SIZE;
}

/* Pages for one request. Persistent grants come off the ring's LIFO pool;
 * otherwise one share call grants them all, writable only when the backend
 * must write (reads), as a guest would grant a write's pages read-only. */
static int grant_pages(struct bf_ring *r, struct bf_shadow *s, uint32_t n, bool writable)
{
        struct bf_dev *d = r->dev;

        s->npages = 0;
        if (!d->info.persistent)
                return bf_gnt_batch_share(d->shr, d->info.backend_id, n, writable, s->refs,
                                          &s->batch, &d->stats.gnt);
        for (uint32_t i = 0; i < n; i++) {
                int rc = bf_gnt_pool_get(&r->pool, &s->gnts[i]);
                if (rc < 0) {
                        while (i-- > 0)
                                bf_gnt_pool_put(&r->pool, s->gnts[i]);
                        return rc;
                }
                s->refs[i] = s->gnts[i]->ref;
        }
        return 0;
}

static void release_pages(struct bf_ring *r, struct bf_shadow *s)
{
        struct bf_dev *d = r->dev;

        if (!d->info.persistent) {
                bf_gnt_batch_end(d->shr, &s->batch, &d->stats.gnt);
        } else {
                /* In request order onto the head: the last page used is the
                 * next one handed out (Linux list_add onto rinfo->grants). */
                for (uint32_t i = 0; i < s->npages; i++)
                        bf_gnt_pool_put(&r->pool, s->gnts[i]);
        }
        s->npages = 0;
}

static uint8_t flush_operation(const struct bf_dev *d)
{
        /* Linux xlvbd_flush: prefer FLUSH_DISKCACHE, fall back to a barrier. */
        return d->info.flush_cache ? BLKIF_OP_FLUSH_DISKCACHE : BLKIF_OP_WRITE_BARRIER;
}

static uint8_t data_operation(enum bf_op op)
{
        switch (op) {
        case BF_OP_READ:
                return BLKIF_OP_READ;
        case BF_OP_WRITE_BARRIER:
                return BLKIF_OP_WRITE_BARRIER;
        default:
                return BLKIF_OP_WRITE;
        }
}

/* The descriptors of an indirect request live in its last pages. */
static void fill_indirect(const struct bf_dev *d, struct bf_shadow *s, struct bf_req *req)
{
        uint32_t nind = bf_abi_indirect_pages(s->nsegs);
        for (uint32_t i = 0; i < s->nsegs; i++) {
                struct blkif_request_segment *page =
                        shadow_page(d, s, s->nsegs + i / BF_SEGS_PER_INDIRECT_PAGE);
                page[i % BF_SEGS_PER_INDIRECT_PAGE] = (struct blkif_request_segment){
                        .gref = s->refs[i],
                        .first_sect = s->segs[i].first_sect,
                        .last_sect = s->segs[i].last_sect,
                };
        }
        for (uint32_t k = 0; k < nind; k++)
                req->indirect_grefs[k] = s->refs[s->nsegs + k];
        req->nr_indirect = nind;
}

static void copy_out(const struct bf_dev *d, const struct bf_shadow *s, const uint8_t *buf)
{
        for (uint32_t i = 0; i < s->nsegs; i++) {
                uint8_t *p = shadow_page(d, s, i);
                memcpy(p + (size_t)s->segs[i].first_sect * d->info.unit, buf + s->segs[i].buf_off,
                       s->segs[i].len);
        }
}

static void copy_in(const struct bf_dev *d, const struct bf_shadow *s, uint8_t *buf)
{
        for (uint32_t i = 0; i < s->nsegs; i++) {
                const uint8_t *p = shadow_page(d, s, i);
                memcpy(buf + s->segs[i].buf_off, p + (size_t)s->segs[i].first_sect * d->info.unit,
                       s->segs[i].len);
        }
}

/* One read/write request of io; 1 issued, 0 no room yet, -errno. */
static int issue_rw(struct bf_ring *r, struct bf_io *io, uint32_t id)
{
        struct bf_dev *d = r->dev;
        struct bf_shadow *s = &r->shadow[id];
        struct bf_split saved = io->split;
        struct bf_req_plan plan;
        struct bf_req req = {.handle = (uint16_t)d->opts.devid, .id = id};

        bf_split_next(&io->split, &plan, s->segs);
        s->nsegs = plan.nsegs;
        uint32_t nind = plan.indirect ? bf_abi_indirect_pages(plan.nsegs) : 0;
        int rc = grant_pages(r, s, plan.nsegs + nind, io->op == BF_OP_READ);
        if (rc < 0) {
                io->split = saved;
                return rc == -ENOSPC ? 0 : rc;
        }
        s->npages = plan.nsegs + nind;
        if (io->op != BF_OP_READ)
                copy_out(d, s, io->buf);
        req.sector_number = plan.sector;
        req.nr_segments = (uint16_t)plan.nsegs;
        s->operation = data_operation(io->op);
        if (plan.indirect) {
                req.operation = BLKIF_OP_INDIRECT;
                req.indirect_op = s->operation;
                fill_indirect(d, s, &req);
                d->stats.indirect_requests++;
        } else {
                req.operation = s->operation;
                for (uint32_t i = 0; i < plan.nsegs; i++)
                        req.seg[i] = (struct blkif_request_segment){
                                .gref = s->refs[i],
                                .first_sect = s->segs[i].first_sect,
                                .last_sect = s->segs[i].last_sect,
                        };
        }
        d->stats.segments += plan.nsegs;
        bf_ring_put_request(r, &req);
        io->issued_all = io->split.left == 0;
        return 1;
}

/* Flush, empty barrier or discard: one request without segments. */
static void issue_control(struct bf_ring *r, struct bf_io *io, uint32_t id)
{
        struct bf_dev *d = r->dev;
        struct bf_shadow *s = &r->shadow[id];
        struct bf_req req = {.handle = (uint16_t)d->opts.devid, .id = id};

        s->nsegs = s->npages = 0;
        if (io->op == BF_OP_FLUSH) {
                req.operation = flush_operation(d);
        } else if (io->op == BF_OP_WRITE_BARRIER) {
                req.operation = BLKIF_OP_WRITE_BARRIER;
        } else {
                req.operation = BLKIF_OP_DISCARD;
                req.discard_flag = io->op == BF_OP_SECURE_DISCARD ? BLKIF_DISCARD_SECURE : 0;
                req.sector_number = io->split.sector;
                req.nr_sectors = io->split.left;
        }
        s->operation = req.operation;
        bf_ring_put_request(r, &req);
        io->issued_all = true;
}

int bf_req_issue(struct bf_ring *r, struct bf_io *io)
{
        bool data = (io->op == BF_OP_READ || io->op == BF_OP_WRITE ||
                     io->op == BF_OP_WRITE_BARRIER) &&
                    io->split.left > 0;

        while (!io->issued_all) {
                if (bf_ring_full(r))
                        return 0;
                uint32_t id = bf_ring_get_id(r);
                r->shadow[id].io = io;
                int rc = 1;
                if (data)
                        rc = issue_rw(r, io, id);
                else
                        issue_control(r, io, id);
                if (rc <= 0) {
                        bf_ring_put_id(r, id);
                        return rc;
                }
                r->dev->stats.requests++;
                io->outstanding++;
        }
        return 1;
}

static int status_errno(int16_t status)
{
        switch (status) {
        case BLKIF_RSP_OKAY:
                return 0;
        case BLKIF_RSP_EOPNOTSUPP:
                return -EOPNOTSUPP;
        default:
                return -EIO;
        }
}

/* Linux blkif_interrupt: an EOPNOTSUPP answer to a flush, barrier or discard
 * turns the feature off for the rest of the connection. */
static void disable_feature(struct bf_dev *d, uint8_t operation)
{
        if (operation == BLKIF_OP_FLUSH_DISKCACHE)
                d->info.flush_cache = false;
        else if (operation == BLKIF_OP_WRITE_BARRIER)
                d->info.barrier = false;
        else if (operation == BLKIF_OP_DISCARD)
                d->info.discard = d->info.discard_secure = false;
}

void bf_req_complete(struct bf_ring *r, uint32_t id, const struct bf_rsp *rsp)
{
        struct bf_dev *d = r->dev;
        struct bf_shadow *s = &r->shadow[id];
        struct bf_io *io = s->io;

        if (!io) {
                bf_raw_fn fn = s->raw_done;
                void *arg = s->raw_arg;
                release_pages(r, s);
                bf_ring_put_id(r, id);
                if (fn)
                        fn(arg, rsp);
                return;
        }
        int status = status_errno(rsp->status);
        if (status)
                d->stats.errors++;
        if (status == -EOPNOTSUPP && s->nsegs == 0)
                disable_feature(d, s->operation);
        if (status == 0 && io->op == BF_OP_READ)
                copy_in(d, s, io->buf);
        release_pages(r, s);
        bf_ring_put_id(r, id);
        bf_io_request_done(io, status);
}

void bf_req_abort(struct bf_ring *r, uint32_t id, int status)
{
        struct bf_shadow *s = &r->shadow[id];
        struct bf_io *io = s->io;
        bf_raw_fn fn = s->raw_done;
        void *arg = s->raw_arg;

        release_pages(r, s);
        bf_ring_put_id(r, id);
        if (io) {
                bf_io_request_done(io, status);
        } else if (fn) {
                struct bf_rsp none = {.id = id, .status = INT16_MIN};
                fn(arg, &none);
        }
}
