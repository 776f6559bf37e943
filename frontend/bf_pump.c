/* Implementation of bf_pump.h. Slots own page-aligned buffers so an I/O's
 * copy into granted pages is a straight memcpy. */
#include "bf_pump.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t bf_now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void slot_done(void *arg, int status)
{
        struct bf_pump_slot *s = arg;
        struct bf_pump *p = s->pump;
        const struct bf_info *in = bf_info(p->dev);

        s->busy = 0;
        p->completed++;
        if (status == 0 && s->op != BF_OP_FLUSH)
                p->bytes += s->n * in->unit;
        p->lat_ns_total += bf_now_ns() - s->t_submit_ns;
        int rc = p->done(p->ctx, s, status);
        if (rc < 0 && !p->error)
                p->error = rc;
}

/* Looked up once per fill pass: the thread may move to another CPU between
 * passes, and its I/Os then follow it to that CPU's queue. */
static uint32_t submit_queue(const struct bf_pump *p)
{
        int cpu = p->queue_by_cpu ? sched_getcpu() : -1;
        return cpu < 0 ? 0 : (uint32_t)cpu;
}

static int submit(struct bf_pump *p, struct bf_pump_slot *s, uint32_t queue)
{
        if (p->queue_by_cpu)
                return bf_submit_on(p->dev, queue, s->op, s->sector, s->n, s->buf, slot_done, s);
        return bf_submit(p->dev, s->op, s->sector, s->n, s->buf, slot_done, s);
}

static int fill(struct bf_pump *p, int *more)
{
        uint32_t queue = submit_queue(p);
        for (uint32_t i = 0; i < p->depth && *more && !p->error; i++) {
                struct bf_pump_slot *s = &p->slots[i];
                if (s->busy)
                        continue;
                if ((p->stop && *p->stop) || p->next(p->ctx, s) <= 0) {
                        *more = 0;
                        break;
                }
                s->busy = 1;
                s->t_submit_ns = bf_now_ns();
                int rc = submit(p, s, queue);
                if (rc < 0) {
                        s->busy = 0;
                        return rc;
                }
        }
        return 0;
}

static int busy_slots(const struct bf_pump *p)
{
        int n = 0;
        for (uint32_t i = 0; i < p->depth; i++)
                n += p->slots[i].busy;
        return n;
}

int bf_pump_run(struct bf_pump *p)
{
        int more = 1, rc = 0;

        p->slots = calloc(p->depth, sizeof(*p->slots));
        if (!p->slots)
                return -ENOMEM;
        for (uint32_t i = 0; i < p->depth; i++) {
                p->slots[i].pump = p;
                if (posix_memalign((void **)&p->slots[i].buf, 4096,
                                   p->buf_bytes ? p->buf_bytes : 1)) {
                        rc = -ENOMEM;
                        goto out;
                }
                memset(p->slots[i].buf, 0, p->buf_bytes ? p->buf_bytes : 1);
        }
        while ((more && !p->error) || busy_slots(p)) {
                if ((rc = fill(p, &more)) < 0)
                        more = 0;
                if (!busy_slots(p))
                        break;
                int prc = bf_poll(p->dev, 1000);
                if (prc < 0) {
                        rc = prc;
                        break;
                }
        }
out:
        for (uint32_t i = 0; i < p->depth; i++)
                free(p->slots[i].buf);
        free(p->slots);
        p->slots = NULL;
        if (rc == 0)
                rc = p->error;
        return rc;
}
