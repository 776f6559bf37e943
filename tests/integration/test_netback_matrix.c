/* The netback feature matrix through the shipped binaries: queues {1,2,4} ×
 * split event channels × SG × GSO × checksum offload, 48 cells, each a fresh
 * `pvback-netfront tap` connection (so every cell is also a reconnect after
 * Closed) carrying a verified TCP stream each way through pvbackd (offering
 * 4 queues) and the stock vif-bridge. Asserts per cell: what was negotiated
 * is what the switches asked for, every byte arrived with the sender's
 * digest, and the backend never disabled the vif. Prints Mbit/s per cell.
 *
 * Stream sizes: the release build sends 256 MiB each way in every cell. The
 * sanitizer build (ASan+UBSan, a slower data path) sends 32 MiB each way,
 * which still crosses every ring many times over.
 * PVBACK_MATRIX_CELLS=<substring> runs only the cells whose name contains it
 * ("q2 shared sg on gso off csum on"), for debugging one configuration. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "proc.h"
#include "nbworld.h"

#if defined(__SANITIZE_ADDRESS__)
#define MATRIX_BYTES (32ull << 20)
#else
#define MATRIX_BYTES (256ull << 20)
#endif

static struct nbw world;

struct cell {
        unsigned queues;
        bool split, sg, gso, csum;
};

static void cell_name(const struct cell *c, char *buf, size_t len)
{
        snprintf(buf, len, "q%u %s sg %s gso %s csum %s", c->queues, c->split ? "split" : "shared",
                 c->sg ? "on" : "off", c->gso ? "on" : "off", c->csum ? "on" : "off");
}

/* The negotiation lines pvback-netfront prints at exit. */
static void assert_negotiated(const struct cell *c, const char *name, const char *log)
{
        char line[64];
        snprintf(line, sizeof(line), "queues: %u (backend max 4)", c->queues);
        ck_assert_msg(strstr(log, line), "%s: no '%s' in:\n%s", name, line, log);
        ck_assert_msg(strstr(log, c->split ? "event-channels: split" : "event-channels: single"),
                      "%s: event channels:\n%s", name, log);
        ck_assert_msg(strstr(log, c->sg ? "sg: on" : "sg: off"), "%s: sg:\n%s", name, log);
        /* Linux netfront's rule: TSO needs SG and checksum offload. */
        bool gso = c->gso && c->sg && c->csum;
        ck_assert_msg(strstr(log, gso ? "gso-tcpv4: on" : "gso-tcpv4: off"), "%s: gso:\n%s", name,
                      log);
        ck_assert_msg(strstr(log, c->csum ? "\ncsum-offload: on" : "\ncsum-offload: off"),
                      "%s: csum:\n%s", name, log);
}

/* What pvbackd logged for the last connection agrees (the backend's view). */
static void assert_backend_saw(const struct cell *c, const char *name)
{
        char want[96];
        char *log = nbw_slurp(world.pvbackd_log);
        char *last = NULL;
        for (char *p = strstr(log, "frontend connected: "); p;
             p = strstr(p + 1, "frontend connected: "))
                last = p;
        snprintf(want, sizeof(want), "frontend connected: %u queue(s), %s event channels, sg %d",
                 c->queues, c->split ? "split" : "shared", c->sg);
        if (!last || strncmp(last, want, strlen(want)) != 0)
                nbw_dump_logs(&world);
        ck_assert_msg(last && strncmp(last, want, strlen(want)) == 0, "%s: pvbackd logged '%.120s'",
                      name, last ? last : "(nothing)");
        free(log);
}

static double run_stream(const char *name, bool guest_to_host, uint16_t port, uint32_t seed)
{
        struct nbw_stream s;
        const char *dir = guest_to_host ? "guest→host" : "host→guest";
        int rc = nbw_tcp_stream(&world, guest_to_host, MATRIX_BYTES, port, seed, &s);
        ck_assert_msg(rc == 0, "%s %s: stream failed (sender %d, receiver %d, %llu bytes)", name,
                      dir, s.sender_status, s.receiver_status,
                      (unsigned long long)s.bytes_received);
        ck_assert_msg(s.bytes_received == MATRIX_BYTES, "%s %s: %llu bytes arrived", name, dir,
                      (unsigned long long)s.bytes_received);
        ck_assert_msg(s.first_bad == UINT64_MAX, "%s %s: first wrong byte at %llu", name, dir,
                      (unsigned long long)s.first_bad);
        ck_assert_msg(s.digest_received == s.digest_sent, "%s %s: digest %016llx, sent %016llx",
                      name, dir, (unsigned long long)s.digest_received,
                      (unsigned long long)s.digest_sent);
        return nbw_mbps(&s);
}

