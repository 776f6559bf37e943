/* sim_evw: the event-channel port word the sim provider and the pvback-sim
 * broker share: a delivery succeeds only on the (generation, state) the
 * sender was told, mask-on-delivery, pending kept while masked, and unmask
 * delivering a pending event again, once. */
#include <check.h>
#include <stdint.h>

#include "check_main.h"
#include "xh_sim_evtchn_proto.h"

static uint64_t word(uint32_t gen, unsigned state, uint64_t bits)
{
        return bits | ((uint64_t)state << XH_SIM_EVW_STATE_SHIFT) | gen;
}

START_TEST(stale_generation_or_state_delivers_nothing)
{
        uint64_t w = word(7, XH_SIM_EVW_INTERDOMAIN, 0);
        ck_assert_int_eq(xh_sim_evw_deliver(&w, 6, XH_SIM_EVW_INTERDOMAIN), -1);
        ck_assert_int_eq(xh_sim_evw_deliver(&w, 8, XH_SIM_EVW_INTERDOMAIN), -1);
        ck_assert_uint_eq(w, word(7, XH_SIM_EVW_INTERDOMAIN, 0));
        w = word(7, XH_SIM_EVW_UNBOUND, 0); /* closed by the peer, same gen */
        ck_assert_int_eq(xh_sim_evw_deliver(&w, 7, XH_SIM_EVW_INTERDOMAIN), -1);
        ck_assert_uint_eq(w, word(7, XH_SIM_EVW_UNBOUND, 0));
}
END_TEST

START_TEST(delivery_masks_and_queues_once)
{
        uint64_t w = word(3, XH_SIM_EVW_INTERDOMAIN, 0);
        ck_assert_int_eq(xh_sim_evw_deliver(&w, 3, XH_SIM_EVW_INTERDOMAIN), 1);
        ck_assert_uint_eq(w,
                          word(3, XH_SIM_EVW_INTERDOMAIN, XH_SIM_EVW_MASKED | XH_SIM_EVW_QUEUED));
        for (int i = 0; i < 3; i++) /* masked: pending, no wake-up */
                ck_assert_int_eq(xh_sim_evw_deliver(&w, 3, XH_SIM_EVW_INTERDOMAIN), 0);
        ck_assert(w & XH_SIM_EVW_PENDING);
        ck_assert_uint_eq(xh_sim_evw_gen(w), 3);
        ck_assert_uint_eq(xh_sim_evw_state(w), XH_SIM_EVW_INTERDOMAIN);
}
END_TEST

START_TEST(unmask_redelivers_pending_once)
{
        uint64_t w = word(3, XH_SIM_EVW_INTERDOMAIN, XH_SIM_EVW_MASKED | XH_SIM_EVW_PENDING);
        ck_assert_int_eq(xh_sim_evw_unmask(&w), 1);
        ck_assert_uint_eq(w,
                          word(3, XH_SIM_EVW_INTERDOMAIN, XH_SIM_EVW_MASKED | XH_SIM_EVW_QUEUED));
        w &= ~XH_SIM_EVW_QUEUED; /* taken by pending() */
        ck_assert_int_eq(xh_sim_evw_unmask(&w), 0);
        ck_assert_uint_eq(w, word(3, XH_SIM_EVW_INTERDOMAIN, 0));
        ck_assert_int_eq(xh_sim_evw_unmask(&w), 0); /* not masked: nothing */
        ck_assert_uint_eq(w, word(3, XH_SIM_EVW_INTERDOMAIN, 0));
}
END_TEST

static Suite *sim_evw_suite(void)
{
        Suite *s = suite_create("sim_evw");
        TCase *tc = tcase_create("port word");
        tcase_add_test(tc, stale_generation_or_state_delivers_nothing);
        tcase_add_test(tc, delivery_masks_and_queues_once);
        tcase_add_test(tc, unmask_redelivers_pending_once);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(sim_evw_suite)
