/* pvback-inspect's renderer on JSON fixtures: the backend facility, ring
 * occupancy, a vif's qos and its queues' coalesce levels (unlimited,
 * missing and mistyped values included), the sections it has no layout for
 * (capabilities) as indented key-value lines whether present or not, the
 * rates --watch computes between two answers, and the xenstore-only view. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "tools/inspect/inspect.h"

/* A vif with one queue and a vbd with one queue; %s slots: the vif's extra
 * members, the vif queue's extra members, the vif's tx_packets and
 * tx_bytes, the vbd's requests. */
static const char fixture_fmt[] =
    "{\"daemon\": {\"version\": \"0.1.0\", \"protocol\": 2, \"pid\": 42, \"hypervisor\": "
    "\"sim\", \"domid\": 0, \"workers\": 2, \"uptime_s\": 3725, \"devices\": 2,"
    " \"classes\": [{\"kind\": \"vif\", \"max_devices\": 256, \"assigned\": 1,"
    "   \"virtualization\": \"paravirtual, grant copy, TAP uplink\","
    "   \"uplinks\": [{\"device\": \"vif5.0\", \"kind\": \"tap\", \"netdev\": \"vif5.0\","
    "                \"bridge\": \"xenbr0\", \"tx_caps\": \"csum4,sg\"}]},"
    "  {\"kind\": \"vbd\", \"max_devices\": 8, \"assigned\": 1,"
    "   \"virtualization\": \"paravirtual, persistent grants + grant copy, threads\"}]},"
    " \"devices\": ["
    "  {\"name\": \"vbd5.51712\", \"class\": \"vbd\", \"frontend\": {\"domid\": 5, \"devid\": "
    "51712, \"state\": 4, \"state_name\": \"Connected\"}, \"backend\": {\"state\": 4, "
    "\"state_name\": \"Connected\"}, \"disabled\": false, \"error\": null, \"connected\": true,"
    "   \"connects\": 1, \"negotiated\": {\"abi\": \"x86_64-abi\", \"queues\": 1, \"ring_pages\": "
    "1},"
    "   \"queues\": [{\"index\": 0, \"worker\": 1, \"ring\": {\"size\": 32, \"pending\": 3, "
    "\"inflight\": 7, \"io_inflight\": 5}, \"stats\": {\"engine\": \"threads\", \"requests\": "
    "%s, \"segments\": 400}}]},"
    "  {\"name\": \"vif5.0\", \"class\": \"vif\", \"frontend\": {\"domid\": 5, \"devid\": 0, "
    "\"state\": 4, \"state_name\": \"Connected\"}, \"backend\": {\"state\": 4, \"state_name\": "
    "\"Connected\"}, \"disabled\": false, \"error\": null, \"connected\": true, \"connects\": 1,"
    " \"lro\": true %s,"
    "   \"negotiated\": {\"queues\": 1, \"event_channels\": \"split\", \"rate\": null},"
    "   \"queues\": [{\"index\": 0, \"worker\": 0, \"failed\": false, \"ring\": {\"tx_size\": "
    "256, \"tx_pending\": 12, \"rx_size\": 256, \"rx_posted\": 200} %s, \"stats\": "
    "{\"tx_packets\": %s, \"tx_bytes\": %s, \"rx_packets\": 50, \"rx_bytes\": 1048576}}]}]}";

/* As pvbackd writes them (backend/netback/nb_dump.c, nb_qos.c), with a
 * member of each the layout does not know. */
