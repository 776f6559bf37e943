/* Validation of blkif requests, pure. Which check answers ERROR and which
 * EOPNOTSUPP follows Linux xen-blkback (blkback.c); none is fatal: a bad
 * request costs the frontend that request only. Ring-level violations are
 * bb_abi.c's. */
#include "blkback/bb_req.h"

#include <string.h>

static enum bb_verdict fail(enum bb_verdict v, enum bb_reason r, enum bb_reason *why)
{
        *why = r;
        return v;
}

/* xen_vbd_translate: writes to a read-only vbd, ranges past the end or that
 * wrap, and (dispatch_rw_block_io) ranges not aligned to the logical block. */
static enum bb_verdict check_range(const struct bb_vbd_limits *lim, const struct bb_req *req,
                                   enum bb_reason *why)
{
        uint64_t end = req->sector + req->nr_sectors;
        uint64_t mask = (lim->sector_size >> BB_SECTOR_SHIFT) - 1;

        if (bb_op_writes(req->op) && lim->readonly)
                return fail(BB_REQ_ERROR, BB_R_READONLY, why);
        if (req->nr_sectors && (end < req->sector || end > lim->sectors))
                return fail(BB_REQ_ERROR, BB_R_RANGE, why);
        /* A flush without data names no range. */
        if (req->nr_sectors && ((req->sector | req->nr_sectors) & mask))
                return fail(BB_REQ_ERROR, BB_R_ALIGN, why);
        return BB_REQ_OK;
}

/* Copies one descriptor (a single read of shared memory) and checks it. */
static bool take_seg(const struct blkif_request_segment *src, struct bb_seg *dst,
                     uint64_t *nr_sectors)
{
        struct blkif_request_segment s;

        memcpy(&s, src, sizeof(s));
        __asm__ __volatile__("" ::: "memory");
        if (s.last_sect >= BB_SECTORS_PER_PAGE || s.last_sect < s.first_sect)
                return false;
        dst->gref = s.gref;
        dst->offset = (uint16_t)(s.first_sect << BB_SECTOR_SHIFT);
        dst->len = (uint16_t)((s.last_sect - s.first_sect + 1u) << BB_SECTOR_SHIFT);
        *nr_sectors += s.last_sect - s.first_sect + 1u;
        return true;
}

static enum bb_verdict parse_discard(const struct bb_raw_req *raw, const struct bb_vbd_limits *lim,
                                     struct bb_req *req, enum bb_reason *why)
{
        req->op = BB_OP_DISCARD;
        req->secure = raw->discard_flag & BLKIF_DISCARD_SECURE;
        req->sector = raw->sector_number;
        req->nr_sectors = raw->nr_sectors;
        if (!lim->discard)
                return fail(BB_REQ_EOPNOTSUPP, BB_R_NO_DISCARD, why);
        /* dispatch_discard_io refuses secure discard the vbd cannot do. */
        if (req->secure && !lim->discard_secure)
                return fail(BB_REQ_EOPNOTSUPP, BB_R_NO_SECURE, why);
        return check_range(lim, req, why);
}

enum bb_verdict bb_req_parse(const struct bb_raw_req *raw, const struct bb_vbd_limits *lim,
                             struct bb_req *req, enum bb_reason *why)
{
        unsigned max_segs = BLKIF_MAX_SEGMENTS_PER_REQUEST;
        uint8_t op = raw->operation;

        *why = BB_R_NONE;
        req->id = raw->id;
        req->rsp_op = raw->operation;
        req->secure = false;
        req->indirect = false;
        req->sector = raw->sector_number;
        req->nr_sectors = 0;
        req->nr_segs = 0;
        req->nr_indirect = 0;

