/* nb_tx_gnttab: parsed guest TX packets -> grant-copy segments and responses,
 * over a front and back ring on one page of plain memory. */
#include <check.h>
#include <stdalign.h>
#include <string.h>

#include "check_main.h"
#include "netback/nb_tx_gnttab.h"
#include "netback/nb_tx_parse.h"

#define FE_DOMID 7

struct gfx {
        alignas(4096) uint8_t page[NB_PAGE_SIZE];
        netif_tx_sring_t *sring;
        netif_tx_front_ring_t front;
        netif_tx_back_ring_t back;
        struct nb_tx_parse_cfg cfg;
        struct nb_tx_pkt pkt;
        uint8_t buf[NB_TX_MAX_SIZE];
        xh_copy_seg_t segs[NB_COPY_BATCH];
};

static struct gfx fx;

static void setup(void)
{
        memset(&fx, 0, sizeof(fx));
        fx.sring = (netif_tx_sring_t *)fx.page;
        SHARED_RING_INIT(fx.sring);
        FRONT_RING_INIT(&fx.front, fx.sring, NB_PAGE_SIZE);
        BACK_RING_INIT(&fx.back, fx.sring, NB_PAGE_SIZE);
        nb_tx_parse_cfg_default(&fx.cfg);
}

static void put_req(uint32_t gref, uint16_t offset, uint16_t flags, uint16_t id, uint16_t size)
{
        netif_tx_request_t *r = RING_GET_REQUEST(&fx.front, fx.front.req_prod_pvt++);

        *r = (netif_tx_request_t){
            .gref = gref, .offset = offset, .flags = flags, .id = id, .size = size};
}

static void put_extra(uint8_t type, uint8_t flags, uint16_t u0)
{
        struct netif_extra_info e = {.type = type, .flags = flags};

        e.u.pad[0] = u0;
        if (type == XEN_NETIF_EXTRA_TYPE_GSO)
                e.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
        memcpy(RING_GET_REQUEST(&fx.front, fx.front.req_prod_pvt++), &e, sizeof(e));
}

/* n data slots of `each` bytes after a first slot owning `first_own`. */
static void put_pkt(unsigned int n, uint16_t first_own, uint16_t each, uint16_t id0)
{
        put_req(100 + id0, 10, n > 1 ? NETTXF_more_data : 0, id0,
                (uint16_t)(first_own + (n - 1) * each));
        for (unsigned int i = 1; i < n; i++)
                put_req(100 + id0 + i, 0, i + 1 < n ? NETTXF_more_data : 0, (uint16_t)(id0 + i),
                        each);
}

static enum nb_tx_verdict parse_and_consume(void)
{
        enum nb_tx_verdict v;

        RING_PUSH_REQUESTS(&fx.front);
        v = nb_tx_parse_slots(&fx.back, fx.sring->req_prod, &fx.cfg, &fx.pkt);
        nb_tx_consume(&fx.back, &fx.pkt);
        return v;
}

static void assert_seg(unsigned int i, uint32_t ref, uint16_t off, size_t dest_off, uint16_t len)
{
        ck_assert_uint_eq(fx.segs[i].flags, GNTCOPY_source_gref);
        ck_assert_uint_eq(fx.segs[i].source.foreign.ref, ref);
        ck_assert_uint_eq(fx.segs[i].source.foreign.offset, off);
        ck_assert_uint_eq(fx.segs[i].source.foreign.domid, FE_DOMID);
        ck_assert_ptr_eq(fx.segs[i].dest.virt, fx.buf + dest_off);
        ck_assert_uint_eq(fx.segs[i].len, len);
        ck_assert_uint_le(fx.segs[i].source.foreign.offset + fx.segs[i].len, NB_PAGE_SIZE);
}

static int build(struct nb_tx_copy_cursor *cur, unsigned int max, unsigned int *n)
{
        return nb_tx_build_copy_ops(&fx.pkt, FE_DOMID, fx.buf, sizeof(fx.buf), cur, fx.segs, max,
                                    n);
}

