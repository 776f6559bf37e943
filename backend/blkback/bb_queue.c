/* The blkif data path of one queue, run by its worker (Linux xen-blkback
 * blkback.c __do_block_io_op / dispatch_rw_block_io / __end_block_io_op).
 * A ring drain is done in phases so every boundary is crossed once per
 * drain: take and validate requests, one grant copy for indirect pages, one
 * for write data, one engine submit; completions are answered in batches
 * with one grant copy for read data and one notification. */
#include "blkback/bb_queue.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blkback/bb_gcopy.h"
#include "be_ring_occ.h"
#include "blkback/bb_pgrant.h"
#include "log.h"
#include "worker.h"

/* Grant copies one drain may stage: enough for a full indirect request
 * plus its indirect pages, many times over. */
#define BB_COPY_BATCH 2048u
/* Bounce pages a queue may have in flight (16 MiB): the bound on what a
 * frontend can make us allocate; requests wait for completions above it. */
#define BB_MAX_PAGES_OUT 4096u
/* Guest-caused errors logged per queue before only every 1000th is. */
#define BB_LOG_BURST 10u

enum slot_stage_end { BB_STAGES_MAX = 3 };

struct bb_slot {
        struct bb_req req;
        struct bb_io io;
        int16_t status;
        bool failed;
        bool answered;
        uint8_t stage, nr_stages;
        enum bb_io_kind stages[BB_STAGES_MAX];
        int32_t next_free;
        void *page[BB_MAX_INDIRECT_SEGS];           /* bounce page, or NULL */
        struct bb_pgrant *pg[BB_MAX_INDIRECT_SEGS]; /* persistent grant, or NULL */
        void *ind_page[BB_MAX_INDIRECT_PAGES];
        struct bb_pgrant *ind_pg[BB_MAX_INDIRECT_PAGES];
        struct iovec iov[BB_MAX_INDIRECT_SEGS];
};

struct bb_queue {
        char name[64];
        struct be_dev *dev;
        struct worker *w;
        struct bb_queue_config cfg;
        struct bb_vbd_limits lim;
        int fd;
        bool blkdev;
        struct xh_evtchn *xce;
        struct xh_gnttab *xgt;
        uint32_t port;
        bool port_bound;
        void *sring;
        struct bb_ring ring;
        struct bb_engine *eng;
        struct bb_slot *slots;
        unsigned nr_slots;
        int32_t free_head;
        unsigned busy;    /* slots taken (answered or not) */
        unsigned io_busy; /* slots with an engine operation outstanding */
        /* A barrier in progress: nothing after it is taken until it is
         * answered, and it starts once the I/O before it finished. */
        struct bb_slot *barrier;
        bool barrier_started;
        void **free_pages;
        unsigned nr_free_pages, pages_out;
        struct bb_pgrant_cache pgc;
        uint64_t last_purge_ms;
        struct bb_gcopy gc;
        struct bb_slot **batch;
        unsigned nr_batch;
        struct bb_io **done;
        bool dead, stopping, unanswered;
        unsigned logged;
        struct bb_queue_stats st;
};

static uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint32_t slot_idx(const struct bb_queue *q, const struct bb_slot *s)
{
        return (uint32_t)(s - q->slots);
}

/* ---- pages and persistent grants --------------------------------------- */

static void *page_get(struct bb_queue *q)
{
        void *p;
        if (q->nr_free_pages)
                p = q->free_pages[--q->nr_free_pages];
        else if (!(p = aligned_alloc(BB_PAGE_SIZE, BB_PAGE_SIZE)))
                return NULL;
        q->pages_out++;
        return p;
}

static void page_put(struct bb_queue *q, void *p)
{
        q->pages_out--;
        /* Linux keeps max_buffer_pages for reuse and frees the rest. */
        if (q->nr_free_pages < q->cfg.max_buffer_pages)
                q->free_pages[q->nr_free_pages++] = p;
        else
                free(p);
}

