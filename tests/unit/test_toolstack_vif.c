/* Unit tests of the vif half of the toolstack stand-in: xl's rate syntax and
 * the key set compared with the toolstack-written keys of a vif libxl 4.17
 * created on real Xen (tests/data/real-xen/phaseB-xenstore.txt). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "schema.h"
#include "tools/sim/toolstack.h"

static const struct {
        const char *rate;
        uint64_t bytes;
        uint32_t usecs; /* 0: refused */
} rate_cases[] = {
    {"10Mb/s", 62500, 50000}, /* 1.25 MB/s for 50 ms */
    {"10MB/s", 500000, 50000},
    {"10Mb/s@20ms", 25000, 20000},
    {"1Gb/s@1s", 125000000, 1000000},
    {"1GB/s@100us", 100000, 100},
    {"8Kb/s@1", 1000, 1000000},
    {"100B/s@10ms", 1, 10000},
    {"", 0, 0},
    {"@20ms", 0, 0},
    {"10Mb", 0, 0},
    {"10Tb/s", 0, 0},
    {"0Mb/s", 0, 0},
    {"10Mb/s@", 0, 0},
    {"10Mb/s@20h", 0, 0},
    {"10Mb/s@0ms", 0, 0},
    {"99999999999Mb/s", 0, 0},
};

START_TEST(rate_syntax)
{
        uint64_t bytes = 0;
        uint32_t usecs = 0;
        int rc = ts_parse_rate(rate_cases[_i].rate, &bytes, &usecs);
        if (!rate_cases[_i].usecs) {
                ck_assert_msg(rc < 0, "'%s' accepted", rate_cases[_i].rate);
                return;
        }
        ck_assert_msg(rc == 0, "'%s' refused", rate_cases[_i].rate);
        ck_assert_uint_eq(bytes, rate_cases[_i].bytes);
        ck_assert_uint_eq(usecs, rate_cases[_i].usecs);
}
END_TEST

static char *load_dump(struct schema_node **nodes, size_t *n)
{
        char path[4096];
        const char *src = getenv("PVBACK_SRC");
        snprintf(path, sizeof(path), "%s/tests/data/real-xen/phaseB-xenstore.txt",
                 src && *src ? src : ".");
        FILE *f = fopen(path, "r");
        ck_assert_msg(f != NULL, "cannot open %s", path);
        char *text = calloc(1, 65536);
        size_t len = fread(text, 1, 65535, f);
        fclose(f);
        text[len] = '\0';
        ck_assert_int_eq(schema_parse_ls(text, nodes, n, NULL), 0);
        return text;
}

static const char *dump_get(const struct schema_node *nodes, size_t n, const char *path,
                            const char **perms)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(nodes[i].path, path) == 0) {
                        if (perms)
                                *perms = nodes[i].perms;
                        return nodes[i].value;
                }
        return NULL;
}

/* vif = ['mac=00:16:3e:00:00:01,bridge=xenbr0'] of PV domain 6. The dump is
 * of a connected device: state and hotplug-status moved on since libxl wrote
 * them, and the backend and frontend added their own keys. */
START_TEST(vif_keys_match_libxl)
{
        struct schema_node *nodes;
        size_t n;
        char *text = load_dump(&nodes, &n);
        struct ts_device dev;
        struct ts_vif_cfg cfg = {.domid = 6,
                                 .backend_domid = 0,
                                 .devid = 0,
                                 .script = "/etc/xen/scripts/vif-bridge",
                                 .mac = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x01}};
        ck_assert_int_eq(ts_vif_build(&cfg, &dev), 0);

        static const char *const be_same[] = {"bridge", "frontend-id", "handle", "mac",
                                              "online", "script",      "type"};
        static const char *const fe_same[] = {"backend-id", "handle", "mac", "trusted"};
        char path[256];
        for (size_t i = 0; i < sizeof(be_same) / sizeof(be_same[0]); i++) {
                snprintf(path, sizeof(path), "/local/domain/0/backend/vif/6/0/%s", be_same[i]);
                ck_assert_str_eq(ts_kvs_get(&dev.back, be_same[i]), dump_get(nodes, n, path, NULL));
        }
        for (size_t i = 0; i < sizeof(fe_same) / sizeof(fe_same[0]); i++) {
                snprintf(path, sizeof(path), "/local/domain/6/device/vif/0/%s", fe_same[i]);
                ck_assert_str_eq(ts_kvs_get(&dev.front, fe_same[i]),
                                 dump_get(nodes, n, path, NULL));
        }
        /* Written as libxl writes them, before the backend and script moved them. */
        ck_assert_str_eq(ts_kvs_get(&dev.back, "state"), "1");
        ck_assert_str_eq(ts_kvs_get(&dev.front, "state"), "1");
        ck_assert_str_eq(ts_kvs_get(&dev.back, "hotplug-status"), "");
        /* mtu: frontend only (1500 is the default), read-only to the guest. */
        const char *perms = NULL;
        ck_assert_ptr_null(ts_kvs_get(&dev.back, "mtu"));
        ck_assert_uint_eq(dev.ro_front.n, 1);
        ck_assert_str_eq(ts_kvs_get(&dev.ro_front, "mtu"),
                         dump_get(nodes, n, "/local/domain/6/device/vif/0/mtu", &perms));
        ck_assert_str_eq(perms, "n0,r6");
        /* Nothing else: 3 common + script, mac, bridge, handle, type, hotplug-status. */
        ck_assert_uint_eq(dev.back.n, 9);
        ck_assert_uint_eq(dev.front.n, 5);
        ts_device_free(&dev);
        free(nodes);
        free(text);
}
END_TEST

