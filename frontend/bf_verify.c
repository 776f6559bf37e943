/* Implementation of bf_verify.h over bf_pump. Ranges are in 512-byte sectors
 * whatever the protocol unit, so tags name byte addresses and a backing file
 * can be checked with bf_tag_check at offset sector*512. */
#include "bf_verify.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "bf_pump.h"
#include "bf_tag.h"

struct verify_ctx {
        const struct bf_verify_opts *o;
        struct bf_verify_result *res;
        FILE *out;
        uint32_t per_unit; /* 512-byte sectors per protocol unit */
        uint64_t next;     /* next 512-byte sector to submit */
        uint64_t end;
        enum bf_op op;
};

static int verify_next(void *arg, struct bf_pump_slot *s)
{
        struct verify_ctx *c = arg;
        if (c->next >= c->end)
                return 0;
        uint64_t n = c->o->io_bytes / BF_TAG_SECTOR;
        if (n > c->end - c->next)
                n = c->end - c->next;
        s->op = c->op;
        s->sector = c->next / c->per_unit;
        s->n = n / c->per_unit;
        if (c->op == BF_OP_WRITE)
                bf_tag_fill_range(s->buf, c->next, n, c->o->generation);
        c->next += n;
        return 1;
}

static void report(struct verify_ctx *c, uint64_t sector, enum bf_tag_result r, uint64_t fs,
                   uint64_t fg)
{
        if (c->res->mismatches++ == 0)
                c->res->first_bad = sector;
        if (c->res->mismatches > c->o->max_report)
                return;
        if (r == BF_TAG_GENERATION)
                fprintf(c->out, "mismatch: sector %" PRIu64 ": %s (generation %" PRIu64
                                ", expected %" PRIu64 ")\n",
                        sector, bf_tag_result_name(r), fg, c->o->generation);
        else if (r == BF_TAG_ADDRESS)
                fprintf(c->out, "mismatch: sector %" PRIu64 ": %s (holds sector %" PRIu64
                                " generation %" PRIu64 ")\n",
                        sector, bf_tag_result_name(r), fs, fg);
        else
                fprintf(c->out, "mismatch: sector %" PRIu64 ": %s\n", sector,
                        c->o->expect_zero ? "not zero" : bf_tag_result_name(r));
}

static bool is_zero(const uint8_t *p)
{
        for (uint32_t i = 0; i < BF_TAG_SECTOR; i++)
                if (p[i])
                        return false;
        return true;
}

static int verify_done(void *arg, struct bf_pump_slot *s, int status)
{
        struct verify_ctx *c = arg;
        uint64_t first = s->sector * c->per_unit, n = s->n * c->per_unit;
        if (status < 0) {
                c->res->io_errors++;
                fprintf(c->out, "I/O error: %s of sectors %" PRIu64 "..%" PRIu64 ": %s\n",
                        bf_op_name(s->op), first, first + n - 1, strerror(-status));
                return 0;
        }
        if (s->op == BF_OP_WRITE) {
                c->res->written += n;
                return 0;
        }
        for (uint64_t i = 0; i < n; i++) {
                const uint8_t *p = s->buf + i * BF_TAG_SECTOR;
                uint64_t fs = 0, fg = 0;
                enum bf_tag_result r;
                if (c->o->expect_zero)
                        r = is_zero(p) ? BF_TAG_OK : BF_TAG_CORRUPT;
                else
                        r = bf_tag_check(p, first + i, c->o->generation, &fs, &fg);
                if (r != BF_TAG_OK)
                        report(c, first + i, r, fs, fg);
        }
        c->res->checked += n;
        return 0;
}

static int run_phase(struct bf_dev *d, struct verify_ctx *c, enum bf_op op, double *secs)
{
        struct bf_pump p = {.dev = d,
                            .depth = c->o->depth,
                            .buf_bytes = c->o->io_bytes,
                            .next = verify_next,
                            .done = verify_done,
                            .ctx = c,
                            .stop = c->o->stop};
        c->op = op;
        c->next = c->o->start;
        uint64_t t0 = bf_now_ns();
        int rc = bf_pump_run(&p);
        *secs = (double)(bf_now_ns() - t0) / 1e9;
        return rc;
}

static void on_flush(void *arg, int status)
{
        *(int *)arg = status;
}

/* A completed flush is what makes the written generation durable. */
static int flush_if_offered(struct bf_dev *d)
{
        int status = 1;
        int rc = bf_submit(d, BF_OP_FLUSH, 0, 0, NULL, on_flush, &status);
        if (rc == -EOPNOTSUPP)
                return 0;
        if (rc == 0)
                rc = bf_drain(d, 30000);
        return rc < 0 ? rc : status;
}

int bf_verify_run(struct bf_dev *d, const struct bf_verify_opts *o, FILE *out,
                  struct bf_verify_result *res)
{
        const struct bf_info *in = bf_info(d);
        struct verify_ctx c = {.o = o, .res = res, .out = out, .per_unit = in->unit / BF_TAG_SECTOR};
        uint64_t disk = in->sectors * c.per_unit;
        int rc = 0;

        memset(res, 0, sizeof(*res));
        c.end = o->count ? o->start + o->count : disk;
        if (o->start % c.per_unit || c.end % c.per_unit || o->io_bytes % in->unit ||
            o->io_bytes == 0 || o->depth == 0) {
                fprintf(out, "verify: range and I/O size must be multiples of %u bytes\n",
                        in->unit);
                return -EINVAL;
        }
        if (c.end > disk || o->start >= c.end) {
                fprintf(out, "verify: range %" PRIu64 "+%" PRIu64 " is not inside the disk (%" PRIu64
                             " sectors of 512 bytes)\n",
                        o->start, c.end - o->start, disk);
                return -EINVAL;
        }
        if (o->write && (rc = run_phase(d, &c, BF_OP_WRITE, &res->write_s)) == 0)
                rc = flush_if_offered(d);
        if (rc == 0 && o->read && !(o->stop && *o->stop))
                rc = run_phase(d, &c, BF_OP_READ, &res->read_s);
        if (res->mismatches > o->max_report)
                fprintf(out, "... %" PRIu64 " more mismatching sectors not listed\n",
                        res->mismatches - o->max_report);
        if (rc == 0 && res->io_errors)
                rc = -EIO;
        if (rc == 0 && res->mismatches)
                rc = -EBADMSG;
        return rc;
}
