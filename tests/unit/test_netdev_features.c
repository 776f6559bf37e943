/* netdev_features: the ethtool feature name → offload capability mapping
 * over the kernel's real feature names, a string table built as
 * ETHTOOL_GSTRINGS returns it, and the rtnetlink link-message walk of
 * netdev_watch. No netdev needed: the ioctl path is covered by the
 * integration test test_netback_tx_offload. */
#include <check.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "check_main.h"
#include "offload/off_caps.h"
#include "uplink/netdev_features.h"
#include "uplink/netdev_watch.h"

struct name_case {
        const char *name;
        unsigned caps;
};

/* Names as net/ethtool/common.c spells them; the unmapped ones are the
 * neighbours a sloppy match (prefix, substring) would confuse. */
static const struct name_case names[] = {
    {"tx-checksum-ipv4", OFF_CAP_CSUM4},
    {"tx-checksum-ipv6", OFF_CAP_CSUM6},
    {"tx-checksum-ip-generic", OFF_CAP_CSUM4 | OFF_CAP_CSUM6},
    {"tx-tcp-segmentation", OFF_CAP_TSO4},
    {"tx-tcp6-segmentation", OFF_CAP_TSO6},
    {"tx-scatter-gather", OFF_CAP_SG},
    {"tx-scatter-gather-fraglist", 0},
    {"tx-tcp-ecn-segmentation", 0},
    {"tx-tcp-mangleid-segmentation", 0},
    {"tx-generic-segmentation", 0},
    {"tx-checksum-sctp", 0},
    {"tx-checksum-fcoe-crc", 0},
    {"rx-checksum", 0},
    {"rx-gro", 0},
    {"tx-udp-segmentation", 0},
    {"tx-checksum-ipv", 0},
    {"", 0},
};

START_TEST(name_to_cap)
{
        const struct name_case *c = &names[_i];
        ck_assert_msg(netdev_feature_cap(c->name) == c->caps, "%s: %#x, want %#x", c->name,
                      netdev_feature_cap(c->name), c->caps);
}
END_TEST

/* A name of exactly ETH_GSTRING_LEN bytes has no NUL in the table. */
START_TEST(name_full_width_without_nul)
{
        char name[NETDEV_FEATURE_NAME_LEN];
        memset(name, 'x', sizeof(name));
        memcpy(name, "tx-scatter-gather", strlen("tx-scatter-gather"));
        ck_assert_uint_eq(netdev_feature_cap(name), 0);
}
END_TEST

/* A table laid out as ETHTOOL_GSTRINGS returns it, with bits past 32 so the
 * word/bit arithmetic of ETHTOOL_GFEATURES is exercised. */
#define TABLE_N 40
static char table[TABLE_N][NETDEV_FEATURE_NAME_LEN];

static void table_fill(void)
{
        memset(table, 0, sizeof(table));
        for (int i = 0; i < TABLE_N; i++)
                snprintf(table[i], sizeof(table[i]), "feature-%d", i);
        strcpy(table[0], "tx-scatter-gather");
        strcpy(table[3], "tx-checksum-ipv4");
        strcpy(table[4], "tx-checksum-ip-generic");
        strcpy(table[7], "tx-checksum-ipv6");
        strcpy(table[16], "tx-tcp-segmentation");
        strcpy(table[33], "tx-tcp6-segmentation");
        strcpy(table[39], "rx-gro");
}

static unsigned caps_of(uint32_t w0, uint32_t w1)
{
        uint32_t active[2] = {w0, w1};
        return netdev_features_caps(&table[0][0], active, TABLE_N);
}

START_TEST(table_caps)
{
        table_fill();
        ck_assert_uint_eq(caps_of(0, 0), 0);
        ck_assert_uint_eq(caps_of(1u << 0, 0), OFF_CAP_SG);
        ck_assert_uint_eq(caps_of(1u << 3, 0), OFF_CAP_CSUM4);
        ck_assert_uint_eq(caps_of(1u << 7, 0), OFF_CAP_CSUM6);
        ck_assert_uint_eq(caps_of(1u << 4, 0), OFF_CAP_CSUM4 | OFF_CAP_CSUM6);
        ck_assert_uint_eq(caps_of(1u << 16, 0), OFF_CAP_TSO4);
        ck_assert_uint_eq(caps_of(0, 1u << 1), OFF_CAP_TSO6);
        /* What a TAP with TUNSETOFFLOAD csum|tso4|tso6 reports. */
        ck_assert_uint_eq(caps_of((1u << 0) | (1u << 4) | (1u << 16), 1u << 1), OFF_CAP_ALL);
        /* Unmapped bits, everywhere, add nothing. */
        ck_assert_uint_eq(
            caps_of(~((1u << 0) | (1u << 3) | (1u << 4) | (1u << 7) | (1u << 16)), ~(1u << 1)), 0);
}
END_TEST

