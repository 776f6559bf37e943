/* nb_tx_parse: guest TX slots -> descriptor, over a front and a back ring on
 * one page of plain memory (FreeBSD netback_unit_tests style). Each case
 * asserts the verdict Linux netback would reach and the exact values. */
#include <check.h>
#include <stdalign.h>
#include <string.h>

#include "check_main.h"
#include "netback/nb_tx_gnttab.h"
#include "netback/nb_tx_parse.h"

struct txfx {
        alignas(4096) uint8_t page[NB_PAGE_SIZE];
        netif_tx_sring_t *sring;
        netif_tx_front_ring_t front;
        netif_tx_back_ring_t back;
        struct nb_tx_parse_cfg cfg;
        struct nb_tx_pkt pkt;
};

static struct txfx fx;

/* Both ends start at `start`, as after that many packets went through. */
static void fx_init(RING_IDX start)
{
        memset(&fx, 0, sizeof(fx));
        fx.sring = (netif_tx_sring_t *)fx.page;
        SHARED_RING_INIT(fx.sring);
        FRONT_RING_INIT(&fx.front, fx.sring, NB_PAGE_SIZE);
        BACK_RING_INIT(&fx.back, fx.sring, NB_PAGE_SIZE);
        fx.sring->req_prod = fx.sring->rsp_prod = start;
        fx.front.req_prod_pvt = fx.front.rsp_cons = start;
        fx.back.req_cons = fx.back.rsp_prod_pvt = start;
        nb_tx_parse_cfg_default(&fx.cfg);
}

static void setup(void)
{
        fx_init(0);
}

static void put_req(uint32_t gref, uint16_t offset, uint16_t flags, uint16_t id, uint16_t size)
{
        netif_tx_request_t *r = RING_GET_REQUEST(&fx.front, fx.front.req_prod_pvt++);

        r->gref = gref;
        r->offset = offset;
        r->flags = flags;
        r->id = id;
        r->size = size;
}

static void put_extra(uint8_t type, uint8_t flags, const void *u, size_t ulen)
{
        struct netif_extra_info e;

        memset(&e, 0, sizeof(e));
        e.type = type;
        e.flags = flags;
        if (u)
                memcpy(&e.u, u, ulen);
        memset(RING_GET_REQUEST(&fx.front, fx.front.req_prod_pvt), 0xAA,
               sizeof(netif_tx_request_t));
        memcpy(RING_GET_REQUEST(&fx.front, fx.front.req_prod_pvt++), &e, sizeof(e));
}

static void put_gso(uint8_t flags, uint8_t type, uint16_t size)
{
        struct {
                uint16_t size;
                uint8_t type, pad;
                uint16_t features;
        } g = {size, type, 0, 0};
        put_extra(XEN_NETIF_EXTRA_TYPE_GSO, flags, &g, sizeof(g));
}

static void push(void)
{
        RING_PUSH_REQUESTS(&fx.front);
}

static enum nb_tx_verdict parse(void)
{
        return nb_tx_parse_slots(&fx.back, fx.sring->req_prod, &fx.cfg, &fx.pkt);
}

/* A packet of n data slots: slot i (i >= 1) carries `each` bytes; slot 1
 * additionally `first_own` bytes of its own. ids count from id0. */
static void put_pkt(unsigned int n, uint16_t first_own, uint16_t each, uint16_t id0)
{
        uint16_t total = first_own + (uint16_t)((n - 1) * each);

        put_req(100, 0, n > 1 ? NETTXF_more_data : 0, id0, total);
        for (unsigned int i = 1; i < n; i++)
                put_req(100 + i, 0, i + 1 < n ? NETTXF_more_data : 0, (uint16_t)(id0 + i), each);
}

static void assert_fault(enum nb_tx_verdict v, enum nb_tx_reason r, uint32_t slot, uint32_t a,
                         uint32_t b)
{
        ck_assert_int_eq(fx.pkt.verdict, v);
        ck_assert_int_eq(fx.pkt.fault.reason, r);
        ck_assert_uint_eq(fx.pkt.fault.slot, slot);
        ck_assert_uint_eq(fx.pkt.fault.a, a);
        ck_assert_uint_eq(fx.pkt.fault.b, b);
}

START_TEST(empty_ring_consumes_nothing)
{
        ck_assert_int_eq(parse(), NB_TX_EMPTY);
        ck_assert_uint_eq(fx.pkt.nr_slots, 0);
}
END_TEST