        switch (op) {
        case BLKIF_OP_READ:
                req->op = BB_OP_READ;
                break;
        case BLKIF_OP_WRITE:
                req->op = BB_OP_WRITE;
                break;
        case BLKIF_OP_WRITE_BARRIER:
                req->op = BB_OP_BARRIER;
                break;
        case BLKIF_OP_FLUSH_DISKCACHE:
                req->op = BB_OP_FLUSH;
                break;
        case BLKIF_OP_DISCARD:
                return parse_discard(raw, lim, req, why);
        case BLKIF_OP_INDIRECT:
                /* Linux answers with the inner operation (req_operation),
                 * which is what blkfront's completion switch expects. */
                req->rsp_op = raw->indirect_op;
                if (!lim->max_indirect_segs)
                        return fail(BB_REQ_EOPNOTSUPP, BB_R_NO_INDIRECT, why);
                if (raw->indirect_op != BLKIF_OP_READ && raw->indirect_op != BLKIF_OP_WRITE)
                        return fail(BB_REQ_ERROR, BB_R_INDIRECT_OP, why);
                req->op = raw->indirect_op == BLKIF_OP_READ ? BB_OP_READ : BB_OP_WRITE;
                req->indirect = true;
                max_segs = lim->max_indirect_segs;
                break;
        default:
                /* dispatch_other_io: "unknown operation". */
                return fail(BB_REQ_EOPNOTSUPP, BB_R_UNKNOWN_OP, why);
        }

        if ((req->op == BB_OP_FLUSH || req->op == BB_OP_BARRIER) && !lim->flush)
                return fail(BB_REQ_EOPNOTSUPP, BB_R_NO_FLUSH, why);
        /* Only a flush (Linux: REQ_PREFLUSH, i.e. flush and barrier) may
         * come without segments. */
        if (raw->nr_segments > max_segs ||
            (raw->nr_segments == 0 && req->op != BB_OP_FLUSH && req->op != BB_OP_BARRIER))
                return fail(BB_REQ_ERROR, BB_R_NSEG, why);
        req->nr_segs = raw->nr_segments;

        if (req->indirect) {
                /* bb_ring_take bounded the page count by the same limit. */
                req->nr_indirect = (req->nr_segs + BB_SEGS_PER_INDIRECT_PAGE - 1) /
                                   BB_SEGS_PER_INDIRECT_PAGE;
                if (req->nr_indirect > raw->nr_indirect_grefs)
                        return fail(BB_REQ_ERROR, BB_R_NSEG, why);
                for (uint32_t i = 0; i < req->nr_indirect; i++)
                        req->indirect_grefs[i] = raw->indirect_grefs[i];
                return BB_REQ_INDIRECT;
        }
        for (uint32_t i = 0; i < req->nr_segs; i++)
                if (!take_seg(&raw->seg[i], &req->seg[i], &req->nr_sectors))
                        return fail(BB_REQ_ERROR, BB_R_SECT, why);
        return check_range(lim, req, why);
}

enum bb_verdict bb_req_parse_indirect(const void *const pages[], const struct bb_vbd_limits *lim,
                                      struct bb_req *req, enum bb_reason *why)
{
        *why = BB_R_NONE;
        req->nr_sectors = 0;
        for (uint32_t i = 0; i < req->nr_segs; i++) {
                const struct blkif_request_segment *descs =
                    pages[i / BB_SEGS_PER_INDIRECT_PAGE];
                if (!take_seg(&descs[i % BB_SEGS_PER_INDIRECT_PAGE], &req->seg[i],
                              &req->nr_sectors))
                        return fail(BB_REQ_ERROR, BB_R_SECT, why);
        }
        return check_range(lim, req, why);
}

int16_t bb_verdict_status(enum bb_verdict v)
{
        switch (v) {
        case BB_REQ_OK:
        case BB_REQ_INDIRECT:
                return BLKIF_RSP_OKAY;
        case BB_REQ_EOPNOTSUPP:
                return BLKIF_RSP_EOPNOTSUPP;
        case BB_REQ_ERROR:
        default:
                return BLKIF_RSP_ERROR;
        }
}

const char *bb_reason_str(enum bb_reason why)
{
        static const char *const names[] = {
            [BB_R_NONE] = "none",
            [BB_R_UNKNOWN_OP] = "unknown operation",
            [BB_R_NO_FLUSH] = "flush not supported",
            [BB_R_NO_DISCARD] = "discard not supported",
            [BB_R_NO_SECURE] = "secure discard not supported",
            [BB_R_NO_INDIRECT] = "indirect not supported",
            [BB_R_INDIRECT_OP] = "invalid indirect operation",
            [BB_R_NSEG] = "bad number of segments",
            [BB_R_SECT] = "bad first_sect/last_sect",
            [BB_R_RANGE] = "access beyond end of device",
            [BB_R_ALIGN] = "misaligned I/O request",
            [BB_R_READONLY] = "write to read-only device",
        };
        if ((unsigned)why >= sizeof(names) / sizeof(names[0]))
                return "?";
        return names[why];
}
