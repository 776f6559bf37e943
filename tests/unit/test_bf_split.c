/* Splitting an I/O into blkif requests for each feature combination: direct
 * (11 segments), indirect (32 and 256), a buffer starting inside a page, and
 * large sectors; every sector is covered once, in order, within page bounds. */
#include <check.h>
#include <errno.h>

#include "bf_split.h"
#include "check_main.h"

struct split_case {
        uint64_t sector, n;
        uint32_t unit, page_off, max_segs;
        uint64_t want_reqs;
        uint32_t want_first_nsegs;
        int want_first_indirect;
};

static const struct split_case cases[] = {
        {0, 8, 512, 0, 11, 1, 1, 0},          /* one page */
        {0, 88, 512, 0, 11, 1, 11, 0},        /* exactly 11 pages */
        {0, 89, 512, 0, 11, 2, 11, 0},        /* one sector more: a second request */
        {0, 2048, 512, 0, 11, 24, 11, 0},     /* 1 MiB direct: 256 pages / 11 */
        {0, 2048, 512, 0, 32, 8, 32, 1},      /* 1 MiB with Linux's 32 indirect segments */
        {0, 2048, 512, 0, 256, 1, 256, 1},    /* 1 MiB in one indirect request */
        {5, 8, 512, 3, 11, 1, 2, 0},          /* misaligned buffer: 5 + 3 sectors */
        {100, 1, 512, 7, 11, 1, 1, 0},        /* last sector of a page only */
        {0, 256, 4096, 0, 11, 24, 11, 0},     /* large sectors: one per page */
        {0, 12, 2048, 1, 11, 1, 7, 0},        /* 2 KiB sectors, starting mid-page */
};

START_TEST(split_table)
{
        const struct split_case *c = &cases[_i];
        struct bf_split s;
        struct bf_req_plan p;
        struct bf_seg_plan segs[256];
        uint64_t next_sector = c->sector, buf = 0, reqs = 0;
        uint32_t per_page = 4096 / c->unit;

        ck_assert_int_eq(bf_split_init(&s, c->sector, c->n, c->unit, c->page_off, c->max_segs), 0);
        while (bf_split_next(&s, &p, segs) == 1) {
                if (reqs == 0) {
                        ck_assert_uint_eq(p.nsegs, c->want_first_nsegs);
                        ck_assert_int_eq(p.indirect, c->want_first_indirect);
                        ck_assert_uint_eq(segs[0].first_sect, c->page_off);
                }
                ck_assert_uint_eq(p.sector, next_sector);
                ck_assert_uint_le(p.nsegs, c->max_segs);
                ck_assert_int_eq(p.indirect, p.nsegs > 11);
                uint64_t n = 0;
                for (uint32_t i = 0; i < p.nsegs; i++) {
                        ck_assert_uint_le(segs[i].first_sect, segs[i].last_sect);
                        ck_assert_uint_lt(segs[i].last_sect, per_page);
                        /* Only an I/O's very first segment may start inside a page,
                         * and only its last may end before the page does. */
                        if (reqs || i)
                                ck_assert_uint_eq(segs[i].first_sect, 0);
                        ck_assert_uint_eq(segs[i].buf_off, buf);
                        uint32_t len = (segs[i].last_sect - segs[i].first_sect + 1u) * c->unit;
                        ck_assert_uint_eq(segs[i].len, len);
                        buf += len;
                        n += len / c->unit;
                }
                ck_assert_uint_eq(p.nsectors, n);
                next_sector += n;
                reqs++;
        }
        ck_assert_uint_eq(next_sector, c->sector + c->n);
        ck_assert_uint_eq(buf, c->n * c->unit);
        ck_assert_uint_eq(reqs, c->want_reqs);
        ck_assert_uint_eq(bf_split_count(c->n, c->unit, c->page_off, c->max_segs), c->want_reqs);
}
END_TEST

START_TEST(split_rejects)
{
        struct bf_split s;
        ck_assert_int_eq(bf_split_init(&s, 0, 8, 256, 0, 11), -EINVAL);  /* unit < 512 */
        ck_assert_int_eq(bf_split_init(&s, 0, 8, 1536, 0, 11), -EINVAL); /* not a divisor */
        ck_assert_int_eq(bf_split_init(&s, 0, 8, 512, 8, 11), -EINVAL);  /* offset off the page */
        ck_assert_int_eq(bf_split_init(&s, 0, 8, 512, 0, 0), -EINVAL);
        ck_assert_int_eq(bf_split_init(&s, 0, 0, 512, 0, 11), 0); /* empty: no request */
        struct bf_req_plan p;
        struct bf_seg_plan seg[11];
        ck_assert_int_eq(bf_split_next(&s, &p, seg), 0);
}
END_TEST

static Suite *bf_split_suite(void)
{
        Suite *s = suite_create("bf_split");
        TCase *tc = tcase_create("split");
        tcase_add_loop_test(tc, split_table, 0, sizeof(cases) / sizeof(cases[0]));
        tcase_add_test(tc, split_rejects);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(bf_split_suite)
