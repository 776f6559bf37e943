/* nb_fe_parse: every frontend key netback reads (and the backend's mac and
 * rate), each valid form and each inconsistency, over an in-memory key set
 * that starts as what Linux netfront wrote on real Xen (phaseB dump). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "netback/nb_fe_parse.h"
#include "netback/nb_limits.h"

#define MAX_KV 64

struct kv {
        enum nb_kv_dir dir;
        char key[48];
        char val[48];
};

static struct kv kvs[MAX_KV];
static unsigned nkv;
static struct nb_fe_cfg cfg;
static char err[256];

static const char *kv_get(void *arg, enum nb_kv_dir dir, const char *key)
{
        (void)arg;
        for (unsigned i = 0; i < nkv; i++)
                if (kvs[i].dir == dir && !strcmp(kvs[i].key, key))
                        return kvs[i].val;
        return NULL;
}

static void set(enum nb_kv_dir dir, const char *key, const char *val)
{
        for (unsigned i = 0; i < nkv; i++)
                if (kvs[i].dir == dir && !strcmp(kvs[i].key, key)) {
                        if (!val) {
                                kvs[i] = kvs[--nkv];
                                return;
                        }
                        snprintf(kvs[i].val, sizeof(kvs[i].val), "%s", val);
                        return;
                }
        if (!val)
                return;
        ck_assert_uint_lt(nkv, MAX_KV);
        kvs[nkv].dir = dir;
        snprintf(kvs[nkv].key, sizeof(kvs[nkv].key), "%s", key);
        snprintf(kvs[nkv].val, sizeof(kvs[nkv].val), "%s", val);
        nkv++;
}

static void fe(const char *key, const char *val)
{
        set(NB_KV_FRONTEND, key, val);
}

static void be(const char *key, const char *val)
{
        set(NB_KV_BACKEND, key, val);
}

/* /local/domain/6/device/vif/0 and the backend's mac, phaseB. */
static void setup(void)
{
        nkv = 0;
        memset(&cfg, 0xa5, sizeof(cfg));
        fe("event-channel-rx", "10");
        fe("event-channel-tx", "9");
        fe("feature-gso-tcpv4", "1");
        fe("feature-gso-tcpv6", "1");
        fe("feature-ipv6-csum-offload", "1");
        fe("feature-rx-notify", "1");
        fe("feature-sg", "1");
        fe("multi-queue-num-queues", "1");
        fe("request-rx-copy", "1");
        fe("rx-ring-ref", "523");
        fe("tx-ring-ref", "522");
        fe("xdp-headroom", "0");
        be("mac", "00:16:3e:00:00:01");
}

static int parse(uint32_t max_queues)
{
        struct nb_kv_src src = {kv_get, NULL};
        return nb_fe_parse(&src, max_queues, &cfg, err, sizeof(err));
}

static void expect_fail(uint32_t max_queues, int rc, const char *needle)
{
        int got = parse(max_queues);
        ck_assert_msg(got == rc, "rc %d, want %d (%s)", got, rc, err);
        ck_assert_msg(strstr(err, needle), "error \"%s\" lacks \"%s\"", err, needle);
}

/* ---- accepted configurations --------------------------------------------- */

START_TEST(phase_b_linux_netfront)
{
        static const uint8_t mac[6] = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x01};
        ck_assert_int_eq(parse(2), 0);
        ck_assert_uint_eq(cfg.nr_queues, 1);
        ck_assert_uint_eq(cfg.queues[0].tx_ring_ref, 522);
        ck_assert_uint_eq(cfg.queues[0].rx_ring_ref, 523);
        ck_assert(cfg.queues[0].split);
        ck_assert_uint_eq(cfg.queues[0].evtchn_tx, 9);
        ck_assert_uint_eq(cfg.queues[0].evtchn_rx, 10);
        ck_assert(cfg.rx_notify && cfg.sg && cfg.gso_tcpv4 && cfg.gso_tcpv6);
        ck_assert(cfg.csum_ipv4 && cfg.csum_ipv6);
        ck_assert(!cfg.mcast_control && !cfg.has_ctrl && !cfg.has_rate);
        ck_assert_uint_eq(cfg.xdp_headroom, 0);
        ck_assert_mem_eq(cfg.mac, mac, 6);
        ck_assert_str_eq(err, "");
}
END_TEST

START_TEST(shared_event_channel)
{
        fe("event-channel-tx", NULL);
        fe("event-channel-rx", NULL);
        fe("event-channel", "7");
        ck_assert_int_eq(parse(1), 0);
        ck_assert(!cfg.queues[0].split);
        ck_assert_uint_eq(cfg.queues[0].evtchn_tx, 7);
        ck_assert_uint_eq(cfg.queues[0].evtchn_rx, 7);
}
END_TEST