START_TEST(single_slot_packet)
{
        put_req(7, 100, NETTXF_csum_blank, 3, 60);
        push();
        ck_assert_int_eq(parse(), NB_TX_OK);
        ck_assert_uint_eq(fx.pkt.nr_slots, 1);
        ck_assert_uint_eq(fx.pkt.nr_frags, 1);
        ck_assert_uint_eq(fx.pkt.nr_extras, 0);
        ck_assert_uint_eq(fx.pkt.total_len, 60);
        ck_assert_uint_eq(fx.pkt.frags[0].gref, 7);
        ck_assert_uint_eq(fx.pkt.frags[0].offset, 100);
        ck_assert_uint_eq(fx.pkt.frags[0].len, 60);
        ck_assert_uint_eq(fx.pkt.frags[0].id, 3);
        ck_assert(fx.pkt.csum_blank);
        ck_assert(!fx.pkt.data_validated);
        ck_assert(!fx.pkt.has_gso);
        /* Parsing alone consumes nothing. */
        ck_assert_uint_eq(fx.back.req_cons, 0);
        nb_tx_consume(&fx.back, &fx.pkt);
        ck_assert_uint_eq(fx.back.req_cons, 1);
        ck_assert_int_eq(parse(), NB_TX_EMPTY);
}
END_TEST

START_TEST(multi_slot_first_length_is_total_minus_others)
{
        put_req(10, 64, NETTXF_more_data | NETTXF_data_validated, 1, 3000);
        put_req(11, 0, NETTXF_more_data, 2, 1000);
        put_req(12, 8, 0, 3, 500);
        push();
        ck_assert_int_eq(parse(), NB_TX_OK);
        ck_assert_uint_eq(fx.pkt.nr_slots, 3);
        ck_assert_uint_eq(fx.pkt.nr_frags, 3);
        ck_assert_uint_eq(fx.pkt.frags[0].len, 1500);
        ck_assert_uint_eq(fx.pkt.frags[1].len, 1000);
        ck_assert_uint_eq(fx.pkt.frags[2].len, 500);
        ck_assert_uint_eq(fx.pkt.frags[2].gref, 12);
        ck_assert_uint_eq(fx.pkt.frags[2].offset, 8);
        ck_assert_uint_eq(fx.pkt.frags[2].id, 3);
        ck_assert(fx.pkt.data_validated);
        ck_assert(!fx.pkt.csum_blank);
}
END_TEST

START_TEST(full_ring_of_single_slot_packets)
{
        for (unsigned int i = 0; i < NB_TX_RING_SIZE; i++)
                put_req(i, 0, 0, (uint16_t)i, 60);
        push();
        ck_assert_uint_eq(fx.sring->req_prod - fx.back.req_cons, NB_TX_RING_SIZE);
        for (unsigned int i = 0; i < NB_TX_RING_SIZE; i++) {
                ck_assert_int_eq(parse(), NB_TX_OK);
                ck_assert_uint_eq(fx.pkt.frags[0].id, i);
                nb_tx_consume(&fx.back, &fx.pkt);
                ck_assert_int_eq(nb_tx_make_responses(&fx.back, &fx.pkt, NETIF_RSP_OKAY), 0);
        }
        ck_assert_int_eq(parse(), NB_TX_EMPTY);
        ck_assert_uint_eq(fx.back.rsp_prod_pvt, NB_TX_RING_SIZE);
}
END_TEST

START_TEST(indices_wrap_around)
{
        fx_init(UINT32_MAX - 2);
        put_pkt(6, 100, 200, 40);
        push();
        ck_assert_uint_eq(fx.sring->req_prod, 3); /* wrapped */
        ck_assert_int_eq(parse(), NB_TX_OK);
        ck_assert_uint_eq(fx.pkt.first, UINT32_MAX - 2);
        ck_assert_uint_eq(fx.pkt.nr_slots, 6);
        ck_assert_uint_eq(fx.pkt.frags[0].len, 100);
        ck_assert_uint_eq(fx.pkt.frags[5].id, 45);
        ck_assert_uint_eq(fx.pkt.frags[5].gref, 105);
        nb_tx_consume(&fx.back, &fx.pkt);
        ck_assert_uint_eq(fx.back.req_cons, 3);
        ck_assert_int_eq(nb_tx_make_responses(&fx.back, &fx.pkt, NETIF_RSP_OKAY), 0);
        ck_assert_uint_eq(fx.back.rsp_prod_pvt, 3);
}
END_TEST

