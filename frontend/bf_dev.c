/* A block frontend device: open (attach, negotiate, connect), I/O submission
 * onto the rings, the poll loop that runs completions, and a clean close. The
 * xenbus steps are bf_xs.c's, ring mechanics bf_ring.c's, requests bf_req.c's. */
#include "bf_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "xb.h"

void bf_opts_default(struct bf_opts *o)
{
        *o = (struct bf_opts){
                .devid = 51712, /* xvda */
                .queues = BF_DEFAULT_QUEUES,
                .ring_order = 0,
                .indirect = true,
                .indirect_segs = BF_DEFAULT_INDIRECT_SEGS,
                .persistent = true,
                .abi = BF_ABI_X86_64,
                .timeout_ms = BF_DEFAULT_TIMEOUT_MS,
                .dyncap = true,
        };
}

const char *bf_op_name(enum bf_op op)
{
        static const char *const names[] = {
                [BF_OP_READ] = "read",       [BF_OP_WRITE] = "write",
                [BF_OP_WRITE_BARRIER] = "barrier", [BF_OP_FLUSH] = "flush",
                [BF_OP_DISCARD] = "discard", [BF_OP_SECURE_DISCARD] = "secure discard",
        };
        return (unsigned)op < sizeof(names) / sizeof(names[0]) ? names[op] : "?";
}

void bf_dev_fail(struct bf_dev *d, int why, const char *fmt, ...)
{
        if (!d->err[0]) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(d->err, sizeof(d->err), fmt, ap);
                va_end(ap);
        }
        if (!d->dead)
                d->dead = why < 0 ? why : -EIO;
}

const struct bf_info *bf_info(const struct bf_dev *d)
{
        return &d->info;
}

const struct bf_stats *bf_stats(const struct bf_dev *d)
{
        return &d->stats;
}

uint32_t bf_inflight(const struct bf_dev *d)
{
        return d->inflight;
}

const struct fe_dyncap *bf_dyncap(const struct bf_dev *d)
{
        return &d->dyncap;
}

int bf_backend_state(const struct bf_dev *d)
{
        return d->be_state;
}

/* ---- I/O life cycle ----------------------------------------------------- */

static void io_finish(struct bf_io *io)
{
        struct bf_dev *d = io->dev;
        d->inflight--;
        d->stats.ios++;
        if (io->done)
                io->done(io->arg, io->status);
        free(io);
}

void bf_io_request_done(struct bf_io *io, int status)
{
        io->outstanding--;
        if (!io->status)
                io->status = status;
        if (io->outstanding == 0 && io->issued_all)
                io_finish(io);
}

static void wait_pop(struct bf_ring *r)
{
        r->wait_head = r->wait_head->next;
        if (!r->wait_head)
                r->wait_tail = NULL;
}

static void io_fail_waiting(struct bf_ring *r, int status)
{
        struct bf_io *io = r->wait_head;
        wait_pop(r);
        io->issued_all = true; /* nothing more will be issued */
        if (!io->status)
                io->status = status;
        if (io->outstanding == 0)
                io_finish(io);
}

int bf_dev_kick_ring(struct bf_ring *r)
{
        while (r->wait_head && !r->dev->dead) {
                int rc = bf_req_issue(r, r->wait_head);
                if (rc == 1) {
                        wait_pop(r);
                        continue;
                }
                /* No grant can be had and nothing in flight will return one. */
                if (rc == 0 && r->nr_free == bf_ring_size(r))
                        rc = -ENOSPC;
                if (rc < 0) {
                        io_fail_waiting(r, rc);
                        continue;
                }
                break;
        }
        bf_ring_push(r);
        return 0;
}

/* Everything in flight or waiting fails once the backend is gone: it will
 * never answer (Linux requeues for a reconnect; a test tool reports). */
static void abort_all(struct bf_dev *d)
{
        for (uint32_t q = 0; q < d->nr_rings; q++) {
                struct bf_ring *r = &d->rings[q];
                while (r->wait_head)
                        io_fail_waiting(r, d->dead);
                for (uint32_t i = 0; r->shadow && i < bf_ring_size(r); i++)
                        if (r->shadow[i].busy)
                                bf_req_abort(r, i, d->dead);
        }
}

static bool op_offered(const struct bf_dev *d, enum bf_op op)
{
        const struct bf_info *in = &d->info;
        switch (op) {
        case BF_OP_FLUSH:
                return in->flush_cache || in->barrier;
        case BF_OP_WRITE_BARRIER:
                return in->barrier;
        case BF_OP_DISCARD:
                return in->discard;
        case BF_OP_SECURE_DISCARD:
                return in->discard && in->discard_secure;
        default:
                return true;
        }
}

