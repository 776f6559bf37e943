/* nb_rx_plan: a frame plus posted rx requests -> grant copies and responses,
 * over a front and back rx ring on one page of plain memory. Layout and flags
 * are Linux rx.c's: first data slot, extras, then the rest of the data. */
#include <check.h>
#include <stdalign.h>
#include <string.h>

#include "check_main.h"
#include "netback/nb_rx_plan.h"

#define FE_DOMID     9
#define XDP_HEADROOM 256

struct rfx {
        alignas(4096) uint8_t page[NB_PAGE_SIZE];
        netif_rx_sring_t *sring;
        netif_rx_front_ring_t front;
        netif_rx_back_ring_t back;
        struct nb_rx_plan plan;
        uint8_t frame[NB_RX_MAX_DATA_SLOTS * NB_PAGE_SIZE];
};

static struct rfx fx;

static void fx_init(RING_IDX start)
{
        memset(&fx, 0, sizeof(fx));
        fx.sring = (netif_rx_sring_t *)fx.page;
        SHARED_RING_INIT(fx.sring);
        FRONT_RING_INIT(&fx.front, fx.sring, NB_PAGE_SIZE);
        BACK_RING_INIT(&fx.back, fx.sring, NB_PAGE_SIZE);
        fx.sring->req_prod = fx.sring->rsp_prod = start;
        fx.front.req_prod_pvt = fx.front.rsp_cons = start;
        fx.back.req_cons = fx.back.rsp_prod_pvt = start;
}

static void setup(void)
{
        fx_init(0);
}

/* The guest posts n empty pages: id 100+i, gref 1000+i. */
static void post(unsigned int n)
{
        for (unsigned int i = 0; i < n; i++) {
                netif_rx_request_t *r = RING_GET_REQUEST(&fx.front, fx.front.req_prod_pvt);
                uint32_t k = fx.front.req_prod_pvt - fx.back.req_cons;

                r->id = (uint16_t)(100 + k);
                r->gref = 1000 + k;
                fx.front.req_prod_pvt++;
        }
        RING_PUSH_REQUESTS(&fx.front);
}

static struct nb_rx_pkt frame(uint32_t len)
{
        return (struct nb_rx_pkt){.data = fx.frame, .len = len};
}

static int plan(const struct nb_rx_pkt *p)
{
        return nb_rx_plan_build(&fx.back, fx.sring->req_prod, FE_DOMID, p, &fx.plan);
}

static void assert_data_slot(unsigned int slot, unsigned int req, uint16_t offset, uint16_t flags,
                             int16_t status)
{
        const netif_rx_response_t *r = &fx.plan.slots[slot].rsp;

        ck_assert_uint_eq(r->id, 100 + req);
        ck_assert_uint_eq(r->offset, offset);
        ck_assert_uint_eq(r->flags, flags);
        ck_assert_int_eq(r->status, status);
}

static void assert_seg(unsigned int i, unsigned int req, uint16_t offset, size_t src_off,
                       uint16_t len)
{
        const xh_copy_seg_t *s = &fx.plan.segs[i];

        ck_assert_uint_eq(s->flags, GNTCOPY_dest_gref);
        ck_assert_uint_eq(s->dest.foreign.ref, 1000 + req);
        ck_assert_uint_eq(s->dest.foreign.offset, offset);
        ck_assert_uint_eq(s->dest.foreign.domid, FE_DOMID);
        ck_assert_ptr_eq(s->source.virt, fx.frame + src_off);
        ck_assert_uint_eq(s->len, len);
        ck_assert_uint_le(s->dest.foreign.offset + s->len, NB_PAGE_SIZE);
}

/* ---- slot counts ------------------------------------------------------ */

struct count_case {
        uint32_t len;
        bool gso, hash;
        uint16_t headroom;
        uint32_t slots;
};

static const struct count_case counts[] = {
    {1, false, false, 0, 1},
    {1, true, false, 0, 2},
    {1, false, true, 0, 2},
    {1, true, true, 0, 3},
    {4096, false, false, 0, 1},
    {4096, true, true, 0, 3},
    {4097, false, false, 0, 2},
    {4097, true, false, 0, 3},
    {4097, true, true, 0, 4},
    {65535, false, false, 0, 16},
    {65535, true, false, 0, 17},
    {65535, false, true, 0, 17},
    {65535, true, true, 0, 18},
    /* Headroom shrinks the first slot and adds the XDP extra. */
    {NB_PAGE_SIZE - XDP_HEADROOM, false, false, XDP_HEADROOM, 2},
    {NB_PAGE_SIZE - XDP_HEADROOM + 1, false, false, XDP_HEADROOM, 3},
    {65535, true, true, XDP_HEADROOM, 20},
    {NB_RX_MAX_DATA_SLOTS * NB_PAGE_SIZE, false, false, 0, 18},
};