static const char coalesce[] =
    ", \"coalesce\": {\"l1\": {\"mode\": \"n/a\", \"why\": \"tap\"},"
    " \"l2\": {\"mode\": \"adaptive\", \"poll_us\": 12, \"budget\": 256, \"polls\": 1000,"
    "   \"poll_hits\": 800, \"spins\": 9},"
    " \"l3\": {\"mode\": \"adaptive\", \"max_frames\": 128, \"max_usecs\": 512,"
    "   \"rx\": {\"frames\": 32, \"usecs\": 256, \"profile\": 3, \"held\": 1200, \"released\": 40,"
    "     \"expired\": 3, \"hold_max_us\": 800, \"steps_up\": 5, \"steps_down\": 2,"
    "     \"idle_resets\": 1},"
    "   \"tx\": {\"frames\": 8, \"usecs\": 64, \"profile\": 1, \"held\": 10, \"released\": 9,"
    "     \"expired\": 1, \"hold_max_us\": 60, \"steps_up\": 1, \"steps_down\": 0,"
    "     \"idle_resets\": 0},"
    "   \"frames\": 32, \"usecs\": 256, \"held\": 1210, \"profile\": 3},"
    " \"l4\": {\"mode\": \"on\"}, \"l5\": {\"tx_kick_batch\": 8, \"rx_poll_us\": 20},"
    " \"l6\": {\"mode\": \"new\"}}";
static const char qos_caps[] =
    ", \"qos\": {\"min\": 100000000, \"default\": 0, \"max\": 1000000000, \"max_tx_effective\":"
    " 500000000, \"weight\": 2, \"group\": \"xenbr0\", \"group_capacity\": 1000000000,"
    " \"allocation_tx\": 300000000, \"allocation_rx\": null, \"achieved_tx_bps\": 298300000,"
    " \"achieved_rx_bps\": 120000000, \"rx_drop_qos\": 1234, \"tx_credit_waits\": 7,"
    " \"burst\": 5},"
    " \"capabilities\": {\"generation\": 3, \"acked\": true, \"preference\": \"hw\","
    " \"sections\": [\"offload\", \"qos\"]}";

static struct json_object *fixture(const char *dev_extra, const char *q_extra, const char *tx_p,
                                   const char *tx_b, const char *reqs)
{
        char text[8192];
        int n = snprintf(text, sizeof(text), fixture_fmt, reqs, dev_extra, q_extra, tx_p, tx_b);
        ck_assert_int_lt(n, (int)sizeof(text));
        struct json_object *obj = json_tokener_parse(text);
        ck_assert_msg(obj, "fixture is not JSON: %s", text);
        return obj;
}

static char *render(struct json_object *obj)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        ck_assert_ptr_nonnull(f);
        inspect_print_show(f, obj);
        fclose(f);
        return buf;
}

#define assert_has(text, want) ck_assert_msg(strstr(text, want), "no \"%s\" in:\n%s", want, text)
#define assert_lacks(text, no)                                                                     \
        ck_assert_msg(!strstr(text, no), "unexpected \"%s\" in:\n%s", no, text)

START_TEST(facility_and_occupancy)
{
        struct json_object *obj = fixture("", "", "100", "1000", "10");
        char *text = render(obj);
        assert_has(text, "up 1:02:05, 2 device(s)\nbackend facility:\n");
        assert_has(text, "  vif: paravirtual, grant copy, TAP uplink; 1 of at most 256 devices "
                         "assigned\n    uplink of vif5.0: tap netdev vif5.0, bridge xenbr0, tx "
                         "offloads csum4,sg\n");
        assert_has(text, "  vbd: paravirtual, persistent grants + grant copy, threads; 1 of at "
                         "most 8 devices assigned\n");
        assert_has(text, "    ring: tx 12 of 256 requests pending, rx 200 of 256 slots posted\n");
        assert_has(text, "    ring: 3 of 32 requests pending, 7 in flight (5 at the I/O engine)\n");
        /* No rates without a previous answer. */
        assert_lacks(text, "rate:");
        free(text);
        json_object_put(obj);
}
END_TEST

/* Absent now, present later: the same renderer prints them as they come;
 * coalesce and qos in their layout, the rest generically. */
