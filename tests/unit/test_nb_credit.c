/* nb_credit: the rate limiter against Linux's arithmetic (one window of
 * credit, burst max(128 KiB, credit), refill at the window's end) and the
 * long-run rate it yields. */
#include <check.h>

#include "check_main.h"
#include "netback/nb_credit.h"

#define MS 1000000ull

START_TEST(unlimited)
{
        struct nb_credit c;
        uint64_t wake;
        nb_credit_init(&c, false, 100, 100, 0);
        for (int i = 0; i < 1000; i++)
                ck_assert(nb_credit_take(&c, 0, 65535, &wake));
}
END_TEST

START_TEST(window_and_refill)
{
        struct nb_credit c;
        uint64_t wake = 0;
        /* 10 kB per 50 ms: the burst is 128 KiB, but one window only
         * starts with credit_bytes. */
        nb_credit_init(&c, true, 10000, 50000, 0);
        ck_assert(nb_credit_take(&c, 0, 6000, &wake));
        ck_assert(nb_credit_take(&c, 1 * MS, 4000, &wake));
        ck_assert(!nb_credit_take(&c, 2 * MS, 1, &wake));
        ck_assert_uint_eq(wake, 50 * MS);
        /* Held until the timer: a second try reports the same wake-up. */
        ck_assert(!nb_credit_take(&c, 3 * MS, 1, &wake));
        ck_assert_uint_eq(wake, 50 * MS);
        nb_credit_refill(&c, 50 * MS);
        ck_assert(nb_credit_take(&c, 50 * MS, 10000, &wake));
        ck_assert(!nb_credit_take(&c, 51 * MS, 1, &wake));
}
END_TEST

START_TEST(burst_cap)
{
        struct nb_credit c;
        uint64_t wake;
        nb_credit_init(&c, true, 1000, 1000, 0);
        /* Idle for a long time: credit accumulates to 128 KiB, no more. */
        ck_assert(nb_credit_take(&c, 10000 * MS, 1000, &wake));
        ck_assert_uint_le(c.remaining, NB_CREDIT_MIN_BURST);
        /* A frame larger than credit_bytes still fits in the burst. */
        nb_credit_init(&c, true, 1000, 1000, 0);
        ck_assert(!nb_credit_take(&c, 0, 65535, &wake));
        for (uint64_t t = 1; t < 200; t++)
                nb_credit_refill(&c, t * MS);
        ck_assert(nb_credit_take(&c, 200 * MS, 65535, &wake));
}
END_TEST

/* Simulated sender that always has 1500-byte frames: the long-run rate is
 * within 1 % of credit_bytes per window. */
START_TEST(long_run_rate)
{
        struct nb_credit c;
        uint64_t now = 0, sent = 0, wake;
        const uint64_t bytes = 62500, usec = 50000; /* 10 Mbit/s */
        nb_credit_init(&c, true, bytes, usec, 0);
        while (now < 10000 * MS) {
                if (nb_credit_take(&c, now, 1500, &wake)) {
                        sent += 1500;
                } else {
                        now = wake;
                        nb_credit_refill(&c, now);
                }
        }
        double rate = (double)sent / 10.0;
        double want = (double)bytes * 1e6 / (double)usec;
        ck_assert_msg(rate > want * 0.99 && rate < want * 1.01 + 1500.0, "rate %.0f B/s, want %.0f",
                      rate, want);
}
END_TEST

/* New parameters keep the window in progress; a refill due after a long
 * window is brought forward to one short window from now. */
START_TEST(set_keeps_state_and_brings_refill_forward)
{
        struct nb_credit c;
        uint64_t wake = 0;
        nb_credit_init(&c, true, 500000, 50000, 0);
        ck_assert(nb_credit_take(&c, 0, 400000, &wake));
        nb_credit_set(&c, true, 200000, 50000, 1 * MS);
        ck_assert_uint_eq(c.remaining, 100000); /* kept, under the new burst */
        ck_assert(!nb_credit_take(&c, 2 * MS, 200000, &wake));
        ck_assert_uint_eq(wake, 50 * MS);
        /* 10 ms windows now: the refill moves to 3 + 10 ms. */
        nb_credit_set(&c, true, 50000, 10000, 3 * MS);
        ck_assert_uint_eq(c.timer_at, 13 * MS);
        /* From unlimited: a full window, as init. */
        nb_credit_init(&c, false, 0, 0, 0);
        nb_credit_set(&c, true, 1000, 10000, 5 * MS);
        ck_assert(c.limited);
        ck_assert_uint_eq(c.remaining, 1000);
}
END_TEST

/* The RX bucket: starts full (the burst), refuses what does not fit
 * (nothing waits: the frame is dropped), and passes the rate long-run. */
START_TEST(bucket_rate_and_burst)
{
        struct nb_bucket b = {0};
        uint64_t passed = 0, now = 0;
        ck_assert(nb_bucket_take(&b, 0, 65535)); /* unlimited */
        nb_bucket_set(&b, 1250000, 0);           /* 10 Mbit/s */
        ck_assert_uint_eq(b.burst, NB_BUCKET_MIN_BURST);
        ck_assert(nb_bucket_take(&b, 0, NB_BUCKET_MIN_BURST));
        ck_assert(!nb_bucket_take(&b, 0, 1));
        /* 1500-byte frames offered at 4x the rate for 10 s */
        for (now = 0; now < 10000 * MS; now += 300000) {
                if (nb_bucket_take(&b, now, 1500))
                        passed += 1500;
        }
        double rate = (double)passed / 10.0;
        /* the rate, plus the first burst spread over the 10 s */
        ck_assert_msg(rate > 1250000 * 0.99 && rate < 1250000 * 1.01 + NB_BUCKET_MIN_BURST / 10.0,
                      "%.0f B/s", rate);
        /* a larger rate: the burst is 20 ms of it */
        nb_bucket_set(&b, 100000000, now);
        ck_assert_uint_eq(b.burst, 2000000);
        nb_bucket_set(&b, 0, now);
        ck_assert(nb_bucket_take(&b, now, 65535));
}
END_TEST

static Suite *nb_credit_suite(void)
{
        Suite *s = suite_create("nb_credit");
        TCase *tc = tcase_create("credit");
        tcase_add_test(tc, unlimited);
        tcase_add_test(tc, window_and_refill);
        tcase_add_test(tc, burst_cap);
        tcase_add_test(tc, long_run_rate);
        tcase_add_test(tc, set_keeps_state_and_brings_refill_forward);
        tcase_add_test(tc, bucket_rate_and_burst);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(nb_credit_suite)