static int check_io(const struct bf_dev *d, enum bf_op op, uint64_t sector, uint64_t n)
{
        if (d->dead)
                return d->dead;
        if (!d->connected)
                return -ENOTCONN;
        if (!op_offered(d, op))
                return -EOPNOTSUPP;
        if (op != BF_OP_READ && op != BF_OP_FLUSH && (d->info.info & VDISK_READONLY))
                return -EROFS;
        if (op == BF_OP_FLUSH)
                return 0;
        if ((n == 0 && op != BF_OP_WRITE_BARRIER) || sector > d->info.sectors ||
            n > d->info.sectors - sector)
                return -EINVAL;
        return 0;
}

int bf_submit(struct bf_dev *d, enum bf_op op, uint64_t sector, uint64_t nsectors, void *buf,
              bf_done_fn done, void *arg)
{
        return bf_submit_on(d, d->next_ring++, op, sector, nsectors, buf, done, arg);
}

int bf_submit_on(struct bf_dev *d, uint32_t queue, enum bf_op op, uint64_t sector,
                 uint64_t nsectors, void *buf, bf_done_fn done, void *arg)
{
        int rc = check_io(d, op, sector, nsectors);
        if (rc < 0)
                return rc;
        struct bf_io *io = calloc(1, sizeof(*io));
        if (!io)
                return -ENOMEM;
        *io = (struct bf_io){.dev = d, .op = op, .buf = buf, .done = done, .arg = arg};
        /* Linux sends a flush/FUA write with the flush operation, which has no
         * indirect form: such writes stay within 11 segments per request. */
        uint32_t max_segs = op == BF_OP_WRITE_BARRIER ? BLKIF_MAX_SEGMENTS_PER_REQUEST : d->max_segs;
        rc = bf_split_init(&io->split, sector, nsectors, d->info.unit, d->opts.page_off, max_segs);
        if (rc < 0) {
                free(io);
                return rc;
        }
        struct bf_ring *r = &d->rings[queue % d->nr_rings];
        if (r->wait_tail)
                r->wait_tail->next = io;
        else
                r->wait_head = io;
        r->wait_tail = io;
        d->inflight++;
        return bf_dev_kick_ring(r);
}

int bf_dev_raw_submit(struct bf_dev *d, struct bf_req *req, bf_raw_fn done, void *arg)
{
        struct bf_ring *r = &d->rings[0];
        if (d->dead)
                return d->dead;
        if (bf_ring_full(r))
                return -EBUSY;
        uint32_t id = bf_ring_get_id(r);
        struct bf_shadow *s = &r->shadow[id];
        s->operation = req->operation;
        s->raw_done = done;
        s->raw_arg = arg;
        s->nsegs = s->npages = 0;
        req->id = req->id == UINT64_MAX ? id : req->id;
        bf_ring_put_request(r, req);
        bf_ring_push(r);
        d->stats.requests++;
        return (int)id;
}

/* ---- the poll loop ------------------------------------------------------ */

static struct bf_ring *ring_of_port(struct bf_dev *d, uint32_t port)
{
        for (uint32_t q = 0; q < d->nr_rings; q++)
                if (d->rings[q].port_bound && d->rings[q].port == port)
                        return &d->rings[q];
        return NULL;
}

static int handle_events(struct bf_dev *d)
{
        uint32_t port;
        int done = 0;

        while (xh_evtchn_pending(d->ev, &port) == 0) {
                d->stats.events++;
                struct bf_ring *r = ring_of_port(d, port);
                if (r) {
                        int rc = bf_ring_reap(r);
                        if (rc < 0)
                                return rc;
                        done += rc;
                }
                xh_evtchn_unmask(d->ev, port);
        }
        return done;
}