/* Bits beyond the count are never looked at (the last word's spare bits). */
START_TEST(table_count_bounds)
{
        uint32_t active[2] = {0, 0xffffffffu};
        table_fill();
        ck_assert_uint_eq(netdev_features_caps(&table[0][0], active, 33), 0);
        ck_assert_uint_eq(netdev_features_caps(&table[0][0], active, 34), OFF_CAP_TSO6);
}
END_TEST

/* ---- netdev_watch_parse ---------------------------------------------------- */

struct seen {
        unsigned idx[8];
        unsigned n;
};

static void record(unsigned ifindex, void *arg)
{
        struct seen *s = arg;
        if (s->n < 8)
                s->idx[s->n++] = ifindex;
}

/* Appends one message of @type carrying an ifinfomsg for @ifindex plus
 * @extra bytes of attributes; returns the new length. */
static size_t put_msg(char *buf, size_t at, uint16_t type, int ifindex, size_t extra)
{
        struct nlmsghdr *h = (struct nlmsghdr *)(buf + at);
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
        h->nlmsg_len = (uint32_t)NLMSG_LENGTH(sizeof(ifi) + extra);
        h->nlmsg_type = type;
        h->nlmsg_flags = 0;
        h->nlmsg_seq = 0;
        h->nlmsg_pid = 0;
        memcpy(NLMSG_DATA(h), &ifi, sizeof(ifi));
        memset((char *)NLMSG_DATA(h) + sizeof(ifi), 0, extra);
        return at + NLMSG_ALIGN(h->nlmsg_len);
}

static _Alignas(struct nlmsghdr) char msgs[4096];

START_TEST(watch_parse_link_messages)
{
        struct seen s = {0};
        size_t len = 0;
        len = put_msg(msgs, len, RTM_NEWLINK, 7, 13);
        len = put_msg(msgs, len, RTM_NEWADDR, 8, 0);
        len = put_msg(msgs, len, RTM_DELLINK, 9, 0);
        len = put_msg(msgs, len, RTM_NEWLINK, 0, 0); /* no netdev: ignored */
        len = put_msg(msgs, len, RTM_NEWLINK, 11, 100);
        ck_assert_uint_eq(netdev_watch_parse(msgs, len, record, &s), 3);
        ck_assert_uint_eq(s.n, 3);
        ck_assert_uint_eq(s.idx[0], 7);
        ck_assert_uint_eq(s.idx[1], 9);
        ck_assert_uint_eq(s.idx[2], 11);
}
END_TEST

/* A datagram that ends inside a message, or a message whose length field
 * lies, stops the walk without reading past the buffer (ASan build). */
START_TEST(watch_parse_truncated)
{
        struct seen s = {0};
        size_t len = put_msg(msgs, 0, RTM_NEWLINK, 5, 0);
        size_t full = put_msg(msgs, len, RTM_NEWLINK, 6, 64);
        ck_assert_uint_eq(netdev_watch_parse(msgs, full - 10, record, &s), 1);
        ck_assert_uint_eq(s.idx[0], 5);

        s.n = 0;
        ((struct nlmsghdr *)(msgs + len))->nlmsg_len = 4000; /* past the end */
        ck_assert_uint_eq(netdev_watch_parse(msgs, full, record, &s), 1);

        s.n = 0;
        len = put_msg(msgs, 0, RTM_NEWLINK, 5, 0);
        ((struct nlmsghdr *)msgs)->nlmsg_len = NLMSG_LENGTH(4); /* short of an ifinfomsg */
        ck_assert_uint_eq(netdev_watch_parse(msgs, len, record, &s), 0);
        ck_assert_uint_eq(netdev_watch_parse(msgs, 3, record, &s), 0);
        ck_assert_uint_eq(s.n, 0);
}
END_TEST

static Suite *netdev_features_suite(void)
{
        Suite *s = suite_create("netdev_features");
        TCase *tc = tcase_create("names");
        tcase_add_loop_test(tc, name_to_cap, 0, sizeof(names) / sizeof(names[0]));
        tcase_add_test(tc, name_full_width_without_nul);
        tcase_add_test(tc, table_caps);
        tcase_add_test(tc, table_count_bounds);
        suite_add_tcase(s, tc);
        tc = tcase_create("watch");
        tcase_add_test(tc, watch_parse_link_messages);
        tcase_add_test(tc, watch_parse_truncated);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(netdev_features_suite)