START_TEST(single_slot_gives_one_segment)
{
        struct nb_tx_copy_cursor cur;
        unsigned int n = 0;

        put_req(42, 128, 0, 9, 1514);
        ck_assert_int_eq(parse_and_consume(), NB_TX_OK);
        nb_tx_copy_cursor_init(&cur);
        ck_assert_uint_eq(nb_tx_copy_ops_needed(&fx.pkt), 1);
        ck_assert_int_eq(build(&cur, NB_COPY_BATCH, &n), 0);
        ck_assert_uint_eq(n, 1);
        assert_seg(0, 42, 128, 0, 1514);
}
END_TEST

START_TEST(multi_slot_segments_are_contiguous_in_the_buffer)
{
        struct nb_tx_copy_cursor cur;
        unsigned int n = 0;

        put_pkt(4, 1000, 4096, 0);
        ck_assert_int_eq(parse_and_consume(), NB_TX_OK);
        nb_tx_copy_cursor_init(&cur);
        ck_assert_int_eq(build(&cur, NB_COPY_BATCH, &n), 0);
        ck_assert_uint_eq(n, 4);
        assert_seg(0, 100, 10, 0, 1000);
        assert_seg(1, 101, 0, 1000, 4096);
        assert_seg(2, 102, 0, 5096, 4096);
        assert_seg(3, 103, 0, 9192, 4096);
}
END_TEST

START_TEST(tiny_slots_and_empty_first_slot)
{
        struct nb_tx_copy_cursor cur;
        unsigned int n = 0;

        /* Slot 1 owns nothing: no segment for it. */
        put_req(1, 0, NETTXF_more_data, 0, 20);
        for (unsigned int i = 1; i <= 5; i++)
                put_req(1 + i, (uint16_t)(100 * i), i < 5 ? NETTXF_more_data : 0, (uint16_t)i, 4);
        ck_assert_int_eq(parse_and_consume(), NB_TX_OK);
        ck_assert_uint_eq(nb_tx_copy_ops_needed(&fx.pkt), 5);
        nb_tx_copy_cursor_init(&cur);
        ck_assert_int_eq(build(&cur, NB_COPY_BATCH, &n), 0);
        ck_assert_uint_eq(n, 5);
        for (unsigned int i = 0; i < 5; i++)
                assert_seg(i, 2 + i, (uint16_t)(100 * (i + 1)), 4 * i, 4);
}
END_TEST

START_TEST(packet_continues_across_batches)
{
        struct nb_tx_copy_cursor cur;
        unsigned int n = 0;

        put_pkt(5, 500, 1000, 0);
        ck_assert_int_eq(parse_and_consume(), NB_TX_OK);
        nb_tx_copy_cursor_init(&cur);
        /* A batch with 3 free entries: fills it and says where to go on. */
        ck_assert_int_eq(build(&cur, 3, &n), -ENOSPC);
        ck_assert_uint_eq(n, 3);
        ck_assert_uint_eq(cur.frag, 3);
        ck_assert_uint_eq(cur.off, 2500);
        assert_seg(2, 102, 0, 1500, 1000);
        n = 0; /* batch issued */
        ck_assert_int_eq(build(&cur, 3, &n), 0);
        ck_assert_uint_eq(n, 2);
        assert_seg(0, 103, 0, 2500, 1000);
        assert_seg(1, 104, 0, 3500, 1000);
}
END_TEST

START_TEST(packets_share_a_batch)
{
        struct nb_tx_copy_cursor cur;
        unsigned int n = 0, packets = 0;

        /* Three 19-slot packets (57 segments) fit one 64-entry batch; a fourth
         * does not, and a caller keeping packets whole checks first. */
        for (unsigned int p = 0; p < 4; p++)
                put_pkt(19, 60, 100, (uint16_t)(19 * p));
        RING_PUSH_REQUESTS(&fx.front);
        for (;;) {
                nb_tx_parse_slots(&fx.back, fx.sring->req_prod, &fx.cfg, &fx.pkt);
                if (fx.pkt.verdict != NB_TX_OK ||
                    n + nb_tx_copy_ops_needed(&fx.pkt) > NB_COPY_BATCH)
                        break;
                nb_tx_consume(&fx.back, &fx.pkt);
                nb_tx_copy_cursor_init(&cur);
                ck_assert_int_eq(build(&cur, NB_COPY_BATCH, &n), 0);
                packets++;
        }
        ck_assert_uint_eq(packets, 3);
        ck_assert_uint_eq(n, 57);
        ck_assert_uint_eq(fx.segs[56].source.foreign.ref, 100 + 56);
}
END_TEST

