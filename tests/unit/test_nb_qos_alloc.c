/* nb_qos_alloc: the sharing of an uplink's capacity (minimums, weights,
 * maximums, demand, work conservation), the demand estimator and the rate
 * syntax, table-driven. Rates are bits per second. */
#include <check.h>
#include <errno.h>
#include <stdio.h>

#include "check_main.h"
#include "netback/nb_qos_alloc.h"

#define M   1000000ull
#define UNL NB_QOS_UNLIMITED

struct alloc_case {
        const char *name;
        uint64_t capacity;
        size_t n;
        struct nb_qos_share in[4];
        uint64_t want[4];
};

/* Demand NB_QOS_UNLIMITED-like: a greedy vif. */
#define GREEDY (100000 * M)

static const struct alloc_case alloc_cases[] = {
    {"equal weights split evenly",
     400 * M,
     2,
     {{0, UNL, 1, GREEDY}, {0, UNL, 1, GREEDY}},
     {200 * M, 200 * M}},
    {"weights 3:1", 400 * M, 2, {{0, UNL, 3, GREEDY}, {0, UNL, 1, GREEDY}}, {300 * M, 100 * M}},
    {"a capped vif frees its share to the other",
     400 * M,
     2,
     {{0, 100 * M, 1, GREEDY}, {0, UNL, 1, GREEDY}},
     {100 * M, 300 * M}},
    {"a minimum is a floor, not an addition",
     400 * M,
     2,
     {{200 * M, UNL, 1, GREEDY}, {0, UNL, 4, GREEDY}},
     {200 * M, 200 * M}},
    {"above its minimum a vif gets its weighted share",
     400 * M,
     2,
     {{50 * M, UNL, 1, GREEDY}, {0, UNL, 1, GREEDY}},
     {200 * M, 200 * M}},
    {"minimums beyond the capacity scale down in proportion",
     300 * M,
     2,
     {{300 * M, UNL, 1, GREEDY}, {100 * M, UNL, 1, GREEDY}},
     {225 * M, 75 * M}},
    {"no minimum without demand: it goes to the busy vif",
     400 * M,
     2,
     {{200 * M, UNL, 1, 10 * M}, {0, 390 * M, 1, GREEDY}},
     {10 * M, 390 * M}},
    {"spare capacity no demand asked for is handed out up to max",
     400 * M,
     3,
     {{0, UNL, 1, 10 * M}, {0, 50 * M, 1, 20 * M}, {0, UNL, 2, 30 * M}},
     {116666666, 50 * M, 233333333}},
    {"everyone capped below the capacity keeps its max",
     400 * M,
     2,
     {{0, 100 * M, 1, GREEDY}, {0, 50 * M, 1, GREEDY}},
     {100 * M, 50 * M}},
    {"unlimited capacity: each vif its max",
     UNL,
     2,
     {{10 * M, 100 * M, 1, 1 * M}, {0, UNL, 1, GREEDY}},
     {100 * M, UNL}},
    {"three vifs, one small demand, weights 1:1:2",
     400 * M,
     3,
     {{0, UNL, 1, 40 * M}, {0, UNL, 1, GREEDY}, {0, UNL, 2, GREEDY}},
     {40 * M, 120 * M, 240 * M}},
    {"a lone vif gets the capacity", 400 * M, 1, {{0, UNL, 1, 5 * M}}, {400 * M}},
};

static uint64_t diff(uint64_t a, uint64_t b)
{
        return a > b ? a - b : b - a;
}

START_TEST(allocate_table)
{
        const struct alloc_case *c = &alloc_cases[_i];
        uint64_t out[4], sum = 0;
        nb_qos_allocate(c->in, c->n, c->capacity, out);
        for (size_t i = 0; i < c->n; i++) {
                /* Bisection: within a few bits per second. */
                ck_assert_msg(c->want[i] == UNL ? out[i] == UNL : diff(out[i], c->want[i]) <= 16,
                              "%s: vif %zu got %llu, want %llu", c->name, i,
                              (unsigned long long)out[i], (unsigned long long)c->want[i]);
                if (out[i] != UNL)
                        sum += out[i];
        }
        if (c->capacity != UNL)
                ck_assert_msg(sum <= c->capacity, "%s: %llu allocated of %llu", c->name,
                              (unsigned long long)sum, (unsigned long long)c->capacity);
}
END_TEST

/* Whatever the inputs: never above the capacity, never above a max, a
 * minimum kept whenever the minimums fit, and the capacity spent unless
 * every vif is at its max (work-conserving). */
