/* Ring access for both blkif ABIs: attach, copy a request out once, write a
 * response. Follows Linux xen-blkback blkif_get_x86_{32,64}_req and
 * __do_block_io_op; no validation of the request's meaning here (bb_req.c). */
#include "blkback/bb_abi.h"

#include <errno.h>
#include <string.h>

_Static_assert(sizeof(struct bb_x86_32_request) == 108, "x86_32 request size");
_Static_assert(offsetof(struct bb_x86_32_request, u.rw.id) == 4, "x86_32 id");
_Static_assert(offsetof(struct bb_x86_32_request, u.rw.sector_number) == 12, "x86_32 sector");
_Static_assert(offsetof(struct bb_x86_32_request, u.rw.seg) == 20, "x86_32 seg");
_Static_assert(offsetof(struct bb_x86_32_request, u.discard.nr_sectors) == 20, "x86_32 discard");
_Static_assert(offsetof(struct bb_x86_32_request, u.indirect.handle) == 20, "x86_32 ind handle");
_Static_assert(offsetof(struct bb_x86_32_request, u.indirect.indirect_grefs) == 24,
               "x86_32 ind grefs");
/* operation + indirect = 64 bytes, as Linux pads it. */
_Static_assert(sizeof(struct bb_x86_32_request_indirect) + 1 == 64, "x86_32 indirect size");
_Static_assert(sizeof(struct bb_x86_32_response) == 12, "x86_32 response size");
_Static_assert(offsetof(struct bb_x86_32_response, status) == 10, "x86_32 status");
_Static_assert(sizeof(struct bb_x86_64_request) == 112, "x86_64 request size");
_Static_assert(offsetof(struct bb_x86_64_request, u.rw.id) == 8, "x86_64 id");
_Static_assert(offsetof(struct bb_x86_64_request, u.rw.sector_number) == 16, "x86_64 sector");
_Static_assert(offsetof(struct bb_x86_64_request, u.rw.seg) == 24, "x86_64 seg");
_Static_assert(offsetof(struct bb_x86_64_request, u.discard.nr_sectors) == 24, "x86_64 discard");
_Static_assert(offsetof(struct bb_x86_64_request, u.indirect.indirect_grefs) == 28,
               "x86_64 ind grefs");
_Static_assert(sizeof(struct bb_x86_64_response) == 16, "x86_64 response size");
_Static_assert(offsetof(struct bb_x86_64_response, status) == 10, "x86_64 status");
/* The native layout of this build is the x86_64 one. */
_Static_assert(sizeof(struct blkif_request) == sizeof(struct bb_x86_64_request), "native");

int bb_abi_from_protocol(const char *protocol, enum bb_abi *abi)
{
        if (!protocol || strcmp(protocol, XEN_IO_PROTO_ABI_X86_32) == 0)
                *abi = BB_ABI_X86_32;
        else if (strcmp(protocol, XEN_IO_PROTO_ABI_X86_64) == 0)
                *abi = BB_ABI_X86_64;
        else
                return -EINVAL;
        return 0;
}

const char *bb_abi_name(enum bb_abi abi)
{
        return abi == BB_ABI_X86_32 ? XEN_IO_PROTO_ABI_X86_32 : XEN_IO_PROTO_ABI_X86_64;
}

unsigned bb_ring_entries(enum bb_abi abi, unsigned nr_pages)
{
        size_t bytes = (size_t)nr_pages * BB_PAGE_SIZE;
        if (abi == BB_ABI_X86_32)
                return __RING_SIZE((struct bb_x86_32_sring *)NULL, bytes);
        return __RING_SIZE((struct bb_x86_64_sring *)NULL, bytes);
}

int bb_ring_attach(struct bb_ring *r, enum bb_abi abi, void *sring, unsigned nr_pages)
{
        size_t bytes = (size_t)nr_pages * BB_PAGE_SIZE;
        RING_IDX prod, rsp;

        memset(r, 0, sizeof(*r));
        r->abi = abi;
        /* Both sring layouts share the index header, so one view reads it. */
        struct bb_x86_64_sring *s = sring;
        rsp = __atomic_load_n(&s->rsp_prod, __ATOMIC_RELAXED);
        prod = __atomic_load_n(&s->req_prod, __ATOMIC_RELAXED);
        if (abi == BB_ABI_X86_32)
                BACK_RING_ATTACH(&r->r.x32, (struct bb_x86_32_sring *)sring, rsp, bytes);
        else
                BACK_RING_ATTACH(&r->r.x64, s, rsp, bytes);
        if (prod - rsp > r->r.common.nr_ents)
                return -EINVAL;
        return 0;
}

static RING_IDX sring_req_prod(const struct bb_ring *r)
{
        if (r->abi == BB_ABI_X86_32)
                return __atomic_load_n(&r->r.x32.sring->req_prod, __ATOMIC_RELAXED);
        return __atomic_load_n(&r->r.x64.sring->req_prod, __ATOMIC_RELAXED);
}

int bb_ring_pending(struct bb_ring *r, RING_IDX *prod)
{
        RING_IDX rp = sring_req_prod(r);
        xen_rmb(); /* see the requests the frontend published before req_prod */
        /* RING_REQUEST_PROD_OVERFLOW: more requests than slots since our
         * last response means the frontend is lying about req_prod. */
        if (rp - r->r.common.rsp_prod_pvt > r->r.common.nr_ents)
                return -EPROTO;
        *prod = rp;
        return 0;
}