START_TEST(slot_counts)
{
        const struct count_case *c = &counts[_i];
        struct nb_rx_pkt p = frame(c->len);
        uint32_t slots = 0;

        p.gso_type = c->gso ? XEN_NETIF_GSO_TYPE_TCPV4 : XEN_NETIF_GSO_TYPE_NONE;
        p.gso_size = c->gso ? 1448 : 0;
        p.has_hash = c->hash;
        p.xdp_headroom = c->headroom;
        ck_assert_int_eq(nb_rx_slots_needed(&p, &slots), 0);
        ck_assert_msg(slots == c->slots, "len %u gso %d hash %d headroom %u: %u slots, want %u",
                      c->len, c->gso, c->hash, c->headroom, slots, c->slots);
}
END_TEST

START_TEST(malformed_frames_are_refused)
{
        struct nb_rx_pkt p;
        uint32_t slots = 77;

        p = frame(0);
        ck_assert_int_eq(nb_rx_slots_needed(&p, &slots), -EINVAL);
        p = frame(60);
        p.data = NULL;
        ck_assert_int_eq(nb_rx_slots_needed(&p, &slots), -EINVAL);
        p = frame(60);
        p.gso_type = 3;
        p.gso_size = 1448;
        ck_assert_int_eq(nb_rx_slots_needed(&p, &slots), -EINVAL);
        p = frame(60);
        p.gso_type = XEN_NETIF_GSO_TYPE_TCPV6;
        ck_assert_int_eq(nb_rx_slots_needed(&p, &slots), -EINVAL); /* size 0 */
        p = frame(60);
        p.csum = 7;
        ck_assert_int_eq(nb_rx_slots_needed(&p, &slots), -EINVAL);
        p = frame(60);
        p.xdp_headroom = NB_PAGE_SIZE;
        ck_assert_int_eq(nb_rx_slots_needed(&p, &slots), -EINVAL);
        p = frame(NB_RX_MAX_DATA_SLOTS * NB_PAGE_SIZE + 1);
        ck_assert_int_eq(nb_rx_slots_needed(&p, &slots), -EMSGSIZE);
        ck_assert_uint_eq(slots, 77);
}
END_TEST

/* ---- layout ----------------------------------------------------------- */

START_TEST(single_slot_frame)
{
        struct nb_rx_pkt p = frame(1514);

        post(4);
        ck_assert_int_eq(plan(&p), 0);
        ck_assert_uint_eq(fx.plan.first, 0);
        ck_assert_uint_eq(fx.plan.nr_slots, 1);
        ck_assert_uint_eq(fx.plan.nr_segs, 1);
        assert_seg(0, 0, 0, 0, 1514);
        assert_data_slot(0, 0, 0, 0, 1514);
        ck_assert_uint_eq(fx.plan.seg_slot[0], 0);
        /* Planning touches neither the ring indices nor the shared slots. */
        ck_assert_uint_eq(fx.back.req_cons, 0);
        ck_assert_uint_eq(RING_GET_REQUEST(&fx.back, 0)->gref, 1000);
}
END_TEST

