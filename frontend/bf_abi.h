/* The two blkif ring layouts a frontend may speak (protocol x86_32-abi, packed
 * to 4 bytes; x86_64-abi, natural alignment) and the encoders that write one
 * ABI-neutral request into a ring slot. Pure: no rings, grants or xenstore. */
#ifndef PVBACK_BF_ABI_H
#define PVBACK_BF_ABI_H

#include <stddef.h>
#include <stdint.h>

#include "xh.h" /* xenctrl.h before xen/io: barriers for ring.h */

#include <xen/io/blkif.h>
#include <xen/io/protocols.h>
#include <xen/io/ring.h>

#define BF_PAGE_SIZE XH_PAGE_SIZE
/* Segment descriptors in one indirect page (blkif.h: PAGE_SIZE / 8 = 512). */
#define BF_SEGS_PER_INDIRECT_PAGE (BF_PAGE_SIZE / sizeof(struct blkif_request_segment))
/* Most segments an indirect request can describe (8 pages of 512). */
#define BF_MAX_INDIRECT_SEGS (BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * BF_SEGS_PER_INDIRECT_PAGE)

enum bf_abi {
        BF_ABI_X86_32,
        BF_ABI_X86_64,
};

/* ---- x86_32-abi: every 64-bit field 4-byte aligned (Linux blkback common.h
 * blkif_x86_32_request*, QEMU xen_blkif.h under #pragma pack(4)). */
struct bf_x86_32_request_rw {
        uint8_t operation;
        uint8_t nr_segments;
        uint16_t handle;
        uint64_t id;
        uint64_t sector_number;
        struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
} __attribute__((__packed__, __aligned__(4)));
struct bf_x86_32_request_discard {
        uint8_t operation;
        uint8_t flag;
        uint16_t handle;
        uint64_t id;
        uint64_t sector_number;
        uint64_t nr_sectors;
} __attribute__((__packed__, __aligned__(4)));
struct bf_x86_32_request_indirect {
        uint8_t operation;
        uint8_t indirect_op;
        uint16_t nr_segments;
        uint64_t id;
        uint64_t sector_number;
        uint16_t handle;
        uint16_t _pad1;
        grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
        uint64_t _pad2; /* 64 bytes, as the x86_64 one */
} __attribute__((__packed__, __aligned__(4)));
union bf_x86_32_request {
        struct bf_x86_32_request_rw rw;
        struct bf_x86_32_request_discard discard;
        struct bf_x86_32_request_indirect indirect;
};
struct bf_x86_32_response {
        uint64_t id;
        uint8_t operation;
        uint8_t _pad;
        int16_t status;
} __attribute__((__packed__, __aligned__(4)));

/* ---- x86_64-abi: the native layout, spelled out so it does not depend on
 * the compiler's target (Linux blkback blkif_x86_64_request*). */
struct bf_x86_64_request_rw {
        uint8_t operation;
        uint8_t nr_segments;
        uint16_t handle;
        uint32_t _pad1;
        uint64_t id;
        uint64_t sector_number;
        struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
} __attribute__((__packed__, __aligned__(8)));
struct bf_x86_64_request_discard {
        uint8_t operation;
        uint8_t flag;
        uint16_t handle;
        uint32_t _pad1;
        uint64_t id;
        uint64_t sector_number;
        uint64_t nr_sectors;
} __attribute__((__packed__, __aligned__(8)));
struct bf_x86_64_request_indirect {
        uint8_t operation;
        uint8_t indirect_op;
        uint16_t nr_segments;
        uint32_t _pad1;
        uint64_t id;
        uint64_t sector_number;
        uint16_t handle;
        uint16_t _pad2;
        grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
        uint32_t _pad3;
} __attribute__((__packed__, __aligned__(8)));
union bf_x86_64_request {
        struct bf_x86_64_request_rw rw;
        struct bf_x86_64_request_discard discard;
        struct bf_x86_64_request_indirect indirect;
};
struct bf_x86_64_response {
        uint64_t id;
        uint8_t operation;
        uint8_t _pad;
        int16_t status;
        uint32_t _pad2;
} __attribute__((__packed__, __aligned__(8)));

DEFINE_RING_TYPES(bf_x86_32, union bf_x86_32_request, struct bf_x86_32_response);
DEFINE_RING_TYPES(bf_x86_64, union bf_x86_64_request, struct bf_x86_64_response);

/* One request in neither layout. `nr_segments` is wide enough for indirect
 * counts; encoders write whatever it holds (hostile mode relies on that),
 * clamping only the number of descriptors copied to the slot's capacity. */
struct bf_req {
        uint8_t operation;   /* BLKIF_OP_* as sent (BLKIF_OP_INDIRECT for indirect) */
        uint8_t indirect_op; /* BLKIF_OP_READ/WRITE inside an indirect request */
        uint8_t discard_flag;
        uint16_t nr_segments;
        uint16_t handle;
        uint64_t id;
        uint64_t sector_number;
        uint64_t nr_sectors; /* discard only */
        struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
        uint32_t nr_indirect; /* grefs used in indirect_grefs */
        grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
};

struct bf_rsp {
        uint64_t id;
        uint8_t operation;
        int16_t status;
};

/* "x86_32-abi" / "x86_64-abi" (protocols.h), and back; -EINVAL if unknown. */
const char *bf_abi_name(enum bf_abi abi);
int bf_abi_parse(const char *s, enum bf_abi *out);
/* Bytes of one request slot (108 or 112) and one response (12 or 16). */
size_t bf_abi_req_size(enum bf_abi abi);
size_t bf_abi_rsp_size(enum bf_abi abi);
/* Writes the whole slot (unused bytes zeroed) in the ABI's layout. */
void bf_abi_encode(enum bf_abi abi, const struct bf_req *req, void *slot);
void bf_abi_decode_rsp(enum bf_abi abi, const void *slot, struct bf_rsp *out);
/* Indirect pages needed for nseg descriptors (blkif.h INDIRECT_PAGES). */
uint32_t bf_abi_indirect_pages(uint32_t nseg);

#endif
