/* Implementation of bf_load.h over bf_pump. Offsets are aligned to the block
 * size, as fio does by default; the grant figures are deltas of bf_stats. */
#include "bf_load.h"

#include <errno.h>
#include <string.h>

#include "bf_pump.h"

struct load_ctx {
        const struct bf_load_opts *o;
        struct bf_load_result *res;
        uint64_t blocks; /* I/O-sized blocks in the span */
        uint64_t first;  /* protocol units */
        uint64_t per_io; /* protocol units */
        uint64_t issued, seq;
        uint64_t rng;
        uint64_t end_ns;
};

static uint64_t next_rand(uint64_t *x)
{
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        return *x;
}

static int load_next(void *arg, struct bf_pump_slot *s)
{
        struct load_ctx *c = arg;
        if (c->o->count ? c->issued >= c->o->count : bf_now_ns() >= c->end_ns)
                return 0;
        uint64_t blk = c->o->random ? next_rand(&c->rng) % c->blocks : c->seq++ % c->blocks;
        s->op = next_rand(&c->rng) % 100 < c->o->read_pct ? BF_OP_READ : BF_OP_WRITE;
        s->sector = c->first + blk * c->per_io;
        s->n = c->per_io;
        c->issued++;
        return 1;
}

static int load_done(void *arg, struct bf_pump_slot *s, int status)
{
        struct load_ctx *c = arg;
        if (status < 0)
                c->res->errors++;
        else if (s->op == BF_OP_READ)
                c->res->reads++;
        else
                c->res->writes++;
        return 0;
}

static void figures(struct bf_load_result *r, const struct bf_stats *a, const struct bf_stats *b)
{
        double reqs = (double)(b->requests - a->requests);
        uint64_t reused = b->gnt.reused - a->gnt.reused, fresh = b->gnt.fresh - a->gnt.fresh;
        if (reqs > 0) {
                r->grants_per_req = (double)(b->gnt.granted - a->gnt.granted + b->gnt.ended -
                                             a->gnt.ended) / reqs;
                r->grant_calls_per_req = (double)(b->gnt.share_calls - a->gnt.share_calls +
                                                  b->gnt.unshare_calls - a->gnt.unshare_calls) /
                                         reqs;
                r->notifies_per_req = (double)(b->notifies - a->notifies) / reqs;
        }
        if (reused + fresh)
                r->persistent_hit_pct = 100.0 * (double)reused / (double)(reused + fresh);
}

int bf_load_run(struct bf_dev *d, const struct bf_load_opts *o, struct bf_load_result *res)
{
        const struct bf_info *in = bf_info(d);
        uint32_t per_unit = in->unit / 512;
        struct load_ctx c = {.o = o, .res = res, .rng = o->seed ? o->seed : 0x2545f4914f6cdd1dull};
        memset(res, 0, sizeof(*res));
        if (o->io_bytes == 0 || o->io_bytes % in->unit || o->start % per_unit || o->depth == 0)
                return -EINVAL;
        uint64_t disk = in->sectors * per_unit;
        uint64_t span = o->span ? o->span : disk - (o->start < disk ? o->start : disk);
        if (o->start + span > disk)
                return -EINVAL;
        c.first = o->start / per_unit;
        c.per_io = o->io_bytes / in->unit;
        c.blocks = span / per_unit / c.per_io;
        if (c.blocks == 0)
                return -EINVAL;
        struct bf_stats before = *bf_stats(d);
        uint64_t t0 = bf_now_ns();
        c.end_ns = t0 + (uint64_t)(o->duration_s * 1e9);
        struct bf_pump p = {.dev = d,
                            .depth = o->depth,
                            .buf_bytes = o->io_bytes,
                            .next = load_next,
                            .done = load_done,
                            .ctx = &c,
                            .stop = o->stop,
                            .queue_by_cpu = true};
        int rc = bf_pump_run(&p);
        res->secs = (double)(bf_now_ns() - t0) / 1e9;
        res->ios = p.completed;
        res->bytes = p.bytes;
        if (res->secs > 0) {
                res->iops = (double)res->ios / res->secs;
                res->mib_s = (double)res->bytes / res->secs / 1048576.0;
        }
        if (res->ios)
                res->avg_lat_us = (double)p.lat_ns_total / (double)res->ios / 1000.0;
        figures(res, &before, bf_stats(d));
        if (rc == 0 && res->errors)
                rc = -EIO;
        return rc;
}

void bf_load_print(const struct bf_load_result *r, FILE *out)
{
        fprintf(out,
                "load: %llu I/Os (%llu reads, %llu writes, %llu errors) in %.2f s: %.0f IOPS, "
                "%.1f MiB/s, average latency %.0f us\n",
                (unsigned long long)r->ios, (unsigned long long)r->reads,
                (unsigned long long)r->writes, (unsigned long long)r->errors, r->secs, r->iops,
                r->mib_s, r->avg_lat_us);
        fprintf(out,
                "load: per request: %.2f grant operations (refs granted + ended), %.2f grant "
                "calls, %.2f notifications; persistent-grant reuse %.1f%%\n",
                r->grants_per_req, r->grant_calls_per_req, r->notifies_per_req,
                r->persistent_hit_pct);
}