static void run_cell(const struct cell *c, unsigned idx)
{
        char name[64], why[4096], qarg[8];
        const char *args[12];
        int n = 0;
        cell_name(c, name, sizeof(name));
        snprintf(qarg, sizeof(qarg), "%u", c->queues);
        args[n++] = "--queues";
        args[n++] = qarg;
        if (!c->split)
                args[n++] = "--no-split-evtchn";
        if (!c->sg)
                args[n++] = "--no-sg";
        if (!c->gso)
                args[n++] = "--no-gso";
        if (!c->csum)
                args[n++] = "--no-csum";
        args[n] = NULL;

        const char *only = getenv("PVBACK_MATRIX_CELLS");
        if (only && *only && !strstr(name, only))
                return;
        double t0 = now_s();
        ck_assert_msg(nbw_netfront_start(&world, "tap", args, why, sizeof(why)) == 0, "%s: %s",
                      name, why);
        ck_assert_msg(nbw_be_wait(&world, "state", "4", 10000), "%s: backend not Connected", name);
        assert_backend_saw(c, name);
        double up = run_stream(name, true, (uint16_t)(6000 + 2 * idx), 100 + idx);
        double down = run_stream(name, false, (uint16_t)(6001 + 2 * idx), 200 + idx);
        char *carrier = nbw_be_read(&world, "carrier");
        ck_assert_msg(carrier && strcmp(carrier, "1") == 0, "%s: carrier %s", name,
                      carrier ? carrier : "-");
        free(carrier);
        ck_assert_msg(nbw_netfront_stop(&world) == 0, "%s: netfront exited badly", name);
        char *log = nbw_slurp(world.nf_log);
        assert_negotiated(c, name, log);
        free(log);
        /* The frontend closed: the backend follows to Closed and waits. */
        ck_assert_msg(nbw_be_wait(&world, "state", "6", 10000), "%s: backend not Closed", name);
        printf("netback_matrix: %-34s guest→host %6.0f Mbit/s, host→guest %6.0f Mbit/s "
               "(%llu MiB each, %.1f s)\n",
               name, up, down, (unsigned long long)(MATRIX_BYTES >> 20), now_s() - t0);
        fflush(stdout);
}

static bool skip_reason(void)
{
        if (access("/etc/xen/scripts/vif-bridge", X_OK) != 0) {
                fprintf(stderr, "netback_matrix: skipped: /etc/xen/scripts/vif-bridge missing "
                                "(Debian package xen-utils-common)\n");
                return true;
        }
        if (!netns_supported()) {
                fprintf(stderr, "netback_matrix: skipped: needs root, network namespaces, "
                                "bridges and /dev/net/tun\n");
                return true;
        }
        return false;
}

/* One test per queue count keeps each under Check's timeout and names the
 * failing third. */
static void run_queues(unsigned queues)
{
        char why[4096];
        struct nbw_opts o = {.max_queues = 4};
        if (skip_reason())
                return;
        ck_assert_msg(nbw_up(&world, &o, why, sizeof(why)) == 0, "%s", why);
        unsigned idx = 0;
        for (int split = 1; split >= 0; split--)
                for (int sg = 1; sg >= 0; sg--)
                        for (int gso = 1; gso >= 0; gso--)
                                for (int csum = 1; csum >= 0; csum--) {
                                        struct cell c = {queues, split, sg, gso, csum};
                                        run_cell(&c, idx++);
                                }
        ck_assert_msg(kill(world.pvbackd, 0) == 0, "pvbackd died");
        char *log = nbw_slurp(world.pvbackd_log);
        ck_assert_msg(!strstr(log, "disabling") && !strstr(log, "error"),
                      "pvbackd reported a problem:\n%s", log);
        free(log);
        nbw_down(&world);
}

START_TEST(matrix_1_queue)
{
        run_queues(1);
}
END_TEST

START_TEST(matrix_2_queues)
{
        run_queues(2);
}
END_TEST

START_TEST(matrix_4_queues)
{
        run_queues(4);
}
END_TEST

static Suite *netback_matrix_suite(void)
{
        Suite *s = suite_create("netback_matrix");
        TCase *tc = tcase_create("matrix");
        tcase_set_timeout(tc, 900);
        tcase_add_test(tc, matrix_1_queue);
        tcase_add_test(tc, matrix_2_queues);
        tcase_add_test(tc, matrix_4_queues);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(netback_matrix_suite)