int bf_poll(struct bf_dev *d, int timeout_ms)
{
        struct pollfd pfd[2] = {{.fd = xh_evtchn_fd(d->ev), .events = POLLIN},
                                {.fd = xs_fileno(d->xs), .events = POLLIN}};
        int done = 0;

        if (!d->dead && poll(pfd, 2, timeout_ms) < 0 && errno != EINTR)
                return -errno;
        if (!d->dead && (pfd[0].revents & POLLIN)) {
                int rc = handle_events(d);
                done += rc > 0 ? rc : 0;
        }
        /* Responses can be there without an event (suppressed, or raced with
         * the final check), so every ring is looked at. */
        for (uint32_t q = 0; q < d->nr_rings && !d->dead; q++) {
                int rc = bf_ring_reap(&d->rings[q]);
                done += rc > 0 ? rc : 0;
                bf_dev_kick_ring(&d->rings[q]);
        }
        if (!d->dead && (pfd[1].revents & POLLIN)) {
                if (bf_xs_check(d) != XenbusStateConnected)
                        bf_dev_fail(d, -ENOTCONN, "backend %s left Connected (now %s)",
                                    d->info.be_dir, xb_state_name(d->be_state));
                else
                        fe_dyncap_poll(&d->dyncap, d->xs);
        }
        if (d->dead) {
                abort_all(d);
                return d->dead;
        }
        return done;
}

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int bf_drain(struct bf_dev *d, int timeout_ms)
{
        int64_t end = now_ms() + timeout_ms;
        while (d->inflight) {
                int64_t left = end - now_ms();
                if (left <= 0)
                        return -ETIMEDOUT;
                int rc = bf_poll(d, (int)left);
                if (rc < 0)
                        return rc;
        }
        return 0;
}

/* ---- open and close ----------------------------------------------------- */

static uint32_t clamp_u32(uint32_t want, uint32_t max)
{
        return want < max ? want : max;
}

/* Linux negotiate_mq and talk_to_blkback: the smaller of what we want and
 * what the backend offers; indirect and persistent wait for Connected. */
static int negotiate(struct bf_dev *d)
{
        struct bf_info *in = &d->info;
        uint32_t want_order = d->opts.ring_order < 0 ? BF_MAX_RING_ORDER
                                                     : (uint32_t)d->opts.ring_order;
        in->nr_queues = clamp_u32(d->opts.queues ? d->opts.queues : 1, in->be_max_queues);
        in->nr_queues = clamp_u32(in->nr_queues, BF_MAX_QUEUES);
        in->ring_order = clamp_u32(clamp_u32(want_order, in->be_max_ring_order), BF_MAX_RING_ORDER);
        in->abi = d->opts.abi;
        d->rings = calloc(in->nr_queues, sizeof(*d->rings));
        if (!d->rings)
                return -ENOMEM;
        d->nr_rings = in->nr_queues;
        for (uint32_t q = 0; q < d->nr_rings; q++) {
                int rc = bf_ring_setup(d, &d->rings[q], q);
                if (rc < 0) {
                        bf_dev_fail(d, rc, "queue %u: sharing the ring or binding its event "
                                           "channel failed: %s",
                                    q, strerror(-rc));
                        return rc;
                }
        }
        in->ring_size = bf_ring_size(&d->rings[0]);
        return 0;
}

/* Linux blkfront_gather_backend_features and blkfront_setup_indirect. */
static int setup_connected(struct bf_dev *d)
{
        struct bf_info *in = &d->info;
        in->persistent = d->opts.persistent && in->be_persistent;
        in->indirect_segs = 0;
        if (d->opts.indirect && in->be_max_indirect > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
                uint32_t n = clamp_u32(d->opts.indirect_segs, in->be_max_indirect);
                n = clamp_u32(n, BF_MAX_INDIRECT_SEGS);
                if (n > BLKIF_MAX_SEGMENTS_PER_REQUEST)
                        in->indirect_segs = n;
        }
        in->large_sectors = d->opts.large_sectors;
        in->unit = in->large_sectors ? in->sector_size : 512;
        if (d->opts.page_off >= BF_PAGE_SIZE / in->unit) {
                bf_dev_fail(d, -EINVAL, "page offset %u is not inside a page of %u-byte sectors",
                            d->opts.page_off, in->unit);
                return -EINVAL;
        }
        d->max_segs = in->indirect_segs ? in->indirect_segs : BLKIF_MAX_SEGMENTS_PER_REQUEST;
        d->max_pages = d->max_segs + (in->indirect_segs ? bf_abi_indirect_pages(d->max_segs) : 0);
        for (uint32_t q = 0; q < d->nr_rings; q++)
                if (bf_ring_alloc_shadow(&d->rings[q]) < 0) {
                        bf_dev_fail(d, -ENOMEM, "out of memory for the shadow rings");
                        return -ENOMEM;
                }
        return 0;
}

