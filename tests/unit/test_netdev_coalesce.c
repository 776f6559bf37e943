/* netdev_coalesce: the kernel's struct ethtool_coalesce to ours and back,
 * the text, and the answers of netdevs without coalescing. */
#include <errno.h>
#include <linux/ethtool.h>
#include <string.h>

#include "check_main.h"
#include "uplink/netdev_coalesce.h"

START_TEST(round_trip)
{
        struct ethtool_coalesce ec = {.cmd = ETHTOOL_GCOALESCE,
                                      .rx_coalesce_usecs = 50,
                                      .rx_max_coalesced_frames = 32,
                                      .tx_coalesce_usecs = 25,
                                      .tx_max_coalesced_frames = 16,
                                      .use_adaptive_rx_coalesce = 1,
                                      .stats_block_coalesce_usecs = 777};
        struct netdev_coalesce c;
        netdev_coalesce_from_ethtool(&ec, &c);
        ck_assert_uint_eq(c.rx_usecs, 50);
        ck_assert_uint_eq(c.rx_frames, 32);
        ck_assert_uint_eq(c.tx_usecs, 25);
        ck_assert_uint_eq(c.tx_frames, 16);
        ck_assert(c.adaptive_rx);
        ck_assert(!c.adaptive_tx);
        c.rx_usecs = 8;
        c.adaptive_rx = false;
        c.adaptive_tx = true;
        netdev_coalesce_to_ethtool(&c, &ec);
        ck_assert_uint_eq(ec.rx_coalesce_usecs, 8);
        ck_assert_uint_eq(ec.use_adaptive_rx_coalesce, 0);
        ck_assert_uint_eq(ec.use_adaptive_tx_coalesce, 1);
        /* What we do not manage stays as read. */
        ck_assert_uint_eq(ec.stats_block_coalesce_usecs, 777);
        ck_assert_uint_eq(ec.cmd, ETHTOOL_GCOALESCE);
}
END_TEST

START_TEST(format)
{
        struct netdev_coalesce c = {50, 32, 25, 16, true, false};
        char buf[128];
        netdev_coalesce_format(&c, buf, sizeof(buf));
        ck_assert_str_eq(buf, "rx 50 us/32 frames, tx 25 us/16 frames, adaptive rx on tx off");
}
END_TEST

/* The loopback device has no interrupt coalescing: not applicable, as a
 * TAP (the integration test checks a vif's TAP through pvbackd). */
START_TEST(not_applicable)
{
        struct netdev_coalesce c;
        ck_assert_int_eq(netdev_coalesce_read("lo", &c), -EOPNOTSUPP);
        ck_assert_int_eq(netdev_coalesce_read("pvnosuchdev0", &c), -ENODEV);
        ck_assert_int_eq(netdev_coalesce_read("", &c), -EINVAL);
        ck_assert_int_eq(netdev_coalesce_read("a-name-longer-than-ifnamsiz", &c), -EINVAL);
}
END_TEST

static Suite *netdev_coalesce_suite(void)
{
        Suite *s = suite_create("netdev_coalesce");
        TCase *tc = tcase_create("coalesce");
        tcase_add_test(tc, round_trip);
        tcase_add_test(tc, format);
        tcase_add_test(tc, not_applicable);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(netdev_coalesce_suite)
