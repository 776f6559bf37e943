/* Persistent-grant cache: a hash of chains keyed by gref plus an exact LRU
 * list. Linux keeps an rb-tree and approximates LRU with an "active" flag;
 * an exact list costs two pointers per grant and makes the victim order
 * testable. Eviction rules are Linux's (purge_persistent_gnt). */
#include "blkback/bb_pgrant.h"

#include <errno.h>
#include <stdlib.h>

static uint32_t bucket_of(const struct bb_pgrant_cache *c, uint32_t gref)
{
        /* Frontends hand out grefs densely; a multiplicative hash spreads
         * runs of them over the buckets. */
        return (gref * 2654435761u) & (c->nbuckets - 1);
}

int bb_pgrant_cache_init(struct bb_pgrant_cache *c, uint32_t max, uint32_t idle_ms)
{
        uint32_t n = 16;

        *c = (struct bb_pgrant_cache){.max = max, .idle_ms = idle_ms};
        while (n < 2 * max && n < (1u << 20))
                n <<= 1;
        c->buckets = calloc(n, sizeof(*c->buckets));
        if (!c->buckets)
                return -ENOMEM;
        c->nbuckets = n;
        return 0;
}

void bb_pgrant_cache_fini(struct bb_pgrant_cache *c)
{
        free(c->buckets);
        c->buckets = NULL;
        c->nbuckets = 0;
}

static void lru_unlink(struct bb_pgrant_cache *c, struct bb_pgrant *pg)
{
        if (pg->prev)
                pg->prev->next = pg->next;
        else
                c->head = pg->next;
        if (pg->next)
                pg->next->prev = pg->prev;
        else
                c->tail = pg->prev;
        pg->prev = pg->next = NULL;
}

static void lru_append(struct bb_pgrant_cache *c, struct bb_pgrant *pg)
{
        pg->prev = c->tail;
        pg->next = NULL;
        if (c->tail)
                c->tail->next = pg;
        else
                c->head = pg;
        c->tail = pg;
}

static struct bb_pgrant *lookup(const struct bb_pgrant_cache *c, uint32_t gref)
{
        for (struct bb_pgrant *pg = c->buckets[bucket_of(c, gref)]; pg; pg = pg->hnext)
                if (pg->gref == gref)
                        return pg;
        return NULL;
}

struct bb_pgrant *bb_pgrant_get(struct bb_pgrant_cache *c, uint32_t gref)
{
        struct bb_pgrant *pg = lookup(c, gref);
        if (!pg) {
                c->st.misses++;
                return NULL;
        }
        c->st.hits++;
        pg->users++;
        return pg;
}

bool bb_pgrant_may_add(struct bb_pgrant_cache *c)
{
        if (c->count < c->max)
                return true;
        c->overflow = true;
        c->st.refused++;
        return false;
}

int bb_pgrant_add(struct bb_pgrant_cache *c, uint32_t gref, void *addr, struct bb_pgrant **out)
{
        struct bb_pgrant *pg;
        uint32_t b = bucket_of(c, gref);

        if (c->count >= c->max)
                return -ENOSPC;
        if (lookup(c, gref))
                return -EEXIST;
        pg = calloc(1, sizeof(*pg));
        if (!pg)
                return -ENOMEM;
        pg->gref = gref;
        pg->addr = addr;
        pg->users = 1;
        pg->hnext = c->buckets[b];
        c->buckets[b] = pg;
        lru_append(c, pg);
        c->count++;
        c->st.added++;
        *out = pg;
        return 0;
}

void bb_pgrant_put(struct bb_pgrant_cache *c, struct bb_pgrant *pg, uint64_t now_ms)
{
        if (pg->users)
                pg->users--;
        pg->last_used = now_ms;
        /* Most recently used goes last: eviction walks from the head. */
        lru_unlink(c, pg);
        lru_append(c, pg);
}

static void remove_entry(struct bb_pgrant_cache *c, struct bb_pgrant *pg)
{
        struct bb_pgrant **pp = &c->buckets[bucket_of(c, pg->gref)];
        while (*pp != pg)
                pp = &(*pp)->hnext;
        *pp = pg->hnext;
        lru_unlink(c, pg);
        c->count--;
}

uint32_t bb_pgrant_purge(struct bb_pgrant_cache *c, uint64_t now_ms, struct bb_pgrant **victims,
                         uint32_t nvictims)
{
        uint32_t n = 0, want = 0;
        struct bb_pgrant *pg, *next;

        /* Linux purges used grants only once the ring reached the limit
         * (or overflowed it): the overflow plus LRU_PERCENT_CLEAN of max. */
        if (c->count > c->max || (c->count == c->max && c->overflow)) {
                want = c->count - c->max + c->max / 100 * BB_PGRANT_PERCENT_CLEAN;
                if (want == 0)
                        want = 1;
        }
        c->overflow = false;
        for (pg = c->head; pg && n < nvictims; pg = next) {
                next = pg->next;
                if (pg->users)
                        continue;
                bool idle = now_ms - pg->last_used >= c->idle_ms;
                if (!idle && n >= want)
                        continue;
                remove_entry(c, pg);
                victims[n++] = pg;
        }
        c->st.purged += n;
        return n;
}

uint32_t bb_pgrant_take_all(struct bb_pgrant_cache *c, struct bb_pgrant **victims,
                            uint32_t nvictims)
{
        uint32_t n = 0;
        struct bb_pgrant *pg, *next;

        for (pg = c->head; pg && n < nvictims; pg = next) {
                next = pg->next;
                if (pg->users)
                        continue;
                remove_entry(c, pg);
                victims[n++] = pg;
        }
        return n;
}