START_TEST(generic_sections)
{
        struct json_object *bare = fixture("", "", "100", "1000", "10");
        char *text = render(bare);
        assert_lacks(text, "coalesce");
        assert_lacks(text, "qos");
        assert_lacks(text, "capabilities:");
        free(text);
        json_object_put(bare);

        struct json_object *full =
            fixture(qos_caps, coalesce, "100", "1000, \"rx_drop_qos_bytes\": 5600000", "10");
        json_object_object_add(json_object_object_get(full, "daemon"), "qos_groups",
                               json_tokener_parse("{\"gold\": {\"rate\": 1000}}"));
        text = render(full);
        assert_has(text, " 2 device(s)\n  qos_groups:\n    gold:\n      rate 1000\nbackend "
                         "facility:\n");
        assert_has(text, "\n  qos: min 100M, max 1G (tx 500M with the rate key), weight 2, "
                         "default 0 (group xenbr0, capacity 1G); allocated tx 300M rx "
                         "unlimited; achieved tx 298.3M rx 120M; early drops 1234 (5.6 MB), tx "
                         "credit waits 7\n    qos burst 5\n  negotiated: ");
        assert_has(text, "\n    coalesce: l1 n/a (tap); l2 adaptive poll 12 us now (hits 80% of "
                         "1000 polls), budget 256; l4 lro on; l5 hints tx kick 8, rx poll 20 us\n"
                         "    coalesce l3: adaptive up to 128 frames/512 us; rx 32 frames/256 us "
                         "(profile 3), held 1200, released 40, expired 3, longest hold 800 us, "
                         "steps up 5 down 2, idle resets 1; tx 8 frames/64 us (profile 1), held "
                         "10, released 9, expired 1, longest hold 60 us, steps up 1 down 0, idle "
                         "resets 0\n    coalesce l6:\n      mode new\n    coalesce l2 spins 9\n");
        assert_lacks(text, "max_frames");
        assert_lacks(text, "achieved_tx_bps");
        assert_has(text, "  capabilities:\n    generation 3\n    acked on\n    preference hw\n"
                         "    sections offload, qos\n");
        /* After the vif's own lines, not instead of them. */
        assert_has(text, "    tx (from the guest): 100 packets, 1000 bytes;");
        free(text);
        json_object_put(full);
}
END_TEST

/* The vif's qos object, rendered alone. */
static char *render_qos(const char *qos)
{
        char extra[2048];
        snprintf(extra, sizeof(extra), ", \"qos\": %s", qos);
        struct json_object *obj = fixture(extra, "", "1", "1", "1");
        char *text = render(obj);
        json_object_put(obj);
        return text;
}

static char *render_coalesce(const char *co)
{
        char extra[2048];
        snprintf(extra, sizeof(extra), ", \"coalesce\": %s", co);
        struct json_object *obj = fixture("", extra, "1", "1", "1");
        char *text = render(obj);
        json_object_put(obj);
        return text;
}

/* null is unlimited; a missing or mistyped rate is "?", never 0. */
START_TEST(qos_unlimited_and_missing)
{
        char *text = render_qos("{\"min\": 0, \"default\": 1500, \"max\": null, "
                                "\"max_tx_effective\": null, \"weight\": 1, \"group\": null, "
                                "\"group_capacity\": null, \"allocation_tx\": null, "
                                "\"allocation_rx\": null, \"achieved_tx_bps\": 950, "
                                "\"achieved_rx_bps\": 0, \"rx_drop_qos\": 0, "
                                "\"tx_credit_waits\": 0}");
        assert_has(text, "  qos: min 0, max unlimited, weight 1, default 1.5k (no group, "
                         "capacity unlimited); allocated tx unlimited rx unlimited; achieved tx "
                         "950 rx 0; early drops 0 (0 bytes), tx credit waits 0\n");
        free(text);
        /* max_tx_effective below max: the rate key. */
        text = render_qos("{\"max\": null, \"max_tx_effective\": 8000000}");
        assert_has(text, "max unlimited (tx 8M with the rate key),");
        free(text);
        text = render_qos("{}");
        assert_has(text, "  qos: min ?, max ?, weight 0, default ? (no group, capacity ?); "
                         "allocated tx ? rx ?; achieved tx ? rx ?; early drops 0 (0 bytes), "
                         "tx credit waits 0\n");
        free(text);
        text = render_qos("{\"min\": \"a lot\", \"max\": -5, \"group\": 7, \"weight\": [],"
                          " \"achieved_tx_bps\": 1.5e9, \"group_capacity\": {}}");
        assert_has(text, "  qos: min ?, max ?, weight 0, default ? (group ?, "
                         "capacity ?); allocated tx ? rx ?; achieved tx ? rx ?;");
        free(text);
        text = render_qos("null");
        assert_has(text, "\n  qos none\n");
        free(text);
        text = render_qos("\"fast\"");
        assert_has(text, "\n  qos fast\n");
        free(text);
}
END_TEST

