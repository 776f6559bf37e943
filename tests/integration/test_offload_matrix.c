/* The offload matrix end to end through pvbackd on the simulator (nbworld.h:
 * stock vif-bridge, `pvback-netfront tap`, real kernel TCP on both sides):
 * guest offloads {all on; all off: no SG, no GSO, feature-no-csum-offload
 * and no IPv6 checksum offload; mixed: checksum offload and SG, no GSO;
 * IPv4 only: no IPv6 checksum offload, hence no IPv6 GSO} × the vif's
 * uplink offloads {all on; all off: `ethtool -K vif1.0 tx off sg off tso
 * off`; mixed: tx-checksumming on, tso off}, set live on its TAP, each cell
 * a verified TCP stream each way over IPv4 and IPv6. Per stream it asserts
 * that every byte arrived with the sender's digest, and that pvbackd's
 * per-queue offload counters (read over the control socket while the guest
 * is connected, as differences around the stream) show the path the rule of
 * off_decide (offload/off_caps.h) prescribes, derived here from the rule
 * itself:
 *  - each side finishes what its own capabilities allow: a guest's kernel
 *    hands netfront GSO packets only with TSO and partial checksums only
 *    with checksum offload; the host's kernel hands the TAP the same
 *    according to the TAP's features;
 *  - towards the other side (guest TX: the uplink; guest RX: the guest), a
 *    GSO packet passes only if the peer has TSO of its family and SG, else
 *    it is segmented here; a partial checksum passes only if the peer has
 *    checksum offload of its family, else it is completed here; nothing is
 *    dropped; a peer with SG never needs a frame linearized;
 *  - LRO takes only frames of a family the guest takes GSO for, and merges
 *    the MTU-sized frames an uplink without TSO hands over.
 * Data flows one way and ACKs (partial checksums too) the other, so every
 * stream checks both directions' counters. Mismatches are collected and
 * reported together per guest configuration, after the world is down.
 * PVBACK_OFFLOAD_CELLS=<substring> runs only the matching streams
 * ("guest mixed uplink off IPv6"). */
#include <check.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "proc.h"
#include "nbstats.h"
#include "nbworld.h"
#include "offload/off_caps.h"

#if defined(__SANITIZE_ADDRESS__)
#define STREAM_BYTES (16ull << 20)
#else
#define STREAM_BYTES (32ull << 20)
#endif

#define VIF        "vif1.0"
#define HOST_IP6   "fd00:9::1"
#define GUEST_IP6  "fd00:9::2"
#define PORT_BASE  7400
#define REPORT_MAX 16384

#define CSUM_ALL (OFF_CAP_CSUM4 | OFF_CAP_CSUM6)

/* One side's offloads: for the guest what it negotiates (and so what its
 * kernel hands netfront), for the uplink the TAP's features. */
struct side {
        const char *name;
        unsigned caps;              /* enum off_cap */
        const char *const *nf_args; /* guest: pvback-netfront tap options */
        const char *ethtool;        /* uplink: `ethtool -K VIF` arguments */
};

static const char *const guest_on_args[] = {NULL};
static const char *const guest_off_args[] = {"--no-sg", "--no-gso", "--no-csum", "--no-ipv6-csum",
                                             NULL};
static const char *const guest_mixed_args[] = {"--no-gso", NULL};
/* Offloads of one family only: the rule's family checks, both ways. */
static const char *const guest_v4_args[] = {"--no-ipv6-csum", NULL};

static const struct side guests[] = {
    {"on", OFF_CAP_ALL, guest_on_args, NULL},
    {"off", 0, guest_off_args, NULL},
    {"mixed", CSUM_ALL | OFF_CAP_SG, guest_mixed_args, NULL},
    {"ipv4-only", OFF_CAP_CSUM4 | OFF_CAP_TSO4 | OFF_CAP_SG, guest_v4_args, NULL},
};

static const struct side uplinks[] = {
    {"on", OFF_CAP_ALL, NULL, "tx on sg on tso on"},
    {"off", 0, NULL, "tx off sg off tso off"},
    {"mixed", CSUM_ALL | OFF_CAP_SG, NULL, "tx on sg on tso off"},
};

