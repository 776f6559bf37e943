/* The netfront's L5 coalescing hints (frontend/nf_hints.h): parsing the
 * backend's hostile text, and the TX push decision that never delays the
 * last frame of a burst. */
#include <check.h>
#include <stdint.h>

#include "check_main.h"
#include "nf_hints.h"

START_TEST(parse_values)
{
        struct nf_hints h;
        nf_hints_parse("32", "128", &h);
        ck_assert(h.tx_applied && h.rx_applied);
        ck_assert_uint_eq(h.tx_kick_batch, 32);
        ck_assert_uint_eq(h.rx_poll_us, 128);
        /* Absent: neutral, not applied. */
        nf_hints_parse(NULL, NULL, &h);
        ck_assert(!h.tx_applied && !h.rx_applied);
        ck_assert_uint_eq(h.tx_kick_batch, 1);
        ck_assert_uint_eq(h.rx_poll_us, 0);
        /* Neutral values published are applied as such. */
        nf_hints_parse("1", "0", &h);
        ck_assert(h.tx_applied && h.rx_applied);
        ck_assert_uint_eq(h.tx_kick_batch, 1);
        ck_assert_uint_eq(h.rx_poll_us, 0);
        /* Too large: clamped. */
        nf_hints_parse("100000", "2500", &h);
        ck_assert(h.tx_applied && h.rx_applied);
        ck_assert_uint_eq(h.tx_kick_batch, NF_HINT_KICK_BATCH_MAX);
        ck_assert_uint_eq(h.rx_poll_us, NF_HINT_RX_POLL_US_MAX);
}
END_TEST

static const char *const bad[] = {"",   "0",    "-1",  "+4",         " 4", "4 ",
                                  "4x", "0x10", "007", "9999999999", "1e3"};

START_TEST(parse_refuses_garbage)
{
        struct nf_hints h;
        const char *v = bad[_i];
        nf_hints_parse(v, v, &h);
        ck_assert_msg(!h.tx_applied, "tx-kick-batch \"%s\" applied", v);
        ck_assert_uint_eq(h.tx_kick_batch, 1);
        /* rx-poll-us 0 is a value (do not spin); the rest is garbage. */
        if (v[0] == '0' && !v[1]) {
                ck_assert(h.rx_applied);
        } else {
                ck_assert_msg(!h.rx_applied, "rx-poll-us \"%s\" applied", v);
        }
        ck_assert_uint_eq(h.rx_poll_us, 0);
}
END_TEST

START_TEST(push_decision)
{
        /* The last frame of a burst always goes at once. */
        for (uint32_t batch = 0; batch <= 64; batch++)
                for (uint32_t n = 1; n <= 70; n++)
                        ck_assert(nf_hints_tx_push_now(batch, n, false));
        /* Without a batch: every frame. */
        ck_assert(nf_hints_tx_push_now(1, 1, true));
        ck_assert(nf_hints_tx_push_now(0, 1, true));
        /* With one: held while more follow, until the batch is full. */
        for (uint32_t n = 1; n < 8; n++)
                ck_assert(!nf_hints_tx_push_now(8, n, true));
        ck_assert(nf_hints_tx_push_now(8, 8, true));
        ck_assert(nf_hints_tx_push_now(8, 9, true));
}
END_TEST

static Suite *nf_hints_suite(void)
{
        Suite *s = suite_create("nf_hints");
        TCase *tc = tcase_create("hints");
        tcase_add_test(tc, parse_values);
        tcase_add_loop_test(tc, parse_refuses_garbage, 0, sizeof(bad) / sizeof(bad[0]));
        tcase_add_test(tc, push_decision);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(nf_hints_suite)
