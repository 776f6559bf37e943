/* nf_rx_slots: RX responses -> one packet descriptor, with Linux netfront's
 * checks. Good layouts come from netback's own planner (nb_rx_plan) on a
 * ring in plain memory; malformed ones are written by hand. */
#include <check.h>
#include <errno.h>
#include <stdalign.h>
#include <string.h>

#include "check_main.h"
#include "netback/nb_rx_plan.h"
#include "nf_rx_slots.h"

struct rfx {
        alignas(4096) uint8_t page[NF_PAGE_SIZE];
        netif_rx_front_ring_t front;
        netif_rx_back_ring_t back;
        struct nb_rx_plan plan;
        uint8_t frame[NB_RX_MAX_DATA_SLOTS * NF_PAGE_SIZE];
        struct nf_rx_desc d;
};

static struct rfx fx;

static void fx_init(RING_IDX start)
{
        memset(&fx, 0, sizeof(fx));
        netif_rx_sring_t *s = (netif_rx_sring_t *)fx.page;
        SHARED_RING_INIT(s);
        FRONT_RING_INIT(&fx.front, s, NF_PAGE_SIZE);
        BACK_RING_INIT(&fx.back, s, NF_PAGE_SIZE);
        s->req_prod = s->rsp_prod = start;
        fx.front.req_prod_pvt = fx.front.rsp_cons = start;
        fx.back.req_cons = fx.back.rsp_prod_pvt = start;
}

static void setup(void)
{
        fx_init(0);
}

/* The frontend keeps the ring full, id = index mod size (as nf_rxq does). */
static void post_all(void)
{
        for (; fx.front.req_prod_pvt - fx.front.rsp_cons < NF_RX_RING_SIZE; fx.front.req_prod_pvt++) {
                netif_rx_request_t *r = RING_GET_REQUEST(&fx.front, fx.front.req_prod_pvt);
                r->id = (uint16_t)(fx.front.req_prod_pvt & (NF_RX_RING_SIZE - 1));
                r->gref = 1000 + r->id;
        }
        RING_PUSH_REQUESTS(&fx.front);
}

/* netback plans the frame and publishes its responses. */
static void backend_send(struct nb_rx_pkt *pkt)
{
        int notify;
        post_all();
        ck_assert_int_eq(nb_rx_plan_build(&fx.back, fx.front.sring->req_prod, 1, pkt, &fx.plan), 0);
        ck_assert_int_eq(nb_rx_plan_write_responses(&fx.back, &fx.plan), 0);
        RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&fx.back, notify);
        (void)notify;
}

START_TEST(single_slot_frame)
{
        struct nb_rx_pkt pkt = {.data = fx.frame, .len = 1514, .csum = NB_RX_CSUM_UNNECESSARY};
        backend_send(&pkt);
        ck_assert_int_eq(nf_rx_parse(&fx.front, fx.front.sring->rsp_prod, &fx.d), 0);
        ck_assert_uint_eq(fx.d.nr_slots, 1);
        ck_assert_uint_eq(fx.d.len, 1514);
        ck_assert(fx.d.data_validated);
        ck_assert(!fx.d.csum_blank);
}
END_TEST

START_TEST(gso_frame_with_extra_and_many_slots)
{
        struct nb_rx_pkt pkt = {.data = fx.frame,
                                .len = 60000,
                                .gso_type = XEN_NETIF_GSO_TYPE_TCPV4,
                                .gso_size = 1448,
                                .csum = NB_RX_CSUM_PARTIAL};
        backend_send(&pkt);
        ck_assert_int_eq(nf_rx_parse(&fx.front, fx.front.sring->rsp_prod, &fx.d), 0);
        ck_assert_uint_eq(fx.d.nr_segs, 15);
        ck_assert_uint_eq(fx.d.nr_slots, 16); /* 15 data + GSO extra */
        ck_assert_uint_eq(fx.d.len, 60000);
        ck_assert(fx.d.has_gso);
        ck_assert_uint_eq(fx.d.gso_size, 1448);
        ck_assert(fx.d.csum_blank);
        /* first data slot at the first index, the rest after the extra */
        ck_assert_uint_eq(fx.d.segs[0].idx, 0);
        ck_assert_uint_eq(fx.d.segs[1].idx, 2);
}
END_TEST