START_TEST(allocate_invariants)
{
        uint32_t seed = 12345;
        for (int round = 0; round < 20000; round++) {
                struct nb_qos_share in[NB_QOS_GROUP_MAX];
                uint64_t out[NB_QOS_GROUP_MAX], cap, sum = 0, mins = 0;
                size_t n;
                bool all_at_max = true;
#define RND() (seed = seed * 1103515245u + 12345u, (seed >> 8) & 0xffff)
                n = 1 + RND() % 8;
                cap = (1 + RND() % 1000) * M;
                for (size_t i = 0; i < n; i++) {
                        in[i].max = RND() % 4 ? (1 + RND() % 1000) * M : UNL;
                        in[i].min = RND() % 2 ? (RND() % 500) * M : 0;
                        if (in[i].min > in[i].max)
                                in[i].min = in[i].max;
                        in[i].weight = 1 + RND() % 10;
                        in[i].demand = (RND() % 2000) * M;
                        uint64_t want_min = in[i].min < in[i].demand ? in[i].min : in[i].demand;
                        mins += want_min;
                }
                nb_qos_allocate(in, n, cap, out);
                for (size_t i = 0; i < n; i++) {
                        ck_assert_uint_le(out[i], in[i].max);
                        sum += out[i];
                        if (out[i] + 16 < in[i].max)
                                all_at_max = false;
                }
                ck_assert_uint_le(sum, cap);
                if (mins <= cap)
                        for (size_t i = 0; i < n; i++) {
                                uint64_t m = in[i].min < in[i].demand ? in[i].min : in[i].demand;
                                ck_assert_uint_ge(out[i] + 16, m);
                        }
                if (!all_at_max)
                        ck_assert_uint_ge(sum + 16 * n, cap);
        }
}
END_TEST

struct demand_case {
        const char *name;
        struct nb_qos_demand_in in;
        uint64_t want;
};

static const struct demand_case demand_cases[] = {
    {"held by the limiter: twice its allocation",
     {.prev = 50 * M, .used = 90 * M, .alloc = 100 * M, .throttled = true, .max = UNL},
     200 * M},
    {"used 90 % of its allocation: also wants more",
     {.prev = 50 * M, .used = 95 * M, .alloc = 100 * M, .max = UNL},
     200 * M},
    {"growth stops at max",
     {.prev = 50 * M, .used = 95 * M, .alloc = 100 * M, .throttled = true, .max = 150 * M},
     150 * M},
    {"light use: what it used plus a quarter",
     {.prev = 40 * M, .used = 40 * M, .alloc = 100 * M, .max = UNL},
     50 * M},
    {"falls by at most half a tick",
     {.prev = 200 * M, .used = 0, .alloc = 300 * M, .max = UNL},
     100 * M},
    {"idle: qos.default", {.prev = 0, .used = 0, .alloc = UNL, .dflt = 20 * M, .max = UNL}, 20 * M},
    {"idle without a default: the floor",
     {.prev = 0, .used = 0, .alloc = UNL, .max = UNL},
     NB_QOS_DEMAND_FLOOR},
    {"unlimited and not held: used plus a quarter",
     {.prev = 0, .used = 800 * M, .alloc = UNL, .max = UNL},
     1000 * M},
};

START_TEST(demand_table)
{
        const struct demand_case *c = &demand_cases[_i];
        uint64_t got = nb_qos_demand_next(&c->in);
        ck_assert_msg(got == c->want, "%s: %llu, want %llu", c->name, (unsigned long long)got,
                      (unsigned long long)c->want);
}
END_TEST

/* A greedy vif starting at the floor reaches a 300M share within 10 ticks
 * (200 ms), and a light one settles at its use. */
START_TEST(demand_converges)
{
        struct nb_qos_share in[2] = {{0, UNL, 1, NB_QOS_DEMAND_FLOOR},
                                     {0, 100 * M, 1, NB_QOS_DEMAND_FLOOR}};
        uint64_t alloc[2] = {UNL, UNL};
        int tick;
        for (tick = 0; tick < 10; tick++) {
                for (int i = 0; i < 2; i++) {
                        /* both want everything: they use what they get */
                        struct nb_qos_demand_in d = {.prev = in[i].demand,
                                                     .used = alloc[i] == UNL ? 0 : alloc[i],
                                                     .alloc = alloc[i],
                                                     .throttled = alloc[i] != UNL,
                                                     .max = in[i].max};
                        in[i].demand = nb_qos_demand_next(&d);
                }
                nb_qos_allocate(in, 2, 400 * M, alloc);
        }
        ck_assert_uint_eq(alloc[1], 100 * M);
        ck_assert_uint_ge(alloc[0], 300 * M - 16);
}
END_TEST

