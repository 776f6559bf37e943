/* Encoders for the two blkif request layouts (bf_abi.h). Each builds the slot
 * in local memory and copies it to the ring once, so the backend never sees a
 * half-written request. */
#include "bf_abi.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

/* The offsets of xen-protocol-notes §3.3 and Linux blkback common.h. */
static_assert(sizeof(struct bf_x86_32_request_rw) == 108, "x86_32 request is 108 bytes");
static_assert(offsetof(struct bf_x86_32_request_rw, id) == 4, "x86_32 id at 4");
static_assert(offsetof(struct bf_x86_32_request_rw, sector_number) == 12, "x86_32 sector at 12");
static_assert(offsetof(struct bf_x86_32_request_rw, seg) == 20, "x86_32 seg at 20");
static_assert(offsetof(struct bf_x86_32_request_indirect, handle) == 20, "x86_32 handle at 20");
static_assert(offsetof(struct bf_x86_32_request_indirect, indirect_grefs) == 24, "grefs at 24");
static_assert(sizeof(struct bf_x86_32_request_indirect) == 64, "x86_32 indirect is 64 bytes");
static_assert(sizeof(union bf_x86_32_request) == 108, "x86_32 slot is 108 bytes");
static_assert(sizeof(struct bf_x86_32_response) == 12, "x86_32 response is 12 bytes");
static_assert(offsetof(struct bf_x86_32_response, status) == 10, "x86_32 status at 10");
static_assert(sizeof(struct bf_x86_64_request_rw) == sizeof(struct blkif_request),
              "x86_64 is the native layout");
static_assert(offsetof(struct bf_x86_64_request_rw, id) == 8, "x86_64 id at 8");
static_assert(offsetof(struct bf_x86_64_request_rw, seg) == 24, "x86_64 seg at 24");
static_assert(offsetof(struct bf_x86_64_request_indirect, indirect_grefs) == 28, "grefs at 28");
static_assert(sizeof(struct bf_x86_64_request_indirect) == 64, "x86_64 indirect is 64 bytes");
static_assert(sizeof(struct bf_x86_64_response) == 16, "x86_64 response is 16 bytes");
static_assert(offsetof(struct bf_x86_64_response, status) == 10, "x86_64 status at 10");

const char *bf_abi_name(enum bf_abi abi)
{
        return abi == BF_ABI_X86_32 ? XEN_IO_PROTO_ABI_X86_32 : XEN_IO_PROTO_ABI_X86_64;
}

int bf_abi_parse(const char *s, enum bf_abi *out)
{
        if (!strcmp(s, XEN_IO_PROTO_ABI_X86_32) || !strcmp(s, "x86_32") || !strcmp(s, "32"))
                *out = BF_ABI_X86_32;
        else if (!strcmp(s, XEN_IO_PROTO_ABI_X86_64) || !strcmp(s, "x86_64") || !strcmp(s, "64"))
                *out = BF_ABI_X86_64;
        else
                return -EINVAL;
        return 0;
}

size_t bf_abi_req_size(enum bf_abi abi)
{
        return abi == BF_ABI_X86_32 ? sizeof(union bf_x86_32_request)
                                    : sizeof(union bf_x86_64_request);
}

size_t bf_abi_rsp_size(enum bf_abi abi)
{
        return abi == BF_ABI_X86_32 ? sizeof(struct bf_x86_32_response)
                                    : sizeof(struct bf_x86_64_response);
}

uint32_t bf_abi_indirect_pages(uint32_t nseg)
{
        return (nseg + BF_SEGS_PER_INDIRECT_PAGE - 1) / BF_SEGS_PER_INDIRECT_PAGE;
}

static uint32_t direct_segs(const struct bf_req *r)
{
        return r->nr_segments < BLKIF_MAX_SEGMENTS_PER_REQUEST ? r->nr_segments
                                                               : BLKIF_MAX_SEGMENTS_PER_REQUEST;
}

static uint32_t indirect_grefs(const struct bf_req *r)
{
        return r->nr_indirect < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST
                       ? r->nr_indirect
                       : BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST;
}

/* The three request shapes have the same field names in both layouts, so one
 * macro body fills either; only the struct types differ. */
#define BF_ENCODE(u, r)                                                                            \
        do {                                                                                       \
                if ((r)->operation == BLKIF_OP_INDIRECT) {                                         \
                        (u).indirect.operation = (r)->operation;                                   \
                        (u).indirect.indirect_op = (r)->indirect_op;                               \
                        (u).indirect.nr_segments = (r)->nr_segments;                               \
                        (u).indirect.id = (r)->id;                                                 \
                        (u).indirect.sector_number = (r)->sector_number;                           \
                        (u).indirect.handle = (r)->handle;                                         \
                        memcpy((u).indirect.indirect_grefs, (r)->indirect_grefs,                   \
                               indirect_grefs(r) * sizeof(grant_ref_t));                           \
                } else if ((r)->operation == BLKIF_OP_DISCARD) {                                   \
                        (u).discard.operation = (r)->operation;                                    \
                        (u).discard.flag = (r)->discard_flag;                                      \
                        (u).discard.handle = (r)->handle;                                          \
                        (u).discard.id = (r)->id;                                                  \
                        (u).discard.sector_number = (r)->sector_number;                            \
                        (u).discard.nr_sectors = (r)->nr_sectors;                                  \
                } else {                                                                           \
                        (u).rw.operation = (r)->operation;                                         \
                        (u).rw.nr_segments = (uint8_t)(r)->nr_segments;                            \
                        (u).rw.handle = (r)->handle;                                               \
                        (u).rw.id = (r)->id;                                                       \
                        (u).rw.sector_number = (r)->sector_number;                                 \
                        memcpy((u).rw.seg, (r)->seg,                                               \
                               direct_segs(r) * sizeof(struct blkif_request_segment));             \
                }                                                                                  \
        } while (0)

void bf_abi_encode(enum bf_abi abi, const struct bf_req *req, void *slot)
{
        if (abi == BF_ABI_X86_32) {
                union bf_x86_32_request u;
                memset(&u, 0, sizeof(u));
                BF_ENCODE(u, req);
                memcpy(slot, &u, sizeof(u));
        } else {
                union bf_x86_64_request u;
                memset(&u, 0, sizeof(u));
                BF_ENCODE(u, req);
                memcpy(slot, &u, sizeof(u));
        }
}

void bf_abi_decode_rsp(enum bf_abi abi, const void *slot, struct bf_rsp *out)
{
        if (abi == BF_ABI_X86_32) {
                struct bf_x86_32_response r;
                memcpy(&r, slot, sizeof(r));
                *out = (struct bf_rsp){.id = r.id, .operation = r.operation, .status = r.status};
        } else {
                struct bf_x86_64_response r;
                memcpy(&r, slot, sizeof(r));
                *out = (struct bf_rsp){.id = r.id, .operation = r.operation, .status = r.status};
        }
}
