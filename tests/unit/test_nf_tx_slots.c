/* nf_tx_slots: frames -> TX ring slots as Linux netfront writes them. Every
 * good layout is also fed to netback's own parser (nb_tx_parse) on a ring in
 * plain memory, so the two sides are checked against each other. */
#include <check.h>
#include <errno.h>
#include <stdalign.h>
#include <string.h>

#include "check_main.h"
#include "netback/nb_tx_parse.h"
#include "nf_tx_slots.h"

struct tfx {
        alignas(4096) uint8_t page[NF_PAGE_SIZE];
        netif_tx_front_ring_t front;
        netif_tx_back_ring_t back;
        union nf_tx_slot slots[NF_TX_MAX_SLOTS];
        struct nf_tx_frag frags[NF_TX_MAX_SLOTS];
        struct nb_tx_pkt pkt;
};

static struct tfx fx;

static void setup(void)
{
        memset(&fx, 0, sizeof(fx));
        SHARED_RING_INIT((netif_tx_sring_t *)fx.page);
        FRONT_RING_INIT(&fx.front, (netif_tx_sring_t *)fx.page, NF_PAGE_SIZE);
        BACK_RING_INIT(&fx.back, (netif_tx_sring_t *)fx.page, NF_PAGE_SIZE);
}

/* Fragments of the given lengths: gref 100+i, id 10+i, offset 0. */
static uint32_t make_frags(const uint16_t *lens, uint32_t n)
{
        uint32_t total = 0;
        for (uint32_t i = 0; i < n; i++) {
                fx.frags[i] = (struct nf_tx_frag){.gref = 100 + i, .len = lens[i], .id = (uint16_t)(10 + i)};
                total += lens[i];
        }
        return total;
}

/* Pushes the slots and runs netback's parser over them. */
static enum nb_tx_verdict backend_parse(uint32_t n)
{
        struct nb_tx_parse_cfg cfg;
        for (uint32_t i = 0; i < n; i++)
                memcpy(RING_GET_REQUEST(&fx.front, fx.front.req_prod_pvt++), &fx.slots[i],
                       sizeof(fx.slots[i]));
        RING_PUSH_REQUESTS(&fx.front);
        nb_tx_parse_cfg_default(&cfg);
        return nb_tx_parse_slots(&fx.back, fx.front.sring->req_prod, &cfg, &fx.pkt);
}