START_TEST(truncated_packet_is_incomplete_then_completes)
{
        put_req(1, 0, NETTXF_more_data, 1, 300);
        put_req(2, 0, NETTXF_more_data, 2, 100);
        push();
        ck_assert_int_eq(parse(), NB_TX_INCOMPLETE);
        assert_fault(NB_TX_INCOMPLETE, NB_TX_R_DATA_MISSING, 2, 2, 0);
        ck_assert_uint_eq(fx.pkt.nr_slots, 0);
        put_req(3, 0, 0, 3, 100);
        push();
        ck_assert_int_eq(parse(), NB_TX_OK);
        ck_assert_uint_eq(fx.pkt.nr_slots, 3);
        ck_assert_uint_eq(fx.pkt.frags[0].len, 100);
}
END_TEST

START_TEST(truncated_packet_is_fatal_when_strict)
{
        fx.cfg.partial_is_fatal = true;
        put_req(1, 0, NETTXF_more_data, 1, 300);
        push();
        ck_assert_int_eq(parse(), NB_TX_FATAL);
        assert_fault(NB_TX_FATAL, NB_TX_R_DATA_MISSING, 1, 1, NB_TX_RING_SIZE);
}
END_TEST

START_TEST(missing_extra_is_incomplete_or_fatal_when_strict)
{
        put_req(1, 0, NETTXF_extra_info, 1, 60);
        push();
        ck_assert_int_eq(parse(), NB_TX_INCOMPLETE);
        ck_assert_int_eq(fx.pkt.fault.reason, NB_TX_R_EXTRA_MISSING);
        fx.cfg.partial_is_fatal = true;
        ck_assert_int_eq(parse(), NB_TX_FATAL);
        assert_fault(NB_TX_FATAL, NB_TX_R_EXTRA_MISSING, 1, 1, NB_TX_RING_SIZE);
}
END_TEST

START_TEST(extra_chain_past_a_full_ring_is_fatal)
{
        put_req(1, 0, NETTXF_extra_info, 1, 60);
        for (unsigned int i = 1; i < NB_TX_RING_SIZE; i++)
                put_gso(XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_GSO_TYPE_TCPV4, 1400);
        push();
        ck_assert_int_eq(parse(), NB_TX_FATAL);
        assert_fault(NB_TX_FATAL, NB_TX_R_EXTRA_MISSING, NB_TX_RING_SIZE, NB_TX_RING_SIZE,
                     NB_TX_RING_SIZE);
}
END_TEST

START_TEST(req_prod_far_past_the_ring_is_fatal)
{
        put_req(1, 0, 0, 1, 60);
        push();
        fx.sring->req_prod = fx.back.req_cons + NB_TX_RING_SIZE + 1;
        ck_assert_int_eq(parse(), NB_TX_FATAL);
        assert_fault(NB_TX_FATAL, NB_TX_R_RING_OVERFLOW, 0, NB_TX_RING_SIZE + 1, NB_TX_RING_SIZE);
        /* "Behind" req_cons is the same as far ahead in modular arithmetic. */
        fx.sring->req_prod = fx.back.req_cons - 1;
        ck_assert_int_eq(parse(), NB_TX_FATAL);
        ck_assert_int_eq(fx.pkt.fault.reason, NB_TX_R_RING_OVERFLOW);
}
END_TEST

START_TEST(unanswered_slots_limit_the_window)
{
        /* 250 consumed but unanswered: the guest may only have 6 more out. */
        fx_init(0);
        fx.back.req_cons = 250;
        fx.front.req_prod_pvt = 250;
        put_req(1, 0, NETTXF_more_data, 1, 600);
        for (unsigned int i = 0; i < 6; i++)
                put_req(2 + i, 0, NETTXF_more_data, (uint16_t)(2 + i), 10);
        push();
        ck_assert_int_eq(parse(), NB_TX_INCOMPLETE);
        ck_assert_uint_eq(fx.pkt.fault.slot, 6);
}
END_TEST

/* ---- extras ---------------------------------------------------------- */

