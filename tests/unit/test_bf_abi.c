/* blkfront request encoders: every field lands at the byte offset of
 * xen-protocol-notes §3.3 (x86_32 packed to 4, x86_64 native), for read/write,
 * indirect and discard requests; responses decode from both layouts. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "bf_abi.h"
#include "check_main.h"

static uint64_t rd64(const uint8_t *p)
{
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
}

static uint32_t rd32(const uint8_t *p)
{
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
}

static uint16_t rd16(const uint8_t *p)
{
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
}

/* Offsets per ABI: id, sector, seg (rw); handle, grefs (indirect); nr_sectors (discard). */
struct layout {
        enum bf_abi abi;
        size_t slot, id, sector, seg, ind_handle, ind_grefs, nr_sectors, rsp, rsp_status;
};
static const struct layout layouts[] = {
        {BF_ABI_X86_32, 108, 4, 12, 20, 20, 24, 20, 12, 10},
        {BF_ABI_X86_64, 112, 8, 16, 24, 24, 28, 24, 16, 10},
};

START_TEST(rw_layout)
{
        const struct layout *L = &layouts[_i];
        uint8_t slot[128];
        struct bf_req r = {.operation = BLKIF_OP_WRITE, .nr_segments = 11, .handle = 51712,
                           .id = 0x1122334455667788ull, .sector_number = 0x0102030405060708ull};
        for (int i = 0; i < 11; i++)
                r.seg[i] = (struct blkif_request_segment){.gref = 1000u + (unsigned)i,
                                                          .first_sect = (uint8_t)(i % 8),
                                                          .last_sect = 7};
        memset(slot, 0xee, sizeof(slot));
        ck_assert_uint_eq(bf_abi_req_size(L->abi), L->slot);
        bf_abi_encode(L->abi, &r, slot);
        ck_assert_uint_eq(slot[0], BLKIF_OP_WRITE);
        ck_assert_uint_eq(slot[1], 11);
        ck_assert_uint_eq(rd16(slot + 2), 51712);
        ck_assert_uint_eq(rd64(slot + L->id), r.id);
        ck_assert_uint_eq(rd64(slot + L->sector), r.sector_number);
        for (int i = 0; i < 11; i++) {
                const uint8_t *s = slot + L->seg + 8 * i;
                ck_assert_uint_eq(rd32(s), 1000u + (unsigned)i);
                ck_assert_uint_eq(s[4], i % 8);
                ck_assert_uint_eq(s[5], 7);
        }
        ck_assert_uint_eq(L->seg + 88, L->slot); /* 11 segments fill the slot */
        ck_assert_uint_eq(slot[L->slot], 0xee);  /* nothing written past it */
}
END_TEST

START_TEST(indirect_layout)
{
        const struct layout *L = &layouts[_i];
        uint8_t slot[128] = {0};
        struct bf_req r = {.operation = BLKIF_OP_INDIRECT, .indirect_op = BLKIF_OP_READ,
                           .nr_segments = 700, .handle = 0xabcd, .id = 42, .sector_number = 99,
                           .nr_indirect = 2, .indirect_grefs = {77, 78}};
        bf_abi_encode(L->abi, &r, slot);
        ck_assert_uint_eq(slot[0], BLKIF_OP_INDIRECT);
        ck_assert_uint_eq(slot[1], BLKIF_OP_READ);
        ck_assert_uint_eq(rd16(slot + 2), 700);
        ck_assert_uint_eq(rd64(slot + L->id), 42);
        ck_assert_uint_eq(rd64(slot + L->sector), 99);
        ck_assert_uint_eq(rd16(slot + L->ind_handle), 0xabcd);
        ck_assert_uint_eq(rd32(slot + L->ind_grefs), 77);
        ck_assert_uint_eq(rd32(slot + L->ind_grefs + 4), 78);
        ck_assert_uint_eq(rd32(slot + L->ind_grefs + 8), 0); /* unused slots zero */
}
END_TEST

