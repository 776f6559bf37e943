/* Persistent-grant cache of one blkif ring: grants mapped once and kept,
 * found by gref, evicted least-recently-used first, never while a request
 * uses them. Pure bookkeeping: the caller maps and unmaps (Linux xen-blkback
 * persistent_gnt rb-tree and purge_persistent_gnt). */
#ifndef PVBACK_BB_PGRANT_H
#define PVBACK_BB_PGRANT_H

#include <stdbool.h>
#include <stdint.h>

/* Linux max_persistent_grants default (per ring) and its idle timeout. */
#define BB_PGRANT_MAX_DEFAULT 1056u
#define BB_PGRANT_IDLE_MS_DEFAULT 60000u
/* Linux LRU_INTERVAL and LRU_PERCENT_CLEAN. */
#define BB_PGRANT_PURGE_INTERVAL_MS 100u
#define BB_PGRANT_PERCENT_CLEAN 5u

struct bb_pgrant {
        uint32_t gref;
        void *addr;          /* the page as the caller mapped it */
        uint32_t users;      /* requests in flight on it */
        uint64_t last_used;  /* ms, when the last user let go */
        struct bb_pgrant *hnext;
        struct bb_pgrant *prev, *next; /* LRU order, least recent first */
};

struct bb_pgrant_stats {
        uint64_t hits, misses, added, refused, purged;
};

struct bb_pgrant_cache {
        uint32_t max;
        uint32_t count;
        uint32_t idle_ms;
        bool overflow;       /* a grant was refused since the last purge */
        uint32_t nbuckets;   /* power of two */
        struct bb_pgrant **buckets;
        struct bb_pgrant *head, *tail;
        struct bb_pgrant_stats st;
};

int bb_pgrant_cache_init(struct bb_pgrant_cache *c, uint32_t max, uint32_t idle_ms);
/* Frees the bookkeeping; every entry must have been taken out first
 * (bb_pgrant_take_all). */
void bb_pgrant_cache_fini(struct bb_pgrant_cache *c);

/* Looks gref up; on a hit the entry gains a user. Counts hits and misses. */
struct bb_pgrant *bb_pgrant_get(struct bb_pgrant_cache *c, uint32_t gref);
/* Whether a missed grant may be added (below max); when not, notes the
 * overflow so the next purge makes room, as Linux's overflow_max_grants. */
bool bb_pgrant_may_add(struct bb_pgrant_cache *c);
/* Adds a freshly mapped grant with one user. -ENOMEM, -EEXIST, -ENOSPC. */
int bb_pgrant_add(struct bb_pgrant_cache *c, uint32_t gref, void *addr, struct bb_pgrant **out);
/* A request is done with the entry. */
void bb_pgrant_put(struct bb_pgrant_cache *c, struct bb_pgrant *pg, uint64_t now_ms);

/* Takes out grants idle longer than idle_ms and, when the cache is at its
 * limit, enough of the least recently used others to get 5 % below it;
 * grants in use stay. Returns how many were put in victims[] (at most
 * nvictims); the caller unmaps each and frees it with free(). */
uint32_t bb_pgrant_purge(struct bb_pgrant_cache *c, uint64_t now_ms, struct bb_pgrant **victims,
                         uint32_t nvictims);
/* Takes out every entry not in use (teardown); returns the count as purge. */
uint32_t bb_pgrant_take_all(struct bb_pgrant_cache *c, struct bb_pgrant **victims,
                            uint32_t nvictims);

#endif
