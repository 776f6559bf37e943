/* cpulist: the CPU-list syntax of pvbackd --worker-cpus (as taskset -c and
 * /sys/devices/system/cpu/online write it), the n-th CPU of a set, and the
 * list written back. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "cpulist.h"

static cpu_set_t parsed(const char *s)
{
        cpu_set_t set;
        ck_assert_msg(pv_cpulist_parse(s, &set) == 0, "'%s' refused", s);
        return set;
}

static const char *formatted(const char *s)
{
        static char buf[256];
        cpu_set_t set = parsed(s);
        pv_cpulist_format(&set, buf, sizeof(buf));
        return buf;
}

START_TEST(lists_and_ranges_parse)
{
        cpu_set_t set = parsed("0-3,8,10-11");
        ck_assert_int_eq(CPU_COUNT(&set), 7);
        for (int c = 0; c <= 3; c++)
                ck_assert(CPU_ISSET(c, &set));
        ck_assert(!CPU_ISSET(4, &set));
        ck_assert(CPU_ISSET(8, &set) && CPU_ISSET(10, &set) && CPU_ISSET(11, &set));
        set = parsed("5");
        ck_assert_int_eq(CPU_COUNT(&set), 1);
        ck_assert(CPU_ISSET(5, &set));
        set = parsed("3-3,1,1");
        ck_assert_int_eq(CPU_COUNT(&set), 2);
}
END_TEST

START_TEST(malformed_lists_are_refused)
{
        static const char *const bad[] = {"",    ",",  "1,",    ",1",     "1,,2", "3-1",
                                          "1-",  "-1", "a",     "1 ,2",   " 1",   "1-2-3",
                                          "0x1", "+1", "99999", "0-99999"};
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(7, &set);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ck_assert_msg(pv_cpulist_parse(bad[i], &set) == -EINVAL, "'%s' accepted", bad[i]);
                /* A refused list leaves the output alone. */
                ck_assert(CPU_ISSET(7, &set) && CPU_COUNT(&set) == 1);
        }
        ck_assert_int_eq(pv_cpulist_parse(NULL, &set), -EINVAL);
        char top[16];
        snprintf(top, sizeof(top), "%d", CPU_SETSIZE - 1);
        ck_assert_int_eq(pv_cpulist_parse(top, &set), 0);
        snprintf(top, sizeof(top), "%d", CPU_SETSIZE);
        ck_assert_int_eq(pv_cpulist_parse(top, &set), -EINVAL);
}
END_TEST

START_TEST(nth_cpu_wraps_around_the_set)
{
        cpu_set_t set = parsed("2,5-6");
        ck_assert_int_eq(pv_cpulist_nth(&set, 0), 2);
        ck_assert_int_eq(pv_cpulist_nth(&set, 1), 5);
        ck_assert_int_eq(pv_cpulist_nth(&set, 2), 6);
        ck_assert_int_eq(pv_cpulist_nth(&set, 3), 2);
        ck_assert_int_eq(pv_cpulist_nth(&set, 7), 5);
        CPU_ZERO(&set);
        ck_assert_int_eq(pv_cpulist_nth(&set, 0), -1);
}
END_TEST

START_TEST(sets_are_written_back_as_lists)
{
        ck_assert_str_eq(formatted("0-3,8,10-11"), "0-3,8,10-11");
        ck_assert_str_eq(formatted("3,2,1,0"), "0-3");
        ck_assert_str_eq(formatted("1,3"), "1,3");
        cpu_set_t set;
        CPU_ZERO(&set);
        char buf[8] = "x";
        pv_cpulist_format(&set, buf, sizeof(buf));
        ck_assert_str_eq(buf, "");
        /* Cut after the last whole item, and said to be cut. */
        set = parsed("0,2,4,6,8,10,12");
        pv_cpulist_format(&set, buf, sizeof(buf));
        ck_assert_str_eq(buf, "0,2...");
        char small[4] = "x";
        set = parsed("100");
        pv_cpulist_format(&set, small, sizeof(small));
        ck_assert_str_eq(small, "100");
        set = parsed("100,200");
        pv_cpulist_format(&set, small, sizeof(small));
        ck_assert_str_eq(small, "...");
        /* The worst set fits in PV_CPULIST_MAX, whole. */
        static char big[PV_CPULIST_MAX];
        CPU_ZERO(&set);
        for (int c = 0; c < CPU_SETSIZE; c += 2)
                CPU_SET(c, &set);
        pv_cpulist_format(&set, big, sizeof(big));
        ck_assert_ptr_null(strstr(big, "..."));
        cpu_set_t back;
        ck_assert_int_eq(pv_cpulist_parse(big, &back), 0);
        ck_assert(CPU_EQUAL(&back, &set));
}
END_TEST

static Suite *cpulist_suite(void)
{
        Suite *s = suite_create("cpulist");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, lists_and_ranges_parse);
        tcase_add_test(tc, malformed_lists_are_refused);
        tcase_add_test(tc, nth_cpu_wraps_around_the_set);
        tcase_add_test(tc, sets_are_written_back_as_lists);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(cpulist_suite)
