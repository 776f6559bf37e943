/* Grants for I/O pages. Persistent mode keeps a per-ring pool of granted
 * pages reused LIFO, as Linux blkfront's rinfo->grants list (get_free_grant
 * takes the head, completion puts it back at the head) so the backend's LRU of
 * mappings stays warm. Otherwise each request shares fresh pages and ends the
 * grants on completion (gnttab_end_foreign_access in Linux). */
#ifndef PVBACK_BF_GNT_H
#define PVBACK_BF_GNT_H

#include <stdbool.h>
#include <stdint.h>

#include "xh.h"

/* Counted grant-table work: the figures that carry over to real Xen. */
struct bf_gnt_stats {
        uint64_t granted;       /* refs granted */
        uint64_t ended;         /* refs whose access was ended */
        uint64_t share_calls;   /* xh_gntshr_share calls */
        uint64_t unshare_calls; /* xh_gntshr_unshare calls */
        uint64_t reused;        /* persistent pages served again */
        uint64_t fresh;         /* persistent pages served for the first time */
};

struct bf_gnt {
        struct bf_gnt *next;
        void *page;
        uint32_t ref;
        bool used; /* served at least once */
};

struct bf_gnt_chunk;

struct bf_gnt_pool {
        struct xh_gntshr *shr;
        uint32_t domid;
        struct bf_gnt *free; /* LIFO */
        struct bf_gnt_chunk *chunks;
        uint32_t total;
        uint32_t limit; /* most grants the pool may hold (0: no limit) */
        struct bf_gnt_stats *st;
};

/* Pages shared per growth step of a pool: one share call, many grants. */
#define BF_GNT_CHUNK 16u

void bf_gnt_pool_init(struct bf_gnt_pool *p, struct xh_gntshr *shr, uint32_t domid,
                      uint32_t limit, struct bf_gnt_stats *st);
/* A granted read-write page (the protocol requires persistent grants to be
 * writable); grows the pool when empty. -ENOSPC at the limit or when the grant
 * table is full: the caller waits for completions. */
int bf_gnt_pool_get(struct bf_gnt_pool *p, struct bf_gnt **out);
void bf_gnt_pool_put(struct bf_gnt_pool *p, struct bf_gnt *g);
/* Ends every grant; call only once the backend has unmapped (after it left
 * Connected). */
void bf_gnt_pool_destroy(struct bf_gnt_pool *p);

/* Non-persistent pages of one request: one share call, one unshare. */
struct bf_gnt_batch {
        void *addr;
        uint32_t count;
};
int bf_gnt_batch_share(struct xh_gntshr *shr, uint32_t domid, uint32_t count, bool writable,
                       uint32_t *refs, struct bf_gnt_batch *b, struct bf_gnt_stats *st);
void bf_gnt_batch_end(struct xh_gntshr *shr, struct bf_gnt_batch *b, struct bf_gnt_stats *st);

#endif