bool bb_ring_can_consume(const struct bb_ring *r)
{
        return !RING_REQUEST_CONS_OVERFLOW(&r->r.common, r->r.common.req_cons);
}

/* One body for both layouts: the field names are the same, only their
 * offsets differ (Linux blkif_get_x86_32_req / blkif_get_x86_64_req). */
#define BB_RAW_FROM(src, dst)                                                                      \
        do {                                                                                       \
                unsigned n;                                                                        \
                dst->operation = src->operation;                                                   \
                switch (src->operation) {                                                          \
                case BLKIF_OP_READ:                                                                \
                case BLKIF_OP_WRITE:                                                               \
                case BLKIF_OP_WRITE_BARRIER:                                                       \
                case BLKIF_OP_FLUSH_DISKCACHE:                                                     \
                        dst->nr_segments = src->u.rw.nr_segments;                                  \
                        dst->handle = src->u.rw.handle;                                            \
                        dst->id = src->u.rw.id;                                                    \
                        dst->sector_number = src->u.rw.sector_number;                              \
                        n = dst->nr_segments;                                                      \
                        if (n > BLKIF_MAX_SEGMENTS_PER_REQUEST)                                    \
                                n = BLKIF_MAX_SEGMENTS_PER_REQUEST;                                \
                        memcpy(dst->seg, src->u.rw.seg, n * sizeof(dst->seg[0]));                  \
                        break;                                                                     \
                case BLKIF_OP_DISCARD:                                                             \
                        dst->discard_flag = src->u.discard.flag;                                   \
                        dst->id = src->u.discard.id;                                               \
                        dst->sector_number = src->u.discard.sector_number;                         \
                        dst->nr_sectors = src->u.discard.nr_sectors;                               \
                        break;                                                                     \
                case BLKIF_OP_INDIRECT:                                                            \
                        dst->indirect_op = src->u.indirect.indirect_op;                            \
                        dst->nr_segments = src->u.indirect.nr_segments;                            \
                        dst->handle = src->u.indirect.handle;                                      \
                        dst->id = src->u.indirect.id;                                              \
                        dst->sector_number = src->u.indirect.sector_number;                        \
                        n = (dst->nr_segments + BB_SEGS_PER_INDIRECT_PAGE - 1) / BB_SEGS_PER_INDIRECT_PAGE;\
                        if (n > BB_MAX_INDIRECT_PAGES)                                             \
                                n = BB_MAX_INDIRECT_PAGES;                                         \
                        dst->nr_indirect_grefs = n;                                                \
                        memcpy(dst->indirect_grefs, src->u.indirect.indirect_grefs,                \
                               n * sizeof(dst->indirect_grefs[0]));                                \
                        break;                                                                     \
                default:                                                                           \
                        dst->id = src->u.other.id;                                                 \
                        break;                                                                     \
                }                                                                                  \
        } while (0)

static void raw_from_x86_32(const struct bb_x86_32_request *src, struct bb_raw_req *dst)
{
        BB_RAW_FROM(src, dst);
}

static void raw_from_x86_64(const struct bb_x86_64_request *src, struct bb_raw_req *dst)
{
        BB_RAW_FROM(src, dst);
}

/* The slot is copied into a local first, with a compiler barrier after it,
 * so every later field read sees one snapshot: a guest rewriting the slot
 * meanwhile cannot make us check one value and use another. */
void bb_ring_take(struct bb_ring *r, struct bb_raw_req *out)
{
        RING_IDX i = r->r.common.req_cons;

        memset(out, 0, sizeof(*out));
        if (r->abi == BB_ABI_X86_32) {
                struct bb_x86_32_request local;
                memcpy(&local, RING_GET_REQUEST(&r->r.x32, i), sizeof(local));
                __asm__ __volatile__("" ::: "memory");
                raw_from_x86_32(&local, out);
        } else {
                struct bb_x86_64_request local;
                memcpy(&local, RING_GET_REQUEST(&r->r.x64, i), sizeof(local));
                __asm__ __volatile__("" ::: "memory");
                raw_from_x86_64(&local, out);
        }
        r->r.common.req_cons = i + 1;
}

void bb_ring_put_rsp(struct bb_ring *r, uint64_t id, uint8_t operation, int16_t status)
{
        RING_IDX i = r->r.common.rsp_prod_pvt;

        /* Only the three fields: the guest sees no stale backend memory in
         * the padding either way, as the slot is its own page. */
        if (r->abi == BB_ABI_X86_32) {
                struct bb_x86_32_response *rsp = RING_GET_RESPONSE(&r->r.x32, i);
                rsp->id = id;
                rsp->operation = operation;
                rsp->status = status;
        } else {
                struct bb_x86_64_response *rsp = RING_GET_RESPONSE(&r->r.x64, i);
                rsp->id = id;
                rsp->operation = operation;
                rsp->status = status;
        }
        r->r.common.rsp_prod_pvt = i + 1;
}

void bb_ring_push(struct bb_ring *r, bool *notify)
{
        int n = 0;
        if (r->abi == BB_ABI_X86_32)
                RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&r->r.x32, n);
        else
                RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&r->r.x64, n);
        *notify = n != 0;
}

bool bb_ring_final_check(struct bb_ring *r)
{
        int more = 0;
        if (r->abi == BB_ABI_X86_32)
                RING_FINAL_CHECK_FOR_REQUESTS(&r->r.x32, more);
        else
                RING_FINAL_CHECK_FOR_REQUESTS(&r->r.x64, more);
        return more != 0;
}
