/* blkif request validation: a raw request copied out of the ring -> a
 * validated bb_req or the status to answer with. Pure: no grant operations,
 * no I/O, no logging. Checks follow Linux xen-blkback dispatch_rw_block_io,
 * xen_blkbk_parse_indirect, xen_vbd_translate and dispatch_discard_io. */
#ifndef PVBACK_BB_REQ_H
#define PVBACK_BB_REQ_H

#include <stdbool.h>
#include <stdint.h>

#include "blkback/bb_abi.h"

/* What the device can do, as published to this frontend. */
struct bb_vbd_limits {
        uint64_t sectors;            /* size in 512-byte sectors */
        uint32_t sector_size;        /* published sector-size: 512 or larger */
        uint32_t max_indirect_segs;  /* 0: feature-max-indirect-segments not offered */
        bool readonly;               /* mode r */
        bool flush;                  /* feature-flush-cache / feature-barrier */
        bool discard;                /* feature-discard */
        bool discard_secure;         /* discard-secure */
};

enum bb_op {
        BB_OP_READ,
        BB_OP_WRITE,
        BB_OP_FLUSH,   /* FLUSH_DISKCACHE: flush, then the write if it has segments */
        BB_OP_BARRIER, /* WRITE_BARRIER: drain, flush, write, flush */
        BB_OP_DISCARD,
};

enum bb_verdict {
        BB_REQ_OK,        /* valid: perform it */
        BB_REQ_INDIRECT,  /* header valid; fetch the indirect pages, then bb_req_parse_indirect */
        BB_REQ_ERROR,     /* answer BLKIF_RSP_ERROR */
        BB_REQ_EOPNOTSUPP,/* answer BLKIF_RSP_EOPNOTSUPP */
};

enum bb_reason {
        BB_R_NONE,
        BB_R_UNKNOWN_OP,      /* eopnotsupp: operation not in blkif.h (or RESERVED_1) */
        BB_R_NO_FLUSH,        /* eopnotsupp: flush/barrier on a device without it */
        BB_R_NO_DISCARD,      /* eopnotsupp: discard not offered */
        BB_R_NO_SECURE,       /* eopnotsupp: secure discard not offered */
        BB_R_NO_INDIRECT,     /* eopnotsupp: indirect not offered */
        BB_R_INDIRECT_OP,     /* error: indirect_op not READ/WRITE */
        BB_R_NSEG,            /* error: nr_segments outside 1..limit (0 ok for flush) */
        BB_R_SECT,            /* error: first_sect > last_sect or last_sect >= 8 */
        BB_R_RANGE,           /* error: beyond the end of the device (or wraps) */
        BB_R_ALIGN,           /* error: not aligned to sector-size */
        BB_R_READONLY,        /* error: write to a read-only device */
};

/* One segment: a granted page and the bytes of it the request uses. */
struct bb_seg {
        uint32_t gref;
        uint16_t offset; /* first_sect * 512 */
        uint16_t len;    /* (last_sect - first_sect + 1) * 512 */
};

struct bb_req {
        uint64_t id;
        uint8_t rsp_op;   /* echoed in the response: the operation, indirect_op for INDIRECT */
        enum bb_op op;
        bool secure;      /* discard: BLKIF_DISCARD_SECURE */
        bool indirect;
        uint64_t sector;  /* 512-byte units */
        uint64_t nr_sectors;
        uint32_t nr_segs;
        uint32_t nr_indirect;
        uint32_t indirect_grefs[BB_MAX_INDIRECT_PAGES];
        struct bb_seg seg[BB_MAX_INDIRECT_SEGS];
};

/* Whether the request moves data from the guest to the disk. */
static inline bool bb_op_writes(enum bb_op op)
{
        return op != BB_OP_READ;
}

/* Validates the header (and the inline segments of a direct request). On
 * BB_REQ_INDIRECT, req has nr_segs and the indirect grefs; everything else
 * waits for the segment descriptors. *why says why on ERROR/EOPNOTSUPP. */
enum bb_verdict bb_req_parse(const struct bb_raw_req *raw, const struct bb_vbd_limits *lim,
                             struct bb_req *req, enum bb_reason *why);
/* Second step of an indirect request: the descriptors are read from `pages`
 * (each copied once into req->seg, so shared memory may be passed), then
 * validated with the range as for a direct request. */
enum bb_verdict bb_req_parse_indirect(const void *const pages[], const struct bb_vbd_limits *lim,
                                      struct bb_req *req, enum bb_reason *why);
/* BLKIF_RSP_* for a verdict. */
int16_t bb_verdict_status(enum bb_verdict v);
const char *bb_reason_str(enum bb_reason why);

#endif
