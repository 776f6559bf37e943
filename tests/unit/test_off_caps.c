/* off_caps: the per-packet offload decision, table-driven over every packet
 * kind and peer capability that changes the answer, and the path counters. */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "offload/off_caps.h"

#define NO_TSO (OFF_CAP_ALL & ~(OFF_CAP_TSO4 | OFF_CAP_TSO6))
#define NO_SG  (OFF_CAP_ALL & ~OFF_CAP_SG)

struct decide_case {
        const char *what;
        struct off_meta m;
        unsigned caps;
        unsigned want;
};

static const struct decide_case cases[] = {
    {"plain frame, any peer", {OFF_GSO_KIND_NONE, false, false, 1}, 0, OFF_ACT_PASS},
    {"partial v4, peer sums v4", {OFF_GSO_KIND_NONE, true, false, 1}, OFF_CAP_CSUM4, OFF_ACT_PASS},
    {"partial v4, peer sums only v6", {OFF_GSO_KIND_NONE, true, false, 1}, OFF_CAP_CSUM6,
     OFF_ACT_CSUM},
    {"partial v6, peer sums only v4", {OFF_GSO_KIND_NONE, true, true, 1}, OFF_CAP_CSUM4,
     OFF_ACT_CSUM},
    {"partial v6, peer sums v6", {OFF_GSO_KIND_NONE, true, true, 1}, OFF_CAP_CSUM6, OFF_ACT_PASS},
    {"validated (not partial), no peer csum", {OFF_GSO_KIND_NONE, false, true, 1}, 0,
     OFF_ACT_PASS},
    {"tso4 to a tso4+sg peer", {OFF_GSO_KIND_TCP4, true, false, 3}, OFF_CAP_ALL, OFF_ACT_PASS},
    {"tso4 to a tso6-only peer", {OFF_GSO_KIND_TCP4, true, false, 3}, OFF_CAP_ALL & ~OFF_CAP_TSO4,
     OFF_ACT_SEGMENT},
    {"tso6 to a tso4-only peer", {OFF_GSO_KIND_TCP6, true, true, 3}, OFF_CAP_ALL & ~OFF_CAP_TSO6,
     OFF_ACT_SEGMENT},
    {"tso to a peer without tso", {OFF_GSO_KIND_TCP4, true, false, 1}, NO_TSO, OFF_ACT_SEGMENT},
    {"tso to a peer with tso but no sg", {OFF_GSO_KIND_TCP6, true, true, 1}, NO_SG,
     OFF_ACT_SEGMENT},
    {"tso to a peer with nothing", {OFF_GSO_KIND_TCP4, false, false, 5}, 0, OFF_ACT_SEGMENT},
    {"udp/ecn gso: nobody segments it", {OFF_GSO_KIND_OTHER, true, false, 1}, OFF_CAP_ALL,
     OFF_ACT_DROP},
    {"fragments to a peer without sg", {OFF_GSO_KIND_NONE, false, false, 2}, NO_SG,
     OFF_ACT_LINEARIZE},
    {"fragments + partial to a bare peer", {OFF_GSO_KIND_NONE, true, false, 3}, 0,
     OFF_ACT_LINEARIZE | OFF_ACT_CSUM},
    {"fragments to an sg peer", {OFF_GSO_KIND_NONE, true, true, 4}, OFF_CAP_ALL, OFF_ACT_PASS},
};

START_TEST(decide_table)
{
        const struct decide_case *c = &cases[_i];
        unsigned got = off_decide(&c->m, c->caps);
        ck_assert_msg(got == c->want, "%s: action %#x, want %#x", c->what, got, c->want);
}
END_TEST

START_TEST(count_paths)
{
        struct off_path_stats st;
        memset(&st, 0, sizeof(st));
        for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                off_path_count(&st, &cases[i].m, off_decide(&cases[i].m, cases[i].caps));
        /* From the table: 1 GSO passed, 5 segmented, 1 dropped; partial
         * non-GSO: 3 left to the peer (incl. fragments to an sg peer), 3
         * completed; 2 linearised. */
        ck_assert_uint_eq(st.gso_pass, 1);
        ck_assert_uint_eq(st.gso_sw, 5);
        ck_assert_uint_eq(st.dropped, 1);
        ck_assert_uint_eq(st.csum_pass, 3);
        ck_assert_uint_eq(st.csum_sw, 3);
        ck_assert_uint_eq(st.linearized, 2);
        ck_assert_uint_eq(st.gso_sw_segs, 0);
}
END_TEST

START_TEST(caps_names)
{
        char buf[64];
        ck_assert_str_eq(off_caps_str(0, buf, sizeof(buf)), "none");
        ck_assert_str_eq(off_caps_str(OFF_CAP_ALL, buf, sizeof(buf)), "csum4,csum6,tso4,tso6,sg");
        ck_assert_str_eq(off_caps_str(OFF_CAP_TSO6 | OFF_CAP_CSUM4, buf, sizeof(buf)),
                         "csum4,tso6");
        /* Truncation keeps whole names only. */
        ck_assert_str_eq(off_caps_str(OFF_CAP_ALL, buf, 12), "csum4,csum6");
}
END_TEST

static Suite *off_caps_suite(void)
{
        Suite *s = suite_create("off_caps");
        TCase *tc = tcase_create("decide");
        tcase_add_loop_test(tc, decide_table, 0, (int)(sizeof(cases) / sizeof(cases[0])));
        tcase_add_test(tc, count_paths);
        tcase_add_test(tc, caps_names);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(off_caps_suite)
