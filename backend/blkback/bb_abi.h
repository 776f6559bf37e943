/* The two blkif ring ABIs a guest may speak (x86_32 packed, x86_64 native)
 * and the one backend ring that hides which: copy a request out once, write a
 * response. Layouts as Linux xen-blkback common.h and QEMU xen_blkif.h. */
#ifndef PVBACK_BB_ABI_H
#define PVBACK_BB_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xh.h" /* xenctrl.h before xen/io: barriers for ring.h */

#include <xen/io/blkif.h>
#include <xen/io/protocols.h>
#include <xen/io/ring.h>

#define BB_PAGE_SIZE XH_PAGE_SIZE
/* Sectors of the blkif protocol are 512 bytes whatever the disk's own size. */
#define BB_SECTOR_SHIFT 9u
#define BB_SECTORS_PER_PAGE (BB_PAGE_SIZE >> BB_SECTOR_SHIFT)
/* Segment descriptors in one indirect page (blkif.h: 512). */
#define BB_SEGS_PER_INDIRECT_PAGE (BB_PAGE_SIZE / sizeof(struct blkif_request_segment))
/* Advertised feature-max-indirect-segments (Linux MAX_INDIRECT_SEGMENTS). */
#define BB_MAX_INDIRECT_SEGS 256u
/* Indirect pages Linux copies out of an indirect request at most
 * (MAX_INDIRECT_PAGES): enough for BB_MAX_INDIRECT_SEGS. */
#define BB_MAX_INDIRECT_PAGES                                                                      \
        ((BB_MAX_INDIRECT_SEGS + BB_SEGS_PER_INDIRECT_PAGE - 1) / BB_SEGS_PER_INDIRECT_PAGE)
/* max-ring-page-order we advertise (XENBUS_MAX_RING_GRANT_ORDER). */
#define BB_MAX_RING_ORDER 4u
#define BB_MAX_RING_PAGES (1u << BB_MAX_RING_ORDER)

enum bb_abi {
        BB_ABI_X86_32,
        BB_ABI_X86_64,
};

/* ---- x86_32: packed, 4-byte aligned, id at 4 (Linux blkif_x86_32_request) */
struct bb_x86_32_request_rw {
        uint8_t nr_segments;
        uint16_t handle;
        uint64_t id;
        uint64_t sector_number;
        struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
} __attribute__((__packed__));
struct bb_x86_32_request_discard {
        uint8_t flag;
        uint16_t _pad1;
        uint64_t id;
        uint64_t sector_number;
        uint64_t nr_sectors;
} __attribute__((__packed__));
struct bb_x86_32_request_other {
        uint8_t _pad1;
        uint16_t _pad2;
        uint64_t id;
} __attribute__((__packed__));
struct bb_x86_32_request_indirect {
        uint8_t indirect_op;
        uint16_t nr_segments;
        uint64_t id;
        uint64_t sector_number;
        uint16_t handle;
        uint16_t _pad1;
        grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
        uint64_t _pad2;
} __attribute__((__packed__));
struct bb_x86_32_request {
        uint8_t operation;
        union {
                struct bb_x86_32_request_rw rw;
                struct bb_x86_32_request_discard discard;
                struct bb_x86_32_request_other other;
                struct bb_x86_32_request_indirect indirect;
        } u;
} __attribute__((__packed__, __aligned__(4)));
#pragma pack(push, 4)
struct bb_x86_32_response {
        uint64_t id;
        uint8_t operation;
        int16_t status;
};
#pragma pack(pop)