/* Queues get the allocation by what they carried; an idle one keeps a
 * little to start with; the parts never exceed the whole. */
START_TEST(split_by_use)
{
        static const struct {
                uint64_t total;
                size_t n;
                uint64_t used[4];
                uint64_t want[4];
        } cases[] = {
            {1000000, 1, {5000}, {1000000}},
            {1000000, 2, {0, 0}, {500000, 500000}},
            {1000000, 2, {3000000, 1000000}, {742424, 257575}},
            /* idle queues: weight 4000000 / (32 * 4) + 1 each */
            {1000000, 4, {4000000, 0, 0, 0}, {977272, 7575, 7575, 7575}},
            {3, 4, {0, 0, 0, 0}, {1, 1, 1, 1}},
            {0, 2, {10, 10}, {0, 0}},
        };
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
                uint64_t out[4], sum = 0;
                nb_qos_split(cases[c].total, cases[c].used, cases[c].n, out);
                for (size_t i = 0; i < cases[c].n; i++) {
                        ck_assert_msg(
                            out[i] == cases[c].want[i], "case %zu queue %zu: %llu, want %llu", c, i,
                            (unsigned long long)out[i], (unsigned long long)cases[c].want[i]);
                        sum += out[i];
                }
                if (cases[c].total >= cases[c].n)
                        ck_assert_uint_le(sum, cases[c].total);
        }
}
END_TEST

struct rate_case {
        const char *s;
        bool allow_unlimited;
        int rc;
        uint64_t want;
};

static const struct rate_case rate_cases[] = {
    {"100M", false, 0, 100 * M},      {"1G", false, 0, 1000 * M},
    {"500k", false, 0, 500000},       {"500K", false, 0, 500000},
    {"1.5G", false, 0, 1500 * M},     {"12000", false, 0, 12000},
    {"100Mbit", false, 0, 100 * M},   {"2T", false, 0, 2000000 * M},
    {"unlimited", true, 0, UNL},      {"0", true, 0, UNL},
    {"unlimited", false, -EINVAL, 0}, {"0", false, -ERANGE, 0},
    {"", false, -EINVAL, 0},          {"-5M", false, -EINVAL, 0},
    {"5X", false, -EINVAL, 0},        {"5Mx", false, -EINVAL, 0},
    {"M", false, -EINVAL, 0},         {"0.0001", false, -EINVAL, 0},
    {"99999999T", false, -ERANGE, 0}, {"nan", false, -EINVAL, 0},
};

START_TEST(parse_rate_table)
{
        const struct rate_case *c = &rate_cases[_i];
        uint64_t v = 0;
        int rc = nb_qos_parse_rate(c->s, c->allow_unlimited, &v);
        ck_assert_msg(rc == c->rc, "\"%s\": rc %d, want %d", c->s, rc, c->rc);
        if (rc == 0)
                ck_assert_msg(v == c->want, "\"%s\": %llu, want %llu", c->s, (unsigned long long)v,
                              (unsigned long long)c->want);
}
END_TEST

START_TEST(format_rate)
{
        static const struct {
                uint64_t v;
                const char *s;
        } cases[] = {{100 * M, "100M"}, {1000 * M, "1G"},   {1500 * M, "1500M"},
                     {500000, "500k"},  {12345, "12345"},   {UNL, "unlimited"},
                     {0, "0"},          {2000000 * M, "2T"}};
        char buf[32];
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                uint64_t back;
                nb_qos_format_rate(cases[i].v, buf, sizeof(buf));
                ck_assert_str_eq(buf, cases[i].s);
                if (cases[i].v != 0 && cases[i].v != UNL) {
                        ck_assert_int_eq(nb_qos_parse_rate(buf, false, &back), 0);
                        ck_assert_uint_eq(back, cases[i].v);
                }
        }
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *nb_qos_alloc_suite(void)
{
        Suite *s = suite_create("nb_qos_alloc");
        TCase *tc = tcase_create("qos");
        tcase_add_loop_test(tc, allocate_table, 0, N(alloc_cases));
        tcase_add_test(tc, allocate_invariants);
        tcase_add_loop_test(tc, demand_table, 0, N(demand_cases));
        tcase_add_test(tc, demand_converges);
        tcase_add_test(tc, split_by_use);
        tcase_add_loop_test(tc, parse_rate_table, 0, N(rate_cases));
        tcase_add_test(tc, format_rate);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(nb_qos_alloc_suite)
