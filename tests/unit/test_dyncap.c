/* The dynamic capability exchange's pure parts (backend/dyncap.c and the
 * offload path rule of netback/nb_dyncap.c): building sets from section
 * builders, the diff that decides whether a new generation goes out, and
 * the frontend's hostile capabilities-ack / capabilities-preference. */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "dyncap.h"
#include "netback/nb_coal.h"
#include "netback/nb_dyncap.h"
#include "offload/off_caps.h"

/* ---- building ------------------------------------------------------------- */

struct fake_dev {
        const char *tso;
        unsigned vifs;
        bool coalesce;
};

static void build_a(const void *dev, const char *sec, struct dyncap_set *out)
{
        const struct fake_dev *d = dev;
        dyncap_add(out, sec, "tso4", "%s", d->tso);
        dyncap_add(out, sec, "csum4", "hw");
}

static void build_b(const void *dev, const char *sec, struct dyncap_set *out)
{
        const struct fake_dev *d = dev;
        dyncap_add(out, sec, "vifs", "%u", d->vifs);
}

/* A slot whose builder adds nothing until its module has values. */
static void build_empty(const void *dev, const char *sec, struct dyncap_set *out)
{
        const struct fake_dev *d = dev;
        if (d->coalesce)
                dyncap_add(out, sec, "rx-usecs", "%d", 20);
}

static const struct dyncap_section secs[] = {
    {"offload", build_a},
    {"uplink", build_b},
    {"coalesce", build_empty},
    {"qos", NULL},
};
#define NSECS (sizeof(secs) / sizeof(secs[0]))

START_TEST(build_sections_in_order)
{
        struct fake_dev d = {"hw", 1, false};
        struct dyncap_set s;
        ck_assert_int_eq(dyncap_build(secs, NSECS, &d, &s), 0);
        ck_assert_uint_eq(s.n, 3);
        ck_assert_str_eq(s.kv[0].key, "offload/tso4");
        ck_assert_str_eq(s.kv[0].val, "hw");
        ck_assert_str_eq(s.kv[2].key, "uplink/vifs");
        ck_assert_str_eq(s.kv[2].val, "1");
        ck_assert_ptr_null(dyncap_get(&s, "coalesce/rx-usecs"));
        d.coalesce = true;
        ck_assert_int_eq(dyncap_build(secs, NSECS, &d, &s), 0);
        ck_assert_str_eq(dyncap_get(&s, "coalesce/rx-usecs"), "20");
}
END_TEST

START_TEST(build_refuses_bad_or_too_many)
{
        struct dyncap_set s;
        char big[DYNCAP_VAL_MAX + 8];
        dyncap_set_init(&s);
        dyncap_add(&s, "offload", "TSO", "x"); /* upper case: not ours */
        ck_assert_int_eq(s.err, -EINVAL);
        ck_assert_uint_eq(s.n, 0);
        dyncap_set_init(&s);
        dyncap_add(&s, "a/b", "k", "x"); /* a path separator in a name */
        ck_assert_int_eq(s.err, -EINVAL);
        dyncap_set_init(&s);
        memset(big, 'v', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        dyncap_add(&s, "s", "k", "%s", big);
        ck_assert_int_eq(s.err, -ENAMETOOLONG);
        dyncap_set_init(&s);
        for (int i = 0; i < DYNCAP_KV_MAX + 1; i++)
                dyncap_add(&s, "s", "k", "%d", i);
        ck_assert_int_eq(s.err, -E2BIG);
        ck_assert_uint_eq(s.n, DYNCAP_KV_MAX);
        /* Sticky: a later good key does not clear it. */
        dyncap_add(&s, "s", "ok", "1");
        ck_assert_int_eq(s.err, -E2BIG);
}
END_TEST

/* ---- diffing: a new generation only when something changed -------------- */

/* dyncap_publish's decision and state change, without the transaction. */
static uint64_t publish_step(struct dyncap *dc, const struct dyncap_set *next)
{
        if (dyncap_needs_publish(dc, next))
                dyncap_committed(dc, next, dyncap_next_generation(dc->generation, 0));
        return dc->generation;
}

START_TEST(generation_bumps_only_on_change)
{
        static const struct {
                const char *tso;
                unsigned vifs;
                bool coalesce;
                unsigned long long want_gen;
        } steps[] = {
            {"hw", 1, false, 1},                      /* first publish */
            {"hw", 1, false, 1},                      /* a spurious rtnetlink message */
            {"sw", 1, false, 2},                      /* ethtool -K tso off */
            {"sw", 1, false, 2}, {"sw", 2, false, 3}, /* a second vif on the bridge */
            {"sw", 2, true, 4},                       /* a section appears */
            {"sw", 2, false, 5},                      /* ... and goes */
            {"hw", 1, false, 6},                      /* two changes at once: one generation */
            {"hw", 1, false, 6},
        };
        static struct dyncap dc;
        struct dyncap_set next;
        dyncap_init(&dc, "vif1.0", "/be", "/fe");
        ck_assert_uint_eq(dc.generation, 0);
        for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
                struct fake_dev d = {steps[i].tso, steps[i].vifs, steps[i].coalesce};
                ck_assert_int_eq(dyncap_build(secs, NSECS, &d, &next), 0);
                uint64_t g = publish_step(&dc, &next);
                ck_assert_msg(g == steps[i].want_gen, "step %zu: generation %llu, expected %llu", i,
                              (unsigned long long)g, steps[i].want_gen);
        }
        /* A set that failed to build never goes out. */
        next.err = -E2BIG;
        ck_assert(!dyncap_needs_publish(&dc, &next));
        /* A reconnect republishes the same keys under a higher generation,
         * so a stale ack of the previous connection cannot match it. */
        struct fake_dev d = {"hw", 1, false};
        ck_assert_int_eq(dyncap_build(secs, NSECS, &d, &next), 0);
        dyncap_forget(&dc);
        ck_assert_uint_eq(publish_step(&dc, &next), 7);
        ck_assert_uint_eq(publish_step(&dc, &next), 7);
}
END_TEST

