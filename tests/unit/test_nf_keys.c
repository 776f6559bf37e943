/* nf_features + nf_keys: the negotiation rule and the frontend key list. The
 * one-queue split case is compared key for key, value for value, with what
 * Linux netfront wrote on real Xen (tests/data/real-xen/phaseB-xenstore.txt). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "nf_keys.h"

#define PHASEB_FE "/local/domain/6/device/vif/0/"

/* Keys the toolstack (or the backend) writes there, not netfront. */
static const char *const not_netfront[] = {"backend", "backend-id", "handle", "mac",
                                           "mtu",     "state",      "trusted"};

/* What Linux netback advertised in phase B. */
static struct nf_backend_features phaseb_backend(void)
{
        return (struct nf_backend_features){.has_max_queues = true, .max_queues = 2,
                                            .split_evtchn = true, .sg = true, .gso_tcpv4 = true,
                                            .gso_tcpv6 = true, .ipv6_csum = true, .rx_copy = true,
                                            .ctrl_ring = true, .mcast_ctrl = true,
                                            .dyn_mcast_ctrl = true, .xdp_headroom = true};
}

static struct nf_kv kv[NF_KEYS_MAX];
static size_t nkv;

static const char *value_of(const char *key)
{
        for (size_t i = 0; i < nkv; i++)
                if (strcmp(kv[i].key, key) == 0)
                        return kv[i].val;
        return NULL;
}

static bool is_netfront_key(const char *k)
{
        for (size_t i = 0; i < sizeof(not_netfront) / sizeof(not_netfront[0]); i++)
                if (strcmp(k, not_netfront[i]) == 0)
                        return false;
        return true;
}

static void build(const struct nf_config *cfg, const struct nf_backend_features *bf, uint32_t ncpus,
                  const struct nf_queue_keys *q, const struct nf_ctrl_keys *ctrl)
{
        struct nf_negotiated neg;
        char err[128];
        ck_assert_int_eq(nf_negotiate(cfg, bf, ncpus, &neg, err, sizeof(err)), 0);
        ck_assert_int_eq(nf_keys_build(&neg, q, ctrl, kv, NF_KEYS_MAX, &nkv), 0);
}

START_TEST(one_queue_split_matches_linux_on_real_xen)
{
        struct nf_config cfg;
        struct nf_backend_features bf = phaseb_backend();
        /* phase B's guest had one vCPU; Linux has no ctrl ring or mcast. */
        struct nf_queue_keys q = {.tx_ring_ref = 522, .rx_ring_ref = 523, .evtchn_tx = 9, .evtchn_rx = 10};
        nf_config_default(&cfg);
        cfg.ctrl_ring = cfg.mcast_ctrl = false;
        build(&cfg, &bf, 1, &q, NULL);

        char path[512], line[512];
        const char *src = getenv("PVBACK_SRC");
        snprintf(path, sizeof(path), "%s/tests/data/real-xen/phaseB-xenstore.txt", src ? src : ".");
        FILE *f = fopen(path, "r");
        ck_assert_msg(f != NULL, "cannot open %s", path);
        size_t matched = 0;
        while (fgets(line, sizeof(line), f)) {
                char key[128], val[128];
                if (strncmp(line, PHASEB_FE, strlen(PHASEB_FE)) != 0 ||
                    sscanf(line + strlen(PHASEB_FE), "%127s = \"%127[^\"]\"", key, val) != 2 ||
                    !is_netfront_key(key))
                        continue;
                const char *ours = value_of(key);
                ck_assert_msg(ours != NULL, "Linux wrote %s, we do not", key);
                ck_assert_msg(strcmp(ours, val) == 0, "%s: Linux \"%s\", ours \"%s\"", key, val, ours);
                matched++;
        }
        fclose(f);
        ck_assert_uint_eq(matched, nkv); /* and nothing Linux did not write */
}
END_TEST

