/* The load workload: random or sequential I/O of one block size at a queue
 * depth, a read/write mix, for a duration or a count; reports IOPS,
 * throughput, latency and the grant and notification work per request. */
#ifndef PVBACK_BF_LOAD_H
#define PVBACK_BF_LOAD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "blkfront.h"

struct bf_load_opts {
        bool random;
        uint32_t read_pct; /* 0..100 */
        uint32_t io_bytes;
        uint32_t depth;
        double duration_s; /* 0: use count */
        uint64_t count;    /* I/Os; 0: use duration */
        uint64_t start;    /* 512-byte sectors */
        uint64_t span;     /* 512-byte sectors; 0 = to the end of the disk */
        uint64_t seed;
        const volatile sig_atomic_t *stop;
};

struct bf_load_result {
        uint64_t ios, reads, writes, errors, bytes;
        double secs, iops, mib_s, avg_lat_us;
        double grants_per_req;      /* refs granted + ended per request */
        double grant_calls_per_req; /* share + unshare calls per request */
        double notifies_per_req;
        double persistent_hit_pct;  /* persistent pages served again */
};

int bf_load_run(struct bf_dev *d, const struct bf_load_opts *o, struct bf_load_result *res);
void bf_load_print(const struct bf_load_result *r, FILE *out);

#endif