START_TEST(discard_layout)
{
        const struct layout *L = &layouts[_i];
        uint8_t slot[128] = {0};
        struct bf_req r = {.operation = BLKIF_OP_DISCARD, .discard_flag = BLKIF_DISCARD_SECURE,
                           .id = 7, .sector_number = 4096, .nr_sectors = 1u << 20};
        bf_abi_encode(L->abi, &r, slot);
        ck_assert_uint_eq(slot[0], BLKIF_OP_DISCARD);
        ck_assert_uint_eq(slot[1], BLKIF_DISCARD_SECURE);
        ck_assert_uint_eq(rd64(slot + L->id), 7);
        ck_assert_uint_eq(rd64(slot + L->sector), 4096);
        ck_assert_uint_eq(rd64(slot + L->nr_sectors), 1u << 20);
}
END_TEST

START_TEST(response_decode)
{
        const struct layout *L = &layouts[_i];
        uint8_t slot[16] = {0};
        uint64_t id = 0x0badc0ffee;
        int16_t st = BLKIF_RSP_EOPNOTSUPP;
        memcpy(slot, &id, 8);
        slot[8] = BLKIF_OP_FLUSH_DISKCACHE;
        memcpy(slot + L->rsp_status, &st, 2);
        struct bf_rsp r;
        bf_abi_decode_rsp(L->abi, slot, &r);
        ck_assert_uint_eq(bf_abi_rsp_size(L->abi), L->rsp);
        ck_assert_uint_eq(r.id, id);
        ck_assert_uint_eq(r.operation, BLKIF_OP_FLUSH_DISKCACHE);
        ck_assert_int_eq(r.status, BLKIF_RSP_EOPNOTSUPP);
}
END_TEST

/* The hostile too-many-segments class relies on the count being sent as is
 * while only 11 descriptors are copied. */
START_TEST(nr_segments_sent_as_given)
{
        uint8_t slot[128];
        memset(slot, 0xee, sizeof(slot));
        struct bf_req r = {.operation = BLKIF_OP_READ, .nr_segments = 12};
        bf_abi_encode(BF_ABI_X86_32, &r, slot);
        ck_assert_uint_eq(slot[1], 12);
        ck_assert_uint_eq(slot[108], 0xee);
}
END_TEST

START_TEST(ring_sizes)
{
        /* Entries per ring: 32 on one page for both ABIs, 512 on 16 pages. */
        ck_assert_uint_eq(__RD32((4096 - 64) / sizeof(union bf_x86_32_sring_entry)), 32);
        ck_assert_uint_eq(__RD32((4096 - 64) / sizeof(union bf_x86_64_sring_entry)), 32);
        ck_assert_uint_eq(__RD32((16 * 4096 - 64) / sizeof(union bf_x86_32_sring_entry)), 512);
        ck_assert_uint_eq(__RD32((16 * 4096 - 64) / sizeof(union bf_x86_64_sring_entry)), 512);
        ck_assert_uint_eq(offsetof(bf_x86_32_sring_t, ring), 64);
        ck_assert_uint_eq(offsetof(bf_x86_64_sring_t, ring), 64);
}
END_TEST

START_TEST(abi_names)
{
        enum bf_abi a;
        ck_assert_int_eq(bf_abi_parse("x86_32-abi", &a), 0);
        ck_assert_int_eq(a, BF_ABI_X86_32);
        ck_assert_int_eq(bf_abi_parse("x86_64-abi", &a), 0);
        ck_assert_int_eq(a, BF_ABI_X86_64);
        ck_assert_int_eq(bf_abi_parse("arm-abi", &a), -EINVAL);
        ck_assert_str_eq(bf_abi_name(BF_ABI_X86_32), "x86_32-abi");
        ck_assert_uint_eq(bf_abi_indirect_pages(256), 1);
        ck_assert_uint_eq(bf_abi_indirect_pages(513), 2);
        ck_assert_uint_eq(bf_abi_indirect_pages(4096), 8);
}
END_TEST

static Suite *bf_abi_suite(void)
{
        Suite *s = suite_create("bf_abi");
        TCase *tc = tcase_create("layout");
        tcase_add_loop_test(tc, rw_layout, 0, 2);
        tcase_add_loop_test(tc, indirect_layout, 0, 2);
        tcase_add_loop_test(tc, discard_layout, 0, 2);
        tcase_add_loop_test(tc, response_decode, 0, 2);
        tcase_add_test(tc, nr_segments_sent_as_given);
        tcase_add_test(tc, ring_sizes);
        tcase_add_test(tc, abi_names);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(bf_abi_suite)