/* ---- x86_64: natural alignment, id at 8 (Linux blkif_x86_64_request) ---- */
struct bb_x86_64_request_rw {
        uint8_t nr_segments;
        uint16_t handle;
        uint32_t _pad1;
        uint64_t id;
        uint64_t sector_number;
        struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
} __attribute__((__packed__));
struct bb_x86_64_request_discard {
        uint8_t flag;
        uint16_t _pad1;
        uint32_t _pad2;
        uint64_t id;
        uint64_t sector_number;
        uint64_t nr_sectors;
} __attribute__((__packed__));
struct bb_x86_64_request_other {
        uint8_t _pad1;
        uint16_t _pad2;
        uint32_t _pad3;
        uint64_t id;
} __attribute__((__packed__));
struct bb_x86_64_request_indirect {
        uint8_t indirect_op;
        uint16_t nr_segments;
        uint32_t _pad1;
        uint64_t id;
        uint64_t sector_number;
        uint16_t handle;
        uint16_t _pad2;
        grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
        uint32_t _pad3;
} __attribute__((__packed__));
struct bb_x86_64_request {
        uint8_t operation;
        union {
                struct bb_x86_64_request_rw rw;
                struct bb_x86_64_request_discard discard;
                struct bb_x86_64_request_other other;
                struct bb_x86_64_request_indirect indirect;
        } u;
} __attribute__((__aligned__(8)));
struct bb_x86_64_response {
        uint64_t id;
        uint8_t operation;
        int16_t status;
} __attribute__((__aligned__(8)));

DEFINE_RING_TYPES(bb_x86_32, struct bb_x86_32_request, struct bb_x86_32_response);
DEFINE_RING_TYPES(bb_x86_64, struct bb_x86_64_request, struct bb_x86_64_response);

/* A request as copied out of the ring, before validation. Only fields of the
 * slot's operation are meaningful; seg[] holds min(nr_segments, 11) entries
 * and indirect_grefs[] min(pages needed, BB_MAX_INDIRECT_PAGES). */
struct bb_raw_req {
        uint8_t operation;
        uint8_t indirect_op;
        uint8_t discard_flag;
        uint16_t nr_segments;
        uint16_t handle;
        uint64_t id;
        uint64_t sector_number;
        uint64_t nr_sectors;
        uint32_t nr_indirect_grefs;
        struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
        grant_ref_t indirect_grefs[BB_MAX_INDIRECT_PAGES];
};

/* The backend end of one ring in either ABI. */
struct bb_ring {
        enum bb_abi abi;
        union {
                struct bb_x86_32_back_ring x32;
                struct bb_x86_64_back_ring x64;
                struct {
                        RING_IDX rsp_prod_pvt;
                        RING_IDX req_cons;
                        unsigned int nr_ents;
                } common;
        } r;
};

/* "x86_32-abi" / "x86_64-abi"; NULL (key absent) is x86_32 as Linux blkback
 * assumes on x86 (BLKIF_PROTOCOL_DEFAULT). -EINVAL for anything else. */
int bb_abi_from_protocol(const char *protocol, enum bb_abi *abi);
const char *bb_abi_name(enum bb_abi abi);
/* Entries of a ring of nr_pages pages in this ABI (a power of two). */
unsigned bb_ring_entries(enum bb_abi abi, unsigned nr_pages);

/* Attaches to a shared ring at its current position, as Linux does when it
 * (re)connects: responses resume at rsp_prod. -EINVAL if the frontend already
 * claims more requests than the ring holds. */
int bb_ring_attach(struct bb_ring *r, enum bb_abi abi, void *sring, unsigned nr_pages);

/* Requests published and not consumed, read once with a read barrier after.
 * -EPROTO if req_prod is beyond what the ring can hold (Linux: "Frontend
 * provided bogus ring requests", halts the ring): the caller disables the vbd. */
int bb_ring_pending(struct bb_ring *r, RING_IDX *prod);
/* Room for another request: Linux stops consuming when the responses it
 * still owes would overrun the ring (RING_REQUEST_CONS_OVERFLOW). */
bool bb_ring_can_consume(const struct bb_ring *r);
/* Copies the slot at req_cons out of shared memory exactly once, converts it
 * to the raw form (nr_segments and the indirect page count bounded before
 * anything is copied) and advances req_cons. */
void bb_ring_take(struct bb_ring *r, struct bb_raw_req *out);
/* Writes a response (id, operation, status only) at rsp_prod_pvt. */
void bb_ring_put_rsp(struct bb_ring *r, uint64_t id, uint8_t operation, int16_t status);
/* Publishes responses; *notify says whether the frontend asked to be told. */
void bb_ring_push(struct bb_ring *r, bool *notify);
/* Before sleeping: re-arm req_event and re-check (RING_FINAL_CHECK_FOR_REQUESTS). */
bool bb_ring_final_check(struct bb_ring *r);

#endif