/* L1 of a NIC, L2 off, L3 fixed with one direction; odd levels never
 * stop the rest. */
START_TEST(coalesce_modes_and_odd_levels)
{
        char *text = render_coalesce(
            "{\"l1\": {\"mode\": \"adaptive\", \"rx_usecs\": 8, \"rx_frames\": 32, "
            "\"tx_usecs\": 16, \"tx_frames\": 64}, \"l2\": {\"mode\": \"off\", \"poll_us\": 0, "
            "\"budget\": 64, \"polls\": 0, \"poll_hits\": 0}, \"l3\": {\"mode\": \"fixed\", "
            "\"max_frames\": 32, \"max_usecs\": 300, \"rx\": {\"frames\": 32, \"usecs\": 300, "
            "\"held\": 5, \"released\": 4, \"expired\": 1, \"hold_max_us\": 300}}, \"l4\": "
            "{\"mode\": \"off\"}}");
        assert_has(text, "    coalesce: l1 adaptive rx 8 us/32 frames, tx 16 us/64 frames; l2 "
                         "off, budget 64; l4 lro off\n    coalesce l3: fixed 32 frames/300 us; rx "
                         "held 5, released 4, expired 1, longest hold 300 us\n");
        free(text);
        text = render_coalesce("{\"l2\": {\"mode\": \"fixed\", \"poll_us\": 20, \"budget\": 8, "
                               "\"polls\": 3, \"poll_hits\": 9}, \"l3\": {\"mode\": \"off\"}}");
        assert_has(text, "    coalesce: l2 fixed poll 20 us (hits 100% of 3 polls), budget 8\n"
                         "    coalesce l3: off\n");
        free(text);
        text = render_coalesce("{\"l1\": 5, \"l2\": \"x\", \"l3\": {\"mode\": 1, \"rx\": 7, "
                               "\"tx\": null}, \"l4\": [], \"l5\": null}");
        assert_has(text, "    coalesce l1 5\n    coalesce l2 x\n    coalesce l4 none\n"
                         "    coalesce l5 none\n    coalesce l3: ? 0 frames/0 us\n");
        free(text);
        text = render_coalesce("{}");
        assert_lacks(text, "coalesce");
        free(text);
        text = render_coalesce("null");
        assert_has(text, "\n    coalesce none\n");
        free(text);
        text = render_coalesce("[1, {\"l1\": 2}]");
        assert_has(text, "\n    coalesce 0 1\n    coalesce 1:\n      l1 2\n");
        free(text);
}
END_TEST

START_TEST(rates_between_answers)
{
        struct json_object *prev = fixture("", "", "100", "1000", "10");
        /* 2 s later: 200 more packets, 2 MiB more, 60 more requests. */
        struct json_object *cur = fixture("", "", "300", "2098152", "70");
        inspect_add_rates(cur, prev, 2.0);
        char *text = render(cur);
        assert_has(text, "    rate: tx 100 packets/s 1.00 MiB/s, rx 0 packets/s 0.00 MiB/s\n");
        assert_has(text, "    rate: 30 requests/s, 0 segments/s\n");
        free(text);
        /* In the JSON too, per queue. */
        struct json_object *vif =
            json_object_array_get_idx(json_object_object_get(cur, "devices"), 1);
        struct json_object *q0 =
            json_object_array_get_idx(json_object_object_get(vif, "queues"), 0);
        struct json_object *rates = json_object_object_get(q0, "rates");
        ck_assert_ptr_nonnull(rates);
        ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(rates, "tx_packets")),
                                100.0, 1e-9);
        json_object_put(cur);

        /* A counter that went back (the queue restarted): no rate. */
        cur = fixture("", "", "5", "50", "70");
        inspect_add_rates(cur, prev, 2.0);
        text = render(cur);
        assert_lacks(text, "rate: tx");
        assert_has(text, "rate: 30 requests/s");
        free(text);
        json_object_put(cur);
        json_object_put(prev);
}
END_TEST

