/* nb_hash: control operations with Linux's status codes and limits, the
 * Toeplitz hash against the published RSS verification vectors (Microsoft
 * "Verifying the RSS Hash Calculation"), and queue selection by the table. */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "netback/nb_hash.h"
#include "offload/off_build.h"

static const uint8_t rss_key[40] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

static struct nb_hash_cfg h;

static void setup(void)
{
        nb_hash_cfg_init(&h);
}

static size_t tcp4_frame(uint8_t *buf, size_t cap, const uint8_t s[4], const uint8_t d[4],
                         uint16_t sport, uint16_t dport)
{
        struct off_build_spec sp;
        size_t len;
        memset(&sp, 0, sizeof(sp));
        sp.ethertype = OFF_ETH_P_IPV4;
        memcpy(sp.saddr, s, 4);
        memcpy(sp.daddr, d, 4);
        sp.l4_proto = 6;
        sp.sport = sport;
        sp.dport = dport;
        sp.tcp_flags = 0x10;
        sp.payload_len = 10;
        ck_assert_int_eq(off_build_packet(buf, cap, &sp, &len), 0);
        return len;
}

START_TEST(ops_need_algorithm)
{
        uint32_t flags = 0;
        ck_assert_uint_eq(nb_hash_get_flags(&h, &flags), XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED);
        ck_assert_uint_eq(nb_hash_set_flags(&h, XEN_NETIF_CTRL_HASH_TYPE_IPV4),
                          XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        ck_assert_uint_eq(nb_hash_set_alg(&h, 2), XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        ck_assert_uint_eq(nb_hash_set_alg(&h, XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ),
                          XEN_NETIF_CTRL_STATUS_SUCCESS);
        ck_assert_uint_eq(nb_hash_get_flags(&h, &flags), XEN_NETIF_CTRL_STATUS_SUCCESS);
        ck_assert_uint_eq(flags, NB_HASH_FLAGS_ALL);
        ck_assert_uint_eq(nb_hash_set_flags(&h, 1u << 4), XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        ck_assert_uint_eq(nb_hash_set_flags(&h, NB_HASH_FLAGS_ALL), XEN_NETIF_CTRL_STATUS_SUCCESS);
}
END_TEST

START_TEST(key_and_mapping_limits)
{
        uint32_t m[4] = {1, 0, 1, 1};
        ck_assert_uint_eq(nb_hash_set_key(&h, rss_key, 41), XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW);
        ck_assert_uint_eq(nb_hash_set_key(&h, rss_key, 40), XEN_NETIF_CTRL_STATUS_SUCCESS);
        ck_assert_uint_eq(nb_hash_set_key(&h, rss_key, 4), XEN_NETIF_CTRL_STATUS_SUCCESS);
        ck_assert_uint_eq(h.key[4], 0); /* zero-padded to 40 bytes */
        ck_assert_uint_eq(nb_hash_set_mapping_size(&h, 129),
                          XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        ck_assert_uint_eq(nb_hash_set_mapping_size(&h, 4), XEN_NETIF_CTRL_STATUS_SUCCESS);
        ck_assert_uint_eq(nb_hash_set_mapping(&h, 2, 1, m, 4),
                          XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        ck_assert_uint_eq(nb_hash_set_mapping(&h, 2, UINT32_MAX, m, 2),
                          XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        m[2] = 2; /* not a queue of a 2-queue vif: nothing changes */
        ck_assert_uint_eq(nb_hash_set_mapping(&h, 2, 0, m, 4),
                          XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
        ck_assert_uint_eq(h.mapping[0], 0);
        m[2] = 1;
        ck_assert_uint_eq(nb_hash_set_mapping(&h, 2, 0, m, 4), XEN_NETIF_CTRL_STATUS_SUCCESS);
        ck_assert_uint_eq(h.mapping[0], 1);
        ck_assert_uint_eq(nb_hash_queue(&h, 5, 2), 0); /* mapping[5 % 4] */
        ck_assert_uint_eq(nb_hash_queue(&h, 6, 2), 1);
        nb_hash_set_mapping_size(&h, 0);
        ck_assert_uint_eq(nb_hash_queue(&h, 7, 3), 1); /* 7 % 3 */
}
END_TEST

START_TEST(toeplitz_rss_vectors_ipv4)
{
        static const struct {
                uint8_t s[4], d[4];
                uint16_t sport, dport;
                uint32_t l3, l4;
        } v[] = {
            {{66, 9, 149, 187}, {161, 142, 100, 80}, 2794, 1766, 0x323e8fc2, 0x51ccc178},
            {{199, 92, 111, 2}, {65, 69, 140, 83}, 14230, 4739, 0xd718262a, 0xc626b0ea},
            {{24, 19, 198, 95}, {12, 22, 207, 184}, 12898, 38024, 0xd2d0a5de, 0x5c2b394a},
        };
        uint8_t frame[256];
        uint32_t hash;
        uint8_t type;

        nb_hash_set_alg(&h, XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ);
        nb_hash_set_key(&h, rss_key, sizeof(rss_key));
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
                size_t len =
                    tcp4_frame(frame, sizeof(frame), v[i].s, v[i].d, v[i].sport, v[i].dport);
                nb_hash_set_flags(&h, XEN_NETIF_CTRL_HASH_TYPE_IPV4);
                ck_assert(nb_hash_frame(&h, frame, len, &hash, &type));
                ck_assert_uint_eq(hash, v[i].l3);
                ck_assert_uint_eq(type, _XEN_NETIF_CTRL_HASH_TYPE_IPV4);
                nb_hash_set_flags(&h, NB_HASH_FLAGS_ALL);
                ck_assert(nb_hash_frame(&h, frame, len, &hash, &type));
                ck_assert_uint_eq(hash, v[i].l4);
                ck_assert_uint_eq(type, _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
                /* Only IPv6 enabled: nothing applies, no HASH extra. */
                nb_hash_set_flags(&h, XEN_NETIF_CTRL_HASH_TYPE_IPV6);
                ck_assert(!nb_hash_frame(&h, frame, len, &hash, &type));
        }
}
END_TEST

static Suite *nb_hash_suite(void)
{
        Suite *s = suite_create("nb_hash");
        TCase *tc = tcase_create("hash");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, ops_need_algorithm);
        tcase_add_test(tc, key_and_mapping_limits);
        tcase_add_test(tc, toeplitz_rss_vectors_ipv4);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(nb_hash_suite)