static void pgrant_unmap_free(struct bb_queue *q, struct bb_pgrant **v, uint32_t n)
{
        for (uint32_t i = 0; i < n; i++) {
                xh_gnttab_unmap(q->xgt, v[i]->addr, 1);
                q->st.unmaps++;
                free(v[i]);
        }
}

static void pgrant_purge(struct bb_queue *q)
{
        struct bb_pgrant *v[256];
        uint64_t now = now_ms();
        uint32_t n;
        if (!q->cfg.persistent || now - q->last_purge_ms < BB_PGRANT_PURGE_INTERVAL_MS)
                return;
        q->last_purge_ms = now;
        while ((n = bb_pgrant_purge(&q->pgc, now, v, 256)) > 0) {
                pgrant_unmap_free(q, v, n);
                if (n < 256)
                        break;
        }
}

/* A persistent grant for gref, mapping it on first use (Linux
 * xen_blkbk_map: read-write, as the protocol requires of persistent
 * grants); NULL when the cache is full or the map fails: the caller then
 * copies. */
static struct bb_pgrant *pgrant_get(struct bb_queue *q, uint32_t gref)
{
        struct bb_pgrant *pg = bb_pgrant_get(&q->pgc, gref);
        void *addr;
        if (pg) {
                q->st.pgrant_hits++;
                return pg;
        }
        q->st.pgrant_misses++;
        if (!bb_pgrant_may_add(&q->pgc))
                return NULL;
        q->st.maps++;
        if (xh_gnttab_map(q->xgt, q->cfg.fedom, 1, &gref, true, &addr) < 0)
                return NULL;
        if (bb_pgrant_add(&q->pgc, gref, addr, &pg) < 0) {
                xh_gnttab_unmap(q->xgt, addr, 1);
                q->st.unmaps++;
                return NULL;
        }
        return pg;
}

/* ---- slots -------------------------------------------------------------- */

static struct bb_slot *slot_alloc(struct bb_queue *q)
{
        struct bb_slot *s;
        if (q->free_head < 0)
                return NULL;
        s = &q->slots[q->free_head];
        q->free_head = s->next_free;
        q->busy++;
        s->failed = false;
        s->answered = false;
        s->status = BLKIF_RSP_OKAY;
        s->stage = s->nr_stages = 0;
        s->req.nr_segs = 0;
        s->req.nr_indirect = 0;
        return s;
}

static void slot_release_indirect(struct bb_queue *q, struct bb_slot *s)
{
        uint64_t now = now_ms();
        for (uint32_t i = 0; i < s->req.nr_indirect; i++) {
                if (s->ind_pg[i])
                        bb_pgrant_put(&q->pgc, s->ind_pg[i], now);
                else if (s->ind_page[i])
                        page_put(q, s->ind_page[i]);
                s->ind_pg[i] = NULL;
                s->ind_page[i] = NULL;
        }
}

static void slot_release_segs(struct bb_queue *q, struct bb_slot *s)
{
        uint64_t now = 0;
        for (uint32_t i = 0; i < s->req.nr_segs; i++) {
                if (s->pg[i]) {
                        if (!now)
                                now = now_ms();
                        bb_pgrant_put(&q->pgc, s->pg[i], now);
                } else if (s->page[i]) {
                        page_put(q, s->page[i]);
                }
                s->pg[i] = NULL;
                s->page[i] = NULL;
        }
}

/* Answers and frees the slot: the response goes in now, published at the
 * end of the pass (bb_ring_push). */
static void slot_answer(struct bb_queue *q, struct bb_slot *s, int16_t status)
{
        slot_release_indirect(q, s);
        slot_release_segs(q, s);
        s->answered = true;
        if (s == q->barrier) {
                q->barrier = NULL;
                q->barrier_started = false;
        }
        bb_ring_put_rsp(&q->ring, s->req.id, s->req.rsp_op, status);
        q->st.requests++;
        if (status != BLKIF_RSP_OKAY)
                q->st.errors++;
        q->unanswered = true;
        s->next_free = q->free_head;
        q->free_head = (int32_t)slot_idx(q, s);
        q->busy--;
}