static struct nbw world;
static char sock[PATH_MAX + 64];

/* Mismatches of the current guest configuration, reported at its end. */
static char report[REPORT_MAX];
static size_t report_len;
static unsigned mismatches;

static void mismatch(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void mismatch(const char *fmt, ...)
{
        va_list ap;
        char line[512];
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        fprintf(stderr, "offload_matrix: MISMATCH %s\n", line);
        if (report_len < sizeof(report))
                report_len += (size_t)snprintf(report + report_len, sizeof(report) - report_len,
                                               "  %s\n", line);
        mismatches++;
}

static bool has(unsigned caps, unsigned want)
{
        return (caps & want) == want;
}

static struct nbstats read_stats(void)
{
        struct nbstats s;
        char why[512];
        int rc = nbstats_read(sock, VIF, &s, why, sizeof(why));
        ck_assert_msg(rc == 0, "%s", why);
        return s;
}

/* ---- what the rule prescribes ---------------------------------------------- */

enum want { W_ZERO, W_SOME, W_ANY };

struct path_want {
        enum want gso_pass, gso_sw, csum_pass, csum_sw, linearized;
};

/* Packets from a side with @src caps to a peer with @peer caps, in a stream
 * of family @v6 where this direction carries the data (@data) or only the
 * ACKs. @single_slot: the source never sends a frame in several buffers. */
static struct path_want expect_path(unsigned src, unsigned peer, bool v6, bool data,
                                    bool single_slot)
{
        unsigned tso = v6 ? OFF_CAP_TSO6 : OFF_CAP_TSO4, csum = v6 ? OFF_CAP_CSUM6 : OFF_CAP_CSUM4;
        /* Linux ties TSO to SG and the checksum offload of its family. */
        bool gso = data && has(src, tso | OFF_CAP_SG | csum);
        /* SYN, FIN and pure ACKs leave a checksum-offloading stack partial
         * in both directions, next to the GSO data. */
        bool partial = has(src, csum);
        bool peer_gso = has(peer, tso | OFF_CAP_SG), peer_csum = has(peer, csum);
        struct path_want w = {
            .gso_pass = gso && peer_gso ? W_SOME : W_ZERO,
            .gso_sw = gso && !peer_gso ? W_SOME : W_ZERO,
            .csum_pass = partial && peer_csum ? W_SOME : W_ZERO,
            .csum_sw = partial && !peer_csum ? W_SOME : W_ZERO,
            .linearized = has(peer, OFF_CAP_SG) || single_slot ? W_ZERO : W_ANY,
        };
        return w;
}

static void check_counter(const char *cell, const char *what, uint64_t got, enum want w)
{
        if (w == W_ZERO && got != 0)
                mismatch("%s: %s = %" PRIu64 ", the rule says 0", cell, what, got);
        else if (w == W_SOME && got == 0)
                mismatch("%s: %s = 0, the rule says > 0", cell, what);
}

static void check_path(const char *cell, const char *dir, const struct off_path_stats *o,
                       const struct path_want *w)
{
        char what[64];
#define CHECK(f)                                                                                   \
        do {                                                                                       \
                snprintf(what, sizeof(what), "%s.%s", dir, #f);                                    \
                check_counter(cell, what, o->f, w->f);                                             \
        } while (0)
        CHECK(gso_pass);
        CHECK(gso_sw);
        CHECK(csum_pass);
        CHECK(csum_sw);
        CHECK(linearized);
#undef CHECK
        snprintf(what, sizeof(what), "%s.dropped", dir);
        check_counter(cell, what, o->dropped, W_ZERO);
        if (o->gso_sw && o->gso_sw_segs <= o->gso_sw)
                mismatch("%s: %s: %" PRIu64 " GSO packets segmented into %" PRIu64 " segments",
                         cell, dir, o->gso_sw, o->gso_sw_segs);
        if (!o->gso_sw && o->gso_sw_segs)
                mismatch("%s: %s: %" PRIu64 " segments without a segmented packet", cell, dir,
                         o->gso_sw_segs);
}

/* ---- the world ---------------------------------------------------------------- */

static bool skip(void)
{
        if (access("/etc/xen/scripts/vif-bridge", X_OK) != 0 || !netns_supported() ||
            system("ethtool --version >/dev/null 2>&1") != 0) {
                fprintf(stderr, "offload_matrix: skipped: needs root, network namespaces, "
                                "/dev/net/tun, ethtool and /etc/xen/scripts/vif-bridge\n");
                return true;
        }
        return false;
}

/* IPv6 on both ends with static neighbours: pvback-netfront's tap mode
 * does not forward the guest's multicast subscriptions over the
 * multicast-control channel, so the host's neighbour solicitations would
 * be filtered before they reach the guest. */
static void ipv6_up(void)
{
        char mac[64] = "";
        ck_assert_int_eq(netns_run(&world.hostns,
                                   "sysctl -qw net.ipv6.conf.xenbr0.disable_ipv6=0 && "
                                   "ip -6 addr add " HOST_IP6 "/64 dev xenbr0 nodad && "
                                   "ip -6 neigh replace " GUEST_IP6 " lladdr " NBW_GUEST_MAC
                                   " dev xenbr0 nud permanent"),
                         0);
        ck_assert_int_eq(
            netns_capture(&world.hostns, mac, sizeof(mac), "cat /sys/class/net/xenbr0/address"), 0);
        mac[strcspn(mac, "\n")] = '\0';
        ck_assert_msg(strlen(mac) == 17, "xenbr0's address: '%s'", mac);
        ck_assert_int_eq(netns_run(&world.guestns,
                                   "sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0 && "
                                   "ip -6 addr add " GUEST_IP6 "/64 dev eth0 nodad && "
                                   "ip -6 neigh replace " HOST_IP6 " lladdr %s dev eth0 nud "
                                   "permanent",
                                   mac),
                         0);
        ck_assert_msg(netns_run(&world.guestns, "ping -6 -c 2 -i 0.2 -W 2 " HOST_IP6) == 0,
                      "the guest cannot ping the host over IPv6");
}

static void guest_up(const struct side *g)
{
        char why[4096];
        ck_assert_msg(nbw_up(&world, NULL, why, sizeof(why)) == 0, "%s", why);
        nbstats_sock(&world.host, sock, sizeof(sock));
        ck_assert_msg(nbw_netfront_start(&world, "tap", g->nf_args, why, sizeof(why)) == 0, "%s",
                      why);
        ck_assert_msg(nbw_be_wait(&world, "state", "4", 10000), "backend not Connected");
        ck_assert_msg(nbw_ping(&world, true, 2) == 0, "the guest cannot ping the host");
        ipv6_up();
}

/* pvbackd's view of what the guest negotiated, against the configuration's
 * caps (nb_rx_guest_caps: GSO with its family's checksum offload). */
static void check_negotiated(const struct side *g)
{
        char why[512];
        struct nbstats s;
        ck_assert_int_eq(nbstats_read(sock, VIF, &s, why, sizeof(why)), 0);
        ck_assert_msg(s.connected, "%s not connected", VIF);
        unsigned caps = 0;
        if (s.neg.sg)
                caps |= OFF_CAP_SG;
        if (s.neg.csum_ipv4)
                caps |= OFF_CAP_CSUM4;
        if (s.neg.csum_ipv6)
                caps |= OFF_CAP_CSUM6;
        if (s.neg.gso_tcpv4 && s.neg.csum_ipv4)
                caps |= OFF_CAP_TSO4;
        if (s.neg.gso_tcpv6 && s.neg.csum_ipv6)
                caps |= OFF_CAP_TSO6;
        char a[64], b[64];
        ck_assert_msg(caps == g->caps, "guest %s negotiated %s, expected %s", g->name,
                      off_caps_str(caps, a, sizeof(a)), off_caps_str(g->caps, b, sizeof(b)));
}

/* `ethtool -K` on the vif's TAP, then until pvbackd reads the new features. */
static void uplink_set(const struct side *u)
{
        char want[64];
        off_caps_str(u->caps, want, sizeof(want));
        ck_assert_msg(netns_run(&world.hostns, "ethtool -K " VIF " %s", u->ethtool) == 0,
                      "ethtool -K " VIF " %s", u->ethtool);
        struct nbstats s = {0};
        for (double end = now_s() + 5; now_s() < end; sleep_ms(20)) {
                s = read_stats();
                if (!strcmp(s.tx_caps, want))
                        break;
        }
        ck_assert_msg(!strcmp(s.tx_caps, want), "after ethtool -K %s pvbackd has uplink %s, not %s",
                      u->ethtool, s.tx_caps, want);
        /* Frames the host queued to the TAP under the old features are read
         * by now: the next stream's counters start clean. */
        sleep_ms(100);
}

/* ---- one stream ------------------------------------------------------------------ */

static void run_stream(const struct side *g, const struct side *u, bool v6, bool guest_to_host,
                       unsigned idx)
{
        char cell[128];
        snprintf(cell, sizeof(cell), "guest %s uplink %s %s %s", g->name, u->name,
                 v6 ? "IPv6" : "IPv4", guest_to_host ? "guest→host" : "host→guest");
        const char *only = getenv("PVBACK_OFFLOAD_CELLS");
        if (only && *only && !strstr(cell, only))
                return;

        struct nbw_stream st = {0};
        struct nb_queue_stats d;
        uint16_t port = (uint16_t)(PORT_BASE + idx);
        struct netns *tx_ns = guest_to_host ? &world.guestns : &world.hostns;
        struct netns *rx_ns = guest_to_host ? &world.hostns : &world.guestns;
        const char *rx_ip =
            guest_to_host ? (v6 ? HOST_IP6 : NBW_HOST_IP) : (v6 ? GUEST_IP6 : NBW_GUEST_IP);

        struct nbstats before = read_stats();
        int rc = nbw_tcp_stream_ns(&world, tx_ns, rx_ns, rx_ip, STREAM_BYTES, port, port, &st);
        /* The FIN's last ACK crosses after the receiver is done. */
        sleep_ms(100);
        struct nbstats after = read_stats();
        nbstats_delta(&before, &after, &d);

        bool ok = rc == 0 && st.bytes_received == STREAM_BYTES && st.first_bad == UINT64_MAX &&
                  st.digest_received == st.digest_sent;
        if (!ok)
                mismatch("%s: stream %s: %llu of %llu bytes, first bad byte %llu, digest %016llx "
                         "vs %016llx (sender %d, receiver %d)",
                         cell, rc == 0 ? "corrupted" : "failed",
                         (unsigned long long)st.bytes_received, (unsigned long long)STREAM_BYTES,
                         (unsigned long long)st.first_bad, (unsigned long long)st.digest_received,
                         (unsigned long long)st.digest_sent, st.sender_status, st.receiver_status);

        /* Guest TX: from the guest to the uplink; guest RX the reverse. */
        struct path_want tx =
            expect_path(g->caps, u->caps, v6, guest_to_host, !has(g->caps, OFF_CAP_SG));
        struct path_want rx = expect_path(u->caps, g->caps, v6, !guest_to_host, true);
        check_path(cell, "tx_off", &d.tx_off, &tx);
        check_path(cell, "rx_off", &d.rx_off, &rx);
        check_counter(cell, "tx_drop_offload", d.tx_drop_offload, W_ZERO);
        check_counter(cell, "rx_drop_gso", d.rx_drop_gso, W_ZERO);
        check_counter(cell, "rx_drop_size", d.rx_drop_size, W_ZERO);
        /* The stream crossed pvbackd (and not some other way). */
        if ((guest_to_host ? d.tx_bytes : d.rx_bytes) < STREAM_BYTES)
                mismatch("%s: pvbackd carried %" PRIu64 " bytes of a %llu-byte stream", cell,
                         guest_to_host ? d.tx_bytes : d.rx_bytes, (unsigned long long)STREAM_BYTES);
        /* LRO: only for frames of a family the guest takes GSO for; it
         * merges what an uplink without TSO hands over in MTU-sized frames. */
        unsigned tso = v6 ? OFF_CAP_TSO6 : OFF_CAP_TSO4;
        if (!has(g->caps, tso))
                check_counter(cell, "lro.frames", d.lro.frames, W_ZERO);
        else if (!guest_to_host && !has(u->caps, tso | OFF_CAP_SG))
                check_counter(cell, "lro.merged", d.lro.merged, W_SOME);

        printf("offload_matrix: %-40s %3llu MiB %s %5.0f Mbit/s | tx_off gso %" PRIu64 "/%" PRIu64
               " (%" PRIu64 " segs) csum %" PRIu64 "/%" PRIu64 " lin %" PRIu64 " drop %" PRIu64
               " | rx_off gso %" PRIu64 "/%" PRIu64 " (%" PRIu64 " segs) csum %" PRIu64 "/%" PRIu64
               " drop %" PRIu64 " | lro %" PRIu64 " frames %" PRIu64 " merged\n",
               cell, (unsigned long long)(STREAM_BYTES >> 20), ok ? "verified" : "BAD",
               nbw_mbps(&st), d.tx_off.gso_pass, d.tx_off.gso_sw, d.tx_off.gso_sw_segs,
               d.tx_off.csum_pass, d.tx_off.csum_sw, d.tx_off.linearized, d.tx_off.dropped,
               d.rx_off.gso_pass, d.rx_off.gso_sw, d.rx_off.gso_sw_segs, d.rx_off.csum_pass,
               d.rx_off.csum_sw, d.rx_off.dropped, d.lro.frames, d.lro.merged);
        fflush(stdout);
}

/* Every uplink configuration, both families, both directions, for one guest
 * configuration on its own world. */
static void run_guest(unsigned gi)
{
        const struct side *g = &guests[gi];
        if (skip())
                return;
        report_len = 0;
        report[0] = '\0';
        mismatches = 0;
        guest_up(g);
        check_negotiated(g);
        unsigned idx = gi * 64;
        for (size_t ui = 0; ui < sizeof(uplinks) / sizeof(uplinks[0]); ui++) {
                uplink_set(&uplinks[ui]);
                for (int v6 = 0; v6 <= 1; v6++) {
                        run_stream(g, &uplinks[ui], v6, true, idx++);
                        run_stream(g, &uplinks[ui], v6, false, idx++);
                }
        }
        char *carrier = nbw_be_read(&world, "carrier");
        if (!carrier || strcmp(carrier, "1"))
                mismatch("guest %s: carrier %s at the end", g->name, carrier ? carrier : "-");
        free(carrier);
        if (kill(world.pvbackd, 0) != 0)
                mismatch("guest %s: pvbackd died", g->name);
        /* pvbackd's own exit, so that a sanitizer build's leak report and
         * exit status are seen before the world (and its log) goes. */
        int nf = nbw_netfront_stop(&world);
        if (nf != 0)
                mismatch("guest %s: pvback-netfront exited %d", g->name, nf);
        kill(world.pvbackd, SIGTERM);
        int st = simhost_wait(world.pvbackd, 20000);
        world.pvbackd = 0;
        if (st != 0)
                mismatch("guest %s: pvbackd exited %d after SIGTERM", g->name, st);
        char *log = nbw_slurp(world.pvbackd_log);
        if (strstr(log, "disabling"))
                mismatch("guest %s: pvbackd disabled the vif", g->name);
        if (strstr(log, "Sanitizer"))
                mismatch("guest %s: pvbackd's log has a sanitizer report", g->name);
        free(log);
        if (mismatches)
                nbw_dump_logs(&world);
        nbw_down(&world);
        ck_assert_msg(mismatches == 0, "guest %s: %u mismatch(es):\n%s", g->name, mismatches,
                      report);
}

START_TEST(guest_all_on)
{
        run_guest(0);
}
END_TEST

START_TEST(guest_all_off)
{
        run_guest(1);
}
END_TEST

START_TEST(guest_mixed)
{
        run_guest(2);
}
END_TEST

START_TEST(guest_ipv4_only)
{
        run_guest(3);
}
END_TEST

static Suite *offload_matrix_suite(void)
{
        Suite *s = suite_create("offload_matrix");
        TCase *tc = tcase_create("matrix");
        tcase_set_timeout(tc, 900);
        tcase_add_test(tc, guest_all_on);
        tcase_add_test(tc, guest_all_off);
        tcase_add_test(tc, guest_mixed);
        tcase_add_test(tc, guest_ipv4_only);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(offload_matrix_suite)
