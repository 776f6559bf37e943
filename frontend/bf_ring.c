/* One blkif ring of a device: its shared pages and event channel (Linux
 * blkfront setup_blkring), the shadow slots whose index is the request id, and
 * response handling with event-index suppression (blkif_interrupt). */
#include "bf_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Both front ring types share the index fields, so one member serves every
 * ABI-independent macro (Linux blkback's blkif_common ring does the same). */
#define FR(r) (&(r)->fr.x86_64)

int bf_ring_setup(struct bf_dev *d, struct bf_ring *r, uint32_t index)
{
        int rc;

        r->dev = d;
        r->index = index;
        r->nr_pages = 1u << d->info.ring_order;
        r->free_head = BF_SHADOW_FREE;
        rc = xh_gntshr_share(d->shr, d->info.backend_id, r->nr_pages, r->refs, true, &r->sring);
        d->stats.gnt.share_calls++;
        if (rc < 0)
                return rc;
        d->stats.gnt.granted += r->nr_pages;
        size_t bytes = (size_t)r->nr_pages * BF_PAGE_SIZE;
        memset(r->sring, 0, bytes);
        if (d->info.abi == BF_ABI_X86_32) {
                SHARED_RING_INIT((bf_x86_32_sring_t *)r->sring);
                FRONT_RING_INIT(&r->fr.x86_32, (bf_x86_32_sring_t *)r->sring, bytes);
        } else {
                SHARED_RING_INIT((bf_x86_64_sring_t *)r->sring);
                FRONT_RING_INIT(&r->fr.x86_64, (bf_x86_64_sring_t *)r->sring, bytes);
        }
        if ((rc = xh_evtchn_bind_unbound(d->ev, d->info.backend_id, &r->port)) < 0)
                return rc;
        r->port_bound = true;
        bf_gnt_pool_init(&r->pool, d->shr, d->info.backend_id, d->opts.grant_limit,
                         &d->stats.gnt);
        return 0;
}

uint32_t bf_ring_size(const struct bf_ring *r)
{
        return RING_SIZE(FR(r));
}

/* Shadow slots exist once the per-request maxima are known (at Connected, as
 * Linux's blkfront_setup_indirect). */
int bf_ring_alloc_shadow(struct bf_ring *r)
{
        struct bf_dev *d = r->dev;
        uint32_t n = bf_ring_size(r);

        r->shadow = calloc(n, sizeof(*r->shadow));
        if (!r->shadow)
                return -ENOMEM;
        for (uint32_t i = 0; i < n; i++) {
                struct bf_shadow *s = &r->shadow[i];
                s->segs = calloc(d->max_segs, sizeof(*s->segs));
                s->gnts = calloc(d->max_pages, sizeof(*s->gnts));
                s->refs = calloc(d->max_pages, sizeof(*s->refs));
                if (!s->segs || !s->gnts || !s->refs)
                        return -ENOMEM;
                s->next_free = i + 1 < n ? i + 1 : BF_SHADOW_FREE;
        }
        r->free_head = 0;
        r->nr_free = n;
        return 0;
}

void bf_ring_teardown(struct bf_ring *r)
{
        struct bf_dev *d = r->dev;

        if (!d)
                return;
        if (r->shadow) {
                for (uint32_t i = 0; i < bf_ring_size(r); i++) {
                        if (r->shadow[i].busy)
                                bf_req_abort(r, i, -ENOTCONN);
                        free(r->shadow[i].segs);
                        free(r->shadow[i].gnts);
                        free(r->shadow[i].refs);
                }
                free(r->shadow);
                r->shadow = NULL;
        }
        bf_gnt_pool_destroy(&r->pool);
        if (r->port_bound)
                xh_evtchn_unbind(d->ev, r->port);
        r->port_bound = false;
        if (r->sring) {
                if (xh_gntshr_unshare(d->shr, r->sring, r->nr_pages) == 0)
                        d->stats.gnt.ended += r->nr_pages;
                d->stats.gnt.unshare_calls++;
        }
        r->sring = NULL;
}

bool bf_ring_full(const struct bf_ring *r)
{
        return r->nr_free == 0 || RING_FULL(FR(r));
}

uint32_t bf_ring_get_id(struct bf_ring *r)
{
        uint32_t id = r->free_head;
        if (id == BF_SHADOW_FREE)
                return id;
        r->free_head = r->shadow[id].next_free;
        r->shadow[id].next_free = BF_SHADOW_FREE;
        r->shadow[id].busy = true;
        r->nr_free--;
        return id;
}

void bf_ring_put_id(struct bf_ring *r, uint32_t id)
{
        struct bf_shadow *s = &r->shadow[id];
        s->busy = false;
        s->io = NULL;
        s->raw_done = NULL;
        s->next_free = r->free_head;
        r->free_head = id;
        r->nr_free++;
}

void bf_ring_put_request(struct bf_ring *r, const struct bf_req *req)
{
        struct bf_dev *d = r->dev;
        RING_IDX i = FR(r)->req_prod_pvt;
        void *slot = d->info.abi == BF_ABI_X86_32 ? (void *)RING_GET_REQUEST(&r->fr.x86_32, i)
                                                  : (void *)RING_GET_REQUEST(&r->fr.x86_64, i);
        bf_abi_encode(d->info.abi, req, slot);
        FR(r)->req_prod_pvt = i + 1;
        r->need_push = true;
}

void bf_ring_push(struct bf_ring *r)
{
        int notify;

        if (!r->need_push)
                return;
        r->need_push = false;
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(FR(r), notify);
        if (notify) {
                xh_evtchn_notify(r->dev->ev, r->port);
                r->dev->stats.notifies++;
        } else {
                r->dev->stats.suppressed++;
        }
}

static void get_response(struct bf_ring *r, RING_IDX i, struct bf_rsp *rsp)
{
        if (r->dev->info.abi == BF_ABI_X86_32) {
                struct bf_x86_32_response raw;
                RING_COPY_RESPONSE(&r->fr.x86_32, i, &raw);
                bf_abi_decode_rsp(BF_ABI_X86_32, &raw, rsp);
        } else {
                struct bf_x86_64_response raw;
                RING_COPY_RESPONSE(&r->fr.x86_64, i, &raw);
                bf_abi_decode_rsp(BF_ABI_X86_64, &raw, rsp);
        }
}

/* The checks of Linux blkif_interrupt: an id outside the ring, a slot with
 * nothing in flight or an operation other than the one sent means the backend
 * is broken; Linux marks the device BLKIF_STATE_ERROR and stops. */
static int check_response(struct bf_ring *r, const struct bf_rsp *rsp)
{
        struct bf_dev *d = r->dev;
        if (rsp->id >= bf_ring_size(r)) {
                bf_dev_fail(d, -EPROTO, "queue %u: response has incorrect id %llu", r->index,
                            (unsigned long long)rsp->id);
                return -EPROTO;
        }
        const struct bf_shadow *s = &r->shadow[rsp->id];
        if (!s->busy) {
                bf_dev_fail(d, -EPROTO, "queue %u: response for id %llu, which is not in flight",
                            r->index, (unsigned long long)rsp->id);
                return -EPROTO;
        }
        /* A raw (hostile) request's answer is reported as it came. */
        if (s->io && rsp->operation != s->operation) {
                bf_dev_fail(d, -EPROTO, "queue %u: response op %u for id %llu sent as op %u",
                            r->index, rsp->operation, (unsigned long long)rsp->id, s->operation);
                return -EPROTO;
        }
        return 0;
}

int bf_ring_reap(struct bf_ring *r)
{
        int done = 0, more;

        if (!r->shadow)
                return 0;
        do {
                RING_IDX rp = FR(r)->sring->rsp_prod;
                xen_rmb(); /* read responses only after seeing rsp_prod */
                if (RING_RESPONSE_PROD_OVERFLOW(FR(r), rp)) {
                        bf_dev_fail(r->dev, -EPROTO,
                                    "queue %u: illegal number of responses (rsp_prod %u, "
                                    "rsp_cons %u)",
                                    r->index, rp, FR(r)->rsp_cons);
                        return -EPROTO;
                }
                for (RING_IDX i = FR(r)->rsp_cons; i != rp; i++) {
                        struct bf_rsp rsp;
                        get_response(r, i, &rsp);
                        FR(r)->rsp_cons = i + 1;
                        if (check_response(r, &rsp) < 0)
                                return -EPROTO;
                        r->dev->stats.responses++;
                        bf_req_complete(r, (uint32_t)rsp.id, &rsp);
                        done++;
                }
                /* Ask for an event at the next response only while requests are
                 * out (Linux: RING_FINAL_CHECK_FOR_RESPONSES, else rsp_event =
                 * rsp_cons + 1), so an idle ring costs the backend no kicks. */
                if (FR(r)->rsp_cons != FR(r)->req_prod_pvt) {
                        RING_FINAL_CHECK_FOR_RESPONSES(FR(r), more);
                } else {
                        FR(r)->sring->rsp_event = FR(r)->rsp_cons + 1;
                        more = 0;
                }
        } while (more);
        return done;
}

void *bf_ring_sring(struct bf_ring *r)
{
        return r->sring;
}