START_TEST(hash_and_xdp_extras_across_the_wrap)
{
        fx_init(250);
        struct nb_rx_pkt pkt = {.data = fx.frame,
                                .len = 9000,
                                .has_hash = true,
                                .hash_type = _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP,
                                .hash_value = 0xdeadbeef,
                                .xdp_headroom = 256};
        backend_send(&pkt);
        ck_assert_int_eq(nf_rx_parse(&fx.front, fx.front.sring->rsp_prod, &fx.d), 0);
        ck_assert(fx.d.has_hash);
        ck_assert_uint_eq(fx.d.hash_value, 0xdeadbeef);
        ck_assert(fx.d.has_xdp);
        ck_assert_uint_eq(fx.d.segs[0].offset, 256);
        ck_assert_uint_eq(fx.d.len, 9000);
        ck_assert_uint_eq(fx.d.nr_slots, fx.plan.nr_slots);
}
END_TEST

/* Hand-written responses for the malformed cases. */
static netif_rx_response_t *rsp(RING_IDX i)
{
        return RING_GET_RESPONSE(&fx.front, i);
}

START_TEST(bad_status_and_offset_are_errors_that_still_consume)
{
        *rsp(0) = (netif_rx_response_t){.offset = 100, .status = 4096, .flags = NETRXF_more_data};
        *rsp(1) = (netif_rx_response_t){.status = 10};
        ck_assert_int_eq(nf_rx_parse(&fx.front, 2, &fx.d), -EINVAL);
        ck_assert_uint_eq(fx.d.nr_slots, 2);
        *rsp(0) = (netif_rx_response_t){.status = NETIF_RSP_ERROR};
        ck_assert_int_eq(nf_rx_parse(&fx.front, 1, &fx.d), -EINVAL);
        ck_assert_uint_eq(fx.d.nr_slots, 1);
}
END_TEST

START_TEST(missing_extra_and_missing_data)
{
        *rsp(0) = (netif_rx_response_t){.status = 60, .flags = NETRXF_extra_info};
        ck_assert_int_eq(nf_rx_parse(&fx.front, 1, &fx.d), -EBADR);
        ck_assert_uint_eq(fx.d.nr_slots, 1);
        *rsp(0) = (netif_rx_response_t){.status = 60, .flags = NETRXF_more_data};
        ck_assert_int_eq(nf_rx_parse(&fx.front, 1, &fx.d), -ENOENT);
        ck_assert_uint_eq(fx.d.nr_slots, 1);
}
END_TEST

START_TEST(bad_extra_type_and_gso_without_size)
{
        struct netif_extra_info *e = (struct netif_extra_info *)rsp(1);
        *rsp(0) = (netif_rx_response_t){.status = 60, .flags = NETRXF_extra_info};
        memset(e, 0, sizeof(*rsp(1)));
        e->type = 9;
        ck_assert_int_eq(nf_rx_parse(&fx.front, 2, &fx.d), -EINVAL);
        ck_assert_uint_eq(fx.d.nr_slots, 2);
        e->type = XEN_NETIF_EXTRA_TYPE_GSO;
        e->u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
        e->u.gso.size = 0;
        ck_assert_int_eq(nf_rx_parse(&fx.front, 2, &fx.d), -EINVAL);
}
END_TEST

START_TEST(too_many_slots)
{
        /* 19 data slots of 1000 bytes: one over XEN_NETIF_NR_SLOTS_MIN. */
        for (RING_IDX i = 0; i < 19; i++)
                *rsp(i) = (netif_rx_response_t){.status = 1000, .flags = i < 18 ? NETRXF_more_data : 0};
        ck_assert_int_eq(nf_rx_parse(&fx.front, 19, &fx.d), -E2BIG);
        ck_assert_uint_eq(fx.d.nr_slots, 19);
        /* ...allowed when the first slot is small (RX_COPY_THRESHOLD) */
        rsp(0)->status = 200;
        ck_assert_int_eq(nf_rx_parse(&fx.front, 19, &fx.d), 0);
        ck_assert_uint_eq(fx.d.len, 200 + 18 * 1000);
}
END_TEST

static Suite *nf_rx_slots_suite(void)
{
        Suite *s = suite_create("nf_rx_slots");
        TCase *good = tcase_create("from-netback");
        TCase *bad = tcase_create("malformed");
        tcase_add_checked_fixture(good, setup, NULL);
        tcase_add_test(good, single_slot_frame);
        tcase_add_test(good, gso_frame_with_extra_and_many_slots);
        tcase_add_test(good, hash_and_xdp_extras_across_the_wrap);
        suite_add_tcase(s, good);
        tcase_add_checked_fixture(bad, setup, NULL);
        tcase_add_test(bad, bad_status_and_offset_are_errors_that_still_consume);
        tcase_add_test(bad, missing_extra_and_missing_data);
        tcase_add_test(bad, bad_extra_type_and_gso_without_size);
        tcase_add_test(bad, too_many_slots);
        suite_add_tcase(s, bad);
        return s;
}

PV_CHECK_MAIN(nf_rx_slots_suite)