static void log_guest(struct bb_queue *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void log_guest(struct bb_queue *q, const char *fmt, ...)
{
        char msg[256];
        va_list ap;
        /* A guest can trigger these at will: rate-limit. */
        if (q->logged++ >= BB_LOG_BURST && q->logged % 1000 != 0)
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        pv_warn(q->name, "%s", msg);
}

static void copy_failed(void *ctx, uint32_t owner, int16_t status)
{
        struct bb_queue *q = ctx;
        struct bb_slot *s = &q->slots[owner];
        if (!s->failed)
                log_guest(q, "request %llu: grant copy failed (GNTST %d)",
                          (unsigned long long)s->req.id, status);
        s->failed = true;
}

static void issue_copies(struct bb_queue *q)
{
        if (!q->gc.n)
                return;
        bb_gcopy_issue(&q->gc, q->xgt, copy_failed, q);
        q->st.copy_calls = q->gc.calls;
        q->st.copy_segs = q->gc.copied;
}

/* ---- I/O ---------------------------------------------------------------- */

static void plan_stages(struct bb_slot *s)
{
        const struct bb_req *r = &s->req;
        uint8_t n = 0;
        switch (r->op) {
        case BB_OP_READ:
                s->stages[n++] = BB_IO_READ;
                break;
        case BB_OP_WRITE:
                s->stages[n++] = BB_IO_WRITE;
                break;
        case BB_OP_FLUSH:
                /* QEMU's presync: a flush carrying data flushes, then writes. */
                s->stages[n++] = BB_IO_FLUSH;
                if (r->nr_segs)
                        s->stages[n++] = BB_IO_WRITE;
                break;
        case BB_OP_BARRIER:
                /* Drained already; flush, write, flush: everything before is
                 * stable before the write, and the write before the answer. */
                s->stages[n++] = BB_IO_FLUSH;
                if (r->nr_segs) {
                        s->stages[n++] = BB_IO_WRITE;
                        s->stages[n++] = BB_IO_FLUSH;
                }
                break;
        case BB_OP_DISCARD:
                s->stages[n++] = BB_IO_DISCARD;
                break;
        }
        s->nr_stages = n;
        s->stage = 0;
}

static void prep_io(struct bb_queue *q, struct bb_slot *s)
{
        struct bb_io *io = &s->io;
        enum bb_io_kind k = s->stages[s->stage];
        io->kind = k;
        io->fd = q->fd;
        io->blkdev = q->blkdev;
        io->secure = s->req.secure;
        io->off = s->req.sector << BB_SECTOR_SHIFT;
        io->len = s->req.nr_sectors << BB_SECTOR_SHIFT;
        io->cookie = s;
        io->res = 0;
        io->iov = NULL;
        io->iovcnt = 0;
        if (k == BB_IO_READ || k == BB_IO_WRITE) {
                for (uint32_t i = 0; i < s->req.nr_segs; i++) {
                        const struct bb_seg *g = &s->req.seg[i];
                        s->iov[i].iov_base =
                            s->pg[i] ? (char *)s->pg[i]->addr + g->offset : s->page[i];
                        s->iov[i].iov_len = g->len;
                }
                io->iov = s->iov;
                io->iovcnt = s->req.nr_segs;
        } else if (k == BB_IO_FLUSH) {
                io->off = io->len = 0;
        }
}

static void queue_io(struct bb_queue *q, struct bb_slot *s)
{
        int rc;
        prep_io(q, s);
        rc = bb_engine_queue(q->eng, &s->io);
        if (rc == -EAGAIN) {
                /* The engine holds one operation per slot, so this only means
                 * staged operations must go first. */
                bb_engine_submit(q->eng);
                rc = bb_engine_queue(q->eng, &s->io);
        }
        if (rc < 0) {
                pv_err(q->name, "request %llu: queueing I/O failed: %s",
                       (unsigned long long)s->req.id, strerror(-rc));
                slot_answer(q, s, BLKIF_RSP_ERROR);
                return;
        }
        q->io_busy++;
}

static void start_barrier_if_drained(struct bb_queue *q)
{
        if (q->barrier && !q->barrier_started && q->io_busy == 0) {
                q->barrier_started = true;
                queue_io(q, q->barrier);
                bb_engine_submit(q->eng);
        }
}

/* ---- the ring drain ------------------------------------------------------ */

static void notify_frontend(struct bb_queue *q)
{
        bool notify = false;
        if (!q->unanswered)
                return;
        q->unanswered = false;
        bb_ring_push(&q->ring, &notify);
        if (notify) {
                xh_evtchn_notify(q->xce, q->port);
                q->st.notifies++;
        }
}

static void fatal(struct bb_queue *q, const char *why)
{
        char msg[192];
        q->dead = true;
        snprintf(msg, sizeof(msg), "%s: %s", q->name, why);
        be_dev_report_guest_error(q->dev, msg);
}

static void answer_verdict(struct bb_queue *q, struct bb_slot *s, enum bb_verdict v,
                           enum bb_reason why)
{
        log_guest(q, "request %llu op %u: %s", (unsigned long long)s->req.id, s->req.rsp_op,
                  bb_reason_str(why));
        slot_answer(q, s, bb_verdict_status(v));
}

/* Indirect pages: read through a persistent grant when we have one
 * (Linux maps them persistently too), else copied into a bounce page. */
static void stage_indirect(struct bb_queue *q, struct bb_slot *s)
{
        for (uint32_t i = 0; i < s->req.nr_indirect; i++) {
                uint32_t gref = s->req.indirect_grefs[i];
                s->ind_pg[i] = q->cfg.persistent ? pgrant_get(q, gref) : NULL;
                s->ind_page[i] = NULL;
                if (s->ind_pg[i])
                        continue;
                s->ind_page[i] = page_get(q);
                if (!s->ind_page[i]) {
                        s->failed = true;
                        continue;
                }
                bb_gcopy_from_guest(&q->gc, gref, 0, BB_PAGE_SIZE, s->ind_page[i], slot_idx(q, s));
        }
}

static void parse_indirect(struct bb_queue *q, struct bb_slot *s, const struct bb_vbd_limits *lim)
{
        const void *pages[BB_MAX_INDIRECT_PAGES];
        enum bb_reason why;
        enum bb_verdict v;
        for (uint32_t i = 0; i < s->req.nr_indirect; i++)
                pages[i] = s->ind_pg[i] ? s->ind_pg[i]->addr : s->ind_page[i];
        v = bb_req_parse_indirect(pages, lim, &s->req, &why);
        slot_release_indirect(q, s);
        s->req.nr_indirect = 0;
        if (v != BB_REQ_OK) {
                s->failed = true;
                answer_verdict(q, s, v, why);
        }
}

/* Data segments: persistent grant, or a bounce page filled by copy for
 * anything that writes. */
static void stage_segments(struct bb_queue *q, struct bb_slot *s)
{
        bool writes = bb_op_writes(s->req.op);
        for (uint32_t i = 0; i < s->req.nr_segs; i++) {
                const struct bb_seg *g = &s->req.seg[i];
                s->pg[i] = q->cfg.persistent ? pgrant_get(q, g->gref) : NULL;
                s->page[i] = NULL;
                if (s->pg[i])
                        continue;
                s->page[i] = page_get(q);
                if (!s->page[i]) {
                        s->failed = true;
                        continue;
                }
                if (writes)
                        bb_gcopy_from_guest(&q->gc, g->gref, g->offset, g->len, s->page[i],
                                            slot_idx(q, s));
        }
        q->st.segments += s->req.nr_segs;
}

static bool room_for_one(const struct bb_queue *q)
{
        unsigned worst = BB_MAX_INDIRECT_SEGS + BB_MAX_INDIRECT_PAGES;
        return q->free_head >= 0 && bb_gcopy_room(&q->gc) >= worst &&
               q->pages_out + worst <= BB_MAX_PAGES_OUT;
}

/* Takes what the ring offers (up to what we have room for) into q->batch.
 * Returns false on a fatal ring violation. */
static bool take_requests(struct bb_queue *q, const struct bb_vbd_limits *lim)
{
        struct bb_raw_req raw;
        RING_IDX rp;
        enum bb_reason why;

        if (bb_ring_pending(&q->ring, &rp) < 0) {
                fatal(q, "frontend provided bogus ring requests (req_prod beyond the ring)");
                return false;
        }
        while (q->ring.r.common.req_cons != rp && bb_ring_can_consume(&q->ring) && !q->barrier &&
               room_for_one(q)) {
                struct bb_slot *s = slot_alloc(q);
                bb_ring_take(&q->ring, &raw);
                enum bb_verdict v = bb_req_parse(&raw, lim, &s->req, &why);
                if (v == BB_REQ_ERROR || v == BB_REQ_EOPNOTSUPP) {
                        answer_verdict(q, s, v, why);
                        continue;
                }
                if (v == BB_REQ_INDIRECT)
                        stage_indirect(q, s);
                q->batch[q->nr_batch++] = s;
                /* Nothing after a barrier may start before it completes. */
                if (s->req.op == BB_OP_BARRIER)
                        break;
        }
        return true;
}

static void drain(struct bb_queue *q)
{
        const struct bb_vbd_limits *lim = &q->lim;

        if (q->dead || q->stopping)
                return;
        pgrant_purge(q);
        for (;;) {
                q->nr_batch = 0;
                if (!take_requests(q, lim))
                        break;
                /* Phase 2: indirect descriptors (one copy call). */
                issue_copies(q);
                for (unsigned i = 0; i < q->nr_batch; i++) {
                        struct bb_slot *s = q->batch[i];
                        if (!s->req.indirect || s->answered)
                                continue;
                        if (s->failed) {
                                slot_answer(q, s, BLKIF_RSP_ERROR);
                                continue;
                        }
                        parse_indirect(q, s, lim);
                }
                /* Phase 3: write data into bounce pages (one copy call). */
                for (unsigned i = 0; i < q->nr_batch; i++)
                        if (!q->batch[i]->answered && !q->batch[i]->failed)
                                stage_segments(q, q->batch[i]);
                issue_copies(q);
                /* Phase 4: the engine, one submit. */
                for (unsigned i = 0; i < q->nr_batch; i++) {
                        struct bb_slot *s = q->batch[i];
                        if (s->answered)
                                continue;
                        if (s->failed) {
                                slot_answer(q, s, BLKIF_RSP_ERROR);
                                continue;
                        }
                        plan_stages(s);
                        if (s->req.op == BB_OP_BARRIER) {
                                /* Linux xen_blk_drain_io: the barrier waits
                                 * for everything before it. */
                                q->barrier = s;
                                q->barrier_started = false;
                                continue;
                        }
                        queue_io(q, s);
                }
                bb_engine_submit(q->eng);
                start_barrier_if_drained(q);
                q->st.io_submits = q->eng->submit_calls;
                q->st.io_ops = q->eng->ops_submitted;
                notify_frontend(q);
                if (q->dead || q->barrier || !room_for_one(q))
                        break;
                if (!bb_ring_final_check(&q->ring))
                        break;
        }
}

/* ---- completions --------------------------------------------------------- */

static void complete(struct bb_queue *q)
{
        unsigned n, nfin = 0;
        struct bb_slot *s;

        while ((n = bb_engine_reap(q->eng, q->done, q->nr_slots)) > 0) {
                for (unsigned i = 0; i < n; i++) {
                        s = q->done[i]->cookie;
                        q->io_busy--;
                        if (s->io.res < 0) {
                                log_guest(q, "request %llu: I/O failed: %s",
                                          (unsigned long long)s->req.id, strerror(-s->io.res));
                                s->status = s->io.res == -EOPNOTSUPP ? BLKIF_RSP_EOPNOTSUPP
                                                                     : BLKIF_RSP_ERROR;
                        } else if (++s->stage < s->nr_stages) {
                                queue_io(q, s);
                                continue;
                        }
                        /* Read data goes back by copy, batched over the pass. */
                        if (s->status == BLKIF_RSP_OKAY && s->req.op == BB_OP_READ) {
                                if (bb_gcopy_room(&q->gc) < s->req.nr_segs)
                                        issue_copies(q);
                                for (uint32_t k = 0; k < s->req.nr_segs; k++)
                                        if (s->page[k])
                                                bb_gcopy_to_guest(&q->gc, s->req.seg[k].gref,
                                                                  s->req.seg[k].offset,
                                                                  s->req.seg[k].len, s->page[k],
                                                                  slot_idx(q, s));
                        }
                        q->batch[nfin++] = s;
                        if (nfin == q->nr_slots)
                                break;
                }
                if (nfin == q->nr_slots)
                        break;
        }
        issue_copies(q);
        for (unsigned i = 0; i < nfin; i++) {
                s = q->batch[i];
                slot_answer(q, s, s->failed ? BLKIF_RSP_ERROR : s->status);
        }
        bb_engine_submit(q->eng);
        start_barrier_if_drained(q);
        notify_frontend(q);
}

/* ---- worker callbacks --------------------------------------------------- */

static void on_evtchn(struct worker *w, int fd, uint32_t events, void *arg)
{
        struct bb_queue *q = arg;
        uint32_t port;
        (void)w;
        (void)fd;
        (void)events;
        /* The handle has only this queue's port, masked once delivered until
         * we unmask it: one read finds it, and a second would only say
         * EAGAIN. Anything left wakes the level-triggered epoll again. */
        if (xh_evtchn_pending(q->xce, &port) == 0)
                xh_evtchn_unmask(q->xce, port);
        drain(q);
}

static void on_io(struct worker *w, int fd, uint32_t events, void *arg)
{
        struct bb_queue *q = arg;
        (void)w;
        (void)fd;
        (void)events;
        complete(q);
        /* Completions freed slots and pages: the ring may hold more. */
        drain(q);
}

static void queue_free(struct bb_queue *q)
{
        struct bb_pgrant *v[256];
        uint32_t n;
        if (q->cfg.persistent && q->pgc.buckets) {
                while ((n = bb_pgrant_take_all(&q->pgc, v, 256)) > 0)
                        pgrant_unmap_free(q, v, n);
                bb_pgrant_cache_fini(&q->pgc);
        }
        bb_engine_destroy(q->eng);
        if (q->port_bound)
                xh_evtchn_unbind(q->xce, q->port);
        if (q->sring)
                xh_gnttab_unmap(q->xgt, q->sring, q->cfg.nr_ring_pages);
        if (q->xce)
                xh_evtchn_close(q->xce);
        if (q->xgt)
                xh_gnttab_close(q->xgt);
        for (unsigned i = 0; i < q->nr_free_pages; i++)
                free(q->free_pages[i]);
        free(q->free_pages);
        bb_gcopy_fini(&q->gc);
        free(q->slots);
        free(q->batch);
        free(q->done);
        free(q);
}

struct start_arg {
        const struct bb_queue_config *cfg;
        struct bb_queue *q;
};

static int start_on_worker(struct worker *w, void *arg)
{
        struct start_arg *a = arg;
        const struct bb_queue_config *cfg = a->cfg;
        struct bb_queue *q = a->q;
        int rc;

        q->w = w;
        if ((rc = xh_evtchn_open(q->dev->hv, &q->xce)) < 0 ||
            (rc = xh_gnttab_open(q->dev->hv, &q->xgt)) < 0)
                return rc;
        rc = xh_gnttab_map(q->xgt, cfg->fedom, cfg->nr_ring_pages, cfg->ring_refs, true, &q->sring);
        if (rc < 0) {
                q->sring = NULL;
                pv_err(q->name, "mapping %u ring page(s) failed: %s", cfg->nr_ring_pages,
                       strerror(-rc));
                return rc;
        }
        if (bb_ring_attach(&q->ring, cfg->abi, q->sring, cfg->nr_ring_pages) < 0) {
                pv_err(q->name, "ring claims more requests than it holds");
                return -EPROTO;
        }
        q->nr_slots = bb_ring_entries(cfg->abi, cfg->nr_ring_pages);
        q->slots = calloc(q->nr_slots, sizeof(*q->slots));
        q->batch = calloc(q->nr_slots, sizeof(*q->batch));
        q->done = calloc(q->nr_slots, sizeof(*q->done));
        q->free_pages =
            calloc(cfg->max_buffer_pages ? cfg->max_buffer_pages : 1, sizeof(*q->free_pages));
        if (!q->slots || !q->batch || !q->done || !q->free_pages)
                return -ENOMEM;
        for (unsigned i = 0; i < q->nr_slots; i++)
                q->slots[i].next_free = i + 1 < q->nr_slots ? (int32_t)i + 1 : -1;
        q->free_head = 0;
        if ((rc = bb_gcopy_init(&q->gc, BB_COPY_BATCH, cfg->fedom)) < 0)
                return rc;
        if (cfg->persistent &&
            (rc = bb_pgrant_cache_init(&q->pgc, cfg->max_pgrants, cfg->pgrant_idle_ms)) < 0)
                return rc;
        /* Each slot has at most one operation in flight at a time. */
        if ((rc = bb_engine_create(cfg->engine, q->nr_slots, &q->eng)) < 0) {
                pv_err(q->name, "no I/O engine: %s", strerror(-rc));
                return rc;
        }
        snprintf(q->st.engine, sizeof(q->st.engine), "%s", q->eng->ops->name);
        rc = xh_evtchn_bind_interdomain(q->xce, cfg->fedom, cfg->evtchn, &q->port);
        if (rc < 0) {
                pv_err(q->name, "binding event channel %u failed: %s", cfg->evtchn, strerror(-rc));
                return rc;
        }
        q->port_bound = true;
        if ((rc = worker_add_fd(w, xh_evtchn_fd(q->xce), EPOLLIN, on_evtchn, q)) < 0)
                return rc;
        if ((rc = worker_add_fd(w, q->eng->fd, EPOLLIN, on_io, q)) < 0) {
                worker_del_fd(w, xh_evtchn_fd(q->xce));
                return rc;
        }
        /* Requests published before we attached are served now. */
        drain(q);
        return 0;
}

int bb_queue_start(const struct bb_queue_config *cfg, struct worker *w, struct bb_queue **out)
{
        struct bb_queue *q = calloc(1, sizeof(*q));
        struct start_arg a = {.cfg = cfg, .q = q};
        int rc;
        if (!q)
                return -ENOMEM;
        q->cfg = *cfg;
        q->dev = cfg->dev;
        q->fd = -1;
        q->lim.sector_size = 512;
        snprintf(q->name, sizeof(q->name), "%s q%u", cfg->dev->name, cfg->index);
        rc = worker_call(w, start_on_worker, &a);
        if (rc < 0) {
                queue_free(q);
                return rc;
        }
        pv_info(q->name, "%s ring, %u page(s), %u entries, event channel %u, %s%s engine",
                bb_abi_name(cfg->abi), cfg->nr_ring_pages, q->nr_slots, cfg->evtchn,
                cfg->persistent ? "persistent grants, " : "", q->st.engine);
        *out = q;
        return 0;
}

static int stop_on_worker(struct worker *w, void *arg)
{
        struct bb_queue *q = arg;
        /* Linux blkback refuses to disconnect while I/O is in flight; we wait
         * for it here and answer it, so nothing completes into freed pages. */
        q->stopping = true;
        while (q->eng && q->io_busy) {
                if (q->eng->ops->wait(q->eng) < 0)
                        break;
                complete(q);
        }
        if (q->barrier && !q->barrier_started) {
                slot_answer(q, q->barrier, BLKIF_RSP_ERROR);
                notify_frontend(q);
        }
        worker_del_fd(w, xh_evtchn_fd(q->xce));
        if (q->eng)
                worker_del_fd(w, q->eng->fd);
        queue_free(q);
        return 0;
}

void bb_queue_stop(struct bb_queue *q)
{
        struct bb_queue_stats st;
        bb_queue_get_stats(q, &st);
        pv_info(q->name,
                "stopped: %llu requests (%llu failed), %llu segments, %llu grant-copy calls "
                "(%llu segments), %llu maps, %llu unmaps, persistent hits %llu misses %llu, "
                "%llu notifications, %llu engine submits for %llu operations",
                (unsigned long long)st.requests, (unsigned long long)st.errors,
                (unsigned long long)st.segments, (unsigned long long)st.copy_calls,
                (unsigned long long)st.copy_segs, (unsigned long long)st.maps,
                (unsigned long long)st.unmaps, (unsigned long long)st.pgrant_hits,
                (unsigned long long)st.pgrant_misses, (unsigned long long)st.notifies,
                (unsigned long long)st.io_submits, (unsigned long long)st.io_ops);
        worker_call(q->w, stop_on_worker, q);
}

struct stats_arg {
        struct bb_queue *q;
        struct bb_queue_stats *st;
};

static int copy_stats(struct worker *w, void *arg)
{
        struct stats_arg *a = arg;
        (void)w;
        *a->st = a->q->st;
        return 0;
}

void bb_queue_get_stats(struct bb_queue *q, struct bb_queue_stats *st)
{
        struct stats_arg a = {.q = q, .st = st};
        worker_call(q->w, copy_stats, &a);
}

struct occupancy_arg {
        struct bb_queue *q;
        struct bb_queue_occupancy *o;
};

static int copy_occupancy(struct worker *w, void *arg)
{
        struct occupancy_arg *a = arg;
        struct bb_queue *q = a->q;
        RING_IDX prod;
        (void)w;
        *a->o = (struct bb_queue_occupancy){.inflight = q->busy, .io_inflight = q->io_busy};
        if (q->sring && !q->dead) {
                a->o->ring_size = q->ring.r.common.nr_ents;
                /* A req_prod the guest moved back (or anywhere) is shown as
                 * such, not as billions of requests. */
                if (bb_ring_pending(&q->ring, &prod) < 0 ||
                    !be_ring_occupancy(prod, q->ring.r.common.req_cons, a->o->ring_size,
                                       &a->o->ring_pending))
                        a->o->ring_bogus = true;
        }
        return 0;
}

void bb_queue_get_occupancy(struct bb_queue *q, struct bb_queue_occupancy *o)
{
        struct occupancy_arg a = {.q = q, .o = o};
        worker_call(q->w, copy_occupancy, &a);
}

struct backing_arg {
        struct bb_queue *q;
        const struct bb_vbd_limits *lim;
        int fd;
        bool blkdev;
};

static int set_backing_on_worker(struct worker *w, void *arg)
{
        struct backing_arg *a = arg;
        (void)w;
        a->q->lim = *a->lim;
        a->q->fd = a->fd;
        a->q->blkdev = a->blkdev;
        drain(a->q);
        return 0;
}

void bb_queue_set_backing(struct bb_queue *q, const struct bb_vbd_limits *lim, int fd, bool blkdev)
{
        struct backing_arg a = {.q = q, .lim = lim, .fd = fd, .blkdev = blkdev};
        worker_call(q->w, set_backing_on_worker, &a);
}