START_TEST(refuses_what_is_not_a_packet)
{
        struct nb_tx_copy_cursor cur;
        unsigned int n = 0;

        put_req(1, 0, 0, 1, 10); /* runt: dropped */
        ck_assert_int_eq(parse_and_consume(), NB_TX_DROP);
        nb_tx_copy_cursor_init(&cur);
        ck_assert_int_eq(build(&cur, NB_COPY_BATCH, &n), -EINVAL);
        ck_assert_uint_eq(n, 0);

        put_req(1, 0, 0, 2, 1000);
        ck_assert_int_eq(parse_and_consume(), NB_TX_OK);
        ck_assert_int_eq(
            nb_tx_build_copy_ops(&fx.pkt, FE_DOMID, fx.buf, 999, &cur, fx.segs, NB_COPY_BATCH, &n),
            -ENOBUFS);
}
END_TEST

/* ---- responses --------------------------------------------------------- */

START_TEST(responses_land_in_the_request_slots_with_null_for_extras)
{
        put_req(1, 0, NETTXF_extra_info | NETTXF_more_data, 11, 300);
        put_extra(XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_FLAG_MORE, 1400);
        put_extra(XEN_NETIF_EXTRA_TYPE_HASH, 0, 0);
        put_req(2, 0, NETTXF_more_data, 12, 100);
        put_req(3, 0, 0, 13, 100);
        ck_assert_int_eq(parse_and_consume(), NB_TX_OK);
        ck_assert_int_eq(nb_tx_make_responses(&fx.back, &fx.pkt, NETIF_RSP_OKAY), 0);
        ck_assert_uint_eq(fx.back.rsp_prod_pvt, 5);
        RING_PUSH_RESPONSES(&fx.back);

        /* What netfront reads, slot by slot. */
        const int16_t want_status[] = {NETIF_RSP_OKAY, NETIF_RSP_NULL, NETIF_RSP_NULL,
                                       NETIF_RSP_OKAY, NETIF_RSP_OKAY};
        const uint16_t want_id[] = {11, 0, 0, 12, 13};
        ck_assert_uint_eq(fx.sring->rsp_prod, 5);
        for (unsigned int i = 0; i < 5; i++) {
                netif_tx_response_t *r = RING_GET_RESPONSE(&fx.front, i);

                ck_assert_int_eq(r->status, want_status[i]);
                if (want_status[i] != NETIF_RSP_NULL)
                        ck_assert_uint_eq(r->id, want_id[i]);
        }
}
END_TEST

START_TEST(dropped_packet_answers_every_slot_with_error)
{
        put_pkt(20, 60, 100, 0); /* 19 after the first: drop */
        ck_assert_int_eq(parse_and_consume(), NB_TX_DROP);
        ck_assert_uint_eq(fx.back.req_cons, 20);
        ck_assert_int_eq(nb_tx_make_responses(&fx.back, &fx.pkt, NETIF_RSP_ERROR), 0);
        for (unsigned int i = 0; i < 20; i++) {
                ck_assert_int_eq(RING_GET_RESPONSE(&fx.back, i)->status, NETIF_RSP_ERROR);
                ck_assert_uint_eq(RING_GET_RESPONSE(&fx.back, i)->id, i);
        }
}
END_TEST

