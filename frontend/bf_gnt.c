/* Implementation of bf_gnt.h. A pool grows a chunk of pages at a time but
 * hands them out one by one, so the LIFO order is per page as in Linux. */
#include "bf_gnt.h"

#include <errno.h>
#include <stdlib.h>

struct bf_gnt_chunk {
        struct bf_gnt_chunk *next;
        void *addr;
        uint32_t count;
        struct bf_gnt g[];
};

void bf_gnt_pool_init(struct bf_gnt_pool *p, struct xh_gntshr *shr, uint32_t domid,
                      uint32_t limit, struct bf_gnt_stats *st)
{
        *p = (struct bf_gnt_pool){.shr = shr, .domid = domid, .limit = limit, .st = st};
}

static int pool_grow(struct bf_gnt_pool *p)
{
        uint32_t n = BF_GNT_CHUNK, refs[BF_GNT_CHUNK];
        if (p->limit && p->total + n > p->limit)
                n = p->limit - p->total;
        if (n == 0)
                return -ENOSPC;
        struct bf_gnt_chunk *c = calloc(1, sizeof(*c) + n * sizeof(struct bf_gnt));
        if (!c)
                return -ENOMEM;
        int rc = xh_gntshr_share(p->shr, p->domid, n, refs, true, &c->addr);
        p->st->share_calls++;
        if (rc < 0) {
                free(c);
                return rc == -ENOMEM || rc == -ENOSPC ? -ENOSPC : rc;
        }
        c->count = n;
        p->st->granted += n;
        /* Pushed in reverse so the first page comes out first. */
        for (uint32_t i = n; i-- > 0;) {
                c->g[i] = (struct bf_gnt){.page = (uint8_t *)c->addr + (size_t)i * XH_PAGE_SIZE,
                                          .ref = refs[i],
                                          .next = p->free};
                p->free = &c->g[i];
        }
        c->next = p->chunks;
        p->chunks = c;
        p->total += n;
        return 0;
}

int bf_gnt_pool_get(struct bf_gnt_pool *p, struct bf_gnt **out)
{
        if (!p->free) {
                int rc = pool_grow(p);
                if (rc < 0)
                        return rc;
        }
        struct bf_gnt *g = p->free;
        p->free = g->next;
        g->next = NULL;
        if (g->used)
                p->st->reused++;
        else
                p->st->fresh++;
        g->used = true;
        *out = g;
        return 0;
}

void bf_gnt_pool_put(struct bf_gnt_pool *p, struct bf_gnt *g)
{
        g->next = p->free;
        p->free = g;
}

void bf_gnt_pool_destroy(struct bf_gnt_pool *p)
{
        while (p->chunks) {
                struct bf_gnt_chunk *c = p->chunks;
                p->chunks = c->next;
                if (xh_gntshr_unshare(p->shr, c->addr, c->count) == 0)
                        p->st->ended += c->count;
                p->st->unshare_calls++;
                free(c);
        }
        p->free = NULL;
        p->total = 0;
}

int bf_gnt_batch_share(struct xh_gntshr *shr, uint32_t domid, uint32_t count, bool writable,
                       uint32_t *refs, struct bf_gnt_batch *b, struct bf_gnt_stats *st)
{
        int rc = xh_gntshr_share(shr, domid, count, refs, writable, &b->addr);
        st->share_calls++;
        if (rc < 0)
                return rc == -ENOMEM || rc == -ENOSPC ? -ENOSPC : rc;
        b->count = count;
        st->granted += count;
        return 0;
}

void bf_gnt_batch_end(struct xh_gntshr *shr, struct bf_gnt_batch *b, struct bf_gnt_stats *st)
{
        if (!b->addr)
                return;
        if (xh_gntshr_unshare(shr, b->addr, b->count) == 0)
                st->ended += b->count;
        st->unshare_calls++;
        b->addr = NULL;
        b->count = 0;
}
