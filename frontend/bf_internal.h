/* Internals shared by the blkfront library's files: the device, its rings
 * (Linux's blkfront_ring_info), the per-slot shadow of a request in flight
 * (Linux's blk_shadow) and queued I/Os. Not for users of blkfront.h. */
#ifndef PVBACK_BF_INTERNAL_H
#define PVBACK_BF_INTERNAL_H

#include "blkfront.h"
#include "bf_split.h"
#include "fe_dyncap.h"

#define BF_SHADOW_FREE UINT32_MAX

struct bf_io {
        struct bf_io *next; /* the ring's FIFO of I/Os waiting for room */
        struct bf_dev *dev;
        enum bf_op op;
        uint8_t *buf;
        bf_done_fn done;
        void *arg;
        struct bf_split split;
        bool issued_all;      /* every request is on the ring */
        uint32_t outstanding; /* its requests on the ring */
        int status;           /* first error of its requests */
};

/* Completion of a raw request (hostile mode): the response as received. */
typedef void (*bf_raw_fn)(void *arg, const struct bf_rsp *rsp);

struct bf_shadow {
        uint32_t next_free; /* free-list link while unused */
        bool busy;
        uint8_t operation; /* as sent: a response must echo it */
        struct bf_io *io;  /* NULL for a raw request */
        bf_raw_fn raw_done;
        void *raw_arg;
        uint32_t nsegs;   /* data segments */
        uint32_t npages;  /* granted pages: data, then indirect */
        struct bf_seg_plan *segs; /* [max_segs] */
        struct bf_gnt **gnts;     /* [max_pages], persistent mode */
        uint32_t *refs;           /* [max_pages] */
        struct bf_gnt_batch batch; /* non-persistent mode */
};

union bf_front_ring {
        bf_x86_32_front_ring_t x86_32;
        bf_x86_64_front_ring_t x86_64;
};

struct bf_ring {
        struct bf_dev *dev;
        uint32_t index;
        uint32_t nr_pages;
        uint32_t refs[1u << BF_MAX_RING_ORDER];
        void *sring;
        union bf_front_ring fr;
        uint32_t port; /* local end, bound unbound to the backend */
        bool port_bound;
        struct bf_shadow *shadow;
        uint32_t free_head;
        uint32_t nr_free;
        struct bf_gnt_pool pool;
        struct bf_io *wait_head, *wait_tail; /* I/Os waiting for slots or grants */
        bool need_push;
};

struct bf_dev {
        struct bf_opts opts;
        struct bf_info info;
        struct bf_stats stats;
        const struct xh_provider *prov;
        struct xs_handle *xs;
        struct xh_gntshr *shr;
        struct xh_evtchn *ev;
        struct bf_ring *rings;
        uint32_t nr_rings;
        uint32_t max_segs;  /* per request: 11, or the indirect count */
        uint32_t max_pages; /* granted pages per request */
        uint32_t next_ring; /* round-robin for new I/Os */
        uint32_t inflight;  /* I/Os */
        int be_state;
        int dead; /* 0, or why nothing can be submitted any more (-ENOTCONN, -EPROTO) */
        bool connected;
        bool watching;
        char err[256]; /* first reason to give up, for the user */
        struct fe_dyncap dyncap;
};

/* ---- bf_ring.c: shared ring pages, event channel, shadow slots ---------- */
int bf_ring_setup(struct bf_dev *d, struct bf_ring *r, uint32_t index);
int bf_ring_alloc_shadow(struct bf_ring *r);
void bf_ring_teardown(struct bf_ring *r);
uint32_t bf_ring_size(const struct bf_ring *r);
bool bf_ring_full(const struct bf_ring *r);
/* Takes a free shadow slot; BF_SHADOW_FREE if none. */
uint32_t bf_ring_get_id(struct bf_ring *r);
void bf_ring_put_id(struct bf_ring *r, uint32_t id);
/* Encodes req at req_prod_pvt and advances it (not yet visible). */
void bf_ring_put_request(struct bf_ring *r, const struct bf_req *req);
/* Publishes queued requests; kicks the backend only if req_event asks. */
void bf_ring_push(struct bf_ring *r);
/* Consumes responses (Linux blkif_interrupt); returns completions run or
 * -EPROTO when the backend answered something it was never asked. */
int bf_ring_reap(struct bf_ring *r);
/* The ring's raw request index for hostile mode. */
void *bf_ring_sring(struct bf_ring *r);

/* ---- bf_req.c: I/O → requests, grants, completion ------------------------- */
/* Puts as many of io's requests on its ring as slots and grants allow;
 * returns 1 when all are issued, 0 when it must wait, -errno on failure. */
int bf_req_issue(struct bf_ring *r, struct bf_io *io);
/* Handles one response for shadow slot id (already validated). */
void bf_req_complete(struct bf_ring *r, uint32_t id, const struct bf_rsp *rsp);
/* Fails a request the backend will never answer (disconnect). */
void bf_req_abort(struct bf_ring *r, uint32_t id, int status);

/* ---- bf_dev.c --------------------------------------------------------- */
void bf_io_request_done(struct bf_io *io, int status);
/* Retries the ring's waiting I/Os (after completions freed room). */
int bf_dev_kick_ring(struct bf_ring *r);
void bf_dev_fail(struct bf_dev *d, int why, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Queues a request built by the caller (hostile mode) on ring 0, bypassing
 * validation; done() gets the raw response. Returns the slot id or -errno. */
int bf_dev_raw_submit(struct bf_dev *d, struct bf_req *req, bf_raw_fn done, void *arg);

/* ---- bf_xs.c: xenbus handshake ------------------------------------------ */
int bf_xs_attach(struct bf_dev *d);
int bf_xs_wait_initwait(struct bf_dev *d);
int bf_xs_read_backend_limits(struct bf_dev *d);
int bf_xs_publish(struct bf_dev *d);
int bf_xs_wait_connected(struct bf_dev *d);
int bf_xs_read_connect_info(struct bf_dev *d);
int bf_xs_switch_state(struct bf_dev *d, int state);
/* Drains watch events and re-reads the backend state; returns it. */
int bf_xs_check(struct bf_dev *d);
/* Waits until pred(backend state) or timeout. */
int bf_xs_wait_backend(struct bf_dev *d, bool (*pred)(int state), int timeout_ms);
void bf_xs_detach(struct bf_dev *d);

#endif
