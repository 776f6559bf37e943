/* nb_mcast: the multicast filter list (64 entries, add/del/match) and which
 * destination addresses it applies to. */
#include <check.h>
#include <errno.h>

#include "check_main.h"
#include "netback/nb_mcast.h"

START_TEST(add_del_match)
{
        struct nb_mcast m;
        uint8_t a[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
        uint8_t b[6] = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};
        nb_mcast_init(&m);
        ck_assert(!nb_mcast_match(&m, a));
        ck_assert_int_eq(nb_mcast_add(&m, a), 0);
        ck_assert_int_eq(nb_mcast_add(&m, a), 0);
        ck_assert_uint_eq(m.n, 1);
        ck_assert_int_eq(nb_mcast_add(&m, b), 0);
        ck_assert(nb_mcast_match(&m, a) && nb_mcast_match(&m, b));
        nb_mcast_del(&m, a);
        ck_assert(!nb_mcast_match(&m, a) && nb_mcast_match(&m, b));
        nb_mcast_del(&m, a); /* absent: ignored */
        ck_assert_uint_eq(m.n, 1);
}
END_TEST

START_TEST(full_at_64)
{
        struct nb_mcast m;
        uint8_t a[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x00};
        nb_mcast_init(&m);
        for (unsigned i = 0; i < NB_MCAST_MAX; i++) {
                a[5] = (uint8_t)i;
                ck_assert_int_eq(nb_mcast_add(&m, a), 0);
        }
        a[5] = 200;
        ck_assert_int_eq(nb_mcast_add(&m, a), -ENOSPC);
        a[5] = 3;
        nb_mcast_del(&m, a);
        a[5] = 200;
        ck_assert_int_eq(nb_mcast_add(&m, a), 0);
        a[5] = 63;
        ck_assert(nb_mcast_match(&m, a));
}
END_TEST

START_TEST(group_addresses)
{
        static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        static const uint8_t ucast[6] = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x01};
        static const uint8_t v4m[6] = {0x01, 0x00, 0x5e, 0x7f, 0x00, 0x01};
        static const uint8_t v6m[6] = {0x33, 0x33, 0xff, 0x00, 0x00, 0x01};
        ck_assert(!nb_mcast_is_group(bcast));
        ck_assert(!nb_mcast_is_group(ucast));
        ck_assert(nb_mcast_is_group(v4m));
        ck_assert(nb_mcast_is_group(v6m));
}
END_TEST

static Suite *nb_mcast_suite(void)
{
        Suite *s = suite_create("nb_mcast");
        TCase *tc = tcase_create("mcast");
        tcase_add_test(tc, add_del_match);
        tcase_add_test(tc, full_at_64);
        tcase_add_test(tc, group_addresses);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(nb_mcast_suite)