/* Rates only between answers of one daemon and one connection: a restart
 * or a reconnect restarts the counters, whatever they read. */
START_TEST(rates_need_the_same_connection)
{
        static const struct {
                const char *what, *path, *cur;
        } cases[] = {
            {"another daemon", "daemon.pid", "43"},
            {"uptime went back (pid reused)", "daemon.uptime_s", "3"},
            {"the vif reconnected", "devices.1.connects", "2"},
            {"no connects", "devices.1.connects", NULL},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct json_object *prev = fixture("", "", "100", "1000", "10");
                struct json_object *cur = fixture("", "", "300", "2098152", "70");
                char parent[64];
                const char *dot = strrchr(cases[i].path, '.');
                snprintf(parent, sizeof(parent), "%.*s", (int)(dot - cases[i].path), cases[i].path);
                struct json_object *o = cur;
                char *save = NULL, *tok;
                for (tok = strtok_r(parent, ".", &save); tok; tok = strtok_r(NULL, ".", &save))
                        o = json_object_is_type(o, json_type_array)
                                ? json_object_array_get_idx(o, (size_t)atoi(tok))
                                : json_object_object_get(o, tok);
                ck_assert_ptr_nonnull(o);
                if (cases[i].cur)
                        json_object_object_add(o, dot + 1, json_tokener_parse(cases[i].cur));
                else
                        json_object_object_del(o, dot + 1);
                inspect_add_rates(cur, prev, 2.0);
                char *text = render(cur);
                ck_assert_msg(!strstr(text, "rate: tx"), "%s: a vif rate in:\n%s", cases[i].what,
                              text);
                /* The vbd kept its connection unless the daemon changed. */
                if (strncmp(cases[i].path, "daemon.", 7))
                        assert_has(text, "rate: 30 requests/s");
                else
                        assert_lacks(text, "requests/s");
                free(text);
                json_object_put(cur);
                json_object_put(prev);
        }
}
END_TEST

/* Well-formed JSON of unexpected types: printed as missing, never an
 * abort; a wrong top level is refused (main: exit 4). */