START_TEST(differs_ignores_order)
{
        struct dyncap_set a, b;
        dyncap_set_init(&a);
        dyncap_set_init(&b);
        dyncap_add(&a, "s", "x", "1");
        dyncap_add(&a, "s", "y", "2");
        dyncap_add(&b, "s", "y", "2");
        dyncap_add(&b, "s", "x", "1");
        ck_assert(!dyncap_differs(&a, &b));
        dyncap_add(&b, "s", "z", "3");
        ck_assert(dyncap_differs(&a, &b));
        ck_assert(dyncap_differs(&b, &a));
        dyncap_set_init(&b);
        dyncap_add(&b, "s", "x", "1");
        dyncap_add(&b, "s", "w", "2"); /* same count, another key */
        ck_assert(dyncap_differs(&a, &b));
}
END_TEST

/* ---- hostile frontend values ---------------------------------------------- */

static const struct {
        const char *in;
        unsigned long long published;
        int rc;
        unsigned long long want;
} ack_cases[] = {
    {"1", 1, 0, 1},
    {"0", 3, 0, 0},
    {"2", 3, 0, 2},
    {"3", 3, 0, 3},
    {"4", 3, -ERANGE, 0},                     /* above the published generation */
    {"1", 0, -ERANGE, 0},                     /* nothing published yet */
    {"18446744073709551615", 3, -ERANGE, 0},  /* UINT64_MAX */
    {"18446744073709551616", 3, -ERANGE, 0},  /* overflows */
    {"99999999999999999999", 3, -ERANGE, 0},  /* 20 digits, overflows */
    {"100000000000000000000", 3, -EINVAL, 0}, /* 21 digits */
    {"", 3, -EINVAL, 0},
    {"-1", 3, -EINVAL, 0},
    {"+1", 3, -EINVAL, 0},
    {" 1", 3, -EINVAL, 0},
    {"1 ", 3, -EINVAL, 0},
    {"01", 3, -EINVAL, 0},
    {"0x2", 3, -EINVAL, 0},
    {"1\n", 3, -EINVAL, 0},
    {"2a", 3, -EINVAL, 0},
    {"\xff", 3, -EINVAL, 0},
};

START_TEST(ack_values)
{
        uint64_t v = 12345;
        int rc = dyncap_parse_ack(ack_cases[_i].in, ack_cases[_i].published, &v);
        ck_assert_msg(rc == ack_cases[_i].rc, "'%s' (published %llu): %d, expected %d",
                      ack_cases[_i].in, ack_cases[_i].published, rc, ack_cases[_i].rc);
        if (rc == 0)
                ck_assert_uint_eq(v, ack_cases[_i].want);
        else
                ck_assert_uint_eq(v, 12345); /* untouched on refusal */
}
END_TEST