/* Linux tries the split pair first and ignores a leftover event-channel. */
START_TEST(split_wins_over_shared)
{
        fe("event-channel", "7");
        ck_assert_int_eq(parse(1), 0);
        ck_assert(cfg.queues[0].split);
        ck_assert_uint_eq(cfg.queues[0].evtchn_tx, 9);
}
END_TEST

START_TEST(absent_features_mean_off)
{
        fe("feature-gso-tcpv4", NULL);
        fe("feature-gso-tcpv6", NULL);
        fe("feature-ipv6-csum-offload", NULL);
        fe("feature-rx-notify", NULL);
        fe("feature-sg", NULL);
        fe("multi-queue-num-queues", NULL);
        fe("xdp-headroom", NULL);
        ck_assert_int_eq(parse(4), 0);
        ck_assert_uint_eq(cfg.nr_queues, 1);
        ck_assert(!cfg.sg && !cfg.gso_tcpv4 && !cfg.gso_tcpv6 && !cfg.rx_notify);
        /* IPv4 checksum offload is on unless feature-no-csum-offload=1. */
        ck_assert(cfg.csum_ipv4);
        ck_assert(!cfg.csum_ipv6);
}
END_TEST

START_TEST(no_csum_offload)
{
        fe("feature-no-csum-offload", "1");
        ck_assert_int_eq(parse(1), 0);
        ck_assert(!cfg.csum_ipv4);
        ck_assert(cfg.csum_ipv6);
        /* GSO needs the checksum offload of its family. */
        ck_assert(!cfg.gso_tcpv4);
        ck_assert(cfg.gso_tcpv6);
}
END_TEST

START_TEST(gso_without_sg_is_off)
{
        fe("feature-sg", "0");
        ck_assert_int_eq(parse(1), 0);
        ck_assert(!cfg.gso_tcpv4 && !cfg.gso_tcpv6);
}
END_TEST

START_TEST(multi_queue)
{
        fe("tx-ring-ref", NULL);
        fe("rx-ring-ref", NULL);
        fe("event-channel-tx", NULL);
        fe("event-channel-rx", NULL);
        fe("multi-queue-num-queues", "3");
        fe("queue-0/tx-ring-ref", "100");
        fe("queue-0/rx-ring-ref", "101");
        fe("queue-0/event-channel-tx", "20");
        fe("queue-0/event-channel-rx", "21");
        fe("queue-1/tx-ring-ref", "102");
        fe("queue-1/rx-ring-ref", "103");
        fe("queue-1/event-channel", "22");
        fe("queue-2/tx-ring-ref", "104");
        fe("queue-2/rx-ring-ref", "105");
        fe("queue-2/event-channel-tx", "23");
        fe("queue-2/event-channel-rx", "24");
        ck_assert_int_eq(parse(4), 0);
        ck_assert_uint_eq(cfg.nr_queues, 3);
        ck_assert(cfg.queues[0].split && !cfg.queues[1].split && cfg.queues[2].split);
        ck_assert_uint_eq(cfg.queues[1].tx_ring_ref, 102);
        ck_assert_uint_eq(cfg.queues[1].evtchn_rx, 22);
        ck_assert_uint_eq(cfg.queues[2].evtchn_rx, 24);
        ck_assert_uint_eq(cfg.queues[2].rx_ring_ref, 105);
}
END_TEST

START_TEST(ctrl_ring_and_mcast)
{
        fe("ctrl-ring-ref", "600");
        fe("event-channel-ctrl", "11");
        fe("request-multicast-control", "1");
        ck_assert_int_eq(parse(1), 0);
        ck_assert(cfg.has_ctrl);
        ck_assert_uint_eq(cfg.ctrl_ring_ref, 600);
        ck_assert_uint_eq(cfg.ctrl_evtchn, 11);
        ck_assert(cfg.mcast_control);
}
END_TEST

START_TEST(xdp_headroom_clamped)
{
        fe("xdp-headroom", "256");
        ck_assert_int_eq(parse(1), 0);
        ck_assert_uint_eq(cfg.xdp_headroom, 256);
        fe("xdp-headroom", "100000");
        ck_assert_int_eq(parse(1), 0);
        ck_assert_uint_eq(cfg.xdp_headroom, NB_MAX_XDP_HEADROOM);
}
END_TEST

START_TEST(rate)
{
        be("rate", "62500,50000");
        ck_assert_int_eq(parse(1), 0);
        ck_assert(cfg.has_rate);
        ck_assert_uint_eq(cfg.credit_bytes, 62500);
        ck_assert_uint_eq(cfg.credit_usec, 50000);
}
END_TEST

/* ---- refusals, table-driven ---------------------------------------------- */

struct bad_case {
        const char *name;
        enum nb_kv_dir dir;
        const char *key;
        const char *val; /* NULL: remove the key */
        uint32_t max_queues;
        int rc;
        const char *needle;
};