START_TEST(gso_and_hash_extras_follow_the_first_data_slot)
{
        struct nb_rx_pkt p = frame(10000);
        const struct netif_extra_info *gso = &fx.plan.slots[1].extra;
        const struct netif_extra_info *hash = &fx.plan.slots[2].extra;

        p.gso_type = XEN_NETIF_GSO_TYPE_TCPV6;
        p.gso_size = 1428;
        p.csum = NB_RX_CSUM_PARTIAL;
        p.has_hash = true;
        p.hash_type = _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP;
        p.hash_value = 0xA1B2C3D4;
        post(8);
        ck_assert_int_eq(plan(&p), 0);
        ck_assert_uint_eq(fx.plan.nr_slots, 5);
        ck_assert_uint_eq(fx.plan.nr_data_slots, 3);
        ck_assert_uint_eq(fx.plan.nr_extras, 2);
        ck_assert_uint_eq(fx.plan.nr_segs, 3);

        assert_data_slot(
            0, 0, 0,
            NETRXF_csum_blank | NETRXF_data_validated | NETRXF_more_data | NETRXF_extra_info, 4096);
        ck_assert_uint_eq(gso->type, XEN_NETIF_EXTRA_TYPE_GSO);
        ck_assert_uint_eq(gso->flags, XEN_NETIF_EXTRA_FLAG_MORE);
        ck_assert_uint_eq(gso->u.gso.type, XEN_NETIF_GSO_TYPE_TCPV6);
        ck_assert_uint_eq(gso->u.gso.size, 1428);
        ck_assert_uint_eq(gso->u.gso.features, 0);
        ck_assert_uint_eq(hash->type, XEN_NETIF_EXTRA_TYPE_HASH);
        ck_assert_uint_eq(hash->flags, 0);
        ck_assert_uint_eq(hash->u.hash.type, _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP);
        ck_assert_uint_eq(hash->u.hash.algorithm, XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ);
        const uint8_t le[4] = {0xD4, 0xC3, 0xB2, 0xA1};
        ck_assert_mem_eq(hash->u.hash.value, le, 4);
        assert_data_slot(3, 3, 0, NETRXF_more_data, 4096);
        assert_data_slot(4, 4, 0, 0, 10000 - 8192);

        assert_seg(0, 0, 0, 0, 4096);
        assert_seg(1, 3, 0, 4096, 4096);
        assert_seg(2, 4, 0, 8192, 10000 - 8192);
        ck_assert_uint_eq(fx.plan.seg_slot[0], 0);
        ck_assert_uint_eq(fx.plan.seg_slot[1], 3);
        ck_assert_uint_eq(fx.plan.seg_slot[2], 4);
}
END_TEST

START_TEST(extras_after_a_single_data_slot)
{
        struct nb_rx_pkt p = frame(60);

        p.has_hash = true;
        p.hash_type = _XEN_NETIF_CTRL_HASH_TYPE_IPV4;
        post(2);
        ck_assert_int_eq(plan(&p), 0);
        ck_assert_uint_eq(fx.plan.nr_slots, 2);
        assert_data_slot(0, 0, 0, NETRXF_extra_info, 60);
        ck_assert_uint_eq(fx.plan.slots[1].extra.type, XEN_NETIF_EXTRA_TYPE_HASH);
        ck_assert_uint_eq(fx.plan.slots[1].extra.flags, 0);
}
END_TEST

struct csum_case {
        enum nb_rx_csum csum;
        uint16_t flags;
};

static const struct csum_case csums[] = {
    {NB_RX_CSUM_NONE, 0},
    {NB_RX_CSUM_PARTIAL, NETRXF_csum_blank | NETRXF_data_validated},
    {NB_RX_CSUM_UNNECESSARY, NETRXF_data_validated},
};

START_TEST(checksum_flags_on_the_first_slot_only)
{
        struct nb_rx_pkt p = frame(5000);

        p.csum = csums[_i].csum;
        post(2);
        ck_assert_int_eq(plan(&p), 0);
        assert_data_slot(0, 0, 0, csums[_i].flags | NETRXF_more_data, 4096);
        assert_data_slot(1, 1, 0, 0, 5000 - 4096);
}
END_TEST

START_TEST(xdp_headroom_on_the_first_slot)
{
        struct nb_rx_pkt p = frame(5000);
        const struct netif_extra_info *xdp = &fx.plan.slots[1].extra;

        p.xdp_headroom = XDP_HEADROOM;
        post(3);
        ck_assert_int_eq(plan(&p), 0);
        ck_assert_uint_eq(fx.plan.nr_slots, 3);
        assert_seg(0, 0, XDP_HEADROOM, 0, NB_PAGE_SIZE - XDP_HEADROOM);
        assert_data_slot(0, 0, XDP_HEADROOM, NETRXF_more_data | NETRXF_extra_info,
                         NB_PAGE_SIZE - XDP_HEADROOM);
        ck_assert_uint_eq(xdp->type, NB_EXTRA_TYPE_XDP);
        ck_assert_uint_eq(xdp->flags, 0);
        ck_assert_uint_eq(xdp->u.pad[0], XDP_HEADROOM);
        assert_seg(1, 2, 0, NB_PAGE_SIZE - XDP_HEADROOM, 5000 - (NB_PAGE_SIZE - XDP_HEADROOM));
        assert_data_slot(2, 2, 0, 0, 5000 - (NB_PAGE_SIZE - XDP_HEADROOM));
}
END_TEST