START_TEST(mcast_dummy_answers_first_slot_and_extras_only)
{
        put_req(1, 0, NETTXF_extra_info | NETTXF_more_data, 21, 0);
        put_extra(XEN_NETIF_EXTRA_TYPE_MCAST_ADD, 0, 0x0001);
        put_req(2, 0, 0, 22, 60);
        ck_assert_int_eq(parse_and_consume(), NB_TX_MCAST);
        ck_assert_uint_eq(fx.back.req_cons, 2);
        ck_assert_int_eq(nb_tx_make_responses(&fx.back, &fx.pkt, NETIF_RSP_OKAY), 0);
        ck_assert_uint_eq(fx.back.rsp_prod_pvt, 2);
        ck_assert_uint_eq(RING_GET_RESPONSE(&fx.back, 0)->id, 21);
        ck_assert_int_eq(RING_GET_RESPONSE(&fx.back, 0)->status, NETIF_RSP_OKAY);
        ck_assert_int_eq(RING_GET_RESPONSE(&fx.back, 1)->status, NETIF_RSP_NULL);
}
END_TEST

START_TEST(responses_are_refused_when_they_would_be_wrong)
{
        put_req(1, 0, 0, 1, 60);
        RING_PUSH_REQUESTS(&fx.front);
        nb_tx_parse_slots(&fx.back, fx.sring->req_prod, &fx.cfg, &fx.pkt);
        /* Not consumed yet: answering would overwrite an unread request. */
        ck_assert_int_eq(nb_tx_make_responses(&fx.back, &fx.pkt, NETIF_RSP_OKAY), -EINVAL);
        nb_tx_consume(&fx.back, &fx.pkt);
        ck_assert_int_eq(nb_tx_make_responses(&fx.back, &fx.pkt, NETIF_RSP_NULL), -EINVAL);
        ck_assert_int_eq(nb_tx_make_responses(&fx.back, &fx.pkt, 5), -EINVAL);
        ck_assert_uint_eq(fx.back.rsp_prod_pvt, 0);
        ck_assert_int_eq(nb_tx_make_responses(&fx.back, &fx.pkt, NETIF_RSP_DROPPED), 0);
        ck_assert_int_eq(RING_GET_RESPONSE(&fx.back, 0)->status, NETIF_RSP_DROPPED);

        /* A fatal or incomplete packet is answered with nothing. */
        put_req(1, 0, NETTXF_more_data, 2, 60);
        ck_assert_int_eq(parse_and_consume(), NB_TX_INCOMPLETE);
        ck_assert_int_eq(nb_tx_make_responses(&fx.back, &fx.pkt, NETIF_RSP_ERROR), -EINVAL);
        fx.sring->req_prod = fx.back.req_cons + 1000;
        ck_assert_int_eq(nb_tx_parse_slots(&fx.back, fx.sring->req_prod, &fx.cfg, &fx.pkt),
                         NB_TX_FATAL);
        ck_assert_int_eq(nb_tx_make_responses(&fx.back, &fx.pkt, NETIF_RSP_ERROR), -EINVAL);
        ck_assert_uint_eq(fx.back.rsp_prod_pvt, 1);
}
END_TEST

static Suite *nb_tx_gnttab_suite(void)
{
        Suite *s = suite_create("nb_tx_gnttab");
        TCase *copy = tcase_create("copy");
        TCase *rsp = tcase_create("responses");

        tcase_add_checked_fixture(copy, setup, NULL);
        tcase_add_test(copy, single_slot_gives_one_segment);
        tcase_add_test(copy, multi_slot_segments_are_contiguous_in_the_buffer);
        tcase_add_test(copy, tiny_slots_and_empty_first_slot);
        tcase_add_test(copy, packet_continues_across_batches);
        tcase_add_test(copy, packets_share_a_batch);
        tcase_add_test(copy, refuses_what_is_not_a_packet);
        suite_add_tcase(s, copy);

        tcase_add_checked_fixture(rsp, setup, NULL);
        tcase_add_test(rsp, responses_land_in_the_request_slots_with_null_for_extras);
        tcase_add_test(rsp, dropped_packet_answers_every_slot_with_error);
        tcase_add_test(rsp, mcast_dummy_answers_first_slot_and_extras_only);
        tcase_add_test(rsp, responses_are_refused_when_they_would_be_wrong);
        suite_add_tcase(s, rsp);
        return s;
}

PV_CHECK_MAIN(nb_tx_gnttab_suite)