static const struct bad_case bad[] = {
    {"no rx copy", NB_KV_FRONTEND, "request-rx-copy", NULL, 1, -EOPNOTSUPP, "request-rx-copy"},
    {"rx copy 0", NB_KV_FRONTEND, "request-rx-copy", "0", 1, -EOPNOTSUPP, "request-rx-copy"},
    {"rx copy garbage", NB_KV_FRONTEND, "request-rx-copy", "yes", 1, -EINVAL, "request-rx-copy"},
    {"rx-notify 2", NB_KV_FRONTEND, "feature-rx-notify", "2", 1, -EINVAL, "feature-rx-notify"},
    {"sg garbage", NB_KV_FRONTEND, "feature-sg", "on", 1, -EINVAL, "feature-sg"},
    {"gso4 garbage", NB_KV_FRONTEND, "feature-gso-tcpv4", "-1", 1, -EINVAL, "feature-gso-tcpv4"},
    {"gso6 garbage", NB_KV_FRONTEND, "feature-gso-tcpv6", "", 1, -EINVAL, "feature-gso-tcpv6"},
    {"no-csum garbage", NB_KV_FRONTEND, "feature-no-csum-offload", "x", 1, -EINVAL,
     "feature-no-csum-offload"},
    {"v6 csum garbage", NB_KV_FRONTEND, "feature-ipv6-csum-offload", "11", 1, -EINVAL,
     "feature-ipv6-csum-offload"},
    {"mcast garbage", NB_KV_FRONTEND, "request-multicast-control", "t", 1, -EINVAL,
     "request-multicast-control"},
    {"queues 0", NB_KV_FRONTEND, "multi-queue-num-queues", "0", 4, -EINVAL,
     "multi-queue-num-queues"},
    {"queues above max", NB_KV_FRONTEND, "multi-queue-num-queues", "3", 2, -ERANGE,
     "exceeding the maximum of 2"},
    {"queues garbage", NB_KV_FRONTEND, "multi-queue-num-queues", "2x", 4, -EINVAL,
     "multi-queue-num-queues"},
    {"no tx ring", NB_KV_FRONTEND, "tx-ring-ref", NULL, 1, -ENOENT, "tx-ring-ref missing"},
    {"no rx ring", NB_KV_FRONTEND, "rx-ring-ref", NULL, 1, -ENOENT, "rx-ring-ref missing"},
    {"tx ring garbage", NB_KV_FRONTEND, "tx-ring-ref", "0x20", 1, -EINVAL, "tx-ring-ref"},
    {"ring ref too big", NB_KV_FRONTEND, "rx-ring-ref", "4294967296", 1, -ERANGE, "rx-ring-ref"},
    {"same ring", NB_KV_FRONTEND, "rx-ring-ref", "522", 1, -EINVAL, "same grant"},
    {"lone tx channel", NB_KV_FRONTEND, "event-channel-rx", NULL, 1, -EINVAL,
     "event-channel-tx without event-channel-rx"},
    {"lone rx channel", NB_KV_FRONTEND, "event-channel-tx", NULL, 1, -EINVAL,
     "event-channel-rx without event-channel-tx"},
    {"port 0", NB_KV_FRONTEND, "event-channel-tx", "0", 1, -EINVAL, "not an event channel"},
    {"same port", NB_KV_FRONTEND, "event-channel-rx", "9", 1, -EINVAL, "same port"},
    {"xdp garbage", NB_KV_FRONTEND, "xdp-headroom", "big", 1, -EINVAL, "xdp-headroom"},
    {"no mac", NB_KV_BACKEND, "mac", NULL, 1, -ENOENT, "mac missing"},
    {"bad mac", NB_KV_BACKEND, "mac", "00:16:3e:00:00", 1, -EINVAL, "mac"},
    {"rate no comma", NB_KV_BACKEND, "rate", "62500", 1, -EINVAL, "rate"},
    {"rate zero bytes", NB_KV_BACKEND, "rate", "0,50000", 1, -EINVAL, "rate"},
    {"rate zero usecs", NB_KV_BACKEND, "rate", "100,0", 1, -EINVAL, "rate"},
    {"rate garbage", NB_KV_BACKEND, "rate", "1M,50ms", 1, -EINVAL, "rate"},
    {"ctrl ref alone", NB_KV_FRONTEND, "ctrl-ring-ref", "600", 1, -EINVAL,
     "ctrl-ring-ref without event-channel-ctrl"},
    {"ctrl port alone", NB_KV_FRONTEND, "event-channel-ctrl", "11", 1, -EINVAL,
     "event-channel-ctrl without ctrl-ring-ref"},
    {"max queues 0", NB_KV_FRONTEND, "xdp-headroom", "0", 0, -EINVAL, "maximum of 0"},
};

