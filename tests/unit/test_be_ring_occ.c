/* Ring occupancy for `show` (be_ring_occ.h) and the escaping of guest text
 * (pv_escape.h): the small pure helpers `show` and pvback-inspect print
 * guest-controlled values through. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "be_ring_occ.h"
#include "check_main.h"
#include "pv_escape.h"

START_TEST(occupancy_in_and_out_of_range)
{
        static const struct {
                uint32_t prod, cons, size;
                bool ok;
                uint32_t n;
        } cases[] = {
            {0, 0, 256, true, 0},
            {12, 0, 256, true, 12},
            {256, 0, 256, true, 256},          /* full */
            {257, 0, 256, false, 0},           /* more than a ring */
            {5, UINT32_MAX - 2, 256, true, 8}, /* across the wrap */
            {3, 10, 256, false, 0},            /* req_prod moved back: ~4 billion */
            {UINT32_MAX, 0, 32, false, 0},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                uint32_t n = 12345;
                bool ok = be_ring_occupancy(cases[i].prod, cases[i].cons, cases[i].size, &n);
                ck_assert_msg(ok == cases[i].ok && n == cases[i].n,
                              "case %zu: prod %u cons %u size %u: %d %u", i, cases[i].prod,
                              cases[i].cons, cases[i].size, ok, n);
        }
}
END_TEST

START_TEST(escape_control_bytes)
{
        char out[64];
        ck_assert(pv_escape_clean("vif5.0 ok ~"));
        ck_assert(!pv_escape_clean("a\x1b[2J"));
        ck_assert_uint_eq(pv_escape("a\x1b]0;t\x07\x7f\xff~", out, sizeof(out)), 22);
        ck_assert_str_eq(out, "a\\x1b]0;t\\x07\\x7f\\xff~");
        /* Cut before an escape that does not fit, never inside it. */
        pv_escape("ab\x1b", out, 6);
        ck_assert_str_eq(out, "ab");
        pv_escape("ab\x1b", out, 7);
        ck_assert_str_eq(out, "ab\\x1b");
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        ck_assert_ptr_nonnull(f);
        pv_escape_fputs("\r\nx\t", f);
        fclose(f);
        ck_assert_str_eq(buf, "\\x0d\\x0ax\\x09");
        free(buf);
}
END_TEST

static Suite *be_ring_occ_suite(void)
{
        Suite *s = suite_create("be_ring_occ");
        TCase *tc = tcase_create("pure");
        tcase_add_test(tc, occupancy_in_and_out_of_range);
        tcase_add_test(tc, escape_control_bytes);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(be_ring_occ_suite)