static int open_handles(struct bf_dev *d, char *err, size_t errlen)
{
        int rc = xh_provider_select(d->opts.provider, &d->prov, err, errlen);
        if (rc < 0)
                return rc;
        d->xs = xs_open(0);
        if (!d->xs) {
                rc = errno ? -errno : -EIO;
                bf_dev_fail(d, rc, "cannot open xenstore: %s", strerror(-rc));
                return rc;
        }
        if ((rc = xh_gntshr_open(d->prov, &d->shr)) < 0 || (rc = xh_evtchn_open(d->prov, &d->ev)) < 0)
                bf_dev_fail(d, rc, "cannot open the grant sharing or event channel device: %s",
                            strerror(-rc));
        return rc;
}

static void free_dev(struct bf_dev *d)
{
        for (uint32_t q = 0; q < d->nr_rings; q++)
                bf_ring_teardown(&d->rings[q]);
        free(d->rings);
        if (d->xs) {
                bf_xs_detach(d);
                xs_close(d->xs);
        }
        if (d->ev)
                xh_evtchn_close(d->ev);
        if (d->shr)
                xh_gntshr_close(d->shr);
        free(d);
}

int bf_open(const struct bf_opts *o, struct bf_dev **out, char *err, size_t errlen)
{
        struct bf_dev *d = calloc(1, sizeof(*d));
        char ctx[24];
        int rc;

        if (!d)
                return -ENOMEM;
        d->opts = *o;
        if (d->opts.timeout_ms <= 0)
                d->opts.timeout_ms = BF_DEFAULT_TIMEOUT_MS;
        err[0] = '\0';
        if ((rc = open_handles(d, err, errlen)) < 0 || (rc = bf_xs_attach(d)) < 0 ||
            (rc = bf_xs_wait_initwait(d)) < 0 || (rc = bf_xs_read_backend_limits(d)) < 0 ||
            (rc = negotiate(d)) < 0 || (rc = bf_xs_publish(d)) < 0 ||
            (rc = bf_xs_wait_connected(d)) < 0 || (rc = bf_xs_read_connect_info(d)) < 0 ||
            (rc = setup_connected(d)) < 0 || (rc = bf_xs_switch_state(d, XenbusStateConnected)) < 0)
                goto fail;
        d->connected = true;
        /* Not needed for I/O: a failure is logged and leaves the
         * capabilities unacknowledged. */
        snprintf(ctx, sizeof(ctx), "vbd%u", d->opts.devid);
        fe_dyncap_init(&d->dyncap, ctx, d->opts.dyncap, d->opts.prefer, d->opts.dyncap_report);
        if ((rc = fe_dyncap_start(&d->dyncap, d->xs, d->info.fe_dir, d->info.be_dir)) < 0)
                pv_warn(ctx, "following the dynamic capabilities: %s", strerror(-rc));
        *out = d;
        return 0;
fail:
        if (!err[0])
                snprintf(err, errlen, "%s", d->err[0] ? d->err : strerror(-rc));
        if (d->xs && d->info.fe_dir[0] && d->nr_rings) {
                /* The keys may be out already: let the backend go before the
                 * pages it may have mapped are unshared. */
                d->dead = 0;
                bf_close(d);
        } else {
                free_dev(d);
        }
        return rc;
}

static bool let_go(int st)
{
        return st == XenbusStateClosing || st == XenbusStateClosed || st == XenbusStateUnknown ||
               st == XenbusStateInitWait;
}

int bf_close(struct bf_dev *d)
{
        int rc = 0;

        /* A stop signal ends the workload, not the disconnect: the backend
         * must unmap before the pages are unshared. */
        d->opts.stop = NULL;

        if (d->connected && !d->dead)
                rc = bf_drain(d, d->opts.timeout_ms);
        if (d->dead)
                abort_all(d);
        d->connected = false;
        fe_dyncap_stop(&d->dyncap, d->xs);
        /* Frontend Closing makes the backend unmap and follow to Closing; only
         * then may the ring and data pages be unshared. */
        int rc2 = bf_xs_switch_state(d, XenbusStateClosing);
        if (rc2 == 0 && !let_go(bf_xs_check(d)))
                rc2 = bf_xs_wait_backend(d, let_go, d->opts.timeout_ms);
        for (uint32_t q = 0; q < d->nr_rings; q++)
                bf_ring_teardown(&d->rings[q]);
        int rc3 = bf_xs_switch_state(d, XenbusStateClosed);
        free_dev(d);
        if (rc == 0)
                rc = rc2 < 0 ? rc2 : rc3;
        return rc;
}