START_TEST(unexpected_types)
{
        static const char *const printable[] = {
            "{\"daemon\": {\"classes\": {\"a\": 1}}}",
            "{\"daemon\": {\"classes\": [5, \"x\", {\"uplinks\": 3}, {\"uplinks\": [1, []]}]}}",
            "{\"devices\": [5, \"x\", null, {\"class\": \"vif\", \"negotiated\": {}, \"queues\": "
            "3}]}",
            "{\"devices\": [{\"class\": \"vif\", \"negotiated\": {}, \"queues\": [1, {\"stats\": "
            "{\"lro\": {\"frames\": 3, \"flush\": 1, \"pass\": [1]}}, \"worker\": \"w\", \"ring\": "
            "7}]}]}",
            "{\"devices\": [{\"class\": \"vbd\", \"negotiated\": {}, \"queues\": {\"0\": 1}},"
            " {\"class\": \"vbd\", \"negotiated\": {}, \"queues\": [[], {\"stats\": 5}]}]}",
            "{\"devices\": [{\"name\": 5, \"class\": [], \"frontend\": 1, \"error\": {}}]}",
            "{\"devices\": [{\"class\": \"vif\", \"qos\": {\"max\": {}, \"group\": [1]}, "
            "\"negotiated\": {}, \"queues\": [{\"coalesce\": {\"l1\": {\"mode\": \"n/a\", "
            "\"why\": 3}, \"l2\": {\"polls\": \"x\", \"poll_hits\": -1}, \"l3\": {\"mode\": "
            "\"adaptive\", \"rx\": {\"frames\": []}}, \"l5\": {\"rx_poll_us\": 1e400}}}]}]}",
            "{\"devices\": [{\"class\": \"vbd\", \"qos\": {\"max\": 1}, \"queues\": "
            "[{\"coalesce\": 1}]}, {\"class\": \"vif\", \"qos\": [], \"queues\": [{\"coalesce\":"
            " {\"l2\": {\"mode\": \"adaptive\", \"polls\": 1, \"poll_hits\": "
            "18446744073709551615}}}]}]}",
        };
        FILE *f = fopen("/dev/null", "w");
        ck_assert_ptr_nonnull(f);
        for (size_t i = 0; i < sizeof(printable) / sizeof(printable[0]); i++) {
                ck_assert_msg(inspect_print_show_text(f, printable[i]) == 0, "%s", printable[i]);
                /* --watch: rates between two such answers. */
                struct json_object *a = json_tokener_parse(printable[i]);
                struct json_object *b = json_tokener_parse(printable[i]);
                ck_assert_ptr_nonnull(a);
                inspect_add_rates(b, a, 1.0);
                inspect_print_show(f, b);
                json_object_put(a);
                json_object_put(b);
        }
        ck_assert_int_eq(inspect_print_show_text(f, "{\"daemon\": {}, \"devices\": 5}"), -EPROTO);
        ck_assert_int_eq(inspect_print_show_text(f, "{\"daemon\": [], \"devices\": []}"), -EPROTO);
        ck_assert_int_eq(inspect_print_show_text(f, "{\"error\": \"x\"}"), -EPROTO);
        fclose(f);
        struct json_object *ok = json_tokener_parse("{\"daemon\": {}, \"devices\": []}");
        ck_assert(inspect_answer_shape_ok(ok));
        json_object_put(ok);
}
END_TEST

/* What a guest wrote reaches the terminal with its control bytes escaped. */
START_TEST(guest_text_escaped)
{
        struct json_object *obj = fixture("", "", "100", "1000", "10");
        struct json_object *vif =
            json_object_array_get_idx(json_object_object_get(obj, "devices"), 1);
        json_object_object_add(vif, "error",
                               json_object_new_string("22 bad \x1b]0;owned\x07 ring\x1b[2J\r"));
        json_object_object_add(vif, "note\x1b[1m",
                               json_object_new_string("x\x9b"
                                                      "1"));
        char *text = render(obj);
        assert_has(text, "  error: 22 bad \\x1b]0;owned\\x07 ring\\x1b[2J\\x0d\n");
        assert_has(text, "  note\\x1b[1m x\\x9b1\n");
        for (const char *c = text; *c; c++)
                ck_assert_msg(*c == '\n' || (*c >= 0x20 && *c < 0x7f), "byte 0x%02x printed",
                              (unsigned char)*c);
        free(text);
        /* The caller's answer (the --json output, the next rates) is left as
         * it was. */
        struct json_object *err = json_object_object_get(vif, "error");
        ck_assert_str_eq(json_object_get_string(err), "22 bad \x1b]0;owned\x07 ring\x1b[2J\r");
        json_object_put(obj);

        const char *snap_text =
            "{\"domid\": 0, \"devices\": [{\"name\": \"vif5.0\", \"backend\": {\"online\": "
            "\"1\\u001b[31m\"}, \"frontend\": {}, \"error\": \"\\u0007bell\", \"negotiated\": "
            "{\"feature-sg\": \"1\\u001b]2;t\\u0007\"}}]}";
        struct json_object *snap = json_tokener_parse(snap_text);
        ck_assert_ptr_nonnull(snap);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        inspect_print_xs(f, snap);
        fclose(f);
        assert_has(buf, "online 1\\x1b[31m,");
        assert_has(buf, "  error: \\x07bell\n");
        assert_has(buf, "feature-sg=1\\x1b]2;t\\x07\n");
        free(buf);
        json_object_put(snap);
}
END_TEST

