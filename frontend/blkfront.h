/* libpvfront's block frontend: attaches to device/vbd/<devid> of the domain the
 * process runs in, negotiates with the backend as Linux xen-blkfront does
 * (every feature behind a switch), and moves I/O through the shared rings.
 * Single-threaded: one caller drives submission and bf_poll(). */
#ifndef PVBACK_BLKFRONT_H
#define PVBACK_BLKFRONT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bf_abi.h"
#include "bf_gnt.h"

/* Linux blkfront's module defaults (xen_blkif_max_queues = 4,
 * xen_blkif_max_ring_order = 0, xen_blkif_max_segments = 32). */
#define BF_DEFAULT_QUEUES        4u
#define BF_DEFAULT_INDIRECT_SEGS 32u
#define BF_MAX_QUEUES            64u
#define BF_MAX_RING_ORDER        4u /* XENBUS_MAX_RING_GRANT_ORDER */
#define BF_DEFAULT_TIMEOUT_MS    10000 /* libxl's LIBXL_INIT_TIMEOUT */

struct bf_opts {
        uint32_t devid;          /* device/vbd/<devid> */
        uint32_t queues;         /* wanted; clamped to the backend's max as Linux does */
        int ring_order;          /* wanted; -1 = the backend's max; clamped likewise */
        bool indirect;           /* use indirect descriptors if offered */
        uint32_t indirect_segs;  /* segments per indirect request (≤ 4096) */
        bool persistent;         /* write feature-persistent=1 and reuse grants */
        enum bf_abi abi;         /* layout written as `protocol` */
        bool large_sectors;      /* write feature-large-sector-size=1 */
        uint32_t page_off;       /* each I/O's buffer starts this many sectors into a page */
        uint32_t grant_limit;    /* persistent grants per ring, 0 = no limit */
        int timeout_ms;          /* per handshake step */
        const char *provider;    /* hypervisor seam provider, NULL = auto */
        const volatile sig_atomic_t *stop; /* handshake waits give up (-EINTR) once set */
        /* pvback's dynamic capability exchange (fe_dyncap.h): follow it when
         * the backend offers it (default); off behaves as a standard
         * frontend. prefer: capabilities-preference to write, or NULL;
         * dyncap_report: where each applied generation is printed, or NULL. */
        bool dyncap;
        const char *prefer;
        FILE *dyncap_report;
};

/* What was negotiated and what the backend published at Connected. */
struct bf_info {
        uint16_t self;
        uint16_t backend_id;
        char fe_dir[128];
        char be_dir[256];
        /* negotiated */
        uint32_t nr_queues;
        uint32_t ring_order;
        uint32_t ring_size; /* slots per ring */
        enum bf_abi abi;
        bool persistent;        /* both sides */
        uint32_t indirect_segs; /* 0: indirect not used */
        bool large_sectors;
        uint32_t unit; /* bytes per protocol sector: 512, or sector-size when large */
        /* published by the backend */
        uint64_t sectors; /* in `unit`s */
        uint32_t sector_size;
        uint32_t physical_sector_size;
        uint32_t info; /* VDISK_* */
        bool flush_cache;
        bool barrier;
        bool discard;
        bool discard_secure;
        uint32_t discard_granularity;
        uint32_t discard_alignment;
        uint32_t be_max_queues;
        uint32_t be_max_ring_order;
        uint32_t be_max_indirect;
        bool be_persistent;
};

struct bf_stats {
        uint64_t ios;
        uint64_t requests;
        uint64_t segments;
        uint64_t indirect_requests;
        uint64_t notifies;    /* event channel kicks sent */
        uint64_t suppressed;  /* pushes that needed no kick (req_event) */
        uint64_t events;      /* event channel wake-ups received */
        uint64_t responses;
        uint64_t errors;      /* responses with status != OKAY */
        struct bf_gnt_stats gnt;
};

enum bf_op {
        BF_OP_READ,
        BF_OP_WRITE,
        BF_OP_WRITE_BARRIER, /* a write ordered after all earlier ones (no data: a barrier) */
        BF_OP_FLUSH,
        BF_OP_DISCARD,
        BF_OP_SECURE_DISCARD,
};

/* Completion: 0, -EIO (BLKIF_RSP_ERROR), -EOPNOTSUPP (BLKIF_RSP_EOPNOTSUPP),
 * -ENOTCONN (the backend left with the I/O in flight) or -EPROTO (the backend
 * broke the protocol). */
typedef void (*bf_done_fn)(void *arg, int status);

struct bf_dev;

/* The Linux blkfront defaults above, x86_64-abi, persistent and indirect on. */
void bf_opts_default(struct bf_opts *o);
/* Attaches, negotiates and connects. On failure writes a sentence into err. */
int bf_open(const struct bf_opts *o, struct bf_dev **out, char *err, size_t errlen);
const struct bf_info *bf_info(const struct bf_dev *d);
const struct bf_stats *bf_stats(const struct bf_dev *d);
/* One I/O of nsectors protocol sectors (bf_info()->unit bytes each) at
 * `sector`; buf holds nsectors*unit bytes (none for flush/discard/empty
 * barrier). Split into as many requests as needed and queued; done() runs
 * from bf_poll(). -EINVAL for a range beyond the disk, -EOPNOTSUPP for an
 * operation the backend did not offer, -ENOTCONN once disconnected. */
int bf_submit(struct bf_dev *d, enum bf_op op, uint64_t sector, uint64_t nsectors, void *buf,
              bf_done_fn done, void *arg);
/* bf_submit onto queue `queue` (modulo the queues negotiated) rather than
 * the next one in turn: a guest's blk-mq sends what one CPU submits to that
 * CPU's queue. */
int bf_submit_on(struct bf_dev *d, uint32_t queue, enum bf_op op, uint64_t sector,
                 uint64_t nsectors, void *buf, bf_done_fn done, void *arg);
/* Waits up to timeout_ms (-1: forever) for the backend, handles responses and
 * xenstore changes, runs completions. Returns completions run, or -errno
 * (-ENOTCONN when the backend left Connected). */
int bf_poll(struct bf_dev *d, int timeout_ms);
/* I/Os submitted and not completed. */
uint32_t bf_inflight(const struct bf_dev *d);
/* bf_poll() until nothing is in flight; -ETIMEDOUT after timeout_ms. */
int bf_drain(struct bf_dev *d, int timeout_ms);
/* Backend state as last seen (enum xenbus_state). */
int bf_backend_state(const struct bf_dev *d);
struct fe_dyncap;
/* The dynamic capabilities last applied and acknowledged (fe_dyncap.h). */
const struct fe_dyncap *bf_dyncap(const struct bf_dev *d);
/* Frontend Closing, wait for the backend to let go, end every grant, then
 * Closed; frees d. Returns the first error seen. */
int bf_close(struct bf_dev *d);
const char *bf_op_name(enum bf_op op);

#endif
