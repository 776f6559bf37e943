/* bb_pgrant (persistent-grant cache: lookup, limit, LRU purge that never
 * takes grants in use) and bb_gcopy (batch building for both directions). */
#include <check.h>
#include <stdlib.h>

#include "blkback/bb_gcopy.h"
#include "blkback/bb_pgrant.h"
#include "check_main.h"

static struct bb_pgrant_cache c;

static struct bb_pgrant *add(uint32_t gref)
{
        struct bb_pgrant *pg = NULL;
        ck_assert(bb_pgrant_may_add(&c));
        ck_assert_int_eq(bb_pgrant_add(&c, gref, (void *)(uintptr_t)(gref * 4096u), &pg), 0);
        return pg;
}

static void free_victims(struct bb_pgrant **v, uint32_t n)
{
        for (uint32_t i = 0; i < n; i++)
                free(v[i]);
}

static void teardown(void)
{
        struct bb_pgrant *v[4096];
        uint32_t n;
        while ((n = bb_pgrant_take_all(&c, v, 4096)) > 0)
                free_victims(v, n);
        /* Entries still in use would leak here; every test puts them back. */
        bb_pgrant_cache_fini(&c);
}

START_TEST(lookup_hit_miss)
{
        ck_assert_int_eq(bb_pgrant_cache_init(&c, 100, 60000), 0);
        ck_assert_ptr_null(bb_pgrant_get(&c, 5));
        struct bb_pgrant *pg = add(5);
        bb_pgrant_put(&c, pg, 1);
        pg = bb_pgrant_get(&c, 5);
        ck_assert_ptr_nonnull(pg);
        ck_assert_ptr_eq(pg->addr, (void *)(uintptr_t)(5 * 4096u));
        ck_assert_uint_eq(pg->users, 1);
        bb_pgrant_put(&c, pg, 2);
        ck_assert_uint_eq(c.st.hits, 1);
        ck_assert_uint_eq(c.st.misses, 1);
        struct bb_pgrant *dup;
        ck_assert_int_eq(bb_pgrant_add(&c, 5, NULL, &dup), -EEXIST);
        /* Many grefs colliding in few buckets still resolve. */
        for (uint32_t g = 1000; g < 1090; g++)
                bb_pgrant_put(&c, add(g), 3);
        for (uint32_t g = 1000; g < 1090; g++) {
                pg = bb_pgrant_get(&c, g);
                ck_assert_ptr_nonnull(pg);
                ck_assert_uint_eq(pg->gref, g);
                bb_pgrant_put(&c, pg, 4);
        }
        teardown();
}
END_TEST

START_TEST(limit_refuses_and_purges_lru)
{
        struct bb_pgrant *v[256];
        ck_assert_int_eq(bb_pgrant_cache_init(&c, 100, 60000), 0);
        for (uint32_t g = 0; g < 100; g++)
                bb_pgrant_put(&c, add(g), 1000 + g);
        /* Full: the next grant is refused (grant copy instead). */
        ck_assert(!bb_pgrant_may_add(&c));
        ck_assert_uint_eq(c.st.refused, 1);
        /* Touch 0..9 so they become most recent. */
        for (uint32_t g = 0; g < 10; g++)
                bb_pgrant_put(&c, bb_pgrant_get(&c, g), 5000);
        /* Keep 10 and 11 in use: they may not be purged. */
        struct bb_pgrant *busy10 = bb_pgrant_get(&c, 10), *busy11 = bb_pgrant_get(&c, 11);
        uint32_t n = bb_pgrant_purge(&c, 6000, v, 256);
        /* Linux: max/100 * LRU_PERCENT_CLEAN = 5 when at the limit. */
        ck_assert_uint_eq(n, 5);
        for (uint32_t i = 0; i < n; i++)
                ck_assert_msg(v[i]->gref >= 12 && v[i]->gref < 17, "victim %u", v[i]->gref);
        free_victims(v, n);
        ck_assert_uint_eq(c.count, 95);
        ck_assert(bb_pgrant_may_add(&c));
        bb_pgrant_put(&c, busy10, 6001);
        bb_pgrant_put(&c, busy11, 6001);
        /* Below the limit and nothing idle: nothing to purge. */
        ck_assert_uint_eq(bb_pgrant_purge(&c, 6100, v, 256), 0);
        teardown();
}
END_TEST

START_TEST(idle_grants_go)
{
        struct bb_pgrant *v[256];
        ck_assert_int_eq(bb_pgrant_cache_init(&c, 100, 60000), 0);
        for (uint32_t g = 0; g < 20; g++)
                bb_pgrant_put(&c, add(g), g < 10 ? 1000 : 50000);
        struct bb_pgrant *busy = bb_pgrant_get(&c, 3);
        /* At 61.5 s grants last used at 1 s are idle for 60.5 s; 3 is busy. */
        uint32_t n = bb_pgrant_purge(&c, 61500, v, 256);
        ck_assert_uint_eq(n, 9);
        for (uint32_t i = 0; i < n; i++)
                ck_assert(v[i]->gref < 10 && v[i]->gref != 3);
        free_victims(v, n);
        bb_pgrant_put(&c, busy, 61600);
        teardown();
}
END_TEST

START_TEST(gcopy_batch)
{
        struct bb_gcopy b;
        static char buf[2][4096];
        ck_assert_int_eq(bb_gcopy_init(&b, 8, 7), 0);
        ck_assert_uint_eq(bb_gcopy_room(&b), 8);
        bb_gcopy_from_guest(&b, 11, 512, 1024, buf[0], 3);
        bb_gcopy_to_guest(&b, 12, 0, 4096, buf[1], 4);
        ck_assert_uint_eq(b.n, 2);
        ck_assert_uint_eq(b.segs[0].flags, GNTCOPY_source_gref);
        ck_assert_uint_eq(b.segs[0].source.foreign.ref, 11);
        ck_assert_uint_eq(b.segs[0].source.foreign.offset, 512);
        ck_assert_uint_eq(b.segs[0].source.foreign.domid, 7);
        ck_assert_ptr_eq(b.segs[0].dest.virt, buf[0]);
        ck_assert_uint_eq(b.segs[0].len, 1024);
        ck_assert_uint_eq(b.owner[0], 3);
        ck_assert_uint_eq(b.segs[1].flags, GNTCOPY_dest_gref);
        ck_assert_uint_eq(b.segs[1].dest.foreign.ref, 12);
        ck_assert_ptr_eq(b.segs[1].source.virt, buf[1]);
        ck_assert_uint_eq(b.owner[1], 4);
        ck_assert_uint_eq(bb_gcopy_room(&b), 6);
        bb_gcopy_fini(&b);
}
END_TEST

static Suite *bb_pgrant_suite(void)
{
        Suite *s = suite_create("bb_pgrant");
        TCase *tc = tcase_create("cache");
        tcase_add_test(tc, lookup_hit_miss);
        tcase_add_test(tc, limit_refuses_and_purges_lru);
        tcase_add_test(tc, idle_grants_go);
        tcase_add_test(tc, gcopy_batch);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(bb_pgrant_suite)
