/* Verify tags: a sector checks out only at its own address and generation,
 * and each kind of damage is told apart. */
#include <check.h>
#include <string.h>

#include "bf_tag.h"
#include "check_main.h"

START_TEST(tag_roundtrip)
{
        uint8_t buf[4 * BF_TAG_SECTOR];
        uint64_t fs, fg;
        bf_tag_fill_range(buf, 1000, 4, 7);
        for (int i = 0; i < 4; i++)
                ck_assert_int_eq(bf_tag_check(buf + i * BF_TAG_SECTOR, 1000u + (unsigned)i, 7, &fs,
                                              &fg),
                                 BF_TAG_OK);
        /* Neighbouring sectors differ beyond the header. */
        ck_assert_int_ne(memcmp(buf + 64, buf + BF_TAG_SECTOR + 64, 64), 0);
}
END_TEST

START_TEST(tag_kinds)
{
        uint8_t buf[BF_TAG_SECTOR];
        uint64_t fs, fg;
        bf_tag_fill(buf, 42, 3);
        ck_assert_int_eq(bf_tag_check(buf, 42, 4, &fs, &fg), BF_TAG_GENERATION);
        ck_assert_uint_eq(fg, 3);
        ck_assert_int_eq(bf_tag_check(buf, 43, 3, &fs, &fg), BF_TAG_ADDRESS);
        ck_assert_uint_eq(fs, 42);
        buf[300] ^= 1;
        ck_assert_int_eq(bf_tag_check(buf, 42, 3, NULL, NULL), BF_TAG_CORRUPT);
        memset(buf, 0, sizeof(buf));
        ck_assert_int_eq(bf_tag_check(buf, 42, 3, NULL, NULL), BF_TAG_ZERO);
        /* A torn sector: right header, another sector's tail. */
        uint8_t other[BF_TAG_SECTOR];
        bf_tag_fill(buf, 42, 3);
        bf_tag_fill(other, 43, 3);
        memcpy(buf + 256, other + 256, 256);
        ck_assert_int_eq(bf_tag_check(buf, 42, 3, NULL, NULL), BF_TAG_CORRUPT);
}
END_TEST

START_TEST(tag_layout)
{
        uint8_t buf[BF_TAG_SECTOR];
        bf_tag_fill(buf, 0x1234, 9);
        ck_assert_int_eq(memcmp(buf, "PVBKTAG1", 8), 0);
        ck_assert_uint_eq(buf[8], 0x34);
        ck_assert_uint_eq(buf[9], 0x12);
        ck_assert_uint_eq(buf[16], 9);
}
END_TEST

static Suite *bf_tag_suite(void)
{
        Suite *s = suite_create("bf_tag");
        TCase *tc = tcase_create("tag");
        tcase_add_test(tc, tag_roundtrip);
        tcase_add_test(tc, tag_kinds);
        tcase_add_test(tc, tag_layout);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(bf_tag_suite)