START_TEST(largest_frame_uses_every_data_slot)
{
        struct nb_rx_pkt p = frame(65535);
        uint32_t sum = 0;

        p.gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
        p.gso_size = 1448;
        post(NB_RX_RING_SIZE);
        ck_assert_int_eq(plan(&p), 0);
        ck_assert_uint_eq(fx.plan.nr_slots, 17);
        ck_assert_uint_eq(fx.plan.nr_segs, 16);
        for (unsigned int i = 0; i < 17; i++) {
                if (i == 1)
                        continue;
                sum += (uint32_t)fx.plan.slots[i].rsp.status;
                ck_assert_uint_eq(!!(fx.plan.slots[i].rsp.flags & NETRXF_more_data), i != 16);
        }
        ck_assert_uint_eq(sum, 65535);
        assert_seg(15, 16, 0, 15 * 4096, 4095);
}
END_TEST

/* ---- posted requests -------------------------------------------------- */

START_TEST(not_enough_requests_waits)
{
        struct nb_rx_pkt p = frame(9000);

        p.gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
        p.gso_size = 1448;
        post(3);
        ck_assert_int_eq(plan(&p), -EAGAIN);
        ck_assert_uint_eq(fx.plan.nr_slots, 4);
        ck_assert_uint_eq(fx.plan.nr_segs, 0);
        ck_assert_uint_eq(fx.back.req_cons, 0);
        post(1);
        ck_assert_int_eq(plan(&p), 0);

        fx_init(0);
        ck_assert_int_eq(plan(&p), -EAGAIN); /* nothing posted at all */
}
END_TEST

START_TEST(hostile_request_fields_are_only_echoed)
{
        struct nb_rx_pkt p = frame(100);
        netif_rx_request_t *r = RING_GET_REQUEST(&fx.front, 0);

        r->id = 0xFFFF;
        r->pad = 0xFFFF;
        r->gref = 0xFFFFFFFF;
        fx.front.req_prod_pvt = 1;
        RING_PUSH_REQUESTS(&fx.front);
        ck_assert_int_eq(plan(&p), 0);
        ck_assert_uint_eq(fx.plan.slots[0].rsp.id, 0xFFFF);
        ck_assert_uint_eq(fx.plan.segs[0].dest.foreign.ref, 0xFFFFFFFF);
        ck_assert_uint_eq(fx.plan.segs[0].dest.foreign.offset, 0);
        ck_assert_uint_eq(fx.plan.segs[0].len, 100);
}
END_TEST

START_TEST(req_prod_past_the_ring_is_refused)
{
        struct nb_rx_pkt p = frame(100);

        fx.sring->req_prod = NB_RX_RING_SIZE + 1;
        ck_assert_int_eq(plan(&p), -EPROTO);
        fx.sring->req_prod = (RING_IDX)-1;
        ck_assert_int_eq(plan(&p), -EPROTO);
        fx.sring->req_prod = NB_RX_RING_SIZE;
        ck_assert_int_eq(plan(&p), 0);
}
END_TEST

/* ---- writing into the ring -------------------------------------------- */