START_TEST(refusals)
{
        const struct bad_case *c = &bad[_i];
        set(c->dir, c->key, c->val);
        int got = parse(c->max_queues);
        ck_assert_msg(got == c->rc, "%s: rc %d, want %d (%s)", c->name, got, c->rc, err);
        ck_assert_msg(strstr(err, c->needle), "%s: error \"%s\" lacks \"%s\"", c->name, err,
                      c->needle);
}
END_TEST

/* ---- multi-queue layouts that contradict themselves ---------------------- */

static void two_queues(void)
{
        fe("tx-ring-ref", NULL);
        fe("rx-ring-ref", NULL);
        fe("event-channel-tx", NULL);
        fe("event-channel-rx", NULL);
        fe("multi-queue-num-queues", "2");
        fe("queue-0/tx-ring-ref", "100");
        fe("queue-0/rx-ring-ref", "101");
        fe("queue-0/event-channel", "20");
        fe("queue-1/tx-ring-ref", "102");
        fe("queue-1/rx-ring-ref", "103");
        fe("queue-1/event-channel", "21");
}

START_TEST(mq_missing_queue_key)
{
        two_queues();
        ck_assert_int_eq(parse(2), 0);
        fe("queue-1/rx-ring-ref", NULL);
        expect_fail(2, -ENOENT, "queue-1/rx-ring-ref missing");
}
END_TEST

START_TEST(mq_missing_queue_channel)
{
        two_queues();
        fe("queue-1/event-channel", NULL);
        expect_fail(2, -ENOENT, "queue-1/event-channel");
}
END_TEST

START_TEST(mq_with_top_level_rings)
{
        two_queues();
        fe("tx-ring-ref", "522");
        expect_fail(2, -EINVAL, "top-level");
}
END_TEST

START_TEST(mq_shared_ring)
{
        two_queues();
        fe("queue-1/tx-ring-ref", "101");
        expect_fail(2, -EINVAL, "share a ring grant");
}
END_TEST

START_TEST(single_queue_under_queue0)
{
        fe("tx-ring-ref", NULL);
        fe("rx-ring-ref", NULL);
        fe("queue-0/tx-ring-ref", "100");
        fe("queue-0/rx-ring-ref", "101");
        expect_fail(1, -EINVAL, "under queue-0/");
}
END_TEST

START_TEST(ctrl_ring_is_data_ring)
{
        fe("ctrl-ring-ref", "522");
        fe("event-channel-ctrl", "11");
        expect_fail(1, -EINVAL, "also a data ring");
}
END_TEST

START_TEST(parse_rate_forms)
{
        uint64_t b, u;
        ck_assert_int_eq(nb_parse_rate("62500,50000", &b, &u), 0);
        ck_assert_uint_eq(b, 62500);
        ck_assert_uint_eq(u, 50000);
        ck_assert_int_eq(nb_parse_rate("18446744073709551615,1", &b, &u), 0);
        ck_assert_int_eq(nb_parse_rate(",1", &b, &u), -EINVAL);
        ck_assert_int_eq(nb_parse_rate("1,", &b, &u), -EINVAL);
        ck_assert_int_eq(nb_parse_rate("1,2,3", &b, &u), -EINVAL);
        ck_assert_int_eq(nb_parse_rate(" 1,2", &b, &u), -EINVAL);
        ck_assert_int_eq(nb_parse_rate("1,4294967296", &b, &u), -EINVAL);
}
END_TEST

static Suite *nb_fe_parse_suite(void)
{
        Suite *s = suite_create("nb_fe_parse");
        TCase *tc = tcase_create("keys");
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_add_test(tc, phase_b_linux_netfront);
        tcase_add_test(tc, shared_event_channel);
        tcase_add_test(tc, split_wins_over_shared);
        tcase_add_test(tc, absent_features_mean_off);
        tcase_add_test(tc, no_csum_offload);
        tcase_add_test(tc, gso_without_sg_is_off);
        tcase_add_test(tc, multi_queue);
        tcase_add_test(tc, ctrl_ring_and_mcast);
        tcase_add_test(tc, xdp_headroom_clamped);
        tcase_add_test(tc, rate);
        tcase_add_loop_test(tc, refusals, 0, sizeof(bad) / sizeof(bad[0]));
        tcase_add_test(tc, mq_missing_queue_key);
        tcase_add_test(tc, mq_missing_queue_channel);
        tcase_add_test(tc, mq_with_top_level_rings);
        tcase_add_test(tc, mq_shared_ring);
        tcase_add_test(tc, single_queue_under_queue0);
        tcase_add_test(tc, ctrl_ring_is_data_ring);
        tcase_add_test(tc, parse_rate_forms);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(nb_fe_parse_suite)