START_TEST(vif_keys_options)
{
        struct ts_device dev;
        struct ts_vif_cfg cfg = {.domid = 2,
                                 .backend_domid = 0,
                                 .devid = 3,
                                 .script = "/etc/xen/scripts/vif-route",
                                 .mac = {0x00, 0x16, 0x3e, 0x7f, 0xab, 0xcd},
                                 .bridge = "br-test",
                                 .vifname = "guest2",
                                 .ip = "10.0.0.2 10.0.0.3",
                                 .gatewaydev = "eth0",
                                 .rate_bytes = 25000,
                                 .rate_usecs = 20000,
                                 .mtu = 9000,
                                 .untrusted = true};
        ck_assert_int_eq(ts_vif_build(&cfg, &dev), 0);
        ck_assert_str_eq(ts_kvs_get(&dev.back, "mac"), "00:16:3e:7f:ab:cd");
        ck_assert_str_eq(ts_kvs_get(&dev.back, "bridge"), "br-test");
        ck_assert_str_eq(ts_kvs_get(&dev.back, "vifname"), "guest2");
        ck_assert_str_eq(ts_kvs_get(&dev.back, "ip"), "10.0.0.2 10.0.0.3");
        ck_assert_str_eq(ts_kvs_get(&dev.back, "gatewaydev"), "eth0");
        ck_assert_str_eq(ts_kvs_get(&dev.back, "rate"), "25000,20000");
        ck_assert_str_eq(ts_kvs_get(&dev.back, "mtu"), "9000");
        ck_assert_str_eq(ts_kvs_get(&dev.back, "handle"), "3");
        ck_assert_str_eq(ts_kvs_get(&dev.front, "handle"), "3");
        ck_assert_str_eq(ts_kvs_get(&dev.ro_front, "mtu"), "9000");
        ck_assert_str_eq(ts_kvs_get(&dev.front, "trusted"), "0");
        ts_device_free(&dev);
}
END_TEST

START_TEST(kvs_limits)
{
        struct ts_kvs kv = {0};
        for (int i = 0; i < TS_MAX_KVS; i++)
                ck_assert_int_eq(ts_kvs_add(&kv, "k", "%d", i), 0);
        ck_assert_int_eq(ts_kvs_add(&kv, "k", "x"), -ENOSPC);
        ck_assert_str_eq(ts_kvs_get(&kv, "k"), "0");
        ck_assert_ptr_null(ts_kvs_get(&kv, "other"));
        ts_kvs_free(&kv);
        ck_assert_uint_eq(kv.n, 0);
}
END_TEST

static Suite *toolstack_vif_suite(void)
{
        Suite *s = suite_create("toolstack_vif");
        TCase *tc = tcase_create("rate");
        tcase_add_loop_test(tc, rate_syntax, 0, sizeof(rate_cases) / sizeof(rate_cases[0]));
        suite_add_tcase(s, tc);
        tc = tcase_create("keys");
        tcase_add_test(tc, vif_keys_match_libxl);
        tcase_add_test(tc, vif_keys_options);
        tcase_add_test(tc, kvs_limits);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(toolstack_vif_suite)