START_TEST(ack_long_input_is_bounded)
{
        /* A frontend may write up to a page: the parser looks at 21 chars. */
        char big[4097];
        uint64_t v;
        memset(big, '1', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        ck_assert_int_eq(dyncap_parse_ack(big, UINT64_MAX, &v), -EINVAL);
}
END_TEST

START_TEST(preference_values)
{
        enum dyncap_pref p = DYNCAP_PREF_DEFAULT;
        ck_assert_int_eq(dyncap_parse_pref("latency", &p), 0);
        ck_assert_int_eq(p, DYNCAP_PREF_LATENCY);
        ck_assert_int_eq(dyncap_parse_pref("throughput", &p), 0);
        ck_assert_int_eq(p, DYNCAP_PREF_THROUGHPUT);
        ck_assert_int_eq(dyncap_parse_pref("default", &p), 0);
        ck_assert_int_eq(p, DYNCAP_PREF_DEFAULT);
        static const char *const bad[] = {"", "Latency", "latency ", "fast", "throughput\n", "1"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                p = DYNCAP_PREF_LATENCY;
                ck_assert_int_eq(dyncap_parse_pref(bad[i], &p), -EINVAL);
                ck_assert_int_eq(p, DYNCAP_PREF_LATENCY);
        }
        ck_assert_str_eq(dyncap_pref_name(DYNCAP_PREF_THROUGHPUT), "throughput");
}
END_TEST

START_TEST(ratelimit_bursts_then_counts)
{
        struct dyncap_ratelimit rl = {0};
        unsigned printed = 0;
        for (int i = 0; i < 100; i++)
                printed += dyncap_ratelimit_ok(&rl, 1000000000ull + (uint64_t)i * 1000);
        ck_assert_uint_eq(printed, 5);
        ck_assert_uint_eq(rl.suppressed, 95);
        /* A new window prints again. */
        ck_assert(dyncap_ratelimit_ok(&rl, 1000000000ull + 6000000000ull));
}
END_TEST

/* ---- the vif's offload paths ----------------------------------------------- */

/* Bridge-driven republishes: at once after a quiet second, else when the
 * second is over. */
START_TEST(bridge_republish_debounce)
{
        const uint64_t s = 1000000000ull;
        ck_assert_uint_eq(nb_dyncap_bridge_delay(0, 5 * s), 0);     /* first ever */
        ck_assert_uint_eq(nb_dyncap_bridge_delay(5 * s, 5 * s), s); /* just went out */
        ck_assert_uint_eq(nb_dyncap_bridge_delay(5 * s, 5 * s + 300000000ull), 700000000ull);
        ck_assert_uint_eq(nb_dyncap_bridge_delay(5 * s, 6 * s - 1), 1);
        ck_assert_uint_eq(nb_dyncap_bridge_delay(5 * s, 6 * s), 0); /* a gap ago */
        ck_assert_uint_eq(nb_dyncap_bridge_delay(5 * s, 60 * s), 0);
}
END_TEST

/* A restarted pvbackd counts on from what the previous one left. */
START_TEST(next_generation_after_restart)
{
        static const struct {
                uint64_t own, left, want;
        } cases[] = {
            {0, 0, 1},   /* nothing before */
            {0, 1, 2},   /* the previous daemon's first */
            {0, 41, 42}, /* ... or a later one */
            {5, 3, 6},   /* our own count is ahead (a reconnect) */
            {5, 5, 6},   /* the same */
            {7, 9, 10},  /* a mix */
            {0, UINT64_MAX - 1, UINT64_MAX},
            {UINT64_MAX, 0, UINT64_MAX}, /* saturates, never wraps to 0 */
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                ck_assert_msg(dyncap_next_generation(cases[i].own, cases[i].left) == cases[i].want,
                              "own %" PRIu64 " left %" PRIu64 ": %" PRIu64 ", not %" PRIu64,
                              cases[i].own, cases[i].left,
                              dyncap_next_generation(cases[i].own, cases[i].left), cases[i].want);
}
END_TEST

START_TEST(offload_paths)
{
        const unsigned all = OFF_CAP_ALL;
        ck_assert_str_eq(nb_dyncap_offload_path(OFF_CAP_TSO4, true, all), "hw");
        ck_assert_str_eq(nb_dyncap_offload_path(OFF_CAP_TSO4, true, all & ~OFF_CAP_TSO4), "sw");
        /* GSO passes only with SG as well (off_decide). */
        ck_assert_str_eq(nb_dyncap_offload_path(OFF_CAP_TSO6, true, all & ~OFF_CAP_SG), "sw");
        ck_assert_str_eq(nb_dyncap_offload_path(OFF_CAP_CSUM4, true, all & ~OFF_CAP_SG), "hw");
        ck_assert_str_eq(nb_dyncap_offload_path(OFF_CAP_CSUM6, true, 0), "sw");
        ck_assert_str_eq(nb_dyncap_offload_path(OFF_CAP_SG, true, OFF_CAP_SG), "hw");
        ck_assert_str_eq(nb_dyncap_offload_path(OFF_CAP_SG, false, all), "off");
        ck_assert_str_eq(nb_dyncap_offload_path(OFF_CAP_TSO4, false, 0), "off");
}
END_TEST

/* Administrator > guest preference > default, for every configured mode. */
START_TEST(l3_precedence)
{
        enum nb_coal_src src;
        for (unsigned m = NB_COAL_OFF; m <= NB_COAL_ADAPTIVE; m++) {
                /* Default: the configured mode, whatever it is. */
                ck_assert_uint_eq(nb_coal_l3_resolve(m, false, NB_COAL_PREF_DEFAULT, &src), m);
                ck_assert_uint_eq(src, NB_COAL_SRC_DEFAULT);
                /* Latency: nothing held; throughput: adaptive. */
                ck_assert_uint_eq(nb_coal_l3_resolve(m, false, NB_COAL_PREF_LATENCY, &src),
                                  NB_COAL_OFF);
                ck_assert_uint_eq(src, NB_COAL_SRC_GUEST);
                ck_assert_uint_eq(nb_coal_l3_resolve(m, false, NB_COAL_PREF_THROUGHPUT, &src),
                                  NB_COAL_ADAPTIVE);
                ck_assert_uint_eq(src, NB_COAL_SRC_GUEST);
                /* The administrator's setting wins over any preference. */
                for (unsigned p = NB_COAL_PREF_DEFAULT; p <= NB_COAL_PREF_THROUGHPUT; p++) {
                        ck_assert_uint_eq(nb_coal_l3_resolve(m, true, p, &src), m);
                        ck_assert_uint_eq(src, NB_COAL_SRC_ADMIN);
                }
        }
        /* The preference's values are the capability exchange's. */
        ck_assert_int_eq((int)NB_COAL_PREF_LATENCY, (int)DYNCAP_PREF_LATENCY);
        ck_assert_int_eq((int)NB_COAL_PREF_THROUGHPUT, (int)DYNCAP_PREF_THROUGHPUT);
        ck_assert_str_eq(nb_coal_src_str(NB_COAL_SRC_GUEST), "guest");
        ck_assert_str_eq(nb_coal_src_str(NB_COAL_SRC_ADMIN), "admin");
}
END_TEST

/* The published hints follow the settings only: the adaptive state of a
 * queue never shows, so they cannot republish with traffic. */
START_TEST(hints_from_settings_only)
{
        struct nb_coal_cfg c;
        struct nb_coal_hints h;
        nb_coal_cfg_default(&c);
        nb_coal_hints_cfg(&c, &h); /* adaptive: the top of the ladder within N/T */
        ck_assert_uint_eq(h.tx_kick_batch, 32);
        ck_assert_uint_eq(h.rx_poll_us, nb_coal_ladder[NB_COAL_PROFILES - 1].usecs / 4);
        c.l3_usecs = 40;
        c.l3_frames = 8;
        nb_coal_hints_cfg(&c, &h); /* capped by the configured N/T */
        ck_assert_uint_eq(h.tx_kick_batch, 2);
        ck_assert_uint_eq(h.rx_poll_us, 10);
        c.l3 = NB_COAL_FIXED;
        c.l3_usecs = 2000;
        c.l3_frames = 1000;
        nb_coal_hints_cfg(&c, &h);
        ck_assert_uint_eq(h.tx_kick_batch, 32);
        ck_assert_uint_eq(h.rx_poll_us, 500);
        c.l3 = NB_COAL_OFF;
        nb_coal_hints_cfg(&c, &h);
        ck_assert_uint_eq(h.tx_kick_batch, 1);
        ck_assert_uint_eq(h.rx_poll_us, 0);
}
END_TEST

static Suite *dyncap_suite(void)
{
        Suite *s = suite_create("dyncap");
        TCase *tc = tcase_create("build");
        tcase_add_test(tc, build_sections_in_order);
        tcase_add_test(tc, build_refuses_bad_or_too_many);
        suite_add_tcase(s, tc);
        tc = tcase_create("diff");
        tcase_add_test(tc, generation_bumps_only_on_change);
        tcase_add_test(tc, differs_ignores_order);
        suite_add_tcase(s, tc);
        tc = tcase_create("frontend");
        tcase_add_loop_test(tc, ack_values, 0, sizeof(ack_cases) / sizeof(ack_cases[0]));
        tcase_add_test(tc, ack_long_input_is_bounded);
        tcase_add_test(tc, preference_values);
        tcase_add_test(tc, ratelimit_bursts_then_counts);
        suite_add_tcase(s, tc);
        tc = tcase_create("netback");
        tcase_add_test(tc, offload_paths);
        tcase_add_test(tc, next_generation_after_restart);
        tcase_add_test(tc, bridge_republish_debounce);
        tcase_add_test(tc, l3_precedence);
        tcase_add_test(tc, hints_from_settings_only);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(dyncap_suite)