START_TEST(responses_take_the_slots_of_their_requests_across_the_wrap)
{
        struct nb_rx_pkt p = frame(6000);
        netif_rx_response_t *rsp;

        fx_init(UINT32_MAX - 1);
        p.gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
        p.gso_size = 1448;
        post(5);
        ck_assert_int_eq(plan(&p), 0);
        ck_assert_uint_eq(fx.plan.nr_slots, 3);
        ck_assert_int_eq(nb_rx_plan_write_responses(&fx.back, &fx.plan), 0);
        ck_assert_uint_eq(fx.back.req_cons, 1);
        ck_assert_uint_eq(fx.back.rsp_prod_pvt, 1);
        RING_PUSH_RESPONSES(&fx.back);
        ck_assert_uint_eq(fx.sring->rsp_prod, 1);

        /* As netfront reads them. */
        rsp = RING_GET_RESPONSE(&fx.front, UINT32_MAX - 1);
        ck_assert_uint_eq(rsp->id, 100);
        ck_assert_int_eq(rsp->status, 4096);
        ck_assert_uint_eq(rsp->flags, NETRXF_more_data | NETRXF_extra_info);
        struct netif_extra_info e;
        memcpy(&e, RING_GET_RESPONSE(&fx.front, UINT32_MAX), sizeof(e));
        ck_assert_uint_eq(e.type, XEN_NETIF_EXTRA_TYPE_GSO);
        ck_assert_uint_eq(e.u.gso.size, 1448);
        rsp = RING_GET_RESPONSE(&fx.front, 0);
        ck_assert_uint_eq(rsp->id, 102);
        ck_assert_int_eq(rsp->status, 6000 - 4096);
        ck_assert_uint_eq(rsp->flags, 0);
        /* The untouched request after the packet is still there. */
        ck_assert_uint_eq(RING_GET_REQUEST(&fx.back, 1)->gref, 1003);
}
END_TEST

START_TEST(stale_plan_is_refused)
{
        struct nb_rx_pkt p = frame(100);

        post(2);
        ck_assert_int_eq(plan(&p), 0);
        ck_assert_int_eq(nb_rx_plan_write_responses(&fx.back, &fx.plan), 0);
        ck_assert_int_eq(nb_rx_plan_write_responses(&fx.back, &fx.plan), -ESTALE);
        ck_assert_uint_eq(fx.back.req_cons, 1);
}
END_TEST

START_TEST(failed_copy_sets_the_slot_status)
{
        struct nb_rx_pkt p = frame(9000);
        xh_copy_seg_t done[NB_RX_MAX_DATA_SLOTS];

        p.has_hash = true;
        post(4);
        ck_assert_int_eq(plan(&p), 0);
        ck_assert_int_eq(nb_rx_plan_write_responses(&fx.back, &fx.plan), 0);
        memcpy(done, fx.plan.segs, sizeof(done));
        done[1].status = GNTST_bad_gntref; /* second data slot, ring slot 2 */
        nb_rx_plan_apply_copy_status(&fx.back, &fx.plan, done);
        ck_assert_int_eq(RING_GET_RESPONSE(&fx.back, 0)->status, 4096);
        ck_assert_int_eq(RING_GET_RESPONSE(&fx.back, 2)->status, GNTST_bad_gntref);
        ck_assert_int_eq(RING_GET_RESPONSE(&fx.back, 3)->status, 9000 - 8192);
}
END_TEST

static Suite *nb_rx_plan_suite(void)
{
        Suite *s = suite_create("nb_rx_plan");
        TCase *count = tcase_create("count");
        TCase *layout = tcase_create("layout");
        TCase *ring = tcase_create("ring");

        tcase_add_checked_fixture(count, setup, NULL);
        tcase_add_loop_test(count, slot_counts, 0, sizeof(counts) / sizeof(counts[0]));
        tcase_add_test(count, malformed_frames_are_refused);
        suite_add_tcase(s, count);

        tcase_add_checked_fixture(layout, setup, NULL);
        tcase_add_test(layout, single_slot_frame);
        tcase_add_test(layout, gso_and_hash_extras_follow_the_first_data_slot);
        tcase_add_test(layout, extras_after_a_single_data_slot);
        tcase_add_loop_test(layout, checksum_flags_on_the_first_slot_only, 0,
                            sizeof(csums) / sizeof(csums[0]));
        tcase_add_test(layout, xdp_headroom_on_the_first_slot);
        tcase_add_test(layout, largest_frame_uses_every_data_slot);
        suite_add_tcase(s, layout);

        tcase_add_checked_fixture(ring, setup, NULL);
        tcase_add_test(ring, not_enough_requests_waits);
        tcase_add_test(ring, hostile_request_fields_are_only_echoed);
        tcase_add_test(ring, req_prod_past_the_ring_is_refused);
        tcase_add_test(ring, responses_take_the_slots_of_their_requests_across_the_wrap);
        tcase_add_test(ring, stale_plan_is_refused);
        tcase_add_test(ring, failed_copy_sets_the_slot_status);
        suite_add_tcase(s, ring);
        return s;
}

PV_CHECK_MAIN(nb_rx_plan_suite)