/* A guest's req_prod that puts more than a ring between the indexes. */
START_TEST(bogus_ring_index)
{
        struct json_object *obj = fixture("", "", "100", "1000", "10");
        struct json_object *devs = json_object_object_get(obj, "devices");
        struct json_object *vq = json_object_array_get_idx(
            json_object_object_get(json_object_array_get_idx(devs, 1), "queues"), 0);
        struct json_object *bq = json_object_array_get_idx(
            json_object_object_get(json_object_array_get_idx(devs, 0), "queues"), 0);
        json_object_object_add(
            vq, "ring",
            json_tokener_parse("{\"tx_size\": 256, \"tx_pending\": null, "
                               "\"rx_size\": 256, \"rx_posted\": 3, \"bogus\": true}"));
        json_object_object_add(bq, "ring",
                               json_tokener_parse("{\"size\": 32, \"pending\": null, \"bogus\": "
                                                  "true, \"inflight\": 0, \"io_inflight\": 0}"));
        char *text = render(obj);
        assert_has(text,
                   "    ring: tx n/a (guest index out of range) of 256 requests pending, rx 3 "
                   "of 256 slots posted\n");
        assert_has(text, "    ring: n/a (guest index out of range) of 32 requests pending, 0 in "
                         "flight");
        free(text);
        json_object_put(obj);
}
END_TEST

START_TEST(xenstore_view)
{
        const char *snap_text =
            "{\"source\": \"xenstore\", \"pvbackd\": \"not running\", \"domid\": 0, \"devices\": "
            "[{\"name\": \"vif5.0\", \"class\": \"vif\", \"backend\": {\"path\": "
            "\"/local/domain/0/backend/vif/5/0\", \"state\": 4, \"state_name\": \"Connected\", "
            "\"online\": \"1\", \"hotplug_status\": \"connected\"}, \"frontend\": {\"path\": "
            "\"/local/domain/5/device/vif/0\", \"domid\": 5, \"devid\": 0, \"state\": 4, "
            "\"state_name\": \"Connected\"}, \"error\": \"22 bad ring\", \"negotiated\": "
            "{\"request-rx-copy\": \"1\", \"multi-queue-num-queues\": \"2\"}}]}";
        struct json_object *snap = json_tokener_parse(snap_text);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        inspect_print_xs(f, snap);
        fclose(f);
        assert_has(buf, "from xenstore (pvbackd not running): domain 0, 1 backend device(s)\n");
        assert_has(buf, "vif5.0: frontend domain 5 device 0, backend Connected, frontend "
                        "Connected\n");
        assert_has(buf, "online 1, hotplug-status connected\n");
        assert_has(buf, "  error: 22 bad ring\n");
        assert_has(buf, "negotiated (frontend keys): request-rx-copy=1 multi-queue-num-queues=2\n");
        free(buf);
        json_object_put(snap);
}
END_TEST

START_TEST(not_json)
{
        FILE *f = fopen("/dev/null", "w");
        ck_assert_int_eq(inspect_print_show_text(f, "[1, 2]"), -EINVAL);
        ck_assert_int_eq(inspect_print_show_text(f, "{\"daemon\":"), -EINVAL);
        ck_assert_int_eq(inspect_print_show_text(f, "{\"devices\": []}"), 0);
        fclose(f);
}
END_TEST

static Suite *inspect_text_suite(void)
{
        Suite *s = suite_create("inspect_text");
        TCase *tc = tcase_create("render");
        tcase_add_test(tc, facility_and_occupancy);
        tcase_add_test(tc, generic_sections);
        tcase_add_test(tc, qos_unlimited_and_missing);
        tcase_add_test(tc, coalesce_modes_and_odd_levels);
        tcase_add_test(tc, rates_between_answers);
        tcase_add_test(tc, xenstore_view);
        tcase_add_test(tc, not_json);
        tcase_add_test(tc, rates_need_the_same_connection);
        tcase_add_test(tc, unexpected_types);
        tcase_add_test(tc, guest_text_escaped);
        tcase_add_test(tc, bogus_ring_index);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(inspect_text_suite)