START_TEST(single_slot_carries_total_and_csum_flags)
{
        uint16_t lens[] = {60};
        struct nf_tx_meta m = {.len = make_frags(lens, 1), .csum_blank = true};
        uint32_t n;
        ck_assert_int_eq(nf_tx_build_slots(&m, fx.frags, 1, fx.slots, NF_TX_MAX_SLOTS, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_uint_eq(fx.slots[0].req.size, 60);
        ck_assert_uint_eq(fx.slots[0].req.gref, 100);
        ck_assert_uint_eq(fx.slots[0].req.id, 10);
        /* Linux: CHECKSUM_PARTIAL sets csum_blank and data_validated. */
        ck_assert_uint_eq(fx.slots[0].req.flags, NETTXF_csum_blank | NETTXF_data_validated);
        ck_assert_int_eq(backend_parse(n), NB_TX_OK);
        ck_assert(fx.pkt.csum_blank);
        ck_assert_uint_eq(fx.pkt.total_len, 60);
}
END_TEST

START_TEST(sg_split_chains_more_data_and_first_size_is_total)
{
        uint16_t lens[NF_TX_MAX_SLOTS];
        uint32_t nl, n;
        ck_assert_int_eq(nf_tx_layout(9000, true, 0, lens, NF_TX_MAX_SLOTS, &nl), 0);
        ck_assert_uint_eq(nl, 3);
        ck_assert_uint_eq(lens[0], 4096);
        ck_assert_uint_eq(lens[2], 9000 - 8192);
        struct nf_tx_meta m = {.len = make_frags(lens, nl), .data_validated = true};
        ck_assert_int_eq(nf_tx_build_slots(&m, fx.frags, nl, fx.slots, NF_TX_MAX_SLOTS, &n), 0);
        ck_assert_uint_eq(n, 3);
        ck_assert_uint_eq(fx.slots[0].req.size, 9000);
        ck_assert_uint_eq(fx.slots[0].req.flags, NETTXF_data_validated | NETTXF_more_data);
        ck_assert_uint_eq(fx.slots[1].req.flags, NETTXF_more_data);
        ck_assert_uint_eq(fx.slots[1].req.size, 4096);
        ck_assert_uint_eq(fx.slots[2].req.flags, 0);
        ck_assert_int_eq(backend_parse(n), NB_TX_OK);
        ck_assert_uint_eq(fx.pkt.nr_frags, 3);
        /* netback derives slot 1's own length: total minus the others. */
        ck_assert_uint_eq(fx.pkt.frags[0].len, 4096);
}
END_TEST

START_TEST(gso_extra_follows_the_first_slot)
{
        uint16_t lens[] = {4096, 4096, 1000};
        uint32_t n;
        struct nf_tx_meta m = {.len = make_frags(lens, 3),
                               .csum_blank = true,
                               .gso_type = XEN_NETIF_GSO_TYPE_TCPV6,
                               .gso_size = 1440};
        ck_assert_int_eq(nf_tx_build_slots(&m, fx.frags, 3, fx.slots, NF_TX_MAX_SLOTS, &n), 0);
        ck_assert_uint_eq(n, 4);
        ck_assert(fx.slots[0].req.flags & NETTXF_extra_info);
        ck_assert(fx.slots[0].req.flags & NETTXF_more_data);
        ck_assert_uint_eq(fx.slots[1].extra.type, XEN_NETIF_EXTRA_TYPE_GSO);
        ck_assert_uint_eq(fx.slots[1].extra.flags, 0);
        ck_assert_uint_eq(fx.slots[1].extra.u.gso.size, 1440);
        ck_assert_uint_eq(fx.slots[1].extra.u.gso.type, XEN_NETIF_GSO_TYPE_TCPV6);
        ck_assert_uint_eq(fx.slots[2].req.gref, 101);
        ck_assert_int_eq(backend_parse(n), NB_TX_OK);
        ck_assert(fx.pkt.has_gso);
        ck_assert_uint_eq(fx.pkt.gso_size, 1440);
        ck_assert_uint_eq(fx.pkt.nr_extras, 1);
}
END_TEST

START_TEST(mcast_dummy_is_recognised_by_netback)
{
        uint16_t lens[] = {0};
        uint32_t n;
        struct nf_tx_meta m = {.len = make_frags(lens, 1), .mcast_type = XEN_NETIF_EXTRA_TYPE_MCAST_ADD,
                               .mcast_addr = {0x01, 0x00, 0x5e, 0, 0, 1}};
        ck_assert_int_eq(nf_tx_build_slots(&m, fx.frags, 1, fx.slots, NF_TX_MAX_SLOTS, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(backend_parse(n), NB_TX_MCAST);
        ck_assert(fx.pkt.mcast_add);
        ck_assert_uint_eq(fx.pkt.mcast_addr[5], 1);
}
END_TEST

START_TEST(head_split_over_tiny_slots_is_legal)
{
        /* A 14-byte head slot then the rest: the header split Linux never
         * makes but netback must accept. */
        uint16_t lens[NF_TX_MAX_SLOTS];
        uint32_t nl, n;
        ck_assert_int_eq(nf_tx_layout(1514, true, 14, lens, NF_TX_MAX_SLOTS, &nl), 0);
        ck_assert_uint_eq(nl, 2);
        ck_assert_uint_eq(lens[0], 14);
        ck_assert_uint_eq(lens[1], 1500);
        struct nf_tx_meta m = {.len = make_frags(lens, nl)};
        ck_assert_int_eq(nf_tx_build_slots(&m, fx.frags, nl, fx.slots, NF_TX_MAX_SLOTS, &n), 0);
        ck_assert_int_eq(backend_parse(n), NB_TX_OK);
}
END_TEST

START_TEST(refuses_what_the_protocol_cannot_describe)
{
        uint16_t lens[NF_TX_MAX_SLOTS];
        uint32_t n;
        /* without SG a frame must fit one page */
        ck_assert_int_eq(nf_tx_layout(5000, false, 0, lens, NF_TX_MAX_SLOTS, &n), -EMSGSIZE);
        ck_assert_int_eq(nf_tx_layout(70000, true, 0, lens, NF_TX_MAX_SLOTS, &n), -EMSGSIZE);
        /* a slot crossing its page */
        uint16_t one[] = {4000};
        struct nf_tx_meta m = {.len = make_frags(one, 1)};
        fx.frags[0].offset = 200;
        ck_assert_int_eq(nf_tx_build_slots(&m, fx.frags, 1, fx.slots, NF_TX_MAX_SLOTS, &n), -EINVAL);
        /* lengths that do not add up */
        fx.frags[0].offset = 0;
        m.len = 3000;
        ck_assert_int_eq(nf_tx_build_slots(&m, fx.frags, 1, fx.slots, NF_TX_MAX_SLOTS, &n), -EINVAL);
        /* GSO without a size */
        m.len = 4000;
        m.gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
        ck_assert_int_eq(nf_tx_build_slots(&m, fx.frags, 1, fx.slots, NF_TX_MAX_SLOTS, &n), -EINVAL);
        /* no room */
        m.gso_size = 1000;
        ck_assert_int_eq(nf_tx_build_slots(&m, fx.frags, 1, fx.slots, 1, &n), -ENOSPC);
}
END_TEST

/* Slot counts across the layout: a full 64 KiB frame needs 17 data slots. */
static const struct {
        uint32_t len, head, slots;
} layouts[] = {
        {60, 0, 1}, {4096, 0, 1}, {4097, 0, 2}, {65535, 0, 16}, {65535, 100, 17}, {128, 8, 2},
};

START_TEST(layout_slot_counts)
{
        uint16_t lens[NF_TX_MAX_SLOTS];
        uint32_t n, sum = 0;
        ck_assert_int_eq(
                nf_tx_layout(layouts[_i].len, true, layouts[_i].head, lens, NF_TX_MAX_SLOTS, &n), 0);
        ck_assert_uint_eq(n, layouts[_i].slots);
        for (uint32_t i = 0; i < n; i++)
                sum += lens[i];
        ck_assert_uint_eq(sum, layouts[_i].len);
}
END_TEST

static Suite *nf_tx_slots_suite(void)
{
        Suite *s = suite_create("nf_tx_slots");
        TCase *tc = tcase_create("build");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, single_slot_carries_total_and_csum_flags);
        tcase_add_test(tc, sg_split_chains_more_data_and_first_size_is_total);
        tcase_add_test(tc, gso_extra_follows_the_first_slot);
        tcase_add_test(tc, mcast_dummy_is_recognised_by_netback);
        tcase_add_test(tc, head_split_over_tiny_slots_is_legal);
        tcase_add_test(tc, refuses_what_the_protocol_cannot_describe);
        tcase_add_loop_test(tc, layout_slot_counts, 0, sizeof(layouts) / sizeof(layouts[0]));
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(nf_tx_slots_suite)