START_TEST(multi_queue_keys_go_under_queue_n)
{
        struct nf_config cfg;
        struct nf_backend_features bf = phaseb_backend();
        struct nf_queue_keys q[4];
        bf.max_queues = 8;
        for (uint32_t i = 0; i < 4; i++)
                q[i] = (struct nf_queue_keys){.tx_ring_ref = 10 + i, .rx_ring_ref = 20 + i,
                                              .evtchn_tx = 30 + i, .evtchn_rx = 30 + i};
        nf_config_default(&cfg);
        cfg.queues = 4;
        cfg.split_evtchn = false;
        struct nf_ctrl_keys ctrl = {.ring_ref = 77, .evtchn = 78};
        build(&cfg, &bf, 16, q, &ctrl);
        ck_assert_str_eq(kv[0].key, "multi-queue-num-queues"); /* first, as Linux */
        ck_assert_str_eq(value_of("multi-queue-num-queues"), "4");
        ck_assert_str_eq(value_of("queue-3/tx-ring-ref"), "13");
        ck_assert_str_eq(value_of("queue-3/rx-ring-ref"), "23");
        ck_assert_str_eq(value_of("queue-0/event-channel"), "30");
        ck_assert_ptr_null(value_of("queue-0/event-channel-tx"));
        ck_assert_ptr_null(value_of("tx-ring-ref"));
        ck_assert_str_eq(value_of("ctrl-ring-ref"), "77");
        ck_assert_str_eq(value_of("event-channel-ctrl"), "78");
        ck_assert_str_eq(value_of("request-multicast-control"), "1");
}
END_TEST

START_TEST(features_turned_off_leave_their_keys_out)
{
        struct nf_config cfg;
        struct nf_backend_features bf = phaseb_backend();
        struct nf_queue_keys q = {1, 2, 3, 3};
        bf.has_max_queues = false; /* absent: Linux reads 1 */
        bf.max_queues = 1;
        nf_config_default(&cfg);
        cfg.sg = cfg.csum = cfg.ipv6_csum = cfg.rx_notify = cfg.xdp = false;
        build(&cfg, &bf, 4, &q, NULL);
        ck_assert_ptr_null(value_of("multi-queue-num-queues"));
        ck_assert_ptr_null(value_of("feature-sg"));
        ck_assert_ptr_null(value_of("feature-gso-tcpv4")); /* GSO needs SG */
        ck_assert_ptr_null(value_of("feature-ipv6-csum-offload"));
        ck_assert_ptr_null(value_of("feature-rx-notify"));
        ck_assert_ptr_null(value_of("xdp-headroom"));
        ck_assert_str_eq(value_of("feature-no-csum-offload"), "1");
        ck_assert_str_eq(value_of("event-channel"), "3");
        ck_assert_str_eq(value_of("request-rx-copy"), "1");
}
END_TEST

START_TEST(negotiation_follows_the_backend)
{
        struct nf_config cfg;
        struct nf_backend_features bf = {.rx_copy = true, .max_queues = 4, .sg = true, .gso_tcpv4 = true};
        struct nf_negotiated neg;
        char err[128];
        nf_config_default(&cfg);
        ck_assert_int_eq(nf_negotiate(&cfg, &bf, 16, &neg, err, sizeof(err)), 0);
        ck_assert_uint_eq(neg.queues, 4); /* min(backend max, CPUs, 8) */
        ck_assert(!neg.split_evtchn);
        ck_assert(neg.tx_sg && neg.tx_gso_tcpv4 && neg.tx_csum);
        ck_assert(!neg.tx_gso_tcpv6 && !neg.tx_ipv6_csum && !neg.ctrl_ring && !neg.xdp);
        cfg.csum = false; /* TSO needs checksum offload */
        ck_assert_int_eq(nf_negotiate(&cfg, &bf, 1, &neg, err, sizeof(err)), 0);
        ck_assert(!neg.tx_gso_tcpv4);
        ck_assert_uint_eq(neg.queues, 1);
        bf.rx_copy = false; /* xennet_connect refuses */
        ck_assert_int_eq(nf_negotiate(&cfg, &bf, 1, &neg, err, sizeof(err)), -ENODEV);
        ck_assert(strstr(err, "copying receive path") != NULL);
}
END_TEST

static Suite *nf_keys_suite(void)
{
        Suite *s = suite_create("nf_keys");
        TCase *tc = tcase_create("keys");
        tcase_add_test(tc, one_queue_split_matches_linux_on_real_xen);
        tcase_add_test(tc, multi_queue_keys_go_under_queue_n);
        tcase_add_test(tc, features_turned_off_leave_their_keys_out);
        tcase_add_test(tc, negotiation_follows_the_backend);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(nf_keys_suite)