START_TEST(gso_and_hash_extras)
{
        uint8_t hash[6] = {_XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP,
                           XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ,
                           0x78,
                           0x56,
                           0x34,
                           0x12};

        put_req(1, 0, NETTXF_extra_info | NETTXF_more_data | NETTXF_csum_blank, 9, 3000);
        put_gso(XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_GSO_TYPE_TCPV6, 1440);
        put_extra(XEN_NETIF_EXTRA_TYPE_HASH, 0, hash, sizeof(hash));
        put_req(2, 0, 0, 10, 1000);
        push();
        ck_assert_int_eq(parse(), NB_TX_OK);
        ck_assert_uint_eq(fx.pkt.nr_slots, 4);
        ck_assert_uint_eq(fx.pkt.nr_extras, 2);
        ck_assert_uint_eq(fx.pkt.nr_frags, 2);
        ck_assert(fx.pkt.has_gso);
        ck_assert_uint_eq(fx.pkt.gso_type, XEN_NETIF_GSO_TYPE_TCPV6);
        ck_assert_uint_eq(fx.pkt.gso_size, 1440);
        ck_assert(fx.pkt.has_hash);
        ck_assert_uint_eq(fx.pkt.hash_type, _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
        ck_assert_uint_eq(fx.pkt.hash_value, 0x12345678);
        ck_assert_uint_eq(fx.pkt.frags[0].len, 2000);
        ck_assert_uint_eq(fx.pkt.frags[1].id, 10);
}
END_TEST

START_TEST(extras_chain_with_mcast_is_a_dummy)
{
        uint8_t mac[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
        uint8_t hash[6] = {_XEN_NETIF_CTRL_HASH_TYPE_IPV4, 1, 1, 2, 3, 4};

        /* more_data on a dummy: like Linux only first + extras are consumed. */
        put_req(1, 0, NETTXF_extra_info | NETTXF_more_data, 5, 0);
        put_gso(XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_GSO_TYPE_TCPV4, 1400);
        put_extra(XEN_NETIF_EXTRA_TYPE_HASH, XEN_NETIF_EXTRA_FLAG_MORE, hash, sizeof(hash));
        put_extra(XEN_NETIF_EXTRA_TYPE_MCAST_ADD, 0, mac, sizeof(mac));
        put_req(2, 0, 0, 6, 60);
        push();
        ck_assert_int_eq(parse(), NB_TX_MCAST);
        assert_fault(NB_TX_MCAST, NB_TX_R_MCAST_ADD, 3, 0, 0);
        ck_assert(fx.pkt.mcast_add);
        ck_assert(!fx.pkt.mcast_del);
        ck_assert_mem_eq(fx.pkt.mcast_addr, mac, 6);
        ck_assert_uint_eq(fx.pkt.nr_slots, 4);
        ck_assert_uint_eq(fx.pkt.nr_extras, 3);
        nb_tx_consume(&fx.back, &fx.pkt);
        ck_assert_int_eq(parse(), NB_TX_OK);
        ck_assert_uint_eq(fx.pkt.frags[0].id, 6);
}
END_TEST

START_TEST(mcast_add_wins_over_del)
{
        uint8_t add[6] = {1, 2, 3, 4, 5, 6}, del[6] = {1, 9, 9, 9, 9, 9};

        put_req(1, 0, NETTXF_extra_info, 5, 0);
        put_extra(XEN_NETIF_EXTRA_TYPE_MCAST_DEL, XEN_NETIF_EXTRA_FLAG_MORE, del, 6);
        put_extra(XEN_NETIF_EXTRA_TYPE_MCAST_ADD, 0, add, 6);
        push();
        ck_assert_int_eq(parse(), NB_TX_MCAST);
        ck_assert(fx.pkt.mcast_add);
        ck_assert_mem_eq(fx.pkt.mcast_addr, add, 6);

        fx_init(0);
        put_req(1, 0, NETTXF_extra_info, 5, 0);
        put_extra(XEN_NETIF_EXTRA_TYPE_MCAST_DEL, 0, del, 6);
        push();
        ck_assert_int_eq(parse(), NB_TX_MCAST);
        ck_assert(fx.pkt.mcast_del);
        ck_assert_mem_eq(fx.pkt.mcast_addr, del, 6);
        ck_assert_int_eq(fx.pkt.fault.reason, NB_TX_R_MCAST_DEL);
}
END_TEST

START_TEST(repeated_extra_last_one_wins)
{
        put_req(1, 0, NETTXF_extra_info, 5, 60);
        put_gso(XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_GSO_TYPE_TCPV4, 0);
        put_gso(0, XEN_NETIF_GSO_TYPE_TCPV4, 536);
        push();
        ck_assert_int_eq(parse(), NB_TX_OK);
        ck_assert_uint_eq(fx.pkt.gso_size, 536);
        ck_assert_uint_eq(fx.pkt.nr_extras, 2);
}
END_TEST

START_TEST(unknown_hash_type_is_ignored)
{
        uint8_t hash[6] = {9, 1, 1, 2, 3, 4};

        put_req(1, 0, NETTXF_extra_info, 5, 60);
        put_extra(XEN_NETIF_EXTRA_TYPE_HASH, 0, hash, sizeof(hash));
        push();
        ck_assert_int_eq(parse(), NB_TX_OK);
        ck_assert(!fx.pkt.has_hash);
}
END_TEST

START_TEST(xdp_extra_is_accepted_and_ignored)
{
        uint16_t headroom = 256;

        put_req(1, 0, NETTXF_extra_info, 5, 60);
        put_extra(NB_EXTRA_TYPE_XDP, 0, &headroom, sizeof(headroom));
        push();
        ck_assert_int_eq(parse(), NB_TX_OK);
        ck_assert(fx.pkt.has_xdp);
        ck_assert_uint_eq(fx.pkt.xdp_headroom, 256);
        ck_assert_uint_eq(fx.pkt.nr_slots, 2);
}
END_TEST

/* Malformed extras: every one is fatal in Linux. */
struct bad_extra_case {
        const char *name;
        uint8_t type;
        uint8_t gso_type;
        uint16_t gso_size;
        enum nb_tx_reason reason;
        uint32_t a;
};

static const struct bad_extra_case bad_extras[] = {
    {"type 0", XEN_NETIF_EXTRA_TYPE_NONE, 0, 0, NB_TX_R_EXTRA_TYPE, 0},
    {"type MAX", NB_EXTRA_TYPE_MAX, 0, 0, NB_TX_R_EXTRA_TYPE, NB_EXTRA_TYPE_MAX},
    {"type 255", 255, 0, 0, NB_TX_R_EXTRA_TYPE, 255},
    {"gso size 0", XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_GSO_TYPE_TCPV4, 0, NB_TX_R_GSO_SIZE, 0},
    {"gso type none", XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_GSO_TYPE_NONE, 1400, NB_TX_R_GSO_TYPE, 0},
    {"gso type 3", XEN_NETIF_EXTRA_TYPE_GSO, 3, 1400, NB_TX_R_GSO_TYPE, 3},
};

START_TEST(malformed_extras_are_fatal)
{
        const struct bad_extra_case *c = &bad_extras[_i];

        put_req(1, 0, NETTXF_extra_info, 5, 60);
        if (c->type == XEN_NETIF_EXTRA_TYPE_GSO)
                put_gso(0, c->gso_type, c->gso_size);
        else
                put_extra(c->type, 0, NULL, 0);
        push();
        ck_assert_msg(parse() == NB_TX_FATAL, "%s", c->name);
        ck_assert_int_eq(fx.pkt.fault.reason, c->reason);
        ck_assert_uint_eq(fx.pkt.fault.slot, 1);
        ck_assert_uint_eq(fx.pkt.fault.a, c->a);
        ck_assert_uint_eq(fx.pkt.nr_slots, 0);
}
END_TEST

/* ---- slot limits (Linux counts the slots after the first) --------------- */

struct slots_case {
        unsigned int data_slots; /* first included */
        enum nb_tx_verdict verdict;
        enum nb_tx_reason reason;
};

static const struct slots_case slots_cases[] = {
    {18, NB_TX_OK, NB_TX_R_NONE},           {19, NB_TX_OK, NB_TX_R_NONE},
    {20, NB_TX_DROP, NB_TX_R_SLOTS_DROP},   {21, NB_TX_DROP, NB_TX_R_SLOTS_DROP},
    {22, NB_TX_FATAL, NB_TX_R_SLOTS_FATAL},
};

START_TEST(slot_count_limits)
{
        const struct slots_case *c = &slots_cases[_i];

        put_pkt(c->data_slots, 60, 100, 0);
        push();
        ck_assert_int_eq(parse(), c->verdict);
        ck_assert_int_eq(fx.pkt.fault.reason, c->reason);
        if (c->verdict == NB_TX_OK) {
                ck_assert_uint_eq(fx.pkt.nr_slots, c->data_slots);
                ck_assert_uint_eq(fx.pkt.frags[0].len, 60);
        } else if (c->verdict == NB_TX_DROP) {
                /* The 19th slot after the first tips it over; every slot is
                 * still consumed so that each gets its error response. */
                ck_assert_uint_eq(fx.pkt.fault.slot, 19);
                ck_assert_uint_eq(fx.pkt.fault.a, 19);
                ck_assert_uint_eq(fx.pkt.fault.b, 18);
                ck_assert_uint_eq(fx.pkt.nr_slots, c->data_slots);
                ck_assert_uint_eq(fx.pkt.nr_frags, c->data_slots);
                ck_assert_uint_eq(fx.pkt.frags[c->data_slots - 1].id, c->data_slots - 1);
        } else {
                ck_assert_uint_eq(fx.pkt.fault.slot, 21);
                ck_assert_uint_eq(fx.pkt.fault.a, 21);
                ck_assert_uint_eq(fx.pkt.fault.b, 20);
                ck_assert_uint_eq(fx.pkt.nr_slots, 0);
        }
}
END_TEST

START_TEST(raised_fatal_limit_turns_fatal_into_drop)
{
        fx.cfg.fatal_slots = 30;
        ck_assert_int_eq(nb_tx_parse_cfg_check(&fx.cfg), 0);
        put_pkt(25, 60, 100, 0);
        push();
        ck_assert_int_eq(parse(), NB_TX_DROP);
        ck_assert_uint_eq(fx.pkt.nr_slots, 25);
}
END_TEST

START_TEST(config_bounds)
{
        struct nb_tx_parse_cfg c;

        nb_tx_parse_cfg_default(&c);
        ck_assert_uint_eq(c.max_slots, 18);
        ck_assert_uint_eq(c.fatal_slots, 20);
        ck_assert_int_eq(nb_tx_parse_cfg_check(&c), 0);
        c.max_slots = 17;
        ck_assert_int_eq(nb_tx_parse_cfg_check(&c), -EINVAL);
        c.max_slots = 21;
        ck_assert_int_eq(nb_tx_parse_cfg_check(&c), -EINVAL);
        c.max_slots = 18;
        c.fatal_slots = NB_TX_FATAL_SLOTS_CAP + 1;
        ck_assert_int_eq(nb_tx_parse_cfg_check(&c), -EINVAL);
        c.fatal_slots = NB_TX_FATAL_SLOTS_CAP;
        ck_assert_int_eq(nb_tx_parse_cfg_check(&c), 0);
}
END_TEST

/* ---- page bounds and sizes ------------------------------------------- */

START_TEST(frag_crossing_a_page_is_fatal_and_says_so)
{
        char msg[128];

        put_req(1, 0, NETTXF_more_data, 1, 4500);
        put_req(2, 0, NETTXF_more_data, 2, 100);
        put_req(3, 0, NETTXF_more_data, 3, 100);
        put_req(4, 4000, 0, 4, 200);
        push();
        ck_assert_int_eq(parse(), NB_TX_FATAL);
        assert_fault(NB_TX_FATAL, NB_TX_R_CROSS_PAGE, 3, 4200, 4096);
        nb_tx_fault_format(&fx.pkt.fault, msg, sizeof(msg));
        ck_assert_str_eq(msg, "slot 3 offset+size 4200 > 4096");
}
END_TEST

START_TEST(first_slot_crossing_a_page_uses_its_real_length)
{
        /* 4000 + (1000 - 900) = 4100 > 4096. */
        put_req(1, 4000, NETTXF_more_data, 1, 1000);
        put_req(2, 0, 0, 2, 900);
        push();
        ck_assert_int_eq(parse(), NB_TX_FATAL);
        assert_fault(NB_TX_FATAL, NB_TX_R_CROSS_PAGE, 0, 4100, 4096);

        /* 4000 + 96 fits exactly. */
        fx_init(0);
        put_req(1, 4000, NETTXF_more_data, 1, 1000);
        put_req(2, 0, 0, 2, 904);
        push();
        ck_assert_int_eq(parse(), NB_TX_OK);
}
END_TEST

START_TEST(crossing_a_page_is_fatal_even_while_dropping)
{
        put_req(1, 0, NETTXF_more_data, 1, 100);
        put_req(2, 0, NETTXF_more_data, 2, 200); /* larger than remaining: drop */
        put_req(3, 4090, 0, 3, 10);              /* still checked, as Linux */
        push();
        ck_assert_int_eq(parse(), NB_TX_FATAL);
        assert_fault(NB_TX_FATAL, NB_TX_R_CROSS_PAGE, 2, 4100, 4096);
}
END_TEST

START_TEST(frag_larger_than_remaining_is_dropped)
{
        put_req(1, 0, NETTXF_more_data, 1, 100);
        put_req(2, 0, NETTXF_more_data, 2, 60);
        put_req(3, 0, 0, 3, 60);
        push();
        ck_assert_int_eq(parse(), NB_TX_DROP);
        assert_fault(NB_TX_DROP, NB_TX_R_FRAG_TOO_BIG, 2, 60, 40);
        ck_assert_uint_eq(fx.pkt.nr_slots, 3);
        ck_assert_uint_eq(fx.pkt.frags[2].id, 3);
}
END_TEST

START_TEST(runt_is_dropped)
{
        put_req(1, 0, 0, 1, NB_ETH_HLEN - 1);
        push();
        ck_assert_int_eq(parse(), NB_TX_DROP);
        assert_fault(NB_TX_DROP, NB_TX_R_RUNT, 0, NB_ETH_HLEN - 1, NB_ETH_HLEN);
        ck_assert_uint_eq(fx.pkt.nr_slots, 1);

        fx_init(0);
        put_req(1, 0, 0, 1, NB_ETH_HLEN);
        push();
        ck_assert_int_eq(parse(), NB_TX_OK);
}
END_TEST

START_TEST(largest_frame_is_accepted)
{
        /* 0xFFFF bytes over 16 slots: 15 full pages + 4095 in slot 1. */
        put_req(1, 1, NETTXF_more_data, 0, NB_TX_MAX_SIZE);
        for (unsigned int i = 1; i <= 15; i++)
                put_req(1 + i, 0, i < 15 ? NETTXF_more_data : 0, (uint16_t)i, NB_PAGE_SIZE);
        push();
        ck_assert_int_eq(parse(), NB_TX_OK);
        ck_assert_uint_eq(fx.pkt.frags[0].len, 4095);
        ck_assert_uint_eq(fx.pkt.nr_frags, 16);

        /* One more page: a frame >= 64 KiB, which buggy frontends send. */
        fx_init(0);
        put_req(1, 1, NETTXF_more_data, 0, NB_TX_MAX_SIZE);
        for (unsigned int i = 1; i <= 16; i++)
                put_req(1 + i, 0, i < 16 ? NETTXF_more_data : 0, (uint16_t)i, NB_PAGE_SIZE);
        push();
        ck_assert_int_eq(parse(), NB_TX_DROP);
        assert_fault(NB_TX_DROP, NB_TX_R_FRAG_TOO_BIG, 16, NB_PAGE_SIZE, 4095);
        ck_assert_uint_eq(fx.pkt.nr_slots, 17);
}
END_TEST

START_TEST(header_split_across_tiny_slots)
{
        /* Slot 1 keeps 1 byte, then 13 one-byte slots, then the payload. */
        put_req(1, 4095, NETTXF_more_data, 0, 60);
        for (unsigned int i = 1; i <= 13; i++)
                put_req(1 + i, (uint16_t)(i * 7), NETTXF_more_data, (uint16_t)i, 1);
        put_req(15, 0, 0, 14, 46);
        push();
        ck_assert_int_eq(parse(), NB_TX_OK);
        ck_assert_uint_eq(fx.pkt.nr_frags, 15);
        ck_assert_uint_eq(fx.pkt.frags[0].len, 1);
        for (unsigned int i = 1; i <= 13; i++) {
                ck_assert_uint_eq(fx.pkt.frags[i].len, 1);
                ck_assert_uint_eq(fx.pkt.frags[i].offset, i * 7);
        }
        ck_assert_uint_eq(fx.pkt.frags[14].len, 46);
}
END_TEST

START_TEST(empty_first_slot_is_accepted)
{
        /* All bytes in later slots: slot 1's own length is 0. */
        put_req(1, 0, NETTXF_more_data, 0, 100);
        put_req(2, 0, 0, 1, 100);
        push();
        ck_assert_int_eq(parse(), NB_TX_OK);
        ck_assert_uint_eq(fx.pkt.frags[0].len, 0);
}
END_TEST

/* ---- the guest rewrites slots after they were read -------------------- */

START_TEST(rewritten_slots_do_not_change_the_descriptor)
{
        static uint8_t buf[NB_TX_MAX_SIZE];
        xh_copy_seg_t segs[NB_COPY_BATCH];
        struct nb_tx_copy_cursor cur;
        unsigned int n = 0;

        put_req(10, 20, NETTXF_more_data, 1, 1500);
        put_req(11, 30, 0, 2, 500);
        push();
        ck_assert_int_eq(parse(), NB_TX_OK);
        /* The guest now rewrites both slots with hostile values. */
        for (unsigned int i = 0; i < 2; i++) {
                netif_tx_request_t *r = RING_GET_REQUEST(&fx.front, i);
                r->gref = 0xdead;
                r->offset = 4095;
                r->size = 0xffff;
                r->id = 0xbeef;
                r->flags = NETTXF_more_data;
        }
        ck_assert_uint_eq(fx.pkt.frags[0].len, 1000);
        ck_assert_uint_eq(fx.pkt.frags[1].offset, 30);

        nb_tx_copy_cursor_init(&cur);
        ck_assert_int_eq(
            nb_tx_build_copy_ops(&fx.pkt, 5, buf, sizeof(buf), &cur, segs, NB_COPY_BATCH, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_uint_eq(segs[0].source.foreign.ref, 10);
        ck_assert_uint_eq(segs[0].source.foreign.offset, 20);
        ck_assert_uint_eq(segs[0].len, 1000);
        ck_assert_uint_eq(segs[1].source.foreign.ref, 11);
        ck_assert_uint_eq(segs[1].len, 500);

        nb_tx_consume(&fx.back, &fx.pkt);
        ck_assert_int_eq(nb_tx_make_responses(&fx.back, &fx.pkt, NETIF_RSP_OKAY), 0);
        ck_assert_uint_eq(RING_GET_RESPONSE(&fx.back, 0)->id, 1);
        ck_assert_uint_eq(RING_GET_RESPONSE(&fx.back, 1)->id, 2);
}
END_TEST

/* ---- fault text ------------------------------------------------------- */

START_TEST(every_reason_has_a_name_and_text)
{
        char msg[128];

        for (int r = NB_TX_R_NONE; r <= NB_TX_R_MCAST_DEL; r++) {
                struct nb_tx_fault f = {.reason = r, .slot = 1, .a = 2, .b = 3};

                ck_assert_str_ne(nb_tx_reason_name(r), "?");
                ck_assert_int_gt(nb_tx_fault_format(&f, msg, sizeof(msg)), 0);
                ck_assert_ptr_null(strstr(msg, "unknown fault"));
        }
        for (int v = NB_TX_EMPTY; v <= NB_TX_FATAL; v++)
                ck_assert_str_ne(nb_tx_verdict_name(v), "?");
}
END_TEST

static Suite *nb_tx_parse_suite(void)
{
        Suite *s = suite_create("nb_tx_parse");
        TCase *basic = tcase_create("basic");
        TCase *extras = tcase_create("extras");
        TCase *limits = tcase_create("limits");

        tcase_add_checked_fixture(basic, setup, NULL);
        tcase_add_test(basic, empty_ring_consumes_nothing);
        tcase_add_test(basic, single_slot_packet);
        tcase_add_test(basic, multi_slot_first_length_is_total_minus_others);
        tcase_add_test(basic, full_ring_of_single_slot_packets);
        tcase_add_test(basic, indices_wrap_around);
        tcase_add_test(basic, truncated_packet_is_incomplete_then_completes);
        tcase_add_test(basic, truncated_packet_is_fatal_when_strict);
        tcase_add_test(basic, missing_extra_is_incomplete_or_fatal_when_strict);
        tcase_add_test(basic, extra_chain_past_a_full_ring_is_fatal);
        tcase_add_test(basic, req_prod_far_past_the_ring_is_fatal);
        tcase_add_test(basic, unanswered_slots_limit_the_window);
        tcase_add_test(basic, rewritten_slots_do_not_change_the_descriptor);
        tcase_add_test(basic, every_reason_has_a_name_and_text);
        suite_add_tcase(s, basic);

        tcase_add_checked_fixture(extras, setup, NULL);
        tcase_add_test(extras, gso_and_hash_extras);
        tcase_add_test(extras, extras_chain_with_mcast_is_a_dummy);
        tcase_add_test(extras, mcast_add_wins_over_del);
        tcase_add_test(extras, repeated_extra_last_one_wins);
        tcase_add_test(extras, unknown_hash_type_is_ignored);
        tcase_add_test(extras, xdp_extra_is_accepted_and_ignored);
        tcase_add_loop_test(extras, malformed_extras_are_fatal, 0,
                            sizeof(bad_extras) / sizeof(bad_extras[0]));
        suite_add_tcase(s, extras);

        tcase_add_checked_fixture(limits, setup, NULL);
        tcase_add_loop_test(limits, slot_count_limits, 0,
                            sizeof(slots_cases) / sizeof(slots_cases[0]));
        tcase_add_test(limits, raised_fatal_limit_turns_fatal_into_drop);
        tcase_add_test(limits, config_bounds);
        tcase_add_test(limits, frag_crossing_a_page_is_fatal_and_says_so);
        tcase_add_test(limits, first_slot_crossing_a_page_uses_its_real_length);
        tcase_add_test(limits, crossing_a_page_is_fatal_even_while_dropping);
        tcase_add_test(limits, frag_larger_than_remaining_is_dropped);
        tcase_add_test(limits, runt_is_dropped);
        tcase_add_test(limits, largest_frame_is_accepted);
        tcase_add_test(limits, header_split_across_tiny_slots);
        tcase_add_test(limits, empty_first_slot_is_accepted);
        suite_add_tcase(s, limits);
        return s;
}

PV_CHECK_MAIN(nb_tx_parse_suite)
