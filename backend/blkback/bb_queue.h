/* One blkif queue (ring + event channel) on its worker: drains requests,
 * fetches data by grant copy or through persistent grants, runs the I/O
 * engine and answers. Everything here runs on the owning worker; the
 * control thread only starts and stops queues (worker_call inside). */
#ifndef PVBACK_BB_QUEUE_H
#define PVBACK_BB_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "be_dev.h"
#include "blkback/bb_abi.h"
#include "blkback/bb_engine.h"
#include "blkback/bb_req.h"

struct worker;
struct bb_queue;

struct bb_queue_config {
        struct be_dev *dev;        /* for reporting a protocol violation */
        unsigned index;
        uint16_t fedom;
        enum bb_abi abi;
        unsigned nr_ring_pages;
        uint32_t ring_refs[BB_MAX_RING_PAGES];
        uint32_t evtchn;           /* the frontend's port */
        bool persistent;
        uint32_t max_pgrants;
        uint32_t pgrant_idle_ms;
        uint32_t max_buffer_pages; /* bounce pages kept for reuse */
        enum bb_engine_kind engine;
};

struct bb_queue_stats {
        uint64_t requests;       /* answered */
        uint64_t errors;         /* answered with a status other than OKAY */
        uint64_t segments;
        uint64_t copy_calls;     /* xh_gnttab_copy calls */
        uint64_t copy_segs;
        uint64_t maps, unmaps;   /* persistent-grant map/unmap calls */
        uint64_t pgrant_hits, pgrant_misses;
        uint64_t notifies;
        uint64_t io_submits;     /* engine submit calls */
        uint64_t io_ops;
        char engine[16];
};

/* Maps the ring, binds the event channel and starts serving on w. */
int bb_queue_start(const struct bb_queue_config *cfg, struct worker *w, struct bb_queue **out);
/* Stops taking requests, waits for the I/O in flight and answers it, then
 * unmaps and unbinds everything and frees q. */
void bb_queue_stop(struct bb_queue *q);
/* A snapshot of the counters (taken on the worker). */
void bb_queue_get_stats(struct bb_queue *q, struct bb_queue_stats *st);
/* How full a queue is, as its worker sees it at one moment. */
struct bb_queue_occupancy {
        unsigned ring_size;    /* requests the ring holds */
        unsigned ring_pending; /* published by the frontend, not taken yet */
        bool ring_bogus;       /* the frontend's req_prod makes no sense */
        unsigned inflight;     /* taken and not yet answered */
        unsigned io_inflight;  /* ... of which with an engine operation out */
};
/* Taken on the worker, like bb_queue_get_stats. */
void bb_queue_get_occupancy(struct bb_queue *q, struct bb_queue_occupancy *o);
/* What requests are checked against and where they go: set before the
 * frontend is told Connected and again on resize (runs on the worker, so
 * the data path reads its own copy without locks). Until it is set (fd -1,
 * no sectors) every request fails. Then the ring is re-checked. */
void bb_queue_set_backing(struct bb_queue *q, const struct bb_vbd_limits *lim, int fd,
                          bool blkdev);

#endif
